"""Neur2RO on the bundled literature instances, scored by the exact worst-case evaluators.

Knapsack: relative error to the branch-and-price best-known value, per correlation class and per
``n``. Capital budgeting: robust revenue of the Neur2RO decision against the best of the
literature's k-adaptability decisions (K = 2, 5, 10), every decision scored the same two ways: the
exact evaluator's bounds (certified lower, upper = worst scenario found) and the literature's
protocol (worst case over the instance's published scenarios and 10,000 uniform draws; optimistic).
A subset (``--per-class`` instances of every (correlation, n) / N group) keeps runs short;
``--shard K/M`` runs every M-th of them (start K) so that M processes can share a machine. With
``--out``, rows are written as they finish and a rerun skips the instances already there;
``--summarize`` prints the tables of finished runs (all shards together) without running anything.
``--certify SECONDS`` spends up to that long per evaluation to decide each capital-budgeting comparison
by certified bounds (thresholded evaluations, :func:`cpgym.evaluation.certify.certify`); ``--rescore JSON``
does so for the decisions stored in an earlier run's rows instead of running Neur2RO again.

    python benchmarks/neur2ro_eval.py --problem knapsack --per-class 2 --stratified --time-limit 15
    python benchmarks/neur2ro_eval.py --problem capital_budgeting --per-class 2 --stratified --time-limit 60
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from cpgym.agents.neur2ro.ccg import solve_neur2ro
from cpgym.cp_models.robust.knapsack import evaluate_knapsack
from cpgym.evaluation.certify import VERDICTS, certified_gain, certified_verdict, certify, compare, same_decisions
from cpgym.instances.capital_budgeting import capital_budgeting_names, load_capital_budgeting
from cpgym.instances.robust_knapsack import knapsack_names, load_robust_knapsack


def _subset(names: list[str], key, per_class: int, offset: int = 0, stratified: bool = False) -> list[str]:
    """``per_class`` names of every group (groups in order of first appearance, names in list order).

    Default: names ``offset .. offset + per_class - 1`` of each group. ``stratified``: group ``j``
    takes names ``(offset + j + k * (size // per_class)) % size`` for ``k < per_class``, so consecutive
    groups (e.g. n = 20, 30, ... of one correlation class) get different settings (h, dev, delta) and
    the picks of one group are spread over its list.
    """
    groups: dict = defaultdict(list)
    for name in names:
        groups[key(name)].append(name)
    if not stratified:
        return [name for group in groups.values() for name in group[offset:offset + per_class]]
    picks = []
    for j, group in enumerate(groups.values()):
        step = max(1, len(group) // per_class)
        picks += [group[(offset + j + k * step) % len(group)] for k in range(min(per_class, len(group)))]
    return picks


def _shares(args) -> dict:
    """Time shares of the CCG's MILPs given on the command line (others keep their defaults)."""
    shares = {"main_share": args.main_share, "adversary_share": args.adversary_share}
    return {k: v for k, v in shares.items() if v is not None}


def _names(args, names: list[str], key) -> list[str]:
    """The subset of the command line, this process's shard of it, minus the rows already in ``--out``."""
    picks = args.names or _subset(names, key, args.per_class, args.offset, args.stratified)
    if args.n:
        picks = [name for name in picks if int(re.search(r"_n(\d+)_", name).group(1)) in args.n]
    first, _, count = args.shard.partition("/")
    picks = picks[int(first)::int(count)]
    done = {row["name"] for row in args.rows}
    return [name for name in picks if name not in done]


def _save(args, row: dict) -> None:
    """Keep ``row`` and rewrite ``--out`` (atomically) so that no finished instance is lost."""
    args.rows.append(row)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        partial = args.out.with_suffix(".tmp")
        partial.write_text(json.dumps(args.rows, indent=1, default=float))
        partial.replace(args.out)


def run_knapsack(args) -> list[dict]:
    key = lambda s: re.match(r"RKP_(\w+?)_n(\d+)_", s).groups()  # noqa: E731
    for name in _names(args, knapsack_names(), key):
        instance = load_robust_knapsack(name)
        x, info = solve_neur2ro(instance, None, args.time_limit, args.model, args.mode, not args.no_select,
                                **_shares(args))
        score = evaluate_knapsack(instance, x, time_limit=args.eval_time_limit)
        error = 100 * (instance.best_known - score.objective) / abs(instance.best_known)
        corr, n = key(name)
        _save(args, {"name": name, "corr": corr, "n": int(n), "objective": score.objective,
                     "best_known": instance.best_known, "rel_error_pct": error, "time": info["time"],
                     "iterations": info["iterations"], "status": info["status"], "eval_status": score.status,
                     "candidates": info["candidates"], "feedback": info["feedback"],
                     "evaluation_time": info["evaluation_time"], "x": np.asarray(x, dtype=int).tolist()})
        print(f"{name:45s} err {error:6.2f} %  time {info['time']:5.1f} s  it {info['iterations']:2d} "
              f"cand {info['candidates']:2d} fb {info['feedback']:2d} {info['status']}", flush=True)
    return args.rows


def run_capital_budgeting(args) -> list[dict]:
    """Exact evaluator bounds (lower = certified ``objective``, upper) and the literature's sampled score
    for Neur2RO and the k-adaptability decisions."""
    key = lambda s: int(re.match(r"CB_n(\d+)_", s).group(1))  # noqa: E731
    for name in _names(args, capital_budgeting_names(), key):
        instance = load_capital_budgeting(name)
        x, info = solve_neur2ro(instance, None, args.time_limit, args.model, args.mode, not args.no_select,
                                **_shares(args))
        row = {"name": name, "n": key(name), **compare(instance, x, args.eval_time_limit),
               "time": info["time"], "iterations": info["iterations"], "status": info["status"],
               "candidates": info["candidates"], "feedback": info["feedback"],
               "evaluation_time": info["evaluation_time"]}
        if args.certify:
            certify(instance, row, args.certify)
        _save(args, row)
        print(f"{name:15s} neur2ro [{row['objective']:7.3f}, {row['upper']:7.3f}] sampled {row['sampled']:7.3f}  "
              f"best k-adapt [{row['kadapt_best']:7.3f}, {row['kadapt_best_upper']:7.3f}] sampled "
              f"{row['kadapt_best_sampled']:7.3f}  gain {row['gain_pct']:+6.2f} / {row['gain_upper_pct']:+6.2f} / "
              f"{row['gain_sampled_pct']:+6.2f} %  time {info['time']:5.1f} s  it {info['iterations']}", flush=True)
    return args.rows


def rescore(args) -> list[dict]:
    """Certify the stored decisions of ``--rescore`` rows (those with ``x``), resumable via ``--out``."""
    rows = [row for row in json.loads(args.rescore.read_text()) if "x" in row]
    first, _, count = args.shard.partition("/")
    done = {row["name"] for row in args.rows}
    for row in rows[int(first)::int(count)]:
        if row["name"] in done:
            continue
        before = certified_verdict(row)
        certify(load_capital_budgeting(row["name"]), row, args.certify, quick=args.eval_time_limit)
        _save(args, row)
        print(f"{row['name']:15s} neur2ro [{row['objective']:8.4f}, {row['upper']:8.4f}] best k-adapt "
              f"[{row['kadapt_best']:8.4f}, {row['kadapt_best_upper']:8.4f}]  {before} -> "
              f"{certified_verdict(row)}  {row['certify_time']:5.1f} s", flush=True)
    return args.rows


def _table(rows: list[dict], group: str, metric: str, title: str) -> None:
    print(f"\n{title}")
    print(f"{group:>8s} {'count':>6s} {'median':>8s} {'mean':>8s} {'worst':>8s} {'time':>7s}")
    groups: dict = defaultdict(list)
    for r in rows:
        groups[r[group]].append(r)
    worst = max if metric == "rel_error_pct" else min
    for g in [*sorted(groups), "all"]:
        rs = rows if g == "all" else groups[g]
        v = np.array([r[metric] for r in rs])
        print(f"{g!s:>8s} {len(rs):6d} {np.median(v):8.2f} {v.mean():8.2f} {worst(v):8.2f} "
              f"{np.mean([r['time'] for r in rs]):6.1f}s")


def _verdicts(rows: list[dict]) -> None:
    print("\ncertified by the evaluator's bounds alone (Neur2RO vs best k-adaptability decision)")
    print(f"{'n':>8s} " + " ".join(f"{label:>17s}" for label in VERDICTS))
    for g in [*sorted({r["n"] for r in rows}), "all"]:
        verdicts = [certified_verdict(r) for r in rows if g == "all" or r["n"] == g]
        print(f"{g!s:>8s} " + " ".join(f"{verdicts.count(label):17d}" for label in VERDICTS))
    with_x = [r for r in rows if "x" in r]
    same = sum(bool(same_decisions(r)) for r in with_x)
    print(f"Neur2RO returned one of the literature's k-adaptability decisions on {same} of {len(with_x)} "
          "instances with a stored decision")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problem", choices=["knapsack", "capital_budgeting"], required=True)
    parser.add_argument("--per-class", type=int, default=1, help="instances per (correlation, n) / N group")
    parser.add_argument("--offset", type=int, default=0, help="skip this many instances of every group")
    parser.add_argument("--n", type=int, nargs="+", default=None, help="only instances of these sizes")
    parser.add_argument("--names", nargs="+", default=None, help="these instances instead of a --per-class subset")
    parser.add_argument("--stratified", action="store_true",
                        help="spread the picks over the settings (h, dev, delta) instead of the first ones")
    parser.add_argument("--no-select", action="store_true",
                        help="return the last CCG decision (no exact candidate selection / scenario feedback)")
    parser.add_argument("--time-limit", type=float, default=None, help="default 15 (knapsack) / 60 (capital budgeting)")
    parser.add_argument("--eval-time-limit", type=float, default=60.0, help="exact evaluator's limit")
    parser.add_argument("--model", type=Path, default=None, help="default: the shipped model")
    parser.add_argument("--mode", choices=["selected", "all"], default="selected",
                        help="main problem: Neur2RO's network-selected scenario, or exact recourse for all scenarios")
    parser.add_argument("--main-share", type=float, default=None, help="time share of each main MILP (0.25)")
    parser.add_argument("--adversary-share", type=float, default=None,
                        help="time share of each adversarial MILP (0.1)")
    parser.add_argument("--certify", type=float, default=None, metavar="SECONDS",
                        help="capital budgeting: decide each comparison by certified bounds, with thresholded "
                             "evaluations of at most SECONDS each (after --eval-time-limit ones of every decision)")
    parser.add_argument("--rescore", type=Path, default=None, metavar="JSON",
                        help="capital budgeting: --certify the decisions stored in these rows (no Neur2RO run)")
    parser.add_argument("--shard", default="0/1", help="K/M: run every M-th instance of the subset, from the K-th")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON file of the per-instance rows, written as they finish; rerun to resume")
    parser.add_argument("--summarize", type=Path, nargs="+", default=None, metavar="JSON",
                        help="run nothing: print the tables of these --out files together (e.g. the shards "
                             "of one run; a name in several files counts once, the last one wins), and "
                             "write the merged rows to --out if given")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.summarize:
        merged = {row["name"]: row for path in args.summarize for row in json.loads(path.read_text())}
        rows = list(merged.values())
        if args.out:
            args.out.write_text(json.dumps(rows, indent=1, default=float))
    else:
        args.rows = json.loads(args.out.read_text()) if args.out and args.out.exists() else []
        args.time_limit = args.time_limit or (15.0 if args.problem == "knapsack" else 60.0)
        if args.rescore:
            args.certify = args.certify or 120.0
            rows = rescore(args)
        else:
            rows = run_knapsack(args) if args.problem == "knapsack" else run_capital_budgeting(args)
    if args.problem == "knapsack":
        _table(rows, "corr", "rel_error_pct", "relative error to best-known (%), per correlation")
        _table(rows, "n", "rel_error_pct", "relative error to best-known (%), per n")
    else:
        for row in rows:
            row["gain_certified_pct"] = certified_gain(row)
        _table(rows, "n", "gain_certified_pct", "certified gain: Neur2RO's lower bound vs the best k-adaptability "
               "upper bound (%, decisions equal to Neur2RO's left out; >= 0: certified at least as good)")
        _table(rows, "n", "gain_pct", "certified robust revenue (evaluator lower bound) vs best k-adaptability "
               "decision (%, + = Neur2RO better)")
        _table(rows, "n", "gain_upper_pct", "same with the evaluator upper bounds")
        _table(rows, "n", "gain_sampled_pct", "same with the literature's sampled score")
        _verdicts(rows)
    print(f"\n{len(rows)} instances in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
