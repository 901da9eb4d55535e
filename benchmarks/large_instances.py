"""Large instances: learned dispatching rule vs. static rules vs. CP-SAT at the same cores and time limit.

The claim measured (Tassel, Gebser, Schekotihin, ICAPS 2023): on very large job-shop instances
a learned rule finds better schedules than static rules and than CP-SAT given the same time.
Methods, all on ``--threads`` cores, one task at a time:

* the learned rule, greedy (``gnn:PATH``) and best of ``--samples`` (``gnn-sampleN:PATH``);
* the learned schedule as a CP-SAT warm start (``gnn:PATH+cpsat:T``, T seconds in all);
* plain CP-SAT (``cpsat:T``);
* the static rules (``--rules``, non-delay) and, derived here, ``best-rule`` (per instance the
  best of them; its time is the sum of theirs);

at every limit T in ``--limits`` (default 10 and 60 s). The learned rule and the static rules do
not take a time limit: their own wall times are in the table. Default datasets: ta51-80
(``ta:50x15,ta:50x20,ta:100x20``), dmu31-40 and dmu71-80 (``dmu:50x15,dmu:50x20``) and three
generated Taillard instances each of 100x100 and 1000x10 (``gen:taillard:100x100:3`` =
``taillard(100, 100, time_seed=k, machine_seed=100 + k)`` for k = 1, 2, 3, named
``tai_100x100_k``; likewise ``tai_1000x10_k``).

Built on the evaluator (``cpgym.evaluate``): every schedule is validated, results go to
``OUT/results.csv`` and rerunning with the same ``--out`` resumes. Gaps are to the best-known
upper bound, or on generated instances to the best schedule any method found.

    python benchmarks/large_instances.py --model runs/NAME/best.pt --out results/large
    python benchmarks/large_instances.py --model M.pt --datasets ta51 --limits 10 --samples 4 --out /tmp/large
"""

from __future__ import annotations

import argparse
import os
from collections import defaultdict
from statistics import mean

from cpgym.evaluate import build_parser, evaluate
from cpgym.evaluation import report
from cpgym.evaluation.results import ResultStore

DATASETS = "ta:50x15,ta:50x20,ta:100x20,dmu:50x15,dmu:50x20,gen:taillard:100x100:3,gen:taillard:1000x10:3"
RULES = "spt,mwkr,mopnr,fdd_mwkr"


def method_specs(model: str | None, samples: int, limits: list[float], rules: list[str]) -> dict[str, str]:
    """Short label -> evaluator method spec."""
    suffix = f":{model}" if model else ""
    methods = {rule: rule for rule in rules}
    methods["gnn"] = f"gnn{suffix}"
    if samples > 1:
        methods[f"gnn-sample{samples}"] = f"gnn-sample{samples}{suffix}"
    for limit in limits:
        methods[f"cpsat:{limit:g}"] = f"cpsat:{limit:g}"
        methods[f"gnn+cpsat:{limit:g}"] = f"gnn{suffix}+cpsat:{limit:g}"
    return methods


def labelled_rows(rows: list[dict], methods: dict[str, str], rules: list[str]) -> list[dict]:
    """The evaluator's rows with short method labels, plus one ``best-rule`` row per instance."""
    label = {spec: name for name, spec in methods.items()}
    rows = [{**row, "method": label[row["method"]]} for row in rows if row["method"] in label]
    by_instance: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        if row["method"] in rules:
            by_instance[row["instance"]].append(row)
    for rule_rows in by_instance.values():
        valid = [r for r in rule_rows if r["valid"] == "True"]
        if len(rule_rows) == len(rules) and valid:
            best = min(valid, key=lambda r: float(r["objective"]))
            total = sum(float(r["wall_time"]) for r in rule_rows)
            rows.append({**best, "method": "best-rule", "wall_time": str(total)})
    return rows


def head_to_head(rows: list[dict], pairs: list[tuple[str, str]]) -> list[str]:
    """Lines 'A vs B: wins/ties/losses of A, mean relative difference' over the instances both solved."""
    objective = {(r["instance"], r["method"]): float(r["objective"]) for r in rows if r["valid"] == "True"}
    instances = sorted({r["instance"] for r in rows})
    lines = ["| A | B | instances | A better | tie | B better | mean (A - B) / B % |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for a, b in pairs:
        both = [i for i in instances if (i, a) in objective and (i, b) in objective]
        if not both:
            continue
        diffs = [100.0 * (objective[i, a] - objective[i, b]) / objective[i, b] for i in both]
        lines.append(f"| {a} | {b} | {len(both)} | {sum(d < 0 for d in diffs)} | {sum(d == 0 for d in diffs)} "
                     f"| {sum(d > 0 for d in diffs)} | {mean(diffs):+.2f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="GNN checkpoint (.pt); default: the shipped model")
    parser.add_argument("--datasets", default=DATASETS, help=f"evaluator dataset specs (default {DATASETS})")
    parser.add_argument("--limits", type=float, nargs="+", default=[10.0, 60.0], help="CP-SAT seconds per instance")
    parser.add_argument("--samples", type=int, default=16, help="rollouts of the sampling learned rule")
    parser.add_argument("--rules", default=RULES, help=f"static rules (default {RULES})")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="cores every method gets")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/large_instances")
    args = parser.parse_args()

    rules = [r.strip() for r in args.rules.split(",") if r.strip()]
    methods = method_specs(args.model, args.samples, args.limits, rules)
    argv = ["--datasets", args.datasets, "--methods", ",".join(methods.values()), "--workers", "1",
            "--threads", str(args.threads), "--seed", str(args.seed), "--out", args.out, "--no-plots", "--quiet"]
    print(f"evaluating {len(methods)} methods on {args.datasets} with {args.threads} threads each -> {args.out}/")
    out = evaluate(build_parser().parse_args(argv))

    rows = labelled_rows(ResultStore(out).rows, methods, rules)
    print(report.markdown(report.summarise(rows)))
    pairs = []
    for limit in args.limits:
        cp = f"cpsat:{limit:g}"
        pairs += [("gnn", cp), (f"gnn-sample{args.samples}", cp), (f"gnn+cpsat:{limit:g}", cp)]
    pairs += [("gnn", "best-rule"), (f"gnn-sample{args.samples}", "best-rule")]
    print("\n".join(head_to_head(rows, pairs)))
    print("\n| instance | method | makespan | wall s |\n|---|---|---:|---:|")
    for row in sorted(rows, key=lambda r: (r["instance"], r["method"])):
        print(f"| {row['instance']} | {row['method']} | {row['objective'] or row['status']} "
              f"| {float(row['wall_time'] or 'nan'):.1f} |")


if __name__ == "__main__":
    main()
