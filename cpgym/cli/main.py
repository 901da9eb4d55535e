"""The ``cpgym`` console script: ``solve``, ``instances``, ``train``, ``evaluate``, ``evaluate-x``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cpgym.instances import JobShopInstance, format_orlib, format_taillard, list_instances, load
from cpgym.instances import read_instance as read_instance_file
from cpgym.instances.library import info

# Subcommands whose logic (and heavy imports such as torch) live in their own module.
_DELEGATED = {"train": "cpgym.cli.train", "evaluate": "cpgym.cli.evaluate"}


def resolve_instance(target: str) -> JobShopInstance:
    """A bundled instance name (``ta01``) or a path to an instance file."""
    try:
        return load(target)
    except KeyError:
        pass
    path = Path(target)
    if path.is_file():
        return read_instance_file(path)
    raise SystemExit(f"error: {target!r} is neither a bundled instance (see `cpgym instances list`) nor a file")


def _gap(makespan: int | None, instance: JobShopInstance) -> float | None:
    if makespan is None or not instance.upper_bound:
        return None
    return round(100.0 * (makespan - instance.upper_bound) / instance.upper_bound, 3)


def _solve_jobshop(args: argparse.Namespace) -> int:
    import time

    from cpgym.instances import validate_schedule

    instance = resolve_instance(args.target)
    if args.method == "cpsat":
        from cpgym.cp_models import solve_jobshop

        result = solve_jobshop(instance, time_limit=args.time_limit, workers=args.workers, seed=args.seed)
        schedule, status, bound, wall = result.schedule, result.status, result.lower_bound, result.wall_time
    else:
        from cpgym.agents.rules import RULES, dispatch

        if args.method not in RULES:
            known = ", ".join(["cpsat", *RULES])
            raise SystemExit(f"error: unknown method {args.method!r}; known: {known}")
        started = time.perf_counter()
        schedule = dispatch(instance, args.method, mode=args.mode, seed=args.seed)
        status, bound, wall = "heuristic", None, time.perf_counter() - started
    makespan = None
    if schedule is not None:
        validate_schedule(instance, schedule.start_times).raise_if_invalid()
        makespan = schedule.makespan
    record = {
        "instance": instance.name,
        "method": args.method,
        "status": status,
        "makespan": makespan,
        "lower_bound": bound,
        "best_known_upper_bound": instance.upper_bound,
        "gap_percent": _gap(makespan, instance),
        "wall_time": round(wall, 3),
    }
    if args.json:
        if schedule is not None:
            record["start_times"] = schedule.start_times.tolist()
        print(json.dumps(record))
    else:
        for key, value in record.items():
            print(f"{key:>22}: {value}")
    if args.gantt and schedule is not None:
        from cpgym.plot.gantt import plot_gantt

        plot_gantt(schedule, args.gantt)
        if not args.json:
            print(f"{'gantt':>22}: {args.gantt}")
    return 0 if schedule is not None else 1


def _solve(args: argparse.Namespace) -> int:
    from cpgym.cli import robust as cli_ro

    if cli_ro.is_ro_instance(args.target):
        method = "ccg" if args.method == "cpsat" else args.method
        return cli_ro.solve_ro(args.target, method, args.time_limit, args.json)
    return _solve_jobshop(args)


def _instances(args: argparse.Namespace) -> int:
    if args.action == "list":
        rows = list_instances(args.family, args.size)
        print(f"{'instance':<8} {'family':<6} {'size':>7} {'lb':>6} {'ub':>6} status")
        for row in rows:
            print(f"{row.name:<8} {row.family:<6} {row.size:>7} {row.lower_bound:>6} {row.upper_bound:>6} {row.status}")
        print(f"{len(rows)} instances")
        return 0
    if not args.name:
        raise SystemExit(f"error: `cpgym instances {args.action}` needs an instance name")
    instance = resolve_instance(args.name)
    if args.action == "show":
        meta = info(instance.name) if instance.upper_bound else None
        print(f"{instance.name}: {instance.size}, {instance.n_operations} operations")
        if meta:
            print(f"best-known bounds: lb={meta.lower_bound} ub={meta.upper_bound} ({meta.status})")
        print(format_orlib(instance), end="")
        return 0
    if not args.file:
        raise SystemExit("error: `cpgym instances export NAME FILE` needs a file")
    text = format_taillard([instance]) if args.layout == "taillard" else format_orlib(instance)
    Path(args.file).write_text(text)
    print(f"wrote {instance.name} ({args.layout} layout) to {args.file}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cpgym", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    solve = commands.add_parser("solve", help="solve one instance (job shop, robust knapsack or capital budgeting)")
    solve.add_argument("target", metavar="INSTANCE_OR_FILE")
    solve.add_argument("--method", default="cpsat", help="cpsat (default), a dispatching rule (mwkr, spt, ...), or ccg")
    solve.add_argument("--mode", default="non_delay", choices=["active", "non_delay"], help="dispatching mode of rules")
    solve.add_argument("--time-limit", type=float, default=10.0, help="seconds (default 10)")
    solve.add_argument("--workers", type=int, default=None, help="CP-SAT workers (default: all cores)")
    solve.add_argument("--seed", type=int, default=0)
    solve.add_argument("--json", action="store_true", help="print one JSON object with the schedule")
    solve.add_argument("--gantt", metavar="FILE", help="write a Gantt chart (PNG/SVG/PDF)")
    solve.set_defaults(func=_solve)

    instances = commands.add_parser("instances", help="list, show or export bundled instances")
    instances.add_argument("action", choices=["list", "show", "export"])
    instances.add_argument("name", nargs="?")
    instances.add_argument("file", nargs="?")
    instances.add_argument("--family", help="filter the list by family (ta, dmu, la, ...)")
    instances.add_argument("--size", help="filter the list by size, e.g. 20x15")
    instances.add_argument("--layout", choices=["orlib", "taillard"], default="orlib", help="export layout")
    instances.set_defaults(func=_instances)

    for name, module in _DELEGATED.items():
        commands.add_parser(name, help=f"see `cpgym {name} --help` ({module})", add_help=False)

    from cpgym.cli import robust as cli_ro

    cli_ro.add_evaluate_x_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in _DELEGATED:
        import importlib

        return importlib.import_module(_DELEGATED[argv[0]]).main(argv[1:])
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
