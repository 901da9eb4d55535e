"""Tests of cpgym/FlexibleJobShop-v0 (FlexibleJobShopEnv and its simulator FlexibleJobShopState)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import cpgym  # noqa: F401  (registers the environments)
from cpgym.envs.fjsp import (
    FLAT_JOB_FEATURES,
    FLAT_PAIR_FEATURES,
    MACHINE_FEATURES,
    OPERATION_FEATURES,
    OPTION_FEATURES,
    FlexibleGenerator,
    FlexibleJobShopEnv,
)
from cpgym.envs.fjsp_state import FJSP_MODES, FlexibleJobShopState
from cpgym.envs.jobshop import JobShopEnv
from cpgym.errors import ArgumentError, IllegalActionError, ResetNeededError
from cpgym.instances import (
    FlexibleJobShopInstance,
    JobShopInstance,
    generate_sd1,
    load,
    load_fjsp,
    validate_flexible_schedule,
    write_fjs,
)

ENV_ID = "cpgym:cpgym/FlexibleJobShop-v0"
MODES = ("active", "non_delay")  # the job shop's; FJSP_MODES adds earliest_end
# Job 0: op 0 on m0 (3) or m1 (5), op 1 on m1 (2). Job 1: op 0 on m0 (2), op 1 on m0 (4) or m1 (1).
TINY = FlexibleJobShopInstance("tiny", ((((0, 3), (1, 5)), ((1, 2),)), (((0, 2),), ((0, 4), (1, 1)))), 2)
# job-shop instances for the step-for-step comparison; "zeros" has zero durations (they occupy no time)
ZEROS = JobShopInstance("zeros", [[0, 1, 2], [1, 2, 0], [2, 0, 1]], [[0, 3, 0], [2, 0, 1], [0, 0, 4]])
HARMLESS = re.compile(r"Box observation space (maximum|minimum) value is -?infinity|has an unconventional shape")


def ends_on(instance: FlexibleJobShopInstance, machines, starts, machine: int) -> list[tuple[int, int]]:
    """The [start, end) intervals of the scheduled operations on ``machine``."""
    return [(s, s + instance.durations[j][k][m]) for j, (row_m, row_s) in enumerate(zip(machines, starts))
            for k, (m, s) in enumerate(zip(row_m, row_s)) if s >= 0 and m == machine]


def brute_force(instance: FlexibleJobShopInstance, machines, starts, mode: str) -> tuple[set, dict]:
    """By the definitions, from the partial schedule alone: the legal pairs and each candidate pair's start."""
    append, start = {}, {}
    for j, job in enumerate(instance.durations):
        k = sum(s >= 0 for s in starts[j])
        if k == len(job):
            continue
        ready = starts[j][k - 1] + job[k - 1][machines[j][k - 1]] if k else 0
        for m, d in job[k].items():
            busy = ends_on(instance, machines, starts, m)
            append[j, m] = max([ready] + [e for _, e in busy])
            fits = [t for t in [ready] + [e for _, e in busy if e >= ready]
                    if d == 0 or all(t + d <= s or t >= e for s, e in busy if e > s)]
            start[j, m] = min(fits) if mode == "active" else append[j, m]
    if mode == "active":
        return set(append), start
    now = min(append.values())
    legal = {pair for pair, t in append.items() if t == now}
    if mode == "earliest_end":
        end = {(j, m): t + instance.durations[j][sum(s >= 0 for s in starts[j])][m] for (j, m), t in append.items()}
        best_now: dict[int, int] = {}  # per job with a pair at now, its earliest end among them
        for j, m in legal:
            best_now[j] = min(best_now.get(j, end[j, m]), end[j, m])
        legal |= {(j, m) for j, m in append if j in best_now and end[j, m] < best_now[j]}
    return legal, start


def random_episode(env: FlexibleJobShopEnv, seed: int, **reset_kwargs):
    """One episode of uniformly random legal actions; returns (return, last info, steps)."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed, **reset_kwargs)
    total, steps, terminated = 0.0, 0, False
    while not terminated:
        obs, reward, terminated, truncated, info = env.step(int(rng.choice(np.flatnonzero(obs["action_mask"]))))
        assert not truncated
        total, steps = total + reward, steps + 1
    return total, info, steps


def test_gym_make_in_fresh_interpreter():
    code = textwrap.dedent(
        """
        import gymnasium as gym
        env = gym.make("cpgym:cpgym/FlexibleJobShop-v0", instance="mk01")
        obs, info = env.reset(seed=0)
        print(type(env.unwrapped).__name__, env.unwrapped.mode, obs["operation_features"].shape,
              env.action_space.n, env.unwrapped.action_masks().sum())
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    mk01 = load_fjsp("mk01")
    first_options = sum(len(job[0]) for job in mk01.jobs)  # t = 0: every first operation on every option
    assert out.stdout.split() == ["FlexibleJobShopEnv", "non_delay", "(55,", f"{len(OPERATION_FEATURES)})", "60",
                                  str(first_options)]


@pytest.mark.parametrize("observation", ["graph", "flat"])
@pytest.mark.parametrize("mode", FJSP_MODES)
def test_env_checkers_pass(mode, observation):
    """The checkers sample unmasked actions, hence invalid_action="mask"; Gymnasium's renders every mode."""
    env = gym.make(ENV_ID, instance="mk01", mode=mode, observation=observation, invalid_action="mask",
                   render_mode="rgb_array")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
        sb3_check_env(env, warn=True, skip_render_check=False)
    assert not [str(w.message) for w in caught if not HARMLESS.search(str(w.message))]
    assert any("unconventional shape" in str(w.message) for w in caught)  # the checkers did run with warn on


@pytest.mark.parametrize("invalid_action", ["raise", "mask", "penalty"])
@pytest.mark.parametrize("reward", ["dense", "sparse"])
@pytest.mark.parametrize("mode", FJSP_MODES)
@pytest.mark.parametrize("name", ["ft06", "la01", "zeros"])
def test_one_machine_instances_reproduce_jobshop_env_step_for_step(name, mode, reward, invalid_action):
    """Job j -> (j, the machine of its next operation): same rewards, projected masks, terminations, schedule.
    Under "raise" the actions are legal; under "mask" and "penalty" they are unmasked random jobs.
    earliest_end is non_delay when no operation has a second machine to wait for."""
    instance = ZEROS if name == "zeros" else load(name)
    kwargs = {"reward": reward, "invalid_action": invalid_action, "reward_scale": 0.5}
    jobshop = JobShopEnv(instance, mode="non_delay" if mode == "earliest_end" else mode, **kwargs)
    flexible = FlexibleJobShopEnv(FlexibleJobShopInstance.from_jobshop(instance), mode=mode, **kwargs)
    for seed in range(4):
        rng = np.random.default_rng(seed)
        (obs_j, info_j), (obs_f, info_f) = jobshop.reset(seed=seed), flexible.reset(seed=seed)
        assert info_j["makespan_lb"] == info_f["makespan_lb"]
        assert flexible.illegal_penalty == jobshop.illegal_penalty
        terminated = False
        while not terminated:
            projected = obs_f["action_mask"].reshape(flexible.max_jobs, flexible.max_machines).any(axis=1)
            np.testing.assert_array_equal(projected, obs_j["action_mask"].astype(bool))
            legal = np.flatnonzero(obs_j["action_mask"])
            job = int(rng.choice(legal)) if invalid_action == "raise" else int(rng.integers(instance.n_jobs))
            machine = int(instance.machines[job, min(jobshop.state.next_op[job], instance.n_machines - 1)])
            obs_j, reward_j, terminated, truncated_j, info_j = jobshop.step(job)
            obs_f, reward_f, terminated_f, truncated_f, info_f = flexible.step(flexible.action_of(job, machine))
            assert (reward_f, terminated_f, truncated_f) == (reward_j, terminated, truncated_j)
            for key in ("makespan_lb", "illegal_action", "dispatched_job"):
                assert info_f[key] == info_j[key], key
        if "schedule" in info_j:
            assert info_f["makespan"] == info_j["makespan"]
            assert [list(row) for row in info_f["schedule"].start_times] == info_j["schedule"].start_times.tolist()
            assert [list(row) for row in info_f["schedule"].machines] == instance.machines.tolist()


@pytest.mark.parametrize("mode", FJSP_MODES)
@pytest.mark.parametrize("instance", [TINY, load_fjsp("kacem1"), load_fjsp("fattahi3"),
                                      generate_sd1(4, 3, seed=5), generate_sd1(3, 4, seed=8)], ids=lambda i: i.name)
def test_masks_and_starts_match_brute_force(instance, mode):
    for seed in range(5):
        rng = np.random.default_rng(seed)
        env = FlexibleJobShopEnv(instance, mode=mode)
        obs, _ = env.reset(seed=seed)
        terminated = False
        while not terminated:
            machines, starts = env.partial_schedule()
            legal, start = brute_force(instance, machines, starts, mode)
            assert {env.pair_of(a) for a in np.flatnonzero(obs["action_mask"])} == legal
            assert {env.pair_of(a) for a in np.flatnonzero(env.action_masks())} == legal
            job, machine = sorted(legal)[int(rng.integers(len(legal)))]
            obs, _, terminated, _, info = env.step(env.action_of(job, machine))
            assert env.partial_schedule()[1][job][env.state.next_op[job] - 1] == start[job, machine]
        report = validate_flexible_schedule(instance, info["schedule"].machines, info["schedule"].start_times,
                                            info["makespan"])
        assert report.ok, report.violations


def test_non_delay_mode_by_hand():
    env = FlexibleJobShopEnv(TINY)
    obs, info = env.reset(seed=0)
    assert env.state.legal_pairs() == [(0, 0), (0, 1), (1, 0)] and info["makespan_lb"] == 5
    expected = [((0, 0), [(0, 1), (1, 0)], 3, 0.0),  # job 0 op 0 on m0 [0, 3); both candidates can start at 3
                ((1, 0), [(0, 1)], 3, -1.0),  # job 1 op 0 on m0 [3, 5): its op 1 ends at 6 at best
                ((0, 1), [(1, 0), (1, 1)], 5, 0.0),  # job 0 op 1 on m1 [3, 5)
                ((1, 1), [], 5, 0.0)]  # job 1 op 1 on m1 [5, 6)
    for (job, machine), legal, now, reward in expected:
        obs, r, terminated, _, info = env.step(env.action_of(job, machine))
        assert (env.state.legal_pairs(), env.state.now, r) == (legal, now, reward)
    assert terminated and info["makespan"] == 6
    assert info["schedule"].machines == ((0, 1), (0, 1)) and info["schedule"].start_times == ((0, 3), (3, 5))
    with pytest.raises(ResetNeededError, match="reset"):
        env.step(0)


def test_earliest_end_mode_waits_for_a_faster_machine_by_hand():
    # job 0: one operation, m0 (2); job 1: one operation, m0 (1) or m1 (5)
    instance = FlexibleJobShopInstance("wait", ((((0, 2),),), (((0, 1), (1, 5)),)), 2)
    env = FlexibleJobShopEnv(instance, mode="earliest_end", render_mode="ansi")
    env.reset(seed=0)
    assert env.state.legal_pairs() == [(0, 0), (1, 0), (1, 1)]  # all start at 0, as in non_delay
    env.step(env.action_of(0, 0))  # m0 [0, 2)
    # non_delay would leave job 1 only m1, free now: [0, 5); on m0 it waits and ends at 3
    assert env.state.legal_pairs() == [(1, 0), (1, 1)] and env.state.now == 0
    assert env.state.starts_of(1).tolist() == [2, 0]
    assert env.render().splitlines()[0] == "wait 2x2 (earliest_end): 1/2 operations, makespan 2, lower bound 2, t=0"
    _, _, terminated, _, info = env.step(env.action_of(1, 0))
    assert terminated and info["makespan"] == 3 and info["schedule"].start_times == ((0,), (2,))
    non_delay = FlexibleJobShopEnv(instance, mode="non_delay")
    non_delay.reset(seed=0)
    non_delay.step(non_delay.action_of(0, 0))
    assert non_delay.state.legal_pairs() == [(1, 1)]
    # waiting is legal only where it ends earlier: m1 free now ends job 1 at 5, so m0 free at 4 would not
    late = FlexibleJobShopInstance("late", ((((0, 4),),), (((0, 1), (1, 5)),)), 2)
    state = FlexibleJobShopState(late, mode="earliest_end")
    state.dispatch(0, 0)
    assert state.legal_pairs() == [(1, 1)]
    with pytest.raises(IllegalActionError, match=r"cannot start now \(t=0\) nor end earlier than on a machine "
                                                 r"free now in earliest_end mode \(earliest start 4\)"):
        state.dispatch(1, 0)


def test_active_mode_left_shifts_into_a_gap_and_renders_by_hand():
    env = FlexibleJobShopEnv(TINY, mode="active", render_mode="ansi")
    env.reset(seed=0)
    assert env.render() == "tiny 2x2 (active): 0/4 operations, makespan 0, lower bound 5\nM0: -\nM1: -\n" \
                           "legal (job:machine): 0:0 0:1 1:0\n"
    for job, machine in ((1, 0), (0, 0), (0, 1)):  # m0: j1 [0, 2), j0 [2, 5); m1: j0 [5, 7)
        env.step(env.action_of(job, machine))
    assert env.state.legal_pairs() == [(1, 0), (1, 1)]
    assert env.state.starts_of(1).tolist() == [5, 2]  # on m1, job 1's op 1 fits the idle gap [2, 5)
    _, _, terminated, _, info = env.step(env.action_of(1, 1))
    assert terminated and info["schedule"].start_times == ((2, 5), (0, 2))
    assert env.render() == ("tiny 2x2 (active): 4/4 operations, makespan 7, lower bound 7\n"
                            "M0: j1:0-2 j0:2-5\nM1: j1:2-3 j0:5-7\nlegal (job:machine): -\n")
    nd = FlexibleJobShopEnv(TINY, render_mode="ansi")
    nd.reset(seed=0)
    nd.step(nd.action_of(0, 0))
    assert nd.render().splitlines()[0].endswith("lower bound 5, t=3")


@pytest.mark.parametrize("mode", FJSP_MODES)
def test_returns_and_schedules_of_random_episodes(mode):
    instance = load_fjsp("mk01")
    initial_lb = FlexibleJobShopState(instance).makespan_lb
    for seed in range(3):
        ret_dense, info_dense, steps = random_episode(FlexibleJobShopEnv(instance, mode=mode), seed)
        ret_sparse, info_sparse, _ = random_episode(FlexibleJobShopEnv(instance, mode=mode, reward="sparse"), seed)
        assert steps == instance.n_operations == 55
        assert info_dense["makespan"] == info_sparse["makespan"] >= instance.lower_bound  # same seed, same episode
        assert ret_dense == -(info_dense["makespan"] - initial_lb) and ret_sparse == -info_sparse["makespan"]
        schedule = info_dense["schedule"]
        assert validate_flexible_schedule(instance, schedule.machines, schedule.start_times, schedule.makespan).ok


@pytest.mark.parametrize("mode", FJSP_MODES)
def test_graph_observation_matches_the_partial_schedule(mode):
    instance = load_fjsp("kacem2")
    env = FlexibleJobShopEnv(instance, mode=mode, max_jobs=12, max_machines=8, max_operations=40)
    obs, _ = env.reset(seed=1)
    rng = np.random.default_rng(1)
    ops = [(j, k) for j, job in enumerate(instance.jobs) for k in range(len(job))]
    options = {(n, m) for n, (j, k) in enumerate(ops) for m in instance.durations[j][k]}
    time_scale = env._s.time_scale
    for _ in range(instance.n_operations):
        machines, starts = env.partial_schedule()
        scheduled = np.array([starts[j][k] >= 0 for j, k in ops])
        nodes = obs["operation_features"]
        n_ops = obs["n_operations"][0]
        assert n_ops == len(ops) and not nodes[n_ops:].any()
        np.testing.assert_array_equal(nodes[:n_ops, 0], scheduled)
        lb, ends = [], {}  # completion bound: the real end when scheduled, else predecessor's bound + min duration
        for j, k in ops:
            options_jk = instance.durations[j][k]
            base = (starts[j][k] + options_jk[machines[j][k]]) if starts[j][k] >= 0 else \
                (ends[j, k - 1] if k else 0) + min(options_jk.values())
            ends[j, k] = base
            lb.append(base)
        np.testing.assert_allclose(nodes[:n_ops, 3], np.array(lb) / time_scale, rtol=1e-6)
        next_ops = [sum(s >= 0 for s in row) for row in starts]
        candidates = [sum(len(job) for job in instance.jobs[:j]) + min(k, len(instance.jobs[j]) - 1)
                      for j, k in enumerate(next_ops)]
        assert obs["candidate"][:instance.n_jobs].tolist() == candidates
        np.testing.assert_array_equal(np.flatnonzero(nodes[:n_ops, 6]),
                                      [c for c, k, job in zip(candidates, next_ops, instance.jobs) if k < len(job)])
        n_edges = obs["n_option_edges"][0]
        edges = obs["option_edges"][:, :n_edges].T.tolist()
        assert len(edges) == len(options) and set(map(tuple, edges)) == options
        features = obs["option_features"][:n_edges]
        chosen = {(n, machines[j][k]) for n, (j, k) in enumerate(ops) if starts[j][k] >= 0}
        assert {tuple(e) for e, f in zip(edges, features) if f[1]} == chosen
        legal = {env.pair_of(a) for a in np.flatnonzero(obs["action_mask"])}
        assert {(ops[n][0], m) for (n, m), f in zip(map(tuple, edges), features) if f[2]} == legal
        precedence = obs["precedence_edges"][:, :obs["n_precedence_edges"][0]].T.tolist()
        assert precedence == [[n, n + 1] for n in range(len(ops) - 1) if ops[n][0] == ops[n + 1][0]]
        legal_per_machine = np.bincount([m for _, m in legal], minlength=instance.n_machines) / instance.n_jobs
        np.testing.assert_allclose(obs["machine_features"][:instance.n_machines, 3], legal_per_machine, rtol=1e-6)
        if legal:
            obs, *_ = env.step(env.action_of(*sorted(legal)[int(rng.integers(len(legal)))]))


def test_flat_observation_by_hand():
    env = FlexibleJobShopEnv(TINY, observation="flat")
    obs, _ = env.reset(seed=0)
    assert obs["job_features"].shape == (2, len(FLAT_JOB_FEATURES))
    assert obs["pair_features"].shape == (4, len(FLAT_PAIR_FEATURES))
    assert obs["machine_features"].shape == (2, len(MACHINE_FEATURES))
    # time scale: max(longest job at min durations 3 + 2, ceil(total min work 8 / 2 machines)) = 5; d_max = 5
    np.testing.assert_allclose(obs["job_features"], [[3 / 5, 4 / 5, 0, 6 / 5, 1, 1],
                                                     [2 / 5, 2 / 5, 0, 4.5 / 5, 1, 0.5]])
    np.testing.assert_allclose(obs["pair_features"], [[1, 3 / 5, 0], [1, 1, 0], [1, 2 / 5, 0], [0, 0, 0]])
    obs, *_ = env.step(env.action_of(0, 0))  # now = 3: job 0's op 1 (m1, 2) ready at 3; job 1's op 0 on m0 at 3
    np.testing.assert_allclose(obs["job_features"], [[2 / 5, 2 / 5, 0, 2 / 5, 0.5, 0.5],
                                                     [2 / 5, 2 / 5, -3 / 5, 4.5 / 5, 1, 0.5]])
    np.testing.assert_allclose(obs["pair_features"], [[0, 0, 0], [1, 2 / 5, 0], [1, 2 / 5, 0], [0, 0, 0]])
    np.testing.assert_allclose(obs["machine_features"], [[0, 3 / 5, 0.5, 0.5], [-3 / 5, 0, 0.5, 0.5]])
    assert len(OPTION_FEATURES) == FlexibleJobShopEnv(TINY).reset()[0]["option_features"].shape[1]


def test_cp_completion_respects_the_prefix():
    instance = load_fjsp("mk01")
    env = FlexibleJobShopEnv(instance, mode="active")
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(20):
        obs, *_ = env.step(int(rng.choice(np.flatnonzero(obs["action_mask"]))))
    machines, starts = env.partial_schedule()
    assert sum(s >= 0 for row in starts for s in row) == 20
    result = env.complete_with_cpsat(time_limit=10, workers=1)
    assert result.status in ("optimal", "feasible") and result.makespan >= instance.lower_bound == 40
    for j, (row_m, row_s) in enumerate(zip(machines, starts)):
        for k, (m, s) in enumerate(zip(row_m, row_s)):
            if s >= 0:
                assert (result.schedule.machines[j][k], result.schedule.start_times[j][k]) == (m, s)
    assert validate_flexible_schedule(instance, result.schedule.machines, result.schedule.start_times).ok
    assert result.makespan >= env.makespan  # the prefix stays


def test_illegal_actions():
    env = FlexibleJobShopEnv(TINY, max_jobs=3, max_machines=3, max_operations=5)
    env.reset(seed=0)
    with pytest.raises(IllegalActionError, match="job 2 does not exist"):
        env.step(env.action_of(2, 0))
    with pytest.raises(IllegalActionError, match="machine 2 does not exist"):
        env.step(env.action_of(0, 2))
    with pytest.raises(IllegalActionError, match=r"cannot run on machine 1 \(eligible: \[0\]\)"):
        env.step(env.action_of(1, 1))
    with pytest.raises(IllegalActionError, match=r"outside the action space Discrete\(9\)"):
        env.step(9)
    for action in (1.0, "1", True, None, [1]):
        with pytest.raises(IllegalActionError, match=r"an integer \(job, machine\) pair index"):
            env.step(action)
    env.step(env.action_of(0, 0))
    env.step(env.action_of(1, 0))  # t = 3; job 1's op 1 waits for t = 5
    with pytest.raises(IllegalActionError, match=r"job 1 on machine 1 cannot start now \(t=3\) .* legal pairs: 0:1"):
        env.step(env.action_of(1, 1))
    assert env.state.n_scheduled == 2
    env.step(env.action_of(0, 1))
    with pytest.raises(IllegalActionError, match="job 0 has no operation left"):
        env.step(env.action_of(0, 1))


def test_invalid_action_mask_and_penalty():
    masked = FlexibleJobShopEnv(TINY, invalid_action="mask", max_jobs=3)
    masked.reset(seed=0)
    _, _, _, _, info = masked.step(masked.action_of(1, 1))  # job 1's op 0 cannot run on m1: lowest legal pair (0, 0)
    assert info["illegal_action"] and (info["dispatched_job"], info["dispatched_machine"]) == (0, 0)
    _, _, _, _, info = masked.step(masked.action_of(2, 0))  # a padding job: lowest legal pair (0, 1) at t=3
    assert (info["dispatched_job"], info["dispatched_machine"]) == (0, 1)
    penalised = FlexibleJobShopEnv(TINY, invalid_action="penalty", reward_scale=0.5)
    before, _ = penalised.reset(seed=0)
    assert penalised.illegal_penalty == -(5 + 2 + 2 + 4 + 1) * 0.5  # horizon: the longest option of every op, + 1
    obs, reward, terminated, truncated, info = penalised.step(penalised.action_of(1, 1))
    assert (reward, terminated, truncated, info["dispatched_job"]) == (-7.0, True, False, -1)
    assert "makespan" not in info and all(np.array_equal(obs[key], before[key]) for key in obs)


def test_padding_reset_options_files_and_job_shop_instances(tmp_path):
    path = tmp_path / "mine.fjs"
    write_fjs(load_fjsp("kacem1"), path)
    env = FlexibleJobShopEnv(["mk01", path, "ft06"])
    assert [i.name for i in env.instances] == ["mk01", "mine", "ft06"]
    assert (env.max_jobs, env.max_machines, env.max_operations) == (10, 6, 55)
    obs, _ = env.reset(options={"instance": "kacem1"})  # 4 jobs, 5 machines, 12 operations
    assert env.instance.name == "kacem1" and obs["n_operations"][0] == 12 and obs["n_machines"][0] == 5
    assert obs["action_mask"].shape == (60,) and not obs["operation_features"][12:].any()
    legal = {env.pair_of(a) for a in np.flatnonzero(obs["action_mask"])}
    assert {j for j, _ in legal} == {0, 1, 2, 3} and {m for _, m in legal} == {0, 1, 2, 3, 4}
    obs, _ = env.reset(options={"instance": load("ft06")})  # job shop: one eligible machine per operation
    assert obs["n_option_edges"][0] == 36 and env.instance.metadata["converted_from"] == "jssp"
    with pytest.raises(ArgumentError, match="exceeds the padding"):
        env.reset(options={"instance": "mk02"})
    with pytest.raises(ArgumentError, match="unknown reset option"):
        env.reset(options={"instanse": "mk01"})
    with pytest.raises(ArgumentError, match="not a flexible job-shop one"):
        FlexibleJobShopEnv("RKP_UN_n20_R1000_H100_h40_dev0.1_d0.5")
    with pytest.raises(ArgumentError, match="a FlexibleJobShopInstance, a JobShopInstance, a bundled name or a file"):
        FlexibleJobShopEnv(3)
    for kwargs, message in (({"mode": "semi_active"}, "mode must be one of"),
                            ({"invalid_action": "ignore"}, "invalid_action must be one of"),
                            ({"render_mode": "human"}, "render_mode must be one of")):
        with pytest.raises(ArgumentError, match=message):
            FlexibleJobShopEnv(TINY, **kwargs)


def test_generator_default_padding_and_seeding():
    env = FlexibleJobShopEnv()  # SD1 10x5: at most 10 jobs x floor(1.2 * 5) = 6 operations
    assert (env.max_jobs, env.max_machines, env.max_operations) == (10, 5, 60)
    names = [random_episode(env, seed)[1]["schedule"].start_times for seed in (0, 0, 3)]
    assert names[0] == names[1] != names[2]
    sd2 = FlexibleJobShopEnv(generator=FlexibleGenerator("sd2", 4, 3))
    assert sd2.max_operations == 12 and sd2.reset(seed=0)[0]["n_operations"][0] == 12
    brandimarte = FlexibleJobShopEnv(generator=FlexibleGenerator("brandimarte", 4, 3))  # up to 15 ops per job
    assert brandimarte.max_operations == 60
    for seed in range(5):
        assert random_episode(brandimarte, seed)[1]["schedule"].makespan > 0
    with pytest.raises(ArgumentError, match="unknown flexible job-shop generator .* known: sd1, sd2, hurink-edata"):
        FlexibleGenerator("sd3")


def test_rgb_array_frames_draw_the_assigned_machines():
    env = gym.make(ENV_ID, instance=TINY, render_mode="rgb_array")
    env.reset(seed=0)
    blue = (31, 119, 180)  # tab10 colour of job 0

    def rows_of_job_0(frame: np.ndarray) -> set[int]:
        hit = np.abs(frame.astype(int) - blue).sum(axis=2) < 8
        return set(np.flatnonzero(hit.any(axis=1)))

    empty = env.render()
    assert not rows_of_job_0(empty)
    env.step(env.unwrapped.action_of(0, 1))  # job 0's op 0 on m1 (the lower row)
    on_m1 = env.render()
    other = gym.make(ENV_ID, instance=TINY, render_mode="rgb_array")
    other.reset(seed=0)
    other.step(other.unwrapped.action_of(0, 0))  # on m0 (the upper row)
    on_m0 = other.render()
    assert on_m1.shape == on_m0.shape == empty.shape and on_m1.dtype == np.uint8
    assert min(rows_of_job_0(on_m0)) < min(rows_of_job_0(on_m1))
