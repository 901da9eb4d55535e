"""Gantt charts of job-shop schedules (matplotlib)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from cpgym.instances.schedule import Schedule  # noqa: E402


def plot_gantt(schedule: Schedule, path: str | Path | None = None, title: str | None = None):
    """Draw machines as rows and operations as bars coloured by job; save to ``path`` (PNG/SVG/PDF)."""
    instance = schedule.instance
    height = max(2.5, 0.35 * instance.n_machines + 1.2)
    fig, ax = plt.subplots(figsize=(12, height))
    cmap = plt.get_cmap("tab20" if instance.n_jobs > 10 else "tab10")
    for job in range(instance.n_jobs):
        color = cmap(job % cmap.N)
        for op in range(instance.n_machines):
            start, duration = schedule.start_times[job, op], instance.durations[job, op]
            machine = instance.machines[job, op]
            ax.barh(machine, duration, left=start, height=0.8, color=color, edgecolor="black", linewidth=0.3)
            if instance.n_jobs <= 20 and duration > 0.03 * schedule.makespan:
                ax.text(start + duration / 2, machine, str(job), ha="center", va="center", fontsize=6)
    ax.set_yticks(range(instance.n_machines), [f"M{m}" for m in range(instance.n_machines)])
    ax.invert_yaxis()
    ax.set_xlabel("time")
    ax.axvline(schedule.makespan, color="red", linestyle="--", linewidth=1)
    ax.set_title(title or f"{instance.name}: makespan {schedule.makespan}")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=150)
        plt.close(fig)
    return fig
