"""The GNN policy on the batched engine (cpgym.agents.gnn.batched) and batched decoding."""

import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from hypothesis import given, settings
from hypothesis import strategies as st

from cpgym.agents.gnn.batched import BatchedGNN, engine_rollouts
from cpgym.agents.gnn.checkpoint import build_policy, load_agent
from cpgym.agents.gnn.decoding import decode_with_agent, solve_with_agent
from cpgym.agents.gnn.policy import graph_observation_space
from cpgym.envs.batched import BatchedJobShop
from cpgym.envs.jobshop import GRAPH_FEATURES, JobShopEnv
from cpgym.errors import TimeLimitReached
from cpgym.instances import uniform, validate_schedule


def policy_with(aggr: str, seed: int = 0):
    th.manual_seed(seed)
    config = {"n_features": len(GRAPH_FEATURES), "hidden_dim": 16, "n_layers": 2, "aggr": aggr,
              "net_arch": [16], "activation": "tanh"}
    return build_policy(config, graph_observation_space(64, 128, 8, len(GRAPH_FEATURES)), spaces.Discrete(8), "cpu")


def pyg_log_probs(policy, observation: dict) -> th.Tensor:
    batch = {key: th.as_tensor(value[None]) for key, value in observation.items()}
    with th.no_grad():
        return policy.get_distribution(batch, observation["action_mask"][None]).distribution.logits[0]


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10**6), mode=st.sampled_from(["non_delay", "active"]),
       aggr=st.sampled_from(["add", "mean", "max"]))
def test_batched_logits_equal_the_pyg_policy_on_every_state_of_mixed_size_episodes(seed, mode, aggr):
    """Random legal episodes of a mixed-size batch: at every step the engine's logits give the PyG
    policy's log-probabilities over the legal jobs of the same state (JobShopEnv observation)."""
    rng = np.random.default_rng(seed)
    instances = [uniform(int(rng.integers(2, 7)), int(rng.integers(2, 6)), seed=seed + i) for i in range(3)]
    policy = policy_with(aggr, seed % 7)
    net = BatchedGNN(policy)
    engine = BatchedJobShop(mode=mode, max_jobs=6, max_machines=5)  # padded beyond the largest instance
    engine.reset(instances)
    envs = [JobShopEnv(instance=i, mode=mode, observation="graph", max_jobs=6, max_machines=5) for i in instances]
    observations = [env.reset(seed=0)[0] for env in envs]
    while not bool(engine.done.all()):
        rows = (~engine.done).nonzero().squeeze(1)
        with th.no_grad():
            ours = th.log_softmax(net.logits(engine, rows), dim=1)
        actions = th.zeros(len(instances), dtype=th.long)
        for r, b in enumerate(rows.tolist()):
            legal = observations[b]["action_mask"].astype(bool)
            assert th.isinf(ours[r, ~th.as_tensor(legal)]).all()
            np.testing.assert_allclose(ours[r, legal].numpy(), pyg_log_probs(policy, observations[b])[legal].numpy(),
                                       atol=1e-5)
            actions[b] = int(rng.choice(np.flatnonzero(legal)))
            observations[b] = envs[b].step(int(actions[b]))[0]
        engine.step(actions)
    assert engine.makespan.tolist() == [env.state.makespan for env in envs]


def test_batched_logits_are_differentiable_in_every_used_weight():
    policy = policy_with("add")
    engine = BatchedJobShop()
    engine.reset([uniform(5, 4, seed=1), uniform(3, 3, seed=2)])
    engine.step(th.tensor([1, 2]))
    logits = BatchedGNN(policy).logits(engine, th.arange(2))
    logits[engine.mask].sum().backward()  # (log-probabilities would not depend on the last bias)
    encoder, actor = policy.features_extractor.encoder, policy.mlp_extractor.actor
    for module in (encoder.embed, encoder.forward_convs, encoder.backward_convs, encoder.norms, actor):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())


def test_rollouts_greedy_sampled_forced_and_replayed():
    policy = policy_with("add", 3)
    net, instance = BatchedGNN(policy), uniform(6, 4, seed=5)
    engine = BatchedJobShop()
    engine.reset([instance] * 6)
    generator = th.Generator().manual_seed(0)
    first = th.tensor([-1, 0, 1, 2, -1, -1])
    rollouts = engine_rollouts(net, engine, greedy=th.tensor([True, True, True, True, False, False]),
                               generator=generator, first_actions=first)
    assert rollouts.actions[1:4, 0].tolist() == [0, 1, 2]
    assert (rollouts.actions >= 0).sum(dim=1).tolist() == [24] * 6
    for b in range(6):
        assert validate_schedule(instance, engine.schedule(b).start_times).ok
    engine.reset([instance] * 6)
    replayed = engine_rollouts(net, engine, replay=rollouts.actions)
    assert th.equal(replayed.actions, rollouts.actions) and th.equal(replayed.makespan, rollouts.makespan)
    env = JobShopEnv(instance=instance)
    env.reset()
    for action in rollouts.actions[5].tolist():
        env.step(action)
    assert env.state.makespan == int(rollouts.makespan[5])


def test_batched_greedy_is_the_incremental_greedy_and_sampling_is_seeded():
    agent = load_agent(device="cpu")  # the shipped model
    instance = uniform(10, 6, seed=2)
    greedy = decode_with_agent(agent, instance, engine="incremental")
    assert decode_with_agent(agent, instance, engine="batched")[1] == greedy[1]
    best = decode_with_agent(agent, instance, samples=32, seed=4)  # auto: the batched engine
    assert best[1] == decode_with_agent(agent, instance, samples=32, seed=4, engine="batched")[1]
    assert best[0].makespan <= greedy[0].makespan and validate_schedule(instance, best[0].start_times).ok
    assert len({solve_with_agent(agent, instance, samples=4, seed=s).makespan for s in range(6)}) > 1


def test_pomo_starts_include_greedy_and_one_rollout_per_first_job():
    agent = load_agent(device="cpu")
    instance = uniform(8, 5, seed=3)
    greedy = solve_with_agent(agent, instance).makespan
    pomo = decode_with_agent(agent, instance, pomo=True)
    assert pomo[0].makespan <= greedy and validate_schedule(instance, pomo[0].start_times).ok
    engine = BatchedJobShop()
    engine.reset([instance] * 9)
    rollouts = engine_rollouts(BatchedGNN(agent.policy), engine, first_actions=th.arange(-1, 8))
    assert pomo[0].makespan == int(rollouts.makespan.min())


def test_both_directions_keep_the_better_of_the_instance_and_its_time_reversal(ft06):
    agent = load_agent(device="cpu")
    mirror = ft06.time_reversed()
    assert (mirror.machines[:, 0] == ft06.machines[:, -1]).all() and mirror.upper_bound == ft06.upper_bound == 55
    backward = solve_with_agent(agent, mirror, samples=4, seed=1)
    read = backward.read_backwards(ft06)
    assert read.makespan == backward.makespan and validate_schedule(ft06, read.start_times).ok
    forward = solve_with_agent(agent, ft06, samples=4, seed=1)
    both = solve_with_agent(agent, ft06, samples=8, seed=1, both_directions=True)
    assert both.instance is ft06 and both.makespan == min(forward.makespan, backward.makespan)
    assert validate_schedule(ft06, both.start_times).ok
    with pytest.raises(ValueError, match="not of the time reversal of 'ft06'"):
        forward.read_backwards(ft06)


def test_batched_time_limits(monkeypatch):
    agent = load_agent(device="cpu")
    instance = uniform(10, 6, seed=2)
    greedy = decode_with_agent(agent, instance, engine="batched")
    assert decode_with_agent(agent, instance, engine="batched", time_limit=0.0)[1] == greedy[1]
    ticks = iter(range(10**6))  # a clock where every step takes one second: the greedy rollout cannot finish
    monkeypatch.setattr("cpgym.agents.gnn.batched.time.perf_counter", lambda: float(next(ticks)))
    with pytest.raises(TimeLimitReached):
        decode_with_agent(agent, instance, engine="batched", samples=4, stop_after=5)


@pytest.mark.slow  # half a minute of compilation
def test_compiled_logits_equal_the_eager_ones_for_any_batch_size():
    policy = policy_with("add", 1)
    net = BatchedGNN(policy)
    fast = net.compiled()
    engine = BatchedJobShop()
    engine.reset([uniform(6, 4, seed=s) for s in range(5)])
    engine.step(th.tensor([0, 1, 2, 3, 4]))
    for rows in (th.arange(5), th.tensor([1, 3])):
        with th.no_grad():
            assert th.allclose(fast.logits(engine, rows), net.logits(engine, rows), atol=1e-5)
    assert fast.embed is net.embed  # the same weights
