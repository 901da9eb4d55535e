"""The second stages of the robust problems as MILP constraints (pywraplp), one class per problem.

The CCG master (:mod:`cpgym.cp_models.robust.ccg`) and Neur2RO's main problem
(:mod:`cpgym.agents.neur2ro.ccg`) both model ``max_x first(x) + min_k Q(x, xi_k)`` over a finite
set of scenarios with the second-stage decisions as variables. A :class:`Recourse` builds the parts
(for binary first-stage variables ``x``):

* :meth:`~Recourse.first_stage`: the first-stage constraints and objective;
* :meth:`~Recourse.copy`: one copy of the second-stage variables with their scenario-independent
  constraints (a copy per scenario, or one copy shared by scenarios of which one is selected);
* :meth:`~Recourse.value`: the copy's second-stage value in a scenario, adding that scenario's
  constraints on the copy, relaxed by big-M when an ``off`` indicator is 1.

Knapsack (second-stage part only; the first stage adds ``sum (pbar - f) x``)::

    y <= x, r <= y, c.y + t.r <= C;   value = sum (f - phat xi) y + phat xi r

Capital budgeting (total revenue; the first stage adds ``1.5 cbar.x <= B``)::

    x + y <= 1;   c(xi).(x + y) <= B;   value = sum r(xi) (x + k y)

:data:`RECOURSES` maps each robust problem's registry name to its class, with the problem's exact
worst-case evaluator as :attr:`Recourse.evaluate`; :func:`recourse_for` picks the class of an instance.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
from ortools.linear_solver import pywraplp

from cpgym.cp_models.robust.capital_budgeting import evaluate_capital_budgeting, sampled_capital_budgeting
from cpgym.cp_models.robust.common import RobustEvaluation
from cpgym.cp_models.robust.knapsack import evaluate_knapsack, sampled_knapsack
from cpgym.errors import UnknownProblemError
from cpgym.instances.problems import problem_of


class Recourse(ABC):
    """Second-stage MILP encoding of one instance; see the module docstring."""

    problem: ClassVar[str]  # the registry's problem name
    evaluate: ClassVar[Callable[..., RobustEvaluation]]  # exact worst-case evaluator ``(instance, x, ...)``
    sampled: ClassVar[Callable[..., RobustEvaluation]]  # optimistic sampled estimate ``(instance, x)``

    def __init__(self, instance: Any) -> None:
        self.instance = instance

    @property
    @abstractmethod
    def xi_dim(self) -> int:
        """Length of a scenario vector."""

    @abstractmethod
    def first_stage(self, solver: pywraplp.Solver, x: Sequence) -> Any:
        """Add the first-stage constraints on ``x``; returns the first-stage objective (expression or number)."""

    @abstractmethod
    def copy(self, solver: pywraplp.Solver, x: Sequence, label: object) -> Any:
        """New second-stage variables (named after ``label``) with their scenario-independent constraints."""

    @abstractmethod
    def value(self, solver: pywraplp.Solver, x: Sequence, copy: Any, xi: np.ndarray, off: Any = None) -> Any:
        """The second-stage value of ``copy`` in scenario ``xi``; adds the scenario's constraints on it,
        relaxed where ``off`` (a 0/1 expression, or None: never) is 1."""

    @abstractmethod
    def value_bound(self, scenarios: Sequence[np.ndarray]) -> float:
        """``M`` with ``0 <= value <= M`` for every copy and scenario (a big-M constant)."""


class KnapsackRecourse(Recourse):
    """Robust knapsack: produce (``y``) and repair (``r``) the chosen items within the capacity."""

    problem = "rkp"
    evaluate = staticmethod(evaluate_knapsack)
    sampled = staticmethod(sampled_knapsack)

    @property
    def xi_dim(self) -> int:
        return self.instance.n

    def first_stage(self, solver: pywraplp.Solver, x: Sequence) -> Any:
        gain = self.instance.profit - self.instance.outsourcing
        return pywraplp.SumArray([float(gain[i]) * x[i] for i in range(self.instance.n)])

    def copy(self, solver: pywraplp.Solver, x: Sequence, label: object) -> tuple[list, list]:
        inst, n = self.instance, self.instance.n
        y = [solver.BoolVar(f"y{label}_{i}") for i in range(n)]
        r = [solver.BoolVar(f"r{label}_{i}") for i in range(n)]
        for i in range(n):
            solver.Add(y[i] <= x[i])
            solver.Add(r[i] <= y[i])
        solver.Add(sum(int(inst.weight[i]) * y[i] + int(inst.repair_weight[i]) * r[i] for i in range(n))
                   <= inst.capacity)
        return y, r

    def value(self, solver: pywraplp.Solver, x: Sequence, copy: tuple[list, list], xi: np.ndarray,
              off: Any = None) -> Any:
        inst, (y, r) = self.instance, copy
        loss = inst.degradation * xi
        return pywraplp.SumArray([float(inst.outsourcing[i] - loss[i]) * y[i] + float(loss[i]) * r[i]
                                  for i in range(inst.n)])

    def value_bound(self, scenarios: Sequence[np.ndarray]) -> float:
        return float(self.instance.outsourcing.sum())


class CapitalBudgetingRecourse(Recourse):
    """Robust capital budgeting: start the projects not started yet (``y``) within each scenario's budget."""

    problem = "cb"
    evaluate = staticmethod(evaluate_capital_budgeting)
    sampled = staticmethod(sampled_capital_budgeting)

    @property
    def xi_dim(self) -> int:
        return self.instance.xi_dim

    def first_stage(self, solver: pywraplp.Solver, x: Sequence) -> float:
        inst = self.instance
        solver.Add(sum(1.5 * float(inst.cost[i]) * x[i] for i in range(inst.n)) <= inst.budget)
        return 0.0

    def copy(self, solver: pywraplp.Solver, x: Sequence, label: object) -> list:
        y = [solver.BoolVar(f"y{label}_{i}") for i in range(self.instance.n)]
        for i in range(self.instance.n):
            solver.Add(x[i] + y[i] <= 1)
        return y

    def value(self, solver: pywraplp.Solver, x: Sequence, copy: list, xi: np.ndarray, off: Any = None) -> Any:
        inst, y, n = self.instance, copy, self.instance.n
        c, r = inst.costs(xi), inst.revenues(xi)
        over = 0.0 if off is None else max(0.0, float(c.sum()) - inst.budget) * off
        solver.Add(sum(float(c[i]) * (x[i] + y[i]) for i in range(n)) <= inst.budget + over)
        return sum(float(r[i]) * x[i] + float(inst.k * r[i]) * y[i] for i in range(n))

    def value_bound(self, scenarios: Sequence[np.ndarray]) -> float:
        return max(float(self.instance.revenues(xi).sum()) for xi in scenarios)


RECOURSES: dict[str, type[Recourse]] = {cls.problem: cls for cls in (KnapsackRecourse, CapitalBudgetingRecourse)}


def recourse_for(instance: Any) -> Recourse:
    """The second-stage encoding of ``instance`` (by its registry problem)."""
    name = problem_of(instance).name
    if name not in RECOURSES:
        raise UnknownProblemError(name, list(RECOURSES), hint="not a two-stage robust problem")
    return RECOURSES[name](instance)
