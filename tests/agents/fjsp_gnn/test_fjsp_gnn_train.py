"""The self-labelling trainer: a tiny run, its checkpoints and logs, resuming, the command line."""

from __future__ import annotations

import pytest

from cpgym.agents.fjsp_gnn.checkpoint import (
    load_fjsp_agent,
    load_fjsp_trainer_state,
    read_fjsp_config,
    save_fjsp_agent,
)
from cpgym.agents.fjsp_gnn.train import TrainConfig, main, train_fjsp, validation_set
from cpgym.errors import ArgumentError


def _config(out, **changes) -> TrainConfig:
    settings = dict(sizes=((3, 2), (4, 3)), iterations=2, instances_per_iter=2, samples=3, validation_instances=2,
                    validate_every=1, hidden_dim=8, imitation_iterations=1, out=str(out))
    return TrainConfig(**(settings | changes))


def test_two_iterations_then_resume_continues(tmp_path):
    summary = train_fjsp(_config(tmp_path), progress=False)
    assert summary["iteration"] == 2 and summary["best_validation"] > 0
    assert read_fjsp_config(tmp_path / "last.pt")["training"]["iteration"] == 2
    assert load_fjsp_agent(tmp_path / "best.pt").mode == "active"
    assert any((tmp_path / "tb").iterdir())
    with pytest.raises(ArgumentError, match="--resume"):
        train_fjsp(_config(tmp_path), progress=False)
    train_fjsp(_config(tmp_path, iterations=3, resume=True), progress=False)
    assert read_fjsp_config(tmp_path / "last.pt")["training"]["iteration"] == 3
    with pytest.raises(ArgumentError, match="architecture"):
        train_fjsp(_config(tmp_path, iterations=4, resume=True, hidden_dim=16), progress=False)
    agent, trainer = load_fjsp_agent(tmp_path / "last.pt"), load_fjsp_trainer_state(tmp_path / "last.pt")[1]
    save_fjsp_agent(tmp_path / "old" / "last.pt", agent.policy, "active", trainer_state=trainer,
                    training={"iteration": 3, "best_validation": 150.0})  # an older trainer's: best makespan
    with pytest.raises(ArgumentError, match="older trainer"):
        train_fjsp(_config(tmp_path / "old", iterations=4, resume=True), progress=False)
    warm = train_fjsp(_config(tmp_path / "warm", iterations=1, init=str(tmp_path / "best.pt")), progress=False)
    assert warm["iteration"] == 1
    with pytest.raises(ArgumentError, match="architecture"):
        train_fjsp(_config(tmp_path / "wide", init=str(tmp_path / "best.pt"), hidden_dim=16), progress=False)


def test_bad_settings_and_command_line(tmp_path, capsys):
    with pytest.raises(ArgumentError, match="nothing to resume"):
        train_fjsp(_config(tmp_path / "none", resume=True), progress=False)
    with pytest.raises(ArgumentError, match="samples"):
        _config(tmp_path, samples=0)
    with pytest.raises(ArgumentError, match="unknown flexible job-shop generator 'sd9'; known: sd1, sd2"):
        _config(tmp_path, generators=("sd1", "sd9"))
    with pytest.raises(ArgumentError, match="temperature"):
        _config(tmp_path, temperature=0.0)
    assert main(["--size", "3x2", "--generators", "hurink-vdata,sd2", "--iterations", "1", "--samples", "2",
                 "--temperature", "2.5", "--validation-instances", "1", "--hidden-dim", "8", "--mode", "non_delay",
                 "--out", str(tmp_path / "cli"), "--no-progress"]) == 0
    assert "best validation" in capsys.readouterr().out
    assert load_fjsp_agent(tmp_path / "cli" / "best.pt").mode == "non_delay"
    settings = read_fjsp_config(tmp_path / "cli" / "last.pt")["training"]["settings"]
    assert settings["generators"] == ["hurink-vdata", "sd2"] and settings["temperature"] == 2.5
    assert settings["sizes"] == [[3, 2]] and settings["command"].startswith("python -m cpgym.agents.fjsp_gnn.train")


def test_validation_set_takes_the_generators_in_turn_and_their_sizes_in_turn(tmp_path):
    config = _config(tmp_path, generators=("sd1", "hurink-edata"), sizes=((3, 2), (5, 4)), validation_instances=5)
    instances = validation_set(config)
    kinds = [instance.metadata["generator"] for instance in instances]
    assert kinds == ["sd1", "hurink-edata", "sd1", "hurink-edata", "sd1"]
    assert [(i.n_jobs, i.n_machines) for i in instances] == [(3, 2), (3, 2), (5, 4), (5, 4), (3, 2)]
    assert [i.jobs for i in validation_set(config)] == [i.jobs for i in instances]  # fixed


def test_ema_validates_and_saves_the_moving_average_of_the_weights(tmp_path):
    train_fjsp(_config(tmp_path, iterations=1, ema=0.9), progress=False)  # one Adam step: the average is it
    first = load_fjsp_trainer_state(tmp_path / "last.pt")[1]["policy"]
    saved = load_fjsp_agent(tmp_path / "last.pt").policy.state_dict()
    assert all(saved[key].equal(first[key]) for key in first)
    train_fjsp(_config(tmp_path, iterations=2, ema=0.9, resume=True), progress=False)
    second = load_fjsp_trainer_state(tmp_path / "last.pt")[1]["policy"]
    saved = load_fjsp_agent(tmp_path / "last.pt").policy.state_dict()
    for key in first:
        assert saved[key].allclose(0.9 * first[key] + 0.1 * second[key], atol=1e-6)
    assert not all(saved[key].equal(second[key]) for key in first)
    assert load_fjsp_agent(tmp_path / "best.pt").mode == "active"
    train_fjsp(_config(tmp_path / "plain", iterations=1), progress=False)
    with pytest.raises(ArgumentError, match="without --ema"):
        train_fjsp(_config(tmp_path / "plain", iterations=2, ema=0.9, resume=True), progress=False)
    with pytest.raises(ArgumentError, match="ema must be in"):
        _config(tmp_path, ema=1.0)
