"""Gantt charts of job-shop schedules (matplotlib), complete or partial."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from cpgym.instances.jobshop import JobShopInstance  # noqa: E402
from cpgym.instances.schedule import Schedule  # noqa: E402


def _figsize(instance: JobShopInstance) -> tuple[float, float]:
    return 12.0, max(2.5, 0.35 * instance.n_machines + 1.2)


def _draw(ax: Axes, instance: JobShopInstance, start_times: np.ndarray, title: str | None) -> None:
    """Machines as rows, the scheduled operations (start >= 0) as bars coloured by job, a dashed
    line at their latest end; the default title names the instance and that latest end."""
    scheduled = start_times >= 0
    makespan = int(np.where(scheduled, start_times + instance.durations, 0).max())
    cmap = plt.get_cmap("tab20" if instance.n_jobs > 10 else "tab10")
    for job, op in zip(*np.nonzero(scheduled)):
        start, duration = start_times[job, op], instance.durations[job, op]
        machine = instance.machines[job, op]
        ax.barh(machine, duration, left=start, height=0.8, color=cmap(job % cmap.N), edgecolor="black", linewidth=0.3)
        if instance.n_jobs <= 20 and duration > 0.03 * makespan:
            ax.text(start + duration / 2, machine, str(job), ha="center", va="center", fontsize=6)
    ax.set_yticks(range(instance.n_machines), [f"M{m}" for m in range(instance.n_machines)])
    ax.set_ylim(instance.n_machines - 0.5, -0.5)  # machine 0 on top
    ax.set_xlim(0, max(makespan, 1) * 1.03)
    ax.set_xlabel("time")
    ax.axvline(makespan, color="red", linestyle="--", linewidth=1)
    ax.set_title(title or f"{instance.name}: makespan {makespan}")


def plot_gantt(schedule: Schedule, path: str | Path | None = None, title: str | None = None):
    """Draw machines as rows and operations as bars coloured by job; save to ``path`` (PNG/SVG/PDF)."""
    fig, ax = plt.subplots(figsize=_figsize(schedule.instance))
    _draw(ax, schedule.instance, schedule.start_times, title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=150)
        plt.close(fig)
    return fig


def gantt_frame(instance: JobShopInstance, start_times: np.ndarray, title: str | None = None,
                dpi: int = 80) -> np.ndarray:
    """The Gantt chart of a partial schedule (``start_times`` -1 = unscheduled, not drawn) as an
    RGB image, ``uint8 (H, W, 3)``; its size depends only on ``instance.n_machines`` and ``dpi``."""
    fig = Figure(figsize=_figsize(instance), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    _draw(fig.add_subplot(), instance, np.asarray(start_times), title)
    fig.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
