"""``cpgym evaluate`` / ``python evaluate.py``: methods x datasets, validated, resumable, parallel.

Example::

    cpgym evaluate --datasets ta,dmu,la --methods spt,mwkr,mopnr,gnn,cpsat:60,gnn+cpsat:60 \\
        --workers 2 --out results/NAME

Outputs under ``--out``: ``results.csv`` (one row per instance x method, written as results
arrive), ``solutions/*.json`` (every validated schedule), ``summary.md`` (tables per dataset
and size group), ``gaps_*.png`` (gap charts) and, with ``--gantt INSTANCE``, Gantt charts.
Rerunning with the same ``--out`` skips finished rows.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from cpgym.evaluation import datasets, report
from cpgym.evaluation.methods import Settings, make_solver, problems_of
from cpgym.evaluation.results import ResultStore
from cpgym.evaluation.runner import Task, run_tasks
from cpgym.instances import problem_of

DEFAULT_DATASETS = "ta:15x15,ta:20x15"
DEFAULT_RULES = "spt,mwkr,mopnr,fdd_mwkr"


def default_methods() -> str:
    """Rules, the shipped agent when present, and CP-SAT at 10 s."""
    from cpgym.agents.shipped import shipped_model_path

    gnn = ",gnn" if shipped_model_path() is not None else ""
    return f"{DEFAULT_RULES}{gnn},cpsat:10"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cpgym evaluate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--datasets", default=DEFAULT_DATASETS, help=f"comma-separated dataset specs (default {DEFAULT_DATASETS})"
    )
    parser.add_argument(
        "--methods", default=None, help="comma-separated method specs (default: rules, shipped gnn, cpsat:10)"
    )
    parser.add_argument("--workers", type=int, default=1, help="tasks run in parallel (default 1)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads per task (default: cores // workers)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/latest", help="output folder; reuse it to resume")
    parser.add_argument("--backend", choices=["local", "ray"], default="local")
    parser.add_argument("--address", default=None, help="Ray cluster address HOST:PORT (default: start a local Ray)")
    parser.add_argument(
        "--eval-time-limit", type=float, default=30.0, help="seconds for the exact robust evaluation of a decision"
    )
    parser.add_argument("--gantt", metavar="INSTANCE", help="draw Gantt charts of every method's schedule for INSTANCE")
    parser.add_argument("--no-plots", action="store_true", help="skip the gap charts")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary printout")
    return parser


def evaluate(args: argparse.Namespace) -> Path:
    """Run the evaluation described by ``args``; return the output folder."""
    methods = [m.strip() for m in (args.methods or default_methods()).split(",") if m.strip()]
    for method in methods:
        make_solver(method)  # fail fast on a bad spec, before any work starts
    items = datasets.resolve_all([d.strip() for d in args.datasets.split(",") if d.strip()])
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.workers)
    settings = Settings(threads=threads, seed=args.seed, eval_time_limit=args.eval_time_limit)
    store = ResultStore(args.out)
    (store.out / "config.json").write_text(
        json.dumps(
            {
                "datasets": args.datasets,
                "methods": methods,
                "workers": args.workers,
                "threads": threads,
                "seed": args.seed,
                "backend": args.backend,
            },
            indent=1,
        )
    )
    done = store.done()
    applies = {m: problems_of(m) for m in methods}
    tasks = [
        Task(item, m, settings)
        for item in items
        for m in methods
        if problem_of(item.instance).name in applies[m] and (item.instance.name, m) not in done
    ]
    if tasks:
        _run(tasks, args, store)
    summary = report.summarise(store.rows)
    text = report.markdown(summary)
    (store.out / "summary.md").write_text(text)
    if not args.no_plots:
        report.plot_gaps(summary, store.out)
    if args.gantt:
        _gantts(store, args.gantt)
    if not args.quiet:
        print(text)
        print(f"results in {store.out}/ (results.csv, summary.md, solutions/)")
    return store.out


def _run(tasks: list[Task], args: argparse.Namespace, store: ResultStore) -> None:
    from tqdm import tqdm

    results = run_tasks(tasks, args.workers, args.backend, args.address)
    with tqdm(total=len(tasks), desc="evaluate", unit="task", disable=args.quiet) as bar:
        for row, solution in results:
            store.add(row, solution)
            if row["status"] in ("INVALID", "error"):
                tqdm.write(
                    f"!! {row['instance']} / {row['method']}: {row['status']}: {row.get('error')}", file=sys.stderr
                )
            bar.set_postfix_str(f"{row['instance']} {row['method']} {row.get('objective', '')}")
            bar.update()


def _gantts(store: ResultStore, instance_name: str) -> None:
    from cpgym.instances import Schedule
    from cpgym.plot.gantt import plot_gantt

    items = {i.instance.name: i.instance for i in datasets.resolve(instance_name)}
    instance = items[instance_name] if instance_name in items else next(iter(items.values()))
    for row in store.rows:
        path = store.solution_path(row["instance"], row["method"])
        if row["instance"] == instance.name and row["valid"] == "True" and path.exists():
            schedule = Schedule.from_dict(json.loads(path.read_text()), instance)
            safe = store.solution_path(instance.name, row["method"]).stem
            plot_gantt(
                schedule,
                store.out / f"gantt_{safe}.png",
                title=f"{instance.name} / {row['method']}: {schedule.makespan}",
            )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        evaluate(args)
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
