"""The robust Gymnasium environments: cpgym/RobustKnapsack-v0 and cpgym/CapitalBudgeting-v0."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import cpgym  # noqa: F401  (registers the environments)
from cpgym.cp_models.robust.knapsack import evaluate_knapsack
from cpgym.envs.robust import KNAPSACK_FEATURES, CapitalBudgetingEnv, RobustKnapsackEnv
from cpgym.errors import ArgumentError, IllegalActionError, UnknownInstanceError
from cpgym.instances import load
from cpgym.instances.capital_budgeting import generate_capital_budgeting, load_capital_budgeting
from cpgym.instances.robust_knapsack import RobustKnapsackInstance, generate_robust_knapsack, write_robust_knapsack

RKP = "RKP_UN_n20_R1000_H100_h40_dev0.1_d0.5"
CB = "CB_n10_xi4_s1"
KEYS = {"item_features", "decided", "selected", "current", "valid", "action_mask"}


def tiny_knapsack() -> RobustKnapsackInstance:
    """Two items, capacity 10, Gamma 1. Robust values (worked by hand): x=11 -> 7, x=10 -> 4, x=01 -> 6.

    x=11: first stage (4-5)+(6-7) = -2; the second stage keeps both (weight 9) or repairs item 0
    (weight 10): max(12 - 2 xi0 - 3 xi1, 12 - 3 xi1), worst at xi = (0, 1): 9.
    """
    ints = [np.array(v, dtype=np.int64) for v in ([4, 6], [2, 3], [1, 2], [5, 4], [5, 7])]
    return RobustKnapsackInstance("tiny", 10, 1.0, *ints)


def play(env, actions):
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
    return obs, reward, terminated, truncated, info


def test_gym_make_and_check_env():
    env = gym.make("cpgym:cpgym/RobustKnapsack-v0", invalid_action="mask")
    assert isinstance(env.unwrapped, RobustKnapsackEnv)
    check_env(env.unwrapped, skip_render_check=True)
    check_env(CapitalBudgetingEnv(n_items=6, max_items=8, reward_mode="sampled", invalid_action="mask"),
              skip_render_check=True)
    check_env(CapitalBudgetingEnv(n_items=4, max_items=4, time_limit=2, invalid_action="mask"), skip_render_check=True)


def test_sb3_check_env():
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    sb3_check_env(RobustKnapsackEnv(n_items=5, reward_mode="sampled", invalid_action="mask"), warn=False)
    sb3_check_env(CapitalBudgetingEnv(n_items=5, reward_mode="sampled", invalid_action="mask"), warn=False)


@pytest.mark.parametrize("env_class", [RobustKnapsackEnv, CapitalBudgetingEnv])
def test_observation_keys_do_not_clash_with_module_dict(env_class):
    torch = pytest.importorskip("torch")
    assert set(env_class().observation_space.spaces) == KEYS
    assert KEYS.isdisjoint(dir(torch.nn.ModuleDict))
    torch.nn.ModuleDict({key: torch.nn.Identity() for key in KEYS})  # raises on a clash (e.g. "items")


def test_knapsack_episode_reward_is_exact_robust_value():
    inst = generate_robust_knapsack(6, "SC", seed=1)
    env = RobustKnapsackEnv(instances=[inst], max_items=8, reward_scale=1.0)
    obs, _ = env.reset(seed=0)
    assert obs["item_features"].shape == (8, 6) and obs["valid"].sum() == 6 and obs["current"][0] == 1
    actions = [1, 0, 1, 1, 0, 1]
    obs, reward, terminated, truncated, info = play(env, actions)
    assert terminated and not truncated
    assert np.array_equal(info["x"], actions)
    assert reward == pytest.approx(evaluate_knapsack(inst, np.array(actions)).objective)


@pytest.mark.parametrize("mode", ["exact", "sampled"])
@pytest.mark.parametrize(("actions", "value"), [([1, 1], 7.0), ([1, 0], 4.0), ([0, 1], 6.0), ([0, 0], 0.0)])
def test_knapsack_reward_is_the_robust_value_times_reward_scale(mode, actions, value):
    default = RobustKnapsackEnv(tiny_knapsack(), reward_mode=mode)
    assert default.reward_scale == 1e-3
    default.reset(seed=0)
    assert play(default, actions)[1] == pytest.approx(value * 1e-3)
    doubled = RobustKnapsackEnv(tiny_knapsack(), reward_mode=mode, reward_scale=2.0)
    doubled.reset(seed=0)
    assert play(doubled, actions)[1] == pytest.approx(value * 2)


def test_knapsack_features_and_observation_progress():
    env = RobustKnapsackEnv(tiny_knapsack(), max_items=3)
    obs, info = env.reset(seed=0)
    assert env.feature_names == KNAPSACK_FEATURES and info["instance"] == "tiny"
    expected = [[0.4, 0.2, 0.1, 0.5, 0.5, 0.5], [0.6, 0.3, 0.2, 0.4, 0.7, 0.5], [0] * 6]  # / C = 10, Gamma / n
    np.testing.assert_allclose(obs["item_features"], expected, rtol=1e-6)
    np.testing.assert_array_equal(obs["valid"], [1, 1, 0])
    obs, reward, terminated, _, info = env.step(1)
    assert reward == 0 and not terminated and info["action_mask"].tolist() == [1, 1] and not info["illegal_action"]
    np.testing.assert_array_equal(obs["decided"], [1, 0, 0])
    np.testing.assert_array_equal(obs["selected"], [1, 0, 0])
    np.testing.assert_array_equal(obs["current"], [0, 1, 0])
    obs, _, terminated, _, _ = env.step(0)
    assert terminated
    np.testing.assert_array_equal(obs["current"], [0, 0, 0])
    assert obs["action_mask"].tolist() == [0, 0] and env.action_masks().tolist() == [False, False]


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


def test_capital_budgeting_features_follow_the_budget_left():
    inst = load_capital_budgeting(CB)
    env = CapitalBudgetingEnv(CB, reward_mode="sampled")
    obs, _ = env.reset(seed=0)
    assert obs["item_features"].shape == (10, 11) and env.feature_names[-1] == "budget_left"
    features = obs["item_features"]
    np.testing.assert_allclose(features[:, 0], inst.cost / inst.budget, rtol=1e-6)
    np.testing.assert_allclose(features[:, 1], inst.revenue / inst.budget, rtol=1e-6)
    np.testing.assert_allclose(features[:, 2:6], inst.phi, rtol=1e-6)
    np.testing.assert_allclose(features[:, 6:10], inst.psi, rtol=1e-6)
    np.testing.assert_array_equal(features[:, 10], 1)
    obs, *_ = env.step(1)
    np.testing.assert_allclose(obs["item_features"][:, 10], 1 - 1.5 * inst.cost[0] / inst.budget, rtol=1e-6)


# ---------------------------------------------------------------- instance=


def test_instance_accepts_an_object_a_bundled_name_a_file_and_a_list(tmp_path):
    inst = generate_robust_knapsack(5, seed=3, name="five")
    path = tmp_path / "five.txt"
    write_robust_knapsack(inst, path)
    for spec in (inst, str(path), path):
        env = RobustKnapsackEnv(spec)
        assert env.max_items == 5 and env.reset(seed=0)[1]["instance"] in ("five", "five.txt")
    env = gym.make("cpgym:cpgym/RobustKnapsack-v0", instance=RKP)
    assert env.reset(seed=0)[1]["instance"] == RKP and env.unwrapped.max_items == 20
    mixed = RobustKnapsackEnv([inst, RKP])
    assert mixed.max_items == 20  # the largest listed instance
    drawn = {mixed.reset(seed=seed)[1]["instance"] for seed in range(12)}
    assert drawn == {"five", RKP}
    assert mixed.reset(options={"instance": inst})[0]["valid"].sum() == 5
    budgeting = CapitalBudgetingEnv([CB, "CB_n20_xi4_s1"], reward_mode="sampled")
    assert budgeting.max_items == 20 and budgeting.reset(options={"instance": CB})[1]["instance"] == CB


def test_generator_and_older_instances_argument():
    def generator(rng):
        return generate_capital_budgeting(4, seed=int(rng.integers(100)))

    for env in (CapitalBudgetingEnv(generator=generator), CapitalBudgetingEnv(instances=generator)):
        assert env.max_items == 4 and env.reset(seed=1)[0]["valid"].sum() == 4
    assert RobustKnapsackEnv(n_items=7).max_items == 7  # the default generator's size


def test_instance_mistakes_raise_clear_errors():
    with pytest.raises(UnknownInstanceError):
        RobustKnapsackEnv("RKP_no_such_instance")
    with pytest.raises(ArgumentError, match="not a robust knapsack instance"):
        RobustKnapsackEnv(CB)
    with pytest.raises(ArgumentError, match="not a capital budgeting instance"):
        CapitalBudgetingEnv([CB, load("ft06")])
    with pytest.raises(ArgumentError, match="at most one of instance=, generator= and instances="):
        RobustKnapsackEnv(RKP, instances=[RKP])
    with pytest.raises(ArgumentError, match="at most one"):
        RobustKnapsackEnv(RKP, generator=lambda rng: RKP)
    with pytest.raises(ArgumentError, match="empty"):
        RobustKnapsackEnv([])
    with pytest.raises(ArgumentError, match="20 items > max_items 10"):
        RobustKnapsackEnv(RKP, max_items=10)
    env = RobustKnapsackEnv(tiny_knapsack())
    with pytest.raises(ArgumentError, match="max_items 2"):
        env.reset(options={"instance": RKP})
    with pytest.raises(ArgumentError, match="item features"):
        CapitalBudgetingEnv([CB, generate_capital_budgeting(5, seed=0, xi_dim=3)])
    with pytest.raises(ArgumentError, match="unknown reset option\\(s\\) 'instances'"):
        env.reset(options={"instances": [RKP]})
    with pytest.raises(ArgumentError, match="reset options must be a dict"):
        env.reset(options=[RKP])


@pytest.mark.parametrize("kwargs", [
    {"reward_scale": 0}, {"reward_scale": -1.0}, {"reward_scale": float("nan")}, {"reward_mode": "optimal"},
    {"invalid_action": "skip"}, {"time_limit": 0}, {"n_items": 0}, {"max_items": 0},
])
def test_bad_arguments_raise_argument_error(kwargs):
    with pytest.raises(ArgumentError, match=next(iter(kwargs))):
        CapitalBudgetingEnv(**kwargs)


# ---------------------------------------------------------------- illegal actions


@pytest.mark.parametrize("invalid_action", ["raise", "mask", "penalty"])
def test_masked_selection_follows_invalid_action(invalid_action):
    inst = load_capital_budgeting(CB)  # after projects 0 and 1, project 2 breaks 1.5 cbar.x <= B = 19
    assert inst.robust_feasible([1, 1] + [0] * 8) and not inst.robust_feasible([1, 1, 1] + [0] * 7)
    env = CapitalBudgetingEnv(CB, reward_mode="sampled", invalid_action=invalid_action, reward_scale=0.5)
    env.reset(seed=0)
    env.step(1)
    env.step(1)
    assert env.action_masks().tolist() == [True, False]
    if invalid_action == "raise":
        with pytest.raises(IllegalActionError, match="selecting project 2 breaks the robust budget"):
            env.step(1)
        obs, reward, terminated, _, info = env.step(0)  # the raise left the state unchanged
        assert obs["decided"][:3].tolist() == [1, 1, 1] and not info["illegal_action"]
    elif invalid_action == "mask":
        obs, reward, terminated, _, info = env.step(1)
        assert info["illegal_action"] and not terminated and reward == 0
        assert obs["selected"][:3].tolist() == [1, 1, 0] and obs["current"][3] == 1
    else:
        obs, reward, terminated, truncated, info = env.step(np.int64(1))
        assert reward == env.illegal_penalty == -0.5 and terminated and not truncated and info["illegal_action"]
        assert obs["action_mask"].tolist() == [0, 0] and obs["decided"][:3].tolist() == [1, 1, 0]
        with pytest.raises(IllegalActionError, match="episode is over"):
            env.step(0)


WRONG_TYPES = [1.9, 1.0, "2", "1", True, np.bool_(False), None, [0], np.array([1.0]), np.array([0, 1])]


@pytest.mark.parametrize("action", WRONG_TYPES)
@pytest.mark.parametrize("invalid_action", ["raise", "mask", "penalty"])
def test_actions_of_the_wrong_type_are_rejected(action, invalid_action):
    env = RobustKnapsackEnv(tiny_knapsack(), invalid_action=invalid_action)
    env.reset(seed=0)
    with pytest.raises(IllegalActionError, match="an action must be the integer 0 \\(skip\\) or 1 \\(select\\)"):
        env.step(action)


@pytest.mark.parametrize("invalid_action", ["raise", "mask", "penalty"])
def test_out_of_range_actions_are_rejected_at_every_step(invalid_action):
    env = CapitalBudgetingEnv(generate_capital_budgeting(4, seed=2), reward_mode="sampled",
                              invalid_action=invalid_action)
    env.reset(seed=0)
    terminated = False
    while not terminated:
        for action in (2, -1, np.int64(5), np.array([2])):
            with pytest.raises(IllegalActionError, match="outside the action space Discrete\\(2\\)"):
                env.step(action)
        _, _, terminated, _, _ = env.step(np.array(0))  # 0-d and one-element integer arrays are accepted
        if not terminated:
            _, _, terminated, _, _ = env.step(np.array([0]))
    assert env.step_index == 4


def test_steps_before_reset_and_after_the_end_raise():
    env = RobustKnapsackEnv(tiny_knapsack())
    with pytest.raises(IllegalActionError, match="call reset\\(\\) before step\\(\\)"):
        env.step(0)
    env.reset(seed=0)
    assert play(env, [0, 1])[2]
    with pytest.raises(IllegalActionError, match="the episode is over; call reset\\(\\)"):
        env.step(0)
    env.reset(seed=0)
    assert not env.step(0)[2]


# ---------------------------------------------------------------- learning


def small_env(env_class, invalid_action: str):
    """Generated 5-item instances (a new one per episode) with the cheap sampled reward."""
    return env_class(n_items=5, reward_mode="sampled", invalid_action=invalid_action)


@pytest.mark.parametrize("env_class", [RobustKnapsackEnv, CapitalBudgetingEnv])
def test_ppo_multi_input_policy_learns(env_class):
    from stable_baselines3 import PPO

    env = small_env(env_class, "mask")  # plain PPO samples masked selections too
    model = PPO("MultiInputPolicy", env, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=64)
    assert model.num_timesteps == 64


@pytest.mark.parametrize("env_class", [RobustKnapsackEnv, CapitalBudgetingEnv])
def test_maskable_ppo_learns_and_predicts_legal_actions(env_class):
    from sb3_contrib import MaskablePPO

    env = small_env(env_class, "raise")  # a masked action would fail the run
    model = MaskablePPO("MultiInputPolicy", env, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=64)
    obs, _ = env.reset(seed=1)
    terminated = False
    while not terminated:
        action, _ = model.predict(obs, action_masks=env.action_masks(), deterministic=True)
        obs, reward, terminated, _, info = env.step(action)
    assert np.isfinite(reward) and set(info["x"]) <= {0, 1} and len(info["x"]) == 5
    if env_class is CapitalBudgetingEnv:
        assert env.instance.robust_feasible(info["x"]) and reward > 0
