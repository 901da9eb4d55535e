"""``cpgym evaluate-x``: the robust objective of a first-stage decision.

``cpgym evaluate-x CB_n10_xi4_s1 --x "0 1 0 ..." [--time-limit S] [--json] [--sampled]`` scores a
first-stage decision with the exact worst-case evaluator (or the optimistic sampled estimate).
Robust instances are solved by ``cpgym solve RKP_... --method ccg`` (see :mod:`cpgym.cli.solve`).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from cpgym.cli.common import reported, seconds
from cpgym.cli.solve import print_record
from cpgym.cp_models.robust.recourse import RECOURSES
from cpgym.errors import ArgumentError
from cpgym.instances.problems import problem_of
from cpgym.instances.resolve import resolve_instance


def robust_instance(target: str) -> Any:
    """A robust knapsack or capital budgeting instance: a bundled ``RKP_``/``CB_`` name or a file."""
    instance = resolve_instance(target)
    problem = problem_of(instance)
    if problem.name not in RECOURSES:
        raise ArgumentError(f"{target} is a {problem.title} instance; evaluate-x takes robust knapsack (RKP_...) "
                            "or capital budgeting (CB_...) instances")
    return instance


def _decision(text: str, n: int) -> np.ndarray:
    values = text.replace(",", " ").split()
    if len(values) != n or any(v not in ("0", "1") for v in values):
        raise ArgumentError(f"--x must be {n} values 0/1, got {text!r}")
    return np.array([int(v) for v in values], dtype=np.int64)


def evaluate_x(args: argparse.Namespace) -> int:
    """``func`` of ``cpgym evaluate-x``: prints the decision's robust objective and bounds."""
    instance = robust_instance(args.instance)
    x = _decision(args.x, instance.n)
    recourse = RECOURSES[problem_of(instance).name]
    evaluation = (recourse.sampled(instance, x) if args.sampled
                  else recourse.evaluate(instance, x, time_limit=args.time_limit))
    record = {"instance": instance.name, "x": " ".join(map(str, x)), **evaluation.as_dict()}
    if args.sampled:
        record["note"] = "sampled estimate: optimistic (an upper bound on the robust objective)"
    print_record(record, args.json)
    return 0


def add_evaluate_x_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``evaluate-x``: score a first-stage decision with the exact (or sampled) evaluator."""
    parser = subparsers.add_parser("evaluate-x", help="robust objective of a first-stage decision x")
    parser.add_argument("instance", help="bundled RKP_/CB_ name or instance file")
    parser.add_argument("--x", required=True, help='first-stage decision, e.g. "0 1 0 1"')
    parser.add_argument("--time-limit", type=seconds, default=60.0, help="seconds for the exact evaluation")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--sampled", action="store_true", help="optimistic sampled estimate instead of exact")
    parser.set_defaults(func=reported("evaluate-x", evaluate_x))
