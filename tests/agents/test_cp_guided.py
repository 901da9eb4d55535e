"""CP-guided training: CP targets from prefixes, the replay, the clipped update, and resumable runs."""

import numpy as np
import pytest
import torch as th

from cpgym.agents.gnn.checkpoint import load_agent, read_config
from cpgym.agents.gnn.decoding import solve_with_agent
from cpgym.agents.training.cp_guided import (
    CompletionPool,
    _evaluate,
    _new_policy,
    build_batch,
    collect_episodes,
    cp_guided_update,
    cp_targets,
    replay_completion,
    start_episode,
    train_cp_guided,
)
from cpgym.agents.training.settings import checked_settings
from cpgym.cp_models import solve_jobshop
from cpgym.envs.jobshop_state import start_order_actions
from cpgym.errors import ArgumentError
from cpgym.instances import uniform, validate_schedule


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny graphs: one intra-op thread is fastest (and avoids spinning on a busy machine)."""
    threads = th.get_num_threads()
    th.set_num_threads(1)
    yield
    th.set_num_threads(threads)


def tiny_settings(tmp_path, **overrides):
    settings = dict(size="5x5", mode="non_delay", device="cpu", out=str(tmp_path / "run"), hidden_dim=16,
                    n_layers=1, head_layers=[16], val_instances=2, val_time_limit=0, progress_bar=False,
                    cp_episodes=4, cp_time_limit=1.0, cp_workers=1, batch_size=64, n_epochs=2)
    return checked_settings({**settings, **overrides})


@pytest.fixture(scope="module")
def rollouts(tmp_path_factory):
    """Sampled non-delay episodes of an untrained policy on 5x5 instances, with their CP targets."""
    settings = tiny_settings(tmp_path_factory.mktemp("r"))
    policy = _new_policy(settings)
    instances = [uniform(5, 5, seed=s) for s in range(6)]
    env_kwargs = {"mode": "non_delay", "reward": "dense", "reward_scale": 1.0}
    episodes = collect_episodes(policy, instances, env_kwargs, th.Generator().manual_seed(0))
    prefixes = [0, 3, 7, 10, 15, 20]
    with CompletionPool(workers=2) as pool:  # a real process pool
        targets = cp_targets(episodes, prefixes, pool, env_kwargs, time_limit=2.0)
    return policy, env_kwargs, episodes, prefixes, targets


def test_cp_completion_keeps_the_prefix_and_is_no_worse_than_the_agent(rollouts):
    _, env_kwargs, episodes, prefixes, targets = rollouts
    for episode, prefix, target in zip(episodes, prefixes, targets):
        assert validate_schedule(episode.instance, episode.start_times, episode.trajectory.makespan).ok
        assert target is not None and target.cp_status == "optimal"
        assert target.cp_makespan <= episode.trajectory.makespan
        env, _ = start_episode(episode.instance, env_kwargs, episode.trajectory.actions[:prefix], 5, 5)
        fixed = env.partial_schedule()
        assert (fixed >= 0).sum() == prefix
        # the completion is optimal among schedules extending the prefix (checked by an independent solve)
        assert target.cp_makespan == solve_jobshop(episode.instance, time_limit=5, fixed_starts=fixed).makespan
        # the replay continues the same prefix and lands on a valid non-delay schedule
        assert len(target.replay.actions) == 25 - prefix
        assert target.replay.makespan >= target.cp_makespan  # a non-delay replay cannot beat the CP optimum
    # from the empty prefix the CP completion is the instance's optimum
    assert targets[0].cp_makespan == solve_jobshop(episodes[0].instance, time_limit=5).makespan
    assert any(t.cp_makespan < e.trajectory.makespan for e, t in zip(episodes, targets))


def test_active_mode_replay_is_the_start_order_and_no_longer_than_the_cp_schedule():
    instance = uniform(5, 5, seed=3)
    env_kwargs = {"mode": "active"}
    for prefix_actions in ([], [0, 1, 1, 4, 2, 0, 3]):
        env, observation = start_episode(instance, env_kwargs, prefix_actions, 5, 5)
        fixed = env.partial_schedule()
        cp = solve_jobshop(instance, time_limit=5, fixed_starts=fixed).schedule
        replay = replay_completion(env, observation, cp.start_times)
        assert replay.actions == start_order_actions(cp.start_times, fixed >= 0)
        assert replay.makespan <= cp.makespan
        assert validate_schedule(instance, env.state.schedule().start_times, replay.makespan).ok


def test_batch_has_plus_a_for_the_replay_and_minus_a_for_the_agent_without_shared_steps(rollouts):
    _, _, episodes, prefixes, targets = rollouts
    batch = build_batch(episodes, targets)
    expected = 0
    for episode, prefix, target in zip(episodes, prefixes, targets):
        advantage = target.advantage(episode.trajectory.makespan)
        own = episode.trajectory.actions[prefix:]
        shared = next((i for i, (a, b) in enumerate(zip(own, target.replay.actions)) if a != b), len(own))
        if advantage != 0:
            assert shared < len(own)  # different makespans: the continuations diverge somewhere
            replay_masks = target.replay.masks[shared:]
            own_masks = episode.trajectory.masks[prefix + shared:]
            expected += sum(mask.sum() > 1 for mask in replay_masks + own_masks)  # forced steps are dropped
            assert np.isclose(advantage, (episode.trajectory.makespan - target.replay.makespan)
                              / episode.trajectory.makespan)
    assert batch is not None and len(batch) == expected and batch.masks[np.arange(len(batch)), batch.actions].all()
    assert (batch.masks.sum(axis=1) > 1).all()
    positive, negative = batch.advantages > 0, batch.advantages < 0
    assert positive.any() and negative.any()


def test_update_raises_the_cp_actions_log_probs(rollouts):
    policy, _, episodes, _, targets = rollouts
    batch = build_batch(episodes, targets)
    index = np.arange(len(batch))
    with th.no_grad():
        before = _evaluate(policy, batch, index)[0].numpy()
    for group in policy.optimizer.param_groups:
        group["lr"] = 1e-3
    stats = cp_guided_update(policy, batch, n_epochs=4, batch_size=64, target_kl=0)
    with th.no_grad():
        after = _evaluate(policy, batch, index)[0].numpy()
    up = batch.advantages > 0
    assert stats["gradient_steps"] > 0
    assert (after - before)[up].mean() > 0  # the CP replay's actions became more likely
    assert (batch.advantages * (after - before)).mean() > 0  # the surrogate objective rose
    # a tight KL target stops the epochs early
    assert cp_guided_update(policy, batch, n_epochs=20, batch_size=32, target_kl=1e-9)["early_stop"] == 1


def test_training_checkpoints_resumes_and_the_model_decodes(tmp_path):
    settings = tiny_settings(tmp_path, timesteps=100, val_every=50)  # 4 episodes x 25 steps per iteration
    first = train_cp_guided(settings)
    out = tmp_path / "run"
    progress = read_config(out / "last.pt")["training"]
    assert first["iterations"] == 1 and progress["num_timesteps"] == 100 and progress["algo"] == "cp-guided"
    assert [h["timesteps"] for h in progress["history"]] == [100]
    assert (out / "best.pt").exists() and list((out / "tb").glob("events.out.tfevents.*"))
    with pytest.raises(ArgumentError, match="already holds a run"):
        train_cp_guided(settings)
    resumed = train_cp_guided({**settings, "timesteps": 200}, resume=True)
    progress = read_config(out / "last.pt")["training"]
    assert resumed["iterations"] == 2 and [h["timesteps"] for h in progress["history"]] == [100, 200]
    agent = load_agent(out / "best.pt", device="cpu")
    assert agent.env_kwargs["mode"] == "non_delay"
    instance = uniform(7, 6, seed=0)  # another size than trained on
    assert validate_schedule(instance, solve_with_agent(agent, instance, samples=3).start_times).ok


def test_bad_cp_settings_are_rejected_before_the_run_folder_is_made(tmp_path):
    settings = tiny_settings(tmp_path)
    with pytest.raises(ArgumentError, match="setting 'cp_backend' must be one of"):
        train_cp_guided({**settings, "cp_backend": "slurm"})
    with pytest.raises(ArgumentError, match="setting 'cp_time_limit': expected a number > 0"):
        train_cp_guided({**settings, "cp_time_limit": 0})
    with pytest.raises(ArgumentError, match="unknown setting 'cp_epsiodes'"):
        train_cp_guided({**settings, "cp_epsiodes": 4})
    assert not (tmp_path / "run").exists()


def test_fine_tuning_starts_from_the_given_weights(tmp_path):
    settings = tiny_settings(tmp_path, timesteps=100, val_every=100)
    train_cp_guided(settings)
    source = tmp_path / "run" / "best.pt"
    tuned = tmp_path / "tuned"
    assert train_cp_guided({**settings, "out": str(tuned), "init_from": str(source), "learning_rate": 1e-12,
                            "seed": 1})["iterations"] == 1
    # a vanishing learning rate: the weights stay those of init_from, not a fresh (seed 1) initialisation
    start, after = (load_agent(path, device="cpu").policy.state_dict() for path in (source, tuned / "last.pt"))
    assert all(th.allclose(start[key], after[key], atol=1e-6) for key in start)
