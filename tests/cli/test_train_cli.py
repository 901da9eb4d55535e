"""Training CLI: settings precedence, config files, run folders (resume, copies, failed starts), tiny runs."""

import glob
import json
import shutil
import sys

import pytest

from cpgym.agents.fjsp_gnn.checkpoint import read_fjsp_config
from cpgym.agents.gnn.checkpoint import load_agent, read_config
from cpgym.agents.gnn.decoding import solve_with_agent
from cpgym.agents.training.settings import OPTIONS, checked_settings, saved_settings
from cpgym.cli.main import main as cpgym_main
from cpgym.cli.train import build_parser, main, settings_of
from cpgym.errors import ArgumentError
from cpgym.instances import uniform, validate_schedule

# a PPO run that takes about a second: 3x3 instances, 2 in-process envs, a tiny network
TINY = ["--size", "3x3", "--n-envs", "2", "--vec-env", "dummy", "--n-steps", "8", "--batch-size", "16",
        "--val-every", "16", "--val-instances", "2", "--val-time-limit", "0", "--hidden-dim", "8", "--n-layers", "1",
        "--head-layers", "8", "--device", "cpu", "--no-progress-bar"]


def settings_for(argv):
    return settings_of(build_parser().parse_args(argv))


def progress_of(folder):
    return read_config(folder / "last.pt")["training"]


def test_flags_override_the_config_file_which_overrides_the_defaults(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('size = "6x6"\ntimesteps = 2e5\nlearning-rate = 1e-4\nhead_layers = [32, 32]\n')
    settings = settings_for(["--config", str(config), "--timesteps", "3e5"])
    assert settings["size"] == "6x6" and settings["learning_rate"] == 1e-4 and settings["head_layers"] == [32, 32]
    assert settings["timesteps"] == 300_000  # the flag wins over the file
    assert settings["algo"] == "ppo" and settings["n_envs"] == 8  # defaults
    assert settings == checked_settings(settings)  # complete and valid


def test_the_default_dispatching_mode_is_non_delay_and_yaml_configs_work(tmp_path):
    assert settings_for([])["mode"] == "non_delay" == OPTIONS["mode"].default
    config = tmp_path / "run.yaml"
    config.write_text("size: 5x4\nmode: active\n")
    assert settings_for(["--config", str(config)])["mode"] == "active"


@pytest.mark.parametrize("text, message", [
    ("sizee = '6x6'\n", "run.toml: unknown setting 'sizee'"),
    ("size = '6by6'\n", "run.toml: setting 'size': size must look like 10x10"),
    ("mode = 'fast'\n", "run.toml: setting 'mode' must be one of"),
    ("cp_time_limit = 0\n", "run.toml: setting 'cp_time_limit': expected a number > 0"),
    ("size = \n", "run.toml: invalid TOML"),
])
def test_bad_config_files_are_reported_with_file_and_setting(tmp_path, text, message):
    config = tmp_path / "run.toml"
    config.write_text(text)
    with pytest.raises(ArgumentError, match=message):
        settings_for(["--config", str(config)])


def test_bad_flags_and_missing_config_files_are_rejected(tmp_path, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--size", "10"])
    assert "argument --size: size must look like 10x10" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--algo", "sac"])
    with pytest.raises(ArgumentError, match="duration_low <= duration_high"):
        settings_for(["--duration-low", "50", "--duration-high", "10"])
    assert main(["--config", str(tmp_path / "missing.toml")]) == 2
    assert "missing.toml: no such config file" in capsys.readouterr().err


def test_tiny_training_run_checkpoints_logs_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["jssp", "--out", str(out), "--mode", "active", "--timesteps", "32", *TINY]  # jssp: the default target
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["algo"] == "ppo"
    first = progress_of(out)
    assert first["num_timesteps"] == 32 and [h["timesteps"] for h in first["history"]] == [0, 16, 32]
    assert (out / "best.pt").exists() and glob.glob(str(out / "tb" / "events.out.tfevents.*"))
    assert main(argv) == 2  # refuses to overwrite a run
    assert "already holds a run" in capsys.readouterr().err
    assert main(["--out", str(out), "--resume", "--hidden-dim", "32"]) == 2  # cannot change the architecture
    assert "cannot change hidden_dim" in capsys.readouterr().err
    assert main(["--out", str(out), "--resume", "--timesteps", "48", "--no-progress-bar"]) == 0
    resumed = progress_of(out)
    assert resumed["num_timesteps"] == 48 and resumed["n_updates"] > first["n_updates"]
    assert [h["timesteps"] for h in resumed["history"]] == [0, 16, 32, 48]
    assert saved_settings(out)["mode"] == "active"  # the saved mode, not today's default
    agent = load_agent(out / "best.pt", device="cpu")
    instance = uniform(7, 5, seed=0)  # another size than trained on
    assert validate_schedule(instance, solve_with_agent(agent, instance).start_times).ok


def test_resuming_a_copied_run_folder_continues_in_the_copy(tmp_path):
    original, copy = tmp_path / "run", tmp_path / "copy"
    assert main(["--out", str(original), "--timesteps", "16", *TINY]) == 0
    shutil.copytree(original, copy)
    before = (original / "last.pt").read_bytes()
    assert main(["--out", str(copy), "--resume", "--timesteps", "32"]) == 0
    assert (original / "last.pt").read_bytes() == before  # the original run is untouched
    assert progress_of(original)["num_timesteps"] == 16 and progress_of(copy)["num_timesteps"] == 32
    assert saved_settings(copy)["out"] == str(copy)


def test_a_run_that_failed_before_its_first_checkpoint_restarts_in_the_same_folder(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["--out", str(out), "--timesteps", "16", *TINY]
    assert main(argv + ["--init-from", str(tmp_path / "missing.pt")]) == 2  # fails after preparing the folder
    assert "missing.pt: no such checkpoint file" in capsys.readouterr().err
    assert (out / "settings.json").exists() and not (out / "last.pt").exists()
    assert main(argv + ["--resume"]) == 2
    assert "cannot resume, no checkpoint saved yet" in capsys.readouterr().err
    assert main(argv) == 0  # no cleaning up needed
    assert progress_of(out)["num_timesteps"] == 16 and saved_settings(out)["init_from"] == ""


def test_cp_guided_algorithm_runs_from_the_cpgym_command(tmp_path, capsys):
    out = tmp_path / "cpg"
    argv = ["train", "--algo", "cp-guided", "--out", str(out), "--size", "4x4", "--timesteps", "48",
            "--cp-episodes", "4", "--cp-time-limit", "0.5", "--cp-workers", "1", "--batch-size", "16",
            "--val-instances", "2", "--val-every", "32", "--val-time-limit", "0", "--device", "cpu",
            "--no-progress-bar"]
    assert cpgym_main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["algo"] == "cp-guided" and summary["timesteps"] == 64 and summary["iterations"] == 1  # 4 x 16 steps
    assert (out / "best.pt").exists() and list((out / "tb").rglob("events.out.tfevents*"))
    assert saved_settings(out)["algo"] == "cp-guided" and progress_of(out)["algo"] == "cp-guided"


def test_the_fjsp_target_trains_the_flexible_agent_and_reports_user_errors(tmp_path, capsys):
    out = tmp_path / "fjsp"
    argv = ["train", "fjsp", "--size", "3x2", "--generators", "sd1,hurink-rdata", "--iterations", "1", "--samples",
            "2", "--validation-instances", "2", "--hidden-dim", "8", "--out", str(out), "--no-progress"]
    assert cpgym_main(argv) == 0
    assert "best validation" in capsys.readouterr().out
    fjsp_settings = read_fjsp_config(out / "last.pt")["training"]["settings"]
    assert fjsp_settings["command"].startswith("cpgym train fjsp --size 3x2")
    assert cpgym_main(argv) == 2  # the run folder exists: a message, no traceback
    assert "train: error:" in capsys.readouterr().err
    assert cpgym_main(["train", "fjsp", "--generators", "sd7", "--out", str(tmp_path / "bad")]) == 2
    assert "unknown flexible job-shop generator 'sd7'" in capsys.readouterr().err


def test_mixed_sizes_with_behaviour_cloning_warm_start(tmp_path):
    out = tmp_path / "bc"
    argv = ["--out", str(out), "--size", "4x4,6x3", "--timesteps", "32", "--n-envs", "2",
            "--vec-env", "dummy", "--n-steps", "16", "--batch-size", "32", "--val-every", "32", "--val-instances", "2",
            "--val-time-limit", "0", "--hidden-dim", "16", "--n-layers", "1", "--head-layers", "16",
            "--bc-teachers", "fdd/mwkr,spt", "--bc-instances", "3", "--bc-epochs", "2", "--device", "cpu",
            "--two-set-share", "0.5", "--no-progress-bar"]
    assert main(argv) == 0
    training = progress_of(out)
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
    start = progress_of(tuned)["history"][0]
    assert start["timesteps"] == 0 and start["mean_makespan"] == training["best_val_makespan"]


def test_unknown_behaviour_cloning_rule_fails_before_the_run_folder_is_made(tmp_path, capsys):
    out = tmp_path / "x"
    assert main(["--out", str(out), "--bc-teachers", "fastest", *TINY]) == 2
    assert "unknown dispatching rule 'fastest'" in capsys.readouterr().err
    assert not out.exists()


def test_a_missing_rl_extra_names_the_extra_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch_geometric", None)  # as if it were not installed
    assert main(["--out", str(tmp_path / "run"), *TINY]) == 2
    assert "pip install 'cpgym[rl]'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_missing_gpu_is_an_error_not_a_silent_cpu_run(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    for device, message in [("cuda", "--device cuda: this machine has no CUDA GPU"),
                            ("gpu", "expected auto, cpu, cuda, cuda:N or mps, got 'gpu'")]:
        with pytest.raises(SystemExit) as stop:
            main(["--device", device, "--out", str(tmp_path / "run")])
        assert stop.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
