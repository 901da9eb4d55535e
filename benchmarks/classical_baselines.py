"""Classical baselines on Taillard and DMU: shifting bottleneck, tabu search, LNS, CP-SAT, learned starts.

Runs the evaluator (every schedule validated, resumable: rerun with the same ``--out``) with one
core per task and prints the mean gap per size group next to the published rows on the same
instances and the same 2026 bounds:

* shifting bottleneck and INSA as run by Corsini et al. (NeurIPS 2024), TBGAT after 500 / 5000
  improvement steps (UAI 2024) — Taillard only;
* the targets of the classical-baselines issue: ``sbh`` within 1.5 points of the shifting-bottleneck
  row, ``tabu:10`` below TBGAT-5000 on every Taillard group and below ``cpsat:10`` on 30x15 and larger.

    OMP_NUM_THREADS=1 python benchmarks/classical_baselines.py --out results/classical
    python benchmarks/classical_baselines.py --datasets ta:15x15 --methods sbh,tabu:2 --out /tmp/c
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from statistics import mean

import cpgym

PUBLISHED = {  # Taillard group -> published mean gap % to the 2026 best-known upper bounds
    "shifting bottleneck (Corsini et al. 2024)": [11.5, 11.0, 13.6, 15.1, 17.8, 13.2, 20.8, 15.6],
    "INSA (Corsini et al. 2024)": [14.4, 18.9, 17.3, 21.1, 22.7, 15.9, 20.3, 13.5],
    "TBGAT 500 steps (UAI 2024)": [7.9, 10.5, 11.3, 15.7, 18.1, 11.0, 12.3, 7.1],
    "TBGAT 5000 steps (UAI 2024)": [4.8, 7.1, 7.4, 10.3, 11.2, 5.0, 6.1, 2.0],
}
TAILLARD_GROUPS = ["15x15", "20x15", "20x20", "30x15", "30x20", "50x15", "50x20", "100x20"]
DEFAULT_METHODS = "sbh,tabu:10,cpsat:10,gnn+tabu:10"


def group_means(rows) -> tuple[dict[tuple[str, str, str], float], dict[tuple[str, str, str], float]]:
    """(dataset, group, method) -> (mean gap %, mean wall time s) over the valid rows."""
    gaps, times = defaultdict(list), defaultdict(list)
    for row in rows:
        if row.valid and row.gap_percent is not None:
            gaps[row.dataset, row.group, row.method].append(row.gap_percent)
            times[row.dataset, row.group, row.method].append(row.wall_time)
    return ({key: mean(values) for key, values in gaps.items()}, {key: mean(values) for key, values in times.items()})


def table(rows, methods: list[str]) -> str:
    """Markdown: one line per (dataset, group), one column per method, published Taillard rows appended."""
    gaps, times = group_means(rows)
    cells = sorted({(d, g) for d, g, _ in gaps}, key=lambda c: (c[0], tuple(int(v) for v in c[1].split("x"))))
    lines = ["| dataset | group | " + " | ".join(methods) + " |", "|---|---|" + "---:|" * len(methods)]
    for dataset, group in cells:
        values = [gaps.get((dataset, group, m)) for m in methods]
        shown = ["–" if v is None else f"{v:.1f} ({times[dataset, group, m]:.1f} s)" for v, m in zip(values, methods)]
        lines.append(f"| {dataset} | {group} | " + " | ".join(shown) + " |")
    lines += ["", "| published (Taillard) | " + " | ".join(TAILLARD_GROUPS) + " |",
              "|---|" + "---:|" * len(TAILLARD_GROUPS)]
    lines += [f"| {name} | " + " | ".join(f"{v:.1f}" for v in row) + " |" for name, row in PUBLISHED.items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="ta,dmu")
    parser.add_argument("--methods", default=DEFAULT_METHODS)
    parser.add_argument("--workers", type=int, default=1, help="tasks in parallel, one core each")
    parser.add_argument("--out", default="results/classical")
    args = parser.parse_args()
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    result = cpgym.evaluate(args.datasets, methods, args.out, workers=args.workers, threads=1, plots=False,
                            progress=True)
    print(table(result.rows, methods))


if __name__ == "__main__":
    main()
