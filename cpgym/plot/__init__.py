"""Charts: Gantt charts of schedules and gap charts of evaluation summaries (matplotlib, Agg backend)."""

from cpgym.plot.gantt import gantt_frame, plot_gantt
from cpgym.plot.gaps import plot_gaps

__all__ = ["gantt_frame", "plot_gantt", "plot_gaps"]
