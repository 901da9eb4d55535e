"""Robust optimization Gymnasium environments and CLI helpers."""

import argparse
import json

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import cpgym  # noqa: F401  (registers the environments)
from cpgym.cli.robust import add_evaluate_x_parser, is_ro_instance, solve_ro
from cpgym.cp_models.robust.knapsack import evaluate_knapsack
from cpgym.envs.robust import CapitalBudgetingEnv, RobustKnapsackEnv
from cpgym.instances.capital_budgeting import generate_capital_budgeting, load_capital_budgeting
from cpgym.instances.robust_knapsack import generate_robust_knapsack


def test_gym_make_and_check_env():
    env = gym.make("cpgym:cpgym/RobustKnapsack-v0")
    check_env(env.unwrapped, skip_render_check=True)
    check_env(CapitalBudgetingEnv(n_items=6, max_items=8, reward_mode="sampled"), skip_render_check=True)
    check_env(CapitalBudgetingEnv(n_items=4, max_items=4, time_limit=2), skip_render_check=True)


def test_knapsack_episode_reward_is_exact_robust_value():
    inst = generate_robust_knapsack(6, "SC", seed=1)
    env = RobustKnapsackEnv(instances=[inst], max_items=8, reward_scale=1.0)
    obs, _ = env.reset(seed=0)
    assert obs["items"].shape == (8, 6) and obs["valid"].sum() == 6 and obs["current"][0] == 1
    actions = [1, 0, 1, 1, 0, 1]
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
    assert terminated and not truncated
    assert np.array_equal(info["x"], actions)
    assert reward == pytest.approx(evaluate_knapsack(inst, np.array(actions)).objective)


def test_capital_budgeting_mask_enforces_robust_budget():
    inst = generate_capital_budgeting(10, seed=5)
    env = CapitalBudgetingEnv(instances=[inst], reward_mode="sampled")
    env.reset(seed=0)
    done = False
    while not done:
        mask = env.action_masks()
        _, _, done, _, info = env.step(1 if mask[1] else 0)
    assert inst.robust_feasible(info["x"]) and info["x"].sum() > 0
    x = info["x"]
    for j in np.flatnonzero(x == 0):  # greedy filling left no room for any skipped project
        trial = x.copy()
        trial[j] = 1
        if j > np.flatnonzero(x)[0]:
            assert not inst.robust_feasible(trial)


def test_is_ro_instance(tmp_path):
    assert is_ro_instance("CB_n10_xi4_s1") and is_ro_instance("RKP_UN_n20_R1000_H100_h40_dev0.1_d0.5")
    assert not is_ro_instance("ta01") and not is_ro_instance(str(tmp_path / "missing"))
    bad = tmp_path / "bad.txt"
    bad.write_text("not an instance\n")
    assert not is_ro_instance(str(bad))


def test_solve_ro_json(capsys):
    assert solve_ro("RKP_UN_n20_R1000_H100_h40_dev0.1_d0.5", "ccg", 30, True) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["objective"] == pytest.approx(record["best_known"], abs=0.01)
    assert {"bound", "status", "time"} <= record.keys()
    assert solve_ro("CB_n10_xi4_s1", "nope", 1, False) == 2


def test_evaluate_x_cli(capsys):
    parser = argparse.ArgumentParser()
    add_evaluate_x_parser(parser.add_subparsers())
    inst = load_capital_budgeting("CB_n10_xi4_s1")
    args = parser.parse_args(["evaluate-x", inst.name, "--x", "0 1 1 0 0 0 0 1 0 0", "--json", "--sampled"])
    assert args.func(args) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["upper"] == record["objective"] and "optimistic" in record["note"]
    args = parser.parse_args(["evaluate-x", inst.name, "--x", "0 1", "--json"])
    assert args.func(args) == 2
