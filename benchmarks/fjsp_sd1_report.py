"""FJSP on the SD1 test sizes: `mwkr-eet`, the shipped FJSP agent (greedy and best of 100) and a CP-SAT
reference, through ``cpgym.evaluate``; one Markdown table of mean makespans and mean gaps (%) to CP-SAT.

N SD1 instances (Song et al. 2022, ``cpgym.instances.generate_sd1``) per size 10x5, 20x5, 15x10, 20x10, with
seeds ``--seed-base + i`` (default 20_000 + i: the agent's training draws random seeds, and its validation
set uses 10_000 + i). They are written as ``.fjs`` files into ``OUT/instances/sd1_JxM/`` and evaluated as
folder datasets, one thread per task (CP-SAT with one worker). Every schedule is checked by the independent
validator. The run is resumable: rows already in ``--out`` are not recomputed.

    OMP_NUM_THREADS=1 python benchmarks/fjsp_sd1_report.py [--n 10] [--cpsat-seconds 30] \
        [--out results/fjsp_sd1_report] [--summarise-only]

Gap of a method on an instance: 100 * (makespan - CP-SAT makespan) / CP-SAT makespan (negative: better
than the CP-SAT reference).
"""

from __future__ import annotations

import argparse
import csv
import statistics
from pathlib import Path

import cpgym
from cpgym.evaluation.results import ResultRow
from cpgym.instances.fjsp import write_fjs
from cpgym.instances.fjsp_generators import generate_sd1

SIZES = ((10, 5), (20, 5), (15, 10), (20, 10))
METHODS = ("mwkr-eet", "gnn", "gnn-sample100")


def write_instances(out: Path, n: int, seed_base: int) -> list[str]:
    """The dataset folders (one per size) holding the N generated instances of each size."""
    folders = []
    for n_jobs, n_machines in SIZES:
        folder = out / "instances" / f"sd1_{n_jobs}x{n_machines}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            name = f"sd1_{n_jobs}x{n_machines}_{seed_base + i}"
            path = folder / f"{name}.fjs"
            if not path.exists():
                write_fjs(generate_sd1(n_jobs, n_machines, seed=seed_base + i, name=name), path)
        folders.append(str(folder))
    return folders


def read_rows(out: Path) -> list[ResultRow]:
    """The rows of ``OUT/results.csv`` (empty when there is none)."""
    path = out / "results.csv"
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return [ResultRow.parse(record) for record in csv.DictReader(handle)]


def table(rows: list[ResultRow], methods: list[str], reference: str, n: int, seed_base: int) -> str:
    """Per size: mean makespan of every method, mean gap (%) to ``reference``, CP-SAT's optimal count."""
    wanted = {f"sd1_{j}x{m}_{seed_base + i}" for j, m in SIZES for i in range(n)}
    makespan = {(r.instance, r.method): r.objective for r in rows
                if r.instance in wanted and r.valid and r.objective is not None}
    status = {r.instance: r.status for r in rows if r.instance in wanted and r.method == reference}
    bound = {r.instance: r.method_bound for r in rows if r.instance in wanted and r.method == reference}
    seconds = {(r.instance, r.method): r.wall_time for r in rows if r.instance in wanted and r.wall_time is not None}
    lines = [
        f"| size | n | {' | '.join(f'`{m}` makespan' for m in [*methods, reference])} | "
        f"{' | '.join(f'`{m}` gap %' for m in methods)} | `{reference}` optimal | `{reference}` gap to its LB % |",
        f"|---|---:|{'---:|' * (2 * len(methods) + 3)}",
    ]
    for n_jobs, n_machines in SIZES:
        names = [f"sd1_{n_jobs}x{n_machines}_{seed_base + i}" for i in range(n)]
        names = [x for x in names if (x, reference) in makespan]  # instances with a reference
        cells = [str(len(names))]
        for method in [*methods, reference]:
            values = [makespan[x, method] for x in names if (x, method) in makespan]
            cells.append(_mean(values, len(names)))
        for method in methods:
            gaps = [100 * (makespan[x, method] - makespan[x, reference]) / makespan[x, reference]
                    for x in names if (x, method) in makespan]
            cells.append(_mean(gaps, len(names), signed=True))
        cells.append(f"{sum(status[x] == 'optimal' for x in names)}/{len(names)}")
        lb_gaps = [100 * (makespan[x, reference] - bound[x]) / makespan[x, reference]
                   for x in names if bound.get(x) is not None]
        cells.append(_mean(lb_gaps, len(names)))
        lines.append(f"| {n_jobs}x{n_machines} | {' | '.join(cells)} |")
    times = []
    for method in [*methods, reference]:
        values = [t for (x, m), t in seconds.items() if m == method]
        if values:
            times.append(f"`{method}` {statistics.mean(values):.2f} s")
    return "\n".join(lines) + "\n\nMean wall time per instance (all sizes): " + ", ".join(times) + "\n"


def _mean(values: list[float], expected: int, signed: bool = False) -> str:
    if not values:
        return "—"
    text = f"{statistics.mean(values):+.2f}" if signed else f"{statistics.mean(values):.1f}"
    return text if len(values) == expected else f"{text} ({len(values)} valid)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10, help="instances per size")
    parser.add_argument("--seed-base", type=int, default=20_000, help="instance i has seed SEED_BASE + i")
    parser.add_argument("--cpsat-seconds", type=float, default=30.0, help="time limit of the CP-SAT reference")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), help="evaluator method specs")
    parser.add_argument("--out", default="results/fjsp_sd1_report", help="results folder (resumable)")
    parser.add_argument("--summarise-only", action="store_true", help="print the table of the rows in --out")
    args = parser.parse_args()
    out = Path(args.out)
    reference = f"cpsat:{args.cpsat_seconds:g}"
    if args.summarise_only:
        rows = read_rows(out)
    else:
        datasets = write_instances(out, args.n, args.seed_base)
        result = cpgym.evaluate(datasets=datasets, methods=[*args.methods, reference], out=out, threads=1,
                                plots=False, progress=True)
        rows = result.rows
        if result.failed:
            print(f"\n{len(result.failed)} task(s) failed; rerun to retry them")
    print(f"\n# SD1, {args.n} instances per size (seeds {args.seed_base}..{args.seed_base + args.n - 1}), "
          f"1 thread per task; gap % to `{reference}` (1 worker)\n")
    print(table(rows, args.methods, reference, args.n, args.seed_base))


if __name__ == "__main__":
    main()
