"""Self-labelling and REINFORCE (POMO baseline) on the batched engine, and the shared training loop."""

import json

import pytest
import torch as th
from engine_helpers import sequence_log_probs

from cpgym.agents.gnn.batched import BatchedGNN, engine_rollouts
from cpgym.agents.gnn.checkpoint import load_agent, read_config
from cpgym.agents.gnn.decoding import solve_with_agent
from cpgym.agents.training.engine import (
    new_policy,
    reinforce_sequences,
    replay_update,
    self_label_sequences,
    train_on_engine,
)
from cpgym.agents.training.settings import checked_settings
from cpgym.cli.train import main as train_main
from cpgym.envs.batched import BatchedJobShop
from cpgym.instances import uniform, validate_schedule

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_settings(tmp_path, algo="self-label", **overrides):
    settings = dict(algo=algo, size="5x5,6x4", device="cpu", out=str(tmp_path / "run"), hidden_dim=16, n_layers=1,
                    head_layers=[16], val_instances=2, val_time_limit=0, progress_bar=False, instances=3, samples=4,
                    n_epochs=1, learning_rate=1e-3)
    return checked_settings({**settings, **overrides})


def replayed_makespans(sequences) -> list[int]:
    engine = BatchedJobShop()
    engine.reset(sequences.instances)
    for t in range(sequences.actions.shape[1]):
        engine.step(sequences.actions[:, t].clamp(min=0), skip=sequences.actions[:, t] < 0)
    assert bool(engine.done.all())
    return engine.makespan.tolist()


def test_self_label_keeps_the_best_sample_of_each_instance(tmp_path):
    settings = tiny_settings(tmp_path, samples=16)
    net = BatchedGNN(new_policy(settings))
    instances = [uniform(5, 5, seed=s) for s in range(3)]
    sequences, stats, steps = self_label_sequences(net, instances, settings, th.Generator().manual_seed(0), 0)
    assert steps == 3 * 16 * 25 and sequences.instances == instances
    assert th.equal(sequences.weights, (sequences.actions >= 0).float()) and bool((sequences.actions >= 0).all())
    makespans = replayed_makespans(sequences)
    assert sum(makespans) / 3 == pytest.approx(stats["train/best_makespan"])
    assert stats["train/best_makespan"] < stats["train/sample_makespan"]
    engine = BatchedJobShop()  # the greedy solution is one of the candidates: no label is worse than it
    engine.reset(instances)
    greedy = engine_rollouts(net, engine).makespan.tolist()
    assert all(label <= own for label, own in zip(makespans, greedy))
    assert stats["train/greedy_makespan"] == pytest.approx(sum(greedy) / 3)


def test_reinforce_weights_are_relative_gains_over_the_instance_mean(tmp_path):
    settings = tiny_settings(tmp_path, algo="reinforce", samples=5, pomo_starts=True)
    net = BatchedGNN(new_policy(settings))
    instances = [uniform(5, 5, seed=s) for s in range(2)]
    sequences, _, steps = reinforce_sequences(net, instances, settings, th.Generator().manual_seed(0), 0)
    assert steps == 2 * 5 * 25 and len(sequences.instances) == 10
    assert sequences.actions[:5, 0].tolist() == [0, 1, 2, 3, 4]  # POMO: distinct first jobs
    makespans = th.tensor(replayed_makespans(sequences), dtype=th.float64).view(2, 5)
    gains = (makespans.mean(dim=1, keepdim=True) - makespans) / makespans.mean(dim=1, keepdim=True)
    weights = sequences.weights[:, 0].double().view(2, 5)
    assert th.allclose(weights, gains / gains.abs().mean(), atol=1e-5)
    assert th.allclose(weights.sum(dim=1), th.zeros(2, dtype=th.float64), atol=1e-5)  # the shared baseline


def test_replay_update_raises_the_labels_log_likelihood(tmp_path):
    settings = tiny_settings(tmp_path)
    policy = new_policy(settings)
    net = BatchedGNN(policy)
    instances = [uniform(6, 4, seed=s) for s in range(3)]
    sequences, _, _ = self_label_sequences(net, instances, settings, th.Generator().manual_seed(1), 0)
    before = sequence_log_probs(net, sequences, "non_delay").sum()
    for _ in range(3):
        stats = replay_update(net, policy.optimizer, sequences, "non_delay", n_epochs=2)
    assert sequence_log_probs(net, sequences, "non_delay").sum() > before
    assert stats["trained_steps"] == 3 * 24 and stats["entropy"] > 0 and stats["log_prob"] < 0
    # a tight KL target stops the epochs after the first
    stopped = replay_update(net, policy.optimizer, sequences, "non_delay", n_epochs=20, target_kl=1e-9)
    assert stopped["early_stop"] == 1 and stopped["epochs"] == 1


@pytest.mark.parametrize("algo", ["self-label", "reinforce"])
def test_training_checkpoints_resumes_and_decodes(tmp_path, algo):
    settings = tiny_settings(tmp_path, algo, timesteps=200, val_every=100)  # 5x5 (300 steps), 6x4 (288) a turn
    first = train_on_engine(settings)
    out = tmp_path / "run"
    progress = read_config(out / "last.pt")["training"]
    assert first["iterations"] == 1 and progress["num_timesteps"] == 300 and progress["algo"] == algo
    assert (out / "best.pt").exists() and list((out / "tb").glob("events.out.tfevents.*"))
    resumed = train_on_engine({**settings, "timesteps": 500}, resume=True)
    progress = read_config(out / "last.pt")["training"]
    assert resumed["iterations"] == 2 and [h["timesteps"] for h in progress["history"]] == [300, 588]
    again = tmp_path / "again"  # the same seed gives the same weights, resumed or not
    train_on_engine({**settings, "timesteps": 500, "out": str(again)})
    ours, theirs = (load_agent(path / "last.pt", device="cpu").policy.state_dict() for path in (out, again))
    assert all(th.equal(ours[key], theirs[key]) for key in ours)
    agent = load_agent(out / "best.pt", device="cpu")
    instance = uniform(8, 7, seed=0)  # another size than trained on
    assert validate_schedule(instance, solve_with_agent(agent, instance, samples=4).start_times).ok


def test_command_line_trains_on_the_engine(tmp_path, capsys):
    out = tmp_path / "cli"
    code = train_main(["--algo", "self-label", "--size", "5x5", "--timesteps", "100", "--instances", "2",
                       "--samples", "2", "--hidden-dim", "8", "--n-layers", "1", "--head-layers", "8",
                       "--val-instances", "1", "--val-time-limit", "0", "--no-progress-bar", "--out", str(out)])
    assert code == 0 and json.loads(capsys.readouterr().out)["algo"] == "self-label"
    with pytest.raises(SystemExit) as stop:  # argparse's own message and exit code
        train_main(["--algo", "self-label", "--samples", "0", "--out", str(tmp_path / "x")])
    assert stop.value.code == 2 and "--samples: expected a positive whole number" in capsys.readouterr().err
