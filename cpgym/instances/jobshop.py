"""The job-shop instance type."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cpgym.errors import InvalidInstanceError

MAX_OPERATIONS = 1_000_000  # largest instance accepted (jobs x machines), e.g. 1 x 200000 or 1000 x 1000
MAX_DURATION = 10**9  # largest operation duration; with MAX_OPERATIONS every horizon fits CP-SAT's domain (< 2**53)


@dataclass(frozen=True, eq=False)
class JobShopInstance:
    """A job-shop instance: every job visits every machine exactly once.

    ``machines[j, k]`` is the (0-based) machine of the k-th operation of job j and
    ``durations[j, k]`` its processing time (0 is legal). ``lower_bound`` and
    ``upper_bound`` are the best-known makespan bounds when known.
    """

    name: str
    machines: np.ndarray
    durations: np.ndarray
    lower_bound: int | None = None
    upper_bound: int | None = None
    metadata: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        machines = np.ascontiguousarray(self.machines, dtype=np.int64)
        durations = np.ascontiguousarray(self.durations, dtype=np.int64)
        if machines.ndim != 2 or machines.shape != durations.shape:
            raise InvalidInstanceError(
                f"{self.name}: machines {machines.shape} and durations {durations.shape} "
                "must be equal 2-D (n_jobs, n_machines) arrays"
            )
        n_jobs, n_machines = machines.shape
        if n_jobs == 0 or n_machines == 0:
            raise InvalidInstanceError(f"{self.name}: an instance needs at least one job and one machine")
        if n_jobs * n_machines > MAX_OPERATIONS:
            raise InvalidInstanceError(
                f"{self.name}: {n_jobs} x {n_machines} operations exceed the limit of {MAX_OPERATIONS:,}"
            )
        if (durations < 0).any():
            j, k = np.argwhere(durations < 0)[0]
            raise InvalidInstanceError(f"{self.name}: job {j} operation {k} has negative duration")
        if (durations > MAX_DURATION).any():
            j, k = np.argwhere(durations > MAX_DURATION)[0]
            raise InvalidInstanceError(
                f"{self.name}: job {j} operation {k} has duration {durations[j, k]} > the limit {MAX_DURATION:,}"
            )
        wrong = np.flatnonzero((np.sort(machines, axis=1) != np.arange(n_machines)).any(axis=1))
        if wrong.size:
            j = wrong[0]
            raise InvalidInstanceError(
                f"{self.name}: job {j} must visit each of machines 0..{n_machines - 1} once, got {machines[j].tolist()}"
            )
        machines.setflags(write=False)
        durations.setflags(write=False)
        object.__setattr__(self, "machines", machines)
        object.__setattr__(self, "durations", durations)

    def time_reversed(self) -> JobShopInstance:
        """The mirror instance: every job visits its machines in reverse order. A schedule of it read
        backwards in time is a schedule of this instance with the same makespan (start = makespan -
        the mirror operation's end), so both have the same optimum and bounds."""
        return JobShopInstance(f"{self.name}_reversed", self.machines[:, ::-1], self.durations[:, ::-1],
                               self.lower_bound, self.upper_bound, {**self.metadata, "time_reversed": self.name})

    @property
    def n_jobs(self) -> int:
        return int(self.machines.shape[0])

    @property
    def n_machines(self) -> int:
        return int(self.machines.shape[1])

    @property
    def n_operations(self) -> int:
        return self.n_jobs * self.n_machines

    @property
    def size(self) -> str:
        """Size group label such as ``"15x15"`` (jobs x machines)."""
        return f"{self.n_jobs}x{self.n_machines}"

    @property
    def horizon(self) -> int:
        """A trivial upper bound on the makespan: the sum of all durations."""
        return int(self.durations.sum())

    def trivial_lower_bound(self) -> int:
        """max(longest job, most loaded machine)."""
        machine_load = np.bincount(
            self.machines.ravel(), weights=self.durations.ravel(), minlength=self.n_machines
        )
        return int(max(self.durations.sum(axis=1).max(), machine_load.max()))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, JobShopInstance):
            return NotImplemented
        return (
            self.name == other.name
            and np.array_equal(self.machines, other.machines)
            and np.array_equal(self.durations, other.durations)
            and self.lower_bound == other.lower_bound
            and self.upper_bound == other.upper_bound
        )

    def __repr__(self) -> str:
        bounds = f", lb={self.lower_bound}, ub={self.upper_bound}" if self.upper_bound else ""
        return f"JobShopInstance({self.name!r}, {self.size}{bounds})"
