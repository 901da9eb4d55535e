"""Speed and quality of the N5 tabu search: moves/s, iterations/s and the makespan after 10 s.

Run: ``python benchmarks/tabu_speed.py [--seconds 10] [--instances ta01 ta41 ta71] [--seed 0]``.
For each instance (ta01 15x15, ta41 30x20, ta71 100x20) it starts :func:`cpgym.heuristics.tabu_search`
from the MWKR schedule, on one core, and prints the makespan it reaches within ``--seconds`` next to
the best-known upper bound, the iterations and move evaluations per CPU second of the run (a run
that proves optimality stops early; its rates cover that shorter run), and the cost of one exact
longest-path recomputation (:meth:`ScheduleGraph.update`, Python call included). Compilation (or
loading numba's cache) happens in :func:`cpgym.heuristics.prepare` first and is timed apart.
"""

from __future__ import annotations

import argparse
import time

from cpgym.agents.rules import dispatch
from cpgym.heuristics import ScheduleGraph, prepare, tabu_search
from cpgym.instances import load

INSTANCES = ("ta01", "ta41", "ta71")
UPDATES = 2_000  # longest-path recomputations timed per instance


def update_microseconds(graph: ScheduleGraph) -> float:
    """Mean CPU time of one heads/tails/makespan recomputation."""
    started = time.process_time()
    for _ in range(UPDATES):
        graph.update()
    return (time.process_time() - started) / UPDATES * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="time limit of each tabu search")
    parser.add_argument("--instances", nargs="*", default=list(INSTANCES))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    prepare()
    print(f"prepare (compile or load the numba cache): {time.perf_counter() - started:.2f} s\n")
    header = (
        f"{'instance':<9}{'size':<8}{'mwkr':>7}{'tabu':>7}{'ub':>7}{'gap %':>7}{'iterations':>12}"
        f"{'it/s':>10}{'moves/s':>11}{'us/update':>10}{'wall s':>8}  stop"
    )
    print(header)
    print("-" * len(header))
    for name in args.instances:
        instance = load(name)
        start = dispatch(instance, "mwkr")
        cpu = time.process_time()
        result = tabu_search(instance, start.start_times, args.seconds, seed=args.seed)
        cpu = max(time.process_time() - cpu, 1e-9)
        gap = 100 * (result.makespan - instance.upper_bound) / instance.upper_bound
        update = update_microseconds(ScheduleGraph.from_start_times(instance, start.start_times))
        print(
            f"{name:<9}{instance.size:<8}{start.makespan:>7}{result.makespan:>7}{instance.upper_bound:>7}{gap:>7.2f}"
            f"{result.iterations:>12,}{result.iterations / cpu:>10,.0f}{result.moves_evaluated / cpu:>11,.0f}"
            f"{update:>10.1f}{result.elapsed:>8.2f}  {'optimal' if result.proven_optimal else 'time'}"
        )


if __name__ == "__main__":
    main()
