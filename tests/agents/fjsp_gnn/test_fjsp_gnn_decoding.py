"""Decoding with the flexible job-shop GNN: valid schedules, best of N, time limits, job-shop instances."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th

from cpgym.agents.fjsp_gnn.checkpoint import FlexibleGNNAgent
from cpgym.agents.fjsp_gnn.decoding import lockstep_rollouts, solve_fjsp_with_agent
from cpgym.agents.fjsp_gnn.policy import FlexibleGNNPolicy
from cpgym.errors import ArgumentError, TimeLimitReached
from cpgym.instances import FlexibleJobShopInstance, FlexibleSchedule, load_fjsp, validate_flexible_schedule
from cpgym.instances.fjsp_generators import generate_sd1


@pytest.fixture(scope="module", params=["active", "non_delay"])
def agent(request) -> FlexibleGNNAgent:
    th.manual_seed(1)
    return FlexibleGNNAgent(FlexibleGNNPolicy(hidden_dim=16).eval(), {"env": {"mode": request.param}})


def _valid(instance: FlexibleJobShopInstance, schedule: FlexibleSchedule) -> int:
    report = validate_flexible_schedule(instance, schedule.machines, schedule.start_times)
    assert report.ok, report.violations
    return report.makespan


def test_greedy_is_valid_and_deterministic(agent):
    instance = generate_sd1(4, 3, seed=5)
    schedule = solve_fjsp_with_agent(agent, instance)
    assert isinstance(schedule, FlexibleSchedule) and schedule.instance is instance
    assert _valid(instance, schedule) == solve_fjsp_with_agent(agent, instance).makespan


def test_best_of_n_is_never_worse_than_greedy(agent):
    for seed in range(3):
        instance = generate_sd1(5, 3, seed=seed)
        greedy = _valid(instance, solve_fjsp_with_agent(agent, instance))
        best = solve_fjsp_with_agent(agent, instance, samples=8, seed=seed)
        assert _valid(instance, best) <= greedy
        assert solve_fjsp_with_agent(agent, instance, samples=8, seed=seed).makespan == best.makespan  # seeded


def test_job_shop_instance_with_one_machine_per_operation(agent, ft06):
    instance = FlexibleJobShopInstance.from_jobshop(ft06)
    assert _valid(instance, solve_fjsp_with_agent(agent, instance, samples=4)) >= 55


def test_time_limits(agent):
    instance = load_fjsp("mk01")
    assert _valid(instance, solve_fjsp_with_agent(agent, instance, time_limit=0.5)) > 0
    with pytest.raises(TimeLimitReached, match="mk01"):
        solve_fjsp_with_agent(agent, instance, stop_after=1e-6)
    with pytest.raises(ArgumentError, match="sampling time limit"):
        solve_fjsp_with_agent(agent, instance, time_limit=-1)


def test_both_directions_is_the_better_of_the_two_views(agent):
    for seed in range(3):
        instance = generate_sd1(5, 3, seed=seed)
        mirror = instance.time_reversed()
        expected = min(_valid(instance, solve_fjsp_with_agent(agent, instance, samples=4, seed=seed)),
                       _valid(mirror, solve_fjsp_with_agent(agent, mirror, samples=3, seed=seed)))
        both = solve_fjsp_with_agent(agent, instance, samples=7, seed=seed, both_directions=True)
        assert both.instance is instance and _valid(instance, both) == expected
        greedy_pair = solve_fjsp_with_agent(agent, instance, samples=2, both_directions=True)
        backward = solve_fjsp_with_agent(agent, mirror).read_backwards(instance)
        assert greedy_pair.makespan == min(solve_fjsp_with_agent(agent, instance).makespan, backward.makespan)
    instance = load_fjsp("mk01")
    assert _valid(instance, solve_fjsp_with_agent(agent, instance, time_limit=0.5, both_directions=True)) > 0
    with pytest.raises(ArgumentError, match="samples >= 2 or a time limit"):
        solve_fjsp_with_agent(agent, instance, samples=1, both_directions=True)
    with pytest.raises(TimeLimitReached, match="mk01"):
        solve_fjsp_with_agent(agent, instance, samples=4, stop_after=1e-6, both_directions=True)


class _Ranked:
    """A stand-in policy preferring lower action numbers by a margin of 0.01 each (no ties)."""

    device = th.device("cpu")

    def logits(self, observations):
        masks = th.as_tensor(np.stack([obs["action_mask"] for obs in observations]), dtype=th.bool)
        ranks = -0.01 * th.arange(masks.shape[1], dtype=th.float32)
        return th.where(masks, ranks, -th.inf)


def test_sampling_temperature():
    instance, ranked = generate_sd1(6, 4, seed=3), _Ranked()
    generator = th.Generator()
    greedy = lockstep_rollouts(ranked, instance, "active", [True], generator)[0].actions
    cold = lockstep_rollouts(ranked, instance, "active", [False] * 4, generator.manual_seed(0), temperature=1e-4)
    assert all(rollout.actions == greedy for rollout in cold)  # a cold softmax is the argmax
    warm = lockstep_rollouts(ranked, instance, "active", [False] * 4, generator.manual_seed(0), temperature=5.0)
    assert all(rollout.actions != greedy for rollout in warm)
    plain = FlexibleGNNAgent(ranked, {"env": {"mode": "active"}})
    chilled = FlexibleGNNAgent(ranked, {"env": {"mode": "active"}, "decoding": {"temperature": 1e-4}})
    assert chilled.temperatures == (1e-4,) and plain.temperatures == (1.0,)
    greedy_makespan = solve_fjsp_with_agent(plain, instance).makespan
    assert solve_fjsp_with_agent(chilled, instance, samples=6, seed=1).makespan == greedy_makespan  # the agent's
    hot = solve_fjsp_with_agent(chilled, instance, samples=6, seed=1, temperature=5.0).makespan
    assert hot == solve_fjsp_with_agent(plain, instance, samples=6, seed=1, temperature=5.0).makespan
    for bad in (0, -1.0, float("nan"), float("inf"), True):
        with pytest.raises(ArgumentError, match="temperature"):
            solve_fjsp_with_agent(plain, instance, samples=4, temperature=bad)


def test_temperature_and_mode_per_rollout():
    instance, ranked = generate_sd1(6, 4, seed=3), _Ranked()
    generator = th.Generator()
    greedy = {mode: lockstep_rollouts(ranked, instance, mode, [True], generator)[0].actions
              for mode in ("active", "non_delay")}
    assert greedy["active"] != greedy["non_delay"]
    mixed = lockstep_rollouts(ranked, instance, ["active", "non_delay", "active", "non_delay"], [False] * 4,
                              generator.manual_seed(0), temperature=[1e-4, 1e-4, 5.0, 5.0])
    assert mixed[0].actions == greedy["active"] and mixed[1].actions == greedy["non_delay"]
    assert mixed[2].actions != greedy["active"] and mixed[3].actions != greedy["non_delay"]
    with pytest.raises(ArgumentError, match="one mode and one temperature per rollout"):
        lockstep_rollouts(ranked, instance, "active", [False] * 3, generator, temperature=[1.0, 2.0])


def test_sampled_rollouts_take_the_settings_in_turn():
    instance, ranked = generate_sd1(6, 4, seed=3), _Ranked()
    makespan = {mode: solve_fjsp_with_agent(FlexibleGNNAgent(ranked, {"env": {"mode": mode}}), instance).makespan
                for mode in ("active", "non_delay")}
    assert makespan["active"] != makespan["non_delay"]
    agent = FlexibleGNNAgent(ranked, {"env": {"mode": "active"},
                                      "decoding": {"temperature": [1e-4], "modes": ["non_delay"]}})
    assert agent.sample_modes == ("non_delay",)
    # greedy in the agent's mode, the cold samples are the argmax in the sample mode: the better of the two
    assert solve_fjsp_with_agent(agent, instance, samples=3).makespan == min(makespan.values())
    assert solve_fjsp_with_agent(agent, instance).makespan == makespan["active"]  # greedy alone
    overridden = solve_fjsp_with_agent(agent, instance, samples=3, modes=["active"]).makespan
    assert overridden == makespan["active"]
    with pytest.raises(ArgumentError, match="unknown env mode"):
        solve_fjsp_with_agent(agent, instance, samples=3, modes=["later"])
