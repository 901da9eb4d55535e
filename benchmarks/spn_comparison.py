"""The learned dispatcher against the published state of the art (SPN, Corsini et al., NeurIPS 2024) per
Taillard and DMU size group: greedy and best-of-N gaps, seconds per instance.

Runs the evaluator (validated, resumable) with ``gnn:MODEL`` greedy and ``gnn-sampleN:MODEL`` for each
``--samples`` N (on the groups of at most ``--sample-up-to`` operations, one limit or one per N), and
prints one Markdown table per dataset with SPN's published rows (mean gap % to the best-known upper bound; the issue's
2026 bounds) and the targets: greedy below SPN greedy, best of 128 below SPN best of 512.

    OMP_NUM_THREADS=1 python benchmarks/spn_comparison.py --model jssp_gnn.pt --out runs/spn --workers 2
    python benchmarks/spn_comparison.py --model runs/SL/best.pt --datasets ta:15x15 --samples 128 --out /tmp/s

``--both-directions`` adds ``gnn-bisampleN`` for each N: half the rollouts on the time-reversed instance.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from statistics import mean

import cpgym

TA_GROUPS = ("15x15", "20x15", "20x20", "30x15", "30x20", "50x15", "50x20", "100x20")
DMU_GROUPS = ("20x15", "20x20", "30x15", "30x20", "40x15", "40x20", "50x15", "50x20")
# SPN (Corsini, Porrello, Calderara, Dell'Amico, NeurIPS 2024), mean gap % per group, from the issue
SPN = {
    "ta": {"greedy": (13.8, 15.0, 15.2, 17.1, 18.5, 10.1, 11.5, 5.9),
           "best of 64": (8.2, 9.4, 10.5, 11.5, 13.8, 6.0, 8.6, 2.7),
           "best of 512": (6.5, 8.8, 9.0, 10.6, 12.7, 4.9, 7.6, 2.1)},
    "dmu": {"greedy": (18.0, 19.4, 21.8, 25.8, 17.6, 22.3, 15.7, 19.8),
            "best of 512": (11.3, 12.3, 14.1, 15.9, 11.0, 14.9, 10.7, 15.0)},
}
GROUPS = {"ta": TA_GROUPS, "dmu": DMU_GROUPS}


def operations(group: str) -> int:
    jobs, machines = group.split("x")
    return int(jobs) * int(machines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="jssp_gnn.pt", help="checkpoint file or shipped model name")
    parser.add_argument("--datasets", default="ta,dmu", help="ta, dmu or groups such as ta:15x15")
    parser.add_argument("--samples", type=int, nargs="*", default=[128])
    parser.add_argument("--sample-up-to", type=int, nargs="*", default=[1000],
                        help="largest group (operations) sampled: one value, or one per --samples value")
    parser.add_argument("--both-directions", action="store_true",
                        help="also gnn-bisampleN: half the N rollouts on the time-reversed instance")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    specs = [spec for spec in args.datasets.split(",") if spec]
    greedy = f"gnn:{args.model}"
    rows = list(cpgym.evaluate(specs, [greedy], f"{args.out}/greedy", workers=args.workers,
                               threads=args.threads, plots=False, progress=True).rows)
    limits = args.sample_up_to * len(args.samples) if len(args.sample_up_to) == 1 else args.sample_up_to
    if len(limits) != len(args.samples):
        parser.error("--sample-up-to takes one value or one per --samples value")
    for n, limit in zip(args.samples, limits):
        sampled_specs = [f"{dataset}:{group}" for dataset in ("ta", "dmu") for group in GROUPS[dataset]
                         if operations(group) <= limit
                         and any(spec == dataset or spec == f"{dataset}:{group}" for spec in specs)]
        for kind in ("sample", "bisample") if args.both_directions else ("sample",):
            if sampled_specs:
                rows += cpgym.evaluate(sampled_specs, [f"gnn-{kind}{n}:{args.model}"], f"{args.out}/{kind}{n}",
                                       workers=args.workers, threads=args.threads, plots=False, progress=True).rows
    gaps: dict = defaultdict(list)
    seconds: dict = defaultdict(list)
    for row in rows:
        if row.valid:
            key = (row.dataset, row.group, row.method.split(":")[0])
            gaps[key].append(row.gap_percent)
            seconds[key].append(row.wall_time)
    kinds = ("sample", "bisample") if args.both_directions else ("sample",)
    methods = ["gnn"] + [f"gnn-{kind}{n}" for n in args.samples for kind in kinds]
    for dataset in ("ta", "dmu"):
        groups = [g for g in GROUPS[dataset] if any((dataset, g, m) in gaps for m in methods)]
        if not groups:
            continue
        print(f"\n{dataset} (mean gap %; seconds per instance in brackets), model {args.model}\n")
        print("| method | " + " | ".join(groups) + " |")
        print("|---|" + "---:|" * len(groups))
        for method in methods:
            cells = [f"{mean(gaps[(dataset, g, method)]):.1f} ({mean(seconds[(dataset, g, method)]):.1f} s)"
                     if (dataset, g, method) in gaps else "–" for g in groups]
            print(f"| cpgym {method} | " + " | ".join(cells) + " |")
        for label, values in SPN[dataset].items():
            published = dict(zip(GROUPS[dataset], values))
            print(f"| SPN {label} | " + " | ".join(f"{published[g]:.1f}" for g in groups) + " |")


if __name__ == "__main__":
    main()
