"""Robust capital budgeting: exact second stage, exact and sampled worst-case evaluation.

The second stage for fixed ``x`` and ``xi`` is a 0-1 knapsack over the projects not
started (``x_i = 0``) with continuous data: weights ``c_i(xi)``, values ``k r_i(xi)`` and
capacity ``B - c(xi).x``. Scaling real weights to integers for CP-SAT can flip the
feasibility of a selection whose cost is within the rounding error of the budget, so it is
solved exactly on the float data (:mod:`cpgym.cp_models.robust.knapsack01`): by default with a
Pareto-frontier dynamic programme (``solver="dp"``, ~8 ms for n = 50), or as a MIP with SCIP through
OR-Tools' pywraplp (``solver="scip"``, ~50 ms, mostly start-up cost; SCIP's feasibility tolerance is 1e-6,
its relative gap limit 1e-4).

``Q(x, xi)`` is the total revenue ``sum_i r_i(xi) (x_i + k y_i)`` of the best ``y``. The
robust value ``min_{xi in [-1,1]^d} Q(x, xi)`` is not concave in ``xi`` (a pooled ``y`` is
only available where it fits the budget), so :func:`evaluate_capital_budgeting` alternates
an adversarial MILP over a growing pool of second-stage decisions (big-M disjunctions:
each pooled ``y`` either bounds ``t`` from below or is made infeasible) with exact second
stages, until the bounds meet; a local search around the worst scenario found sharpens the
upper bound first. Tolerance: in the adversarial MILP a pooled ``y`` counts as
infeasible only when its cost exceeds the budget by ``1e-4`` (SCIP works to 1e-6), so the
lower bound is exact for budgets perturbed by at most 1e-4 (relative 1e-6 on B = 25..150).
"""

from __future__ import annotations

import time

import numpy as np
from ortools.linear_solver import pywraplp

from cpgym.cp_models.robust.common import DECIDED, OPTIMAL, TIME_LIMIT, RobustEvaluation, as_binary, converged
from cpgym.cp_models.robust.knapsack01 import knapsack01, knapsack01_scip
from cpgym.errors import ArgumentError
from cpgym.instances.capital_budgeting import CapitalBudgetingInstance, evaluation_scenarios

INFEASIBLE = "infeasible"
_EPS_BUDGET = 1e-4  # the adversary makes a pooled y infeasible only by exceeding the budget by this much
SEED_SCENARIOS = 256  # uniform draws whose exact second stages seed the pool of the exact evaluation
NEIGHBOURS = 8  # extra second stages solved around each adversarial scenario
ACTIVE_SEEDS = 32  # the y's of this many lowest-valued seed scenarios start in the MILP pool
ACTIVATE = 64  # further points around it where the best pooled y joins the MILP pool
WINDOW = 0.02  # the adversarial MILP looks for scenarios at most this fraction below the upper bound
MAX_FRONTIER = 5_000  # knapsack DP states beyond which the second stage goes to SCIP
POLISH_ROUNDS = 20  # rounds of the upper bound's local search
POLISH_SAMPLES = 4096  # points drawn around the worst scenario per round
POLISH_SOLVES = 16  # exact second stages per round, at the drawn points where the pool is weakest


def cb_value(instance: CapitalBudgetingInstance, x, y, xi) -> float:
    """Revenue ``sum r(xi) (x + k y)`` of ``(x, y)`` in scenario ``xi``; ``-inf`` if over budget."""
    xi = np.asarray(xi, dtype=float)
    if np.dot(instance.costs(xi), np.asarray(x) + np.asarray(y)) > instance.budget + 1e-6:
        return -np.inf
    return float(np.dot(instance.revenues(xi), np.asarray(x) + instance.k * np.asarray(y)))


def cb_second_stage(instance: CapitalBudgetingInstance, x, xi, solver: str = "dp", time_limit: float | None = None):
    """Exact second stage ``Q(x, xi)``: returns ``(value, y)``.

    ``value`` is the total revenue of ``x`` and the best ``y``; ``(-inf, zeros)`` when ``x``
    alone exceeds the budget in scenario ``xi``. ``solver``: ``"dp"`` (default, exact
    Pareto-frontier DP on the float data, ~8 ms for n = 50; when its frontier outgrows
    :data:`MAX_FRONTIER` states, which happens for a few N = 50 decisions where it would take
    up to a minute, the knapsack goes to SCIP) or ``"scip"`` (MIP, ~50 ms).
    """
    if solver not in ("dp", "scip"):
        raise ArgumentError(f"unknown second-stage solver {solver!r}; use 'dp' or 'scip'")
    x = as_binary(x, instance.n)
    xi = np.asarray(xi, dtype=float)
    costs, revenues = instance.costs(xi), instance.revenues(xi)
    y = np.zeros(instance.n, dtype=np.int64)
    capacity = instance.budget - float(np.dot(costs, x))
    if capacity < -1e-6:
        return -np.inf, y
    free = np.flatnonzero((x == 0) & (costs <= capacity + 1e-9))
    if len(free):
        values, weights = instance.k * revenues[free], costs[free]
        if solver == "dp":
            chosen = knapsack01(values, weights, capacity, max_states=MAX_FRONTIER, time_limit=time_limit)[1]
        else:
            chosen = knapsack01_scip(values, weights, capacity, time_limit)[1]
        y[free[chosen]] = 1
    return float(np.dot(revenues, x + instance.k * y)), y


def _affine(instance: CapitalBudgetingInstance, x: np.ndarray, y: np.ndarray):
    """Revenue and cost of ``(x, y)`` as affine functions of xi: ``(r0, r1, c0, c1)``."""
    w = instance.revenue * (x + instance.k * y)
    v = instance.cost * (x + y)
    return float(w.sum()), instance.psi.T @ w / 2, float(v.sum()), instance.phi.T @ v / 2


def _adversary(
    instance: CapitalBudgetingInstance,
    x: np.ndarray,
    pool: list[np.ndarray],
    time_limit: float,
    t_lower: float = -np.inf,
    t_upper: float = np.inf,
):
    """``min_{xi, t} t`` s.t. each pooled ``y`` bounds ``t`` or exceeds the budget. Returns (xi, bound, status).

    ``t`` is restricted to ``[t_lower, t_upper]`` (default: unrestricted), so the model computes
    ``min(t_upper, max(t_lower, min_xi f(xi)))`` with ``f`` the best pooled revenue; the big-M constants
    are derived from the box of ``xi`` and these limits (a pooled ``y`` whose revenue never exceeds
    ``t_lower`` is left out, one whose revenue always exceeds ``t_upper`` must be over budget, one that
    always fits needs no binary). ``xi`` is ``None`` when no ``t`` in the range is feasible
    (``min f > t_upper``); ``bound`` is then ``t_upper``.
    """
    solver = pywraplp.Solver.CreateSolver("SCIP")
    solver.SetNumThreads(1)
    solver.SetTimeLimit(max(1, int(time_limit * 1000)))
    xi = [solver.NumVar(-1.0, 1.0, f"xi{j}") for j in range(instance.xi_dim)]
    r0, r1, _, _ = _affine(instance, x, np.zeros_like(x))
    t_lower = max(t_lower, r0 - np.abs(r1).sum())  # t >= revenue of y = 0, always feasible for a robust x
    t = solver.NumVar(t_lower, min(t_upper, solver.infinity()), "t")

    def affine(c0, c1):
        return c0 + sum(float(g) * v for g, v in zip(c1, xi))

    solver.Add(t >= affine(r0, r1))
    over = instance.budget + _EPS_BUDGET  # "infeasible" means cost >= over
    for k, y in enumerate(pool):
        q0, q1, c0, c1 = _affine(instance, x, y)
        rev_max, rev_min = q0 + np.abs(q1).sum(), q0 - np.abs(q1).sum()
        cost_max, cost_min = c0 + np.abs(c1).sum(), c0 - np.abs(c1).sum()
        if rev_max <= t_lower or cost_min >= over:
            continue  # never binding, or never fits
        if rev_min > t_upper:
            solver.Add(affine(c0, c1) >= over)
        elif cost_max < over:
            solver.Add(t >= affine(q0, q1))
        else:
            z = solver.BoolVar(f"z{k}")
            solver.Add(t >= affine(q0, q1) - (rev_max - t_lower) * (1 - z))
            solver.Add(affine(c0, c1) >= over - (over - cost_min) * z)
    solver.Minimize(t)
    status = solver.Solve()
    if status == pywraplp.Solver.INFEASIBLE:
        return None, t_upper, status
    if status == pywraplp.Solver.NOT_SOLVED:  # time limit before any solution: no information
        return None, -np.inf, status
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        raise RuntimeError(f"adversarial MILP failed with SCIP status {status}")
    bound = solver.Objective().BestBound() if status == pywraplp.Solver.FEASIBLE else t.solution_value()
    return np.array([v.solution_value() for v in xi]), min(bound, t.solution_value()), status


def _infeasible(instance: CapitalBudgetingInstance, start: float) -> RobustEvaluation:
    return RobustEvaluation(-np.inf, -np.inf, -np.inf, INFEASIBLE, time.perf_counter() - start,
                            np.ones(instance.xi_dim))


def _seed_scenarios(instance: CapitalBudgetingInstance, n_random: int, rng: np.random.Generator,
                    literature: bool = True) -> np.ndarray:
    """Centre and vertices of the box, the bundled literature scenarios (if ``literature``) and
    ``n_random`` uniform draws."""
    d = instance.xi_dim
    vertices = np.array(np.meshgrid(*[[-1.0, 1.0]] * d)).reshape(d, -1).T
    given = evaluation_scenarios(instance.name) if d == 4 and literature else np.zeros((0, d))
    draws = rng.uniform(-1.0, 1.0, (n_random, d))
    return np.vstack([np.zeros((1, d)), vertices, given, draws])


class _Pool:
    """Second-stage decisions found so far (``ys``), the subset given to the MILP (``active``) and the
    lowest exact ``Q`` seen (``upper``, attained at ``worst``)."""

    def __init__(self, instance: CapitalBudgetingInstance, x: np.ndarray):
        self.instance, self.x = instance, x
        self.ys: list[np.ndarray] = []
        self.index: dict[bytes, int] = {}
        self.active: set[int] = set()
        self.upper, self.worst = np.inf, np.zeros(instance.xi_dim)

    def solve(self, xi: np.ndarray, activate: bool = True) -> bool:
        """Exact second stage at ``xi``, pooled (and activated); returns whether that changed the MILP pool."""
        value, y = cb_second_stage(self.instance, self.x, xi)
        if value < self.upper:
            self.upper, self.worst = value, xi
        key = y.astype(np.int8).tobytes()
        if key not in self.index:
            self.index[key] = len(self.ys)
            self.ys.append(y)
        return activate and self._activate({self.index[key]})

    def revenues(self, xis: np.ndarray) -> np.ndarray:
        """Revenue of every pooled ``y`` (columns) at every scenario (rows); ``-inf`` where over budget."""
        inst, ys = self.instance, np.array(self.ys)
        fits = inst.costs(xis) @ (self.x + ys).T <= inst.budget
        return np.where(fits, inst.revenues(xis) @ (self.x + inst.k * ys).T, -np.inf)

    def activate_best(self, xis: np.ndarray, count: int | None = None) -> bool:
        """Activate the best pooled ``y`` at each scenario, or at the ``count`` scenarios where the pool's
        value is lowest (vectorised); returns whether any was inactive."""
        revenue = self.revenues(xis)
        lowest = np.argsort(revenue.max(axis=1), kind="stable")[:count]
        return self._activate(set(np.argmax(revenue[lowest], axis=1).tolist()))

    def _activate(self, indices: set[int]) -> bool:
        new = indices - self.active
        self.active |= new
        return bool(new)

    def milp_pool(self) -> list[np.ndarray]:
        return [self.ys[i] for i in sorted(self.active)]


def _polish(pool: _Pool, rng: np.random.Generator, deadline: float) -> None:
    """Local search for the upper bound: each round draws :data:`POLISH_SAMPLES` points around the worst
    scenario so far and solves the exact second stage at the :data:`POLISH_SOLVES` of them where the pool
    is weakest (where ``Q`` can be lowest); stops when a round adds no second-stage decision."""
    for _ in range(POLISH_ROUNDS):
        if time.perf_counter() >= deadline:
            return
        points = _near(pool.worst, rng, POLISH_SAMPLES)
        weakest = points[np.argsort(pool.revenues(points).max(axis=1), kind="stable")[:POLISH_SOLVES]]
        known = len(pool.ys)
        for xi in weakest:
            pool.solve(xi, activate=False)
        if len(pool.ys) == known:
            return


def _near(xi: np.ndarray, rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` points at distances 1e-4..0.5 around ``xi`` in the box, each coordinate kept with
    probability 0.3 (so points on the box's faces and edges are drawn too)."""
    radius = 10.0 ** rng.uniform(-4, -0.3, (count, 1))
    moved = np.clip(xi + radius * rng.uniform(-1, 1, (count, len(xi))), -1, 1)
    return np.where(rng.random((count, len(xi))) < 0.3, xi, moved)


def evaluate_capital_budgeting(
    instance: CapitalBudgetingInstance, x, tol: float = 1e-6, time_limit: float | None = 60.0,
    literature_scenarios: bool = True, threshold: float | None = None, polish: bool = True,
) -> RobustEvaluation:
    """Exact robust revenue ``min_xi Q(x, xi)`` of ``x`` (status ``infeasible`` if ``1.5 cbar.x > B``).

    1. Exact second stages at :data:`SEED_SCENARIOS` + 17 + (bundled literature scenarios) cheap
       scenarios give the first upper bound and a pool of second-stage decisions ``y``; only the
       ``y`` of the worst one starts in the MILP pool. With ``polish``, a local search around the
       worst of them (:func:`_polish`) lowers the upper bound (its ``y`` stay out of the MILP pool).
    2. The adversarial MILP over the MILP pool gives a lower bound and a scenario ``xi``; exact
       second stages at ``xi`` and :data:`NEIGHBOURS` points around it improve the upper bound and
       enter the MILP pool, as does the best pooled ``y`` at :data:`ACTIVATE` further points around it.
    3. Repeat until ``upper - lower <= tol * max(1, |upper|)`` or the time limit; both bounds are
       returned either way.

    ``literature_scenarios=False`` leaves the instance's bundled literature scenarios out of the
    seeds (for a method scoring its own candidates: those scenarios belong to the evaluation).
    ``threshold``: stop (status ``decided``) as soon as the bounds decide whether the robust value is
    at least ``threshold`` (``lower >= threshold`` or ``upper < threshold``), e.g. to compare two
    decisions; the MILP then only looks below the threshold.

    The MILP's ``t`` is restricted to ``[max(lower, ceiling - WINDOW |ceiling|), ceiling]`` with
    ``ceiling`` the upper bound (or the threshold, if lower), which keeps its big-M constants small; its
    value certifies a lower bound only when it lies above that floor (otherwise its ``xi`` is a scenario
    where the pool is weak, and the loop continues).
    """
    start = time.perf_counter()
    x = as_binary(x, instance.n)
    if not instance.robust_feasible(x):
        return _infeasible(instance, start)
    limit = np.inf if time_limit is None else time_limit
    rng = np.random.default_rng(0)
    pool = _Pool(instance, x)
    seeds = _seed_scenarios(instance, SEED_SCENARIOS, rng, literature_scenarios)
    for solved, xi in enumerate(seeds):
        if solved and time.perf_counter() - start >= limit:
            seeds = seeds[:solved]
            break
        pool.solve(xi, activate=False)
    pool.activate_best(seeds, ACTIVE_SEEDS)
    if polish:
        _polish(pool, rng, start + limit)
    r0, r1, _, _ = _affine(instance, x, np.zeros_like(x))
    lower, iterations = r0 - np.abs(r1).sum(), 0  # revenue of x alone in the worst case

    def decided() -> bool:
        return threshold is not None and (lower >= threshold or pool.upper < threshold)

    while not converged(lower, pool.upper, tol) and not decided() and time.perf_counter() - start < limit:
        iterations += 1
        ceiling = pool.upper if threshold is None else min(pool.upper, threshold)
        floor = max(lower, ceiling - WINDOW * abs(ceiling))
        remaining = min(limit - (time.perf_counter() - start), 1e6)
        xi, bound, mip_status = _adversary(instance, x, pool.milp_pool(), remaining, floor, ceiling)
        if mip_status == pywraplp.Solver.NOT_SOLVED:
            break  # SCIP reached the time limit before finding any scenario
        if floor == lower or bound > floor + 1e-9 * max(1.0, abs(floor)):  # certified: above the floor
            lower = max(lower, bound)
        if xi is None:
            continue
        before = pool.upper
        changed = [pool.solve(p) for p in _around(xi, rng, NEIGHBOURS)]
        changed.append(pool.activate_best(_around(xi, rng, ACTIVATE)))
        if not any(changed) and pool.upper >= before:
            break  # no progress possible within SCIP's tolerances; report the bounds as they are
    status = OPTIMAL if converged(lower, pool.upper, tol) else DECIDED if decided() else TIME_LIMIT
    lower = min(lower, pool.upper)
    return RobustEvaluation(lower, lower, pool.upper, status, time.perf_counter() - start, pool.worst, iterations)


def _around(xi: np.ndarray, rng: np.random.Generator, count: int) -> np.ndarray:
    """``xi`` and ``count`` random points at distances 1e-3..1e-1 around it, clipped to the box."""
    radius = 10.0 ** rng.uniform(-3, -1, (count, 1))
    return np.vstack([xi, np.clip(xi + radius * rng.uniform(-1, 1, (count, len(xi))), -1, 1)])


def sampled_capital_budgeting(
    instance: CapitalBudgetingInstance,
    x,
    scenarios: np.ndarray | None = None,
    n_samples: int = 10_000,
    seed: int = 10_000,
) -> RobustEvaluation:
    """The literature's sampled estimate: worst case over given scenarios and random draws.

    Scenarios: ``scenarios`` (default: the bundled ``evaluation_scenarios`` of the instance)
    plus ``n_samples`` draws ``xi ~ U[-1,1]^d`` from ``numpy.random.RandomState(seed)``.
    OPTIMISTIC: an upper bound on the robust value (``lower`` is ``-inf``). The minimum over
    the scenarios is still exact: scenarios are visited in increasing order of a lower bound
    given by a pool of second-stage decisions, and solved only while that bound can beat the
    best value found.
    """
    start = time.perf_counter()
    x = as_binary(x, instance.n)
    if not instance.robust_feasible(x):
        return _infeasible(instance, start)
    given = evaluation_scenarios(instance.name) if scenarios is None else np.asarray(scenarios, float)
    draws = np.random.RandomState(seed).uniform(-1, 1, size=(n_samples, instance.xi_dim))
    xis = np.vstack([given.reshape(-1, instance.xi_dim), draws])
    costs, revenues = instance.costs(xis), instance.revenues(xis)  # (m, n)
    fits_x = costs @ x <= instance.budget + 1e-6
    bound = revenues @ x  # lower bound of Q(x, xi) from the pool, starting with y = 0
    bound[~fits_x] = -np.inf
    upper, worst, solved = np.inf, xis[0], 0
    while True:
        s = int(np.argmin(bound))
        if bound[s] >= upper:
            break
        value, y = cb_second_stage(instance, x, xis[s])
        solved += 1
        if value < upper:
            upper, worst = value, xis[s]
        bound[s] = np.inf  # solved exactly
        fits = costs @ (x + y) <= instance.budget + 1e-6
        candidate = np.where(fits, revenues @ (x + instance.k * y), -np.inf)
        bound = np.where(np.isinf(bound) & (bound > 0), bound, np.maximum(bound, candidate))
    return RobustEvaluation(upper, -np.inf, upper, "sampled", time.perf_counter() - start, worst, solved)

