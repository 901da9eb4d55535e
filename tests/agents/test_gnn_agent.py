"""GNN policy: batching of padded graphs, masking, size-agnostic inference, safe checkpoints, decoding."""

import json

import numpy as np
import pytest
import torch as th

import cpgym.agents
import cpgym.agents.gnn
import cpgym.agents.training
from cpgym.agents.gnn import checkpoint
from cpgym.agents.gnn.checkpoint import load_agent, read_config, save_agent
from cpgym.agents.gnn.decoding import solve_with_agent
from cpgym.agents.gnn.policy import ACTIVATIONS, AGGREGATIONS, JobShopGNNPolicy
from cpgym.agents.training.settings import OPTIONS
from cpgym.envs.jobshop import JobShopEnv
from cpgym.errors import ArgumentError, CheckpointError
from cpgym.instances import uniform, validate_schedule

SMALL = dict(net_arch=[16], features_extractor_kwargs=dict(hidden_dim=16, n_layers=2))


def make_policy(env: JobShopEnv, seed: int = 0) -> JobShopGNNPolicy:
    th.manual_seed(seed)
    return JobShopGNNPolicy(env.observation_space, env.action_space, lambda _: 1e-3, **SMALL)


def batched(observations: list[dict]) -> dict[str, th.Tensor]:
    return {key: th.as_tensor(np.stack([o[key] for o in observations])) for key in observations[0]}


def logits(policy: JobShopGNNPolicy, observations: list[dict]) -> th.Tensor:
    """Masked log-probabilities of the jobs."""
    masks = np.stack([o["action_mask"] for o in observations])
    with th.no_grad():
        return policy.get_distribution(batched(observations), masks).distribution.logits


def play(env: JobShopEnv, n_steps: int, seed: int, instance=None) -> dict:
    """Observation after ``n_steps`` random legal dispatches."""
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=0, options={"instance": instance} if instance else None)
    for _ in range(n_steps):
        obs, *_ = env.step(int(rng.choice(np.flatnonzero(env.action_masks()))))
    return obs


@pytest.fixture(scope="module")
def env6() -> JobShopEnv:
    return JobShopEnv(instance=uniform(6, 6, seed=1))


def test_forward_on_padded_batch_matches_unpadded(env6):
    """A batch mixing sizes and paddings gives each graph the logits it gets alone, unpadded."""
    small, other = uniform(6, 6, seed=1), uniform(4, 5, seed=2)
    padded = JobShopEnv(instance=[small, other], max_jobs=8, max_machines=8)
    policy = make_policy(padded)
    obs_a = play(env6, 7, seed=0)  # unpadded 6x6, 7 operations dispatched
    obs_pa = play(padded, 7, seed=0, instance=small)  # the same state, padded to 8x8
    obs_b = play(padded, 5, seed=1, instance=other)
    batch_logits = logits(policy, [obs_pa, obs_b])
    assert batch_logits.shape == (2, 8)
    actions, values, log_prob = policy(batched([obs_pa, obs_b]), action_masks=np.stack([obs_pa["action_mask"],
                                                                                         obs_b["action_mask"]]))
    assert actions.shape == (2,) and values.shape == (2, 1) and th.isfinite(log_prob).all()
    assert th.allclose(batch_logits[0, :6], logits(policy, [obs_a])[0], atol=1e-5)
    assert th.allclose(batch_logits[1], logits(policy, [obs_b])[0], atol=1e-5)


def test_masked_actions_are_never_chosen():
    env = JobShopEnv(instance=uniform(8, 6, seed=3), mode="non_delay")
    policy = make_policy(env)
    obs, _ = env.reset(seed=0)
    masks_seen = 0
    while True:
        mask = env.action_masks()
        masks_seen += int(not mask.all())
        batch = batched([obs] * 8)
        actions, _, _ = policy(batch, action_masks=np.stack([mask] * 8))
        assert mask[actions.numpy()].all()
        obs, _, terminated, _, info = env.step(int(actions[0]))
        if terminated:
            break
    assert masks_seen > 10  # the test exercised real masks
    assert validate_schedule(env.instance, info["schedule"].start_times).ok


@pytest.mark.parametrize("size", [(15, 15), (30, 20)])
def test_model_from_6x6_runs_on_larger_instances(env6, tmp_path, size):
    path = save_agent(tmp_path / "agent.pt", make_policy(env6), {"mode": "active"})
    agent = load_agent(path, device="cpu")
    instance = uniform(*size, seed=7)
    schedule = solve_with_agent(agent, instance)
    report = validate_schedule(instance, schedule.start_times, claimed_makespan=schedule.makespan)
    assert report.ok, report.violations
    # the SB3 predict path on the bigger env, through a policy rebuilt for its spaces
    big_env = JobShopEnv(instance=instance)
    obs, _ = big_env.reset(seed=0)
    action, _ = agent.policy_for(big_env).predict(obs, deterministic=True, action_masks=big_env.action_masks())
    assert 0 <= int(action) < instance.n_jobs


def test_save_load_round_trip_gives_identical_logits(env6, tmp_path):
    policy = make_policy(env6, seed=5)
    path = save_agent(tmp_path / "agent.pt", policy, {"mode": "active"}, training={"num_timesteps": 3})
    obs = play(env6, 10, seed=1)
    loaded = load_agent(path, device="cpu")
    assert th.equal(logits(policy, [obs]), logits(loaded.policy, [obs]))
    assert loaded.env_kwargs == {"mode": "active"} and read_config(path)["training"]["num_timesteps"] == 3
    # the file holds only tensors/primitives: the restricted unpickler reads it
    assert set(th.load(path, weights_only=True)) == {"config", "policy"}


def test_loading_a_foreign_file_fails_clearly(tmp_path):
    path = tmp_path / "bad.pt"
    th.save({"something": th.zeros(1)}, path)
    with pytest.raises(CheckpointError, match="bad.pt: not a readable cpgym-gnn-policy checkpoint"):
        load_agent(path)
    with pytest.raises(FileNotFoundError):
        load_agent(tmp_path / "missing.pt")


def rewritten(path, edit):
    """A copy of checkpoint ``path`` whose JSON config went through ``edit`` (tensors unchanged)."""
    payload = th.load(path, weights_only=True)
    config = json.loads(payload["config"])
    edit(config)
    payload["config"] = json.dumps(config)
    out = path.with_name("edited.pt")
    th.save(payload, out)
    return out


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["policy"].update(hidden_dim=300_000), "a network of at least 720,016,500,032 weights"),
    (lambda c: c["policy"].update(n_layers=10**6), "a network of at least"),
    (lambda c: c["spaces"].update(max_nodes=10**12), r"config spaces.max_nodes must be a whole number in 1..1,000,000"),
    (lambda c: c["spaces"].update(max_edges=10**12), "config spaces.max_edges must be a whole number"),
    (lambda c: c["env"].update(max_jobs=10**12), r"config env has unknown settings \['max_jobs'\]"),
    (lambda c: c["policy"].pop("aggr"), "config policy.aggr must be one of"),
    (lambda c: c["policy"].update(n_layers="2"), "config policy.n_layers must be a whole number >= 1, got '2'"),
    (lambda c: c["policy"].update(net_arch=[16, -1]), "config policy.net_arch must be a list of positive widths"),
    (lambda c: c["policy"].update(activation="gelu"), "config policy.activation must be one of"),
    (lambda c: c.pop("spaces"), "config has no 'spaces' record"),
    (lambda c: c.update(training=[1]), "config 'training' must be a record"),
])
def test_a_bad_config_is_refused_before_anything_is_built(env6, tmp_path, monkeypatch, edit, message):
    bad = rewritten(save_agent(tmp_path / "agent.pt", make_policy(env6), {"mode": "active"}), edit)

    def allocate(*args, **kwargs):
        raise AssertionError("built something from a bad config")

    monkeypatch.setattr(checkpoint, "build_policy", allocate)
    monkeypatch.setattr(checkpoint, "graph_observation_space", allocate)
    with pytest.raises(CheckpointError, match=r"edited.pt: .*" + message):
        load_agent(bad)
    with pytest.raises(CheckpointError, match=message):
        read_config(bad)


def test_weights_that_do_not_fit_their_config_are_a_checkpoint_error(env6, tmp_path):
    bad = rewritten(save_agent(tmp_path / "agent.pt", make_policy(env6)), lambda c: c["policy"].update(n_layers=1))
    with pytest.raises(CheckpointError, match="the weights do not fit the architecture of its config"):
        load_agent(bad, device="cpu")
    with pytest.raises(ArgumentError, match=r"env settings \['max_jobs'\] cannot be saved"):
        save_agent(tmp_path / "x.pt", make_policy(env6), {"mode": "active", "max_jobs": 10})


def test_curated_exports_resolve_and_match_the_settings_table():
    for package in (cpgym.agents, cpgym.agents.gnn, cpgym.agents.training):
        assert all(getattr(package, name) is not None for name in package.__all__), package.__name__
        assert set(package.__all__) <= set(dir(package))
    assert cpgym.agents.load_agent is load_agent and cpgym.agents.solve_with_agent is solve_with_agent
    with pytest.raises(AttributeError):
        cpgym.agents.no_such_name  # noqa: B018
    assert OPTIONS["aggr"].choices == AGGREGATIONS and set(OPTIONS["activation"].choices) == set(ACTIVATIONS)


@pytest.mark.parametrize("engine", ["incremental", "batched"])
def test_sampling_keeps_the_best_of_n_including_greedy(env6, engine):
    """Rollout 0 is greedy, so best-of-N <= greedy by construction; seeded sampling is reproducible."""
    policy = make_policy(env6, seed=2)
    instance = uniform(8, 8, seed=11)
    greedy = solve_with_agent(policy, instance, engine=engine)
    assert solve_with_agent(policy, instance, samples=1, engine=engine).makespan == greedy.makespan
    best = solve_with_agent(policy, instance, samples=16, seed=3, engine=engine)
    assert best.makespan <= greedy.makespan
    assert validate_schedule(instance, best.start_times).ok
    assert solve_with_agent(policy, instance, samples=16, seed=3, engine=engine).makespan == best.makespan


def test_interpolated_agent_lies_between_its_endpoints(env6, tmp_path):
    from cpgym.agents.gnn.checkpoint import interpolate_agents

    first = save_agent(tmp_path / "a.pt", make_policy(env6, seed=1), {"mode": "non_delay"})
    second = save_agent(tmp_path / "b.pt", make_policy(env6, seed=2), {"mode": "non_delay"})
    obs = play(env6, 5, seed=0)
    ends = [logits(load_agent(path, device="cpu").policy, [obs]) for path in (first, second)]
    assert th.allclose(logits(interpolate_agents(first, second, 0.0).policy, [obs]), ends[0])
    assert th.allclose(logits(interpolate_agents(first, second, 1.0).policy, [obs]), ends[1], atol=1e-6)
    key = "features_extractor.encoder.embed.weight"
    a, b = (load_agent(path, device="cpu").policy.state_dict()[key] for path in (first, second))
    assert th.allclose(interpolate_agents(first, second, 0.25).policy.state_dict()[key], 0.75 * a + 0.25 * b)
    other = save_agent(tmp_path / "c.pt", make_policy(env6, seed=2), {"mode": "active"})
    with pytest.raises(CheckpointError, match="different architectures or env settings"):
        interpolate_agents(first, other, 0.5)
    with pytest.raises(ArgumentError, match=r"interpolation weight must be in \[0, 1\]"):
        interpolate_agents(first, second, 1.5)


def test_decoding_leaves_the_agents_env_settings_untouched():
    agent = load_agent()
    before = dict(agent.env_kwargs)
    solve_with_agent(agent, uniform(4, 3, seed=0), mode="active")
    assert agent.env_kwargs == before  # an override or the instance must not stick to a cached agent
