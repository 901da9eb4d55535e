"""No result is silently wrong or lost: checked rows, unique names, retried failures, fixed settings, one writer."""

import csv
import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import cpgym
from cpgym.agents.rules import dispatch
from cpgym.cli.main import main
from cpgym.cp_models.robust.ccg import solve_ccg
from cpgym.errors import ArgumentError, CpgymError, MissingFileError
from cpgym.evaluation import methods
from cpgym.evaluation.methods import MethodResult, Settings, make_solver
from cpgym.evaluation.results import COLUMNS, ResultStore
from cpgym.instances import load, load_capital_budgeting, load_robust_knapsack
from cpgym.instances.capital_budgeting import format_capital_budgeting
from cpgym.instances.resolve import read_any

RKP = "RKP_UN_n20_R1000_H100_h40_dev0.1_d0.5"
SPT = {name: dispatch(load(name), "spt").makespan for name in ("ft06", "la01", "la02")}


def _lines(out) -> list[str]:
    return (out / "results.csv").read_text().splitlines(keepends=True)


def _csv(out) -> list[dict]:
    with open(out / "results.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _no_constant(token: str):
    raise AssertionError(f"JSON holds {token}")


def _edit_row(out, prefix: str, edit) -> int:
    """Replace the results.csv line starting with ``prefix`` by ``edit(line)``; its 1-based line number."""
    lines = _lines(out)
    index = next(i for i, line in enumerate(lines) if line.startswith(prefix))
    lines[index] = edit(lines[index])
    (out / "results.csv").write_text("".join(lines))
    return index + 1


def test_a_cut_row_ending_in_a_newline_is_dropped_and_rerun(tmp_path, capsys):
    out = tmp_path / "run"
    first = cpgym.evaluate(datasets=["ft06", "la01", "la02"], methods=["spt", "mwkr"], out=out, threads=1)
    number = _edit_row(out, "la,10x5,la01,spt,", lambda line: line[: line.index(",True,") + 6] + "1\n")
    assert _lines(out)[number - 1] == "la,10x5,la01,spt,min,heuristic,True,1\n"  # read as objective 1 it would win
    capsys.readouterr()
    second = cpgym.evaluate(datasets=["ft06", "la01", "la02"], methods=["spt", "mwkr"], out=out, threads=1)
    warning = capsys.readouterr().err
    assert f"results.csv, line {number}: 8 fields instead of 17 (a cut row); dropped, the task will be rerun" in warning
    assert "la01,spt" in warning
    rows = {(r.instance, r.method): r for r in second.rows}
    assert len(rows) == len(second.rows) == 6 and rows["la01", "spt"].objective == SPT["la01"]
    assert len(_csv(out)) == 6 and "True,1\n" not in "".join(_lines(out))
    assert [(s.method, s.mean_gap, s.wins) for s in second.summary] == [(s.method, s.mean_gap, s.wins)
                                                                         for s in first.summary]


@pytest.mark.parametrize("corrupt, reason", [
    (lambda out: _edit_row(out, "ft,", lambda line: line.replace(",True,88,", ",True,55,")),
     r"objective 55 but solutions/ft06__spt.json holds \[88\]"),
    (lambda out: _edit_row(out, "ft,", lambda line: line.replace(",True,", ",Tru,")),
     r"a field of the wrong type \(valid must be True or False, got 'Tru'\)"),
    (lambda out: _edit_row(out, "ft,", lambda line: line.replace(",88,88,", ",88,8x8,")),
     r"a field of the wrong type"),
    (lambda out: _edit_row(out, "ft,", lambda line: '"' + line),
     r"not a CSV record"),
    (lambda out: _edit_row(out, "ft,", lambda line: line.replace(",True,88,", ",False,88,")),
     r"valid=False with objective 88"),
    (lambda out: (out / "solutions" / "ft06__spt.json").unlink(),
     r"its solution file solutions/ft06__spt.json is missing or unreadable"),
    (lambda out: (out / "solutions" / "ft06__spt.json").write_text('{"instance": "la01", "makespan": 88}'),
     r"solutions/ft06__spt.json holds another task's solution"),
])
def test_rows_that_fail_their_checks_are_dropped_and_rerun(tmp_path, capsys, corrupt, reason):
    calls = []

    def spt(instance, settings):
        calls.append(instance.name)
        return dispatch(instance, "spt").start_times

    out = tmp_path / "run"
    cpgym.evaluate(datasets="ft06", methods=[spt], out=out, threads=1)
    corrupt(out)
    capsys.readouterr()
    (row,) = cpgym.evaluate(datasets="ft06", methods=[spt], out=out, threads=1).rows
    assert calls == ["ft06", "ft06"]  # rerun
    assert row.valid and row.objective == SPT["ft06"]
    assert [r["objective"] for r in _csv(out)] == ["88"]
    assert json.loads((out / "solutions" / "ft06__spt.json").read_text())["makespan"] == 88
    err = capsys.readouterr().err
    assert err.startswith(f"warning: {out / 'results.csv'}, line 2: ") and "dropped, the task will be rerun" in err
    assert re.search(reason, err), err


def test_a_folder_of_an_earlier_version_still_resumes(tmp_path, capsys):
    out = tmp_path / "old"
    first = cpgym.evaluate(datasets=["ft06", "la01"], methods=["spt"], out=out, threads=1)
    for path in (out / "solutions").glob("*.json"):  # earlier solution files have no method
        record = json.loads(path.read_text())
        del record["method"]
        path.write_text(json.dumps(record))
    old_config = {"datasets": "ft06,la01", "methods": ["spt"], "workers": 1, "threads": 1, "seed": 0,
                  "backend": "local"}
    (out / "config.json").write_text(json.dumps(old_config))
    before = _lines(out)
    second = cpgym.evaluate(datasets=["ft06", "la01"], methods=["spt", "mwkr"], out=out, threads=1)
    assert capsys.readouterr().err == ""
    assert second.rows[:2] == first.rows and _lines(out)[:3] == before
    assert [r.objective for r in second.rows[2:]] == [dispatch(load(n), "mwkr").makespan for n in ("ft06", "la01")]
    config = json.loads((out / "config.json").read_text())
    assert config["methods"] == ["spt", "mwkr"] and config["eval_time_limit"] == 30.0
    assert set(config["instances"]) == {"ft06", "la01"}


def _write(path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_two_different_instances_with_one_name_stop_before_any_work(tmp_path):
    calls = []

    def spt(instance, settings):
        calls.append(instance.name)
        return dispatch(instance, "spt").start_times

    a = _write(tmp_path / "a" / "x.txt", "2 2\n0 3 1 2\n1 4 0 1\n")
    b = _write(tmp_path / "b" / "x.txt", "2 2\n0 5 1 2\n1 4 0 1\n")
    out = tmp_path / "run"
    with pytest.raises(ArgumentError, match=rf"two different instances are named 'x': {a} \(dataset '{a.parent}'\) "
                                            rf"and {b} \(dataset '{b.parent}'\); results are keyed by instance name"):
        cpgym.evaluate(datasets=[str(a.parent), str(b.parent)], methods=[spt], out=out)
    assert calls == [] and _csv(out) == []
    _write(b, a.read_text())  # the same instance listed twice: evaluated once
    (row,) = cpgym.evaluate(datasets=[str(a.parent), str(b.parent)], methods=[spt], out=out).rows
    assert (row.instance, row.dataset, row.objective) == ("x", "a", 6) and calls == ["x"]


def test_names_whose_solution_files_collide_stop_before_any_work(tmp_path):
    folder = tmp_path / "data"
    _write(folder / "a b.txt", "2 2\n0 3 1 2\n1 4 0 1\n")
    _write(folder / "a_b.txt", "2 2\n0 5 1 2\n1 4 0 1\n")
    with pytest.raises(ArgumentError, match=r"'a b' / 'spt' and 'a_b' / 'spt' would share the solution file "
                                            r"solutions/a_b__spt.json"):
        cpgym.evaluate(datasets=str(folder), methods="spt", out=tmp_path / "run")
    assert len(_csv(tmp_path / "run")) == 0
    rows = cpgym.evaluate(datasets=str(folder), methods="spt", threads=1).rows  # in memory: no files, no collision
    assert {r.instance: r.objective for r in rows} == {"a b": 6, "a_b": 7}


def test_an_instance_whose_data_changed_under_its_name_is_refused_on_resume(tmp_path):
    path = _write(tmp_path / "data" / "x.txt", "2 2\n0 3 1 2\n1 4 0 1\n")
    out = tmp_path / "run"
    assert cpgym.evaluate(datasets=str(path), methods="spt", out=out).rows[0].objective == 6
    _write(path, "2 2\n0 5 1 2\n1 4 0 1\n")
    with pytest.raises(ArgumentError, match=rf"instance 'x' of dataset 'x' has other data than the instance 'x' "
                                            rf"already evaluated in {out}"):
        cpgym.evaluate(datasets=str(path), methods=["spt", "mwkr"], out=out)
    assert len(_csv(out)) == 1


def test_failed_tasks_are_reported_and_retried(tmp_path):
    attempts = []

    def flaky(instance, settings):
        attempts.append(instance.name)
        if len(attempts) == 1:
            raise RuntimeError("first attempt fails")
        return dispatch(instance, "spt").start_times

    out = tmp_path / "run"
    first = cpgym.evaluate(datasets=["ft06", "la01"], methods=[flaky], out=out, threads=1)
    failed = [(r.instance, r.status, r.error) for r in first.failed]
    assert failed == [("ft06", "error", "RuntimeError: first attempt fails")]
    assert [r["status"] for r in _csv(out)] == ["error", "heuristic"]
    second = cpgym.evaluate(datasets=["ft06", "la01"], methods=[flaky], out=out, threads=1)
    assert attempts == ["ft06", "la01", "ft06"] and second.failed == []  # only the failed task was rerun
    assert [(r.instance, r.valid, r.objective) for r in second.rows] == [("la01", True, SPT["la01"]),
                                                                         ("ft06", True, SPT["ft06"])]
    assert [(r["instance"], r["status"]) for r in _csv(out)] == [("la01", "heuristic"), ("ft06", "heuristic")]
    assert ResultStore(out).rows == second.rows


def test_cli_exit_code_is_1_when_a_task_of_the_run_failed(tmp_path, capsys, monkeypatch):
    def crashes(arg):
        def solve(instance, settings):
            raise RuntimeError("broken method")

        return solve

    monkeypatch.setitem(methods._REGISTRY, "crashes", (crashes, ("jssp",)))
    argv = ["evaluate", "--datasets", "ft06", "--methods", "spt,crashes", "--out", str(tmp_path), "--quiet"]
    for _ in range(2):  # the failed task is retried, and fails again
        assert main(argv) == 1
        assert "1 task(s) failed (status error" in capsys.readouterr().err
        assert [(r["method"], r["status"]) for r in _csv(tmp_path)] == [("spt", "heuristic"), ("crashes", "error")]
    assert main([*argv[:4], "spt", *argv[5:]]) == 0  # nothing failed in this run


def test_resuming_with_other_settings_is_refused_but_more_methods_and_datasets_are_welcome(tmp_path):
    out = tmp_path / "run"
    cpgym.evaluate(datasets="ft06", methods="spt", out=out, threads=1, seed=0, eval_time_limit=30)
    for changed, message in [({"seed": 1}, "seed=1 here, 0 in the folder"),
                             ({"threads": 2}, "threads=2 here, 1 in the folder"),
                             ({"eval_time_limit": 10}, "eval_time_limit=10.0 here, 30.0 in the folder")]:
        settings = {"threads": 1, "seed": 0, "eval_time_limit": 30, **changed}
        with pytest.raises(ArgumentError, match=rf"{out} holds results computed with other settings \({message}\)"):
            cpgym.evaluate(datasets="ft06,la01", methods="spt,mwkr", out=out, **settings)
    assert len(_csv(out)) == 1
    result = cpgym.evaluate(datasets="ft06,la01", methods="spt,mwkr", out=out, threads=1)
    assert len(result.rows) == 4
    config = json.loads((out / "config.json").read_text())
    assert (config["datasets"], config["methods"], config["seed"]) == ("ft06,la01", ["spt", "mwkr"], 0)


def test_an_output_folder_in_use_is_refused(tmp_path):
    out = tmp_path / "run"
    with ResultStore(out):
        with pytest.raises(ArgumentError, match=rf"output folder {out} is in use: another evaluation \(process "
                                                rf"{os.getpid()}\) is writing it"):
            cpgym.evaluate(datasets="ft06", methods="spt", out=out)
    assert len(cpgym.evaluate(datasets="ft06", methods="spt", out=out).rows) == 1


def test_the_lock_dies_with_its_process_and_is_not_inherited(tmp_path, capsys):
    out = tmp_path / "run"
    code = (f"from cpgym.evaluation.results import ResultStore; store = ResultStore({str(out)!r}); "
            "print('locked', flush=True); import time; time.sleep(120)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        argv = ["evaluate", "--datasets", "ft06", "--methods", "spt", "--out", str(out), "--quiet"]
        assert main(argv) == 2
        assert capsys.readouterr().err.startswith(f"error: output folder {out} is in use: another evaluation "
                                                  f"(process {holder.pid})")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert main(argv) == 0  # the lock went with the killed process

    fork = multiprocessing.get_context("fork")
    started = fork.Event()
    store = ResultStore(out)
    child = fork.Process(target=_sleep_after, args=(started,))
    child.start()  # a forked worker process: it must not keep the folder locked
    try:
        assert started.wait(30)
        store.close()
        ResultStore(out).close()
    finally:
        child.kill()
        child.join()


def _sleep_after(started) -> None:
    started.set()
    time.sleep(120)


def test_solve_prints_ccg_details_again(capsys):
    assert main(["solve", RKP, "--method", "ccg", "--time-limit", "30", "--json"]) == 0
    record = json.loads(capsys.readouterr().out, parse_constant=_no_constant)
    direct = solve_ccg(load_robust_knapsack(RKP), time_limit=30).as_dict()
    assert (record["iterations"], record["n_scenarios"]) == (direct["iterations"], direct["n_scenarios"])
    assert record["n_scenarios"] >= 2 and record["status"] == "optimal"
    assert list(record)[-3:] == ["iterations", "n_scenarios", "x"]  # after the common fields, before the decision


def test_method_mistakes_are_cpgym_errors(tmp_path):
    path = _write(tmp_path / "mine.txt", format_capital_budgeting(load_capital_budgeting("CB_n10_xi4_s1")))
    (instance,) = read_any(path)
    with pytest.raises(ArgumentError, match=rf"kadapt:10 replays the literature's K-adaptability decisions, which "
                                            rf"exist only for the bundled capital budgeting instances; "
                                            rf"{instance.name} has none"):
        make_solver("kadapt:10")(instance, Settings())
    assert make_solver("kadapt:10")(load_capital_budgeting("CB_n10_xi4_s1"), Settings()).status == "literature"
    with pytest.raises(MissingFileError, match=r"model file 'missing.pt' not found .*shipped job-shop models: "
                                               r"jssp_gnn.pt, jssp_gnn_ppo_10x10.pt") as error:
        make_solver("gnn-sample4:missing.pt")
    assert isinstance(error.value, CpgymError) and isinstance(error.value, FileNotFoundError)
    with pytest.raises(MissingFileError):
        cpgym.evaluate(datasets="ft06", methods="spt,gnn:missing.pt", out=tmp_path / "run")
    assert not (tmp_path / "run").exists()  # refused before the folder was even created


def test_non_finite_numbers_never_reach_the_files(tmp_path):
    def unbounded(instance, settings):
        return MethodResult(dispatch(instance, "spt").start_times, "feasible", float("inf"))

    def undefined(instance, settings):
        return MethodResult(dispatch(instance, "mwkr").start_times, "feasible", float("nan"))

    out = tmp_path / "run"
    rows = cpgym.evaluate(datasets="ft06", methods=[unbounded, undefined], out=out, threads=1).rows
    assert [r.method_bound for r in rows] == [None, None] and [r["method_bound"] for r in _csv(out)] == ["", ""]
    for path in [out / "config.json", *(out / "solutions").glob("*.json")]:
        json.loads(path.read_text(), parse_constant=_no_constant)
    text = (out / "results.csv").read_text().lower()
    assert "inf" not in text and "nan" not in text


def test_an_instance_of_zero_durations_is_evaluated_and_summarised(tmp_path):
    def late(instance, settings):  # valid, but worse than the optimum 0
        return np.ones((instance.n_jobs, instance.n_machines), dtype=int)

    path = _write(tmp_path / "zero.txt", "2 2\n0 0 1 0\n1 0 0 0\n")
    out = tmp_path / "run"
    result = cpgym.evaluate(datasets=str(path), methods=["spt", "cpsat:2", late], out=out, threads=1)
    assert {r.method: (r.valid, r.objective) for r in result.rows} == {
        "spt": (True, 0), "cpsat:2": (True, 0), "late": (True, 1)}
    summary = {s.method: s for s in result.summary}
    assert (summary["spt"].mean_gap, summary["cpsat:2"].median_gap, summary["late"].mean_gap) == (0.0, 0.0, None)
    assert summary["late"].wins == 0 and summary["spt"].wins == 1
    markdown = (out / "summary.md").read_text()
    assert "| 2x2 | late | 1 | 1 | — | — |" in markdown and "| 2x2 | spt | 1 | 1 | 0.00 | 0.00 | best found" in markdown
    assert (out / "gaps_zero.png").stat().st_size > 0


def test_result_columns_are_unchanged():
    assert COLUMNS == ["dataset", "group", "instance", "method", "sense", "status", "valid", "objective",
                       "objective_bound", "method_bound", "best_known", "best_known_bound", "gap_percent",
                       "wall_time", "threads", "seed", "error"]
