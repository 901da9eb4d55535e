"""Neur2RO's problems: everything the value network, its training data and the ML-driven CCG need to
know about one two-stage robust problem, in one class per problem.

A problem class (static methods only; registered in :data:`PROBLEMS` with :func:`register`) has

* names: ``name`` (Neur2RO's, stored in model configs and dataset folders: ``"knapsack"``) and
  ``registry_name`` (the problem registry's, :mod:`cpgym.instances.problems`: ``"rkp"``);
* features: ``n_static`` / ``n_x_features`` / ``n_xi_features``, :meth:`static`, :meth:`x_features`,
  :meth:`xi_features`, :meth:`xi_shape` (length of a scenario vector for ``n`` items);
* training data: :meth:`sample_instance`, :meth:`sample_x`, :meth:`sample_xi`, :meth:`label` (exact
  ``Q(x, xi)``), defaults of ``train.py neur2ro`` (``train_instances``, ``train_scenarios``,
  ``vertex_scenarios``: whether ``--vertex-fraction`` applies);
* the objective outside the network: :meth:`feasible` (first-stage constraints),
  :meth:`first_stage_value` and :meth:`score` (the exact evaluation that picks among candidates);
* the uncertainty set: :meth:`xi_directions` (unit changes of an item's local scenario inputs, along
  which the first layer of ``phi_xi`` is affine), :meth:`first_layer` (that layer for a batch of
  scenarios, torch), :meth:`project` (Euclidean projection onto the set, torch) and
  :meth:`scenario_variables` (the set as MILP variables, for a fixed ``x``).

The second stage as MILP constraints comes from :mod:`cpgym.cp_models.robust.recourse`. Adding a
problem: one class here (plus a :class:`~cpgym.cp_models.robust.recourse.Recourse`), decorated with
:func:`register`.

Sampling (training data):

* ``knapsack``: instances from :func:`generate_robust_knapsack` (n in 20..80 step 10, random
  correlation / h / delta / dev); decisions ``x_i ~ Bernoulli(1 - p)``, ``p ~ U(0, 1)``; scenarios,
  restricted to the chosen items ``S = {i : x_i = 1}`` (``Q`` does not depend on ``xi_i`` for ``x_i = 0``, so those
  are 0 in the data and in the adversarial problem): the literature's ``xi_S = b u / sum(u)``,
  ``u ~ U(0,1)^|S|``, ``b ~ U(1/Gamma, Gamma)``, clipped to ``[0, 1]`` so that ``xi`` lies in
  ``Xi = {xi in [0,1]^n : sum xi <= Gamma}``; a fraction ``vertex_fraction`` of the scenarios
  are random vertices of ``Xi`` on ``S`` instead (ones on ``floor(Gamma)`` random chosen items and
  the fractional rest on one more), the region the adversary explores (0 gives the literature
  setup). Label: ``Q(x, xi)`` (second stage only) by the exact DP of :func:`knapsack_second_stage`.
  Item features: ``[x_i or xi_i, c, pbar, phat, f, t, C]``.
* ``capital_budgeting``: instances from :func:`generate_capital_budgeting` with ``N`` in
  10..50 step 10 and seeds from ``10**6`` up (the evaluation set uses seeds 1..50); decisions
  ``x_i ~ Bernoulli(1 - p)`` repaired to robust feasibility (random chosen projects are dropped
  until ``1.5 cbar.x <= B``, the first-stage constraint of the main problem; the literature
  resamples until nominally feasible); ``xi ~ U[-1, 1]^4``. Label: total revenue ``Q(x, xi)`` by
  the exact second stage :func:`cb_second_stage`. Item features: ``[x_i, cbar, rbar]`` and
  ``[1 + phi_i.xi / 2, 1 + psi_i.xi / 2, cbar, rbar]``.

torch is imported only inside the methods that need it, so that dataset generation runs without it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.linear_solver import pywraplp

from cpgym.cp_models.robust.capital_budgeting import cb_second_stage, evaluate_capital_budgeting
from cpgym.cp_models.robust.common import RobustEvaluation
from cpgym.cp_models.robust.knapsack import evaluate_knapsack, knapsack_second_stage
from cpgym.errors import UnknownProblemError
from cpgym.instances.capital_budgeting import CapitalBudgetingInstance, generate_capital_budgeting
from cpgym.instances.problems import get_problem as registry_problem
from cpgym.instances.problems import problem_of
from cpgym.instances.robust_knapsack import CORRELATIONS, RobustKnapsackInstance, generate_robust_knapsack

CB_TRAIN_SEED_OFFSET = 10**6
PROBLEMS: dict[str, type] = {}  # Neur2RO name -> problem class


def register(problem: type) -> type:
    """Class decorator: add a problem class to :data:`PROBLEMS`."""
    PROBLEMS[problem.name] = problem
    return problem


@dataclass(frozen=True)
class ScenarioVariables:
    """The uncertainty set as MILP variables for a fixed ``x``.

    ``reads[i]`` lists the variables that item ``i``'s local scenario inputs are (one per
    :meth:`xi_directions` entry; empty: the item's embedding does not depend on the scenario);
    ``to_xi`` maps the variables' values to a scenario vector of the set.
    """

    variables: list
    lower: np.ndarray
    upper: np.ndarray
    reads: list[list[int]]
    to_xi: Callable[[np.ndarray], np.ndarray]


@register
class KnapsackProblem:
    """The two-stage robust knapsack."""

    name = "knapsack"
    registry_name = "rkp"
    n_static = 6
    n_x_features = 7
    n_xi_features = 7
    train_instances = 200
    train_scenarios = 25
    vertex_scenarios = True

    @staticmethod
    def static(instance: RobustKnapsackInstance) -> np.ndarray:
        """Per-item constant features ``[c, pbar, phat, f, t, C]``, shape (n, 6)."""
        cols = (instance.weight, instance.profit, instance.degradation, instance.outsourcing, instance.repair_weight)
        return np.column_stack([*cols, np.full(instance.n, instance.capacity)]).astype(np.float64)

    @staticmethod
    def xi_shape(n: int) -> int:
        return n

    @staticmethod
    def x_features(static: np.ndarray, x: np.ndarray) -> np.ndarray:
        return np.concatenate([np.asarray(x, dtype=np.float64)[..., None], static], axis=-1)

    @staticmethod
    def xi_features(static: np.ndarray, xi: np.ndarray) -> np.ndarray:
        return np.concatenate([np.asarray(xi, dtype=np.float64)[..., None], static], axis=-1)

    @staticmethod
    def sample_instance(rng: np.random.Generator) -> RobustKnapsackInstance:
        return generate_robust_knapsack(
            n=int(rng.choice(np.arange(20, 81, 10))),
            correlation=str(rng.choice(CORRELATIONS)),
            h=int(rng.choice([40, 80])),
            delta=float(rng.choice([0.1, 0.5, 1.0])),
            dev=float(rng.choice([0.1, 0.15, 0.2])),
            seed=int(rng.integers(2**31)),
        )

    @staticmethod
    def sample_x(instance: RobustKnapsackInstance, rng: np.random.Generator) -> np.ndarray:
        return (rng.random(instance.n) < 1 - rng.random()).astype(np.int8)

    @staticmethod
    def sample_xi(instance: RobustKnapsackInstance, x: np.ndarray, rng: np.random.Generator,
                  vertex_fraction: float = 0.0) -> np.ndarray:
        xi = np.zeros(instance.n)
        chosen = np.flatnonzero(x)
        if len(chosen) == 0:
            return xi
        gamma = instance.gamma
        if rng.random() < vertex_fraction:
            order = rng.permutation(chosen)
            whole = min(int(np.floor(gamma)), len(chosen))
            xi[order[:whole]] = 1.0
            if whole < len(chosen):
                xi[order[whole]] = gamma - np.floor(gamma)
            return xi
        u = rng.random(len(chosen))
        b = rng.uniform(1 / gamma, gamma) if gamma > 1 else gamma * rng.random()
        xi[chosen] = np.clip(b * u / u.sum(), 0.0, 1.0)
        return xi

    @staticmethod
    def label(instance: RobustKnapsackInstance, x: np.ndarray, xi: np.ndarray) -> float:
        return knapsack_second_stage(instance, x, xi)[0]

    @staticmethod
    def feasible(instance: RobustKnapsackInstance, x: np.ndarray) -> bool:
        """Every 0/1 decision is feasible (the second stage may outsource everything)."""
        return True

    @staticmethod
    def first_stage_value(instance: RobustKnapsackInstance, x: np.ndarray) -> float:
        return instance.first_stage_value(x)

    @staticmethod
    def score(instance: RobustKnapsackInstance, x: np.ndarray, time_limit: float) -> RobustEvaluation:
        """:func:`evaluate_knapsack`: the exact robust value when it converges within the cap (nearly always)."""
        return evaluate_knapsack(instance, x, time_limit=time_limit)

    @staticmethod
    def xi_directions(n: int) -> list[np.ndarray]:
        """Item ``i``'s one local input is ``xi_i``: one direction, all ones."""
        return [np.ones(n)]

    @staticmethod
    def first_layer(a0: Any, slopes: Any, xi: Any) -> Any:
        """``a0 + xi_i slopes[0]`` per item for scenarios ``xi`` (B, n)."""
        return a0 + xi[..., None] * slopes[0]

    @staticmethod
    def project(instance: RobustKnapsackInstance, x: np.ndarray, xi: Any) -> Any:
        """Euclidean projection of scenarios ``xi`` (B, n) onto ``Xi`` restricted to the chosen items."""
        import torch as th

        xi = xi * th.from_numpy(np.asarray(x, dtype=np.float32))
        lo, hi = th.zeros(len(xi), 1), xi.max(1, keepdim=True).values
        for _ in range(40):  # bisection on the shift tau with sum clip(xi - tau, 0, 1) = Gamma
            tau = (lo + hi) / 2
            over = (xi - tau).clamp(0.0, 1.0).sum(1, keepdim=True) > instance.gamma
            lo, hi = th.where(over, tau, lo), th.where(over, hi, tau)
        tight = xi.clamp(0.0, 1.0).sum(1, keepdim=True) > instance.gamma
        projected = th.where(tight, (xi - hi).clamp(0.0, 1.0), xi.clamp(0.0, 1.0))
        return projected * th.from_numpy(np.asarray(x, np.float32))

    @staticmethod
    def scenario_variables(solver: pywraplp.Solver, instance: RobustKnapsackInstance,
                           x: np.ndarray) -> ScenarioVariables:
        """``xi_i`` in [0, 1] for the chosen items only, ``sum xi <= Gamma``."""
        chosen = np.flatnonzero(x)
        xi = [solver.NumVar(0.0, 1.0, f"xi{i}") for i in chosen]
        if xi:
            solver.Add(sum(xi) <= float(instance.gamma))
        reads: list[list[int]] = [[] for _ in range(instance.n)]
        for k, i in enumerate(chosen):
            reads[i] = [k]

        def to_xi(values: np.ndarray) -> np.ndarray:
            out = np.zeros(instance.n)
            out[chosen] = np.clip(values, 0.0, 1.0)
            scale = min(1.0, instance.gamma / max(out.sum(), 1e-12))
            return out * scale

        return ScenarioVariables(xi, np.zeros(len(xi)), np.ones(len(xi)), reads, to_xi)


@register
class CapitalBudgetingProblem:
    """Robust capital budgeting."""

    name = "capital_budgeting"
    registry_name = "cb"
    n_static = 10
    n_x_features = 3
    n_xi_features = 4
    xi_dim = 4
    train_instances = 150
    train_scenarios = 20
    vertex_scenarios = False

    @staticmethod
    def static(instance: CapitalBudgetingInstance) -> np.ndarray:
        """Per-item ``[cbar, rbar, phi (4), psi (4)]``, shape (n, 10)."""
        return np.column_stack([instance.cost, instance.revenue, instance.phi, instance.psi]).astype(np.float64)

    @classmethod
    def xi_shape(cls, n: int) -> int:
        return cls.xi_dim

    @staticmethod
    def x_features(static: np.ndarray, x: np.ndarray) -> np.ndarray:
        return np.concatenate([np.asarray(x, dtype=np.float64)[..., None], static[..., :2]], axis=-1)

    @staticmethod
    def xi_features(static: np.ndarray, xi: np.ndarray) -> np.ndarray:
        """``static`` (..., n, 10), ``xi`` (..., 4) -> (..., n, 4)."""
        xi = np.asarray(xi, dtype=np.float64)[..., None, :]
        cost_factor = 1 + (static[..., 2:6] * xi).sum(-1) / 2
        revenue_factor = 1 + (static[..., 6:10] * xi).sum(-1) / 2
        return np.stack([cost_factor, revenue_factor, static[..., 0], static[..., 1]], axis=-1)

    @staticmethod
    def sample_instance(rng: np.random.Generator) -> CapitalBudgetingInstance:
        n = int(rng.choice(np.arange(10, 51, 10)))
        return generate_capital_budgeting(n, CB_TRAIN_SEED_OFFSET + int(rng.integers(2**30)))

    @staticmethod
    def sample_x(instance: CapitalBudgetingInstance, rng: np.random.Generator) -> np.ndarray:
        x = (rng.random(instance.n) < 1 - rng.random()).astype(np.int8)
        while not instance.robust_feasible(x):
            x[rng.choice(np.flatnonzero(x))] = 0
        return x

    @staticmethod
    def sample_xi(instance: CapitalBudgetingInstance, x: np.ndarray, rng: np.random.Generator,
                  vertex_fraction: float = 0.0) -> np.ndarray:
        return rng.uniform(-1.0, 1.0, instance.xi_dim)

    @staticmethod
    def label(instance: CapitalBudgetingInstance, x: np.ndarray, xi: np.ndarray) -> float:
        return cb_second_stage(instance, x, xi)[0]

    @staticmethod
    def feasible(instance: CapitalBudgetingInstance, x: np.ndarray) -> bool:
        """Robust first-stage feasibility ``1.5 cbar.x <= B``."""
        return instance.robust_feasible(x)

    @staticmethod
    def first_stage_value(instance: CapitalBudgetingInstance, x: np.ndarray) -> float:
        """No first-stage objective: the label is the total revenue."""
        return 0.0

    @staticmethod
    def score(instance: CapitalBudgetingInstance, x: np.ndarray, time_limit: float) -> RobustEvaluation:
        """``evaluate_capital_budgeting`` without the instance's bundled literature scenarios (they belong to
        the evaluation), cut at ``time_limit``. Its ``upper`` is the exact objective at the worst scenario
        found: the robust value itself when the evaluation converges (N = 10, 20 within seconds), an
        optimistic estimate otherwise. Without the evaluator's local search (``polish=False``): the method
        was measured so; whether the sharper scores choose better is untested."""
        return evaluate_capital_budgeting(instance, x, time_limit=time_limit, literature_scenarios=False,
                                          polish=False)

    @classmethod
    def xi_directions(cls, n: int) -> list[np.ndarray]:
        """Every item reads the whole scenario: the unit vectors of ``R^4``."""
        return list(np.eye(cls.xi_dim))

    @staticmethod
    def first_layer(a0: Any, slopes: Any, xi: Any) -> Any:
        """``a0 + sum_d xi_d slopes[d]`` per item for scenarios ``xi`` (B, 4)."""
        import torch as th

        return a0 + th.einsum("bd,dnh->bnh", xi, slopes)

    @staticmethod
    def project(instance: CapitalBudgetingInstance, x: np.ndarray, xi: Any) -> Any:
        """Projection onto the box ``[-1, 1]^4``."""
        return xi.clamp(-1.0, 1.0)

    @staticmethod
    def scenario_variables(solver: pywraplp.Solver, instance: CapitalBudgetingInstance,
                           x: np.ndarray) -> ScenarioVariables:
        """``xi`` in ``[-1, 1]^4``, read by every item."""
        d = instance.xi_dim
        xi = [solver.NumVar(-1.0, 1.0, f"xi{j}") for j in range(d)]
        reads = [list(range(d))] * instance.n
        return ScenarioVariables(xi, -np.ones(d), np.ones(d), reads, lambda values: np.clip(values, -1.0, 1.0))


def get_problem(name: str) -> type:
    """A problem class by Neur2RO name (``"knapsack"``), registry name or alias (``"rkp"``, ``"cb"``)."""
    if name in PROBLEMS:
        return PROBLEMS[name]
    try:
        return _by_registry_name(registry_problem(name).name)
    except UnknownProblemError:
        raise UnknownProblemError(name, list(PROBLEMS)) from None


def problem_for(instance: Any) -> type:
    """The problem class of an instance (via the problem registry)."""
    return _by_registry_name(problem_of(instance).name)


def _by_registry_name(name: str) -> type:
    for problem in PROBLEMS.values():
        if problem.registry_name == name:
            return problem
    raise UnknownProblemError(name, list(PROBLEMS), hint="Neur2RO handles the two-stage robust problems only")
