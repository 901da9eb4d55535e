"""Gap charts of evaluation summaries: one grouped bar chart per dataset (matplotlib, Agg backend)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol


class GapRecord(Protocol):
    """What a chart needs of a summary record (e.g. :class:`cpgym.evaluation.report.SummaryRecord`)."""

    dataset: str
    group: str
    method: str
    mean_gap: float | None


def plot_gaps(summary: Sequence[GapRecord], out: str | Path) -> list[Path]:
    """Write ``gaps_DATASET.png`` under ``out`` for every dataset with a gap: mean gap per size group
    and method, groups in the order of ``summary``. Returns the paths written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    paths = []
    for dataset in sorted({s.dataset for s in summary}):
        records = [s for s in summary if s.dataset == dataset and s.mean_gap is not None]
        if not records:
            continue
        groups = list(dict.fromkeys(s.group for s in records))  # the summary's order (sizes ascending)
        methods = sorted({s.method for s in records})
        width = 0.8 / len(methods)
        fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(groups) * max(1, len(methods) / 3)), 4))
        for index, method in enumerate(methods):
            values = {s.group: s.mean_gap for s in records if s.method == method}
            heights = [values.get(g, np.nan) for g in groups]
            ax.bar(np.arange(len(groups)) + index * width, heights, width, label=method)
        ax.set_xticks(np.arange(len(groups)) + 0.4 - width / 2, groups)
        ax.set_ylabel("mean gap %")
        ax.set_title(f"{dataset}: mean gap per size group")
        ax.legend(fontsize=8, ncol=2)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        path = Path(out) / f"gaps_{dataset.replace(':', '_')}.png"
        fig.savefig(path, dpi=130)
        plt.close(fig)
        paths.append(path)
    return paths
