"""Result types shared by the two-stage robust optimization solvers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cpgym.errors import ArgumentError

OPTIMAL = "optimal"  # bounds met within the stated tolerance
TIME_LIMIT = "time_limit"  # stopped by the time limit; both bounds are valid
DECIDED = "decided"  # stopped once the bounds decided a comparison with a given threshold; both valid


@dataclass(frozen=True)
class RobustEvaluation:
    """Robust (worst-case) objective of a fixed first-stage decision, maximisation form.

    ``lower <= true robust value <= upper``; ``objective`` is the certified ``lower``
    (for a sampled estimate, ``objective == upper`` and ``lower`` is ``-inf``).
    ``worst_scenario`` attains ``upper``.
    """

    objective: float
    lower: float
    upper: float
    status: str
    time: float
    worst_scenario: np.ndarray
    iterations: int = 0

    @property
    def gap(self) -> float:
        return self.upper - self.lower

    def as_dict(self) -> dict:
        return {
            "objective": self.objective, "lower": self.lower, "upper": self.upper, "status": self.status,
            "time": self.time, "iterations": self.iterations, "worst_scenario": self.worst_scenario.tolist(),
        }


@dataclass(frozen=True)
class CCGResult:
    """Column-and-constraint generation outcome: incumbent ``x``, its exact score and the bound.

    ``objective`` is the certified robust value of ``x`` (lower bound of its exact evaluation);
    ``bound`` is an upper bound on the optimal robust value.
    """

    x: np.ndarray
    objective: float
    bound: float
    status: str
    time: float
    iterations: int
    scenarios: np.ndarray

    def as_dict(self) -> dict:
        return {
            "objective": self.objective, "bound": self.bound, "status": self.status, "time": self.time,
            "iterations": self.iterations, "x": self.x.tolist(), "n_scenarios": len(self.scenarios),
        }


def as_binary(x, n: int) -> np.ndarray:
    """A first-stage decision as an int 0/1 vector of length ``n``; :class:`ArgumentError` otherwise."""
    x = np.asarray(x, dtype=np.int64).reshape(-1)
    if x.shape != (n,) or not np.isin(x, (0, 1)).all():
        raise ArgumentError(f"first-stage decision must be a 0/1 vector of length {n}, got {x.tolist()}")
    return x


def converged(lower: float, upper: float, tol: float) -> bool:
    """Bounds meet: ``upper - lower <= tol * max(1, |upper|)``."""
    return upper - lower <= tol * max(1.0, abs(upper))
