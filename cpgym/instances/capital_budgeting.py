"""Robust capital budgeting (Subramanyam, Gounaris & Wiesemann 2020; Neur2RO evaluation set).

Problem (maximisation, no loans)::

    max_x min_{xi in [-1,1]^4} max_y  sum_i r_i(xi) (x_i + k y_i)
    s.t. x_i + y_i <= 1,  sum_i c_i(xi) (x_i + y_i) <= B,  x, y binary,
    c_i(xi) = (1 + phi_i.xi / 2) cbar_i,  r_i(xi) = (1 + psi_i.xi / 2) rbar_i,  k = 0.8.

File format: line 1 ``seed N xi_dim B max_loan``; line 2 cbar; line 3 rbar; then N lines
phi_i and N lines psi_i. The literature results use the budget ``floor(B)``
(:attr:`CapitalBudgetingInstance.budget`).
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from cpgym.errors import InstanceFormatError, UnknownDatasetError, UnknownInstanceError
from cpgym.instances.problems import Check, Problem, binary_decision, header_tokens, register

_NAME = re.compile(r"CB_n(?P<n>\d+)_xi(?P<xi>\d+)_s(?P<seed>\d+)$")
RECOURSE_FACTOR = 0.8  # k: revenue share of a postponed project


@dataclass(frozen=True, eq=False)
class CapitalBudgetingInstance:
    """A robust capital budgeting instance; ``phi`` and ``psi`` have shape ``(n, xi_dim)``."""

    name: str
    seed: int
    raw_budget: float  # B as written in the file (sum(cbar) / 2)
    max_loan: float
    cost: np.ndarray  # cbar
    revenue: np.ndarray  # rbar
    phi: np.ndarray
    psi: np.ndarray
    k: float = RECOURSE_FACTOR
    metadata: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.cost)

    @property
    def xi_dim(self) -> int:
        return self.phi.shape[1]

    @property
    def budget(self) -> float:
        """Effective budget ``floor(B)``, as in the literature results."""
        return float(math.floor(self.raw_budget))

    def costs(self, xi: np.ndarray) -> np.ndarray:
        """``c(xi)``; ``xi`` of shape ``(xi_dim,)`` or ``(m, xi_dim)``."""
        return (1 + np.asarray(xi) @ self.phi.T / 2) * self.cost

    def revenues(self, xi: np.ndarray) -> np.ndarray:
        """``r(xi)``; ``xi`` of shape ``(xi_dim,)`` or ``(m, xi_dim)``."""
        return (1 + np.asarray(xi) @ self.psi.T / 2) * self.revenue

    def robust_feasible(self, x: np.ndarray) -> bool:
        """First-stage robust feasibility ``1.5 cbar.x <= B`` (worst case ``xi = 1``)."""
        return bool(1.5 * np.dot(self.cost, np.asarray(x)) <= self.budget + 1e-9)


def _floats(source: str, number: int, line: str, count: int, what: str) -> list[float]:
    tokens = line.split()
    if len(tokens) != count:
        raise InstanceFormatError(source, number, f"expected {count} numbers ({what}), found {len(tokens)}")
    values = []
    for token in tokens:
        try:
            value = float(token)
        except ValueError:
            raise InstanceFormatError(source, number, f"{token!r} is not a number ({what})") from None
        if not math.isfinite(value):
            raise InstanceFormatError(source, number, f"{token!r} is not finite ({what})")
        values.append(value)
    return values


def parse_capital_budgeting(text: str, source: str = "<text>", name: str = "cb") -> CapitalBudgetingInstance:
    """Parse the Neur2RO/Subramanyam text format; raises :class:`InstanceFormatError` on malformed text."""
    lines = [(k, s.strip()) for k, s in enumerate(text.splitlines(), start=1) if s.strip()]
    if not lines:
        raise InstanceFormatError(source, None, "empty file")
    number, header = lines[0]
    seed, n, xi_dim, budget, max_loan = _floats(source, number, header, 5, "seed N xi_dim B max_loan")
    for value, what in ((seed, "seed"), (n, "N"), (xi_dim, "xi_dim")):
        if value != int(value) or value < (0 if what == "seed" else 1):
            raise InstanceFormatError(source, number, f"{what} must be a positive integer, found {value:g}")
    n, xi_dim = int(n), int(xi_dim)
    if len(lines) != 3 + 2 * n:
        where = lines[3 + 2 * n][0] if len(lines) > 3 + 2 * n else lines[-1][0]
        problem = f"expected {3 + 2 * n} non-blank lines for N = {n}, found {len(lines)}"
        raise InstanceFormatError(source, where, problem)
    cost = _floats(source, *lines[1], n, "cbar")
    revenue = _floats(source, *lines[2], n, "rbar")
    if budget <= 0 or max_loan < 0:
        raise InstanceFormatError(source, number, f"the budget B must be positive and max_loan >= 0, found {budget:g}"
                                  f" and {max_loan:g}")
    if min(cost) <= 0:
        raise InstanceFormatError(source, lines[1][0], "costs cbar must be positive")
    if min(revenue) < 0:
        raise InstanceFormatError(source, lines[2][0], "revenues rbar must be non-negative")
    phi = [_floats(source, k, s, xi_dim, "phi_i") for k, s in lines[3:3 + n]]
    psi = [_floats(source, k, s, xi_dim, "psi_i") for k, s in lines[3 + n:]]
    for rows, offset, what in ((phi, 3, "phi"), (psi, 3 + n, "psi")):
        for i, row in enumerate(rows):
            if min(row) < 0 or abs(sum(row) - 1) > 1e-6:
                line = lines[offset + i][0]
                raise InstanceFormatError(source, line, f"{what}_{i} must be a probability vector, found {row}")
    return CapitalBudgetingInstance(
        name, int(seed), budget, max_loan, np.array(cost), np.array(revenue), np.array(phi), np.array(psi)
    )


def read_capital_budgeting(path: str | Path) -> CapitalBudgetingInstance:
    """Read an instance file; the instance is named after the file."""
    path = Path(path)
    return parse_capital_budgeting(path.read_text(encoding="utf-8-sig"), source=str(path), name=path.name)


def format_capital_budgeting(instance: CapitalBudgetingInstance) -> str:
    """Text in the bundled format (floats written with Python's shortest round-trip repr)."""

    def row(values) -> str:
        return " ".join(repr(float(v)) for v in values)

    lines = [f"{instance.seed} {instance.n} {instance.xi_dim} {instance.raw_budget!r} {instance.max_loan!r}"]
    lines += [row(instance.cost), row(instance.revenue)]
    lines += [row(p) for p in instance.phi] + [row(p) for p in instance.psi]
    return "\n".join(lines) + "\n"


def write_capital_budgeting(instance: CapitalBudgetingInstance, path: str | Path) -> None:
    Path(path).write_text(format_capital_budgeting(instance))


def generate_capital_budgeting(n: int, seed: int, xi_dim: int = 4) -> CapitalBudgetingInstance:
    """Subramanyam et al.'s generator with numpy legacy seeding; reproduces ``CB_n{n}_xi4_s{seed}``.

    ``cbar ~ U(1,10)``, ``rbar = cbar/5``, ``B = sum(cbar)/2``; per item the draws
    ``x_1, y_1, ..., x_{d-1}, y_{d-1} ~ U(0,1)`` give ``phi`` (``psi``) as the gaps of the
    sorted ``{0, x_1.., 1}`` (``{0, y_1.., 1}``); ``max_loan = 1.5 sum(cbar) - B``.
    """
    rng = np.random.RandomState(seed)
    cost = rng.uniform(1, 10, size=n)
    revenue = cost / 5
    budget = sum(cost) / 2
    max_loan = sum(cost) * 1.5 - budget
    phi, psi = np.empty((n, xi_dim)), np.empty((n, xi_dim))
    for i in range(n):
        draws = np.array([[rng.uniform(0, 1), rng.uniform(0, 1)] for _ in range(xi_dim - 1)]).reshape(-1, 2)
        phi[i] = np.diff(sorted([0.0, *draws[:, 0], 1.0]))
        psi[i] = np.diff(sorted([0.0, *draws[:, 1], 1.0]))
    name = f"CB_n{n}_xi{xi_dim}_s{seed}"
    return CapitalBudgetingInstance(name, seed, float(budget), float(max_loan), cost, revenue, phi, psi)


def cb_data_dir() -> Path:
    """Folder of the bundled capital-budgeting data."""
    return Path(str(resources.files("cpgym.instances") / "data" / "ro" / "capital_budgeting"))


def capital_budgeting_names() -> list[str]:
    """Names of the 250 bundled evaluation instances (N = 10..50, seeds 1..50)."""
    names = [p.name for p in (cb_data_dir() / "instances").iterdir() if _NAME.match(p.name)]
    return sorted(names, key=lambda s: tuple(int(v) for v in _NAME.match(s).groups()))


def load_capital_budgeting(name: str) -> CapitalBudgetingInstance:
    """A bundled instance, e.g. ``load_capital_budgeting("CB_n10_xi4_s1")``."""
    path = cb_data_dir() / "instances" / name
    if not _NAME.match(name) or not path.is_file():
        raise UnknownInstanceError(name, hint="`cpgym instances list --family cb` lists the bundled ones")
    return replace(read_capital_budgeting(path), name=name)


@dataclass(frozen=True)
class KAdaptabilityResult:
    """One literature k-adaptability run; ``objective``/``lower_bound`` are in minimisation form (-revenue)."""

    K: int
    objective: float
    lower_bound: float
    gap: float
    runtime: float
    x: np.ndarray


@cache
def _k_adaptability() -> dict[str, list[KAdaptabilityResult]]:
    table: dict[str, list[KAdaptabilityResult]] = {}
    with open(cb_data_dir() / "k_adaptability_results.csv", newline="") as handle:
        for r in csv.DictReader(handle):
            name = f"CB_n{r['n_items']}_xi4_s{r['inst_seed']}"
            x = np.array([int(v) for v in r["x"].split()], dtype=np.int64)
            result = KAdaptabilityResult(
                int(r["K"]), float(r["obj"]), float(r["lb"]), float(r["gap"]), float(r["runtime"]), x
            )
            table.setdefault(name, []).append(result)
    return {name: sorted(rows, key=lambda row: row.K) for name, rows in table.items()}


def k_adaptability_results(name: str) -> list[KAdaptabilityResult]:
    """Literature k-adaptability results (K = 2, 5, 10 where present) of a bundled instance."""
    return list(_k_adaptability().get(name, []))


@cache
def _scenarios() -> dict:
    with open(cb_data_dir() / "evaluation_scenarios.json") as handle:
        return json.load(handle)


def evaluation_scenarios(name: str) -> np.ndarray:
    """All scenarios the literature methods found for an instance, shape ``(m, xi_dim)``."""
    entry = _scenarios().get(name, {})
    found: list[list[float]] = []
    for value in entry.values():
        groups = value.values() if isinstance(value, dict) else [value]
        for group in groups:
            found.extend(group)
    return np.array(found, dtype=float).reshape(-1, 4)


def _cb_groups() -> list[str]:
    return sorted({n.split("_")[1] for n in capital_budgeting_names()}, key=lambda g: int(g[1:]))


def _cb_datasets(group: str | None) -> list[tuple[str, CapitalBudgetingInstance]]:
    if group is not None and group not in _cb_groups():
        raise UnknownDatasetError(f"cb:{group}", [f"cb:{g}" for g in _cb_groups()])
    names = [n for n in capital_budgeting_names() if group is None or n.split("_")[1] == group]
    return [(n.split("_")[1], load_capital_budgeting(n)) for n in names]


def _cb_best_known(instance: CapitalBudgetingInstance) -> tuple[float | None, float | None]:
    """The best k-adaptability result (K = 2, 5, 10; 3 h runs) as stored: no proven values."""
    results = k_adaptability_results(instance.name)
    return (max(-r.objective for r in results), None) if results else (None, None)


def _cb_check(instance: CapitalBudgetingInstance, solution) -> Check:
    x, violations = binary_decision(instance, solution)
    if x is not None and not instance.robust_feasible(x):
        cost = 1.5 * instance.cost @ x
        violations = [f"not robustly feasible: 1.5 * cbar.x = {cost:.4f} > B = {instance.budget}"]
    return Check(violations)


PROBLEM = register(Problem(
    name="cb",
    title="two-stage robust capital budgeting (Subramanyam et al. 2020)",
    sense="max",
    instance_type=CapitalBudgetingInstance,
    solution_field="x",
    names=capital_budgeting_names,
    load=load_capital_budgeting,
    read=lambda path: [read_capital_budgeting(path)],
    sniff=lambda text: header_tokens(text) == 5,
    datasets={"cb": _cb_datasets},
    group_of=lambda i: f"n{i.n}",
    best_known=_cb_best_known,
    validate=_cb_check,
    size_of=lambda instance: f"n{instance.n}",
    layouts={"cb": format_capital_budgeting},
    aliases=("capital_budgeting",),
))
