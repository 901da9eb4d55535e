"""The pretrained models shipped as package data load safely and produce valid solutions."""

import csv
import json
import subprocess
import sys

from cpgym.agents.shipped import models_dir, shipped_model_path
from cpgym.cli.evaluate import default_methods
from cpgym.evaluation.methods import Settings, make_solver
from cpgym.instances import load, validate_schedule


def test_shipped_gnn_is_used_by_default_and_solves_any_size():
    assert shipped_model_path() is not None
    assert ",gnn," in default_methods()
    solver = make_solver("gnn")
    for name in ("ft06", "ta01", "ta41"):  # trained on 10x10 to 30x15; 6x6 and 30x20 must work unchanged
        instance = load(name)
        result = solver(instance, Settings(threads=1))
        report = validate_schedule(instance, result.solution)
        assert report.ok, report.violations
        assert report.makespan >= instance.lower_bound


def test_shipped_gnn_comes_with_its_config_and_validation_curve():
    with open(models_dir() / "jssp_gnn.validation.csv", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["stage"] == "1"]  # stage 1: imitation + PPO
    assert len(rows) >= 10 and rows[0]["timesteps"] == "0"
    assert min(float(r["val_mean_makespan"]) for r in rows) < float(rows[0]["val_mean_makespan"])
    stages = json.loads((models_dir() / "jssp_gnn.settings.json").read_text())["stages"]
    assert [stage["settings"]["mode"] for stage in stages] == ["non_delay"] * len(stages)
    assert (models_dir() / "jssp_gnn_ppo_10x10.pt").exists()  # the PPO-from-scratch baseline (a teacher)


def test_time_budgeted_sampling_spec_is_never_worse_than_greedy():
    instance = load("ft10")
    greedy = make_solver("gnn")(instance, Settings(threads=1)).solution
    sampled = make_solver("gnn-sample@1.5")(instance, Settings(threads=1)).solution
    assert validate_schedule(instance, sampled).ok
    assert validate_schedule(instance, sampled).makespan <= validate_schedule(instance, greedy).makespan


def test_load_agent_without_a_path_is_the_shipped_model_and_shipped_names_resolve():
    from cpgym.agents import load_agent
    from cpgym.agents.gnn.checkpoint import read_config

    assert load_agent(device="cpu").config == read_config(shipped_model_path())
    baseline = load_agent("jssp_gnn_ppo_10x10.pt", device="cpu")  # a shipped model by its file name
    assert baseline.config["spaces"]["max_jobs"] == 10 and baseline.env_kwargs["mode"] == "non_delay"


def test_importing_cpgym_agents_does_not_import_torch():
    code = ("import sys, cpgym.agents as agents; agents.dispatch; "
            "print(sorted(m for m in ('torch', 'torch_geometric', 'stable_baselines3') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
