"""Exact capital-budgeting evaluation: the previous method vs the current one, on literature decisions.

For the decision of the literature k-adaptability result (K = 10) on CB_n10_xi4_s1..s5 and
CB_n20_xi4_s1..s3, prints the certified lower / upper bounds, status, iterations and time of

* ``before``: the previous method (reproduced here with the module's building blocks): box centre
  and vertices as the initial pool, then one adversarial MILP over the whole pool (unrestricted
  ``t``) and one exact second stage per iteration;
* ``after``: :func:`evaluate_capital_budgeting` as it is now;
* ``no-polish``: the same without the local search that sharpens the upper bound (``polish=False``).

Run: ``python benchmarks/cb_evaluation.py [--time-limit 20] [--methods before after no-polish]
[--instances CB_n40_xi4_s1 ...]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from ortools.linear_solver import pywraplp

from cpgym.cp_models.robust.capital_budgeting import _adversary, cb_second_stage, evaluate_capital_budgeting
from cpgym.cp_models.robust.common import OPTIMAL, TIME_LIMIT, RobustEvaluation, converged
from cpgym.instances.capital_budgeting import k_adaptability_results, load_capital_budgeting

INSTANCES = [f"CB_n10_xi4_s{s}" for s in range(1, 6)] + [f"CB_n20_xi4_s{s}" for s in range(1, 4)]


def previous_method(instance, x: np.ndarray, tol: float = 1e-6, time_limit: float = 20.0) -> RobustEvaluation:
    """The evaluation as it was before the seeded pool / restricted-``t`` MILP (for comparison only)."""
    start = time.perf_counter()
    pool, upper, worst = [], np.inf, None
    vertices = np.array(np.meshgrid(*[[-1.0, 1.0]] * instance.xi_dim)).reshape(instance.xi_dim, -1).T
    for xi in (np.zeros(instance.xi_dim), *vertices):
        value, y = cb_second_stage(instance, x, xi)
        pool.append(y)
        if value < upper:
            upper, worst = value, xi
    lower, status, iterations = -np.inf, TIME_LIMIT, 0
    while time.perf_counter() - start < time_limit:
        iterations += 1
        xi, bound, mip_status = _adversary(instance, x, pool, time_limit - (time.perf_counter() - start))
        lower = max(lower, bound)
        value, y = cb_second_stage(instance, x, xi)
        if value < upper:
            upper, worst = value, xi
        if converged(lower, upper, tol):
            status = OPTIMAL
            break
        if mip_status == pywraplp.Solver.OPTIMAL and any(np.array_equal(y, p) for p in pool):
            break
        pool.append(y)
    lower = min(lower, upper)
    return RobustEvaluation(lower, lower, upper, status, time.perf_counter() - start, worst, iterations)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=20.0)
    parser.add_argument("--methods", nargs="+", choices=["before", "after", "no-polish"], default=["before", "after"])
    parser.add_argument("--instances", nargs="+", default=INSTANCES)
    args = parser.parse_args()
    methods = {"before": previous_method, "after": evaluate_capital_budgeting,
               "no-polish": lambda *a, **k: evaluate_capital_budgeting(*a, **k, polish=False)}
    print("| instance | method | lower | upper | gap | status | iterations | time (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.instances:
        instance = load_capital_budgeting(name)
        x = next(r for r in k_adaptability_results(name) if r.K == 10).x
        for method in args.methods:
            ev = methods[method](instance, x, time_limit=args.time_limit)
            print(f"| {name} | {method} | {ev.lower:.6f} | {ev.upper:.6f} | {ev.gap:.2e} | {ev.status} | "
                  f"{ev.iterations} | {ev.time:.1f} |", flush=True)


if __name__ == "__main__":
    main()
