"""The ``cpgym`` console script: solve (every evaluator method), instances, and the root shims."""

import json
import subprocess
import sys

import numpy as np
import pytest

import cpgym
import cpgym.cli.solve
from cpgym.agents.rules import dispatch
from cpgym.cli.main import main
from cpgym.cli.solve import method_spec, plain
from cpgym.cp_models.robust.knapsack import evaluate_knapsack
from cpgym.evaluation.methods import MethodResult
from cpgym.instances import (
    format_taillard,
    load,
    load_capital_budgeting,
    load_robust_knapsack,
    read_instance,
    validate_schedule,
)
from cpgym.instances.capital_budgeting import k_adaptability_results

RKP = "RKP_UN_n20_R1000_H100_h40_dev0.1_d0.5"


def no_nan_or_infinity(token: str):
    raise AssertionError(f"invalid JSON constant {token}")


def solve_json(capsys, *argv: str) -> dict:
    assert main(["solve", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out, parse_constant=no_nan_or_infinity)


def test_solve_json_has_fields_and_valid_schedule(capsys, tmp_path):
    gantt = tmp_path / "ft06.png"
    record = solve_json(capsys, "ft06", "--time-limit", "10", "--workers", "2", "--gantt", str(gantt))
    assert record["makespan"] == record["lower_bound"] == 55
    assert record["status"] == "optimal" and record["gap_percent"] == 0.0
    assert record["best_known_upper_bound"] == 55 and record["method"] == "cpsat"
    assert validate_schedule(load("ft06"), record["start_times"], record["makespan"]).ok
    assert gantt.read_bytes().startswith(b"\x89PNG")


def test_solve_with_rule_reports_gap(capsys):
    assert main(["solve", "ta01", "--method", "mwkr"]) == 0
    out = capsys.readouterr().out
    assert "makespan: 1491" in out and "gap_percent: 21.121" in out
    assert "start_times" not in out  # the text output leaves the schedule to --json and --gantt


def test_solve_rule_mode_goes_into_the_method_spec(capsys):
    active = dispatch(load("ta01"), "mwkr", mode="active").makespan
    assert active != 1491  # the non-delay makespan: the mode must make a difference here
    assert solve_json(capsys, "ta01", "--method", "mwkr", "--mode", "active")["makespan"] == active


@pytest.mark.parametrize("method, time_limit, mode, spec", [
    ("cpsat", 30.0, None, "cpsat:30.0"),
    ("cpsat:3", 30.0, None, "cpsat:3"),  # an explicit argument wins
    ("ccg", 5.0, None, "ccg:5.0"),
    ("neur2ro", 2.5, None, "neur2ro:2.5"),
    ("gnn+cpsat", 7.0, None, "gnn+cpsat:7.0"),
    ("mwkr+cpsat", 4.0, "active", "mwkr:active+cpsat:4.0"),
    ("mwkr", 4.0, "active", "mwkr:active"),
    ("mwkr", 4.0, None, "mwkr"),
    ("gnn-sample@5", 9.0, "active", "gnn-sample@5"),
    ("kadapt", 9.0, None, "kadapt"),
])
def test_time_limit_and_mode_fill_in_the_method_spec(method, time_limit, mode, spec):
    assert method_spec(method, time_limit, mode) == spec


def test_solve_warm_start_and_learned_methods(capsys):
    record = solve_json(capsys, "ft06", "--method", "mwkr+cpsat", "--time-limit", "5", "--workers", "2")
    assert record["makespan"] == 55 and record["status"] == "optimal"
    for method in ("gnn", "gnn-sample4"):
        record = solve_json(capsys, "ft06", "--method", method)
        assert record["status"] == "heuristic" and record["makespan"] >= 55
        assert validate_schedule(load("ft06"), record["start_times"], record["makespan"]).ok


def test_solve_never_trusts_the_method(capsys, monkeypatch):
    def everything_at_zero(spec):  # a broken method: every operation starts at 0
        return lambda instance, settings: MethodResult(np.zeros(instance.machines.shape, int), "optimal", 55)

    monkeypatch.setattr(cpgym.cli.solve, "make_solver", everything_at_zero)
    assert main(["solve", "ft06", "--json"]) == 1
    record = json.loads(capsys.readouterr().out)
    assert record["status"] == "INVALID" and record["makespan"] is None and "start_times" not in record
    assert record["violations"] and record["lower_bound"] == 55  # the method's own bound is shown as it said


def test_solve_robust_knapsack_with_ccg_keeps_its_fields(capsys):
    record = solve_json(capsys, RKP, "--method", "ccg", "--time-limit", "30")
    assert {"instance", "method", "objective", "bound", "status", "time", "x", "best_known"} <= record.keys()
    assert record["instance"] == RKP and record["method"] == "ccg" and record["status"] == "optimal"
    assert record["objective"] == pytest.approx(7804.67, abs=0.01) == record["best_known"]
    exact = evaluate_knapsack(load_robust_knapsack(RKP), np.array(record["x"]))  # the printed x scores so
    assert record["objective"] == pytest.approx(exact.lower) and record["objective_upper"] == pytest.approx(exact.upper)


def test_solve_robust_default_method_is_ccg(capsys):
    assert solve_json(capsys, RKP, "--time-limit", "30")["method"] == "ccg"


def test_solve_capital_budgeting_with_kadapt_scores_the_literature_decision(capsys):
    record = solve_json(capsys, "CB_n10_xi4_s1", "--method", "kadapt:10")
    literature = next(r for r in k_adaptability_results("CB_n10_xi4_s1") if r.K == 10)
    assert record["x"] == literature.x.tolist() and record["status"] == "literature"
    # the exact (fully adaptive) evaluation of the K = 10 decision beats its K-policy value
    assert record["objective"] == pytest.approx(3.0616727709693037, rel=1e-6)
    assert record["objective"] > -literature.objective


def test_solve_file_with_gantt_svg(capsys, tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("2 2\n0 3 1 2\n1 4 0 1\n")
    gantt = tmp_path / "mine.svg"
    record = solve_json(capsys, str(path), "--gantt", str(gantt))
    assert record["instance"] == "mine" and record["makespan"] == 6 and record["best_known_upper_bound"] is None
    assert b"<svg" in gantt.read_bytes()


def test_json_never_holds_nan_or_infinity(capsys):
    assert plain({"a": float("-inf"), "b": [np.float64("nan"), 1.5], "c": np.int64(3), "d": np.array([0, 1])}) == {
        "a": None, "b": [None, 1.5], "c": 3, "d": [0, 1]}
    x = "0 1 1 0 0 0 0 1 0 0"
    assert main(["evaluate-x", "CB_n10_xi4_s1", "--x", x, "--sampled", "--json"]) == 0
    record = json.loads(capsys.readouterr().out, parse_constant=no_nan_or_infinity)
    assert record["lower"] is None  # the sampled estimate has no lower bound (was -Infinity)
    assert record["upper"] == record["objective"] and "optimistic" in record["note"]


def test_instances_list_show_export(capsys, tmp_path):
    assert main(["instances", "list", "--family", "ta", "--size", "100x20"]) == 0
    out = capsys.readouterr().out
    assert "ta71" in out and "10 instances" in out
    assert main(["instances", "show", "ft06"]) == 0
    assert "lb=55 ub=55 (closed)" in capsys.readouterr().out
    target = tmp_path / "ta01.txt"
    assert main(["instances", "export", "ta01", str(target), "--layout", "taillard"]) == 0
    assert "wrote ta01 (taillard layout)" in capsys.readouterr().out
    exported = read_instance(target)
    assert exported.metadata["layout"] == "taillard"
    assert (exported.durations == load("ta01").durations).all()


def test_instances_list_robust_families(capsys):
    assert main(["instances", "list", "--family", "rkp"]) == 0
    out = capsys.readouterr().out
    assert "504 instances" in out
    rows = [line.split() for line in out.splitlines() if line.startswith(RKP + " ")]
    assert rows == [[RKP, "rkp", "n20", "7804.67", "7804.67", "closed"]]  # proven optimal: lb = ub
    assert main(["instances", "list", "--family", "cb", "--size", "10"]) == 0
    out = capsys.readouterr().out
    assert "50 instances" in out and "CB_n20" not in out
    assert [line.split() for line in out.splitlines() if line.startswith("CB_n10_xi4_s1 ")] == [
        ["CB_n10_xi4_s1", "cb", "n10", "2.79255", "-", "open"]]  # the best k-adaptability value, no upper bound


def test_instances_show_and_export_take_files_of_any_problem(capsys, tmp_path):
    taillard = tmp_path / "ta.txt"
    taillard.write_text(format_taillard([load("ta01"), load("ta02")]))
    assert main(["instances", "show", str(taillard), "--index", "1"]) == 0
    assert capsys.readouterr().out.startswith("ta02: job-shop scheduling")  # bundled data gets its name
    copy = tmp_path / "cb.txt"
    assert main(["instances", "export", "CB_n10_xi4_s1", str(copy)]) == 0
    assert "(cb layout)" in capsys.readouterr().out
    assert main(["instances", "show", str(copy)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("cb.txt: two-stage robust capital budgeting") and ", n10" in out
    original = load_capital_budgeting("CB_n10_xi4_s1")
    assert main(["evaluate-x", str(copy), "--x", " ".join(["0"] * original.n), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["instance"] == "cb.txt"


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.strip() == f"cpgym {cpgym.__version__}"


def test_delegated_commands_keep_their_help(capsys):
    for command, flag in (("train", "--timesteps"), ("evaluate", "--datasets")):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0 and flag in capsys.readouterr().out


def test_console_script_and_shim_run_in_fresh_interpreters():
    result = subprocess.run([sys.executable, "evaluate.py", "--help"], capture_output=True, text=True, check=True)
    assert "--datasets" in result.stdout
    result = subprocess.run(
        [sys.executable, "-m", "cpgym", "solve", "la01", "--method", "spt", "--json"],
        capture_output=True, text=True, check=True,
    )
    assert json.loads(result.stdout)["instance"] == "la01"


def test_version_matches_the_package_metadata():
    import re
    from pathlib import Path

    import cpgym

    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    assert cpgym.__version__ == re.search(r'^version = "(.+)"$', pyproject, re.MULTILINE)[1]
