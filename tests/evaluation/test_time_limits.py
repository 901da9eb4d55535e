"""Hard time limits: a method whose limit runs out answers "no solution", marked so, and never overruns
by waiting for a heuristic (checked with limits no computation can meet, not with timings)."""

from __future__ import annotations

import pytest

from cpgym.agents.rules import dispatch
from cpgym.errors import Status, TimeLimitReached
from cpgym.evaluation.methods import Settings, make_solver
from cpgym.instances import taillard, validate_schedule

BIG = taillard(50, 20, time_seed=1, machine_seed=2, name="tai_50x20")
NO_TIME = 1e-9  # seconds: no schedule of 1,000 operations is ever built this fast


def test_a_rule_stops_at_its_time_limit():
    with pytest.raises(TimeLimitReached, match="mwkr did not finish tai_50x20"):
        dispatch(BIG, "mwkr", time_limit=NO_TIME)
    assert validate_schedule(BIG, dispatch(BIG, "mwkr", time_limit=60).start_times).ok


@pytest.mark.parametrize("spec", ["mwkr", "gnn", "gnn-sample4"])
def test_a_method_out_of_time_answers_no_solution(spec):
    solver = make_solver(spec)
    if hasattr(solver, "prepare"):
        solver.prepare(Settings())
    result = solver(BIG, Settings(time_limit=NO_TIME))
    assert result.solution is None and result.status == Status.UNKNOWN
    assert "did not finish" in result.details["stopped"]


def test_warm_start_bounds_its_heuristic_and_still_solves():
    solver = make_solver("mwkr+cpsat:2")
    result = solver(BIG, Settings(time_limit=NO_TIME))  # the whole method has (almost) no time
    assert result.solution is None and result.status == Status.UNKNOWN
    result = solver(taillard(6, 4, time_seed=3, machine_seed=4), Settings())
    assert result.solution is not None and result.status in (Status.OPTIMAL, Status.FEASIBLE)
