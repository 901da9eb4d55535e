"""Flexible job-shop schedules, their JSON form, and the independent validator."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np

from cpgym.instances.fjsp import FlexibleJobShopInstance
from cpgym.instances.schedule import ValidationReport, _overlaps

_MAX_TIME = 2**53  # start times at or past this are refused (CP-SAT's and float64's exact integers end here)


@dataclass(frozen=True, eq=False)
class FlexibleSchedule:
    """A machine and a start time per operation: ``machines[j][k]`` (0-based) runs operation k of
    job j from ``start_times[j][k]`` on. Both are ragged: one list per job, one entry per operation.

    The makespan is recomputed by :func:`validate_flexible_schedule` (``ValueError`` when invalid).
    """

    instance: FlexibleJobShopInstance
    machines: Sequence[Sequence[Any]]
    start_times: Sequence[Sequence[Any]]

    def __post_init__(self) -> None:
        object.__setattr__(self, "machines", tuple(tuple(row) for row in self.machines))
        object.__setattr__(self, "start_times", tuple(tuple(row) for row in self.start_times))

    @cached_property
    def makespan(self) -> int:
        """The recomputed makespan; ``ValueError`` listing the violations of an invalid schedule."""
        report = validate_flexible_schedule(self.instance, self.machines, self.start_times)
        report.raise_if_invalid()
        return report.makespan

    def to_dict(self) -> dict:
        """``{"instance": NAME, "makespan": INT, "machines": [[...], ...], "start_times": [[...], ...]}``."""
        return {
            "instance": self.instance.name,
            "makespan": self.makespan,
            "machines": [[int(m) for m in row] for row in self.machines],
            "start_times": [[int(s) for s in row] for row in self.start_times],
        }

    def read_backwards(self, instance: FlexibleJobShopInstance) -> FlexibleSchedule:
        """This schedule of ``instance.time_reversed()`` read backwards in time: the schedule of
        ``instance`` with the same makespan (each operation keeps its mirror's machine and ends where the
        mirror starts, counted back from the makespan)."""
        if self.instance.jobs != tuple(job[::-1] for job in instance.jobs):
            raise ValueError(f"the schedule is of {self.instance.name!r}, not of the time reversal of "
                             f"{instance.name!r}")
        makespan = self.makespan  # validates this schedule against its own (reversed) instance
        machines, starts = [], []
        for job, mirror_machines, mirror_starts in zip(instance.durations, self.machines, self.start_times):
            row_machines = list(mirror_machines[::-1])
            machines.append(row_machines)
            starts.append([makespan - start - options[machine]
                           for options, machine, start in zip(job, row_machines, mirror_starts[::-1])])
        return FlexibleSchedule(instance, machines, starts)

    @classmethod
    def from_dict(cls, data: dict, instance: FlexibleJobShopInstance) -> FlexibleSchedule:
        """Rebuild a schedule for ``instance`` (the stored makespan is not trusted: it is recomputed)."""
        if data.get("instance") not in (None, instance.name):
            raise ValueError(f"schedule is for {data['instance']!r}, not {instance.name!r}")
        return cls(instance, data["machines"], data["start_times"])


class _Grid(NamedTuple):
    """The operations padded to a ``(n_jobs, width)`` grid, as the job-shop overlap check reads them
    (padding has duration 0, which occupies no machine; ``n_machines`` is the grid's width)."""

    machines: np.ndarray
    durations: np.ndarray
    n_machines: int


def _whole(value: Any) -> int | None:
    """``value`` as an int when it is a finite whole number (``3``, ``3.0``, ``np.int64(3)``), else None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) and number == round(number) else None


def _ragged_shape(instance: FlexibleJobShopInstance, values: Any, what: str) -> list[str]:
    try:
        rows = [len(row) for row in values]
    except TypeError:
        return [f"{what} is not a list of per-job lists"]
    if len(rows) != instance.n_jobs:
        return [f"{what} has {len(rows)} jobs, expected {instance.n_jobs}"]
    return [
        f"{what} of job {j} has {length} entries, expected {len(job)} (all operations)"
        for j, (length, job) in enumerate(zip(rows, instance.jobs))
        if length != len(job)
    ]


def validate_flexible_schedule(
    instance: FlexibleJobShopInstance, machines: Any, start_times: Any, claimed_makespan: int | None = None
) -> ValidationReport:
    """Check a flexible schedule independently of whoever produced it.

    Checks: every operation of every job has a machine and an integer start >= 0; the machine
    is one of the operation's eligible machines (its duration there is the operation's); each
    operation of a job starts no earlier than its predecessor ends; no two operations of positive
    duration overlap on a machine; the claimed makespan, when given, equals the recomputed one.
    All violations are reported, not just the first.
    """
    report = ValidationReport(_ragged_shape(instance, machines, "machines"))
    report.violations += _ragged_shape(instance, start_times, "start_times")
    if report.violations:
        return report
    width = max(len(job) for job in instance.jobs)
    grid_machines, grid_durations, starts = (np.zeros((instance.n_jobs, width), dtype=np.int64) for _ in range(3))
    for j, job in enumerate(instance.durations):
        for k, options in enumerate(job):
            machine, start = _whole(machines[j][k]), _whole(start_times[j][k])
            valid_start = start is not None and 0 <= start < _MAX_TIME
            if not valid_start:
                report.violations.append(f"job {j} op {k}: missing or invalid start time {start_times[j][k]!r}")
            if machine not in options:
                report.violations.append(
                    f"job {j} op {k}: machine {machines[j][k]!r} is not eligible (eligible: {sorted(options)})"
                )
            elif valid_start:
                grid_machines[j, k], grid_durations[j, k], starts[j, k] = machine, options[machine], start
    if report.violations:
        return report
    ends = starts + grid_durations
    lengths = np.array([len(job) for job in instance.jobs])
    successor = np.arange(1, width)[None, :] < lengths[:, None]  # op k + 1 exists
    for j, k in np.argwhere(successor & (starts[:, 1:] < ends[:, :-1])):
        report.violations.append(f"job {j}: op {k + 1} starts at {starts[j, k + 1]} before op {k} ends at {ends[j, k]}")
    report.violations += _overlaps(_Grid(grid_machines, grid_durations, width), starts, ends)
    report.makespan = int(ends.max())
    if claimed_makespan is not None and int(claimed_makespan) != report.makespan:
        report.violations.append(f"claimed makespan {claimed_makespan} != recomputed {report.makespan}")
    return report
