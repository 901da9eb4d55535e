"""The flexible job-shop GNN policy: batched forward on mixed sizes, masking, size-agnostic weights, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th

from cpgym.agents.fjsp_gnn.checkpoint import (
    FlexibleGNNAgent,
    interpolate_fjsp_agents,
    load_fjsp_agent,
    load_fjsp_trainer_state,
    read_fjsp_config,
    save_fjsp_agent,
    with_mode,
)
from cpgym.agents.fjsp_gnn.policy import FlexibleGNNPolicy, collate
from cpgym.envs.fjsp import FlexibleJobShopEnv
from cpgym.errors import ArgumentError, CheckpointError, MissingFileError
from cpgym.instances.fjsp_generators import generate_sd1


def _observations(size: tuple[int, int], steps: int, mode: str = "active") -> list[dict]:
    """The observations of the first ``steps`` steps (lowest legal action) on an SD1 instance."""
    env = FlexibleJobShopEnv(instance=generate_sd1(*size, seed=3), mode=mode)
    observation, _ = env.reset(seed=0)
    observations = [observation]
    for _ in range(steps):
        observation, *_ = env.step(int(observation["action_mask"].argmax()))
        observations.append(observation)
    return observations


@pytest.fixture(scope="module")
def policy() -> FlexibleGNNPolicy:
    th.manual_seed(0)
    return FlexibleGNNPolicy(hidden_dim=16, n_layers=2).eval()


def test_forward_on_mixed_sizes_is_masked_and_batch_independent(policy):
    small, large = _observations((3, 2), 2), _observations((6, 4), 5, mode="non_delay")
    batch = small + large
    with th.no_grad():
        logits = policy.logits(batch)
        alone = [policy.logits([obs])[0] for obs in batch]
    assert logits.shape == (len(batch), max(len(obs["action_mask"]) for obs in batch))
    for row, single, obs in zip(logits, alone, batch):
        mask = obs["action_mask"].astype(bool)
        width = len(mask)
        assert th.isfinite(row[:width][th.as_tensor(mask)]).all()
        assert th.isneginf(row[:width][th.as_tensor(~mask)]).all() and th.isneginf(row[width:]).all()
        assert th.allclose(row[:width], single, atol=1e-5, equal_nan=True)  # other graphs do not leak in


def test_collate_drops_the_scheduled_operations():
    observation = _observations((3, 3), 2)[-1]
    batch = collate([observation])
    features = observation["operation_features"][:int(observation["n_operations"][0])]
    open_ops = features[features[:, 0] == 0]
    assert th.equal(batch.operations, th.as_tensor(open_ops)) and len(open_ops) == len(features) - 2
    assert len(batch.options) == (open_ops[:, 4] * 3).round().sum()  # flexibility x n_machines edges each
    assert len(batch.pair_action) == observation["action_mask"].sum()
    assert th.equal(batch.option_op[batch.pair_option], batch.pair_op)
    assert th.equal(batch.option_machine[batch.pair_option], batch.pair_machine)
    with pytest.raises(ArgumentError, match="no legal action"):
        collate([{**observation, "action_mask": np.zeros_like(observation["action_mask"])}])


def test_weights_load_across_sizes(policy):
    other = FlexibleGNNPolicy(hidden_dim=16, n_layers=2)
    other.load_state_dict(policy.state_dict())
    with th.no_grad():
        for size in ((2, 2), (8, 5)):
            obs = _observations(size, 1)
            assert th.equal(other.logits(obs), policy.logits(obs))


def test_checkpoint_round_trip_and_refusals(policy, tmp_path):
    path = save_fjsp_agent(tmp_path / "model.pt", policy, "active", training={"iteration": 3},
                           trainer_state={"policy": policy.state_dict()})
    agent = load_fjsp_agent(path)
    assert isinstance(agent, FlexibleGNNAgent) and agent.mode == "active"
    assert read_fjsp_config(path)["training"] == {"iteration": 3}
    assert all(th.equal(a, b) for a, b in zip(agent.policy.state_dict().values(), policy.state_dict().values()))
    assert load_fjsp_trainer_state(path)[1]["policy"].keys() == policy.state_dict().keys()
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a readable"):
        load_fjsp_agent(garbage)
    foreign = tmp_path / "foreign.pt"
    th.save({"config": '{"format": "other", "version": 1}', "policy": {}}, foreign)
    with pytest.raises(CheckpointError, match="not a cpgym-fjsp-gnn v1"):
        load_fjsp_agent(foreign)
    hostile = tmp_path / "hostile.pt"
    th.save({"config": '{"format": "cpgym-fjsp-gnn", "version": 1, "policy": {"hidden_dim": 100000, "n_layers": 2},'
                       ' "env": {"mode": "active"}}', "policy": {}}, hostile)
    with pytest.raises(CheckpointError, match="hidden_dim"):
        load_fjsp_agent(hostile)
    with pytest.raises(CheckpointError, match="no trainer state"):
        load_fjsp_trainer_state(save_fjsp_agent(tmp_path / "plain.pt", policy, "active"))
    with pytest.raises(MissingFileError):
        load_fjsp_agent(tmp_path / "missing.pt")


def test_with_mode_decodes_the_same_weights_in_another_mode(policy, tmp_path):
    trained = load_fjsp_agent(save_fjsp_agent(tmp_path / "nd.pt", policy, "non_delay", temperature=2.0))
    moved = with_mode(trained, "earliest_end")
    assert (moved.mode, moved.sample_modes, moved.temperatures) == ("earliest_end", ("earliest_end",), (2.0,))
    assert moved.policy is trained.policy and trained.mode == "non_delay"  # the loaded agent is unchanged
    assert load_fjsp_agent(save_fjsp_agent(tmp_path / "ee.pt", policy, "earliest_end")).mode == "earliest_end"
    with pytest.raises(ArgumentError, match="unknown env mode 'later'"):
        with_mode(trained, "later")


def test_checkpoint_keeps_the_sampling_settings(policy, tmp_path):
    plain = load_fjsp_agent(save_fjsp_agent(tmp_path / "plain.pt", policy, "active"))
    assert plain.temperatures == (1.0,) and plain.sample_modes == ("active",)
    warm = load_fjsp_agent(save_fjsp_agent(tmp_path / "warm.pt", policy, "active", temperature=1.5))
    assert warm.temperatures == (1.5,) and warm.config["decoding"] == {"temperature": 1.5}
    ladder = load_fjsp_agent(save_fjsp_agent(tmp_path / "ladder.pt", policy, "non_delay", temperature=[1.5, 4],
                                             sample_modes=["non_delay", "active"]))
    assert ladder.config["decoding"] == {"temperature": [1.5, 4.0], "modes": ["non_delay", "active"]}
    assert ladder.temperatures == (1.5, 4.0) and ladder.sample_modes == ("non_delay", "active")
    for bad in (0, [], [2.0, -1]):
        with pytest.raises(ArgumentError, match="temperature"):
            save_fjsp_agent(tmp_path / "cold.pt", policy, "active", temperature=bad)
    with pytest.raises(ArgumentError, match="unknown env mode.*'delayed'.*known"):
        save_fjsp_agent(tmp_path / "odd.pt", policy, "active", sample_modes=["active", "delayed"])
    with pytest.raises(ArgumentError, match="non-empty list"):
        save_fjsp_agent(tmp_path / "odd.pt", policy, "active", sample_modes="active")
    for decoding in ('{"temperature": -2}', '{"temperature": [1, "hot"]}', '{"modes": ["delayed"]}', '[2]'):
        hostile = tmp_path / "hostile.pt"
        th.save({"config": '{"format": "cpgym-fjsp-gnn", "version": 1, "policy": {"hidden_dim": 16, "n_layers": 2},'
                           f' "env": {{"mode": "active"}}, "decoding": {decoding}}}', "policy": policy.state_dict()},
                hostile)
        with pytest.raises(CheckpointError, match="decoding"):
            load_fjsp_agent(hostile)


def test_interpolation_of_two_checkpoints(policy, tmp_path):
    th.manual_seed(1)
    other = FlexibleGNNPolicy(hidden_dim=16, n_layers=2).eval()
    first = load_fjsp_agent(save_fjsp_agent(tmp_path / "a.pt", policy, "non_delay"))
    second = load_fjsp_agent(save_fjsp_agent(tmp_path / "b.pt", other, "non_delay"))
    mixed = interpolate_fjsp_agents(first, second, 0.25)
    assert mixed.mode == "non_delay"
    for key, value in mixed.policy.state_dict().items():
        assert value.allclose(0.75 * policy.state_dict()[key] + 0.25 * other.state_dict()[key])
    ends = [interpolate_fjsp_agents(first, second, weight).policy(collate(_observations((4, 3), 2)))
            for weight in (0, 1)]
    assert ends[0].equal(policy(collate(_observations((4, 3), 2))))
    assert ends[1].equal(other(collate(_observations((4, 3), 2))))
    with pytest.raises(CheckpointError, match="in \\[0, 1\\]"):
        interpolate_fjsp_agents(first, second, 1.5)
    active = load_fjsp_agent(save_fjsp_agent(tmp_path / "c.pt", other, "active"))
    with pytest.raises(CheckpointError, match="not one architecture and mode"):
        interpolate_fjsp_agents(first, active, 0.5)
