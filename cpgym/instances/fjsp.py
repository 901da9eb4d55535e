"""The flexible job-shop instance type, its ``.fjs`` reader and writer, and the job-shop conversion.

``.fjs`` layout (Brandimarte 1993 and every later FJSP benchmark): a header line
``n_jobs n_machines [average_flexibility]`` (the third number may be a float; it is not checked
against the data, which it often does not match), then one line per job: the number of
operations, then for each operation the number k of eligible machines followed by k pairs
``machine duration``, machines 1-based; tabs or spaces. Every malformed input raises
:class:`InstanceFormatError` naming the file, line and problem.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from cpgym.errors import InstanceFormatError, InvalidInstanceError
from cpgym.instances.jobshop import MAX_DURATION, MAX_OPERATIONS, JobShopInstance
from cpgym.instances.tokens import content_lines, ints

Operation = tuple[tuple[int, int], ...]  # the (machine, duration) options of one operation
Job = tuple[Operation, ...]


def _integer(value: object, what: str) -> int:
    try:
        return operator.index(value)  # ints and numpy integers; refuses floats, which int() would truncate
    except TypeError:
        raise InvalidInstanceError(f"{what} must be an integer, got {value!r}") from None


@dataclass(frozen=True)
class FlexibleJobShopInstance:
    """A flexible job-shop instance: each operation runs on one machine chosen among its options.

    ``jobs[j][k]`` holds the ``(machine, duration)`` options of operation k of job j (machines
    0-based, each at most once per operation, durations 0..MAX_DURATION); the operations of a job
    run in order. ``lower_bound`` and ``upper_bound`` are the best-known makespan bounds when known.
    """

    name: str
    jobs: tuple[Job, ...]
    n_machines: int
    lower_bound: int | None = None
    upper_bound: int | None = None
    metadata: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        n_machines = _integer(self.n_machines, f"{self.name}: n_machines")
        if n_machines < 1 or not self.jobs:
            raise InvalidInstanceError(f"{self.name}: an instance needs at least one job and one machine")
        jobs = tuple(self._job(j, job, n_machines) for j, job in enumerate(self.jobs))
        n_options = sum(len(options) for job in jobs for options in job)
        if n_options > MAX_OPERATIONS:
            raise InvalidInstanceError(
                f"{self.name}: {n_options:,} (operation, machine) options exceed the limit of {MAX_OPERATIONS:,}"
            )
        object.__setattr__(self, "jobs", jobs)
        object.__setattr__(self, "n_machines", n_machines)

    def _job(self, j: int, job: Iterable[Iterable[Sequence[int]]], n_machines: int) -> Job:
        operations = []
        for k, options in enumerate(job):
            where = f"{self.name}: job {j} operation {k}"
            pairs = tuple((_integer(o[0], f"{where}: a machine"), _integer(o[1], f"{where}: a duration"))
                          for o in options)
            machines = [machine for machine, _ in pairs]
            if not pairs:
                raise InvalidInstanceError(f"{where} has no eligible machine")
            if not all(0 <= machine < n_machines for machine in machines) or len(set(machines)) < len(machines):
                raise InvalidInstanceError(f"{where}: machines {machines} must be distinct, in 0..{n_machines - 1}")
            if not all(0 <= duration <= MAX_DURATION for _, duration in pairs):
                raise InvalidInstanceError(f"{where}: durations must be in 0..{MAX_DURATION:,}, got {pairs}")
            operations.append(pairs)
        if not operations:
            raise InvalidInstanceError(f"{self.name}: job {j} has no operations")
        return tuple(operations)

    @classmethod
    def from_jobshop(cls, instance: JobShopInstance) -> FlexibleJobShopInstance:
        """The job-shop instance as a flexible one (one eligible machine per operation; same bounds)."""
        jobs = tuple(
            tuple(((int(m), int(d)),) for m, d in zip(machines, durations))
            for machines, durations in zip(instance.machines, instance.durations)
        )
        return cls(instance.name, jobs, instance.n_machines, instance.lower_bound, instance.upper_bound,
                   {"converted_from": "jssp"})

    def time_reversed(self) -> FlexibleJobShopInstance:
        """The mirror instance: every job's operations in reverse order. A schedule of it read backwards
        in time is a schedule of this instance with the same makespan
        (:meth:`~cpgym.instances.fjsp_schedule.FlexibleSchedule.read_backwards`), so both have the same optimum and
        bounds; a heuristic may do better on one than on the other."""
        jobs = tuple(job[::-1] for job in self.jobs)
        return FlexibleJobShopInstance(f"{self.name}_reversed", jobs, self.n_machines, self.lower_bound,
                                       self.upper_bound, {**self.metadata, "time_reversed": self.name})

    @property
    def n_jobs(self) -> int:
        return len(self.jobs)

    @property
    def n_operations(self) -> int:
        return sum(len(job) for job in self.jobs)

    @property
    def size(self) -> str:
        """Size label such as ``"10x6"`` (jobs x machines)."""
        return f"{self.n_jobs}x{self.n_machines}"

    @property
    def flexibility(self) -> float:
        """Average number of eligible machines per operation."""
        return sum(len(options) for job in self.jobs for options in job) / self.n_operations

    @property
    def horizon(self) -> int:
        """A trivial upper bound on the makespan: the sum of each operation's longest option."""
        return sum(max(d for _, d in options) for job in self.jobs for options in job)

    def trivial_lower_bound(self) -> int:
        """max(longest job, total work / machines, rounded up), each operation at its shortest option."""
        shortest = [[min(d for _, d in options) for options in job] for job in self.jobs]
        work = sum(map(sum, shortest))
        return max(max(map(sum, shortest)), -(-work // self.n_machines))

    @cached_property
    def durations(self) -> tuple[tuple[dict[int, int], ...], ...]:
        """``durations[j][k][machine]``: the duration of operation k of job j on an eligible machine."""
        return tuple(tuple(dict(options) for options in job) for job in self.jobs)

    def __repr__(self) -> str:
        bounds = f", lb={self.lower_bound}, ub={self.upper_bound}" if self.upper_bound else ""
        return f"FlexibleJobShopInstance({self.name!r}, {self.size}, flexibility={self.flexibility:.2f}{bounds})"


def _header(source: str, number: int, line: str) -> tuple[int, int]:
    tokens = line.split()
    if len(tokens) not in (2, 3):
        raise InstanceFormatError(
            source, number, f"expected 2 or 3 numbers (n_jobs n_machines [average flexibility]), found {len(tokens)}"
        )
    n_jobs, n_machines = ints(source, number, " ".join(tokens[:2]), 2, "n_jobs n_machines")
    if n_jobs <= 0 or n_machines <= 0:
        raise InstanceFormatError(source, number, f"n_jobs and n_machines must be positive, got {n_jobs} {n_machines}")
    if len(tokens) == 3:
        try:
            flexibility = float(tokens[2])
        except ValueError:
            flexibility = math.nan
        if not 0 <= flexibility < math.inf:
            raise InstanceFormatError(source, number, f"{tokens[2]!r} is not a number >= 0 (average flexibility)")
    return n_jobs, n_machines


def _job_line(source: str, number: int, j: int, line: str, n_machines: int) -> Job:
    """One job line: ``n_operations`` then ``k machine duration ...`` per operation (1-based machines)."""

    def error(where: str, problem: str) -> InstanceFormatError:
        return InstanceFormatError(source, number, f"job {j}{where}: {problem}")

    values = ints(source, number, line, None, f"job {j}")
    n_operations = values[0]
    if n_operations < 1:
        raise error("", f"the number of operations must be positive, got {n_operations}")
    operations = []
    position = 1
    for k in range(n_operations):
        if position >= len(values):
            raise error("", f"truncated: announces {n_operations} operations, found {k}")
        count = values[position]
        if not 1 <= count <= n_machines:
            raise error(f" operation {k}", f"the number of machines must be in 1..{n_machines}, got {count}")
        pairs = values[position + 1:position + 1 + 2 * count]
        position += 1 + 2 * count
        if len(pairs) < 2 * count:
            raise error(f" operation {k}", f"truncated: announces {count} machines, found {len(pairs) // 2}")
        machines, durations = pairs[0::2], pairs[1::2]
        for machine, duration in zip(machines, durations):
            if not 1 <= machine <= n_machines:
                raise error(f" operation {k}", f"machine {machine} out of range 1..{n_machines} (machines are 1-based)")
            if duration < 0:
                raise error(f" operation {k}", f"negative duration {duration}")
        if len(set(machines)) < count:
            twice = next(m for m in machines if machines.count(m) > 1)
            raise error(f" operation {k}", f"machine {twice} listed twice")
        operations.append(tuple((machine - 1, duration) for machine, duration in zip(machines, durations)))
    if position < len(values):
        raise error("", f"{len(values) - position} extra number(s) after the {n_operations} announced operations")
    return tuple(operations)


def parse_fjs(text: str, source: str = "<text>", name: str = "fjsp") -> FlexibleJobShopInstance:
    """Parse ``.fjs`` text; raises :class:`InstanceFormatError` (file, line, problem) on malformed text."""
    lines = content_lines(text)
    if not lines:
        raise InstanceFormatError(source, None, "empty file: expected a line 'n_jobs n_machines [flexibility]'")
    number, header = lines[0]
    n_jobs, n_machines = _header(source, number, header)
    job_lines = lines[1:]
    if len(job_lines) < n_jobs:
        problem = f"truncated: header announces {n_jobs} jobs, found {len(job_lines)} job lines"
        raise InstanceFormatError(source, lines[-1][0], problem)
    if len(job_lines) > n_jobs:
        raise InstanceFormatError(source, job_lines[n_jobs][0], f"extra line after the {n_jobs} announced jobs")
    jobs, n_options = [], 0
    for j, (number, line) in enumerate(job_lines):
        jobs.append(_job_line(source, number, j, line, n_machines))
        n_options += sum(len(options) for options in jobs[-1])
        if n_options > MAX_OPERATIONS:
            problem = f"more than {MAX_OPERATIONS:,} (operation, machine) options: the limit"
            raise InstanceFormatError(source, number, problem)
    return FlexibleJobShopInstance(name, tuple(jobs), n_machines, metadata={"layout": "fjs", "source": source})


def looks_like_fjs(text: str) -> bool:
    """Is ``text`` in the ``.fjs`` layout? True when its header starts with two integers and its first
    job line parses as a complete ``.fjs`` job (the reader judges the rest, the header's third number too).

    That job line tells the layouts with a 2- or 3-number header apart: a job-shop line
    (``machine duration`` pairs with 0-based machines) or a robust-knapsack item line (5 numbers)
    never parses as a complete ``.fjs`` job line.
    """
    lines = content_lines(text)[:2]
    if len(lines) < 2 or len(lines[0][1].split()) not in (2, 3):
        return False
    (header_number, header), (number, line) = lines
    try:
        _, n_machines = ints("", header_number, " ".join(header.split()[:2]), 2, "n_jobs n_machines")
        _job_line("", number, 0, line, n_machines)
    except InstanceFormatError:
        return False
    return True


def read_fjs(path: str | Path) -> FlexibleJobShopInstance:
    """Read a ``.fjs`` file; the instance is named after the file's stem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise InstanceFormatError(str(path), None, f"not a text file ({error})") from None
    return parse_fjs(text, source=str(path), name=path.stem)


def format_fjs(instance: FlexibleJobShopInstance) -> str:
    """The instance in ``.fjs`` layout (1-based machines, the true average flexibility in the header)."""
    lines = [f"{instance.n_jobs} {instance.n_machines} {round(instance.flexibility, 2):g}"]
    for job in instance.jobs:
        numbers = [len(job)]
        for options in job:
            numbers.append(len(options))
            numbers += [value for machine, duration in options for value in (machine + 1, duration)]
        lines.append(" ".join(map(str, numbers)))
    return "\n".join(lines) + "\n"


def write_fjs(instance: FlexibleJobShopInstance, path: str | Path) -> None:
    """Write the instance in ``.fjs`` layout."""
    Path(path).write_text(format_fjs(instance))
