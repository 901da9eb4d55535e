"""Per-problem rules of the evaluator: objective sense, best-known references, independent checks.

* ``jssp`` (minimise makespan): the solution is a start-time matrix, checked by
  :func:`cpgym.instances.validate_schedule`; the makespan is recomputed.
* ``rkp`` / ``cb`` (maximise the robust objective): the solution is a first-stage decision
  ``x``; it must be a 0/1 vector of the right length (and, for capital budgeting, robustly
  feasible: ``1.5 cbar.x <= B``); its objective is recomputed by the exact worst-case
  evaluator — the certified lower bound, with the evaluator's upper bound beside it (equal
  when the evaluation converged within its time limit).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cpgym.instances import JobShopInstance, validate_schedule
from cpgym.instances.capital_budgeting import CapitalBudgetingInstance
from cpgym.instances.robust_knapsack import RobustKnapsackInstance


@dataclass
class Check:
    """Outcome of an independent check: violations, recomputed objective, and its other bound."""

    violations: list[str] = field(default_factory=list)
    objective: float | None = None
    objective_bound: float | None = None


def problem_of(instance) -> str:
    if isinstance(instance, JobShopInstance):
        return "jssp"
    if isinstance(instance, RobustKnapsackInstance):
        return "rkp"
    if isinstance(instance, CapitalBudgetingInstance):
        return "cb"
    raise TypeError(f"no evaluator rules for {type(instance).__name__}")


SENSE = {"jssp": "min", "rkp": "max", "cb": "max"}


def best_known(instance) -> tuple[float | None, float | None]:
    """(best-known objective, best-known proven bound) of an instance, None where unknown.

    Capital budgeting has no proven values in the bundled data: the best-known objective is the
    best k-adaptability result (K = 2, 5, 10; 3 h runs), as stored.
    """
    problem = problem_of(instance)
    if problem == "jssp":
        return instance.upper_bound, instance.lower_bound
    if problem == "rkp":
        return instance.best_known, instance.best_known if instance.proven_optimal else None
    from cpgym.instances.capital_budgeting import k_adaptability_results

    results = k_adaptability_results(instance.name)
    return (max(-r.objective for r in results), None) if results else (None, None)


def _binary_decision(instance, solution) -> tuple[np.ndarray | None, list[str]]:
    x = np.asarray(solution, dtype=float)
    if x.shape != (instance.n,):
        return None, [f"decision has shape {x.shape}, expected ({instance.n},)"]
    bad = np.flatnonzero((x != 0) & (x != 1))
    if bad.size:
        return None, [f"decision entries must be 0 or 1; item {bad[0]} is {x[bad[0]]}"]
    return x.astype(np.int64), []


def check(instance, solution, eval_time_limit: float) -> Check:
    """Check ``solution`` independently of the method that produced it and recompute its objective."""
    problem = problem_of(instance)
    if problem == "jssp":
        report = validate_schedule(instance, solution)
        return Check(report.violations, report.makespan, report.makespan)
    x, violations = _binary_decision(instance, solution)
    if x is None:
        return Check(violations)
    if problem == "rkp":
        from cpgym.cp_models.ro_knapsack import evaluate_knapsack

        evaluation = evaluate_knapsack(instance, x, time_limit=eval_time_limit)
    else:
        from cpgym.cp_models.ro_capital_budgeting import evaluate_capital_budgeting

        if not instance.robust_feasible(x):
            return Check(
                [f"not robustly feasible: 1.5 * cbar.x = {1.5 * instance.cost @ x:.4f} > B = {instance.budget}"]
            )
        evaluation = evaluate_capital_budgeting(instance, x, time_limit=eval_time_limit)
    return Check([], float(evaluation.lower), float(evaluation.upper))


def gap_percent(objective: float | None, reference: float | None, sense: str) -> float | None:
    """Relative gap (%) to a reference, positive when worse than the reference."""
    if objective is None or reference in (None, 0):
        return None
    difference = objective - reference if sense == "min" else reference - objective
    return 100.0 * difference / abs(reference)
