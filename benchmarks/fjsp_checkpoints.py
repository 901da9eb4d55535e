"""Score flexible job-shop GNN checkpoints on held-out generated instances (greedy decoding, or best of
``--samples`` for each setting of ``--temperatures`` x ``--modes``, optionally ``--both-directions``): how
the shipped model and its sampled decoding are chosen without looking at the literature benchmarks.

The instances are those of the trainer's validation set for the same generators and sizes, with other seeds
(``--first-seed + i``; the trainer validates on 10_000 + i): the generators in turn, and for each the sizes
in turn. A checkpoint is a file, or ``lerp:A:B:W``, the interpolation ``(1 - W) * A + W * B`` of two
checkpoints of one architecture (``cpgym.agents.fjsp_gnn.checkpoint.interpolate_fjsp_agents``), and
``SPEC@MODE`` decodes it in another env mode (``with_mode``; ``fjsp_gnn.pt@earliest_end``). Score: the
mean gap (%) of the makespans to the instances' trivial lower bounds, overall and per generator. Each
score is appended to ``--out`` (CSV) as it comes.

    OMP_NUM_THREADS=1 python benchmarks/fjsp_checkpoints.py runs/a/best.pt lerp:old.pt:runs/a/best.pt:0.3 \
        [--instances 280] [--first-seed 70000] [--out benchmarks/results/fjsp_checkpoints.csv]
    OMP_NUM_THREADS=1 python benchmarks/fjsp_checkpoints.py cpgym/agents/models/fjsp_gnn.pt --samples 100 \
        --temperatures 1 1.5 2 --instances 70 --first-seed 110000
    OMP_NUM_THREADS=1 python benchmarks/fjsp_checkpoints.py cpgym/agents/models/fjsp_gnn.pt --samples 100 \
        --temperatures 2.5 1.5,2.5,4 --modes non_delay non_delay,active --both-directions --instances 35

A setting of ``--temperatures`` or ``--modes`` is a comma list: the sampled rollouts take its values in turn
(``solve_fjsp_with_agent(..., temperature=, modes=)``); ``agent`` is the checkpoint's own.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import torch as th

from cpgym.agents.fjsp_gnn.checkpoint import FlexibleGNNAgent, interpolate_fjsp_agents, load_fjsp_agent, with_mode
from cpgym.agents.fjsp_gnn.decoding import solve_fjsp_with_agent
from cpgym.agents.fjsp_gnn.train import TrainConfig, gaps_to_trivial_bounds, greedy_gaps, validation_set
from cpgym.instances.fjsp import FlexibleJobShopInstance

GENERATORS = ("sd1", "hurink-edata", "hurink-rdata", "hurink-vdata", "brandimarte")
SIZES = ((10, 5), (20, 5), (15, 8), (10, 10), (20, 10), (10, 15), (20, 15))  # the shipped model's training sizes


def load(spec: str) -> FlexibleGNNAgent:
    """A checkpoint file, or ``lerp:A:B:W``; ``SPEC@MODE`` decodes it in env mode MODE (both ends of a lerp)."""
    spec, _, mode = spec.partition("@")
    read = load_fjsp_agent if not mode else lambda path: with_mode(load_fjsp_agent(path), mode)
    if spec.startswith("lerp:"):
        first, second, weight = spec[len("lerp:"):].rsplit(":", 2)
        return interpolate_fjsp_agents(read(first), read(second), float(weight))
    return read(spec)


def sampled_gaps(agent: FlexibleGNNAgent, instances: list[FlexibleJobShopInstance], samples: int,
                 temperature: float | tuple[float, ...] | None, modes: tuple[str, ...] | None = None,
                 both_directions: bool = False) -> np.ndarray:
    """Per instance, the gap (%) of the best of ``samples`` rollouts (seed 0) to the trivial lower bound."""
    makespans = [solve_fjsp_with_agent(agent, instance, samples=samples, temperature=temperature, modes=modes,
                                       both_directions=both_directions).makespan for instance in instances]
    return gaps_to_trivial_bounds(makespans, instances)


def setting(text: str, kind: type) -> tuple | None:
    """A comma list of ``kind`` values, or None for ``agent`` (the checkpoint's own)."""
    return None if text == "agent" else tuple(kind(item) for item in text.split(","))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", help="checkpoint files or lerp:A:B:W")
    parser.add_argument("--instances", type=int, default=280)
    parser.add_argument("--first-seed", type=int, default=70_000)
    parser.add_argument("--samples", type=int, default=1, help="rollouts per instance (1: greedy)")
    parser.add_argument("--temperatures", nargs="+", default=["agent"],
                        help="sampling temperature settings to score (with --samples > 1): comma lists, or agent")
    parser.add_argument("--modes", nargs="+", default=["agent"],
                        help="env mode settings of the sampled rollouts: comma lists, or agent")
    parser.add_argument("--both-directions", action="store_true", help="half the rollouts on the time reversal")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/fjsp_checkpoints.csv"))
    args = parser.parse_args()
    th.set_num_threads(1)
    config = TrainConfig(generators=GENERATORS, sizes=SIZES, validation_instances=args.instances, mode="non_delay")
    instances = validation_set(config, first_seed=args.first_seed)
    fields = ["checkpoint", "instances", "first_seed", "samples", "temperature", "modes", "both_directions",
              "mean_gap", *GENERATORS]
    new = not args.out.exists()
    if not new and args.out.open().readline().rstrip("\r\n") != ",".join(fields):
        parser.error(f"{args.out} has other columns (an older version of this script): name another --out")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        if new:
            writer.writeheader()
        for spec in args.checkpoints:
            agent = load(spec)
            combinations = [(t, m) for t in args.temperatures for m in args.modes] if args.samples > 1 else [None]
            for combination in combinations:
                if combination is None:
                    gaps, temperature, modes = greedy_gaps(agent.policy, instances, agent.mode), "", ""
                else:
                    temperature, modes = combination
                    gaps = sampled_gaps(agent, instances, args.samples, setting(temperature, float),
                                        setting(modes, str), args.both_directions)
                row = {"checkpoint": spec, "instances": args.instances, "first_seed": args.first_seed,
                       "samples": args.samples, "temperature": temperature, "modes": modes,
                       "both_directions": args.both_directions and combination is not None,
                       "mean_gap": round(float(gaps.mean()), 2),
                       **{name: round(float(gaps[k::len(GENERATORS)].mean()), 2) for k, name in enumerate(GENERATORS)}}
                writer.writerow(row)
                handle.flush()
                print(" ".join(f"{key}={value}" for key, value in row.items()), flush=True)


if __name__ == "__main__":
    main()
