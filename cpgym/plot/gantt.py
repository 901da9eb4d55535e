"""Gantt charts of job-shop and flexible job-shop schedules (matplotlib), complete or partial.

Both problems draw through one chart: machines as rows, the scheduled operations as bars coloured by
job; a flexible schedule's bars sit on the machine each operation was assigned to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from cpgym.errors import ArgumentError  # noqa: E402
from cpgym.instances.fjsp import FlexibleJobShopInstance  # noqa: E402
from cpgym.instances.fjsp_schedule import FlexibleSchedule  # noqa: E402
from cpgym.instances.jobshop import JobShopInstance  # noqa: E402
from cpgym.instances.problems import problem_of  # noqa: E402
from cpgym.instances.schedule import Schedule  # noqa: E402

Ragged = Sequence[Sequence[int]]


class Bars(NamedTuple):
    """The scheduled operations to draw: one entry per bar."""

    jobs: np.ndarray
    machines: np.ndarray
    starts: np.ndarray
    durations: np.ndarray


def _jobshop_bars(instance: JobShopInstance, start_times: Any, machines: Ragged | None = None) -> Bars:
    """Operations with a start >= 0 on their machines (a job-shop instance fixes them: ``machines`` unused)."""
    starts = np.asarray(start_times)
    jobs, ops = np.nonzero(starts >= 0)
    return Bars(jobs, instance.machines[jobs, ops], starts[jobs, ops], instance.durations[jobs, ops])


def _flexible_bars(instance: FlexibleJobShopInstance, start_times: Ragged, machines: Ragged | None) -> Bars:
    """Operations with a start >= 0 on their assigned machines (ragged per-job lists)."""
    if machines is None:
        raise ArgumentError("a flexible schedule's chart needs the machine of each operation (machines=...)")
    drawn = [(j, m, s, instance.durations[j][k][m])
             for j, (row_machines, row_starts) in enumerate(zip(machines, start_times))
             for k, (m, s) in enumerate(zip(row_machines, row_starts)) if s >= 0]
    columns = np.array(drawn, dtype=np.int64).reshape(-1, 4).T
    return Bars(*columns)


# problem name -> bars(instance, start_times, machines); a problem's schedules from their JSON records
_BARS: dict[str, Callable[[Any, Any, Ragged | None], Bars]] = {"jssp": _jobshop_bars, "fjsp": _flexible_bars}
_FROM_RECORD: dict[str, Callable[[dict, Any], Schedule | FlexibleSchedule]] = {
    "jssp": Schedule.from_dict, "fjsp": FlexibleSchedule.from_dict,
}
PROBLEMS = tuple(_BARS)  # the problems whose schedules have charts


def _figsize(n_machines: int) -> tuple[float, float]:
    return 12.0, max(2.5, 0.35 * n_machines + 1.2)


def _draw(ax: Axes, instance: JobShopInstance | FlexibleJobShopInstance, bars: Bars, title: str | None) -> None:
    """Machines as rows, ``bars`` coloured by job, a dashed line at their latest end; the default title
    names the instance and that latest end."""
    makespan = int((bars.starts + bars.durations).max()) if len(bars.jobs) else 0
    cmap = plt.get_cmap("tab20" if instance.n_jobs > 10 else "tab10")
    for job, machine, start, duration in zip(*bars):
        ax.barh(machine, duration, left=start, height=0.8, color=cmap(job % cmap.N), edgecolor="black", linewidth=0.3)
        if instance.n_jobs <= 20 and duration > 0.03 * makespan:
            ax.text(start + duration / 2, machine, str(job), ha="center", va="center", fontsize=6)
    ax.set_yticks(range(instance.n_machines), [f"M{m}" for m in range(instance.n_machines)])
    ax.set_ylim(instance.n_machines - 0.5, -0.5)  # machine 0 on top
    ax.set_xlim(0, max(makespan, 1) * 1.03)
    ax.set_xlabel("time")
    ax.axvline(makespan, color="red", linestyle="--", linewidth=1)
    ax.set_title(title or f"{instance.name}: makespan {makespan}")


def _bars(instance: Any, start_times: Any, machines: Ragged | None) -> Bars:
    return _BARS[problem_of(instance).name](instance, start_times, machines)


def plot_gantt(schedule: Schedule | FlexibleSchedule, path: str | Path | None = None, title: str | None = None):
    """Draw machines as rows and operations as bars coloured by job (a flexible schedule's on their assigned
    machines); save to ``path`` (PNG/SVG/PDF)."""
    instance = schedule.instance
    fig, ax = plt.subplots(figsize=_figsize(instance.n_machines))
    _draw(ax, instance, _bars(instance, schedule.start_times, getattr(schedule, "machines", None)), title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=150)
        plt.close(fig)
    return fig


def plot_record(instance: Any, record: dict, path: str | Path | None = None, title: str | None = None):
    """:func:`plot_gantt` of a schedule in its JSON form (the ``solutions/*.json`` records of the evaluator,
    ``cpgym solve --json``): ``start_times``, and ``machines`` for a flexible job-shop instance."""
    return plot_gantt(_FROM_RECORD[problem_of(instance).name](record, instance), path, title)


def gantt_frame(instance: JobShopInstance | FlexibleJobShopInstance, start_times: Any, title: str | None = None,
                dpi: int = 80, machines: Ragged | None = None) -> np.ndarray:
    """The Gantt chart of a partial schedule (``start_times`` -1 = unscheduled, not drawn) as an RGB image,
    ``uint8 (H, W, 3)``; its size depends only on ``instance.n_machines`` and ``dpi``. A flexible instance
    takes ragged per-job ``start_times`` and ``machines`` (the assignment; -1 where unscheduled)."""
    fig = Figure(figsize=_figsize(instance.n_machines), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    _draw(fig.add_subplot(), instance, _bars(instance, start_times, machines), title)
    fig.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
