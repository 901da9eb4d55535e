"""The shipped flexible job-shop model in the evaluator: ``gnn``, sampling and ``gnn+cpsat:T`` on mk01."""

from __future__ import annotations

import json

import cpgym
from cpgym.errors import Status
from cpgym.evaluation.methods import problems_of
from cpgym.instances import load_fjsp, validate_flexible_schedule


def test_gnn_methods_on_mk01(tmp_path):
    assert problems_of("gnn") == ("jssp", "fjsp") and problems_of("gnn+cpsat:2") == ("jssp", "fjsp")
    assert problems_of("gnn-sample4") == ("jssp", "fjsp") and problems_of("gnn-bisample4") == ("jssp", "fjsp")
    methods = ["gnn", "gnn-sample4", "gnn-bisample4", "gnn+cpsat:2"]
    result = cpgym.evaluate(datasets=["mk01"], methods=methods, out=tmp_path, threads=1, plots=False)
    rows = {row.method: row for row in result.rows}
    assert set(rows) == set(methods) and not result.failed
    assert all(row.valid and row.gap_percent >= 0 for row in rows.values())
    assert rows["gnn"].status == Status.HEURISTIC
    assert rows["gnn-sample4"].objective <= rows["gnn"].objective
    assert rows["gnn-bisample4"].objective <= rows["gnn"].objective  # its forward half starts greedy
    assert rows["gnn+cpsat:2"].objective <= rows["gnn"].objective
    record = json.loads((tmp_path / "solutions" / "mk01__gnn.json").read_text())
    machines, starts = record["machines"], record["start_times"]
    report = validate_flexible_schedule(load_fjsp("mk01"), machines, starts, record["makespan"])
    assert report.ok and report.makespan == rows["gnn"].objective
