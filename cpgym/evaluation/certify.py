"""Certified comparison of a capital-budgeting decision with the literature's k-adaptability decisions.

The exact evaluator (:func:`~cpgym.cp_models.robust.capital_budgeting.evaluate_capital_budgeting`)
brackets a decision's robust value between a certified lower and upper bound. Two decisions compare
by their brackets: ``x`` is at least as good as ``x'`` once ``lower(x) >= upper(x')``, worse once
``upper(x) < lower(x')``; overlapping brackets leave it undecided. :func:`certify` narrows the
brackets with thresholded evaluations (``threshold=`` stops as soon as the bound reaches the other
decision's) until the comparison with the best literature decision (K = 2, 5, 10) is decided.
Relative differences below :data:`TIE` are ties, which count as at least as good.

Everything works on **rows**, the JSON records of ``benchmarks/neur2ro_eval.py``:

* ``name``, ``x``: the instance and the decision compared (Neur2RO's);
* ``objective``, ``upper``: the certified lower and the upper bound of its robust value;
  ``sampled``: the literature's sampled score (optimistic), ``eval_status`` the evaluation's status;
* ``kadapt``: ``{K: {"lower", "upper", "sampled"}}`` for each literature decision, ``kadapt_runtime``
  ``{K: seconds}`` of the literature runs;
* ``kadapt_best``, ``kadapt_best_upper``, ``kadapt_best_sampled``: the best over K of each;
* ``gain_pct``, ``gain_upper_pct``, ``gain_sampled_pct``: :func:`gain_pct` of the decision's value over
  that best, by lower bounds, upper bounds and sampled scores.

Rows of older runs lack ``x`` and ``kadapt``; their verdicts use the best-of-K bounds alone.
"""

from __future__ import annotations

import time

import numpy as np

from cpgym.cp_models.robust.capital_budgeting import evaluate_capital_budgeting, sampled_capital_budgeting
from cpgym.errors import ArgumentError
from cpgym.instances.capital_budgeting import CapitalBudgetingInstance, k_adaptability_results

TIE = 1e-5  # relative difference below which two robust values count as equal: the evaluator's lower bound
#   holds for budgets perturbed by 1e-4, which moved a value by 1.9e-6 relative (CB_n10_xi4_s1)
AT_LEAST_AS_GOOD, WORSE, UNDECIDED = "at least as good", "worse", "undecided"
VERDICTS = (AT_LEAST_AS_GOOD, WORSE, UNDECIDED)


def gain_pct(value: float, best: float) -> float:
    """Relative gain ``100 (value - best) / |best|`` in %."""
    return 100 * (value - best) / abs(best)


def compare(instance: CapitalBudgetingInstance, x, time_limit: float) -> dict:
    """Score ``x`` and the instance's literature k-adaptability decisions the same two ways: the exact
    evaluator's bounds (at most ``time_limit`` seconds each) and the literature's sampled score.

    Returns the comparison fields of a row (see the module docstring; without ``name``). Raises
    :class:`~cpgym.errors.ArgumentError` for an instance without literature results (not a bundled one).
    """
    results = k_adaptability_results(instance.name)
    if not results:
        raise ArgumentError(f"{instance.name} has no literature k-adaptability results (bundled instances only)")
    ours = evaluate_capital_budgeting(instance, x, time_limit=time_limit)
    ours_sampled = sampled_capital_budgeting(instance, x).objective
    baseline = {r.K: evaluate_capital_budgeting(instance, r.x, time_limit=time_limit) for r in results}
    sampled = {r.K: sampled_capital_budgeting(instance, r.x).objective for r in results}
    row = {"objective": ours.objective, "upper": ours.upper, "sampled": ours_sampled, "eval_status": ours.status,
           "x": np.asarray(x, dtype=int).tolist(),
           "kadapt": {r.K: {"lower": baseline[r.K].objective, "upper": baseline[r.K].upper, "sampled": sampled[r.K]}
                      for r in results},
           "kadapt_runtime": {r.K: r.runtime for r in results}, "kadapt_best_sampled": max(sampled.values())}
    row["gain_sampled_pct"] = gain_pct(row["sampled"], row["kadapt_best_sampled"])
    _update_best(row)
    return row


def _update_best(row: dict) -> None:
    """Recompute the row's best-of-K bounds and gains from its own and its per-K bounds."""
    best = max(b["lower"] for b in row["kadapt"].values())
    best_upper = max(b["upper"] for b in row["kadapt"].values())
    row.update(kadapt_best=best, kadapt_best_upper=best_upper, gain_pct=gain_pct(row["objective"], best),
               gain_upper_pct=gain_pct(row["upper"], best_upper))


def same_decisions(row: dict) -> set[int]:
    """The K whose literature k-adaptability decision is the row's decision."""
    return {r.K for r in k_adaptability_results(row["name"]) if np.array_equal(r.x, row["x"])}


def other_uppers(row: dict) -> list[float]:
    """Upper bounds of the k-adaptability decisions that differ from the row's decision."""
    same = same_decisions(row)
    return [b["upper"] for k, b in row["kadapt"].items() if int(k) not in same]


def certified_verdict(row: dict, tol: float = TIE) -> str:
    """What the evaluator's bounds alone prove about the row's decision against the best k-adaptability one.

    :data:`AT_LEAST_AS_GOOD`: against every k-adaptability decision, the row's decision is the same one
    or its certified lower bound reaches that decision's upper bound; :data:`WORSE`: its upper bound is
    below some k-adaptability decision's certified lower bound; otherwise :data:`UNDECIDED` (the brackets
    overlap). Differences below ``tol`` (relative) are ties, which count as at least as good. Rows
    without the per-K bounds and decisions (older runs) are judged on the best bounds over K alone.
    """
    slack = tol * max(1.0, abs(row["upper"]))
    if row["upper"] < row["kadapt_best"] - slack:
        return WORSE
    if "kadapt" in row and "x" in row:
        return AT_LEAST_AS_GOOD if all(row["objective"] >= u - slack for u in other_uppers(row)) else UNDECIDED
    return AT_LEAST_AS_GOOD if row["objective"] >= row["kadapt_best_upper"] - slack else UNDECIDED


def certified_gain(row: dict) -> float:
    """Certified lower bound on the gain over the best k-adaptability decision, in %: the row's lower
    bound against the largest upper bound of the k-adaptability decisions that differ from its decision
    (0 if none differs). Rows without per-K decisions use the best upper bound over K."""
    if "kadapt" in row and "x" in row:
        uppers = other_uppers(row)
        if not uppers:
            return 0.0
        best = max(uppers)
    else:
        best = row["kadapt_best_upper"]
    return gain_pct(row["objective"], best)


def certify(instance: CapitalBudgetingInstance, row: dict, limit: float, quick: float | None = None,
            tol: float = TIE) -> dict:
    """Tighten the row's evaluator bounds until :func:`certified_verdict` decides (or time runs out).

    1. With ``quick``, every decision still needed (the row's and the k-adaptability ones that differ from
       it) is evaluated again for ``quick`` seconds (for rows scored before the evaluator's local search,
       which sharpens the upper bounds).
    2. The row's decision is evaluated with the best k-adaptability upper bound as ``threshold``, for
       at most ``limit`` seconds: its certified lower bound reaches it, or its upper bound falls below.
    3. In the latter case the k-adaptability decision with the best upper bound is evaluated with
       the row's upper bound as threshold, which can prove the row's decision worse.

    New and stored bounds are intersected (both certified); the per-K bounds, the best-of-K bounds and
    the gains of the row are updated in place, with ``certify_time``. Returns the row.
    """
    start = time.perf_counter()
    decisions = {"ours": np.asarray(row["x"]), **{str(r.K): r.x for r in k_adaptability_results(row["name"])}}
    bounds = {"ours": {"lower": row["objective"], "upper": row["upper"]},
              **{str(k): dict(b) for k, b in row["kadapt"].items()}}
    others = [k for k in decisions if k != "ours" and int(k) not in same_decisions(row)]
    slack = tol * max(1.0, abs(row["upper"]))
    if not others:  # the row's decision is every k-adaptability decision: equal, nothing to decide
        row["certify_time"] = time.perf_counter() - start
        return row

    def evaluate(key: str, cap: float, threshold: float | None = None) -> None:
        e = evaluate_capital_budgeting(instance, decisions[key], time_limit=cap, threshold=threshold)
        bounds[key] = {**bounds[key], "lower": max(bounds[key]["lower"], e.lower),
                       "upper": min(bounds[key]["upper"], e.upper)}
        row.update(objective=bounds["ours"]["lower"], upper=bounds["ours"]["upper"],
                   kadapt={k: b for k, b in bounds.items() if k != "ours"})
        _update_best(row)

    for key in ["ours", *others] if quick else []:
        if certified_verdict(row) == UNDECIDED:
            evaluate(key, quick)
    if certified_verdict(row) == UNDECIDED:
        # half the verdict's slack: the row's upper bound (which sets that slack) may still come down
        evaluate("ours", limit, max(bounds[k]["upper"] for k in others) - slack / 2)
    if certified_verdict(row) == UNDECIDED:
        best = max(others, key=lambda k: bounds[k]["upper"])
        if bounds["ours"]["upper"] < bounds[best]["upper"] - slack:
            evaluate(best, limit, bounds["ours"]["upper"] + 2 * slack)
    row["certify_time"] = time.perf_counter() - start
    return row
