"""Compare ways of running CP-SAT from the shipped FJSP agent's greedy schedule on held-out generated
instances: how the one-worker warm start of ``gnn+cpsat:T`` (``improve_fjsp``) is chosen without looking at
the literature benchmarks.

Instances: for each size of ``--sizes``, three instances of ``--generator`` seeded ``--first-seed + 10 i + k``.
The agent's greedy schedule is computed once per instance; its decoding time counts inside ``--seconds``.
Variants (CP-SAT with one worker, seed ``--seed``):

* ``improve``: :func:`cpgym.cp_models.fjsp_cpsat.improve_fjsp` as it is;
* ``plain[:JSON]``: CP-SAT without the hint, with the CP-SAT parameters of the JSON object;
* ``hint[:JSON]``: one solve from the hint with those parameters;
* ``two-phase[:JSON]``: half the time from the hint with the defaults, the rest from the best schedule
  so far with those parameters (``two-phase:{"interleave_search": true}`` is ``improve_fjsp`` of
  sessions 10-13).

Score: the mean gap (%) of the makespans to the trivial lower bounds, overall and per size. Every schedule
is validated; rows are appended to ``--out`` (CSV) as they come, and rows already there are not rerun.

    OMP_NUM_THREADS=1 python benchmarks/fjsp_warm_start_variants.py improve plain \\
        'hint:{"interleave_search": true, "subsolvers": ["default_lp"]}' --generator hurink-edata
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
import torch as th

from cpgym.agents.fjsp_gnn.checkpoint import load_fjsp_agent
from cpgym.agents.fjsp_gnn.decoding import solve_fjsp_with_agent
from cpgym.cp_models.fjsp_cpsat import FlexibleJobShopSolution, improve_fjsp, solve_fjsp
from cpgym.instances.fjsp import FlexibleJobShopInstance
from cpgym.instances.fjsp_generators import generator_kind
from cpgym.instances.fjsp_schedule import FlexibleSchedule, validate_flexible_schedule

SIZES = "10x5,15x5,20x5,10x10,15x10,20x10,30x10,15x15"
FIELDS = ["variant", "generator", "seed", "instance", "size", "lower_bound", "hint", "makespan", "wall_time"]


def run(variant: str, instance: FlexibleJobShopInstance, hint: FlexibleSchedule, seconds: float,
        seed: int) -> FlexibleJobShopSolution:
    """Solve ``instance`` with ``variant`` within ``seconds``."""
    name, _, text = variant.partition(":")
    parameters = json.loads(text) if text else None
    if name == "improve":
        return improve_fjsp(instance, hint, seconds, workers=1, seed=seed)
    if name == "plain":
        return solve_fjsp(instance, seconds, 1, seed, parameters=parameters)
    if name == "hint":
        return solve_fjsp(instance, seconds, 1, seed, hint=hint, parameters=parameters)
    if name == "two-phase":
        first = solve_fjsp(instance, seconds / 2, 1, seed, hint=hint)
        second = solve_fjsp(instance, seconds - first.wall_time, 1, seed, hint=first.schedule or hint,
                            parameters=parameters)
        improved = second.schedule is not None and (first.schedule is None or second.makespan <= first.makespan)
        return second if improved else first
    raise SystemExit(f"unknown variant {variant!r}: improve, plain[:JSON], hint[:JSON] or two-phase[:JSON]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="+")
    parser.add_argument("--generator", default="hurink-edata")
    parser.add_argument("--sizes", default=SIZES, help="JOBSxMACHINES, comma-separated")
    parser.add_argument("--first-seed", type=int, default=90_000)
    parser.add_argument("--seed", type=int, default=0, help="CP-SAT's seed")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/fjsp_warm_start_variants.csv"))
    args = parser.parse_args()
    th.set_num_threads(1)
    sizes = [tuple(int(x) for x in size.split("x")) for size in args.sizes.split(",")]
    make = generator_kind(args.generator).make
    seeds = [(n, m, args.first_seed + 10 * i + k) for i, (n, m) in enumerate(sizes) for k in range(3)]
    instances = [make(n, m, seed=seed, name=f"{args.generator}_{n}x{m}_{seed}") for n, m, seed in seeds]
    done = set()
    if args.out.exists():
        with args.out.open() as handle:
            done = {(row["variant"], row["generator"], row["seed"], row["instance"]) for row in csv.DictReader(handle)}
    agent = load_fjsp_agent()
    hints = {}
    for instance in instances:
        started = time.perf_counter()
        hints[instance.name] = (solve_fjsp_with_agent(agent, instance), time.perf_counter() - started)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    new = not args.out.exists()
    with args.out.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        if new:
            writer.writeheader()
        for variant in args.variants:
            gaps = {}
            for instance in instances:
                hint, decoding = hints[instance.name]
                bound = instance.trivial_lower_bound()
                if (variant, args.generator, str(args.seed), instance.name) in done:
                    continue
                started = time.perf_counter()
                result = run(variant, instance, hint, args.seconds - decoding, args.seed)
                wall = decoding + time.perf_counter() - started
                schedule = result.schedule or (None if variant.startswith("plain") else hint)
                size = f"{instance.n_jobs}x{instance.n_machines}"
                if schedule is not None:
                    report = validate_flexible_schedule(instance, schedule.machines, schedule.start_times,
                                                        schedule.makespan)
                    if not report.ok:
                        raise SystemExit(f"{variant} on {instance.name}: invalid schedule: {report.violations[:3]}")
                    gaps.setdefault(size, []).append(100 * (schedule.makespan - bound) / bound)
                writer.writerow({"variant": variant, "generator": args.generator, "seed": args.seed,
                                 "instance": instance.name, "size": size, "lower_bound": bound,
                                 "hint": hint.makespan, "makespan": "" if schedule is None else schedule.makespan,
                                 "wall_time": round(wall, 2)})
                handle.flush()
            if gaps:
                every = [gap for values in gaps.values() for gap in values]
                per_size = " ".join(f"{size} {np.mean(values):.2f}" for size, values in gaps.items())
                print(f"{variant}: mean gap {np.mean(every):.2f} over {len(every)} ({per_size})", flush=True)


if __name__ == "__main__":
    main()
