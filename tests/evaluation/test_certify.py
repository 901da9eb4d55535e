"""The capital-budgeting comparison of benchmarks/neur2ro_eval.py: verdicts from certified bounds."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from cpgym.cp_models.robust.capital_budgeting import evaluate_capital_budgeting
from cpgym.instances.capital_budgeting import k_adaptability_results, load_capital_budgeting

_SPEC = importlib.util.spec_from_file_location(
    "neur2ro_eval", Path(__file__).parents[2] / "benchmarks" / "neur2ro_eval.py")
neur2ro_eval = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(neur2ro_eval)


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
    verdict, gain = neur2ro_eval.certified_verdict, neur2ro_eval.certified_gain
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
        neur2ro_eval.certify(instance, row, limit=30, quick=5)
        best = max(exact[k].objective for k in others)
        expected = "at least as good" if exact[ours].objective >= best - 1e-5 else "worse"
        assert neur2ro_eval.certified_verdict(row) == expected
        assert row["objective"] <= exact[ours].objective + 1e-5 <= row["upper"] + 2e-5
