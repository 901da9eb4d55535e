"""Neur2RO training data: ``(instance, x, xi) -> Q(x, xi)`` labelled by the exact second-stage solvers.

Problems (:data:`PROBLEMS`) define the item features of the value network and the sampling:

* ``knapsack``: instances from :func:`generate_robust_knapsack` (n in 20..80 step 10, random
  correlation / h / delta / dev); decisions ``x_i ~ Bernoulli(1 - p)``, ``p ~ U(0, 1)``; scenarios,
  restricted to the chosen items ``S = {i : x_i = 1}`` (``Q`` does not depend on ``xi_i`` for ``x_i = 0``, so those
  are 0 in the data and in the adversarial problem): the literature's ``xi_S = b u / sum(u)``,
  ``u ~ U(0,1)^|S|``, ``b ~ U(1/Gamma, Gamma)``, clipped to ``[0, 1]`` so that ``xi`` lies in
  ``Xi = {xi in [0,1]^n : sum xi <= Gamma}``; a fraction ``vertex_fraction`` of the scenarios
  are random vertices of ``Xi`` on ``S`` instead (ones on ``floor(Gamma)`` random chosen items and
  the fractional rest on one more), the region the adversary explores (0 gives the literature
  setup). Label: ``Q(x, xi)`` (second stage only) by the exact DP of ``ro_knapsack``.
  Item features: ``[x_i or xi_i, c, pbar, phat, f, t, C]``.
* ``capital_budgeting``: instances from :func:`generate_capital_budgeting` with ``N`` in
  10..50 step 10 and seeds from ``10**6`` up (the evaluation set uses seeds 1..50); decisions
  ``x_i ~ Bernoulli(1 - p)`` repaired to robust feasibility (random chosen projects are dropped
  until ``1.5 cbar.x <= B``, the first-stage constraint of the main problem; the literature
  resamples until nominally feasible); ``xi ~ U[-1, 1]^4``. Label: total revenue ``Q(x, xi)`` by
  the exact SCIP second stage of ``ro_capital_budgeting``. Item features: ``[x_i, cbar, rbar]``
  and ``[1 + phi_i.xi / 2, 1 + psi_i.xi / 2, cbar, rbar]``.

Storage: a folder of ``shard_XXXXX.npz`` files (``instances_per_shard`` instances each) plus
``meta.json`` with the generation settings. Generation runs shards in parallel processes with a
progress bar, writes each shard atomically and skips shards already present (resumable).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from tqdm import tqdm

from cpgym.cp_models.robust.capital_budgeting import cb_second_stage
from cpgym.cp_models.robust.knapsack import knapsack_second_stage
from cpgym.instances.capital_budgeting import CapitalBudgetingInstance, generate_capital_budgeting
from cpgym.instances.robust_knapsack import CORRELATIONS, RobustKnapsackInstance, generate_robust_knapsack

CB_TRAIN_SEED_OFFSET = 10**6


class KnapsackProblem:
    """Features and sampling for the two-stage robust knapsack."""

    name = "knapsack"
    n_static = 6
    n_x_features = 7
    n_xi_features = 7

    @staticmethod
    def static(instance: RobustKnapsackInstance) -> np.ndarray:
        """Per-item constant features ``[c, pbar, phat, f, t, C]``, shape (n, 6)."""
        cols = (instance.weight, instance.profit, instance.degradation, instance.outsourcing, instance.repair_weight)
        return np.column_stack([*cols, np.full(instance.n, instance.capacity)]).astype(np.float64)

    @staticmethod
    def xi_shape(n: int) -> int:
        return n

    @staticmethod
    def x_features(static: np.ndarray, x: np.ndarray) -> np.ndarray:
        return np.concatenate([np.asarray(x, dtype=np.float64)[..., None], static], axis=-1)

    @staticmethod
    def xi_features(static: np.ndarray, xi: np.ndarray) -> np.ndarray:
        return np.concatenate([np.asarray(xi, dtype=np.float64)[..., None], static], axis=-1)

    @staticmethod
    def sample_instance(rng: np.random.Generator) -> RobustKnapsackInstance:
        return generate_robust_knapsack(
            n=int(rng.choice(np.arange(20, 81, 10))),
            correlation=str(rng.choice(CORRELATIONS)),
            h=int(rng.choice([40, 80])),
            delta=float(rng.choice([0.1, 0.5, 1.0])),
            dev=float(rng.choice([0.1, 0.15, 0.2])),
            seed=int(rng.integers(2**31)),
        )

    @staticmethod
    def sample_x(instance: RobustKnapsackInstance, rng: np.random.Generator) -> np.ndarray:
        return (rng.random(instance.n) < 1 - rng.random()).astype(np.int8)

    @staticmethod
    def sample_xi(instance: RobustKnapsackInstance, x: np.ndarray, rng: np.random.Generator,
                  vertex_fraction: float = 0.0) -> np.ndarray:
        xi = np.zeros(instance.n)
        chosen = np.flatnonzero(x)
        if len(chosen) == 0:
            return xi
        gamma = instance.gamma
        if rng.random() < vertex_fraction:
            order = rng.permutation(chosen)
            whole = min(int(np.floor(gamma)), len(chosen))
            xi[order[:whole]] = 1.0
            if whole < len(chosen):
                xi[order[whole]] = gamma - np.floor(gamma)
            return xi
        u = rng.random(len(chosen))
        b = rng.uniform(1 / gamma, gamma) if gamma > 1 else gamma * rng.random()
        xi[chosen] = np.clip(b * u / u.sum(), 0.0, 1.0)
        return xi

    @staticmethod
    def label(instance: RobustKnapsackInstance, x: np.ndarray, xi: np.ndarray) -> float:
        return knapsack_second_stage(instance, x, xi)[0]


class CapitalBudgetingProblem:
    """Features and sampling for robust capital budgeting."""

    name = "capital_budgeting"
    n_static = 10
    n_x_features = 3
    n_xi_features = 4
    xi_dim = 4

    @staticmethod
    def static(instance: CapitalBudgetingInstance) -> np.ndarray:
        """Per-item ``[cbar, rbar, phi (4), psi (4)]``, shape (n, 10)."""
        return np.column_stack([instance.cost, instance.revenue, instance.phi, instance.psi]).astype(np.float64)

    @classmethod
    def xi_shape(cls, n: int) -> int:
        return cls.xi_dim

    @staticmethod
    def x_features(static: np.ndarray, x: np.ndarray) -> np.ndarray:
        return np.concatenate([np.asarray(x, dtype=np.float64)[..., None], static[..., :2]], axis=-1)

    @staticmethod
    def xi_features(static: np.ndarray, xi: np.ndarray) -> np.ndarray:
        """``static`` (..., n, 10), ``xi`` (..., 4) -> (..., n, 4)."""
        xi = np.asarray(xi, dtype=np.float64)[..., None, :]
        cost_factor = 1 + (static[..., 2:6] * xi).sum(-1) / 2
        revenue_factor = 1 + (static[..., 6:10] * xi).sum(-1) / 2
        return np.stack([cost_factor, revenue_factor, static[..., 0], static[..., 1]], axis=-1)

    @staticmethod
    def sample_instance(rng: np.random.Generator) -> CapitalBudgetingInstance:
        n = int(rng.choice(np.arange(10, 51, 10)))
        return generate_capital_budgeting(n, CB_TRAIN_SEED_OFFSET + int(rng.integers(2**30)))

    @staticmethod
    def sample_x(instance: CapitalBudgetingInstance, rng: np.random.Generator) -> np.ndarray:
        x = (rng.random(instance.n) < 1 - rng.random()).astype(np.int8)
        while not instance.robust_feasible(x):
            x[rng.choice(np.flatnonzero(x))] = 0
        return x

    @staticmethod
    def sample_xi(instance: CapitalBudgetingInstance, x: np.ndarray, rng: np.random.Generator,
                  vertex_fraction: float = 0.0) -> np.ndarray:
        return rng.uniform(-1.0, 1.0, instance.xi_dim)

    @staticmethod
    def label(instance: CapitalBudgetingInstance, x: np.ndarray, xi: np.ndarray) -> float:
        return cb_second_stage(instance, x, xi)[0]


PROBLEMS = {p.name: p for p in (KnapsackProblem, CapitalBudgetingProblem)}


def get_problem(name: str):
    if name not in PROBLEMS:
        raise ValueError(f"unknown problem {name!r}; known: {', '.join(PROBLEMS)}")
    return PROBLEMS[name]


@dataclass(frozen=True)
class DataConfig:
    """Dataset size and sampling; the defaults fit 2 cores in a few minutes.

    The literature setup is ``instances=500, decisions=10, scenarios=50, vertex_fraction=0``.
    """

    problem: str
    instances: int = 100
    decisions: int = 10
    scenarios: int = 20
    vertex_fraction: float = 0.3
    seed: int = 0
    instances_per_shard: int = 10


def generate_shard(config: DataConfig, shard: int) -> dict[str, np.ndarray]:
    """The samples of instances ``shard * instances_per_shard ...`` (deterministic given the config)."""
    problem = get_problem(config.problem)
    first = shard * config.instances_per_shard
    last = min(first + config.instances_per_shard, config.instances)
    statics, sizes, inst, xs, xis, qs = [], [], [], [], [], []
    for local, index in enumerate(range(first, last)):
        rng = np.random.default_rng([config.seed, index])
        instance = problem.sample_instance(rng)
        statics.append(problem.static(instance))
        sizes.append(instance.n)
        for _ in range(config.decisions):
            x = problem.sample_x(instance, rng)
            for _ in range(config.scenarios):
                xi = problem.sample_xi(instance, x, rng, config.vertex_fraction)
                inst.append(local)
                xs.append(x)
                xis.append(xi)
                qs.append(problem.label(instance, x, xi))
    n_max = max(sizes)
    static = np.zeros((len(sizes), n_max, problem.n_static))
    for k, s in enumerate(statics):
        static[k, : len(s)] = s
    width = problem.xi_shape(n_max)
    return {
        "static": static,
        "n_items": np.array(sizes, dtype=np.int64),
        "inst": np.array(inst, dtype=np.int64),
        "x": np.stack([np.pad(x, (0, n_max - len(x))) for x in xs]).astype(np.int8),
        "xi": np.stack([np.pad(xi, (0, width - len(xi))) for xi in xis]).astype(np.float32),
        "q": np.array(qs, dtype=np.float64),
    }


def _write_shard(args: tuple[DataConfig, int, str]) -> int:
    config, shard, folder = args
    data = generate_shard(config, shard)
    final = Path(folder) / f"shard_{shard:05d}.npz"
    tmp = final.with_name(f".{final.stem}.{os.getpid()}.tmp.npz")
    np.savez_compressed(tmp, **data)
    tmp.replace(final)
    return len(data["q"])


def generate_dataset(config: DataConfig, folder: str | Path, workers: int = 2, progress: bool = True) -> Path:
    """Write the dataset to ``folder`` (resumable: existing shards are kept); returns the folder.

    Raises ``ValueError`` if ``folder`` holds a dataset generated with other settings.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    meta = folder / "meta.json"
    if meta.exists():
        old = json.loads(meta.read_text())
        if old != asdict(config):
            raise ValueError(f"{meta}: dataset generated with other settings {old}; use another folder")
    else:
        meta.write_text(json.dumps(asdict(config), indent=1))
    n_shards = -(-config.instances // config.instances_per_shard)
    todo = [k for k in range(n_shards) if not (folder / f"shard_{k:05d}.npz").exists()]
    jobs = [(config, k, str(folder)) for k in todo]
    bar = tqdm(total=n_shards, initial=n_shards - len(todo), desc=f"neur2ro data {config.problem}",
               unit="shard", disable=not progress)
    if workers <= 1:
        for job in jobs:
            _write_shard(job)
            bar.update()
    elif jobs:
        with get_context("spawn").Pool(workers) as pool:
            for _ in pool.imap_unordered(_write_shard, jobs):
                bar.update()
    bar.close()
    return folder


@dataclass
class Dataset:
    """All shards of a folder, items padded to a common ``n_max``; ``inst`` indexes ``static``."""

    problem: str
    static: np.ndarray  # (I, n_max, S)
    n_items: np.ndarray  # (I,)
    inst: np.ndarray  # (N,)
    x: np.ndarray  # (N, n_max)
    xi: np.ndarray  # (N, n_max) or (N, xi_dim)
    q: np.ndarray  # (N,)

    def __len__(self) -> int:
        return len(self.q)

    def mask(self, index: np.ndarray) -> np.ndarray:
        """(B, n_max) item mask of samples ``index``."""
        return (np.arange(self.static.shape[1]) < self.n_items[self.inst[index]][:, None]).astype(np.float32)

    def features(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw (unscaled) item features of samples ``index``: ``(B, n_max, Fx)`` and ``(B, n_max, Fxi)``."""
        problem = get_problem(self.problem)
        static = self.static[self.inst[index]]
        return problem.x_features(static, self.x[index]), problem.xi_features(static, self.xi[index])


def load_dataset(folder: str | Path) -> Dataset:
    """Read every shard of ``folder`` into one :class:`Dataset`."""
    folder = Path(folder)
    meta = json.loads((folder / "meta.json").read_text())
    problem = get_problem(meta["problem"])
    shards = [np.load(p) for p in sorted(folder.glob("shard_*.npz"))]
    if not shards:
        raise FileNotFoundError(f"{folder}: no shard_*.npz files")
    n_max = max(s["static"].shape[1] for s in shards)
    width = problem.xi_shape(n_max)
    statics, sizes, inst, xs, xis, qs, offset = [], [], [], [], [], [], 0
    for s in shards:
        pad = n_max - s["static"].shape[1]
        statics.append(np.pad(s["static"], ((0, 0), (0, pad), (0, 0))))
        sizes.append(s["n_items"])
        inst.append(s["inst"] + offset)
        offset += len(s["n_items"])
        xs.append(np.pad(s["x"], ((0, 0), (0, pad))))
        xis.append(np.pad(s["xi"], ((0, 0), (0, width - s["xi"].shape[1]))))
        qs.append(s["q"])
    cat = np.concatenate
    return Dataset(meta["problem"], cat(statics), cat(sizes), cat(inst), cat(xs), cat(xis), cat(qs))
