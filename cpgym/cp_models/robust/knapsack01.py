"""Exact 0/1 knapsack on float data: a Pareto-frontier dynamic programme with a SCIP fallback.

``max v.s  s.t.  w.s <= capacity,  s in {0, 1}^m`` with real values and positive real weights
(the second stage of robust capital budgeting). Integer scaling for CP-SAT could flip whether a
selection fits, so both methods work on the float data:

* :func:`knapsack01_dp`: dynamic programme over the Pareto frontier of (weight, value) states,
  items in decreasing value/weight order; dominated states are dropped and states whose Dantzig
  (fractional) bound cannot beat the best value found are pruned. Exact up to ``tol`` on the
  capacity; milliseconds for m = 50 in most cases, but the frontier can grow exponentially when
  the ratios are (nearly) equal, since the bound then prunes nothing.
* :func:`knapsack01_scip`: the MIP with SCIP through pywraplp (feasibility tolerance 1e-6). SCIP stops
  at OR-Tools' default relative gap limit, 1e-4: its value can lie that much below the optimum (seen on
  equal-ratio data; the random data of the tests solve to optimality).
* :func:`knapsack01`: the DP, or SCIP once the frontier outgrows ``max_states``
  (:class:`FrontierTooLarge`).
"""

from __future__ import annotations

import numpy as np
from ortools.linear_solver import pywraplp

from cpgym.errors import ArgumentError


class FrontierTooLarge(Exception):
    """The knapsack DP's Pareto frontier outgrew its ``max_states`` limit."""


def _check(values: np.ndarray, weights: np.ndarray) -> None:
    if values.shape != weights.shape or values.ndim != 1:
        raise ArgumentError(f"values and weights must be vectors of one length, got {values.shape} and {weights.shape}")
    if np.any(weights <= 0):
        raise ArgumentError("knapsack weights must be positive")


def knapsack01_dp(values, weights, capacity: float, tol: float = 1e-9,
                  max_states: int | None = None) -> tuple[float, np.ndarray]:
    """Exact 0/1 knapsack by the Pareto-frontier DP: returns ``(value, selected mask)``.

    A selection fits when its weight is at most ``capacity + tol``; a negative capacity admits
    none, and the empty selection is returned. Raises :class:`FrontierTooLarge` when more than
    ``max_states`` states survive an item.
    """
    values, weights = np.asarray(values, dtype=float), np.asarray(weights, dtype=float)
    _check(values, weights)
    m = len(values)
    out = np.zeros(m, dtype=bool)
    if m == 0 or capacity < 0:
        return 0.0, out
    order = np.argsort(-values / weights, kind="stable")
    v, w = values[order], weights[order]
    ratio = v / w
    pw = np.concatenate([[0.0], np.cumsum(w)])  # prefix sums in ratio order
    pv = np.concatenate([[0.0], np.cumsum(v)])
    W, V, S = np.zeros(1), np.zeros(1), np.zeros((1, m), dtype=bool)
    # greedy lower bound
    lb, rem = 0.0, capacity
    for j in range(m):
        if w[j] <= rem + tol:
            lb, rem = lb + v[j], rem - w[j]
    for j in range(m):
        fit = W + w[j] <= capacity + tol
        W2, V2 = np.concatenate([W, W[fit] + w[j]]), np.concatenate([V, V[fit] + v[j]])
        S2 = np.concatenate([S, S[fit]])
        S2[len(W):, j] = True
        idx = np.lexsort((-V2, W2))
        W2, V2, S2 = W2[idx], V2[idx], S2[idx]
        keep = V2 > np.concatenate([[-np.inf], np.maximum.accumulate(V2)[:-1]])
        W2, V2, S2 = W2[keep], V2[keep], S2[keep]
        lb = max(lb, V2.max())
        # Dantzig bound with items j+1..
        rem = capacity - W2
        target = pw[j + 1] + rem
        k = np.searchsorted(pw, target, side="right") - 1  # last prefix index with pw[k] <= target
        k = np.minimum(k, m)
        ub = V2 + (pv[k] - pv[j + 1]) + np.where(k < m, (target - pw[k]) * ratio[np.minimum(k, m - 1)], 0.0)
        keep = ub >= lb - 1e-9 * max(1.0, abs(lb))
        W, V, S = W2[keep], V2[keep], S2[keep]
        if max_states is not None and len(W) > max_states:
            raise FrontierTooLarge(f"{len(W)} states after item {j + 1} of {m}")
    b = int(np.argmax(V))
    out[order] = S[b]
    return float(V[b]), out


def knapsack01_scip(values, weights, capacity: float, time_limit: float | None = None) -> tuple[float, np.ndarray]:
    """The 0/1 knapsack as a MIP with SCIP (feasibility tolerance 1e-6, relative gap 1e-4): returns
    ``(value, selected mask)``.

    ``time_limit`` (seconds) caps SCIP; at the cap its incumbent is returned. A negative capacity
    admits no selection; the empty one is returned.
    """
    values, weights = np.asarray(values, dtype=float), np.asarray(weights, dtype=float)
    _check(values, weights)
    if len(values) == 0 or capacity < 0:
        return 0.0, np.zeros(len(values), dtype=bool)
    solver = pywraplp.Solver.CreateSolver("SCIP")
    if time_limit is not None:
        solver.SetTimeLimit(int(time_limit * 1000))
    var = [solver.BoolVar(f"y{i}") for i in range(len(values))]
    solver.Add(sum(float(w) * v for w, v in zip(weights, var)) <= capacity)
    solver.Maximize(sum(float(value) * v for value, v in zip(values, var)))
    if solver.Solve() not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        raise RuntimeError("SCIP knapsack failed")
    chosen = np.array([round(v.solution_value()) == 1 for v in var], dtype=bool)
    return float(values[chosen].sum()), chosen


def knapsack01(values, weights, capacity: float, max_states: int | None = None,
               time_limit: float | None = None) -> tuple[float, np.ndarray]:
    """0/1 knapsack: :func:`knapsack01_dp` (exact), or :func:`knapsack01_scip` (capped at ``time_limit``,
    within its 1e-4 gap) when the DP's frontier outgrows ``max_states`` states. Returns ``(value, mask)``."""
    try:
        return knapsack01_dp(values, weights, capacity, max_states=max_states)
    except FrontierTooLarge:  # the DP would take minutes: SCIP instead
        return knapsack01_scip(values, weights, capacity, time_limit)
