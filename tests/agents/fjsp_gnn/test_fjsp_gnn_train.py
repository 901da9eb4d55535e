"""The self-labelling trainer: a tiny run, its checkpoints and logs, resuming, the command line."""

from __future__ import annotations

import pytest

from cpgym.agents.fjsp_gnn.checkpoint import load_fjsp_agent, read_fjsp_config
from cpgym.agents.fjsp_gnn.train import TrainConfig, main, train_fjsp
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
    warm = train_fjsp(_config(tmp_path / "warm", iterations=1, init=str(tmp_path / "best.pt")), progress=False)
    assert warm["iteration"] == 1
    with pytest.raises(ArgumentError, match="architecture"):
        train_fjsp(_config(tmp_path / "wide", init=str(tmp_path / "best.pt"), hidden_dim=16), progress=False)


def test_bad_settings_and_command_line(tmp_path, capsys):
    with pytest.raises(ArgumentError, match="nothing to resume"):
        train_fjsp(_config(tmp_path / "none", resume=True), progress=False)
    with pytest.raises(ArgumentError, match="samples"):
        _config(tmp_path, samples=0)
    assert main(["--size", "3x2", "--iterations", "1", "--samples", "2", "--validation-instances", "1",
                 "--hidden-dim", "8", "--out", str(tmp_path / "cli"), "--no-progress"]) == 0
    assert "best validation" in capsys.readouterr().out
    settings = read_fjsp_config(tmp_path / "cli" / "last.pt")["training"]["settings"]
    assert settings["sizes"] == [[3, 2]] and settings["command"].startswith("python -m cpgym.agents.fjsp_gnn.train")
