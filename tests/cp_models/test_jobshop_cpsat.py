"""The job-shop CP-SAT model: known optima, fixed prefixes, hints, infeasible prefixes."""

import numpy as np
import pytest

from cpgym.cp_models import solve_jobshop
from cpgym.instances import load, validate_schedule


@pytest.mark.parametrize(("name", "optimum", "time_limit"), [("ft06", 55, 20), ("la01", 666, 20), ("ft10", 930, 120)])
def test_proves_known_optimum(name, optimum, time_limit):
    result = solve_jobshop(load(name), time_limit=time_limit, workers=4, seed=1)
    assert result.status == "optimal"
    assert result.makespan == result.lower_bound == optimum
    report = validate_schedule(result.instance, result.schedule.start_times, claimed_makespan=result.makespan)
    assert report.ok, report.violations
    assert result.trace and result.trace[-1][1] == optimum
    assert result.gap_to_best_known == 0.0


def test_fixed_prefix_is_respected():
    ft06 = load("ft06")
    fixed = np.full((6, 6), -1)
    fixed[0, 0], fixed[1, 0], fixed[2, 0] = 20, 0, 5  # deliberately poor starts
    result = solve_jobshop(ft06, time_limit=10, workers=2, fixed_starts=fixed)
    assert result.status == "optimal"
    assert result.schedule.start_times[0, 0] == 20
    assert result.schedule.start_times[1, 0] == 0
    assert result.schedule.start_times[2, 0] == 5
    assert validate_schedule(ft06, result.schedule.start_times).ok
    assert result.makespan > 55  # job 0 cannot finish its 26 units of work before 20 + 26


def test_infeasible_prefix_is_reported():
    ft06 = load("ft06")
    fixed = np.full((6, 6), -1)
    fixed[0, 0], fixed[0, 1] = 0, 0  # op 1 of job 0 would start before op 0 ends
    result = solve_jobshop(ft06, time_limit=5, workers=2, fixed_starts=fixed)
    assert result.status == "infeasible"
    assert result.schedule is None and result.makespan is None


def test_hint_is_used_as_first_solution():
    la01 = load("la01")
    optimal = solve_jobshop(la01, time_limit=20, workers=2).schedule
    result = solve_jobshop(la01, time_limit=5, workers=1, hint=optimal)
    assert result.trace[0][1] == 666  # the first solution found is the hinted optimum


def test_wrong_shape_prefix_rejected():
    with pytest.raises(ValueError, match="fixed_starts has shape"):
        solve_jobshop(load("ft06"), fixed_starts=np.zeros((2, 2)))


@pytest.mark.parametrize("limit", [0, -1, float("nan"), float("inf"), "soon"])
def test_time_limits_must_be_finite_and_positive(limit):
    from cpgym.errors import ArgumentError

    with pytest.raises(ArgumentError, match="time limit must be a"):
        solve_jobshop(load("ft06"), time_limit=limit)


def test_workers_must_be_positive():
    from cpgym.errors import ArgumentError

    with pytest.raises(ArgumentError, match="workers must be at least 1"):
        solve_jobshop(load("ft06"), time_limit=1, workers=0)


def test_cpsat_parameters_reach_the_solver():
    """``parameters`` are CP-SAT's own: a repeated field takes a list, an unknown name is refused by name."""
    from cpgym.errors import ArgumentError

    result = solve_jobshop(load("ft06"), time_limit=10, workers=1,
                           parameters={"interleave_search": True, "subsolvers": ["default_lp"]})
    assert result.status == "optimal" and result.makespan == 55
    assert validate_schedule(result.instance, result.schedule.start_times, claimed_makespan=55).ok
    stopped = solve_jobshop(load("ft10"), time_limit=10, workers=1, parameters={"stop_after_first_solution": True})
    assert stopped.status == "feasible" and len(stopped.trace) == 1
    with pytest.raises(ArgumentError, match="unknown CP-SAT parameter 'no_such_parameter'"):
        solve_jobshop(load("ft06"), time_limit=1, workers=1, parameters={"no_such_parameter": True})
