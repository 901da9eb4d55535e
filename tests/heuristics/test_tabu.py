"""Tests of the N5 tabu search: known optima, brute-force optima, determinism, limits and argument errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cpgym.agents.rules import dispatch
from cpgym.errors import ArgumentError
from cpgym.heuristics import ScheduleGraph, TabuResult, prepare, tabu_search
from cpgym.instances import JobShopInstance, load, validate_schedule

LONG = 600.0  # a time limit that never binds: these runs stop on max_iterations or on a proof


def check_result(instance: JobShopInstance, result: TabuResult, start_makespan: int) -> None:
    assert validate_schedule(instance, result.schedule.start_times, claimed_makespan=result.makespan).ok
    assert result.makespan <= start_makespan
    assert result.makespan >= instance.trivial_lower_bound()


def brute_force_optimum(instance: JobShopInstance) -> int:
    """The best makespan over every acyclic choice of machine sequences."""
    best = None
    permutations = list(itertools.permutations(range(instance.n_jobs)))
    for rows in itertools.product(permutations, repeat=instance.n_machines):
        try:
            makespan = ScheduleGraph.from_sequences(instance, np.array(rows)).makespan
        except ArgumentError:  # a cycle
            continue
        best = makespan if best is None else min(best, makespan)
    return best


@pytest.mark.parametrize(
    ("name", "optimum", "iterations"), [("ft06", 55, 100_000), ("la01", 666, 100_000), ("ft10", 930, 1_000_000)]
)
def test_reaches_the_known_optimum_from_mwkr(name: str, optimum: int, iterations: int) -> None:
    instance = load(name)
    start = dispatch(instance, "mwkr")
    assert start.makespan > optimum
    result = tabu_search(instance, start.start_times, LONG, seed=0, max_iterations=iterations)
    check_result(instance, result, start.makespan)
    assert result.makespan == optimum
    assert result.moves_evaluated >= result.iterations > 0


def test_stops_on_the_lower_bound() -> None:
    instance = load("la01")  # optimum 666 = the load of its busiest machine
    assert instance.trivial_lower_bound() == 666
    result = tabu_search(instance, dispatch(instance, "mwkr").start_times, LONG, max_iterations=1_000_000)
    assert result.proven_optimal and result.makespan == 666 and result.iterations < 1_000_000


@pytest.mark.parametrize("seed", range(8))
def test_reaches_the_brute_force_optimum_of_tiny_instances(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_jobs, n_machines = (3, 3) if seed % 2 else (4, 2)
    instance = JobShopInstance(
        f"tiny{seed}",
        rng.permuted(np.tile(np.arange(n_machines), (n_jobs, 1)), axis=1),
        rng.integers(1, 10, size=(n_jobs, n_machines)),
    )
    start = dispatch(instance, "lpt")
    result = tabu_search(instance, start.start_times, LONG, seed=seed, max_iterations=100_000)
    check_result(instance, result, start.makespan)
    assert result.makespan == brute_force_optimum(instance)


def test_deterministic_given_seed_and_iterations() -> None:
    instance = load("ta01")
    start = dispatch(instance, "mwkr").start_times
    first, second = (tabu_search(instance, start, LONG, seed=3, max_iterations=30_000) for _ in range(2))
    assert first.iterations == second.iterations == 30_000
    assert np.array_equal(first.schedule.start_times, second.schedule.start_times)
    assert (first.makespan, first.moves_evaluated, first.back_jumps, first.restarts) == (
        second.makespan, second.moves_evaluated, second.back_jumps, second.restarts,
    )
    check_result(instance, first, dispatch(instance, "mwkr").makespan)


def test_chunking_does_not_change_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    import cpgym.heuristics.tabu as tabu

    instance = load("ft10")
    start = dispatch(instance, "mwkr").start_times
    results = []
    for chunk_seconds in (1e-9, 1.0):  # one iteration per chunk, then chunks as long as the budget allows
        monkeypatch.setattr(tabu, "CHUNK_SECONDS", chunk_seconds)
        results.append(tabu_search(instance, start, LONG, seed=1, max_iterations=3_000))
    assert np.array_equal(results[0].schedule.start_times, results[1].schedule.start_times)
    assert results[0].moves_evaluated == results[1].moves_evaluated


@pytest.mark.parametrize("shape", [(1, 1), (1, 4), (4, 1)])
def test_one_job_or_one_machine_is_proven_optimal(shape: tuple[int, int]) -> None:
    instance = JobShopInstance("degenerate", np.tile(np.arange(shape[1]), (shape[0], 1)), np.full(shape, 3))
    start = dispatch(instance, "spt")
    result = tabu_search(instance, start.start_times, LONG, max_iterations=1_000)
    check_result(instance, result, start.makespan)
    assert result.proven_optimal and result.iterations == 0
    assert result.makespan == instance.trivial_lower_bound() == 3 * max(shape)


def test_back_jumps_and_restarts_happen_in_long_runs() -> None:
    instance = load("ft06")
    result = tabu_search(instance, dispatch(instance, "mwkr").start_times, LONG, max_iterations=200_000)
    assert result.back_jumps > 0 and result.restarts > 0
    assert result.makespan == 55


def test_zero_iterations_return_the_semi_active_start() -> None:
    instance = load("ta01")
    start = dispatch(instance, "mwkr")
    result = tabu_search(instance, start.start_times, LONG, max_iterations=0)
    assert result.iterations == 0
    expected = ScheduleGraph.from_start_times(instance, start.start_times).start_times()
    assert np.array_equal(result.schedule.start_times, expected)


def test_a_tiny_time_limit_still_returns_a_valid_schedule() -> None:
    prepare()
    instance = load("ta71")  # 100 x 20
    start = dispatch(instance, "mwkr")
    result = tabu_search(instance, start.start_times, 1e-4)
    check_result(instance, result, start.makespan)


def test_zero_durations_are_handled() -> None:
    rng = np.random.default_rng(7)
    instance = JobShopInstance(
        "zeros", rng.permuted(np.tile(np.arange(3), (3, 1)), axis=1), rng.integers(0, 3, size=(3, 3))
    )
    start = dispatch(instance, "spt")
    result = tabu_search(instance, start.start_times, LONG, max_iterations=5_000)
    check_result(instance, result, start.makespan)
    assert result.makespan == brute_force_optimum(instance)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"time_limit": 0}, "time limit"),
        ({"time_limit": -1.0}, "time limit"),
        ({"time_limit": float("nan")}, "time limit"),
        ({"time_limit": float("inf")}, "time limit"),
        ({"time_limit": "ten"}, "time limit"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"seed": True}, "seed"),
        ({"max_iterations": -1}, "max_iterations"),
        ({"max_iterations": 2.5}, "max_iterations"),
        ({"start_times": np.zeros((6, 6))}, "not a valid schedule"),
        ({"start_times": np.zeros((6, 5))}, "not a valid schedule"),
    ],
)
def test_bad_arguments_raise_argument_error(kwargs: dict, match: str) -> None:
    instance = load("ft06")
    arguments = {"start_times": dispatch(instance, "mwkr").start_times, "time_limit": 1.0, **kwargs}
    with pytest.raises(ArgumentError, match=match):
        tabu_search(instance, **arguments)
