"""Two-stage robust optimization: exact second stages, worst-case evaluators, CCG (SCIP / CP-SAT).

Importing the package registers each robust problem's exact evaluator as its scorer in the problem
registry (:func:`cpgym.instances.problems.check` then recomputes a decision's robust value).
"""

from collections.abc import Callable

import numpy as np

from cpgym.cp_models.robust.capital_budgeting import (
    cb_second_stage,
    cb_value,
    evaluate_capital_budgeting,
    sampled_capital_budgeting,
)
from cpgym.cp_models.robust.ccg import solve_ccg
from cpgym.cp_models.robust.common import CCGResult, RobustEvaluation
from cpgym.cp_models.robust.knapsack import evaluate_knapsack, knapsack_second_stage, sampled_knapsack
from cpgym.cp_models.robust.knapsack01 import FrontierTooLarge, knapsack01, knapsack01_dp, knapsack01_scip
from cpgym.cp_models.robust.recourse import (
    RECOURSES,
    CapitalBudgetingRecourse,
    KnapsackRecourse,
    Recourse,
    recourse_for,
)
from cpgym.instances.problems import Check, Scorer, register_scorer


def _scorer(evaluate: Callable[..., RobustEvaluation]) -> Scorer:
    """A registry scorer from an exact evaluator: the certified lower bound is the objective."""

    def score(instance, x, time_limit: float) -> Check:
        evaluation = evaluate(instance, np.asarray(x, dtype=np.int64), time_limit=time_limit)
        return Check([], float(evaluation.lower), float(evaluation.upper))

    return score


for _name, _recourse in RECOURSES.items():
    register_scorer(_name, _scorer(_recourse.evaluate))

__all__ = [
    "RECOURSES",
    "CCGResult",
    "CapitalBudgetingRecourse",
    "FrontierTooLarge",
    "KnapsackRecourse",
    "Recourse",
    "RobustEvaluation",
    "cb_second_stage",
    "cb_value",
    "evaluate_capital_budgeting",
    "evaluate_knapsack",
    "knapsack01",
    "knapsack01_dp",
    "knapsack01_scip",
    "knapsack_second_stage",
    "recourse_for",
    "sampled_capital_budgeting",
    "sampled_knapsack",
    "solve_ccg",
]
