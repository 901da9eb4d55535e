"""cpgym/JobShop-v0 against the Gymnasium and SB3 env checkers and Gymnasium's vector envs."""

from __future__ import annotations

import re
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import cpgym  # noqa: F401  (registers the environments)
from cpgym.instances import load, validate_schedule

ENV_ID = "cpgym:cpgym/JobShop-v0"
# the only warnings the checkers may give: unbounded float features (Gymnasium) and 2-D arrays
# that are not images (SB3), both intended (docs/jobshop_env.md)
HARMLESS = re.compile(r"Box observation space (maximum|minimum) value is -?infinity|has an unconventional shape")


@pytest.mark.parametrize("invalid_action", ["mask", "penalty"])
@pytest.mark.parametrize("observation", ["graph", "flat"])
@pytest.mark.parametrize("mode", ["active", "non_delay"])
def test_env_checkers_pass_with_unmasked_actions(mode, observation, invalid_action):
    """The checkers sample actions without the mask, hence invalid_action="mask" or "penalty";
    Gymnasium's checker also renders every declared render mode through the spec."""
    env = gym.make(ENV_ID, instance="ft06", mode=mode, observation=observation, invalid_action=invalid_action,
                   render_mode="rgb_array")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
        sb3_check_env(env, warn=True, skip_render_check=False)
    unexpected = [str(w.message) for w in caught if not HARMLESS.search(str(w.message))]
    assert not unexpected
    assert any("unconventional shape" in str(w.message) for w in caught)  # the checkers did run with warn on


def masked_sample(mask: np.ndarray, rng: np.random.Generator) -> int:
    """The documented sampler rule: a legal job uniformly; action 0 when the mask is empty (a
    terminal observation, whose next action the vector env ignores)."""
    legal = np.flatnonzero(mask)
    return int(rng.choice(legal)) if legal.size else 0


@pytest.mark.parametrize("mode", ["active", "non_delay"])
def test_vector_env_masked_sampling_across_autoreset(mode):
    instance = load("ft06")
    envs = gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="sync", instance="ft06", mode=mode)
    rng = np.random.default_rng(0)
    obs, _ = envs.reset(seed=0)
    finished = [0, 0]
    steps = [0, 0]
    was_terminal = np.zeros(2, dtype=bool)
    while min(finished) < 3:
        actions = np.array([masked_sample(mask, rng) for mask in obs["action_mask"]])
        obs, rewards, terminated, truncated, info = envs.step(actions)
        assert not truncated.any()
        for i in range(2):
            if was_terminal[i]:  # the reset step: action ignored, a fresh episode's first observation
                assert rewards[i] == 0 and not terminated[i] and steps[i] == 0
                assert obs["action_mask"][i].tolist() == [1] * 6  # every first operation can start at 0
                assert obs["node_features"][i][:, 0].sum() == 0  # nothing scheduled
                continue
            steps[i] += 1
            if terminated[i]:
                assert steps[i] == instance.n_operations
                assert not obs["action_mask"][i].any()  # terminal: no legal action
                assert not envs.call("action_masks")[i].any()
                assert info["_makespan"][i] and info["makespan"][i] == info["schedule"][i].makespan
                assert validate_schedule(instance, info["schedule"][i].start_times).ok
                finished[i] += 1
                steps[i] = 0
            else:
                assert obs["action_mask"][i].any()  # before the end a legal action always exists
        was_terminal = terminated
    envs.close()


@pytest.mark.parametrize("invalid_action", ["mask", "penalty"])
def test_vector_env_unmasked_sampling(invalid_action):
    """Sampling the action space blindly: under "mask" an illegal action dispatches the lowest-index
    legal job and episodes run to the end; under "penalty" the first illegal action terminates the
    episode, with reward -(total work + 1) and the unchanged (non-empty) mask in the terminal observation."""
    total_work = int(load("ft06").durations.sum())
    envs = gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="sync", instance="ft06", invalid_action=invalid_action)
    envs.action_space.seed(0)
    obs, _ = envs.reset(seed=0)
    illegal_steps = complete = 0
    was_terminal = np.zeros(2, dtype=bool)
    for _ in range(300):
        masks = obs["action_mask"].copy()
        actions = envs.action_space.sample()
        obs, rewards, terminated, _, info = envs.step(actions)
        finished = info.get("_makespan", np.zeros(2, dtype=bool))  # complete schedules
        for i in np.flatnonzero(~was_terminal):  # real steps (not the autoreset ones)
            illegal = not masks[i][actions[i]]
            assert info["illegal_action"][i] == illegal
            illegal_steps += illegal
            if invalid_action == "mask":
                assert info["dispatched_job"][i] == (np.flatnonzero(masks[i])[0] if illegal else actions[i])
                assert terminated[i] == finished[i]
                complete += finished[i]
            elif illegal:
                assert terminated[i] and rewards[i] == -(total_work + 1) and info["dispatched_job"][i] == -1
                np.testing.assert_array_equal(obs["action_mask"][i], masks[i])
                assert not finished[i]
            else:
                assert terminated[i] == finished[i] and info["dispatched_job"][i] == actions[i]
            if finished[i]:
                assert not obs["action_mask"][i].any()
        was_terminal = terminated
    envs.close()
    assert illegal_steps > 20
    assert complete >= 2 or invalid_action == "penalty"  # "mask": whole episodes despite blind sampling
