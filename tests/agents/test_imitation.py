"""Behaviour cloning of a dispatching rule (warm start of the GNN policy)."""

import numpy as np
import torch as th

from cpgym.agents.gnn.checkpoint import build_policy, save_agent
from cpgym.agents.gnn.decoding import decode_with_agent, solve_with_agent
from cpgym.agents.rules import dispatch
from cpgym.agents.training.imitation import clone_teachers, record_demonstrations
from cpgym.envs.jobshop import GRAPH_FEATURES, JobShopEnv
from cpgym.instances import uniform

ENV = {"mode": "non_delay", "reward": "dense", "reward_scale": 0.01}


def test_demonstrations_replay_the_rule_with_returns_to_go():
    instances = [uniform(4, 3, seed=s) for s in range(2)] + [uniform(5, 5, seed=9)]
    demos, wins = record_demonstrations(instances, ["mwkr"], ENV)
    assert wins == [3]
    assert sorted(len(d) for d in demos) == [24, 25]  # one group per size, every step kept
    small = next(d for d in demos if len(d) == 24)
    assert small.observations["node_features"].shape == (24, 12, len(GRAPH_FEATURES))
    # return-to-go of the first step = -(makespan - initial lower bound) * reward_scale
    env = JobShopEnv(instance=instances[0], observation="graph", **ENV)
    env.reset()
    makespan = dispatch(instances[0], "mwkr").makespan
    assert np.isclose(small.returns[0], -(makespan - env.makespan_lb) * 0.01, atol=1e-4)
    assert all(small.observations["action_mask"][t, a] for t, a in enumerate(small.actions))


def test_cloning_learns_the_rule():
    instances = [uniform(6, 4, seed=s) for s in range(12)]
    demos, _ = record_demonstrations(instances, ["spt"], ENV)
    env = JobShopEnv(instance=instances[0], observation="graph", **ENV)
    config = {"n_features": len(GRAPH_FEATURES), "hidden_dim": 16, "n_layers": 1, "aggr": "add",
              "net_arch": [16], "activation": "tanh"}
    th.manual_seed(0)
    policy = build_policy(config, env.observation_space, env.action_space, "cpu")
    history = clone_teachers(policy, demos, epochs=30, batch_size=64, learning_rate=3e-3, progress=False)
    assert history[-1]["agreement"] > 0.9 > history[0]["agreement"]
    assert history[-1]["value_mse"] < history[0]["value_mse"]
    rule_makespans = [dispatch(i, "spt").makespan for i in instances]
    cloned_makespans = [solve_with_agent(policy, i, env_kwargs=ENV).makespan for i in instances]
    assert sum(a == b for a, b in zip(cloned_makespans, rule_makespans)) >= 8


def _first_returns(demos, instances) -> np.ndarray:
    """Return-to-go of the first step of every (equal-size, every step kept) demonstrated episode."""
    return demos[0].returns[:: instances[0].n_operations]


def _expected_returns(instances, makespans) -> list[float]:
    """Minus each makespan's increase over the env's initial bound, times the reward scale."""
    env = JobShopEnv(instance=instances[0], observation="graph", **ENV)
    bounds = []
    for instance in instances:
        env.reset(options={"instance": instance})
        bounds.append(env.makespan_lb)
    return [-(m - lb) * 0.01 for m, lb in zip(makespans, bounds)]


def test_each_instance_imitates_its_best_teacher():
    instances = [uniform(6, 4, seed=s) for s in range(10)]
    spt = [dispatch(i, "spt").makespan for i in instances]
    mwkr = [dispatch(i, "mwkr").makespan for i in instances]
    demos, wins = record_demonstrations(instances, ["spt", "mwkr"], ENV)
    assert wins == [sum(a <= b for a, b in zip(spt, mwkr)), sum(a > b for a, b in zip(spt, mwkr))]
    assert 0 < wins[1] < 10  # both teachers win somewhere on these seeds
    # the kept returns-to-go start at minus the better makespan's increase over the initial bound
    np.testing.assert_allclose(_first_returns(demos, instances),
                               _expected_returns(instances, [min(a, b) for a, b in zip(spt, mwkr)]), atol=1e-4)


def _small_policy(instance):
    env = JobShopEnv(instance=instance, observation="graph", **ENV)
    config = {"n_features": len(GRAPH_FEATURES), "hidden_dim": 8, "n_layers": 1, "aggr": "add",
              "net_arch": [8], "activation": "tanh"}
    th.manual_seed(1)
    return build_policy(config, env.observation_space, env.action_space, "cpu")


def test_decoded_actions_replay_the_returned_schedule():
    instance = uniform(6, 4, seed=3)
    policy = _small_policy(instance)
    schedule, actions = decode_with_agent(policy, instance, samples=8, seed=2, env_kwargs=ENV)
    env = JobShopEnv(instance=instance, observation="graph", **ENV)
    env.reset()
    for action in actions:
        *_, info = env.step(action)
    assert info["makespan"] == schedule.makespan
    np.testing.assert_array_equal(np.asarray(info["schedule"].start_times), np.asarray(schedule.start_times))


def test_sampling_teacher_imitates_the_best_sample(tmp_path):
    instances = [uniform(6, 4, seed=s) for s in range(6)]
    policy = _small_policy(instances[0])
    path = tmp_path / "agent.pt"
    save_agent(path, policy, env_kwargs=ENV)
    greedy = [solve_with_agent(policy, i, env_kwargs=ENV).makespan for i in instances]
    sampled = [solve_with_agent(policy, i, samples=16, env_kwargs=ENV).makespan for i in instances]
    assert sum(sampled) < sum(greedy)  # sampling finds better schedules than greedy on these seeds
    demos, wins = record_demonstrations(instances, [str(path), f"sample16:{path}"], ENV)
    assert sum(wins) == 6 and wins[1] == sum(s < g for s, g in zip(sampled, greedy))
    np.testing.assert_allclose(_first_returns(demos, instances), _expected_returns(instances, sampled), atol=1e-4)
    # a process pool of teachers records the same demonstrations
    pooled, pooled_wins = record_demonstrations(instances, [str(path), f"sample16:{path}"], ENV, workers=2)
    assert pooled_wins == wins
    np.testing.assert_array_equal(pooled[0].actions, demos[0].actions)
