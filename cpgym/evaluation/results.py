"""Crash-safe, resumable result storage: one CSV row per (instance, method), appended as it arrives.

Each row is written with a single ``write`` followed by ``flush`` and ``fsync``, so a killed
run loses no finished row. A torn last line (a kill in the middle of a write) is cut off when
the file is reopened, and finished keys are skipped on resume.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

COLUMNS = [
    "dataset",
    "group",
    "instance",
    "method",
    "sense",
    "status",
    "valid",
    "objective",
    "objective_bound",
    "method_bound",
    "best_known",
    "best_known_bound",
    "gap_percent",
    "wall_time",
    "threads",
    "seed",
    "error",
]


def row_key(row: dict) -> tuple[str, str]:
    return str(row["instance"]), str(row["method"])


class ResultStore:
    """``results.csv`` plus one JSON solution file per finished row under ``solutions/``."""

    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "solutions").mkdir(exist_ok=True)
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

    def _read(self) -> list[dict]:
        if not self.path.exists():
            return []
        with open(self.path, newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames and reader.fieldnames != COLUMNS:
                raise ValueError(f"{self.path}: unexpected columns {reader.fieldnames}; use a new --out folder")
            return list(reader)

    def _append_line(self, line: str) -> None:
        with open(self.path, "a", newline="") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def done(self) -> set[tuple[str, str]]:
        return {row_key(row) for row in self.rows}

    def solution_path(self, instance: str, method: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_.+" else "_" for c in f"{instance}__{method}")
        return self.out / "solutions" / f"{safe}.json"

    def add(self, row: dict, solution: dict | None) -> None:
        """Store the solution first, then the row that marks the task finished."""
        if solution is not None:
            path = self.solution_path(row["instance"], row["method"])
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(solution))
            os.replace(tmp, path)
        buffer = io.StringIO()
        csv.DictWriter(buffer, COLUMNS, lineterminator="\n").writerow({c: row.get(c, "") for c in COLUMNS})
        self._append_line(buffer.getvalue())
        self.rows.append({c: "" if row.get(c) is None else str(row[c]) for c in COLUMNS})
