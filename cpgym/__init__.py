"""cpgym: reinforcement-learning environments and agents for combinatorial problems, built on CP.

Importing the package registers the Gymnasium environments (``cpgym/JobShop-v0``,
``cpgym/RobustKnapsack-v0``, ``cpgym/CapitalBudgeting-v0``).
"""

import cpgym.envs  # noqa: F401  (registers the environments)

__version__ = "0.1.0"
