"""Summaries of evaluation rows: one record per dataset, size group and method, and Markdown tables.

Gaps are to the best-known objective (job shop: the best-known upper bound of the bundled
table; robust knapsack: branch-and-price; capital budgeting: the best k-adaptability result);
for instances without one (generated sets) they are to the best objective any evaluated method
found, and the table says so. Gaps are positive when worse, whatever the objective sense. A gap
to a reference of 0 (an instance of zero durations) is 0 when the objective is 0 too, and undefined
(None, shown as —) otherwise; undefined gaps are left out of the means.
Rows whose solution failed validation are never counted. Gap charts: :mod:`cpgym.plot.gaps`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from statistics import mean, median

from cpgym.errors import Status
from cpgym.evaluation.results import ResultRow


@dataclass(frozen=True)
class SummaryRecord:
    """One (dataset, group, method) cell: ``n`` rows, ``valid`` of them validated, mean and median
    gap % of those (None without any), the ``reference`` kind ("best-known" and/or "best found"),
    mean wall time, ``wins`` (instances where the method found the best objective of any method),
    ``invalid`` (rejected by the validator) and ``errors`` (the method raised)."""

    dataset: str
    group: str
    method: str
    n: int
    valid: int
    mean_gap: float | None
    median_gap: float | None
    reference: str
    mean_time: float | None
    wins: int
    invalid: int
    errors: int


def gap_percent(objective: float | None, reference: float | None, sense: str) -> float | None:
    """Relative gap (%) to a reference, positive when worse than the reference; None without an
    objective or a reference, and for a reference of 0 that the objective misses."""
    if objective is None or reference is None:
        return None
    if reference == 0:
        return 0.0 if objective == 0 else None
    difference = objective - reference if sense == "min" else reference - objective
    return 100.0 * difference / abs(reference)


def _better(a: float, b: float, sense: str) -> float:
    return min(a, b) if sense == "min" else max(a, b)


def _best_found(rows: list[ResultRow]) -> dict[str, float]:
    """Per instance: the best validated objective of any method."""
    best: dict[str, float] = {}
    for row in rows:
        if row.valid:
            best[row.instance] = _better(row.objective, best.get(row.instance, row.objective), row.sense)
    return best


def references(rows: list[ResultRow], best_found: dict[str, float] | None = None) -> dict[str, tuple[float, str]]:
    """Per instance: (reference objective, "best-known" or "best found"): the best-known value, else
    the best validated objective of any method in ``rows`` (``best_found``, computed if not given)."""
    best_found = _best_found(rows) if best_found is None else best_found
    references = {}
    for row in rows:
        if row.best_known is not None:
            references[row.instance] = (row.best_known, "best-known")
        elif row.instance in best_found:
            references[row.instance] = (best_found[row.instance], "best found")
    return references


def summarise(rows: list[ResultRow]) -> list[SummaryRecord]:
    """One record per (dataset, group, method), sorted by dataset, size group and method."""
    best_found = _best_found(rows)
    reference = references(rows, best_found)
    cells: dict[tuple[str, str, str], list[ResultRow]] = defaultdict(list)
    for row in rows:
        cells[row.dataset, row.group, row.method].append(row)
    summary = []
    for (dataset, group, method), cell in cells.items():
        valid = [r for r in cell if r.valid]
        gaps = [gap for r in valid if (gap := gap_percent(r.objective, reference[r.instance][0], r.sense)) is not None]
        times = [r.wall_time for r in cell if r.wall_time is not None]
        summary.append(
            SummaryRecord(
                dataset=dataset,
                group=group,
                method=method,
                n=len(cell),
                valid=len(valid),
                mean_gap=mean(gaps) if gaps else None,
                median_gap=median(gaps) if gaps else None,
                reference="/".join(sorted({reference[r.instance][1] for r in valid})),
                mean_time=mean(times) if times else None,
                wins=sum(r.objective == best_found[r.instance] for r in valid),
                invalid=sum(r.status == Status.INVALID for r in cell),
                errors=sum(r.status == Status.ERROR for r in cell),
            )
        )
    return sorted(summary, key=lambda s: (s.dataset, group_key(s.group), s.method))


def group_key(group: str) -> tuple:
    """Sort key of a size group: ``20x15`` by its numbers, other names alphabetically."""
    try:
        return tuple(int(v) for v in group.split("x"))
    except ValueError:
        return (group,)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def markdown(summary: list[SummaryRecord]) -> str:
    """Markdown tables, one per dataset, one line per (size group, method)."""
    lines = []
    for dataset in sorted({s.dataset for s in summary}):
        lines += [
            f"### {dataset}",
            "",
            "| group | method | n | valid | mean gap % | median gap % | gap to | mean time s | wins | invalid "
            "| errors |",
            "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|",
        ]
        for s in (s for s in summary if s.dataset == dataset):
            lines.append(
                f"| {s.group} | {s.method} | {s.n} | {s.valid} | {_fmt(s.mean_gap)} "
                f"| {_fmt(s.median_gap)} | {s.reference} "
                f"| {_fmt(s.mean_time)} | {s.wins} | {s.invalid} | {s.errors} |"
            )
        lines.append("")
    return "\n".join(lines)
