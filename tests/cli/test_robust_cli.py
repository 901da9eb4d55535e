"""The robust instances on the command line: ``cpgym solve`` with CCG and ``cpgym evaluate-x``."""

import argparse
import json

import pytest

from cpgym.cli import main
from cpgym.cli.robust import add_evaluate_x_parser
from cpgym.errors import CpgymError
from cpgym.instances import problem_of, resolve_instance
from cpgym.instances.capital_budgeting import load_capital_budgeting


def is_ro_instance(target: str) -> bool:
    """True for bundled ``RKP_``/``CB_`` names and files of the robust problems (the public resolver)."""
    try:
        return problem_of(resolve_instance(target)).name in ("rkp", "cb")
    except CpgymError:
        return False


def solve_ro(target: str, method: str, time_limit: float, json_output: bool) -> int:
    """``cpgym solve TARGET --method METHOD --time-limit T [--json]``; its exit code."""
    return main(["solve", target, "--method", method, "--time-limit", str(time_limit), *(["--json"] * json_output)])


def test_is_ro_instance(tmp_path):
    assert is_ro_instance("CB_n10_xi4_s1") and is_ro_instance("RKP_UN_n20_R1000_H100_h40_dev0.1_d0.5")
    assert not is_ro_instance("ta01") and not is_ro_instance(str(tmp_path / "missing"))
    bad = tmp_path / "bad.txt"
    bad.write_text("not an instance\n")
    assert not is_ro_instance(str(bad))


def test_solve_ro_json(capsys):
    assert solve_ro("RKP_UN_n20_R1000_H100_h40_dev0.1_d0.5", "ccg", 30, True) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["objective"] == pytest.approx(record["best_known"], abs=0.01)
    assert {"bound", "status", "time"} <= record.keys()
    assert solve_ro("CB_n10_xi4_s1", "nope", 1, False) == 2


def test_evaluate_x_cli(capsys):
    parser = argparse.ArgumentParser()
    add_evaluate_x_parser(parser.add_subparsers())
    inst = load_capital_budgeting("CB_n10_xi4_s1")
    args = parser.parse_args(["evaluate-x", inst.name, "--x", "0 1 1 0 0 0 0 1 0 0", "--json", "--sampled"])
    assert args.func(args) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["upper"] == record["objective"] and "optimistic" in record["note"]
    args = parser.parse_args(["evaluate-x", inst.name, "--x", "0 1", "--json"])
    assert args.func(args) == 2
