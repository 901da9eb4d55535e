"""Incremental GNN inference: the same embeddings, logits and schedules as a full forward pass."""

import numpy as np
import pytest
import torch as th

from cpgym.agents.gnn.checkpoint import build_policy, load_agent
from cpgym.agents.gnn.decoding import decode_with_agent, solve_with_agent
from cpgym.agents.gnn.incremental import IncrementalEncoder
from cpgym.envs.jobshop import GRAPH_FEATURES, JobShopEnv
from cpgym.instances import load, uniform, validate_schedule

CONFIGS = [
    {"hidden_dim": 16, "n_layers": 2, "aggr": "add", "net_arch": [16, 16], "activation": "tanh"},
    {"hidden_dim": 8, "n_layers": 3, "aggr": "mean", "net_arch": [8], "activation": "relu"},
    {"hidden_dim": 8, "n_layers": 1, "aggr": "add", "net_arch": [8], "activation": "elu"},
]


def _policy(env, config, seed=0):
    th.manual_seed(seed)
    return build_policy({"n_features": len(GRAPH_FEATURES), **config}, env.observation_space, env.action_space, "cpu")


def _full(policy, observation):
    """(last-layer node embeddings, logits) of a full forward pass."""
    batch = {key: th.as_tensor(value[None]) for key, value in observation.items()}
    with th.no_grad():
        n_nodes = int(observation["n_nodes"][0])
        graph_x = batch["node_features"][0, :n_nodes].float()
        edges = batch["edge_index"][0, :, : int(observation["n_edges"][0])].long()
        h = policy.features_extractor.encoder(graph_x, edges)
        logits = policy.get_distribution(batch, observation["action_mask"][None]).distribution.logits[0]
    return h.numpy(), logits.numpy()


@pytest.mark.parametrize("config", CONFIGS)
def test_embeddings_and_logits_match_a_full_forward_pass_along_an_episode(config):
    instance = uniform(7, 5, seed=4)
    env = JobShopEnv(instance=instance, observation="graph", mode="active")
    policy = _policy(env, config)
    observation, _ = env.reset(seed=0)
    encoder = IncrementalEncoder(policy)
    encoder.reset(observation)
    rng = np.random.default_rng(0)
    done, step = False, 0
    while not done:
        if step % 3 == 0:  # catch up over one to three env steps at once
            encoder.step(observation)
            h, logits = _full(policy, observation)
            np.testing.assert_allclose(encoder.layers[-1][:-1], h, rtol=1e-4, atol=1e-5)
            legal = observation["action_mask"].astype(bool)
            ours = encoder.logits(observation)
            assert np.all(np.isneginf(ours[~legal]))
            log_probs = ours[legal] - np.log(np.exp(ours[legal] - ours[legal].max()).sum()) - ours[legal].max()
            np.testing.assert_allclose(log_probs, logits[legal], rtol=1e-4, atol=1e-5)  # SB3 normalises logits
        observation, _, done, _, _ = env.step(int(rng.choice(np.flatnonzero(observation["action_mask"]))))
        step += 1


def test_nodes_with_more_than_two_neighbours_widen_the_adjacency():
    """Nothing but the observation contract is assumed: any in/out degree works."""
    env = JobShopEnv(instance=uniform(3, 3, seed=0), observation="graph")
    policy = _policy(env, CONFIGS[0])
    observation, _ = env.reset(seed=0)
    encoder = IncrementalEncoder(policy)
    encoder.reset(observation)
    edges, n_edges = observation["edge_index"].copy(), int(observation["n_edges"][0])
    extra = [(0, 4), (1, 4), (2, 4), (4, 8), (4, 7), (4, 6)]  # node 4 gets five predecessors / successors
    for slot, (source, target) in enumerate(extra, start=n_edges):
        edges[:, slot] = source, target
    changed = dict(observation, edge_index=edges, n_edges=np.array([n_edges + len(extra)]))
    changed["node_features"] = observation["node_features"].copy()
    changed["node_features"][5, 1] += 0.5
    encoder.step(changed)
    np.testing.assert_allclose(encoder.layers[-1][:-1], _full(policy, changed)[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["ta01", "dmu41"])
def test_incremental_greedy_decoding_gives_the_full_pass_schedule(name):
    agent = load_agent(device="cpu")  # the shipped model
    instance = load(name)
    schedule, actions = decode_with_agent(agent, instance)
    reference, reference_actions = decode_with_agent(agent, instance, engine="batched")
    assert actions == reference_actions and schedule.makespan == reference.makespan


def test_incremental_sampling_is_seeded_valid_and_never_worse_than_greedy():
    agent = load_agent(device="cpu")  # the shipped model
    instance = uniform(10, 6, seed=2)
    greedy = solve_with_agent(agent, instance).makespan
    best = solve_with_agent(agent, instance, samples=12, seed=5, engine="incremental")
    assert best.makespan <= greedy and validate_schedule(instance, best.start_times).ok
    assert solve_with_agent(agent, instance, samples=12, seed=5, engine="incremental").makespan == best.makespan
    assert len({solve_with_agent(agent, instance, samples=2, seed=s, engine="incremental").makespan
                for s in range(6)}) > 1


def test_time_limited_sampling_runs_the_rollouts_that_fit(monkeypatch):
    agent = load_agent(device="cpu")  # the shipped model
    instance = uniform(10, 6, seed=2)

    def decode(**kwargs):
        return decode_with_agent(agent, instance, engine="incremental", **kwargs)

    greedy = decode()
    assert decode(time_limit=0.0)[1] == greedy[1]  # the greedy rollout always runs
    assert decode(samples=12, seed=5, time_limit=1e9)[1] == decode(samples=12, seed=5)[1]
    ticks = iter(range(1000))  # a clock where every rollout takes one second
    monkeypatch.setattr("cpgym.agents.gnn.decoding.time.perf_counter", lambda: float(next(ticks)))
    five = decode(seed=5, time_limit=5.5)  # rollouts end at 1..5 s; a 6th would not fit
    monkeypatch.undo()
    assert five[1] == decode(samples=5, seed=5)[1]
    assert five[1] != decode(samples=4, seed=5)[1]  # seed 5's 5th sample is the best
    assert five[0].makespan < greedy[0].makespan
