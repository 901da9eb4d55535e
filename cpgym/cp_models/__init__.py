"""CP-SAT and MIP encodings and solvers (no RL code here)."""

from cpgym.cp_models.jobshop_cpsat import JobShopSolution, solve_jobshop

__all__ = ["JobShopSolution", "solve_jobshop"]
