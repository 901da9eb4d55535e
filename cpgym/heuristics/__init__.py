"""Classical job-shop heuristics on complete schedules, the baselines OR reviewers ask for.

* :mod:`~cpgym.heuristics.schedule_graph` — the disjunctive-graph state of a complete schedule
  (heads, tails, critical path and blocks, N1/N5 moves with exact and estimated makespans), reusable
  by learned improvement policies;
* :mod:`~cpgym.heuristics.tabu` — TSAB-style tabu search over N5 moves (numba);
* :mod:`~cpgym.heuristics.one_machine` — 1|r_j,q_j|Cmax: Schrage's rule and Carlier's branch and bound;
* :mod:`~cpgym.heuristics.sbh` — the shifting-bottleneck heuristic (SB-I with re-optimisation);
* :mod:`~cpgym.heuristics.lns` — CP-SAT large-neighbourhood search around an incumbent.

As evaluator methods: ``sbh``, ``tabu:SECONDS``, ``lns:SECONDS`` and ``H+tabu:SECONDS`` /
``H+lns:SECONDS`` from any start (see :mod:`cpgym.evaluation.methods`).
"""

from cpgym.heuristics.lns import LNSResult, large_neighbourhood_search
from cpgym.heuristics.one_machine import OneMachineSolution, carlier, schrage
from cpgym.heuristics.sbh import shifting_bottleneck
from cpgym.heuristics.schedule_graph import ScheduleGraph
from cpgym.heuristics.tabu import TabuResult, prepare, tabu_search

__all__ = [
    "LNSResult",
    "OneMachineSolution",
    "ScheduleGraph",
    "TabuResult",
    "carlier",
    "large_neighbourhood_search",
    "prepare",
    "schrage",
    "shifting_bottleneck",
    "tabu_search",
]
