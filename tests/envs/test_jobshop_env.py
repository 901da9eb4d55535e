"""Tests of cpgym/JobShop-v0 (JobShopEnv and its simulator JobShopState)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from cpgym.envs.jobshop import FLAT_FEATURES, GRAPH_FEATURES, JobShopEnv, UniformGenerator
from cpgym.envs.jobshop_state import IllegalActionError, JobShopState
from cpgym.errors import ArgumentError, UnknownInstanceError
from cpgym.instances import JobShopInstance, load, validate_schedule

# Two jobs, two machines. Job 0: m0 for 3, then m1 for 2. Job 1: m1 for 1, then m0 for 2.
TWO_BY_TWO = JobShopInstance("two_by_two", [[0, 1], [1, 0]], [[3, 2], [1, 2]])
# The env checkers step with unmasked random actions (SB3's NaN check: 10 steps). With every
# duration 0 the non_delay clock stays at 0, so every job with operations left is legal, and
# 12 operations per job outlast those 10 steps.
ALL_ZERO = JobShopInstance("all_zero", [np.roll(np.arange(12), j) for j in range(3)], np.zeros((3, 12), int))


def play_random(env: JobShopEnv, seed: int = 0, **reset_kwargs):
    """One episode of uniformly random legal actions; returns (return, last info, steps)."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed, **reset_kwargs)
    total, steps, terminated = 0.0, 0, False
    while not terminated:
        legal = np.flatnonzero(obs["action_mask"])
        obs, reward, terminated, truncated, info = env.step(int(rng.choice(legal)))
        assert not truncated
        total += reward
        steps += 1
    return total, info, steps


def test_gym_make_in_fresh_interpreter():
    code = textwrap.dedent(
        """
        import gymnasium as gym
        env = gym.make("cpgym:cpgym/JobShop-v0", instance="ft06", mode="non_delay")
        obs, info = env.reset(seed=0)
        print(type(env.unwrapped).__name__, obs["node_features"].shape, env.unwrapped.action_masks().sum())
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split() == ["JobShopEnv", "(36,", f"{len(GRAPH_FEATURES)})", "6"]


@pytest.mark.parametrize("observation", ["graph", "flat"])
@pytest.mark.parametrize("mode", ["active", "non_delay"])
def test_env_checkers_pass(mode, observation):
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = JobShopEnv(ALL_ZERO if mode == "non_delay" else "ft06", mode=mode, observation=observation)
    with warnings.catch_warnings():
        # unbounded float features (gymnasium) and 2-D arrays that are not images (SB3) are intended
        warnings.simplefilter("ignore")
        check_env(env, skip_render_check=True)
        sb3_check_env(env, warn=False)


def test_active_mode_left_shifts_into_gap_by_hand():
    env = JobShopEnv(TWO_BY_TWO, mode="active")
    env.reset(seed=0)
    env.step(0)  # job 0 op 0 on m0 at [0, 3)
    env.step(0)  # job 0 op 1 on m1 at [3, 5)
    obs, _, _, _, _ = env.step(1)  # job 1 op 0 on m1 (d=1): fits the idle gap [0, 3) -> starts at 0
    assert env.partial_schedule().tolist() == [[0, 3], [0, -1]]
    edges = {tuple(e) for e in obs["edge_index"][:, : obs["n_edges"][0]].T.tolist()}
    assert edges == {(0, 1), (2, 3), (2, 1)}  # job edges + machine-1 chain: node 2 before node 1
    obs, reward, terminated, _, info = env.step(1)  # job 1 op 1 on m0: ready at 1, m0 busy till 3
    assert terminated and info["makespan"] == 5 and info["schedule"].start_times.tolist() == [[0, 3], [0, 3]]
    edges = {tuple(e) for e in obs["edge_index"][:, : obs["n_edges"][0]].T.tolist()}
    assert edges == {(0, 1), (2, 3), (2, 1), (0, 3)}
    assert not obs["action_mask"].any()


def test_non_delay_mode_by_hand():
    env = JobShopEnv(TWO_BY_TWO, mode="non_delay")
    obs, info = env.reset(seed=0)
    assert obs["action_mask"].tolist() == [1, 1] and env.state.now == 0
    obs, *_ = env.step(0)  # job 0 op 0 on m0 at 0; job 0's next op waits for t=3
    assert obs["action_mask"].tolist() == [0, 1] and env.state.now == 0
    with pytest.raises(IllegalActionError, match="cannot start now"):
        env.step(0)
    obs, *_ = env.step(1)  # job 1 op 0 on m1 at [0, 1); next: job 1 op 1 on m0 free at 3, job 0 op 1 at 3
    assert env.state.now == 3 and obs["action_mask"].tolist() == [1, 1]
    env.step(1)
    _, _, terminated, _, info = env.step(0)
    assert terminated and info["schedule"].start_times.tolist() == [[0, 3], [0, 3]] and info["makespan"] == 5


def test_illegal_actions_raise_clear_errors():
    env = JobShopEnv(TWO_BY_TWO, mode="active", max_jobs=4)
    env.reset(seed=0)
    with pytest.raises(IllegalActionError, match="does not exist"):
        env.step(3)  # a padding action
    env.step(1)
    env.step(1)
    with pytest.raises(IllegalActionError, match="no operation left"):
        env.step(1)
    env.step(0)
    env.step(0)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


@pytest.mark.parametrize("mode", ["active", "non_delay"])
def test_rewards_dense_return_is_minus_makespan_plus_constant(mode):
    instance = load("ft06")
    initial_lb = int(instance.durations.sum(axis=1).max())
    for seed in range(3):
        dense = JobShopEnv(instance, mode=mode, reward="dense")
        sparse = JobShopEnv(instance, mode=mode, reward="sparse")
        ret_dense, info_dense, steps = play_random(dense, seed)
        ret_sparse, info_sparse, _ = play_random(sparse, seed)
        assert steps == instance.n_operations
        assert info_dense["makespan"] == info_sparse["makespan"]  # same seed, same episode
        assert ret_dense == -(info_dense["makespan"] - initial_lb)
        assert ret_sparse == -info_sparse["makespan"]
        report = validate_schedule(instance, info_dense["schedule"].start_times, info_dense["makespan"])
        assert report.ok, report.violations


def test_same_seed_same_episode_with_generator_and_lists():
    for kwargs in ({"generator": UniformGenerator(5, 4)}, {"instance": ["ft06", "la01", TWO_BY_TWO]}):
        env = JobShopEnv(**kwargs)
        names = []
        for seed in (0, 0, 7):
            _, info, _ = play_random(env, seed)
            names.append((env.instance.name, info["schedule"].start_times.tolist()))
        assert names[0] == names[1]
    env = JobShopEnv(generator=UniformGenerator(5, 4))
    assert env.max_jobs == 5 and env.max_machines == 4
    sizes = {env.reset(seed=s)[0]["n_nodes"][0] for s in range(3)}
    assert sizes == {20}


def test_reset_option_switches_instance_and_padding():
    env = JobShopEnv(["ft06", "la01"])  # la01 is 10x5, ft06 6x6: padding 10x6
    assert (env.max_jobs, env.max_machines) == (10, 6)
    obs, _ = env.reset(seed=0, options={"instance": "ft06"})
    assert env.instance.name == "ft06" and obs["n_nodes"][0] == 36
    assert obs["node_features"].shape == (60, len(GRAPH_FEATURES)) and obs["edge_index"].shape == (2, 10 * 5 + 6 * 9)
    assert obs["action_mask"].tolist() == [1] * 6 + [0] * 4
    assert not obs["node_features"][36:].any()
    obs, _ = env.reset(options={"instance": load("la01")})
    assert env.instance.name == "la01" and obs["n_nodes"][0] == 50 and obs["n_edges"][0] == 10 * 4
    with pytest.raises(ValueError, match="exceeds the padding"):
        env.reset(options={"instance": "ta01"})


@pytest.mark.parametrize("mode", ["active", "non_delay"])
def test_graph_observation_matches_state(mode):
    instance = load("la01")
    env = JobShopEnv(instance, mode=mode)
    obs, _ = env.reset(seed=3)
    rng = np.random.default_rng(3)
    n_machines = instance.n_machines
    for _ in range(30):
        obs, _, _, _, info = env.step(int(rng.choice(np.flatnonzero(obs["action_mask"]))))
        np.testing.assert_array_equal(obs["action_mask"], env.action_masks().astype(np.int8))
        np.testing.assert_array_equal(info["action_mask"], obs["action_mask"])
        starts = env.partial_schedule()
        nodes = obs["node_features"]
        scheduled = (starts >= 0).ravel()
        np.testing.assert_array_equal(nodes[:, 0], scheduled)
        scale = instance.trivial_lower_bound()
        # completion lower bound: real end when scheduled, else predecessor's bound + duration
        lb = np.zeros(instance.durations.shape)
        for j in range(instance.n_jobs):
            for k in range(n_machines):
                base = starts[j, k] if starts[j, k] >= 0 else (lb[j, k - 1] if k else 0)
                lb[j, k] = base + instance.durations[j, k]
        np.testing.assert_allclose(nodes[:, 2], (lb / scale).ravel(), rtol=1e-6)
        assert env.makespan_lb == lb.max()
        remaining = np.where(starts < 0, instance.durations, 0).sum(axis=1)
        np.testing.assert_allclose(nodes[:, 4], np.repeat(remaining / scale, n_machines), rtol=1e-6)
        next_op = (starts >= 0).sum(axis=1)
        expected_candidate = np.arange(10) * n_machines + np.minimum(next_op, n_machines - 1)
        np.testing.assert_array_equal(obs["candidate"], expected_candidate)
        # edges: all job edges, plus each machine's scheduled ops chained in start order
        edges = obs["edge_index"][:, : obs["n_edges"][0]].T.tolist()
        conj = {(j * n_machines + k, j * n_machines + k + 1) for j in range(10) for k in range(n_machines - 1)}
        chain = set()
        for m in range(n_machines):
            jobs, ops = np.nonzero((instance.machines == m) & (starts >= 0))
            order = np.argsort(starts[jobs, ops], kind="stable")
            ids = (jobs * n_machines + ops)[order].tolist()
            chain |= set(zip(ids[:-1], ids[1:]))
        assert len(edges) == len(set(map(tuple, edges))) == len(conj) + len(chain)
        assert set(map(tuple, edges)) == conj | chain


def test_flat_observation_by_hand():
    env = JobShopEnv(TWO_BY_TWO, mode="non_delay", observation="flat")
    obs, _ = env.reset(seed=0)
    assert obs["job_features"].shape == (2, len(FLAT_FEATURES))
    time_scale = TWO_BY_TWO.trivial_lower_bound()  # 5 (job 0 and machine 0 both need 5)
    assert time_scale == 5
    np.testing.assert_allclose(obs["job_features"], [[1, 0, 0, 0, 1, 1], [1 / 3, 0, 0, 0, 3 / 5, 1]], rtol=1e-6)
    obs, *_ = env.step(0)  # now = 0; job 0 next: m1 d2, ready 3; m1 free 0 -> est 3
    np.testing.assert_allclose(obs["job_features"][0], [2 / 3, 3 / 5, 3 / 5, 0, 2 / 5, 1 / 2], rtol=1e-6)
    obs, *_ = env.step(1)  # now = 3; job 1 next: m0 d2, ready 1, m0 free 3
    np.testing.assert_allclose(obs["job_features"][1], [2 / 3, 0, -2 / 5, 0, 2 / 5, 1 / 2], rtol=1e-6)
    np.testing.assert_allclose(obs["job_features"][0], [2 / 3, 0, 0, -2 / 5, 2 / 5, 1 / 2], rtol=1e-6)


def test_state_lower_bound_never_decreases_and_dispatch_reports_chain():
    state = JobShopState(TWO_BY_TWO, "active")
    assert state.makespan_lb == 5
    assert state.dispatch(0) == (0, 0, -1, -1)
    assert state.dispatch(0) == (1, 3, -1, -1)
    assert state.dispatch(1) == (2, 0, -1, 1)  # inserted before node 1 on machine 1
    assert state.dispatch(1) == (3, 3, 0, -1)
    assert state.done and state.makespan == state.makespan_lb == 5


def test_maskable_ppo_smoke():
    from sb3_contrib import MaskablePPO

    env = JobShopEnv("ft06", mode="non_delay")
    model = MaskablePPO("MultiInputPolicy", env, n_steps=64, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=256)
    obs, _ = env.reset(seed=1)
    terminated = False
    while not terminated:
        action, _ = model.predict(obs, action_masks=env.action_masks(), deterministic=True)
        obs, _, terminated, _, info = env.step(action)
    assert validate_schedule(env.instance, info["schedule"].start_times, info["makespan"]).ok


def test_shared_graph_observations_are_live_views_with_the_same_content():
    copied, shared = JobShopEnv(instance="ft06"), JobShopEnv(instance="ft06")
    shared.share_observations = True
    first_copy, _ = copied.reset(seed=0)
    first_shared, _ = shared.reset(seed=0)
    before = first_shared["node_features"].copy()
    for action in (0, 1, 2):
        obs_copy = copied.step(action)[0]
        obs_shared = shared.step(action)[0]
        for key in obs_copy:
            np.testing.assert_array_equal(obs_copy[key], obs_shared[key])
    assert np.array_equal(first_copy["node_features"], before)  # copies keep the past
    assert np.shares_memory(first_shared["node_features"], obs_shared["node_features"])  # views follow the env
    assert not np.array_equal(first_shared["node_features"], before)


def test_default_mode_is_non_delay_for_env_state_and_rules():
    from cpgym.agents.rules import dispatch

    env = JobShopEnv(TWO_BY_TWO)
    env.reset(seed=0)
    obs, *_ = env.step(0)  # non_delay: job 0's next op waits for t=3, so only job 1 is legal (active: both)
    assert env.mode == "non_delay" and obs["action_mask"].tolist() == [0, 1]
    assert JobShopState(TWO_BY_TWO).mode == "non_delay"
    instance = load("ft06")
    default, non_delay = dispatch(instance, "spt"), dispatch(instance, "spt", mode="non_delay")
    np.testing.assert_array_equal(default.start_times, non_delay.start_times)
    assert dispatch(instance, "spt", mode="active").makespan != default.makespan  # the modes differ here


def test_invalid_action_mask_dispatches_the_lowest_legal_job():
    env = JobShopEnv(TWO_BY_TWO, max_jobs=3, invalid_action="mask")
    env.reset(seed=0)
    _, _, _, _, info = env.step(0)
    assert not info["illegal_action"] and info["dispatched_job"] == 0
    for illegal in (0, 2):  # job 0 cannot start now; job 2 is padding
        env.reset(seed=0)
        env.step(0)
        _, _, terminated, _, info = env.step(illegal)
        assert info["illegal_action"] and info["dispatched_job"] == 1 and not terminated
        assert env.partial_schedule().tolist() == [[0, -1], [0, -1]]
    with pytest.raises(IllegalActionError, match=r"outside the action space Discrete\(3\)"):
        env.step(3)


def test_invalid_action_penalty_terminates_with_the_documented_reward():
    env = JobShopEnv(TWO_BY_TWO, reward_scale=0.5, invalid_action="penalty")
    env.reset(seed=0)
    before, *_ = env.step(0)
    assert env.illegal_penalty == -(3 + 2 + 1 + 2 + 1) * 0.5
    obs, reward, terminated, truncated, info = env.step(0)
    assert (reward, terminated, truncated) == (-4.5, True, False)
    assert info["illegal_action"] and info["dispatched_job"] == -1 and "makespan" not in info
    for key in obs:
        np.testing.assert_array_equal(obs[key], before[key])  # nothing was dispatched
    with pytest.raises(RuntimeError, match="reset"):
        env.step(1)
    env.reset(seed=0)
    assert env.step(1)[2] is False  # a fresh episode


@pytest.mark.parametrize("reward", ["dense", "sparse"])
def test_penalty_return_is_below_every_complete_episode(reward):
    """All six action orders on TWO_BY_TWO in both modes: some complete, some hit an illegal action."""
    complete, penalised = [], []
    for mode in ("active", "non_delay"):
        env = JobShopEnv(TWO_BY_TWO, mode=mode, reward=reward, invalid_action="penalty")
        for order in ([0, 0, 1, 1], [0, 1, 0, 1], [0, 1, 1, 0], [1, 0, 0, 1], [1, 0, 1, 0], [1, 1, 0, 0]):
            env.reset(seed=0)
            total, terminated, steps = 0.0, False, iter(order)
            while not terminated:
                _, r, terminated, _, info = env.step(next(steps))
                total += r
            (penalised if info["illegal_action"] else complete).append(total)
    assert len(complete) == 6 + 4 and len(penalised) == 2  # non_delay forbids [0, 0, ...] and [1, 1, ...]
    assert max(penalised) <= -9 < min(complete)  # total work 8, penalty -(8 + 1)


@pytest.mark.parametrize("invalid_action", ["raise", "mask", "penalty"])
@pytest.mark.parametrize("action", [1.9, np.float64(1.0), np.array(1.0), "2", True, np.bool_(True), None,
                                    np.array([0, 1]), [1]])
def test_actions_of_the_wrong_type_are_rejected(action, invalid_action):
    env = JobShopEnv(TWO_BY_TWO, invalid_action=invalid_action)
    env.reset(seed=0)
    with pytest.raises(IllegalActionError, match="an action must be an integer job index"):
        env.step(action)
    assert env.state.n_scheduled == 0


@pytest.mark.parametrize("action", [1, np.int64(1), np.int8(1), np.uint32(1), np.array(1), np.array([1])])
def test_integer_actions_are_accepted(action):
    env = JobShopEnv(TWO_BY_TWO)
    env.reset(seed=0)
    _, _, _, _, info = env.step(action)
    assert info["dispatched_job"] == 1 and env.partial_schedule().tolist() == [[-1, -1], [0, -1]]


def test_bad_reset_options_and_arguments_raise_cpgym_errors():
    env = JobShopEnv("ft06")
    with pytest.raises(ArgumentError, match=r"unknown reset option\(s\) 'instanse'; known: instance"):
        env.reset(options={"instanse": "ft06"})
    with pytest.raises(ArgumentError, match="reset options must be a dict"):
        env.reset(options="ft06")
    with pytest.raises(ArgumentError, match="JobShopInstance, a bundled name or a file, got int 3"):
        env.reset(options={"instance": 3})
    with pytest.raises(UnknownInstanceError, match="unknown instance 'nope'"):
        env.reset(options={"instance": "nope"})
    assert env.reset(options={"instance": None})[0]["n_nodes"][0] == 36  # None: the usual draw
    for kwargs, message in (({"invalid_action": "ignore"}, "invalid_action must be one of"),
                            ({"render_mode": "human"}, "render_mode must be one of"),
                            ({"mode": "semi_active"}, "mode must be one of")):
        with pytest.raises(ArgumentError, match=message):
            JobShopEnv("ft06", **kwargs)


def test_ansi_render_by_hand():
    env = JobShopEnv(TWO_BY_TWO, mode="active", render_mode="ansi")
    env.reset(seed=0)
    assert env.render() == (
        "two_by_two 2x2 (active): 0/4 operations, makespan 0, lower bound 5\nM0: -\nM1: -\nlegal jobs: 0 1\n"
    )
    for job in (0, 0, 1):
        env.step(job)
    assert env.render() == (
        "two_by_two 2x2 (active): 3/4 operations, makespan 5, lower bound 5\n"
        "M0: j0:0-3\nM1: j1:0-1 j0:3-5\nlegal jobs: 1\n"
    )
    nd = JobShopEnv(TWO_BY_TWO, render_mode="ansi")
    nd.reset(seed=0)
    nd.step(0)
    nd.step(1)
    assert nd.render().splitlines()[0].endswith("lower bound 5, t=3")
    assert JobShopEnv(TWO_BY_TWO).render() is None  # no render mode


def test_rgb_array_frames_draw_the_partial_schedule():
    import gymnasium as gym

    env = gym.make("cpgym:cpgym/JobShop-v0", instance="ft06", render_mode="rgb_array")
    env.reset(seed=0)
    colours = {0: (31, 119, 180), 1: (255, 127, 14)}  # tab10 colours of jobs 0 and 1

    def pixels(frame: np.ndarray, job: int) -> int:
        return int((np.abs(frame.astype(int) - colours[job]).sum(axis=2) < 8).sum())

    frames = [env.render()]
    for job in (0, 1):
        env.step(job)
        frames.append(env.render())
    assert all(f.dtype == np.uint8 and f.shape == frames[0].shape and f.shape[2] == 3 for f in frames)
    assert pixels(frames[0], 0) == pixels(frames[0], 1) == 0  # an empty schedule draws no bar
    assert [(pixels(f, 0) > 100, pixels(f, 1) > 100) for f in frames] == [(False, False), (True, False), (True, True)]


def test_instance_may_be_a_file_of_any_layout(tmp_path):
    from cpgym.instances import format_taillard

    path = tmp_path / "mine.txt"
    path.write_text(format_taillard([load("ta01")]))
    env = JobShopEnv(instance=path)
    env.reset(seed=0)
    assert env.instance.name == "ta01" and env.instance.upper_bound == 1231  # bundled content, current bounds
    knapsack = tmp_path / "k.txt"
    knapsack.write_text("2 10 1\n5 1 1 3 2\n4 2 1 4 1\n")
    with pytest.raises(ArgumentError, match="robust knapsack.*not a job-shop one"):
        JobShopEnv(instance=str(knapsack))
