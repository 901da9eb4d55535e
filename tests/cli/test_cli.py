"""The ``cpgym`` console script: solve, instances, and the root shims."""

import json
import subprocess
import sys

import pytest

from cpgym.cli.main import main
from cpgym.instances import load, read_instance, validate_schedule


def test_solve_json_has_fields_and_valid_schedule(capsys, tmp_path):
    gantt = tmp_path / "ft06.png"
    assert main(["solve", "ft06", "--time-limit", "10", "--workers", "2", "--json", "--gantt", str(gantt)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["makespan"] == record["lower_bound"] == 55
    assert record["status"] == "optimal" and record["gap_percent"] == 0.0
    assert validate_schedule(load("ft06"), record["start_times"], record["makespan"]).ok
    assert gantt.stat().st_size > 0


def test_solve_with_rule_reports_gap(capsys):
    assert main(["solve", "ta01", "--method", "mwkr"]) == 0
    out = capsys.readouterr().out
    assert "makespan: 1491" in out and "gap_percent: 21.121" in out


def test_solve_file_and_unknown_target(capsys, tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("2 2\n0 3 1 2\n1 4 0 1\n")
    assert main(["solve", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["makespan"] == 6
    with pytest.raises(SystemExit, match="neither a bundled instance"):
        main(["solve", "no_such_thing"])


def test_instances_list_show_export(capsys, tmp_path):
    assert main(["instances", "list", "--family", "ta", "--size", "100x20"]) == 0
    out = capsys.readouterr().out
    assert "ta71" in out and "10 instances" in out
    assert main(["instances", "show", "ft06"]) == 0
    assert "lb=55 ub=55 (closed)" in capsys.readouterr().out
    target = tmp_path / "ta01.txt"
    assert main(["instances", "export", "ta01", str(target), "--layout", "taillard"]) == 0
    exported = read_instance(target)
    assert exported.metadata["layout"] == "taillard"
    assert (exported.durations == load("ta01").durations).all()


def test_console_script_and_shim_run_in_fresh_interpreters():
    result = subprocess.run([sys.executable, "evaluate.py", "--help"], capture_output=True, text=True, check=True)
    assert "--datasets" in result.stdout
    result = subprocess.run(
        [sys.executable, "-m", "cpgym", "solve", "la01", "--method", "spt", "--json"],
        capture_output=True, text=True, check=True,
    )
    assert json.loads(result.stdout)["instance"] == "la01"
