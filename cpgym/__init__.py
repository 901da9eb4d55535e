"""cpgym: reinforcement-learning environments and agents for combinatorial problems, built on CP.

Importing the package registers the Gymnasium environments (``cpgym/JobShop-v0``,
``cpgym/RobustKnapsack-v0``, ``cpgym/CapitalBudgeting-v0``). :func:`cpgym.evaluate` (the
evaluator, see :mod:`cpgym.evaluation`) is imported on first use, so ``import cpgym`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import cpgym.envs  # noqa: F401  (registers the environments)

if TYPE_CHECKING:
    from cpgym.evaluation.api import evaluate

__version__ = "0.2.0"  # keep equal to pyproject.toml (tests/cli/test_cli.py checks it)
__all__ = ["__version__", "evaluate"]


def __getattr__(name: str) -> Any:
    if name == "evaluate":
        from cpgym.evaluation.api import evaluate

        return evaluate
    raise AttributeError(f"module 'cpgym' has no attribute {name!r}")
