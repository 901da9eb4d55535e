"""The flexible job shop in the evaluator: rules, CP-SAT and warm starts on the closed Kacem instances with gaps to
the bundled bounds, per-problem method dispatch, ``cpgym solve`` on mk01, Gantt charts with the machine assignment."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import cpgym
import cpgym.evaluation.api
from cpgym.agents.fjsp_rules import dispatch_fjsp
from cpgym.cli.main import main
from cpgym.errors import Status
from cpgym.evaluation import methods
from cpgym.evaluation.methods import MethodResult, Settings, make_solver, problems_of
from cpgym.instances import FlexibleJobShopInstance, FlexibleSchedule, load, load_fjsp, validate_flexible_schedule
from cpgym.instances.fjsp_library import list_fjsp
from cpgym.plot.gantt import plot_gantt, plot_record

METHODS = ["mwkr-eet", "cpsat:5", "mwkr-eet+cpsat:5"]
KACEM = {info.name: info.upper_bound for info in list_fjsp("kacem")}  # closed: lower bound = upper bound


@pytest.fixture(scope="module")
def kacem(tmp_path_factory):
    out = tmp_path_factory.mktemp("kacem")
    return cpgym.evaluate(datasets=["fjsp:kacem"], methods=METHODS, out=out, threads=1, plots=False)


def test_kacem_rows_are_valid_with_gaps_to_the_bounds(kacem):
    rows = {(row.instance, row.method): row for row in kacem.rows}
    assert set(rows) == {(name, method) for name in KACEM for method in METHODS} and not kacem.failed
    for (name, _), row in rows.items():
        assert row.valid and (row.dataset, row.group, row.sense) == ("fjsp", "kacem", "min")
        assert row.best_known == row.best_known_bound == KACEM[name]
        assert row.gap_percent == pytest.approx(100 * (row.objective - KACEM[name]) / KACEM[name], abs=1e-4)
    for name in KACEM:
        rule = rows[name, "mwkr-eet"]
        assert rule.status == Status.HEURISTIC and rule.objective == dispatch_fjsp(load_fjsp(name), "mwkr-eet").makespan
        for method in ("cpsat:5", "mwkr-eet+cpsat:5"):  # CP-SAT reaches every optimum within 5 s
            exact = rows[name, method]
            assert exact.gap_percent == 0.0 and exact.objective == KACEM[name] >= exact.method_bound
    assert all(rows[name, "cpsat:5"].status == Status.OPTIMAL for name in ("kacem1", "kacem2", "kacem3"))
    assert rows["kacem2", "mwkr-eet"].gap_percent == 100.0  # 22 against 11 (non-delay forces the idle machines)
    assert "| kacem | cpsat:5 | 4 | 4 | 0.00 | 0.00 | best-known |" in kacem.markdown()


def test_solution_files_hold_the_machines_and_resume_reruns_nothing(kacem, monkeypatch, capsys):
    with open(kacem.out / "results.csv", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == len(KACEM) * len(METHODS)
    for name in KACEM:
        record = json.loads((kacem.out / "solutions" / f"{name}__cpsat_5.json").read_text())
        assert {"instance", "method", "makespan", "machines", "start_times"} <= record.keys()
        report = validate_flexible_schedule(load_fjsp(name), record["machines"], record["start_times"],
                                            record["makespan"])
        assert report.ok and report.makespan == KACEM[name]

    def must_not_run(*args):
        raise AssertionError("a finished task was run again")

    monkeypatch.setattr(cpgym.evaluation.api, "_run", must_not_run)
    again = cpgym.evaluate(datasets=["fjsp:kacem"], methods=METHODS, out=kacem.out, threads=1, plots=False)
    assert [row.key for row in again.rows] == [row.key for row in kacem.rows]
    assert "dropped" not in capsys.readouterr().err  # every row and its solution file passed the checks on read


def test_methods_declare_and_dispatch_per_problem():
    assert problems_of("cpsat:5") == ("jssp", "fjsp")
    assert problems_of("mwkr") == problems_of("fdd_mwkr:active") == ("jssp", "fjsp")
    assert problems_of("mwkr-eet") == problems_of("spt-spt:active") == ("fjsp",)
    assert problems_of("mwkr-eet+cpsat:5") == ("fjsp",) and problems_of("mwkr+cpsat:5") == ("jssp", "fjsp")
    assert problems_of("mwkr+tabu:5") == problems_of("gnn+tabu:5") == problems_of("sbh") == ("jssp",)
    assert problems_of("gnn+cpsat:5") == problems_of("gnn") == ("jssp", "fjsp")  # cpgym.agents.fjsp_gnn
    kacem2, settings = load_fjsp("kacem2"), Settings()
    for plain, flexible, mode in (("mwkr", "mwkr-eet", "non_delay"), ("fifo:active", "fifo-eet:active", "active"),
                                  ("mwkr:earliest_end", "mwkr-eet:earliest_end", "earliest_end")):
        schedule = make_solver(plain)(kacem2, settings).solution
        assert isinstance(schedule, FlexibleSchedule)
        assert schedule.start_times == make_solver(flexible)(kacem2, settings).solution.start_times
        assert schedule.start_times == dispatch_fjsp(kacem2, flexible.partition(":")[0], mode).start_times
    assert (make_solver("mwkr-eet:earliest_end")(kacem2, settings).solution.start_times
            != make_solver("mwkr-eet")(kacem2, settings).solution.start_times)  # a machine worth waiting for
    ft06 = load("ft06")  # one machine per operation: earliest_end is non_delay
    np.testing.assert_array_equal(make_solver("mwkr:earliest_end")(ft06, settings).solution,
                                  make_solver("mwkr")(ft06, settings).solution)


def test_the_warm_start_hands_the_rule_schedule_to_cpsat(monkeypatch):
    calls = []

    def fake_cpsat(instance, settings, time_limit, hint):
        calls.append((time_limit, hint))
        return MethodResult(hint, Status.FEASIBLE)

    monkeypatch.setitem(methods.CPSAT_SOLVERS, "fjsp", fake_cpsat)
    mk01 = load_fjsp("mk01")
    result = make_solver("mwkr-eet:active+cpsat:5")(mk01, Settings())
    (seconds, hint), = calls
    expected = dispatch_fjsp(mk01, "mwkr-eet", "active")
    assert 4 < seconds <= 5 and (hint.machines, hint.start_times) == (expected.machines, expected.start_times)
    assert result.status == Status.FEASIBLE and result.solution is hint


def solve_json(capsys, *argv: str) -> dict:
    assert main(["solve", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_solve_prints_machines_and_start_times_and_draws_the_assignment(capsys, tmp_path):
    gantt = tmp_path / "mk01.png"
    record = solve_json(capsys, "mk01", "--method", "cpsat", "--time-limit", "5", "--workers", "1", "--gantt",
                        str(gantt))
    assert record["makespan"] == 40 == record["best_known_upper_bound"] and record["gap_percent"] == 0.0
    report = validate_flexible_schedule(load_fjsp("mk01"), record["machines"], record["start_times"], 40)
    assert report.ok and gantt.read_bytes().startswith(b"\x89PNG")
    assert main(["solve", "mk01", "--method", "spt-spt", "--mode", "active"]) == 0
    out = capsys.readouterr().out
    makespan = dispatch_fjsp(load_fjsp("mk01"), "spt-spt", "active").makespan
    assert f"makespan: {makespan}\n" in out and "method: spt-spt" in out
    assert "machines" not in out and "start_times" not in out  # the text output leaves schedules to --json
    assert main(["solve", "mk01", "--method", "nope"]) == 2
    err = capsys.readouterr().err
    assert "mwkr-eet" in err and "H+cpsat:SECONDS" in err and "tabu" not in err
    assert "gnn-sampleN" in err and "gnn-pomo" not in err  # the flexible agent has no POMO starts
    assert "gnn-bisampleN" in err and "gnn-bisample@SECONDS" in err
    assert main(["solve", "mk01", "--method", "tabu:5"]) == 2
    assert "method 'tabu:5' solves jssp instances, not fjsp" in capsys.readouterr().err


def test_gantt_bars_sit_on_the_assigned_machines(tmp_path):
    # job 0: op 0 on m0 (3) or m1 (5), op 1 on m1 (2); job 1: op 0 on m0 (2), op 1 on m0 (4) or m1 (1)
    tiny = FlexibleJobShopInstance("tiny", ((((0, 3), (1, 5)), ((1, 2),)), (((0, 2),), ((0, 4), (1, 1)))), 2)
    schedule = FlexibleSchedule(tiny, [[1, 1], [0, 0]], [[0, 5], [0, 2]])
    figures = [plot_gantt(schedule), plot_record(tiny, schedule.to_dict(), tmp_path / "tiny.svg")]
    for figure in figures:
        bars = sorted((round(p.get_y() + p.get_height() / 2), p.get_x(), p.get_width()) for p in figure.axes[0].patches)
        assert bars == [(0, 0, 2), (0, 2, 4), (1, 0, 5), (1, 5, 2)]  # (machine row, start, duration)
    assert b"<svg" in (tmp_path / "tiny.svg").read_bytes()
