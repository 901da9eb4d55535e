"""Job-shop schedules, their JSON form, and the independent validator."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cpgym.instances.jobshop import JobShopInstance


@dataclass(frozen=True, eq=False)
class Schedule:
    """Start time of every operation: ``start_times[j, k]`` is when op k of job j starts.

    The makespan is always recomputed from the start times and durations.
    """

    instance: JobShopInstance
    start_times: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "start_times", np.asarray(self.start_times, dtype=np.int64))

    @property
    def end_times(self) -> np.ndarray:
        return self.start_times + self.instance.durations

    @property
    def makespan(self) -> int:
        return int(self.end_times.max())

    def read_backwards(self, instance: JobShopInstance) -> Schedule:
        """This schedule of ``instance.time_reversed()`` read backwards in time: the schedule of
        ``instance`` with the same makespan (each operation ends where its mirror starts, counted back
        from the makespan)."""
        if not (np.array_equal(self.instance.machines, instance.machines[:, ::-1])
                and np.array_equal(self.instance.durations, instance.durations[:, ::-1])):
            raise ValueError(f"the schedule is of {self.instance.name!r}, not of the time reversal of "
                             f"{instance.name!r}")
        return Schedule(instance, self.makespan - self.end_times[:, ::-1])

    def to_dict(self) -> dict:
        """``{"instance": NAME, "makespan": INT, "start_times": [[...], ...]}``."""
        return {"instance": self.instance.name, "makespan": self.makespan, "start_times": self.start_times.tolist()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict, instance: JobShopInstance) -> Schedule:
        """Rebuild a schedule for ``instance`` (the stored makespan is not trusted: validate it)."""
        if data.get("instance") not in (None, instance.name):
            raise ValueError(f"schedule is for {data['instance']!r}, not {instance.name!r}")
        return cls(instance, np.array(data["start_times"], dtype=np.int64))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n")


@dataclass
class ValidationReport:
    """Outcome of :func:`validate_schedule`: every violation found, and the recomputed makespan."""

    violations: list[str] = field(default_factory=list)
    makespan: int | None = None

    @property
    def ok(self) -> bool:
        return not self.violations

    def raise_if_invalid(self) -> None:
        if self.violations:
            shown = "\n  ".join(self.violations[:20])
            more = f"\n  ... and {len(self.violations) - 20} more" if len(self.violations) > 20 else ""
            raise ValueError(f"invalid schedule ({len(self.violations)} violations):\n  {shown}{more}")


def validate_schedule(
    instance: JobShopInstance, start_times: np.ndarray | list, claimed_makespan: int | None = None
) -> ValidationReport:
    """Check a schedule independently of whoever produced it.

    Checks: every operation has an integer start >= 0; each operation of a job starts no
    earlier than its predecessor ends; no two operations of positive duration overlap on a
    machine (zero-duration operations occupy no time); the claimed makespan, when given,
    equals the recomputed one. All violations are reported, not just the first.
    """
    report = ValidationReport()
    try:
        starts = np.array(start_times, dtype=np.float64)
    except (TypeError, ValueError):
        report.violations.append("start_times is not a numeric (n_jobs, n_machines) array")
        return report
    expected = (instance.n_jobs, instance.n_machines)
    if starts.shape != expected:
        report.violations.append(f"start_times has shape {starts.shape}, expected {expected} (all operations)")
        return report
    for j, k in np.argwhere(~np.isfinite(starts) | (starts < 0) | (starts != np.round(starts))):
        report.violations.append(f"job {j} op {k}: missing or invalid start time {starts[j, k]}")
    if report.violations:
        return report
    starts = starts.astype(np.int64)
    ends = starts + instance.durations
    for j, k in np.argwhere(starts[:, 1:] < ends[:, :-1]):
        report.violations.append(f"job {j}: op {k + 1} starts at {starts[j, k + 1]} before op {k} ends at {ends[j, k]}")
    report.violations += _overlaps(instance, starts, ends)
    report.makespan = int(ends.max())
    if claimed_makespan is not None and int(claimed_makespan) != report.makespan:
        report.violations.append(f"claimed makespan {claimed_makespan} != recomputed {report.makespan}")
    return report


def _overlaps(instance: JobShopInstance, starts: np.ndarray, ends: np.ndarray) -> list[str]:
    """Every pair of operations of positive duration that overlap on a machine, in O(ops log ops).

    Sorted by (machine, start), a machine has an overlap exactly when some operation starts before
    its predecessor on that machine ends (an overlap with a later operation implies one with the
    next), so only those machines are searched pair by pair.
    """
    busy = np.flatnonzero(instance.durations.ravel() > 0)
    flat_machines, flat_starts, flat_ends = instance.machines.ravel(), starts.ravel(), ends.ravel()
    order = busy[np.lexsort((flat_starts[busy], flat_machines[busy]))]
    machines = flat_machines[order]
    clash = (machines[1:] == machines[:-1]) & (flat_starts[order][1:] < flat_ends[order][:-1])
    violations = []
    for machine in np.unique(machines[1:][clash]):
        ops = order[np.searchsorted(machines, machine, "left"):np.searchsorted(machines, machine, "right")]
        for a, first in enumerate(ops):
            for second in ops[a + 1:]:  # every later op that starts before this one ends
                if flat_starts[second] >= flat_ends[first]:
                    break
                (j1, k1), (j2, k2) = divmod(int(first), instance.n_machines), divmod(int(second), instance.n_machines)
                violations.append(
                    f"machine {machine}: job {j1} op {k1} [{flat_starts[first]}, {flat_ends[first]}) "
                    f"overlaps job {j2} op {k2} [{flat_starts[second]}, {flat_ends[second]})"
                )
    return violations
