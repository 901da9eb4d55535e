from cpgym.agents.rules import RULES, RulePolicy, dispatch  # noqa: F401  (dispatching rules)
