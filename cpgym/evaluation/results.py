"""Evaluation result rows and their crash-safe, resumable storage.

A :class:`ResultRow` is one (instance, method) result with typed fields; ``results.csv`` holds
one per line, in the column order of :data:`COLUMNS`. Each row is written with a single ``write``
followed by ``flush`` and ``fsync``, so a killed run loses no finished row. A torn last line (a
kill in the middle of a write) is cut off when the file is reopened, and finished keys are skipped
on resume. Rows read back are parsed into the same types they were written from.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, get_type_hints

from cpgym.errors import ArgumentError


@dataclass(frozen=True)
class ResultRow:
    """One method's result on one instance (the columns of ``results.csv``).

    ``objective`` is the validator's recomputed objective (None unless ``valid``);
    ``objective_bound`` its other bound (the robust evaluator's upper bound; the objective itself
    for the job shop); ``method_bound`` the method's own bound (CP-SAT's lower bound);
    ``best_known`` / ``best_known_bound`` the reference values; ``gap_percent`` the gap to
    ``best_known`` (positive when worse); ``status`` a :class:`cpgym.errors.Status` value or a
    method's own status; ``error`` what went wrong when ``status`` is ``INVALID`` or ``error``.
    Numbers are ints where the value is integral on disk (makespans), floats otherwise.
    """

    dataset: str
    group: str
    instance: str
    method: str
    sense: str
    status: str
    valid: bool
    objective: float | None = None
    objective_bound: float | None = None
    method_bound: float | None = None
    best_known: float | None = None
    best_known_bound: float | None = None
    gap_percent: float | None = None
    wall_time: float | None = None
    threads: int | None = None
    seed: int | None = None
    error: str | None = None

    @classmethod
    def parse(cls, record: Mapping[str, Any]) -> ResultRow:
        """A row from a CSV record (strings) or from raw values (numpy scalars allowed); missing
        or empty fields are None."""
        return cls(**{name: _PARSERS[name](record.get(name)) for name in COLUMNS})

    def to_csv(self) -> dict[str, str]:
        """The CSV record: ``str`` of every value, ``""`` for None."""
        return {name: "" if value is None else str(value) for name, value in asdict(self).items()}


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return float(value)
    return value.item() if hasattr(value, "item") else value  # numpy scalar -> Python number


def _integer(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _flag(value: Any) -> bool:
    return value == "True" if isinstance(value, str) else bool(value)


_BY_TYPE: dict[Any, Callable[[Any], Any]] = {
    str: lambda value: "" if value is None else str(value),
    bool: _flag,
    float | None: _number,
    int | None: _integer,
    str | None: _text,
}
COLUMNS = [f.name for f in fields(ResultRow)]
_PARSERS = {name: _BY_TYPE[kind] for name, kind in get_type_hints(ResultRow).items()}


class ResultStore:
    """``results.csv`` plus one JSON solution file per validated row under ``solutions/``; with
    ``out=None`` the rows are kept in memory only and nothing is written."""

    def __init__(self, out: str | Path | None) -> None:
        self.out = None if out is None else Path(out)
        self.rows: list[ResultRow] = []
        if self.out is None:
            return
        (self.out / "solutions").mkdir(parents=True, exist_ok=True)
        self.path = self.out / "results.csv"
        self._repair()
        self.rows = self._read()
        if not self.path.exists() or self.path.stat().st_size == 0:
            self._append_line(",".join(COLUMNS) + "\n")

    def _repair(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(self.path, "r+b") as handle:
                handle.truncate(data.rfind(b"\n") + 1)

    def _read(self) -> list[ResultRow]:
        if not self.path.exists():
            return []
        with open(self.path, newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames and reader.fieldnames != COLUMNS:
                raise ArgumentError(f"{self.path}: unexpected columns {reader.fieldnames}; use a new output folder")
            return [ResultRow.parse(record) for record in reader]

    def _append_line(self, line: str) -> None:
        with open(self.path, "a", newline="") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def done(self) -> set[tuple[str, str]]:
        """The finished (instance, method) keys."""
        return {(row.instance, row.method) for row in self.rows}

    def solution_path(self, instance: str, method: str) -> Path:
        """Where the solution of (instance, method) is stored."""
        if self.out is None:
            raise ArgumentError("an in-memory evaluation stores no solution files; pass an output folder")
        safe = "".join(c if c.isalnum() or c in "-_.+" else "_" for c in f"{instance}__{method}")
        return self.out / "solutions" / f"{safe}.json"

    def add(self, row: ResultRow, solution: dict | None) -> None:
        """Store the solution first, then the row that marks the task finished."""
        if self.out is not None:
            if solution is not None:
                path = self.solution_path(row.instance, row.method)
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps(solution))
                os.replace(tmp, path)
            buffer = io.StringIO()
            csv.DictWriter(buffer, COLUMNS, lineterminator="\n").writerow(row.to_csv())
            self._append_line(buffer.getvalue())
        self.rows.append(row)
