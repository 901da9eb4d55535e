"""Charts: Gantt charts of schedules and gap charts of evaluation summaries (matplotlib, Agg backend)."""

from cpgym.plot.gantt import plot_gantt

__all__ = ["plot_gantt"]
