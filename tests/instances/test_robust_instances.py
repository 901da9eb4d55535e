"""Robust knapsack and capital budgeting instances: IO round trips, generators, errors."""

import numpy as np
import pytest

from cpgym.errors import InstanceFormatError
from cpgym.instances.capital_budgeting import (
    capital_budgeting_names,
    cb_data_dir,
    evaluation_scenarios,
    format_capital_budgeting,
    generate_capital_budgeting,
    k_adaptability_results,
    load_capital_budgeting,
    parse_capital_budgeting,
)
from cpgym.instances.robust_knapsack import (
    format_robust_knapsack,
    generate_robust_knapsack,
    knapsack_data_dir,
    knapsack_names,
    load_robust_knapsack,
    parse_robust_knapsack,
    read_robust_knapsack,
    write_robust_knapsack,
)


def test_knapsack_bundle_round_trips_with_best_known():
    names = knapsack_names()
    assert len(names) == 504
    for name in names[::50]:
        inst = load_robust_knapsack(name)
        assert format_robust_knapsack(inst) == (knapsack_data_dir() / "instances" / name).read_text()
        assert inst.best_known is not None
    inst = load_robust_knapsack("RKP_ASC_n20_R1000_H100_h40_dev0.15_d0.1")
    assert (inst.n, inst.capacity, inst.gamma) == (20, 4233, 3)
    assert inst.best_known == pytest.approx(4358.41) and inst.proven_optimal
    assert load_robust_knapsack("RKP_ASC_n30_R1000_H100_h40_dev0.15_d0.1").gamma == 4.5  # fractional Gamma


def test_knapsack_generator_families(tmp_path):
    for corr in ("UN", "WC", "ASC", "SC"):
        inst = generate_robust_knapsack(30, corr, h=40, delta=0.5, dev=0.2, seed=7)
        assert inst.capacity == int(40 / 101 * inst.weight.sum())
        assert inst.gamma == 6 and (inst.outsourcing >= inst.profit).all()
        big = inst.profit >= 50  # rounding dominates for tiny profits
        ratio = inst.degradation[big] / inst.profit[big]
        assert ratio.min() >= 0.25 - 0.01 and ratio.max() <= 0.75 + 0.01
        if corr == "SC":
            assert (inst.profit - inst.weight == 100).all()
        write_robust_knapsack(inst, tmp_path / "k.txt")
        back = read_robust_knapsack(tmp_path / "k.txt")
        assert np.array_equal(back.repair_weight, inst.repair_weight) and back.gamma == inst.gamma
    a, b = (generate_robust_knapsack(10, "WC", seed=3) for _ in range(2))
    assert np.array_equal(a.profit, b.profit)


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("", None, "empty"),
        ("2 10\n1 1 1 1 1\n1 1 1 1 1\n", 1, "expected 3 numbers"),
        ("2 x 1\n1 1 1 1 1\n1 1 1 1 1\n", 1, "not an integer"),
        ("2 10 3\n1 1 1 1 1\n1 1 1 1 1\n", 1, "outside 0..n"),
        ("2 10 1\n1 1 1 1 1\n", 2, "expected 2 item lines"),
        ("2 10 1\n1 1 1 1 1\n1 1 1 1 1\n1 1 1 1 1\n", 4, "expected 2 item lines"),
        ("2 10 1\n1 1 1 1\n1 1 1 1 1\n", 2, "expected 5 integers"),
        ("2 10 1\n1 1 1 1 1\n1 -1 1 1 1\n", 3, "negative"),
        ("0 10 0\n", 1, "no items"),
    ],
)
def test_knapsack_format_errors(text, line, problem):
    with pytest.raises(InstanceFormatError) as err:
        parse_robust_knapsack(text, source="bad.txt")
    assert err.value.source == "bad.txt" and err.value.line == line and problem in err.value.problem


def test_capital_budgeting_generator_reproduces_all_bundled_files():
    names = capital_budgeting_names()
    assert len(names) == 250
    for name in names:
        inst = load_capital_budgeting(name)
        text = (cb_data_dir() / "instances" / name).read_text()
        assert format_capital_budgeting(generate_capital_budgeting(inst.n, inst.seed)) == text


def test_capital_budgeting_data():
    inst = load_capital_budgeting("CB_n10_xi4_s1")
    assert inst.raw_budget == pytest.approx(19.15831885025558) and inst.budget == 19.0
    assert inst.robust_feasible(np.zeros(10)) and not inst.robust_feasible(np.ones(10))
    assert np.allclose(inst.costs(np.zeros(4)), inst.cost) and np.allclose(inst.phi.sum(axis=1), 1)
    assert [r.K for r in k_adaptability_results("CB_n10_xi4_s1")] == [2, 5, 10]
    assert evaluation_scenarios("CB_n10_xi4_s1").shape[1] == 4


GOOD_CB = "1 2 2 3.0 6.0\n1.0 2.0\n0.2 0.4\n0.5 0.5\n0.25 0.75\n1.0 0.0\n0.5 0.5\n"


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("", None, "empty"),
        ("1 2 2 3.0\n", 1, "expected 5 numbers"),
        ("1 2.5 2 3.0 6.0\n", 1, "positive integer"),
        (GOOD_CB.replace("1.0 2.0", "1.0 abc"), 2, "not a number"),
        (GOOD_CB.replace("1.0 2.0", "1.0"), 2, "expected 2 numbers"),
        (GOOD_CB.replace("0.25 0.75", "0.25 0.5"), 5, "probability vector"),
        (GOOD_CB + "1 1\n", 8, "expected 7 non-blank lines"),
        (GOOD_CB.replace("1.0 2.0", "-1.0 2.0"), 2, "positive"),
    ],
)
def test_capital_budgeting_format_errors(text, line, problem):
    assert parse_capital_budgeting(GOOD_CB).n == 2
    with pytest.raises(InstanceFormatError) as err:
        parse_capital_budgeting(text, source="bad.cb")
    assert err.value.source == "bad.cb" and err.value.line == line and problem in err.value.problem
