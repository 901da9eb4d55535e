"""Command-line helpers for the two-stage robust problems (wired into ``cpgym`` by cpgym/cli.py).

``cpgym solve RKP_... --method ccg --time-limit 60 --json`` and
``cpgym evaluate-x CB_n10_xi4_s1 --x "0 1 0 ..." [--time-limit S] [--json] [--sampled]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from cpgym.cp_models.robust.capital_budgeting import evaluate_capital_budgeting, sampled_capital_budgeting
from cpgym.cp_models.robust.ccg import solve_ccg
from cpgym.cp_models.robust.knapsack import evaluate_knapsack, sampled_knapsack
from cpgym.errors import InstanceFormatError
from cpgym.instances.capital_budgeting import (
    CapitalBudgetingInstance,
    capital_budgeting_names,
    load_capital_budgeting,
    read_capital_budgeting,
)
from cpgym.instances.robust_knapsack import knapsack_names, load_robust_knapsack, read_robust_knapsack

RO_METHODS = ("ccg",)


def _load(target: str):
    """A bundled RKP_/CB_ instance by name, or a file in either format (``None`` if neither)."""
    if target in knapsack_names():
        return load_robust_knapsack(target)
    if target in capital_budgeting_names():
        return load_capital_budgeting(target)
    path = Path(target)
    if not path.is_file():
        return None
    for reader in (read_robust_knapsack, read_capital_budgeting):
        try:
            return reader(path)
        except InstanceFormatError:
            continue
    return None


def is_ro_instance(name_or_path: str) -> bool:
    """True for bundled ``RKP_``/``CB_`` names and files in the robust knapsack or capital budgeting formats."""
    return _load(name_or_path) is not None


def _print(record: dict, json_output: bool) -> None:
    if json_output:
        print(json.dumps(record))
    else:
        print("  ".join(f"{k}={v}" for k, v in record.items()))


def solve_ro(target: str, method: str, time_limit: float, json_output: bool) -> int:
    """Solve a robust instance (``method="ccg"``); prints objective, bound, status and time."""
    instance = _load(target)
    if instance is None:
        print(f"error: {target!r} is not a robust knapsack or capital budgeting instance", file=sys.stderr)
        return 2
    if method not in RO_METHODS:
        print(f"error: method {method!r} not available for robust instances; use one of {RO_METHODS}",
              file=sys.stderr)
        return 2
    result = solve_ccg(instance, time_limit=time_limit)
    record = {"instance": instance.name, "method": method, **result.as_dict()}
    if getattr(instance, "best_known", None) is not None:
        record["best_known"] = instance.best_known
    _print(record, json_output)
    return 0


def _evaluate_x(args: argparse.Namespace) -> int:
    instance = _load(args.instance)
    if instance is None:
        print(f"error: {args.instance!r} is not a robust knapsack or capital budgeting instance", file=sys.stderr)
        return 2
    try:
        x = np.array([int(v) for v in args.x.replace(",", " ").split()], dtype=np.int64)
        if len(x) != instance.n or not np.isin(x, (0, 1)).all():
            raise ValueError
    except ValueError:
        print(f"error: --x must be {instance.n} values 0/1, got {args.x!r}", file=sys.stderr)
        return 2
    if isinstance(instance, CapitalBudgetingInstance):
        evaluation = (sampled_capital_budgeting(instance, x) if args.sampled
                      else evaluate_capital_budgeting(instance, x, time_limit=args.time_limit))
    else:
        evaluation = sampled_knapsack(instance, x) if args.sampled else evaluate_knapsack(
            instance, x, time_limit=args.time_limit)
    record = {"instance": instance.name, "x": " ".join(map(str, x)), **evaluation.as_dict()}
    if args.sampled:
        record["note"] = "sampled estimate: optimistic (an upper bound on the robust objective)"
    _print(record, args.json)
    return 0


def add_evaluate_x_parser(subparsers) -> None:
    """Register ``evaluate-x``: score a first-stage decision with the exact (or sampled) evaluator."""
    parser = subparsers.add_parser("evaluate-x", help="robust objective of a first-stage decision x")
    parser.add_argument("instance", help="bundled RKP_/CB_ name or instance file")
    parser.add_argument("--x", required=True, help='first-stage decision, e.g. "0 1 0 1"')
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds for the exact evaluation")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--sampled", action="store_true", help="optimistic sampled estimate instead of exact")
    parser.set_defaults(func=_evaluate_x)
