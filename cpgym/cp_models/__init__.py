"""CP-SAT and MIP encodings and solvers (no RL code here)."""

from cpgym.cp_models.jobshop_cpsat import JobShopSolution, solve_jobshop

__all__ = ["JobShopSolution", "solve_jobshop"]
from cpgym.cp_models.ro_capital_budgeting import evaluate_capital_budgeting  # noqa: E402
from cpgym.cp_models.ro_ccg import solve_ccg  # noqa: E402
from cpgym.cp_models.ro_knapsack import evaluate_knapsack  # noqa: E402

__all__ += ["evaluate_capital_budgeting", "evaluate_knapsack", "solve_ccg"]
