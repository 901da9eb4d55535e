"""Job-shop instance generators: Taillard's 1993 generator and a seeded uniform one."""

from __future__ import annotations

import numpy as np

from cpgym.instances.jobshop import JobShopInstance

_A, _M, _Q, _R = 16807, 2**31 - 1, 127773, 2836  # Park-Miller minimal standard, Schrage's method


class _TaillardStream:
    """Taillard's ``unif(seed, low, high)``: advance the LCG, then scale to [low, high]."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)

    def unif(self, low: int, high: int) -> int:
        k = self.seed // _Q
        self.seed = _A * (self.seed % _Q) - k * _R
        if self.seed < 0:
            self.seed += _M
        return low + int(self.seed / _M * (high - low + 1))


def taillard(
    n_jobs: int, n_machines: int, time_seed: int, machine_seed: int, name: str | None = None
) -> JobShopInstance:
    """Taillard (1993) job-shop generator; reproduces ta01-ta80 from their seeds.

    Durations are ``unif(time_seed, 1, 99)`` row by row; each job's machine order is a
    Fisher-Yates shuffle with ``k = unif(machine_seed, j, m - 1)``, one stream across jobs.
    """
    times = _TaillardStream(time_seed)
    durations = np.array([[times.unif(1, 99) for _ in range(n_machines)] for _ in range(n_jobs)])
    order = _TaillardStream(machine_seed)
    machines = np.empty((n_jobs, n_machines), dtype=np.int64)
    for job in range(n_jobs):
        row = list(range(n_machines))
        for j in range(n_machines):
            k = order.unif(j, n_machines - 1)
            row[j], row[k] = row[k], row[j]
        machines[job] = row
    name = name or f"taillard_{n_jobs}x{n_machines}_{time_seed}_{machine_seed}"
    return JobShopInstance(
        name,
        machines,
        durations,
        metadata={"generator": "taillard", "time_seed": time_seed, "machine_seed": machine_seed},
    )


def uniform(
    n_jobs: int,
    n_machines: int,
    low: int = 1,
    high: int = 99,
    seed: int | np.random.Generator | None = None,
    name: str | None = None,
    two_sets: bool = False,
) -> JobShopInstance:
    """Durations uniform in [low, high] and a random machine permutation per job (numpy PCG64).

    ``two_sets=True`` gives the routing of Demirkol, Mehta & Uzsoy (1998)'s "cscmax" instances
    (dmu41-80): every job visits the first half of the machines (in random order) before the
    second half, which makes the second half a bottleneck stage.
    """
    if not 0 <= low <= high:
        raise ValueError(f"need 0 <= low <= high, got low={low}, high={high}")
    rng = np.random.default_rng(seed)
    durations = rng.integers(low, high + 1, size=(n_jobs, n_machines))
    if two_sets:
        half = n_machines // 2
        first = rng.permuted(np.tile(np.arange(half), (n_jobs, 1)), axis=1)
        second = rng.permuted(np.tile(np.arange(half, n_machines), (n_jobs, 1)), axis=1)
        machines = np.hstack([first, second])
    else:
        machines = rng.permuted(np.tile(np.arange(n_machines), (n_jobs, 1)), axis=1)
    kind = "uniform_two_sets" if two_sets else "uniform"
    name = name or f"{kind}_{n_jobs}x{n_machines}" + (f"_{seed}" if isinstance(seed, int) else "")
    return JobShopInstance(name, machines, durations, metadata={"generator": kind, "seed": seed})
