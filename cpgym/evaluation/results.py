"""Evaluation result rows and their crash-safe, resumable, checked and locked storage.

A :class:`ResultRow` is one (instance, method) result with typed fields; ``results.csv`` holds
one per line, in the column order of :data:`COLUMNS`. Each row is written with a single ``write``
followed by ``flush`` and ``fsync``, after its solution file (``solutions/INSTANCE__METHOD.json``,
written to a temporary file, synced and renamed), so a killed run loses no finished row.

Every line is checked when the folder is opened: it must parse as one CSV record with exactly the
columns of :data:`COLUMNS`, every field of its type (``valid`` ``True``/``False``, numbers finite),
a non-empty key, status and sense, ``objective`` present exactly when ``valid``, and for a valid row
a solution file of the same instance (and method) holding the same objective. A line that fails (a
row cut short, even one ending in a newline; a torn last line; a row whose solution file is missing
or disagrees) is reported on stderr with its line number and text, dropped, and its task rerun.
Rows with status ``error`` do not count as finished: the next run retries them, and the later row
of a key replaces the earlier one. The file is then rewritten without the dropped and replaced rows
(atomically), so it keeps one row per key. Rows read back are parsed into the types they were
written from; non-finite numbers (an infinite bound) are stored as empty fields (None).

A folder is written by one process at a time: the store holds an exclusive ``flock`` on
``OUT/.lock`` from opening to :meth:`ResultStore.close`; the system releases it when the process
dies (``kill -9`` included), and forked worker processes do not inherit it. Systems without
``fcntl`` (Windows) get no lock.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, get_type_hints

from cpgym.errors import ArgumentError, Status
from cpgym.instances import problems

try:
    import fcntl
except ImportError:  # Windows: no advisory file locks
    fcntl = None

LOCK_FILE = ".lock"
_HELD_LOCKS: set[int] = set()  # descriptors of the lock files this process holds


def _drop_inherited_locks() -> None:
    """In a forked child (a worker process): close the inherited lock descriptors, so that the lock
    lives and dies with the process that took it."""
    for descriptor in _HELD_LOCKS:
        os.close(descriptor)
    _HELD_LOCKS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_inherited_locks)


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
        or empty fields and non-finite numbers are None, line breaks in text become spaces.
        ``ValueError`` for a field that is not of its type."""
        return cls(**{name: _PARSERS[name](record.get(name)) for name in COLUMNS})

    def to_csv(self) -> dict[str, str]:
        """The CSV record: ``str`` of every value, ``""`` for None."""
        return {name: "" if value is None else str(value) for name, value in asdict(self).items()}

    @property
    def key(self) -> tuple[str, str]:
        """``(instance, method)``: what identifies a task."""
        return self.instance, self.method


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            number = int(value)
        except ValueError:
            number = float(value)
    else:
        number = value.item() if hasattr(value, "item") else value  # numpy scalar -> Python number
    return number if math.isfinite(number) else None


def _integer(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def _line(value: Any) -> str:
    return str(value).replace("\r", " ").replace("\n", " ")  # one row per line of results.csv


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else _line(value)


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        if value not in ("True", "False"):
            raise ValueError(f"valid must be True or False, got {value!r}")
        return value == "True"
    return bool(value)


_BY_TYPE: dict[Any, Callable[[Any], Any]] = {
    str: lambda value: "" if value is None else _line(value),
    bool: _flag,
    float | None: _number,
    int | None: _integer,
    str | None: _text,
}
COLUMNS = [f.name for f in fields(ResultRow)]
_PARSERS = {name: _BY_TYPE[kind] for name, kind in get_type_hints(ResultRow).items()}


def _csv_line(values: Iterable[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a synced temporary file: readers see the old or the new file."""
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", newline="") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


class ResultStore:
    """``results.csv`` plus one JSON solution file per validated row under ``solutions/``; with
    ``out=None`` the rows are kept in memory only and nothing is written. A context manager:
    :meth:`close` (or leaving the ``with`` block) releases the folder's lock."""

    def __init__(self, out: str | Path | None) -> None:
        self.out = None if out is None else Path(out)
        self._rows: dict[tuple[str, str], ResultRow] = {}
        self._lock: int | None = None
        self._replaced = False  # a row of this run replaced a stored one: rewrite results.csv on close
        if self.out is None:
            return
        self._take_folder()
        self.path = self.out / "results.csv"
        try:
            if self._read():
                self._rewrite()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def rows(self) -> list[ResultRow]:
        """Every stored row (one per key), in the order of ``results.csv``."""
        return list(self._rows.values())

    def _take_folder(self) -> None:
        """Create the folder and take its lock, or raise :class:`ArgumentError` naming it."""
        try:
            (self.out / "solutions").mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.out / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise ArgumentError(f"cannot create or write the output folder {self.out}: "
                                f"{error.strerror or error}") from None
        if fcntl is not None:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(descriptor, 32).decode(errors="replace").strip() or "unknown"
                os.close(descriptor)
                raise ArgumentError(
                    f"output folder {self.out} is in use: another evaluation (process {holder}) is writing it and "
                    f"holds {self.out / LOCK_FILE}; wait for it to finish or choose another output folder"
                ) from None
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        self._lock = descriptor
        _HELD_LOCKS.add(descriptor)

    def close(self) -> None:
        """Rewrite ``results.csv`` if a retried row replaced a stored one, and release the lock."""
        if self._lock is None:
            return
        try:
            if self._replaced:
                self._rewrite()
                self._replaced = False
        finally:
            _HELD_LOCKS.discard(self._lock)
            os.close(self._lock)
            self._lock = None

    def _read(self) -> bool:
        """Load the sound rows of ``results.csv``, warning about every other line; True when the file
        must be rewritten (a line dropped or replaced, a torn or missing header)."""
        if not self.path.exists():
            return True
        lines = self.path.read_bytes().decode("utf-8", errors="replace").split("\n")
        torn = lines.pop()  # "" when the file ends with a newline
        if torn and lines:
            _warn(f"{self.path}, line {len(lines) + 1}: unfinished (the run writing it was killed); dropped, "
                  f"the task will be rerun: {torn[:200]!r}")
        if not lines:
            return True
        header = next(csv.reader([lines[0]]), [])
        if header != COLUMNS:
            raise ArgumentError(f"{self.path}: unexpected columns {header}; use a new output folder")
        rewrite = bool(torn)
        for number, line in enumerate(lines[1:], start=2):
            row = self._parse_line(line)
            if isinstance(row, str):
                _warn(f"{self.path}, line {number}: {row}; dropped, the task will be rerun: {line[:200]!r}")
                rewrite = True
                continue
            replaced = self._rows.pop(row.key, None)
            if replaced is not None:
                rewrite = True
                if replaced.status != Status.ERROR:
                    _warn(f"{self.path}, line {number}: a second row for {row.instance} / {row.method}; "
                          "the later one counts")
            self._rows[row.key] = row
        return rewrite

    def _parse_line(self, line: str) -> ResultRow | str:
        """The row of one line of ``results.csv``, or what is wrong with it."""
        try:
            values = next(csv.reader([line], strict=True), [])
        except csv.Error as error:
            return f"not a CSV record ({error})"
        if len(values) != len(COLUMNS):
            return f"{len(values)} fields instead of {len(COLUMNS)} (a cut row)"
        try:
            row = ResultRow.parse(dict(zip(COLUMNS, values)))
        except ValueError as error:
            return f"a field of the wrong type ({error})"
        return self._unsound(row) or row

    def _unsound(self, row: ResultRow) -> str | None:
        """What makes a parsed row unsound: missing key fields, or a valid row whose solution file is
        missing or disagrees with it; None for a sound row."""
        if not (row.instance and row.method and row.status) or row.sense not in ("min", "max"):
            return "an empty instance, method or status, or a sense other than min/max"
        if row.valid != (row.objective is not None):
            return f"valid={row.valid} with objective {row.objective}"
        if not row.valid:
            return None
        path = self.solution_path(row.instance, row.method)
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            return f"its solution file solutions/{path.name} is missing or unreadable"
        if not isinstance(record, dict) or (record.get("instance"), record.get("method", row.method)) != row.key:
            return f"solutions/{path.name} holds another task's solution"
        stored = [record[name] for name in sorted({p.objective_field for p in problems()}) if name in record]
        if stored != [row.objective]:
            return f"objective {row.objective} but solutions/{path.name} holds {stored}"
        return None

    def _rewrite(self) -> None:
        rows = "".join(_csv_line(row.to_csv().values()) for row in self._rows.values())
        _write_atomically(self.path, _csv_line(COLUMNS) + rows)

    def _append_line(self, line: str) -> None:
        with open(self.path, "a", newline="") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def done(self) -> set[tuple[str, str]]:
        """The finished (instance, method) keys: every stored row but those with status ``error``."""
        return {key for key, row in self._rows.items() if row.status != Status.ERROR}

    def solution_path(self, instance: str, method: str) -> Path:
        """Where the solution of (instance, method) is stored."""
        if self.out is None:
            raise ArgumentError("an in-memory evaluation stores no solution files; pass an output folder")
        safe = "".join(c if c.isalnum() or c in "-_.+" else "_" for c in f"{instance}__{method}")
        return self.out / "solutions" / f"{safe}.json"

    def check_solution_paths(self, keys: Iterable[tuple[str, str]]) -> None:
        """:class:`ArgumentError` when two (instance, method) keys, among ``keys`` and the stored rows,
        would share a solution file (names are reduced to letters, digits and ``-_.+``, case ignored)."""
        if self.out is None:
            return
        owners: dict[str, tuple[str, str]] = {}
        for key in [*self._rows, *keys]:
            name = self.solution_path(*key).name
            owner = owners.setdefault(name.casefold(), key)
            if owner != key:
                raise ArgumentError(
                    f"{owner[0]!r} / {owner[1]!r} and {key[0]!r} / {key[1]!r} would share the solution file "
                    f"solutions/{name} (file names keep letters, digits and -_.+, and ignore case); rename one "
                    "of the instances (or methods), or evaluate them into separate output folders"
                )

    def read_json(self, name: str) -> dict:
        """The JSON object in file ``name`` of the folder; ``{}`` when there is none."""
        path = self.out / name
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise ArgumentError(f"{path} cannot be read ({error}); delete it to resume without its checks") from None
        if not isinstance(data, dict):
            raise ArgumentError(f"{path} holds no JSON object; delete it to resume without its checks")
        return data

    def write_json(self, name: str, data: dict) -> None:
        """Write file ``name`` of the folder atomically (no NaN or infinity)."""
        _write_atomically(self.out / name, json.dumps(data, indent=1, allow_nan=False))

    def add(self, row: ResultRow, solution: dict | None) -> None:
        """Store the solution (or remove a stale one) first, then the row that marks the task finished."""
        if self.out is not None:
            path = self.solution_path(row.instance, row.method)
            if solution is None:
                path.unlink(missing_ok=True)
            else:
                record = {"instance": row.instance, "method": row.method, **solution}
                _write_atomically(path, json.dumps(record, allow_nan=False))
            self._append_line(_csv_line(row.to_csv().values()))
        replaced = self._rows.pop(row.key, None)
        self._replaced |= replaced is not None
        self._rows[row.key] = row
