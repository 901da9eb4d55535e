"""Two-stage robust knapsack with repair (Arslan & Detienne, INFORMS J. Computing 2022).

Problem (maximisation)::

    max_x  sum_i (pbar_i - f_i) x_i
         + min_{xi in Xi} max_{y,r} sum_i (f_i - phat_i xi_i) y_i + phat_i xi_i r_i
    s.t.  y <= x, r <= y, sum_i c_i y_i + t_i r_i <= C,  x, y, r binary,
    Xi = {xi in [0,1]^n : sum_i xi_i <= Gamma}.

File format: line 1 ``n C Gamma`` (Gamma = n * dev may be fractional, e.g. ``4.5``); then one line per item
``pbar phat t c f``. The 504 bundled literature instances come with the authors'
branch-and-price best-known values (``best_known_branch_and_price.csv``).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from cpgym.errors import InstanceFormatError, UnknownDatasetError, UnknownInstanceError
from cpgym.instances.fjsp import looks_like_fjs
from cpgym.instances.problems import Check, Problem, binary_decision, header_tokens, register

CORRELATIONS = ("UN", "WC", "ASC", "SC")
_NAME = re.compile(
    r"RKP_(?P<corr>UN|WC|ASC|SC)_n(?P<n>\d+)_R(?P<R>\d+)_H(?P<H>\d+)_h(?P<h>\d+)_dev(?P<dev>[\d.]+)_d(?P<delta>[\d.]+)$"
)


@dataclass(frozen=True, eq=False)
class RobustKnapsackInstance:
    """A two-stage robust knapsack instance; item arrays are int64 of length ``n``."""

    name: str
    capacity: int
    gamma: float  # uncertainty budget n * dev (fractional for some instances, e.g. 4.5)
    profit: np.ndarray  # pbar: nominal profit
    degradation: np.ndarray  # phat: maximum profit degradation
    repair_weight: np.ndarray  # t: extra weight when an item is repaired
    weight: np.ndarray  # c: weight of a produced item
    outsourcing: np.ndarray  # f: outsourcing cost
    best_known: float | None = None  # branch-and-price best primal bound (maximisation)
    proven_optimal: bool | None = None
    metadata: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.profit)

    def first_stage_value(self, x: np.ndarray) -> float:
        """``sum_i (pbar_i - f_i) x_i``: the part of the objective fixed by ``x``."""
        return float(np.dot(self.profit - self.outsourcing, np.asarray(x)))


def _ints(source: str, number: int, line: str, count: int, what: str) -> list[int]:
    tokens = line.split()
    if len(tokens) != count:
        raise InstanceFormatError(source, number, f"expected {count} integers ({what}), found {len(tokens)}")
    try:
        values = [int(t) for t in tokens]
    except ValueError:
        bad = next(t for t in tokens if not re.fullmatch(r"[+-]?\d+", t))
        raise InstanceFormatError(source, number, f"{bad!r} is not an integer ({what})") from None
    if any(v < 0 for v in values):
        raise InstanceFormatError(source, number, f"negative value in {what}: {values}")
    return values


def parse_robust_knapsack(text: str, source: str = "<text>", name: str = "rkp") -> RobustKnapsackInstance:
    """Parse Arslan & Detienne's format; raises :class:`InstanceFormatError` on malformed text."""
    lines = [(k, s.strip()) for k, s in enumerate(text.splitlines(), start=1) if s.strip()]
    if not lines:
        raise InstanceFormatError(source, None, "empty file")
    number, header = lines[0]
    tokens = header.split()
    if len(tokens) != 3:
        raise InstanceFormatError(source, number, f"expected 3 numbers (n C Gamma), found {len(tokens)}")
    n, capacity = _ints(source, number, " ".join(tokens[:2]), 2, "n C")
    try:  # Gamma = n * dev may be fractional
        gamma = float(tokens[2])
    except ValueError:
        raise InstanceFormatError(source, number, f"{tokens[2]!r} is not a number (Gamma)") from None
    if n == 0:
        raise InstanceFormatError(source, number, "the instance has no items (n = 0)")
    if not 0 <= gamma <= n:
        raise InstanceFormatError(source, number, f"Gamma = {tokens[2]} is outside 0..n = 0..{n}")
    items = lines[1:]
    if len(items) != n:
        where = items[n][0] if len(items) > n else (items[-1][0] if items else number)
        raise InstanceFormatError(source, where, f"expected {n} item lines, found {len(items)}")
    rows = [_ints(source, k, line, 5, "pbar phat t c f") for k, line in items]
    data = np.array(rows, dtype=np.int64)
    return RobustKnapsackInstance(name, capacity, gamma, *(data[:, j].copy() for j in range(5)))


def read_robust_knapsack(path: str | Path) -> RobustKnapsackInstance:
    """Read an instance file; the instance is named after the file."""
    path = Path(path)
    return parse_robust_knapsack(path.read_text(encoding="utf-8-sig"), source=str(path), name=path.name)


def format_robust_knapsack(instance: RobustKnapsackInstance) -> str:
    """Text in the authors' format (``n C Gamma`` then ``pbar phat t c f`` per item)."""
    lines = [f"{instance.n} {instance.capacity} {instance.gamma:g}"]
    columns = (instance.profit, instance.degradation, instance.repair_weight, instance.weight, instance.outsourcing)
    lines += [" " + " ".join(str(int(col[i])) for col in columns) for i in range(instance.n)]
    return "\n".join(lines) + "\n"


def write_robust_knapsack(instance: RobustKnapsackInstance, path: str | Path) -> None:
    Path(path).write_text(format_robust_knapsack(instance))


def generate_robust_knapsack(
    n: int,
    correlation: str = "UN",
    h: int = 40,
    delta: float = 0.5,
    dev: float = 0.15,
    seed: int | None = None,
    R: int = 1000,
    H: int = 100,
    name: str | None = None,
) -> RobustKnapsackInstance:
    """Seeded generator of new instances of the literature families.

    The authors' generator is not published; this one follows the structure measured
    on the 504 bundled files (see docs/robust_optimization.md): weights ``c ~ U{1..R}``;
    Pisinger's profit correlations (UN ``U{1..R}``, WC ``c + U{-R/10..R/10}``,
    ASC ``c + R/10 + U{-R/500..R/500}``, SC ``c + R/10``); capacity
    ``floor(h/(H+1) * sum c)``; ``phat = round(pbar * U(0.5(1-delta), 0.5(1+delta)))``;
    ``f = round(pbar * U(1.1, 1.5))``; repair weight ``t = round(c * U(0,1))`` for UN and
    ``round(phat * U(0.5, 0.7))`` for the correlated families; ``Gamma = n * dev``.
    """
    if correlation not in CORRELATIONS:
        raise ValueError(f"unknown correlation {correlation!r}; known: {', '.join(CORRELATIONS)}")
    rng = np.random.default_rng(seed)
    weight = rng.integers(1, R + 1, n)
    if correlation == "UN":
        profit = rng.integers(1, R + 1, n)
    elif correlation == "WC":
        profit = np.maximum(1, weight + rng.integers(-R // 10, R // 10 + 1, n))
    elif correlation == "ASC":
        profit = weight + R // 10 + rng.integers(-R // 500, R // 500 + 1, n)
    else:
        profit = weight + R // 10
    degradation = np.rint(profit * rng.uniform(0.5 * (1 - delta), 0.5 * (1 + delta), n)).astype(np.int64)
    outsourcing = np.rint(profit * rng.uniform(1.1, 1.5, n)).astype(np.int64)
    if correlation == "UN":
        repair = np.rint(weight * rng.uniform(0, 1, n))
    else:
        repair = np.rint(degradation * rng.uniform(0.5, 0.7, n))
    repair = np.maximum(1, repair).astype(np.int64)
    capacity = int(np.floor(h / (H + 1) * weight.sum()))
    gamma = round(n * dev, 9)
    name = name or f"RKP_{correlation}_n{n}_R{R}_H{H}_h{h}_dev{dev:g}_d{delta:g}_seed{seed}"
    meta = {"correlation": correlation, "h": h, "delta": delta, "dev": dev, "seed": seed}
    return RobustKnapsackInstance(
        name, capacity, gamma, profit.astype(np.int64), degradation, repair, weight.astype(np.int64),
        outsourcing, metadata=meta,
    )


def knapsack_data_dir() -> Path:
    """Folder of the bundled robust-knapsack data."""
    return Path(str(resources.files("cpgym.instances") / "data" / "ro" / "knapsack"))


@cache
def _best_known() -> dict[str, tuple[float, bool]]:
    with open(knapsack_data_dir() / "best_known_branch_and_price.csv", newline="") as handle:
        return {
            r["File name"]: (float(r["Best primal bound"]), r["Solved to optimality"].strip() == "1")
            for r in csv.DictReader(handle)
        }


def knapsack_names() -> list[str]:
    """Names of the 504 bundled literature instances."""
    return sorted(p.name for p in (knapsack_data_dir() / "instances").iterdir() if p.name.startswith("RKP_"))


def load_robust_knapsack(name: str) -> RobustKnapsackInstance:
    """A bundled instance with its branch-and-price best-known value, e.g.
    ``load_robust_knapsack("RKP_UN_n20_R1000_H100_h40_dev0.1_d0.5")``."""
    path = knapsack_data_dir() / "instances" / name
    if not _NAME.match(name) or not path.is_file():
        raise UnknownInstanceError(name, hint="`cpgym instances list --family rkp` lists the bundled ones")
    instance = read_robust_knapsack(path)
    match = _NAME.match(name)
    meta = {"correlation": match["corr"], "h": int(match["h"]), "delta": float(match["delta"]),
            "dev": float(match["dev"])}
    best, optimal = _best_known().get(name, (None, None))
    return replace(instance, best_known=best, proven_optimal=optimal, metadata=meta)


def _knapsack_datasets(group: str | None) -> list[tuple[str, RobustKnapsackInstance]]:
    if group is not None and group not in CORRELATIONS:
        raise UnknownDatasetError(f"rkp:{group}", [f"rkp:{c}" for c in CORRELATIONS])
    instances = [load_robust_knapsack(n) for n in knapsack_names() if group is None or n.split("_")[1] == group]
    return [(_knapsack_group(i), i) for i in instances]


def _knapsack_group(instance: RobustKnapsackInstance) -> str:
    meta = instance.metadata
    return f"{meta['correlation']}-h{meta['h']}" if "correlation" in meta and "h" in meta else "file"


def _knapsack_check(instance: RobustKnapsackInstance, solution) -> Check:
    return Check(binary_decision(instance, solution)[1])


PROBLEM = register(Problem(
    name="rkp",
    title="two-stage robust knapsack (Arslan & Detienne 2022)",
    sense="max",
    instance_type=RobustKnapsackInstance,
    solution_field="x",
    names=knapsack_names,
    load=load_robust_knapsack,
    read=lambda path: [read_robust_knapsack(path)],
    sniff=lambda text: header_tokens(text) == 3 and not looks_like_fjs(text),
    datasets={"rkp": _knapsack_datasets},
    group_of=_knapsack_group,
    best_known=lambda i: (i.best_known, i.best_known if i.proven_optimal else None),
    validate=_knapsack_check,
    size_of=lambda instance: f"n{instance.n}",
    layouts={"rkp": format_robust_knapsack},
    aliases=("knapsack", "robust_knapsack"),
))
