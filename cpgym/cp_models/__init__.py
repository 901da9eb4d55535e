"""CP-SAT and MIP encodings and solvers (no RL code here)."""

from cpgym.cp_models.jobshop_cpsat import JobShopSolution, solve_jobshop
from cpgym.cp_models.robust import evaluate_capital_budgeting, evaluate_knapsack, solve_ccg

__all__ = ["JobShopSolution", "evaluate_capital_budgeting", "evaluate_knapsack", "solve_ccg", "solve_jobshop"]
