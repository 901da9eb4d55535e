"""Tests of the CP link: completing the environment's partial schedule with CP-SAT."""

from __future__ import annotations

import numpy as np
import pytest

from cpgym.agents.rules import RulePolicy
from cpgym.cp_models import solve_jobshop
from cpgym.envs.jobshop import JobShopEnv
from cpgym.envs.jobshop_state import start_order_actions
from cpgym.instances import load, uniform, validate_schedule


def advance(env: JobShopEnv, n_steps: int, seed: int) -> list[int]:
    """Reset and take ``n_steps`` random legal actions; returns them."""
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    actions = []
    for _ in range(n_steps):
        actions.append(int(rng.choice(np.flatnonzero(obs["action_mask"]))))
        obs, *_ = env.step(actions[-1])
    return actions


def test_completing_the_empty_prefix_equals_plain_solving():
    instance = load("ft06")  # optimum 55
    env = JobShopEnv(instance)
    env.reset(seed=0)
    assert (env.partial_schedule() == -1).all()
    completed = env.complete_with_cpsat(time_limit=20, workers=2)
    plain = solve_jobshop(instance, time_limit=20, workers=2)
    assert completed.status == plain.status == "optimal"
    assert completed.makespan == plain.makespan == instance.upper_bound == 55


@pytest.mark.parametrize("mode", ["active", "non_delay"])
@pytest.mark.parametrize("n_steps", [5, 20])
def test_completion_respects_the_prefix_and_is_valid(mode, n_steps):
    instance = uniform(6, 5, seed=11)
    env = JobShopEnv(instance, mode=mode, observation="flat")
    actions = advance(env, n_steps, seed=n_steps)
    prefix = env.partial_schedule()
    assert (prefix >= 0).sum() == n_steps
    solution = env.complete_with_cpsat(time_limit=20, workers=2)
    assert solution.status == "optimal"
    starts = solution.schedule.start_times
    np.testing.assert_array_equal(starts[prefix >= 0], prefix[prefix >= 0])
    assert validate_schedule(instance, starts, solution.makespan).ok
    assert solution.makespan >= env.makespan_lb  # the env's bound holds for every completion
    # an optimal completion is no worse than finishing the episode with a rule
    replay = JobShopEnv(instance, mode=mode, observation="flat")
    replay.reset(seed=n_steps)
    for action in actions:
        replay.step(action)
    policy, terminated = RulePolicy("mwkr"), False
    while not terminated:
        _, _, terminated, _, info = replay.step(policy(replay))
    np.testing.assert_array_equal(info["schedule"].start_times[prefix >= 0], prefix[prefix >= 0])
    assert solution.makespan <= info["makespan"]


def test_completing_a_finished_episode_returns_its_schedule():
    env = JobShopEnv("ft06", mode="non_delay")
    advance(env, 36, seed=2)
    assert env.state.done
    solution = env.complete_with_cpsat(time_limit=10, workers=1)
    assert solution.schedule.start_times.tolist() == env.state.schedule().start_times.tolist()
    assert solution.makespan == env.makespan


@pytest.mark.parametrize("n_steps", [0, 12])
def test_active_mode_replays_a_cpsat_completion(n_steps):
    instance = load("la01")  # 10x5, optimum 666
    env = JobShopEnv(instance, mode="active", observation="flat")
    advance(env, n_steps, seed=5)
    solution = env.complete_with_cpsat(time_limit=20, workers=2)
    actions = start_order_actions(solution.schedule.start_times, scheduled=env.partial_schedule() >= 0)
    assert len(actions) == instance.n_operations - n_steps
    for action in actions:
        _, _, terminated, _, info = env.step(action)
    assert terminated and info["makespan"] <= solution.makespan
    if n_steps == 0:
        assert info["makespan"] == solution.makespan == 666
