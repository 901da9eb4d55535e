"""Neur2RO training data: ``(instance, x, xi) -> Q(x, xi)`` labelled by the exact second-stage solvers.

What is sampled and how it is labelled is the problem's business (:mod:`cpgym.agents.neur2ro.problems`:
``sample_instance``, ``sample_x``, ``sample_xi``, ``label``); :class:`DataConfig` says how many.

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

from cpgym.agents.neur2ro.problems import get_problem
from cpgym.errors import ArgumentError


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

    Raises :class:`ArgumentError` if ``folder`` holds a dataset generated with other settings.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    meta = folder / "meta.json"
    if meta.exists():
        old = json.loads(meta.read_text())
        if old != asdict(config):
            raise ArgumentError(f"{meta}: dataset generated with other settings {old}; use another folder")
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
