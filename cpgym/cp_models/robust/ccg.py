"""Column-and-constraint generation (CCG) baseline for both two-stage robust problems.

Master over a growing scenario set ``S`` (SCIP through pywraplp; eta is continuous)::

    max_{x, eta, y^s}  eta   s.t.  eta <= objective(x, y^s, xi^s),  y^s feasible for xi^s,  s in S

Its optimum bounds the robust optimum from above. Each master solution ``x`` is scored with
the exact evaluator (its certified lower bound is the incumbent score) and the evaluator's
worst scenario joins ``S``. Stops when bound and incumbent meet, on the time limit, or when
the worst scenario is already in ``S`` (no further progress possible).
"""

from __future__ import annotations

import time

import numpy as np
from ortools.linear_solver import pywraplp

from cpgym.cp_models.robust.common import OPTIMAL, TIME_LIMIT, CCGResult, converged
from cpgym.cp_models.robust.recourse import Recourse, recourse_for
from cpgym.instances.capital_budgeting import CapitalBudgetingInstance
from cpgym.instances.robust_knapsack import RobustKnapsackInstance


def _master(recourse: Recourse, scenarios: list[np.ndarray], solver: pywraplp.Solver, x: list):
    """``eta`` with ``eta <= first(x) + value(y^s, xi^s)`` for one second-stage copy ``y^s`` per scenario."""
    eta = solver.NumVar(-solver.infinity(), solver.infinity(), "eta")
    first = recourse.first_stage(solver, x)
    for s, xi in enumerate(scenarios):
        copy = recourse.copy(solver, x, s)
        solver.Add(eta <= first + recourse.value(solver, x, copy, xi))
    return eta


def solve_ccg(
    instance: RobustKnapsackInstance | CapitalBudgetingInstance,
    time_limit: float = 60.0,
    tol: float = 1e-4,
    eval_time_limit: float = 10.0,
) -> CCGResult:
    """CCG for a robust knapsack or capital budgeting instance; returns incumbent, score and bound."""
    start = time.perf_counter()
    recourse = recourse_for(instance)
    scenarios = [np.zeros(recourse.xi_dim)]
    best_x, best, bound = np.zeros(instance.n, dtype=np.int64), -np.inf, np.inf
    status, iterations = TIME_LIMIT, 0
    while True:
        remaining = time_limit - (time.perf_counter() - start)
        if remaining <= 0:
            break
        iterations += 1
        solver = pywraplp.Solver.CreateSolver("SCIP")
        solver.SetTimeLimit(max(1, int(remaining * 1000)))
        x = [solver.BoolVar(f"x{i}") for i in range(instance.n)]
        eta = _master(recourse, scenarios, solver, x)
        solver.Maximize(eta)
        result = solver.Solve()
        if result not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
            break
        bound = min(bound, solver.Objective().BestBound())
        candidate = np.array([int(round(v.solution_value())) for v in x], dtype=np.int64)
        remaining = time_limit - (time.perf_counter() - start)
        score = recourse.evaluate(instance, candidate, time_limit=max(0.1, min(eval_time_limit, remaining)))
        if score.lower > best:
            best_x, best = candidate, score.lower
        if result == pywraplp.Solver.OPTIMAL and converged(best, bound, tol):
            status = OPTIMAL
            break
        if any(np.allclose(score.worst_scenario, s) for s in scenarios):
            break  # the master cannot improve; bound and incumbent stay as they are
        scenarios.append(score.worst_scenario)
    return CCGResult(best_x, best, bound, status, time.perf_counter() - start, iterations, np.array(scenarios))
