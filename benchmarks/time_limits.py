"""Hard time limits: every method's wall time against its limit + max(0.5 s, 5 %), model building included.

Runs the evaluator in memory (every answer validated) on instances where limits bite: a generated
200x50 job shop (10,000 operations: the learned rule alone needs many seconds there), the largest
capital-budgeting and robust knapsack instances. A row is within its limit when
``wall_time <= limit + max(0.5, 0.05 * limit)``; a method out of time answers status ``unknown``.

    OMP_NUM_THREADS=1 python benchmarks/time_limits.py
"""

from __future__ import annotations

import argparse

import cpgym

JOB_SHOP = ["cpsat:3", "mwkr+cpsat:3", "gnn+cpsat:3", "gnn-sample@3", "tabu:3", "sbh+tabu:3", "lns:3",
            "gnn+lns:5"]
ROBUST = ["ccg:5", "neur2ro:5"]


def limit_of(method: str) -> float:
    """The seconds a method spec promises (the number after its last colon or @)."""
    return float(method.replace("@", ":").rsplit(":", 1)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--job-shop", default="gen:taillard:200x50:1")
    parser.add_argument("--robust", default="CB_n50_xi4_s1,RKP_UN_n80_R1000_H100_h40_dev0.15_d0.1")
    args = parser.parse_args()
    rows = cpgym.evaluate(args.job_shop, JOB_SHOP, threads=1).rows
    rows += cpgym.evaluate(args.robust, ROBUST, threads=1, eval_time_limit=60).rows
    print("| instance | method | limit s | wall s | margin s | within | status | valid |")
    print("|---|---|---:|---:|---:|---|---|---|")
    for row in rows:
        limit = limit_of(row.method)
        margin = max(0.5, 0.05 * limit)
        within = row.wall_time <= limit + margin
        print(f"| {row.instance} | {row.method} | {limit:g} | {row.wall_time:.2f} | {margin:.2f} | "
              f"{'yes' if within else 'NO'} | {row.status} | {row.valid} |")


if __name__ == "__main__":
    main()
