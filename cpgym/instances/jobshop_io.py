"""Readers and writers for job-shop instance files.

Two layouts are understood and detected automatically:

* ``orlib`` (OR-Library / JSPLIB): optional leading ``#`` comment lines, a line ``n m``,
  then one line per job with ``machine duration`` pairs in processing order, machines
  0-based; tabs or spaces.
* ``taillard`` (Taillard 1993): one or more blocks of a header line
  ``Nb of jobs, Nb of Machines, Time seed, Machine seed, Upper bound, Lower bound``, its
  values, a ``Times`` line with the duration matrix and a ``Machines`` line with the
  1-based machine matrix.

Every malformed input raises :class:`InstanceFormatError` naming the file, line and problem.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import numpy as np

from cpgym.errors import InstanceFormatError
from cpgym.instances.jobshop import MAX_OPERATIONS, JobShopInstance
from cpgym.instances.tokens import content_lines as _content_lines
from cpgym.instances.tokens import ints as _ints

Layout = Literal["orlib", "taillard"]
log = logging.getLogger(__name__)
_TAILLARD_HEADER = "nb of jobs"
_MAX_SEED = 2**31 - 1  # Taillard's generator seeds (and the header's bounds) are below this


def _check_size(source: str, number: int, n_jobs: int, n_machines: int) -> None:
    if n_jobs <= 0 or n_machines <= 0:
        raise InstanceFormatError(source, number, f"n_jobs and n_machines must be positive, got {n_jobs} {n_machines}")
    if n_jobs * n_machines > MAX_OPERATIONS:
        problem = f"{n_jobs} x {n_machines} operations exceed the limit of {MAX_OPERATIONS:,}"
        raise InstanceFormatError(source, number, problem)


def detect_layout(text: str) -> Layout:
    """Return ``"taillard"`` when the first content line is Taillard's header, else ``"orlib"``."""
    lines = _content_lines(text)
    if lines and lines[0][1].lower().startswith(_TAILLARD_HEADER):
        return "taillard"
    return "orlib"


def _check_job(source: str, number: int, job: int, machines: list[int], durations: list[int], n_machines: int) -> None:
    seen: dict[int, int] = {}
    for k, (machine, duration) in enumerate(zip(machines, durations)):
        if not 0 <= machine < n_machines:
            raise InstanceFormatError(
                source, number, f"job {job} operation {k}: machine {machine} out of range 0..{n_machines - 1}"
            )
        if machine in seen:
            raise InstanceFormatError(
                source, number, f"job {job} visits machine {machine} twice (operations {seen[machine]} and {k})"
            )
        seen[machine] = k
        if duration < 0:
            raise InstanceFormatError(source, number, f"job {job} operation {k}: negative duration {duration}")


def _parse_orlib(text: str, source: str, name: str) -> list[JobShopInstance]:
    lines = _content_lines(text)
    if not lines:
        raise InstanceFormatError(source, None, "empty file: expected a line 'n_jobs n_machines'")
    number, header = lines[0]
    n_jobs, n_machines = _ints(source, number, header, 2, "n_jobs n_machines")
    _check_size(source, number, n_jobs, n_machines)
    job_lines = lines[1:]
    if len(job_lines) < n_jobs:
        last = lines[-1][0]
        raise InstanceFormatError(
            source, last, f"truncated: header announces {n_jobs} jobs, found {len(job_lines)} job lines"
        )
    if len(job_lines) > n_jobs:
        raise InstanceFormatError(source, job_lines[n_jobs][0], f"extra line after the {n_jobs} announced jobs")
    rows = []
    for job, (number, line) in enumerate(job_lines):
        values = _ints(source, number, line, 2 * n_machines, f"{n_machines} machine/duration pairs of job {job}")
        _check_job(source, number, job, values[0::2], values[1::2], n_machines)
        rows.append(values)
    pairs = np.array(rows, dtype=np.int64)
    machines, durations = pairs[:, 0::2], pairs[:, 1::2]
    return [JobShopInstance(name, machines, durations, metadata={"layout": "orlib", "source": source})]


def _parse_matrix(
    source: str, lines: list[tuple[int, str]], start: int, label: str, n_rows: int, n_cols: int
) -> tuple[np.ndarray, list[int], int]:
    if start >= len(lines):
        raise InstanceFormatError(source, lines[-1][0], f"truncated: expected a '{label}' line")
    number, line = lines[start]
    if line.lower() != label.lower():
        raise InstanceFormatError(source, number, f"expected '{label}', found {line!r}")
    rows, numbers = [], []
    for row in range(n_rows):
        index = start + 1 + row
        if index >= len(lines) or not lines[index][1][0].lstrip("-").isdigit():
            where = lines[min(index, len(lines)) - 1][0]
            raise InstanceFormatError(source, where, f"truncated: '{label}' needs {n_rows} rows, found {row}")
        number, line = lines[index]
        rows.append(_ints(source, number, line, n_cols, f"row {row} of '{label}'"))
        numbers.append(number)
    return np.array(rows, dtype=np.int64), numbers, start + 1 + n_rows


def _parse_taillard(text: str, source: str, name: str) -> list[JobShopInstance]:
    lines = _content_lines(text)
    instances = []
    position = 0
    while position < len(lines):
        number, line = lines[position]
        if not line.lower().startswith(_TAILLARD_HEADER):
            raise InstanceFormatError(
                source, number, f"expected the header '{_TAILLARD_HEADER.capitalize()}, ...', found {line!r}"
            )
        if position + 1 >= len(lines):
            raise InstanceFormatError(source, number, "truncated: header without its values")
        number, line = lines[position + 1]
        n_jobs, n_machines, time_seed, machine_seed, upper, lower = _ints(
            source, number, line, 6, "jobs, machines, time seed, machine seed, upper bound, lower bound", _MAX_SEED
        )
        _check_size(source, number, n_jobs, n_machines)
        if lower > upper:
            raise InstanceFormatError(source, number, f"lower bound {lower} exceeds upper bound {upper}")
        durations, _, position = _parse_matrix(source, lines, position + 2, "Times", n_jobs, n_machines)
        machines, row_lines, position = _parse_matrix(source, lines, position, "Machines", n_jobs, n_machines)
        if (machines == 0).any():
            job = int(np.flatnonzero((machines == 0).any(axis=1))[0])
            raise InstanceFormatError(source, row_lines[job], "machine 0 in 'Machines': Taillard machines are 1-based")
        for job in range(n_jobs):
            _check_job(source, row_lines[job], job, list(machines[job] - 1), list(durations[job]), n_machines)
        suffix = f"_{len(instances) + 1}" if len(instances) or (position < len(lines)) else ""
        instances.append(
            JobShopInstance(
                name + suffix,
                machines - 1,
                durations,
                lower_bound=lower,
                upper_bound=upper,
                metadata={"layout": "taillard", "source": source, "time_seed": time_seed, "machine_seed": machine_seed},
            )
        )
    if not instances:
        raise InstanceFormatError(source, None, "empty file")
    return instances


def parse_instances(text: str, source: str = "<text>", name: str = "instance") -> tuple[list[JobShopInstance], Layout]:
    """Parse every instance in ``text``; return them with the detected layout."""
    layout = detect_layout(text)
    parser = _parse_taillard if layout == "taillard" else _parse_orlib
    return parser(text, source, name), layout


def read_instances(path: str | Path) -> list[JobShopInstance]:
    """Read all instances of a file (Taillard files may hold several)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise InstanceFormatError(str(path), None, f"not a text file ({error})") from None
    instances, layout = parse_instances(text, source=str(path), name=path.stem)
    log.info("read %d instance(s) from %s (%s layout)", len(instances), path, layout)
    return instances


def read_instance(path: str | Path) -> JobShopInstance:
    """Read a file holding exactly one instance."""
    instances = read_instances(path)
    if len(instances) != 1:
        raise InstanceFormatError(str(path), None, f"holds {len(instances)} instances; use read_instances()")
    return instances[0]


def format_orlib(instance: JobShopInstance) -> str:
    """The instance in OR-Library layout (with a ``#`` comment naming it)."""
    lines = [f"# {instance.name}", f"{instance.n_jobs} {instance.n_machines}"]
    for machines, durations in zip(instance.machines, instance.durations):
        lines.append(" ".join(f"{m} {d}" for m, d in zip(machines, durations)))
    return "\n".join(lines) + "\n"


def format_taillard(instances: list[JobShopInstance]) -> str:
    """Instances in Taillard's layout (seeds written as 0 when unknown)."""
    blocks = []
    for instance in instances:
        meta = instance.metadata
        values = [
            instance.n_jobs,
            instance.n_machines,
            meta.get("time_seed", 0),
            meta.get("machine_seed", 0),
            instance.upper_bound or 0,
            instance.lower_bound or 0,
        ]
        rows = ["Nb of jobs, Nb of Machines, Time seed, Machine seed, Upper bound, Lower bound"]
        rows.append(" ".join(str(v) for v in values))
        rows.append("Times")
        rows += [" ".join(str(d) for d in row) for row in instance.durations]
        rows.append("Machines")
        rows += [" ".join(str(m + 1) for m in row) for row in instance.machines]
        blocks.append("\n".join(rows))
    return "\n".join(blocks) + "\n"


def write_instance(instance: JobShopInstance, path: str | Path, layout: Layout = "orlib") -> None:
    """Write one instance in the given layout."""
    text = format_orlib(instance) if layout == "orlib" else format_taillard([instance])
    Path(path).write_text(text)
