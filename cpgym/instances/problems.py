"""The problem registry: what cpgym knows about each problem, in one record per problem.

A :class:`Problem` holds a problem's name and aliases, objective sense, instance type, bundled
instances (names, loader, datasets and their report groups), file reader, best-known values and
independent validator. Each problem module registers its own record at import
(``cpgym/instances/jobshop_problem.py``, ``robust_knapsack.py``, ``capital_budgeting.py``);
``import cpgym.instances`` imports them all. Code elsewhere asks the registry
(:func:`problem_of`, :func:`get_problem`) instead of branching on instance types or names.

The robust problems' objective is recomputed by an exact worst-case evaluator that lives in
:mod:`cpgym.cp_models.robust`; it registers itself as the problem's scorer
(:func:`register_scorer`), so this layer never imports the solver layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cpgym.errors import UnknownProblemError


@dataclass
class Check:
    """Outcome of an independent check: violations, the recomputed objective and its other bound
    (equal to the objective where it is exact; the evaluator's upper bound for robust problems)."""

    violations: list[str] = field(default_factory=list)
    objective: float | None = None
    objective_bound: float | None = None

    @property
    def ok(self) -> bool:
        return not self.violations


Scorer = Callable[[Any, Any, float], Check]


@dataclass(frozen=True)
class Problem:
    """One problem: its data, its datasets and how to check a solution of it.

    ``datasets`` maps a dataset name (``ta``, ``rkp``, ...) to a function of the optional
    sub-spec after the colon (``ta:15x15`` -> ``"15x15"``) returning ``(group, instance)``
    pairs; ``group_of`` names an instance's report group; ``validate`` checks a solution's
    structure (for the job shop it also recomputes the makespan).
    """

    name: str
    title: str
    sense: str  # "min" or "max"
    instance_type: type
    solution_field: str  # key of the solution in the saved JSON ("start_times", "x")
    names: Callable[[], list[str]]
    load: Callable[[str], Any]
    read: Callable[[Path], list[Any]]  # every instance of a file
    sniff: Callable[[str], bool]  # does this text look like this problem's file format?
    datasets: dict[str, Callable[[str | None], list[tuple[str, Any]]]]
    group_of: Callable[[Any], str]
    best_known: Callable[[Any], tuple[float | None, float | None]]  # (best-known objective, proven bound)
    validate: Callable[[Any, Any], Check]
    size_of: Callable[[Any], str]  # "15x15" (jobs x machines), "n20" (items)
    layouts: dict[str, Callable[[Any], str]]  # file layouts and their writers (instance -> text); first: default
    aliases: tuple[str, ...] = ()
    objective_field: str = "objective"  # key of the objective in the saved JSON ("makespan" for the job shop)
    to_record: Callable[[Any, Any, float], dict] | None = None  # record() of a solution no int array holds

    def bounds(self, instance: Any) -> tuple[float | None, float | None]:
        """``(lower, upper)`` best-known bounds on the optimum, whatever the objective sense."""
        best, proven = self.best_known(instance)
        return (proven, best) if self.sense == "min" else (best, proven)

    def record(self, instance: Any, solution: Any, objective: float) -> dict:
        """The JSON record of a validated solution: ``{"instance", objective_field, solution_field}``
        (``to_record(instance, solution, objective)`` where the problem sets it)."""
        if self.to_record is not None:
            return self.to_record(instance, solution, objective)
        import numpy as np

        values = np.asarray(solution).astype(np.int64).tolist()
        return {"instance": instance.name, self.objective_field: objective, self.solution_field: values}


DEFAULT_PROBLEM = "jssp"  # what `cpgym instances list` shows without --family
_PROBLEMS: dict[str, Problem] = {}
_SCORERS: dict[str, Scorer] = {}


def register(problem: Problem) -> Problem:
    """Add a problem to the registry (its module calls this at import)."""
    _PROBLEMS[problem.name] = problem
    return problem


def register_scorer(name: str, scorer: Scorer) -> None:
    """Register ``scorer(instance, solution, time_limit) -> Check`` for a problem whose objective
    needs a solver to recompute (the robust problems' exact worst-case evaluators)."""
    _SCORERS[get_problem(name).name] = scorer


def problems() -> list[Problem]:
    """The registered problems."""
    return list(_PROBLEMS.values())


def get_problem(name: str) -> Problem:
    """A problem by name or alias (``"rkp"``, ``"knapsack"``, ...)."""
    for problem in _PROBLEMS.values():
        if name == problem.name or name in problem.aliases:
            return problem
    raise UnknownProblemError(name, [p.name for p in _PROBLEMS.values()])


def problem_of(instance: Any) -> Problem:
    """The problem an instance belongs to."""
    for problem in _PROBLEMS.values():
        if isinstance(instance, problem.instance_type):
            return problem
    raise UnknownProblemError(type(instance).__name__, [p.instance_type.__name__ for p in _PROBLEMS.values()])


def check(instance: Any, solution: Any, time_limit: float = 30.0) -> Check:
    """Validate ``solution`` independently of the method that produced it and recompute its objective
    (``time_limit``: seconds for a solver-based scorer such as the robust evaluators)."""
    problem = problem_of(instance)
    result = problem.validate(instance, solution)
    if result.violations or result.objective is not None:
        return result
    if problem.name not in _SCORERS:
        raise RuntimeError(f"no scorer registered for {problem.name}; import cpgym.cp_models first")
    return _SCORERS[problem.name](instance, solution, time_limit)


def binary_decision(instance: Any, solution: Any) -> tuple[Any, list[str]]:
    """A first-stage decision as an int64 0/1 vector of length ``instance.n``, or the violations."""
    import numpy as np

    x = np.asarray(solution, dtype=float)
    if x.shape != (instance.n,):
        return None, [f"decision has shape {x.shape}, expected ({instance.n},)"]
    bad = np.flatnonzero((x != 0) & (x != 1))
    if bad.size:
        return None, [f"decision entries must be 0 or 1; item {bad[0]} is {x[bad[0]]}"]
    return x.astype(np.int64), []


def header_tokens(text: str) -> int:
    """Number of whitespace-separated tokens on the first non-blank, non-``#`` line (0 if none)."""
    for line in text.splitlines():
        stripped = line.strip().lstrip("\ufeff")
        if stripped and not stripped.startswith("#"):
            return len(stripped.split())
    return 0
