"""Seeded generators of the random flexible job-shop instances the learned-FJSP literature trains on.

* SD1 (Song, Chen, Li, Cao, "Flexible job-shop scheduling via graph neural network and deep
  reinforcement learning", IEEE TII 2022): operations per job ~ U{floor(0.8 m), floor(1.2 m)};
  per operation the number of eligible machines ~ U{1, m} and the machines a uniform random
  subset of that size; a mean time mu ~ U{1, 20} and per eligible machine a duration
  p ~ U{max(1, round(0.8 mu)), min(20, round(1.2 mu))}.
* SD2 (Wang, Wang, Sun, Deng, Chen, "Flexible job shop scheduling via dual attention network-based
  reinforcement learning" (DANIEL), IEEE TNNLS 2023): m operations per job, eligible machines as in SD1, and
  p ~ U{1, 99} per eligible machine.
* Hurink-like (after Hurink, Jurisch, Thole, "Tabu search for the job-shop scheduling problem with
  multi-purpose machines", OR Spektrum 1994, who made their edata / rdata / vdata sets from
  job-shop instances): a random job shop (each job visits every machine once in a random order,
  p ~ U{1, 99}) whose operations get further eligible machines with the same duration, as many as
  in the bundled sets: ``edata`` a second machine with probability 0.15 (bundled: 1.14 per
  operation), ``rdata`` U{1, 3} machines in all (bundled: 1.96), ``vdata`` U{1, m - 1} (bundled:
  about m / 2).
* Brandimarte-like (after Brandimarte, "Routing and scheduling in a flexible job shop by tabu
  search", Annals of OR 41, 1993, who drew mk01-10 from ten parameter rows): per instance one row
  of :data:`BRANDIMARTE_ROWS` at random; per job U{low, high} operations; per operation U{1, most}
  eligible machines (at most m), a uniform random subset, each with its own duration
  p ~ U{p_low, p_high}. The rows are the ranges the mk files show (operations per job, eligible
  machines per operation, durations), the instance sizes being the caller's.

The literature's sizes are :data:`SD_SIZES`; any size >= 1 x 1 is accepted. :data:`GENERATORS`
names every generator (``"sd1"``, ``"sd2"``, ``"hurink-edata"``, ..., ``"brandimarte"``) for the env
and the trainer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from cpgym.errors import ArgumentError
from cpgym.instances.fjsp import FlexibleJobShopInstance

SD_SIZES = ((10, 5), (20, 5), (15, 10), (20, 10))  # (jobs, machines) used for training and testing
HURINK_VARIANTS = ("edata", "rdata", "vdata")


@dataclass(frozen=True)
class BrandimarteRow:
    """One parameter row of Brandimarte (1993), inclusive ranges: operations per job, the most
    eligible machines per operation, durations."""

    operations: tuple[int, int]
    most_machines: int
    durations: tuple[int, int]


BRANDIMARTE_ROWS = (  # mk01 .. mk10
    BrandimarteRow((5, 6), 3, (1, 6)), BrandimarteRow((5, 6), 6, (1, 6)), BrandimarteRow((10, 10), 5, (1, 19)),
    BrandimarteRow((3, 9), 3, (1, 9)), BrandimarteRow((5, 9), 2, (5, 9)), BrandimarteRow((15, 15), 5, (1, 9)),
    BrandimarteRow((5, 5), 5, (1, 19)), BrandimarteRow((10, 14), 2, (5, 19)), BrandimarteRow((10, 14), 5, (5, 19)),
    BrandimarteRow((10, 14), 5, (5, 19)),
)


def _sd1_durations(rng: np.random.Generator, count: int) -> np.ndarray:
    mu = int(rng.integers(1, 21))
    low, high = max(1, (8 * mu + 5) // 10), min(20, (12 * mu + 5) // 10)  # round(0.8 mu), round(1.2 mu): no ties
    return rng.integers(low, high + 1, size=count)


Job = tuple[tuple[tuple[int, int], ...], ...]  # operations, each its (machine, duration) options


def _generate(kind: str, n_jobs: int, n_machines: int, seed: int | None, name: str | None,
              job_drawer: Callable[[np.random.Generator], Callable[[np.random.Generator], Job]]
              ) -> FlexibleJobShopInstance:
    """``n_jobs`` jobs from one RNG seeded by ``seed``: ``job_drawer(rng)`` draws what the jobs of the
    instance share and returns the function that draws one job."""
    if n_jobs < 1 or n_machines < 1:
        raise ArgumentError(f"{kind} needs at least one job and one machine, got {n_jobs} x {n_machines}")
    rng = np.random.default_rng(seed)
    draw_job = job_drawer(rng)
    return FlexibleJobShopInstance(
        name or f"{kind}_{n_jobs}x{n_machines}_seed{seed}", tuple(draw_job(rng) for _ in range(n_jobs)), n_machines,
        metadata={"generator": kind, "seed": seed},
    )


def _song_job(rng: np.random.Generator, n_machines: int, n_operations: int,
              durations: Callable[[np.random.Generator, int], np.ndarray], most: int | None = None) -> Job:
    """A job of SD1 / SD2 (and Brandimarte-like): per operation a uniform random subset of U{1, most}
    machines (``most`` = m by default), each with a duration drawn by ``durations``."""
    operations = []
    for _ in range(n_operations):
        count = int(rng.integers(1, (most or n_machines) + 1))
        machines = np.sort(rng.choice(n_machines, size=count, replace=False))
        operations.append(tuple(zip(machines.tolist(), durations(rng, len(machines)).tolist())))
    return tuple(operations)


def generate_sd1(n_jobs: int, n_machines: int, seed: int | None = None, name: str | None = None
                 ) -> FlexibleJobShopInstance:
    """An SD1 instance (Song et al. 2022); at least one operation per job when ``n_machines`` < 2."""
    low, high = max(1, 4 * n_machines // 5), max(1, 6 * n_machines // 5)  # floor(0.8 m), floor(1.2 m)
    return _generate("sd1", n_jobs, n_machines, seed, name, lambda _: lambda rng: _song_job(
        rng, n_machines, int(rng.integers(low, high + 1)), _sd1_durations))


def _hurink_machines(variant: str, rng: np.random.Generator, n_machines: int) -> int:
    """How many machines an operation of a Hurink-like ``variant`` may run on."""
    if n_machines == 1:
        return 1
    if variant == "edata":
        return 1 + int(rng.random() < 0.15)
    most = 3 if variant == "rdata" else n_machines - 1
    return int(rng.integers(1, min(most, n_machines) + 1))


def generate_hurink(n_jobs: int, n_machines: int, variant: str = "rdata", seed: int | None = None,
                    name: str | None = None) -> FlexibleJobShopInstance:
    """A random job shop made flexible as Hurink et al. (1994) made ``variant`` (``"edata"``,
    ``"rdata"`` or ``"vdata"``): each operation's routing machine plus further eligible machines
    drawn at random, all with its duration."""
    if variant not in HURINK_VARIANTS:
        raise ArgumentError(f"a Hurink variant is one of {HURINK_VARIANTS}, got {variant!r}")

    def job(rng: np.random.Generator) -> Job:
        operations = []
        for machine in rng.permutation(n_machines).tolist():
            duration = int(rng.integers(1, 100))
            others = [other for other in range(n_machines) if other != machine]
            extra = rng.choice(others, size=_hurink_machines(variant, rng, n_machines) - 1, replace=False).tolist()
            operations.append(tuple((option, duration) for option in sorted([machine, *extra])))
        return tuple(operations)

    return _generate(f"hurink-{variant}", n_jobs, n_machines, seed, name, lambda _: job)


def generate_brandimarte(n_jobs: int, n_machines: int, seed: int | None = None, name: str | None = None
                         ) -> FlexibleJobShopInstance:
    """A Brandimarte-like instance: the parameters of a random row of :data:`BRANDIMARTE_ROWS`."""
    def job_drawer(rng: np.random.Generator) -> Callable[[np.random.Generator], Job]:
        row = BRANDIMARTE_ROWS[int(rng.integers(len(BRANDIMARTE_ROWS)))]
        most = min(row.most_machines, n_machines)
        low, high = row.durations

        def durations(rng: np.random.Generator, count: int) -> np.ndarray:
            return rng.integers(low, high + 1, size=count)

        def job(rng: np.random.Generator) -> Job:
            n_operations = int(rng.integers(row.operations[0], row.operations[1] + 1))
            return _song_job(rng, n_machines, n_operations, durations, most)

        return job

    return _generate("brandimarte", n_jobs, n_machines, seed, name, job_drawer)


def generate_sd2(n_jobs: int, n_machines: int, seed: int | None = None, name: str | None = None
                 ) -> FlexibleJobShopInstance:
    """An SD2 instance (DANIEL, Wang et al. 2023): ``n_machines`` operations per job."""
    return _generate("sd2", n_jobs, n_machines, seed, name, lambda _: lambda rng: _song_job(
        rng, n_machines, n_machines, lambda rng, count: rng.integers(1, 100, size=count)))


@dataclass(frozen=True)
class GeneratorKind:
    """A named generator: ``make(n_jobs, n_machines, seed=, name=)`` and the most operations per job."""

    make: Callable[..., FlexibleJobShopInstance]
    most_operations_per_job: Callable[[int], int]


GENERATORS: dict[str, GeneratorKind] = {
    "sd1": GeneratorKind(generate_sd1, lambda n_machines: max(1, 6 * n_machines // 5)),
    "sd2": GeneratorKind(generate_sd2, lambda n_machines: n_machines),
    **{f"hurink-{variant}": GeneratorKind(partial(generate_hurink, variant=variant), lambda n_machines: n_machines)
       for variant in HURINK_VARIANTS},
    "brandimarte": GeneratorKind(generate_brandimarte,
                                 lambda n_machines: max(row.operations[1] for row in BRANDIMARTE_ROWS)),
}


def generator_kind(name: str) -> GeneratorKind:
    """The generator called ``name``; an unknown name raises ArgumentError listing the known ones."""
    if name not in GENERATORS:
        raise ArgumentError(f"unknown flexible job-shop generator {name!r}; known: {', '.join(GENERATORS)}")
    return GENERATORS[name]
