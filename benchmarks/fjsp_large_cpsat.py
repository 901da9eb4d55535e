"""CP-SAT on the large Behnke & Geiger flexible job-shop instances, with and without presolve probing.

Run: ``python benchmarks/fjsp_large_cpsat.py [--min-options 3000] [--time-limit 10] [--processes 2]``.

Every bundled ``behnke`` instance with at least ``--min-options`` (operation, machine) options is
solved by :func:`cpgym.cp_models.fjsp_cpsat.solve_fjsp` (one CP-SAT worker, ``--time-limit`` seconds)
twice: as shipped (probing off from ``LARGE_MODEL_OPTIONS`` options on) and with CP-SAT's default
probing. Schedules are checked by the independent validator; the table gives the makespan (or
"none"), the gap to the bundled upper bound, and the mean gap where both found a schedule.
"""

from __future__ import annotations

import argparse
import multiprocessing
from statistics import mean

import cpgym.cp_models.fjsp_cpsat as fjsp_cpsat
from cpgym.instances.fjsp_library import list_fjsp, load_fjsp
from cpgym.instances.fjsp_schedule import validate_flexible_schedule

SHIPPED_THRESHOLD = fjsp_cpsat.LARGE_MODEL_OPTIONS


def options_of(name: str) -> int:
    return sum(len(options) for job in load_fjsp(name).jobs for options in job)


def solve(task: tuple[str, bool, float]) -> tuple[str, bool, int | None]:
    name, probing, seconds = task
    # pool workers run several tasks: set the threshold for each one (10**12: CP-SAT's default probing)
    fjsp_cpsat.LARGE_MODEL_OPTIONS = 10**12 if probing else SHIPPED_THRESHOLD
    instance = load_fjsp(name)
    solution = fjsp_cpsat.solve_fjsp(instance, time_limit=seconds, workers=1)
    if solution.schedule is None:
        return name, probing, None
    schedule = solution.schedule
    report = validate_flexible_schedule(instance, schedule.machines, schedule.start_times, solution.makespan)
    assert report.ok, (name, report)
    return name, probing, int(solution.makespan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-options", type=int, default=3000)
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--processes", type=int, default=1, help="solves at once (more: slower presolve each)")
    args = parser.parse_args()
    names = [info.name for info in list_fjsp("behnke") if options_of(info.name) >= args.min_options]
    tasks = [(name, probing, args.time_limit) for name in names for probing in (False, True)]
    with multiprocessing.get_context("spawn").Pool(args.processes) as pool:
        results = {(name, probing): makespan for name, probing, makespan in pool.map(solve, tasks)}
    print("| instance | size | options | upper bound | probing off (shipped) | default probing |")
    print("|---|---|---:|---:|---:|---:|")
    gaps: dict[bool, list[float]] = {False: [], True: []}
    for name in names:
        info = next(i for i in list_fjsp("behnke") if i.name == name)
        ub = info.upper_bound
        cells = []
        for probing in (False, True):
            makespan = results[(name, probing)]
            cells.append("none" if makespan is None else f"{makespan} ({100 * (makespan - ub) / ub:.1f} %)")
        if all(results[(name, p)] is not None for p in (False, True)):
            for p in (False, True):
                gaps[p].append(100 * (results[(name, p)] - ub) / ub)
        size = f"{info.n_jobs}x{info.n_machines}"
        print(f"| {name} | {size} | {options_of(name)} | {ub} | {cells[0]} | {cells[1]} |")
    found = {p: sum(results[(n, p)] is not None for n in names) for p in (False, True)}
    print(f"\nschedules found: probing off {found[False]}/{len(names)}, default {found[True]}/{len(names)}; "
          f"mean gap where both found one: {mean(gaps[False]):.1f} % vs {mean(gaps[True]):.1f} %"
          if gaps[False] else "")


if __name__ == "__main__":
    main()
