"""The shipped FJSP agent sampling forwards, backwards (on the time-reversed instance) and in both directions:
per instance the best of N/2 rollouts each way and of N forwards, on Brandimarte mk01-10 and Hurink's
edata, rdata and vdata la01-40; mean gap (%) to the 2026 best-known upper bounds per set.

Each direction starts with its greedy rollout and samples with seed 0, so the "both" column is what the
evaluator's ``gnn-bisampleN`` gives and the "forward N" column ``gnn-sampleN``. Every schedule is
validated (a backward one after it is read forwards, ``FlexibleSchedule.read_backwards``). One line per
instance as it comes, then one per set.

    OMP_NUM_THREADS=1 python benchmarks/fjsp_directions.py [--sets mk edata] [--samples 100]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch as th

from cpgym.agents.fjsp_gnn.checkpoint import load_fjsp_agent
from cpgym.agents.fjsp_gnn.decoding import solve_fjsp_with_agent
from cpgym.instances import load_fjsp

SETS = {"mk": [f"mk{i:02d}" for i in range(1, 11)],
        **{name: [f"la{i:02d}_{name}" for i in range(1, 41)] for name in ("edata", "rdata", "vdata")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", choices=list(SETS), default=list(SETS))
    parser.add_argument("--samples", type=int, default=100, help="N: rollouts in all (N/2 each way)")
    args = parser.parse_args()
    th.set_num_threads(1)
    agent = load_fjsp_agent()
    half = args.samples // 2
    columns = (f"forward {half}", f"backward {half}", f"both ({half} + {half})", f"forward {args.samples}")
    for name in args.sets:
        gaps = []
        for instance_name in SETS[name]:
            instance = load_fjsp(instance_name)
            forward = solve_fjsp_with_agent(agent, instance, samples=half).makespan
            mirror = solve_fjsp_with_agent(agent, instance.time_reversed(), samples=half)
            backward = mirror.read_backwards(instance).makespan
            more = solve_fjsp_with_agent(agent, instance, samples=args.samples).makespan
            makespans = (forward, backward, min(forward, backward), more)
            gaps.append([100 * (m - instance.upper_bound) / instance.upper_bound for m in makespans])
            print(instance_name, *makespans, instance.upper_bound, flush=True)
        means = np.mean(gaps, axis=0)
        print(name, " | ".join(f"{column} {mean:.2f}" for column, mean in zip(columns, means)), flush=True)


if __name__ == "__main__":
    main()
