"""Two-stage robust optimization: exact second stages, worst-case evaluators, CCG (SCIP / CP-SAT)."""

import numpy as np

from cpgym.cp_models.robust.capital_budgeting import evaluate_capital_budgeting, sampled_capital_budgeting
from cpgym.cp_models.robust.ccg import solve_ccg
from cpgym.cp_models.robust.common import CCGResult, RobustEvaluation
from cpgym.cp_models.robust.knapsack import evaluate_knapsack, sampled_knapsack
from cpgym.instances.problems import Check, register_scorer


def _scorer(evaluate):
    """A registry scorer from an exact evaluator: the certified lower bound is the objective."""

    def score(instance, x, time_limit: float) -> Check:
        evaluation = evaluate(instance, np.asarray(x, dtype=np.int64), time_limit=time_limit)
        return Check([], float(evaluation.lower), float(evaluation.upper))

    return score


register_scorer("rkp", _scorer(evaluate_knapsack))
register_scorer("cb", _scorer(evaluate_capital_budgeting))

__all__ = [
    "CCGResult",
    "RobustEvaluation",
    "evaluate_capital_budgeting",
    "evaluate_knapsack",
    "sampled_capital_budgeting",
    "sampled_knapsack",
    "solve_ccg",
]
