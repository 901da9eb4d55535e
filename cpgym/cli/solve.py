"""``cpgym solve INSTANCE [--method M]``: one instance of any problem, with any evaluator method.

The instance is a bundled name or a file (``--index N`` picks one of a file holding several). The
method is an evaluator spec (see :mod:`cpgym.evaluation.methods`); ``--time-limit`` fills in the
seconds of the methods that take them (``cpsat`` -> ``cpsat:T``). Every solution is checked by the
problem registry, and the printed objective is the checked one, never the method's claim. A method's
details (CCG's ``iterations`` and ``n_scenarios``) follow the common fields, then the solution in its
problem's JSON form (``start_times``; ``machines`` and ``start_times`` for the flexible job shop; ``x``),
whose per-job lists only ``--json`` prints. ``--gantt`` draws job-shop and flexible job-shop schedules.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from cpgym.errors import ArgumentError, Status, UnknownMethodError
from cpgym.evaluation.methods import MethodResult, Settings, Solver, available, make_solver, problems_of, rule_names
from cpgym.evaluation.report import gap_percent
from cpgym.instances.problems import Check, Problem, check, problem_of
from cpgym.instances.resolve import resolve_instance

DEFAULT_METHODS = ("cpsat", "ccg")  # the exact solvers; a problem's default is the first that applies to it
SECONDS_METHODS = ("cpsat", "ccg", "neur2ro")  # methods whose spec argument is a time limit
GANTT_SUFFIXES = (".png", ".svg", ".pdf")
# Field names as printed before every method went through the evaluator: the job shop's (a minimisation:
# the method's bound is a lower bound, the best-known value an upper one) and the robust problems'.
FIELD_NAMES = {
    "min": {"bound": "lower_bound", "best_known": "best_known_upper_bound", "objective_bound": None},
    "max": {"wall_time": "time", "objective_bound": "objective_upper"},
}


def plain(value: Any) -> Any:
    """``value`` with numpy values as Python ones and non-finite floats as None (valid JSON)."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def print_record(record: dict, json_output: bool) -> None:
    """One JSON object, or one ``key: value`` line per field."""
    record = plain(record)
    if json_output:
        print(json.dumps(record, allow_nan=False))
        return
    for key, value in record.items():
        if isinstance(value, list):  # a decision vector on one line; messages separated by "; "
            value = ("; " if value and isinstance(value[0], str) else " ").join(map(str, value))
        print(f"{key:>22}: {value}")


def _applies(name: str) -> tuple[str, ...]:
    """The problems of an :func:`available` name (a pattern such as ``gnn-sampleN``: those of an instance of it)."""
    try:
        return problems_of(name)
    except UnknownMethodError:
        return problems_of(name.replace("SECONDS", "1").replace("N", "2"))


def methods_for(problem: Problem) -> list[str]:
    """The method names that apply to ``problem``, and ``H+cpsat:SECONDS`` where CP-SAT does."""
    names = [name for name in available() if problem.name in _applies(name)]
    return names + ["H+cpsat:SECONDS"] if problem.name in problems_of("cpsat") else names


def method_spec(method: str, time_limit: float, mode: str | None) -> str:
    """The evaluator spec of ``--method``: ``--time-limit`` and ``--mode`` fill in an argument it leaves out."""
    heuristic, plus, warm = method.partition("+")
    if plus:
        return f"{method_spec(heuristic, time_limit, mode)}+{method_spec(warm, time_limit, mode)}"
    name, colon, _ = method.partition(":")
    if colon:
        return method
    if name in SECONDS_METHODS:
        return f"{name}:{time_limit}"
    return f"{name}:{mode}" if mode and name in rule_names() else method


def build_solver(method: str, problem: Problem, time_limit: float, mode: str | None) -> Solver:
    """The evaluator's solver of ``--method``, refused with the applicable methods when it does not fit ``problem``."""
    try:
        applies = problems_of(method)
    except ValueError:
        name = method.partition(":")[0]
        raise UnknownMethodError(name, methods_for(problem), f"for {problem.name} instances") from None
    if problem.name not in applies:
        raise ArgumentError(f"method {method!r} solves {', '.join(applies)} instances, not {problem.name} "
                            f"({problem.title}); methods for {problem.name}: {', '.join(methods_for(problem))}")
    spec = method_spec(method, time_limit, mode)
    try:
        return make_solver(spec)
    except ValueError as error:  # a malformed argument: cpsat:abc, mwkr:sideways, mwkr+ccg:5
        raise ArgumentError(f"method {spec!r}: {error}") from None


def gantt_path(text: str | None, problem: Problem) -> Path | None:
    """The ``--gantt`` file, checked before solving: a (flexible) job-shop instance, a known suffix, an
    existing folder."""
    if text is None:
        return None
    from cpgym.plot.gantt import PROBLEMS

    path = Path(text)
    if problem.name not in PROBLEMS:
        raise ArgumentError(f"--gantt draws job-shop schedules ({', '.join(PROBLEMS)}); {problem.title} has none")
    if path.suffix.lower() not in GANTT_SUFFIXES:
        raise ArgumentError(f"--gantt {text}: the file must end in {', '.join(GANTT_SUFFIXES)}")
    if not path.parent.is_dir():
        raise ArgumentError(f"--gantt {text}: folder {path.parent} does not exist")
    return path


def _record(instance: Any, problem: Problem, method: str, result: MethodResult, checked: Check | None,
            wall: float) -> dict:
    """The printed fields; the objective is the checked one (None without a valid solution). The method's
    details follow, except those named like a printed field."""
    valid = checked is not None and checked.ok
    best = problem.best_known(instance)[0]
    objective = checked.objective if valid else None
    gap = gap_percent(objective, best, problem.sense)
    record = {
        "instance": instance.name,
        "method": method,
        "status": result.status if checked is None or valid else Status.INVALID,
        problem.objective_field: objective,
        "objective_bound": checked.objective_bound if valid else None,
        "bound": result.bound,
        "best_known": best,
        "gap_percent": None if gap is None else round(gap, 3) + 0.0,  # + 0.0: no -0.0
        "wall_time": round(wall, 3),
    }
    names = FIELD_NAMES[problem.sense]
    record = {names.get(key, key): value for key, value in record.items() if names.get(key, key) is not None}
    record.update((key, value) for key, value in result.details.items() if key not in record)
    if valid:  # the solution's fields of the problem's JSON record (start_times; machines; x)
        solution = problem.record(instance, result.solution, objective)
        record.update((key, value) for key, value in solution.items() if key not in record)
    elif checked is not None:
        record["violations"] = checked.violations[:5]
    return record


def _per_job(value: Any) -> bool:
    """Is ``value`` a list of per-job lists (a schedule's field, left out of the text output)?"""
    return isinstance(value, list) and any(isinstance(item, list) for item in value)


def run(args: argparse.Namespace) -> int:
    """Solve, check and print; 0 with a valid solution, 1 without one."""
    import cpgym.cp_models  # noqa: F401  (registers the robust problems' scorers used by check)

    instance = resolve_instance(args.target, args.index)
    problem = problem_of(instance)
    gantt = gantt_path(args.gantt, problem)
    method = args.method or next(m for m in DEFAULT_METHODS if problem.name in problems_of(m))
    solver = build_solver(method, problem, args.time_limit, args.mode)
    settings = Settings(threads=args.workers or os.cpu_count() or 1, seed=args.seed,
                        eval_time_limit=args.eval_time_limit)
    if hasattr(solver, "prepare"):  # one-time set-up (torch, a model): not timed, as in the evaluator
        solver.prepare(settings)
    started = time.perf_counter()
    result = solver(instance, settings)
    wall = time.perf_counter() - started
    checked = None if result.solution is None else check(instance, result.solution, settings.eval_time_limit)
    record = plain(_record(instance, problem, method, result, checked, wall))
    valid = checked is not None and checked.ok
    text = {key: value for key, value in record.items() if not _per_job(value)}  # --json or --gantt show schedules
    print_record(record if args.json else text, args.json)
    if gantt is not None and valid:
        from cpgym.plot.gantt import plot_record

        plot_record(instance, record, gantt)
        if not args.json:
            print(f"{'gantt':>22}: {gantt}")
    return 0 if valid else 1
