"""The problem registry and the name-or-path resolver."""

from __future__ import annotations

import numpy as np
import pytest

import cpgym.cp_models  # noqa: F401  (registers the robust scorers)
from cpgym.errors import ArgumentError, InstanceFormatError, UnknownInstanceError, UnknownProblemError
from cpgym.instances import (
    CapitalBudgetingInstance,
    JobShopInstance,
    RobustKnapsackInstance,
    check,
    format_orlib,
    format_taillard,
    get_problem,
    load,
    load_capital_budgeting,
    load_robust_knapsack,
    problem_of,
    problems,
    resolve_instance,
    resolve_instances,
)

RKP = "RKP_UN_n20_R1000_H100_h40_dev0.1_d0.5"
CB = "CB_n10_xi4_s1"


def test_registry_lists_the_three_problems_with_their_facts():
    by_name = {p.name: p for p in problems()}
    assert set(by_name) == {"jssp", "fjsp", "rkp", "cb"}
    assert (by_name["jssp"].sense, by_name["rkp"].sense, by_name["cb"].sense) == ("min", "max", "max")
    assert by_name["jssp"].instance_type is JobShopInstance
    assert len(by_name["jssp"].names()) == 242
    assert len(by_name["rkp"].names()) == 504 and len(by_name["cb"].names()) == 250


def test_aliases_and_unknown_names():
    assert get_problem("knapsack").name == "rkp"  # the Neur2RO model JSON stores "knapsack"
    assert get_problem("capital_budgeting").name == "cb"
    with pytest.raises(UnknownProblemError, match="unknown problem 'tsp'; known: .*jssp"):
        get_problem("tsp")


def test_problem_of_instances_and_best_known_values():
    ta03 = load("ta03")
    assert problem_of(ta03).name == "jssp" and problem_of(ta03).best_known(ta03) == (1218, 1218)
    rkp = load_robust_knapsack(RKP)
    assert problem_of(rkp).name == "rkp" and problem_of(rkp).best_known(rkp)[0] == rkp.best_known
    cb = load_capital_budgeting(CB)
    best, proven = problem_of(cb).best_known(cb)
    assert best > 0 and proven is None
    with pytest.raises(UnknownProblemError):
        problem_of("ft06")


def test_datasets_and_groups():
    jssp = get_problem("jssp")
    pairs = jssp.datasets["ta"]("15x15")
    assert [i.name for _, i in pairs] == [f"ta{k:02d}" for k in range(1, 11)] and {g for g, _ in pairs} == {"15x15"}
    rkp = get_problem("rkp").datasets["rkp"]("UN")
    assert len(rkp) == 126 and {g.split("-")[0] for g, _ in rkp} == {"UN"}
    cb = get_problem("cb").datasets["cb"]("n20")
    assert len(cb) == 50 and {g for g, _ in cb} == {"n20"}


def test_check_recomputes_objectives_of_every_problem(ft06):
    from cpgym.cp_models import solve_jobshop

    solution = solve_jobshop(ft06, time_limit=10, workers=1)
    assert check(ft06, solution.schedule.start_times).objective == 55
    overlapping = np.zeros((6, 6), dtype=np.int64)
    assert not check(ft06, overlapping).ok
    rkp = load_robust_knapsack(RKP)
    result = check(rkp, np.zeros(20), time_limit=10)
    assert result.ok and result.objective == pytest.approx(0.0)  # nothing produced: nothing earned
    assert "expected (20,)" in check(rkp, np.zeros(3)).violations[0]


def test_record_holds_the_solution_in_the_problem_json_fields(ft06):
    record = get_problem("jssp").record(ft06, np.zeros((6, 6), dtype=np.int64), 55)
    assert set(record) == {"instance", "makespan", "start_times"}
    record = get_problem("cb").record(load_capital_budgeting(CB), np.zeros(10), 1.5)
    assert set(record) == {"instance", "objective", "x"} and record["x"] == [0] * 10


def test_resolver_takes_bundled_names_of_every_problem():
    assert isinstance(resolve_instance("ft06"), JobShopInstance)
    assert isinstance(resolve_instance(RKP), RobustKnapsackInstance)
    assert isinstance(resolve_instance(CB), CapitalBudgetingInstance)
    with pytest.raises(UnknownInstanceError, match="unknown instance 'nope'"):
        resolve_instance("nope")


def test_file_with_bundled_content_gets_bundled_name_and_current_bounds(tmp_path):
    ta03 = load("ta03")
    path = tmp_path / "mine.txt"
    path.write_text(format_taillard([ta03]))
    resolved = resolve_instance(path)
    assert resolved.name == "ta03" and resolved.upper_bound == 1218  # the 1993 header says 1222
    other = tmp_path / "other.txt"
    other.write_text("2 2\n0 1 1 2\n1 3 0 4\n")
    assert resolve_instance(other).name == "other" and resolve_instance(other).upper_bound is None


def test_multi_instance_files_and_index(tmp_path):
    path = tmp_path / "ta_15x15.txt"
    path.write_text(format_taillard([load(f"ta0{k}") for k in range(1, 4)]))
    assert [i.name for i in resolve_instances(path)] == ["ta01", "ta02", "ta03"]
    assert resolve_instance(path).name == "ta01" and resolve_instance(path, index=2).name == "ta03"
    with pytest.raises(ArgumentError, match=r"holds 3 instance\(s\); --index must be 0..2"):
        resolve_instance(path, index=3)


def test_files_are_read_by_the_reader_of_their_layout(tmp_path):
    rkp, cb = tmp_path / "k.txt", tmp_path / "c.txt"
    rkp.write_text("2 10 1\n5 1 1 3 2\n4 2 1 4 1\n")
    cb.write_text("1 2 1 10 0\n3 4\n5 6\n1\n1\n1\n1\n")
    assert isinstance(resolve_instance(rkp), RobustKnapsackInstance)
    assert isinstance(resolve_instance(cb), CapitalBudgetingInstance)
    broken = tmp_path / "broken.txt"
    broken.write_text("2 10 1\n5 1 1 3\n4 2 1 4 1\n")  # a knapsack header, a short item line
    with pytest.raises(InstanceFormatError, match=r"broken.txt, line 2: expected 5 integers"):
        resolve_instance(broken)
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(InstanceFormatError, match="not a UTF-8 text file"):
        resolve_instance(binary)
    bom = tmp_path / "bom.txt"
    bom.write_text("\ufeff" + format_orlib(load("ft06")))
    assert resolve_instance(bom).name == "ft06"


def test_dataset_takes_the_datasets_of_every_problem():
    from cpgym.errors import UnknownDatasetError
    from cpgym.instances import dataset

    assert [i.name for i in dataset("ta", "15x15")][:2] == ["ta01", "ta02"]
    assert [i.name for i in dataset("fjsp", family="mk")] == [f"mk{k:02d}" for k in range(1, 16)]
    assert len(dataset("rkp", "UN")) == 126 and len(dataset("cb", "n10")) == 50
    with pytest.raises(UnknownDatasetError, match="unknown dataset 'foo'; known: .*mk.*ta"):
        dataset("foo")
    with pytest.raises(ArgumentError, match="a size or a family, not both"):
        dataset("ta", "15x15", family="x")
