"""CP-SAT on one instance of each Taillard size group at 10 s and 60 s with the machine's cores.

Prints makespan, proven bound, gap to the best-known upper bound and the bound's gap to the
best-known lower bound. Every schedule is checked by the independent validator.

    python benchmarks/cpsat_taillard.py [--limits 10 60] [--instances ta01 ta11 ...] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import platform

from cpgym.cp_models import solve_jobshop
from cpgym.instances import load, validate_schedule

DEFAULT = ["ta01", "ta11", "ta21", "ta31", "ta41", "ta51", "ta61", "ta71"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limits", type=float, nargs="+", default=[10.0, 60.0])
    parser.add_argument("--instances", nargs="+", default=DEFAULT)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    args = parser.parse_args()
    print(f"# CP-SAT, {args.workers} workers, {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(
        "| instance | size | limit s | makespan | bound | BKS ub | gap to ub % | BKS lb | bound gap to lb % | status |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for name in args.instances:
        instance = load(name)
        for limit in args.limits:
            result = solve_jobshop(instance, time_limit=limit, workers=args.workers, seed=0)
            validate_schedule(instance, result.schedule.start_times, result.makespan).raise_if_invalid()
            bound_gap = 100.0 * (instance.lower_bound - result.lower_bound) / instance.lower_bound
            print(
                f"| {name} | {instance.size} | {limit:g} | {result.makespan} | {result.lower_bound} | "
                f"{instance.upper_bound} | {result.gap_to_best_known:.2f} | {instance.lower_bound} | {bound_gap:.2f} | "
                f"{result.status} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
