"""The GNN agent against every dispatching rule and L2D, per Taillard and DMU size group.

Runs the evaluator (validated, resumable) with every rule in both modes, the learned rule
greedy, and best-of-``--samples`` sampling on the groups up to ``--sample-up-to`` operations,
then prints one table: per group the best rule (over all 18 rule/mode combinations, chosen per
group on its mean gap), GNN greedy, the published L2D greedy gap (Zhang et al., NeurIPS 2020,
Table 2), GNN sampling, and the margins the GNN-agent issue asks for (greedy below the best rule
and below L2D; sampling at least 5 points below the best rule up to 30x20).

    OMP_NUM_THREADS=1 python benchmarks/gnn_vs_rules.py --out results/gnn_vs_rules
    python benchmarks/gnn_vs_rules.py --model runs/NAME/best.pt --datasets ta:15x15 --samples 0 --out /tmp/g
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from statistics import mean

import cpgym
from cpgym.agents.rules import RULES
from cpgym.evaluation.results import ResultRow

L2D_GREEDY = {"ta 15x15": 26.0, "ta 20x15": 30.0, "ta 20x20": 31.6, "ta 30x15": 33.0, "ta 30x20": 33.6,
              "ta 50x15": 22.4, "ta 50x20": 26.5, "ta 100x20": 13.6}
SAMPLE_GROUPS = ("15x15", "20x15", "20x20", "30x15", "30x20")


def run(datasets: str, methods: list[str], out: str, threads: int) -> list[ResultRow]:
    return cpgym.evaluate(datasets, methods, out, workers=1, threads=threads, plots=False).rows


def group_gaps(rows: list[ResultRow]) -> dict[tuple[str, str], dict[str, list[float]]]:
    """(group label, method) -> gaps of the valid rows; group label = 'dataset JxM'."""
    gaps: dict = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row.valid:
            gaps[f"{row.dataset} {row.group}"][row.method].append(row.gap_percent)
    return gaps


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _diff(value: float | None, reference: float) -> str:
    return "–" if value is None else f"{value - reference:+.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="GNN checkpoint (.pt); default: the shipped model")
    parser.add_argument("--datasets", default="ta,dmu")
    parser.add_argument("--samples", type=int, default=64, help="sampled rollouts (0: skip sampling)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per task")
    parser.add_argument("--out", default="results/gnn_vs_rules")
    args = parser.parse_args()

    suffix = f":{args.model}" if args.model else ""
    rules = [f"{rule}{mode}" for rule in RULES if rule != "random" for mode in ("", ":active")]
    greedy, sampling = f"gnn{suffix}", f"gnn-sample{args.samples}{suffix}"
    rows = run(args.datasets, rules + [greedy], args.out, args.threads)
    if args.samples > 1:
        small = ",".join(f"{d}:{g}" for d in args.datasets.split(",") for g in SAMPLE_GROUPS)
        rows = run(small, rules + [greedy, sampling], args.out, args.threads)  # resumes: adds sampling only
    gaps = group_gaps(rows)
    times: dict = defaultdict(list)
    for row in rows:
        if row.method in (greedy, sampling) and row.valid:
            times[f"{row.dataset} {row.group}", row.method].append(row.wall_time)
    seconds = lambda group, method: f"{mean(times[group, method]):.1f}" if times[group, method] else "–"  # noqa: E731

    print(f"| group | best rule | GNN greedy | L2D greedy | GNN sample{args.samples} | greedy - best rule "
          f"| sample - best rule | greedy s | sample s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for group in sorted(gaps, key=lambda g: (g.split()[0], [int(v) for v in g.split()[1].split("x")])):
        by_method = {method: mean(values) for method, values in gaps[group].items()}
        best_rule = min((m for m in by_method if m in rules), key=by_method.get)
        rule_gap, greedy_gap = by_method[best_rule], by_method.get(greedy)
        sample_gap = by_method.get(sampling)
        print(f"| {group} | {best_rule} {rule_gap:.1f} | {_fmt(greedy_gap)} | {_fmt(L2D_GREEDY.get(group))} "
              f"| {_fmt(sample_gap)} | {_diff(greedy_gap, rule_gap)} | {_diff(sample_gap, rule_gap)} "
              f"| {seconds(group, greedy)} | {seconds(group, sampling)} |")


if __name__ == "__main__":
    main()
