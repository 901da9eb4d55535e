"""CP-guided training on the batched engine: CP targets from prefixes, the replay, the update, resumable runs."""

import numpy as np
import pytest
import torch as th
from engine_helpers import sequence_log_probs

from cpgym.agents.gnn.batched import BatchedGNN
from cpgym.agents.gnn.checkpoint import load_agent, read_config
from cpgym.agents.gnn.decoding import solve_with_agent
from cpgym.agents.training.cp_guided import CompletionPool, cp_targets, sequences_of, train_cp_guided
from cpgym.agents.training.engine import new_policy, replay_update
from cpgym.agents.training.settings import checked_settings
from cpgym.cp_models import solve_jobshop
from cpgym.envs.jobshop_state import start_order_actions
from cpgym.errors import ArgumentError
from cpgym.instances import uniform, validate_schedule

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_settings(tmp_path, **overrides):
    settings = dict(size="5x5", mode="non_delay", device="cpu", out=str(tmp_path / "run"), hidden_dim=16,
                    n_layers=1, head_layers=[16], val_instances=2, val_time_limit=0, progress_bar=False,
                    cp_episodes=4, cp_time_limit=1.0, cp_workers=1, n_epochs=2)
    return checked_settings({**settings, **overrides, "algo": "cp-guided"})


@pytest.fixture(scope="module")
def targets(tmp_path_factory):
    """Sampled non-delay episodes of an untrained policy on 5x5 instances, with their CP targets."""
    settings = tiny_settings(tmp_path_factory.mktemp("r"))
    policy = new_policy(settings)
    instances = [uniform(5, 5, seed=s) for s in range(6)]
    with CompletionPool(workers=2) as pool:  # a real process pool
        found = cp_targets(BatchedGNN(policy), instances, "non_delay", pool, 2.0, th.Generator().manual_seed(0),
                           np.random.default_rng(0), prefixes=[0, 3, 7, 10, 15, 20])
    return policy, found


def test_cp_completion_keeps_the_prefix_and_is_no_worse_than_the_agent(targets):
    _, found = targets
    for b, instance in enumerate(found.instances):
        prefix = int(found.prefix[b])
        actions, replay = found.actions[b].tolist(), found.replay_actions[b].tolist()
        assert actions[:prefix] == replay[:prefix] and -1 not in actions + replay  # 25 steps each
        fixed = found.partial[b].numpy()
        assert (fixed >= 0).sum() == prefix
        assert bool(found.solved[b]) and bool(found.cp_optimal[b])
        assert int(found.cp_makespan[b]) <= int(found.makespan[b])
        # the completion is optimal among schedules extending the prefix (checked by an independent solve)
        assert int(found.cp_makespan[b]) == solve_jobshop(instance, time_limit=5, fixed_starts=fixed).makespan
        assert validate_schedule(instance, found.cp_starts[b].numpy(), int(found.cp_makespan[b])).ok
        assert int(found.replay_makespan[b]) >= int(found.cp_makespan[b])  # a non-delay replay cannot beat it
    # from the empty prefix the CP completion is the instance's optimum
    assert int(found.cp_makespan[0]) == solve_jobshop(found.instances[0], time_limit=5).makespan
    assert bool((found.cp_makespan < found.makespan).any())


def test_active_mode_replay_is_the_start_order_and_no_longer_than_the_cp_schedule(tmp_path):
    policy = new_policy(tiny_settings(tmp_path, mode="active"))
    instances = [uniform(5, 5, seed=3)] * 2
    with CompletionPool(workers=1) as pool:
        found = cp_targets(BatchedGNN(policy), instances, "active", pool, 5.0, th.Generator().manual_seed(1),
                           np.random.default_rng(0), prefixes=[0, 7])
    for b in range(2):
        prefix = int(found.prefix[b])
        scheduled = found.partial[b].numpy() >= 0
        assert found.replay_actions[b, prefix:].tolist() == start_order_actions(found.cp_starts[b].numpy(), scheduled)
        assert int(found.replay_makespan[b]) <= int(found.cp_makespan[b])


def test_sequences_have_plus_a_for_the_replay_and_minus_a_for_the_agent_after_shared_steps(targets):
    _, found = targets
    sequences = sequences_of(found)
    n = len(found.instances)
    advantage = found.advantage()
    assert len(sequences.instances) == 2 * n and th.equal(sequences.actions[:n], found.replay_actions)
    scale = advantage[advantage != 0].abs().mean()
    for b in range(n):
        replay, own = sequences.weights[b], sequences.weights[n + b]
        if advantage[b] == 0:
            assert not replay.any() and not own.any()
            continue
        prefix = int(found.prefix[b])
        diverge = next(t for t in range(prefix, 25) if found.actions[b, t] != found.replay_actions[b, t])
        expected = float(advantage[b] / scale)
        assert not replay[:diverge].any() and not own[:diverge].any()
        assert np.allclose(replay[diverge:].numpy(), expected) and np.allclose(own[diverge:].numpy(), -expected)
    assert bool((sequences.weights > 0).any()) and bool((sequences.weights < 0).any())


def test_update_raises_the_cp_actions_log_probs(targets):
    policy, found = targets
    sequences = sequences_of(found)
    net = BatchedGNN(policy)
    before = sequence_log_probs(net, sequences, "non_delay")
    for group in policy.optimizer.param_groups:
        group["lr"] = 1e-3
    stats = replay_update(net, policy.optimizer, sequences, "non_delay", n_epochs=4)
    after = sequence_log_probs(net, sequences, "non_delay")
    up = sequences.weights > 0
    assert stats["trained_steps"] > 0
    assert (after - before)[up].mean() > 0  # the CP replay's actions became more likely
    assert (sequences.weights * (after - before)).sum() > 0  # the weighted log-likelihood rose


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
