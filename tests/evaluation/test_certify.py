"""Certified comparison with the k-adaptability decisions (cpgym.evaluation.certify): verdicts from bounds."""

import numpy as np
import pytest

from cpgym.cp_models.robust.capital_budgeting import evaluate_capital_budgeting, sampled_capital_budgeting
from cpgym.errors import ArgumentError
from cpgym.evaluation.certify import certified_gain, certified_verdict, certify, compare, same_decisions
from cpgym.instances.capital_budgeting import generate_capital_budgeting, k_adaptability_results, load_capital_budgeting


def _row(name: str, x, ours: tuple[float, float], kadapt: dict[str, tuple[float, float]]) -> dict:
    return {"name": name, "x": list(map(int, x)), "objective": ours[0], "upper": ours[1],
            "kadapt": {k: {"lower": lo, "upper": up} for k, (lo, up) in kadapt.items()},
            "kadapt_best": max(lo for lo, _ in kadapt.values()),
            "kadapt_best_upper": max(up for _, up in kadapt.values())}


def test_verdicts_and_certified_gain_from_bounds():
    name = "CB_n10_xi4_s11"
    results = {str(r.K): r for r in k_adaptability_results(name)}
    other = np.ones(10, int) - results["2"].x  # a decision none of the literature ones
    brackets = {"2": (3.0, 3.1), "5": (2.9, 3.0), "10": (2.8, 2.9)}
    verdict, gain = certified_verdict, certified_gain
    assert verdict(_row(name, other, (3.2, 3.3), brackets)) == "at least as good"
    assert gain(_row(name, other, (3.2, 3.3), brackets)) == pytest.approx(100 * (3.2 - 3.1) / 3.1)
    assert verdict(_row(name, other, (2.5, 2.9), brackets)) == "worse"
    assert verdict(_row(name, other, (3.05, 3.2), brackets)) == "undecided"
    # the same decision as K = 2 is equal to it: only K = 5 and 10 are compared
    assert verdict(_row(name, results["2"].x, (3.05, 3.2), brackets)) == "at least as good"
    assert gain(_row(name, results["2"].x, (3.05, 3.2), brackets)) == pytest.approx(100 * (3.05 - 3.0) / 3.0)


def test_certify_reaches_the_verdict_of_the_converged_evaluations():
    """Rows with uninformative bounds: thresholded evaluations decide what converged ones say."""
    name = "CB_n10_xi4_s11"
    instance = load_capital_budgeting(name)
    results = {str(r.K): r for r in k_adaptability_results(name)}
    exact = {k: evaluate_capital_budgeting(instance, r.x, time_limit=30) for k, r in results.items()}
    assert all(e.status == "optimal" for e in exact.values())
    for ours in results:  # take each literature decision in turn as "Neur2RO's"
        others = [k for k in results if not np.array_equal(results[k].x, results[ours].x)]
        row = _row(name, results[ours].x, (1.0, 100.0), {k: (1.0, 100.0) for k in results})
        certify(instance, row, limit=30, quick=5)
        best = max(exact[k].objective for k in others)
        expected = "at least as good" if exact[ours].objective >= best - 1e-5 else "worse"
        assert certified_verdict(row) == expected
        assert row["objective"] <= exact[ours].objective + 1e-5 <= row["upper"] + 2e-5


def test_compare_scores_a_literature_decision_like_the_literature_ones():
    """Comparing the K = 10 decision with the literature decisions: it is the K = 10 one (equal bounds), the
    best-of-K fields are the maxima over K, and the values are the converged ones (K = 10: 3.218631)."""
    name = "CB_n10_xi4_s2"
    instance = load_capital_budgeting(name)
    k10 = next(r for r in k_adaptability_results(name) if r.K == 10)
    row = {"name": name, **compare(instance, k10.x, time_limit=30)}
    assert row["eval_status"] == "optimal" and row["objective"] == pytest.approx(3.218631, abs=1e-6)
    assert same_decisions(row) == {10}
    assert (row["kadapt"][10]["lower"], row["kadapt"][10]["upper"]) == (row["objective"], row["upper"])
    assert row["kadapt"][10]["sampled"] == row["sampled"] == sampled_capital_budgeting(instance, k10.x).objective
    assert row["kadapt_best"] == max(b["lower"] for b in row["kadapt"].values())
    assert row["kadapt_best_upper"] == max(b["upper"] for b in row["kadapt"].values())
    assert row["gain_pct"] == pytest.approx(100 * (row["objective"] - row["kadapt_best"]) / row["kadapt_best"])
    assert row["kadapt_runtime"] == {r.K: r.runtime for r in k_adaptability_results(name)}
    # every evaluation converges: the K = 2 decision is the best (3.264478), so K = 10 is certified worse
    assert all(b["upper"] - b["lower"] <= 1e-6 for b in row["kadapt"].values())
    assert row["kadapt_best"] == pytest.approx(3.264478, abs=1e-6) and certified_verdict(row) == "worse"
    with pytest.raises(ArgumentError, match="no literature"):
        compare(generate_capital_budgeting(5, 1000), np.zeros(5, int), time_limit=1)
