"""The shifting-bottleneck heuristic on the 80 Taillard instances: group means of the gap to the best-known
upper bound against the published shifting-bottleneck row (as run by Corsini et al. 2024), and wall time.

Every schedule is checked by the independent validator. The heuristic is deterministic and single-threaded.

    python benchmarks/sbh_taillard.py [--groups 15x15 20x20 ...] [--passes 3] [--instances]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

from cpgym.heuristics.sbh import REOPTIMISATION_PASSES, shifting_bottleneck
from cpgym.instances import dataset, validate_schedule

# mean gap (%) of the shifting-bottleneck heuristic per Taillard group, from Corsini et al. (2024)
TARGET = {"15x15": 11.5, "20x15": 11.0, "20x20": 13.6, "30x15": 15.1, "30x20": 17.8, "50x15": 13.2, "50x20": 20.8,
          "100x20": 15.6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", nargs="+", default=list(TARGET), choices=list(TARGET))
    parser.add_argument("--passes", type=int, default=REOPTIMISATION_PASSES, help="re-optimisation passes")
    parser.add_argument("--instances", action="store_true", help="also print one row per instance")
    args = parser.parse_args()
    print(f"# shifting bottleneck, {args.passes} re-optimisation passes, {platform.processor() or platform.machine()}")
    print("| group | mean gap % | target % | difference | mean s | max s |")
    print("|---|---:|---:|---:|---:|---:|")
    for group in args.groups:
        gaps, seconds = [], []
        for instance in dataset("ta", group):
            started = time.perf_counter()
            schedule = shifting_bottleneck(instance, reoptimisation_passes=args.passes)
            seconds.append(time.perf_counter() - started)
            validate_schedule(instance, schedule.start_times, schedule.makespan).raise_if_invalid()
            gaps.append(100.0 * (schedule.makespan - instance.upper_bound) / instance.upper_bound)
            if args.instances:
                print(f"| {instance.name} | {gaps[-1]:.2f} | | | {seconds[-1]:.3f} | |", flush=True)
        mean = statistics.mean(gaps)
        print(
            f"| {group} | {mean:.2f} | {TARGET[group]:.1f} | {mean - TARGET[group]:+.2f} | "
            f"{statistics.mean(seconds):.3f} | {max(seconds):.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
