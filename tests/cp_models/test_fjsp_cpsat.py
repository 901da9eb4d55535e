"""The flexible job-shop CP-SAT model: known optima, agreement with the job-shop model, hints, fixed
partial schedules, infeasible prefixes and argument errors; every solution is checked by the validator."""

import pytest

import cpgym.instances.fjsp_library  # noqa: F401  (registers "fjsp" until cpgym.instances imports it)
from cpgym.cp_models import solve_jobshop
from cpgym.cp_models.fjsp_cpsat import ONE_WORKER_IMPROVEMENT, FlexibleJobShopSolution, improve_fjsp, solve_fjsp
from cpgym.errors import ArgumentError
from cpgym.instances import check, load
from cpgym.instances.fjsp import FlexibleJobShopInstance
from cpgym.instances.fjsp_library import load_fjsp
from cpgym.instances.fjsp_schedule import validate_flexible_schedule


def assert_valid(result: FlexibleJobShopSolution) -> None:
    schedule = result.schedule
    report = validate_flexible_schedule(result.instance, schedule.machines, schedule.start_times, result.makespan)
    assert report.ok, report.violations
    assert check(result.instance, schedule).objective == result.makespan


@pytest.mark.parametrize(("name", "optimum"), [
    ("mk01", 40), ("kacem1", 11), ("kacem2", 11), ("kacem3", 7),
    ("fattahi1", 66), ("fattahi5", 119), ("fattahi10", 516), ("fattahi15", 514), ("fattahi17", 879),
    ("la01_edata", 609), ("mk04", 60),
])
def test_proves_known_optimum(name, optimum):
    result = solve_fjsp(load_fjsp(name), time_limit=30, workers=2, seed=1)
    assert result.status == "optimal"
    assert result.makespan == result.lower_bound == optimum == result.instance.upper_bound
    assert_valid(result)
    assert result.trace and result.trace[-1][1] == optimum
    assert result.gap_to_best_known == 0.0


def test_sdata_and_converted_job_shop_agree_with_the_job_shop_model():
    la01 = solve_fjsp(load_fjsp("la01_sdata"), time_limit=20, workers=2)
    assert la01.status == "optimal" and la01.makespan == 666 == solve_jobshop(load("la01"), 20, workers=2).makespan
    assert_valid(la01)
    ft06 = load("ft06")
    converted = solve_fjsp(FlexibleJobShopInstance.from_jobshop(ft06), time_limit=20, workers=2)
    assert converted.status == "optimal" and converted.makespan == 55 == solve_jobshop(ft06, 20, workers=2).makespan
    assert [list(row) for row in converted.schedule.machines] == ft06.machines.tolist()
    assert_valid(converted)


def test_hint_is_used_as_first_solution():
    mk01 = load_fjsp("mk01")
    optimal = solve_fjsp(mk01, time_limit=30, workers=2).schedule
    for hint in (optimal, (optimal.machines, optimal.start_times)):
        result = solve_fjsp(mk01, time_limit=10, workers=1, hint=hint)
        assert result.trace[0][1] == 40  # the first solution found is the hinted optimum
        assert_valid(result)


def test_fixed_machines_and_starts_are_respected():
    fattahi1 = load_fjsp("fattahi1")  # job 0: m0 25 | m1 37, m0 32 | m1 24; job 1: m0 45 | m1 65, m0 21 | m1 65
    result = solve_fjsp(fattahi1, time_limit=10, workers=2, fixed_machines=[[-1, -1], [1, -1]])
    assert result.status == "optimal" and result.schedule.machines[1][0] == 1
    assert result.makespan == 86  # job 1 needs 65 on machine 1, then at least 21
    assert_valid(result)
    fixed = solve_fjsp(fattahi1, time_limit=10, workers=2, fixed_starts=[[30, -1], [-1, -1]])
    assert fixed.status == "optimal" and fixed.schedule.start_times[0][0] == 30
    assert fixed.makespan > 66  # job 0 cannot finish its 49 units of work before 30 + 49
    assert_valid(fixed)


def test_infeasible_prefix_is_reported():
    result = solve_fjsp(load_fjsp("fattahi1"), time_limit=5, workers=2, fixed_starts=[[0, 0], [-1, -1]])
    assert result.status == "infeasible"  # op 1 of job 0 would start before op 0 ends
    assert result.schedule is None and result.makespan is None and result.lower_bound is None


def test_callback_sees_every_improving_solution():
    seen = []
    result = solve_fjsp(load_fjsp("kacem1"), time_limit=10, workers=1, callback=lambda *point: seen.append(point))
    assert seen == result.trace and seen[-1][1] == 11
    assert all(makespan >= bound for _, makespan, bound in seen)


@pytest.mark.parametrize(("arguments", "message"), [
    ({"fixed_machines": [[0, 0], [0, 0]]}, r"fixed_machines: job 1 op 0 cannot run on machine 0 \(eligible: \[1, 2"),
    ({"fixed_starts": [[0, 0]]}, r"fixed_starts has operations per job \[2\], expected \[2, 2\]"),
    ({"hint": ([[0, 0], [0, 0]], None)}, "hint needs both machines and start times"),
    ({"hint": ([[0, 0], [5, 0]], [[0, 5], [0, 9]])}, "hint: job 1 op 0 cannot run on machine 5"),
    ({"time_limit": 0}, "time limit must be a finite number of seconds > 0"),
    ({"time_limit": float("inf")}, "time limit must be a finite number of seconds > 0"),
    ({"workers": 0}, "workers must be at least 1"),
])
def test_bad_arguments_are_refused(arguments, message):
    instance = FlexibleJobShopInstance("two", ((((0, 1),), ((0, 2),)), (((1, 3), (2, 4)), ((0, 1),))), 3)
    with pytest.raises(ArgumentError, match=message):
        solve_fjsp(instance, **{"time_limit": 5, **arguments})


def test_a_time_limited_run_reports_its_anytime_trace():
    result = solve_fjsp(load_fjsp("mk10"), time_limit=2, workers=2)  # open (189..193): not proven in 2 s
    assert result.status == "feasible" and result.lower_bound < result.makespan
    assert result.gap_to_best_known > 0
    makespans = [makespan for _, makespan, _ in result.trace]
    assert makespans == sorted(makespans, reverse=True) and makespans[-1] == result.makespan
    assert_valid(result)


def test_large_models_are_solved_without_probing(monkeypatch):
    import cpgym.cp_models.fjsp_cpsat as fjsp_cpsat

    seen = []
    real = fjsp_cpsat.run_cpsat

    def spy(*args):
        seen.append(args[-1])
        return real(*args)

    monkeypatch.setattr(fjsp_cpsat, "run_cpsat", spy)
    instance = load_fjsp("mk01")  # 55 operations, 115 options
    assert solve_fjsp(instance, time_limit=5, workers=1).makespan == 40
    monkeypatch.setattr(fjsp_cpsat, "LARGE_MODEL_OPTIONS", 100)
    assert solve_fjsp(instance, time_limit=5, workers=1).makespan == 40  # the optimum either way
    assert seen == [{}, {"cp_model_probing_level": 0}]
    assert solve_fjsp(instance, time_limit=5, workers=1, parameters={"interleave_search": True}).makespan == 40
    assert seen[-1] == {"cp_model_probing_level": 0, "interleave_search": True}


def _spy_solves(monkeypatch) -> list[dict]:
    """Record the time limit and parameters of every solve_fjsp call improve_fjsp makes."""
    import cpgym.cp_models.fjsp_cpsat as fjsp_cpsat

    calls, real = [], fjsp_cpsat.solve_fjsp

    def spy(instance, time_limit, workers, seed, hint, parameters=None):
        calls.append({"time_limit": time_limit, "workers": workers, "parameters": parameters,
                      "hint_makespan": hint.makespan})
        return real(instance, time_limit, workers, seed, hint=hint, parameters=parameters)

    monkeypatch.setattr(fjsp_cpsat, "solve_fjsp", spy)
    return calls


def test_improve_with_one_worker_interleaves_the_neighbourhood_searches_from_the_hint(monkeypatch):
    instance = load_fjsp("mk10")  # open: not proved in a few seconds
    hint = solve_fjsp(instance, time_limit=1, workers=1, seed=3).schedule
    calls = _spy_solves(monkeypatch)
    result = improve_fjsp(instance, hint, time_limit=4, workers=1)
    assert calls == [{"time_limit": 4, "workers": 1, "parameters": ONE_WORKER_IMPROVEMENT,
                      "hint_makespan": hint.makespan}]
    assert ONE_WORKER_IMPROVEMENT == {"interleave_search": True, "subsolvers": ["default_lp"]}  # not mutated
    assert result.status == "feasible" and result.lower_bound < result.makespan < hint.makespan
    assert result.wall_time < 4.6
    times = [seconds for seconds, _, _ in result.trace]
    makespans = [makespan for _, makespan, _ in result.trace]
    assert times == sorted(times) and makespans[0] <= hint.makespan and min(makespans) == result.makespan
    assert_valid(result)


def test_improve_proves_optima_and_gives_more_workers_the_default_portfolio(monkeypatch):
    instance = load_fjsp("mk01")
    hint = solve_fjsp(instance, time_limit=0.3, workers=1, seed=3).schedule
    calls = _spy_solves(monkeypatch)
    result = improve_fjsp(instance, hint, time_limit=20, workers=1)
    assert result.status == "optimal" and result.makespan == 40 and len(calls) == 1
    assert_valid(result)
    calls.clear()
    assert improve_fjsp(instance, hint, time_limit=20, workers=2).makespan == 40
    assert calls == [{"time_limit": 20, "workers": 2, "parameters": None, "hint_makespan": hint.makespan}]


def test_list_valued_cpsat_parameters_are_set():
    """A repeated SatParameters field (here the subsolvers of an interleaved search) takes a list."""
    result = solve_fjsp(load_fjsp("mk01"), time_limit=5, workers=1,
                        parameters={"interleave_search": True, "subsolvers": ["default_lp"]})
    assert result.makespan == 40
    assert_valid(result)


@pytest.mark.parametrize("parameters, message", [
    ({"no_such_parameter": 1}, "unknown CP-SAT parameter 'no_such_parameter'"),
    ({"num_workers": "two"}, "CP-SAT parameter 'num_workers' takes a value of type int, got 'two'"),
    ({"subsolvers": "default_lp"}, "CP-SAT parameter 'subsolvers' takes a list"),
])
def test_bad_cpsat_parameters_are_refused_by_name(parameters, message):
    with pytest.raises(ArgumentError, match=message):
        solve_fjsp(load_fjsp("mk01"), time_limit=1, workers=1, parameters=parameters)
