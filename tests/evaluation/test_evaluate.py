"""The evaluator end to end through ``cpgym evaluate``: known optima, validation, outputs, resume, Ray backend."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cpgym.cli.evaluate import main
from cpgym.evaluation import methods
from cpgym.evaluation.datasets import resolve
from cpgym.evaluation.methods import MethodResult, make_solver
from cpgym.instances import load

SMALL = "ft06,la01,la02,la03,la04,la05"
OPTIMA = {"ft06": 55, "la01": 666, "la02": 655, "la03": 597, "la04": 590, "la05": 593}
TIMING_COLUMNS = {"wall_time"}


def _run(out: Path, *extra: str, datasets: str = SMALL, method_list: str = "spt,mwkr,cpsat:10") -> None:
    assert main(["--datasets", datasets, "--methods", method_list, "--out", str(out), "--quiet", *extra]) == 0


def _rows(out: Path) -> list[dict]:
    with open(out / "results.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _comparable(rows: list[dict], others: list[dict]) -> dict[tuple, tuple]:
    """Rows without timings, keyed by (instance, method). Time-limited CP-SAT rows are kept only
    where both runs proved optimality (otherwise what a time limit reaches depends on the load)."""
    optimal_in_other = {(r["instance"], r["method"]) for r in others if r["status"] == "optimal"}
    return {
        (r["instance"], r["method"]): tuple((k, v) for k, v in sorted(r.items()) if k not in TIMING_COLUMNS)
        for r in rows
        if not r["method"].startswith("cpsat")
        or (r["status"] == "optimal" and (r["instance"], r["method"]) in optimal_in_other)
    }


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    _run(out, "--workers", "2", "--threads", "1", "--gantt", "ft06")
    return out


def test_end_to_end_optima_validation_and_outputs(local_run):
    rows = _rows(local_run)
    assert len(rows) == 18 and {r["valid"] for r in rows} == {"True"}
    for row in rows:
        if row["method"] == "cpsat:10":
            assert row["status"] == "optimal"
            assert int(row["objective"]) == OPTIMA[row["instance"]] == int(row["method_bound"])
            assert float(row["gap_percent"]) == 0.0
        else:
            assert int(row["objective"]) >= OPTIMA[row["instance"]]
    summary = (local_run / "summary.md").read_text()
    assert "| 10x5 | cpsat:10 | 5 | 5 | 0.00 | 0.00 | best-known" in summary
    assert (local_run / "gaps_la.png").stat().st_size > 0
    assert list(local_run.glob("gantt_ft06__*.png"))
    assert len(list((local_run / "solutions").glob("*.json"))) == 18


def test_invalid_solution_is_reported_and_not_counted(tmp_path, monkeypatch):
    def broken(arg):
        return lambda instance, settings: MethodResult(
            np.zeros((instance.n_jobs, instance.n_machines), dtype=int), "heuristic"
        )

    monkeypatch.setitem(methods._REGISTRY, "broken", (broken, ("jssp",)))
    _run(tmp_path, datasets="ft06", method_list="broken,spt")
    row = next(r for r in _rows(tmp_path) if r["method"] == "broken")
    assert row["status"] == "INVALID" and row["valid"] == "False" and row["objective"] == ""
    assert "overlaps" in row["error"] or "before op" in row["error"]
    assert "| 6x6 | broken | 1 | 0 | — | — |" in (tmp_path / "summary.md").read_text()


def test_one_time_set_up_is_not_timed(monkeypatch):
    """A solver's ``prepare`` (e.g. loading a model) runs before the clock starts, warm starts included."""
    from cpgym.evaluation import runner

    clock = [0.0]
    monkeypatch.setattr(runner.time, "perf_counter", lambda: clock[0])

    def slow_to_load(arg):
        def solve(instance, settings):
            clock[0] += 2.0
            return MethodResult(make_solver("spt")(instance, settings).solution, "heuristic")

        solve.prepare = lambda settings: clock.__setitem__(0, clock[0] + 100.0)
        return solve

    monkeypatch.setitem(methods._REGISTRY, "slow_to_load", (slow_to_load, ("jssp",)))
    item = resolve("ft06")[0]
    for spec in ("slow_to_load", "slow_to_load+cpsat:1"):
        row, _ = runner.run_task(runner.Task(item, spec, methods.Settings()))
        assert row.valid and row.wall_time >= 2.0 and row.wall_time < 100.0, row


def test_warm_start_skips_cpsat_when_the_heuristic_leaves_too_little_time(monkeypatch):
    clock, cpsat_calls = [0.0], []
    monkeypatch.setattr(methods.time, "perf_counter", lambda: clock[0])

    def fake_cpsat(instance, settings, time_limit, hint=None):
        cpsat_calls.append(time_limit)
        return MethodResult(hint, "feasible")

    def slow_heuristic(arg):
        def solve(instance, settings):
            clock[0] += float(arg)
            return make_solver("spt")(instance, settings)

        return solve

    monkeypatch.setattr(methods, "_cpsat_solve", fake_cpsat)
    monkeypatch.setitem(methods._REGISTRY, "slow", (slow_heuristic, ("jssp",)))
    instance = load("ft06")
    assert make_solver("slow:9.5+cpsat:10")(instance, methods.Settings()).status == "heuristic"  # 0.5 s left
    assert cpsat_calls == []
    assert make_solver("slow:55+cpsat:60")(instance, methods.Settings()).status == "feasible"  # 5 s left
    assert cpsat_calls == [5.0]


def test_resume_after_torn_write_keeps_each_row_once(tmp_path, local_run):
    out = tmp_path / "resume"
    out.mkdir()
    lines = (local_run / "results.csv").read_text().splitlines(keepends=True)
    (out / "results.csv").write_text("".join(lines[:8]) + lines[8][:15])  # 7 finished rows + a torn one
    _run(out, "--workers", "2", "--threads", "1")
    rows = _rows(out)
    keys = [(r["instance"], r["method"]) for r in rows]
    assert len(keys) == len(set(keys)) == 18
    assert _comparable(rows, _rows(local_run)) == _comparable(_rows(local_run), rows)


def test_killed_process_loses_nothing_and_resumes(tmp_path):
    out = tmp_path / "killed"
    command = [
        sys.executable,
        "-m",
        "cpgym.cli.evaluate",
        "--datasets",
        SMALL,
        "--methods",
        "cpsat:10,spt",
        "--out",
        str(out),
        "--quiet",
        "--workers",
        "1",
        "--threads",
        "1",
    ]
    process = subprocess.Popen(command, start_new_session=True)
    csv_path = out / "results.csv"
    deadline = time.time() + 60
    while time.time() < deadline and (not csv_path.exists() or len(csv_path.read_text().splitlines()) < 4):
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    before = _rows(out)
    assert 3 <= len(before) < 12
    _run(out, "--workers", "1", "--threads", "1", method_list="cpsat:10,spt")
    after = _rows(out)
    keys = [(r["instance"], r["method"]) for r in after]
    assert len(keys) == len(set(keys)) == 12
    assert after[: len(before)] == before


def test_ray_backend_matches_local(tmp_path, local_run):
    pytest.importorskip("ray")
    out = tmp_path / "ray"
    _run(out, "--workers", "2", "--threads", "1", "--backend", "ray")
    ray_rows, local_rows = _rows(out), _rows(local_run)
    compared = _comparable(ray_rows, local_rows)
    assert compared == _comparable(local_rows, ray_rows)
    assert len(compared) >= 12  # every rule row, and the CP-SAT rows proven optimal in both runs


def test_dataset_specs():
    assert [i.instance.name for i in resolve("ta:20x20")] == [f"ta{k}" for k in range(21, 31)]
    generated = resolve("gen:taillard:30x10:3")
    assert [i.group for i in generated] == ["30x10"] * 3 and generated[0].dataset == "gen:taillard"
    assert generated[0].instance.upper_bound is None
    with pytest.raises(ValueError, match="unknown dataset 'nope'"):
        resolve("nope")


def test_method_specs_fail_fast():
    with pytest.raises(ValueError, match="unknown method 'foo'"):
        make_solver("foo")
    with pytest.raises(ValueError, match="expected a time limit"):
        make_solver("cpsat:abc")
    with pytest.raises(ValueError, match="only '\\+cpsat:SECONDS'"):
        make_solver("mwkr+spt")


def test_warm_start_method_reaches_optimum(tmp_path):
    _run(tmp_path, datasets="ft06", method_list="mwkr+cpsat:5")
    (row,) = _rows(tmp_path)
    assert row["valid"] == "True" and int(row["objective"]) == 55


def test_robust_optimization_rows_are_scored_by_the_exact_evaluator(tmp_path):
    name = "RKP_UN_n20_R1000_H100_h40_dev0.1_d0.5"  # proven optimum 7804.67 (branch and price)
    _run(tmp_path, "--eval-time-limit", "20", datasets=f"{name},CB_n10_xi4_s1,ft06", method_list="ccg:20,kadapt:10,spt")
    rows = {(r["instance"], r["method"]): r for r in _rows(tmp_path)}
    assert set(rows) == {(name, "ccg:20"), ("CB_n10_xi4_s1", "ccg:20"), ("CB_n10_xi4_s1", "kadapt:10"), ("ft06", "spt")}
    knapsack = rows[name, "ccg:20"]
    assert knapsack["sense"] == "max" and knapsack["valid"] == "True"
    assert float(knapsack["objective"]) == pytest.approx(7804.67, abs=0.01)
    assert abs(float(knapsack["gap_percent"])) < 1e-3
    literature = rows["CB_n10_xi4_s1", "kadapt:10"]
    assert literature["valid"] == "True"
    assert float(literature["objective"]) <= float(literature["objective_bound"]) + 1e-6
    assert float(literature["objective"]) >= 0.9 * float(literature["best_known"])


def test_neur2ro_method_rows_are_validated_and_scored(tmp_path):
    """``--methods neur2ro:SECONDS`` on both robust datasets (the issue's command, short limits)."""
    knapsack = "RKP_UN_n20_R1000_H100_h40_dev0.1_d0.5"  # proven optimum 7804.67 (branch and price)
    _run(tmp_path, "--eval-time-limit", "10", datasets=f"{knapsack},CB_n10_xi4_s1", method_list="neur2ro:5")
    rows = {r["instance"]: r for r in _rows(tmp_path)}
    assert set(rows) == {knapsack, "CB_n10_xi4_s1"} and all(r["valid"] == "True" for r in rows.values())
    assert 0.9 * 7804.67 <= float(rows[knapsack]["objective"]) <= 7804.67 + 0.01
    cb = rows["CB_n10_xi4_s1"]
    assert float(cb["objective"]) <= float(cb["objective_bound"]) + 1e-6
    assert float(cb["objective"]) >= 0.9 * float(cb["best_known"])


def test_robust_decision_checks():
    from cpgym.instances import check
    from cpgym.instances.capital_budgeting import load_capital_budgeting

    instance = load_capital_budgeting("CB_n10_xi4_s1")
    assert "not robustly feasible" in check(instance, np.ones(10), 1.0).violations[0]
    assert "expected (10,)" in check(instance, np.ones(3), 1.0).violations[0]
    assert "must be 0 or 1" in check(instance, np.full(10, 0.5), 1.0).violations[0]
