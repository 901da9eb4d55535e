"""Summaries of evaluation rows: Markdown tables per dataset and size group, gap plots, Gantt charts.

Gaps are to the best-known objective (job shop: the best-known upper bound of the bundled
table; robust knapsack: branch-and-price; capital budgeting: the best k-adaptability result);
for instances without one (generated sets) they are to the best objective any evaluated method
found, and the table says so. Gaps are positive when worse, whatever the objective sense.
Rows whose solution failed validation are never counted.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from statistics import mean, median


def gap_percent(objective: float | None, reference: float | None, sense: str) -> float | None:
    """Relative gap (%) to a reference, positive when worse than the reference."""
    if objective is None or reference in (None, 0):
        return None
    difference = objective - reference if sense == "min" else reference - objective
    return 100.0 * difference / abs(reference)


def _float(value: str) -> float | None:
    return float(value) if value not in ("", "None", None) else None


def _better(a: float, b: float, sense: str) -> float:
    return min(a, b) if sense == "min" else max(a, b)


def _best_found(rows: list[dict]) -> dict[str, float]:
    """Per instance: the best validated objective of any method."""
    best: dict[str, float] = {}
    for row in rows:
        if row["valid"] == "True":
            objective = float(row["objective"])
            best[row["instance"]] = _better(objective, best.get(row["instance"], objective), row["sense"])
    return best


def references(rows: list[dict], best_found: dict[str, float] | None = None) -> dict[str, tuple[float, str]]:
    """Per instance: (reference objective, "best-known" or "best found"): the best-known value, else
    the best validated objective of any method in ``rows`` (``best_found``, computed if not given)."""
    best_found = _best_found(rows) if best_found is None else best_found
    references = {}
    for row in rows:
        known = _float(row["best_known"])
        if known:
            references[row["instance"]] = (known, "best-known")
        elif row["instance"] in best_found:
            references[row["instance"]] = (best_found[row["instance"]], "best found")
    return references


def summarise(rows: list[dict]) -> list[dict]:
    """One record per (dataset, group, method): n, mean gap %, mean time, wins, invalid count."""
    best_found = _best_found(rows)
    reference = references(rows, best_found)
    cells: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for row in rows:
        cells[row["dataset"], row["group"], row["method"]].append(row)
    summary = []
    for (dataset, group, method), cell in cells.items():
        valid = [r for r in cell if r["valid"] == "True"]
        gaps = [gap_percent(float(r["objective"]), reference[r["instance"]][0], r["sense"]) for r in valid]
        kinds = {reference[r["instance"]][1] for r in valid}
        summary.append(
            {
                "dataset": dataset,
                "group": group,
                "method": method,
                "n": len(cell),
                "valid": len(valid),
                "mean_gap": mean(gaps) if gaps else None,
                "median_gap": median(gaps) if gaps else None,
                "reference": "/".join(sorted(kinds)),
                "mean_time": mean(float(r["wall_time"]) for r in cell if r["wall_time"]) if cell else None,
                "wins": sum(float(r["objective"]) == best_found[r["instance"]] for r in valid),
                "invalid": sum(r["status"] == "INVALID" for r in cell),
                "errors": sum(r["status"] == "error" for r in cell),
            }
        )
    return sorted(summary, key=lambda s: (s["dataset"], _group_key(s["group"]), s["method"]))


def _group_key(group: str) -> tuple:
    try:
        return tuple(int(v) for v in group.split("x"))
    except ValueError:
        return (group,)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def markdown(summary: list[dict]) -> str:
    """Markdown tables, one per dataset, one line per (size group, method)."""
    lines = []
    for dataset in sorted({s["dataset"] for s in summary}):
        lines += [
            f"### {dataset}",
            "",
            "| group | method | n | valid | mean gap % | median gap % | gap to | mean time s | wins | invalid "
            "| errors |",
            "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|",
        ]
        for s in (s for s in summary if s["dataset"] == dataset):
            lines.append(
                f"| {s['group']} | {s['method']} | {s['n']} | {s['valid']} | {_fmt(s['mean_gap'])} "
                f"| {_fmt(s['median_gap'])} | {s['reference']} "
                f"| {_fmt(s['mean_time'])} | {s['wins']} | {s['invalid']} | {s['errors']} |"
            )
        lines.append("")
    return "\n".join(lines)


def plot_gaps(summary: list[dict], out: Path) -> list[Path]:
    """One grouped bar chart per dataset: mean gap per size group and method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    paths = []
    for dataset in sorted({s["dataset"] for s in summary}):
        records = [s for s in summary if s["dataset"] == dataset and s["mean_gap"] is not None]
        if not records:
            continue
        groups = sorted({s["group"] for s in records}, key=_group_key)
        methods = sorted({s["method"] for s in records})
        width = 0.8 / len(methods)
        fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(groups) * max(1, len(methods) / 3)), 4))
        for index, method in enumerate(methods):
            values = {s["group"]: s["mean_gap"] for s in records if s["method"] == method}
            heights = [values.get(g, np.nan) for g in groups]
            ax.bar(np.arange(len(groups)) + index * width, heights, width, label=method)
        ax.set_xticks(np.arange(len(groups)) + 0.4 - width / 2, groups)
        ax.set_ylabel("mean gap %")
        ax.set_title(f"{dataset}: mean gap per size group")
        ax.legend(fontsize=8, ncol=2)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        path = out / f"gaps_{dataset.replace(':', '_')}.png"
        fig.savefig(path, dpi=130)
        plt.close(fig)
        paths.append(path)
    return paths
