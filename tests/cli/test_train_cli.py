"""Training CLI: settings precedence, config files, and a tiny train run that resumes."""

import argparse
import glob
import json

import pytest

from cpgym.agents.gnn.checkpoint import load_agent, read_config
from cpgym.agents.gnn.decoding import solve_with_agent
from cpgym.cli.train import add_train_parser, build_parser, main, resolve_settings
from cpgym.instances import uniform, validate_schedule


def settings_for(argv):
    return resolve_settings(build_parser().parse_args(argv))


def test_jssp_is_the_default_target_and_flags_override_the_config_file(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('size = "6x6"\ntimesteps = 2e5\nlearning-rate = 1e-4\nhead_layers = [32, 32]\n')
    args = build_parser().parse_args(["--config", str(config), "--timesteps", "3e5"])
    assert args.target == "jssp"
    settings = resolve_settings(args)
    assert settings["size"] == "6x6" and settings["learning_rate"] == 1e-4 and settings["head_layers"] == [32, 32]
    assert settings["timesteps"] == 300_000  # the flag wins over the file
    assert settings["algo"] == "ppo" and settings["n_envs"] == 8  # defaults


def test_yaml_config_and_subcommand_registration(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("size: 5x4\nmode: non_delay\n")
    root = argparse.ArgumentParser()
    add_train_parser(root.add_subparsers(dest="command"))
    args = root.parse_args(["train", "--config", str(config)])
    assert args.func.__name__ == "run_train"
    assert resolve_settings(args)["mode"] == "non_delay"


@pytest.mark.parametrize("text, message", [
    ("sizee = '6x6'\n", "run.toml: unknown setting 'sizee'"),
    ("size = '6by6'\n", "run.toml: setting 'size': size must look like 10x10"),
    ("mode = 'fast'\n", "run.toml: setting 'mode' must be one of"),
    ("size = \n", "run.toml: invalid TOML"),
])
def test_bad_config_files_are_reported_with_file_and_setting(tmp_path, text, message):
    config = tmp_path / "run.toml"
    config.write_text(text)
    with pytest.raises(ValueError, match=message):
        settings_for(["--config", str(config)])


def test_bad_flags_are_rejected():
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--size", "10"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--algo", "sac"])


def test_tiny_training_run_checkpoints_logs_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    common = ["--out", str(out), "--n-envs", "2", "--vec-env", "dummy", "--device", "cpu", "--no-progress-bar"]
    argv = common + ["--size", "4x4", "--timesteps", "64", "--n-steps", "16", "--batch-size", "32",
                     "--val-every", "32", "--val-instances", "2", "--val-time-limit", "1", "--hidden-dim", "16",
                     "--n-layers", "1", "--head-layers", "16"]
    assert main(argv) == 0
    first = read_config(out / "last.pt")["training"]
    assert first["num_timesteps"] == 64 and [h["timesteps"] for h in first["history"]] == [0, 32, 64]
    assert (out / "best.pt").exists() and glob.glob(str(out / "tb" / "events.out.tfevents.*"))
    assert main(argv) == 2  # refuses to overwrite a run
    assert "already holds a run" in capsys.readouterr().err
    assert main(common + ["--resume", "--hidden-dim", "32"]) == 2  # cannot change the architecture
    assert main(common + ["--resume", "--timesteps", "96"]) == 0
    resumed = read_config(out / "last.pt")["training"]
    assert resumed["num_timesteps"] == 96 and resumed["n_updates"] > first["n_updates"]
    assert [h["timesteps"] for h in resumed["history"]] == [0, 32, 64, 96]
    agent = load_agent(out / "best.pt", device="cpu")
    instance = uniform(7, 5, seed=0)  # another size than trained on
    assert validate_schedule(instance, solve_with_agent(agent, instance).start_times).ok


def test_cp_guided_algorithm_runs_from_the_cli(tmp_path, capsys):
    out = tmp_path / "cpg"
    argv = ["--algo", "cp-guided", "--out", str(out), "--size", "4x4", "--timesteps", "48", "--mode", "non_delay",
            "--cp-episodes", "4", "--cp-time-limit", "0.5", "--cp-workers", "1", "--batch-size", "16",
            "--val-instances", "2", "--val-every", "32", "--val-time-limit", "0", "--device", "cpu",
            "--no-progress-bar"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["algo"] == "cp-guided" and summary["timesteps"] >= 48
    assert (out / "best.pt").exists() and list((out / "tb").rglob("events.out.tfevents*"))


def test_mixed_sizes_with_behaviour_cloning_warm_start(tmp_path):
    out = tmp_path / "bc"
    argv = ["--out", str(out), "--size", "4x4,6x3", "--mode", "non_delay", "--timesteps", "32", "--n-envs", "2",
            "--vec-env", "dummy", "--n-steps", "16", "--batch-size", "32", "--val-every", "32", "--val-instances", "2",
            "--val-time-limit", "0", "--hidden-dim", "16", "--n-layers", "1", "--head-layers", "16",
            "--bc-teachers", "fdd/mwkr,spt", "--bc-instances", "3", "--bc-epochs", "2", "--device", "cpu",
            "--two-set-share", "0.5", "--no-progress-bar"]
    assert main(argv) == 0
    training = read_config(out / "last.pt")["training"]
    cloning = training["behaviour_cloning"]
    assert [record["epoch"] for record in cloning["epochs"]] == [1, 2]
    assert cloning["teachers"] == ["fdd/mwkr", "spt"] and sum(cloning["wins"]) == 6  # 3 instances x 2 sizes
    assert [h["timesteps"] for h in training["history"]] == [0, 32]
    validation = json.loads((out / "validation.json").read_text())
    assert sorted({name.split("_")[1] for name in validation["instances"]}) == ["4x4", "6x3"]
    assert sum(name.endswith("_two_sets") for name in validation["instances"]) == 2  # one per size

    # fine-tuning starts from the given weights: its step-0 validation is the best one of the first run
    tuned = tmp_path / "tuned"
    argv = argv[:1] + [str(tuned)] + argv[2:argv.index("--bc-teachers")] + argv[argv.index("--device"):]
    assert main(argv + ["--init-from", str(out / "best.pt")]) == 0
    start = read_config(tuned / "last.pt")["training"]["history"][0]
    assert start["timesteps"] == 0 and start["mean_makespan"] == training["best_val_makespan"]


def test_unknown_behaviour_cloning_rule_is_a_clear_error(tmp_path, capsys):
    argv = ["--out", str(tmp_path / "x"), "--size", "4x4", "--timesteps", "16", "--bc-teachers", "fastest",
            "--val-time-limit", "0", "--val-instances", "1", "--n-envs", "1", "--device", "cpu", "--no-progress-bar"]
    assert main(argv) == 2
    assert "unknown dispatching rule 'fastest'" in capsys.readouterr().err
