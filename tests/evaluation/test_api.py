"""``cpgym.evaluate``: typed rows in memory, user callables as methods, files and resume with ``out``."""

import csv
import json
import re
import subprocess
import sys

import numpy as np
import pytest

import cpgym
from cpgym.agents.rules import dispatch
from cpgym.errors import ArgumentError, Status, UnknownMethodError
from cpgym.evaluation.methods import MethodResult
from cpgym.evaluation.results import ResultRow, ResultStore
from cpgym.instances import load

OPTIMA = {"ft06": 55, "la01": 666}


def mwkr_agent(instance, settings):
    """A user's agent: module level, so it also runs in worker processes."""
    return dispatch(instance, "mwkr", seed=settings.seed).start_times


def all_at_zero(instance, settings):
    return np.zeros((instance.n_jobs, instance.n_machines), dtype=int)


def _by_key(rows: list[ResultRow]) -> dict[tuple[str, str], ResultRow]:
    return {(r.instance, r.method): r for r in rows}


@pytest.fixture(scope="module")
def in_memory():
    return cpgym.evaluate(datasets=["ft06", "la01"], methods=["spt", "cpsat:5"], threads=1)


def test_in_memory_rows_are_typed_and_reach_the_optima(in_memory):
    assert in_memory.out is None
    rows = _by_key(in_memory.rows)
    assert set(rows) == {(i, m) for i in OPTIMA for m in ("spt", "cpsat:5")}
    for name, optimum in OPTIMA.items():
        exact = rows[name, "cpsat:5"]
        assert exact.valid is True and exact.status == Status.OPTIMAL and exact.error is None
        assert exact.objective == optimum == exact.method_bound == exact.best_known and isinstance(exact.objective, int)
        assert exact.gap_percent == 0.0 and isinstance(exact.gap_percent, float)
        assert isinstance(exact.wall_time, float) and exact.threads == 1 and exact.seed == 0
        rule = rows[name, "spt"]
        assert rule.valid and rule.status == "heuristic" and rule.objective > optimum
        assert rule.gap_percent == pytest.approx(100 * (rule.objective - optimum) / optimum, abs=1e-4)
    assert rows["ft06", "spt"].objective == dispatch(load("ft06"), "spt").makespan


def test_in_memory_summary_and_markdown(in_memory):
    summary = {(s.dataset, s.method): s for s in in_memory.summary}
    assert len(in_memory.summary) == 4
    exact = summary["ft", "cpsat:5"]
    assert (exact.group, exact.n, exact.valid, exact.mean_gap, exact.wins, exact.invalid) == ("6x6", 1, 1, 0.0, 1, 0)
    assert summary["la", "spt"].wins == 0 and summary["la", "spt"].mean_gap > 0
    assert "| 10x5 | cpsat:5 | 1 | 1 | 0.00 | 0.00 | best-known" in in_memory.markdown()


def test_in_memory_writes_no_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cpgym.evaluate(datasets="ft06", methods="spt", threads=1)
    assert [r.objective for r in result.rows] == [88] and list(tmp_path.iterdir()) == []


def test_callable_method_is_validated_and_named_after_the_function():
    result = cpgym.evaluate(datasets=["ft06", "la01"], methods=[mwkr_agent, "mwkr"], threads=1)
    rows = _by_key(result.rows)
    for name, optimum in OPTIMA.items():
        mine = rows[name, "mwkr_agent"]
        assert mine.valid and mine.status == "heuristic"
        assert mine.objective == rows[name, "mwkr"].objective == dispatch(load(name), "mwkr").makespan
        assert mine.gap_percent == pytest.approx(100 * (mine.objective - optimum) / optimum, abs=1e-4)


def test_callable_with_a_name_attribute_returning_a_method_result():
    class Agent:
        name = "my-agent"

        def __call__(self, instance, settings):
            return MethodResult(mwkr_agent(instance, settings), "feasible", bound=50.0)

    (row,) = cpgym.evaluate(datasets="ft06", methods=[Agent()], threads=1).rows
    assert (row.method, row.status, row.method_bound, row.valid) == ("my-agent", "feasible", 50.0, True)
    assert row.objective == dispatch(load("ft06"), "mwkr").makespan


def test_invalid_none_and_raising_callables_give_rows_not_counted():
    def nothing(instance, settings):
        return None

    def crashes(instance, settings):
        raise RuntimeError("agent broke")

    result = cpgym.evaluate(datasets="ft06", methods=[all_at_zero, nothing, crashes], threads=1)
    rows = {r.method: r for r in result.rows}
    invalid = rows["all_at_zero"]
    assert invalid.valid is False and invalid.status == Status.INVALID and invalid.objective is None
    assert invalid.gap_percent is None and "violations" in invalid.error
    assert (rows["nothing"].valid, rows["nothing"].status, rows["nothing"].error) == (False, Status.UNKNOWN, None)
    assert rows["crashes"].status == Status.ERROR and rows["crashes"].error == "RuntimeError: agent broke"
    summary = {s.method: s for s in result.summary}
    zero = summary["all_at_zero"]
    assert (zero.n, zero.valid, zero.invalid, zero.mean_gap) == (1, 0, 1, None)
    assert summary["crashes"].errors == 1


def test_callable_problems_attribute_limits_its_instances():
    def knapsack_only(instance, settings):
        raise AssertionError("must not be called on a job-shop instance")

    knapsack_only.problems = ("knapsack",)  # an alias of rkp
    result = cpgym.evaluate(datasets="ft06", methods=[knapsack_only, "spt"], threads=1)
    assert [r.method for r in result.rows] == ["spt"]


def test_out_writes_the_files_and_a_second_call_resumes(tmp_path):
    calls = []

    def counted(instance, settings):
        calls.append(instance.name)
        return mwkr_agent(instance, settings)

    out = tmp_path / "run"
    first = cpgym.evaluate(datasets=["ft06", "la01"], methods=["cpsat:5", counted], out=out, threads=1)
    assert first.out == out and sorted(calls) == ["ft06", "la01"]
    with open(out / "results.csv", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 4
    assert len(list((out / "solutions").glob("*.json"))) == 4
    assert json.loads((out / "solutions" / "ft06__cpsat_5.json").read_text())["makespan"] == 55
    assert json.loads((out / "config.json").read_text())["methods"] == ["cpsat:5", "counted"]
    assert "| 6x6 | cpsat:5 | 1 | 1 | 0.00 | 0.00 | best-known" in (out / "summary.md").read_text()
    assert (out / "gaps_ft.png").stat().st_size > 0
    line = next(line for line in (out / "results.csv").read_text().splitlines() if line.startswith("ft,6x6,ft06,cpsat"))
    assert re.fullmatch(r"ft,6x6,ft06,cpsat:5,min,optimal,True,55,55,55,55,55,0\.0,[0-9.]+,1,0,", line)

    second = cpgym.evaluate(datasets=["ft06", "la01"], methods=["cpsat:5", counted, "spt"], out=out, threads=1)
    assert sorted(calls) == ["ft06", "la01"]  # the finished rows were not rerun
    with open(out / "results.csv", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 6
    assert second.rows[:4] == first.rows  # rows read back from disk equal the rows as computed
    assert ResultStore(out).rows == second.rows


def test_callables_go_to_worker_processes_when_picklable():
    result = cpgym.evaluate(datasets=["ft06", "la01"], methods=[mwkr_agent], workers=2, threads=1)
    assert {r.instance: r.objective for r in result.rows} == {n: dispatch(load(n), "mwkr").makespan for n in OPTIMA}
    with pytest.raises(ArgumentError, match="cannot be sent to worker processes.*module-level function"):
        cpgym.evaluate(datasets="ft06", methods=[lambda instance, settings: None], workers=2)


def test_user_mistakes_raise_clear_errors():
    for empty in ([], "", [" "]):
        with pytest.raises(ArgumentError, match="no methods given"):
            cpgym.evaluate(datasets="ft06", methods=empty)
        with pytest.raises(ArgumentError, match="no datasets given"):
            cpgym.evaluate(datasets=empty, methods="spt")
    with pytest.raises(UnknownMethodError, match="unknown method 'nope'; known: .*spt") as error:
        cpgym.evaluate(datasets="ft06", methods=["spt", "nope"])
    assert "cpsat" in error.value.known
    with pytest.raises(ArgumentError, match="repeated: spt"):
        cpgym.evaluate(datasets="ft06", methods=["spt", "spt"])
    with pytest.raises(ArgumentError, match="pass an output folder"):
        cpgym.evaluate(datasets="ft06", methods="spt", gantt="ft06")
    with pytest.raises(ArgumentError, match="eval_time_limit"):
        cpgym.evaluate(datasets="ft06", methods="spt", eval_time_limit=float("inf"))
    with pytest.raises(ArgumentError, match="unknown backend"):
        cpgym.evaluate(datasets="ft06", methods="spt", backend="dask")
    with pytest.raises(ArgumentError, match="spec string or a callable"):
        cpgym.evaluate(datasets="ft06", methods=[42])


def test_result_rows_parse_csv_text_and_raw_values_alike():
    raw = {"dataset": "cb", "group": "n10", "instance": "CB", "method": "m", "sense": "max", "status": Status.OPTIMAL,
           "valid": True, "objective": np.float64(2.5), "best_known": np.int64(3), "threads": 2, "seed": 0}
    row = ResultRow.parse(raw)
    assert ResultRow.parse(row.to_csv()) == row
    assert (row.status, row.objective, row.best_known, row.gap_percent, row.error) == ("optimal", 2.5, 3, None, None)
    assert type(row.objective) is float and type(row.best_known) is int and type(row.status) is str
    assert row.to_csv()["valid"] == "True" and row.to_csv()["objective_bound"] == ""


def test_import_cpgym_stays_light():
    code = ("import sys, cpgym; heavy = [m for m in ('torch', 'ortools', 'cpgym.evaluation') if m in sys.modules]; "
            "print(heavy, cpgym.evaluate.__module__)")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.split() == ["[]", "cpgym.evaluation.api"]
