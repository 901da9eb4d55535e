"""Greedy decoding time: incremental GNN inference vs. a full forward pass per step, side by side.

For each instance both engines decode the same model greedily on one CPU thread; the table gives
both times, the speed-up and whether the two schedules (and action sequences) are identical.
The full-forward engine is skipped above ``--full-up-to`` operations (it takes minutes there).

    OMP_NUM_THREADS=1 python benchmarks/incremental_decoding.py
    OMP_NUM_THREADS=1 python benchmarks/incremental_decoding.py --instances ta01,ta71 --model runs/NAME/best.pt
"""

from __future__ import annotations

import argparse
import time

import torch as th

from cpgym.agents.gnn.checkpoint import load_agent
from cpgym.agents.gnn.decoding import decode_with_agent
from cpgym.evaluation.datasets import resolve

INSTANCES = "ta01,ta21,ta41,ta51,ta61,ta71,dmu41,dmu71,gen:taillard:100x100:1,gen:taillard:1000x10:1"


def _timed(agent, instance, incremental: bool):
    started = time.perf_counter()
    schedule, actions = decode_with_agent(agent, instance, incremental=incremental)
    return schedule, actions, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="GNN checkpoint (default: the shipped model)")
    parser.add_argument("--instances", default=INSTANCES, help="evaluator dataset specs, comma-separated")
    parser.add_argument("--full-up-to", type=int, default=10_000, help="largest instance (operations) "
                        "decoded with the full forward pass too")
    args = parser.parse_args()
    th.set_num_threads(1)
    agent = load_agent(args.model, device="cpu")  # None: the shipped model
    print("| instance | size | operations | full forward (s) | incremental (s) | speed-up | same schedule |")
    print("|---|---|---:|---:|---:|---:|---|")
    for spec in args.instances.split(","):
        for item in resolve(spec):
            instance = item.instance
            schedule, actions, fast = _timed(agent, instance, incremental=True)
            size = f"{instance.n_jobs}x{instance.n_machines}"
            if instance.n_operations <= args.full_up_to:
                reference, reference_actions, slow = _timed(agent, instance, incremental=False)
                same = "yes" if actions == reference_actions else f"no ({schedule.makespan} vs {reference.makespan})"
                print(f"| {instance.name} | {size} | {instance.n_operations} | {slow:.2f} | {fast:.2f} | "
                      f"{slow / fast:.1f}x | {same} |", flush=True)
            else:
                print(f"| {instance.name} | {size} | {instance.n_operations} | – | {fast:.2f} | – | – |", flush=True)


if __name__ == "__main__":
    main()
