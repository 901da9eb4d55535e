"""CP-SAT large-neighbourhood search: it improves a dispatching start, keeps the incumbent, checks arguments."""

import numpy as np
import pytest

from cpgym.agents.rules import dispatch
from cpgym.errors import ArgumentError
from cpgym.heuristics.lns import large_neighbourhood_search
from cpgym.heuristics.schedule_graph import ScheduleGraph
from cpgym.instances import load, validate_schedule


def test_improves_an_mwkr_start_on_ft10():
    instance = load("ft10")
    start = dispatch(instance, "mwkr")
    result = large_neighbourhood_search(instance, start, time_limit=5.0, seed=1)
    report = validate_schedule(instance, result.schedule.start_times, claimed_makespan=result.makespan)
    assert report.ok, report.violations
    assert 930 <= result.makespan < start.makespan  # 930: the optimum
    assert 1 <= result.improvements <= result.iterations


def test_tiny_time_limit_returns_the_incumbent():
    instance = load("ta71")  # 100 x 20: no iteration fits in a millisecond
    start = dispatch(instance, "mwkr")
    result = large_neighbourhood_search(instance, start.start_times, time_limit=0.001)
    assert result.iterations == result.improvements == 0
    assert validate_schedule(instance, result.schedule.start_times, claimed_makespan=result.makespan).ok
    assert result.makespan <= start.makespan
    kept = ScheduleGraph.from_start_times(instance, result.schedule.start_times).sequences
    np.testing.assert_array_equal(kept, ScheduleGraph.from_start_times(instance, start.start_times).sequences)


def test_bad_arguments_raise():
    instance = load("ft06")
    start = dispatch(instance, "mwkr").start_times
    overlapping = start.copy()
    overlapping[:, :] = np.arange(instance.n_machines) * 100  # every job starts each step together
    assert not validate_schedule(instance, overlapping).ok
    for arguments in (
        {"time_limit": 0},
        {"time_limit": float("inf")},
        {"time_limit": 1, "workers": 0},
        {"time_limit": 1, "seed": 1.5},
        {"time_limit": 1, "iteration_limit": -1},
    ):
        with pytest.raises(ArgumentError):
            large_neighbourhood_search(instance, start, **arguments)
    for wrong in (overlapping, start[:, :-1]):
        with pytest.raises(ArgumentError):
            large_neighbourhood_search(instance, wrong, time_limit=1)
