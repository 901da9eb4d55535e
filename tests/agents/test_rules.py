"""Tests of the dispatching rules and of schedule feasibility under any masked action sequence."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cpgym.agents.rules import RULES, RulePolicy, dispatch, get_rule
from cpgym.envs.jobshop import JobShopEnv
from cpgym.envs.jobshop_state import JobShopState
from cpgym.instances import JobShopInstance, load, validate_schedule

# job 0: m0 5, m1 1, m2 1 (work 7); job 1: m1 2, m0 8, m2 1 (work 11); job 2: m2 3, m0 1, m1 1 (work 5)
THREE = JobShopInstance("three", [[0, 1, 2], [1, 0, 2], [2, 0, 1]], [[5, 1, 1], [2, 8, 1], [3, 1, 1]])


def release_times(instance: JobShopInstance, starts: np.ndarray) -> np.ndarray:
    """End of each operation's job predecessor (0 for first operations)."""
    ends = starts + instance.durations
    return np.hstack([np.zeros((instance.n_jobs, 1), dtype=np.int64), ends[:, :-1]])


def busy(instance: JobShopInstance, starts: np.ndarray, machine: int, time: int, skip: tuple[int, int]) -> bool:
    """Is ``machine`` processing some positive-duration operation other than ``skip`` at ``time``?"""
    for j, k in zip(*np.nonzero(instance.machines == machine)):
        start, duration = starts[j, k], instance.durations[j, k]
        if (j, k) != skip and duration > 0 and start <= time < start + duration:
            return True
    return False


def assert_active(instance: JobShopInstance, starts: np.ndarray) -> None:
    """Brute force: no operation fits in an idle slot between its release and its start."""
    release = release_times(instance, starts)
    for j in range(instance.n_jobs):
        for k in range(instance.n_machines):
            m, d = instance.machines[j, k], instance.durations[j, k]
            for t in range(release[j, k], starts[j, k]):
                free = d == 0 or not any(busy(instance, starts, m, u, (j, k)) for u in range(t, t + d))
                assert not free, f"job {j} op {k} could start at {t} < {starts[j, k]}"


def assert_non_delay(instance: JobShopInstance, starts: np.ndarray) -> None:
    """Brute force: between an operation's release and its start its machine is never idle."""
    release = release_times(instance, starts)
    for j in range(instance.n_jobs):
        for k in range(instance.n_machines):
            for t in range(release[j, k], starts[j, k]):
                assert busy(instance, starts, instance.machines[j, k], t, (j, k)), (
                    f"machine {instance.machines[j, k]} idle at {t} while job {j} op {k} waits"
                )


@pytest.mark.parametrize("mode", ["active", "non_delay"])
@pytest.mark.parametrize(
    ("rule", "first", "second"),
    [  # second: after job 0's first op is dispatched (job 0 then has 1 next, work 2, ready at 5)
        ("spt", 1, 0), ("lpt", 0, 2), ("mwkr", 1, 1), ("lwkr", 2, 0), ("mopnr", 0, 1),
        ("lopnr", 0, 0), ("fifo", 0, 1), ("fdd_mwkr", 1, 1),
    ],
)
def test_rule_choices_by_hand(mode, rule, first, second):
    state = JobShopState(THREE, mode)
    policy = RulePolicy(rule)
    assert policy(state) == first
    if mode == "active":  # in non_delay mode job 0 is not legal at t=0 after its first op
        state.dispatch(0)
        assert policy(state) == second


def test_ties_go_to_the_lowest_legal_job_index():
    identical = JobShopInstance("identical", [[0, 1]] * 4, [[2, 3]] * 4)
    for name in RULES:
        if name != "random":
            assert dispatch(identical, name, "active").start_times[:, 0].tolist() == [0, 2, 4, 6], name
    state = JobShopState(identical, "non_delay")
    state.dispatch(0)  # jobs 1-3 wait for machine 0 until t=2; job 0's op 1 can start at 2 too
    assert state.now == 2 and state.mask.tolist() == [True, True, True, True]
    assert RulePolicy("fifo")(state) == 1  # ready at 0, earlier than job 0 (ready at 2)
    assert RulePolicy("spt")(state) == 1  # all next ops last 2 or 3: job 0's is 3, ties -> job 1


def test_random_rule_is_seeded_and_legal():
    instance = load("la01")
    runs = [dispatch(instance, "random", seed=seed).start_times.tolist() for seed in (3, 3, 4)]
    assert runs[0] == runs[1] != runs[2]


@pytest.mark.parametrize("mode", ["active", "non_delay"])
def test_rules_as_env_policies_give_the_same_valid_schedules(mode):
    instance = load("ft06")
    for name in RULES:
        schedule = dispatch(instance, name, mode, seed=1)
        assert validate_schedule(instance, schedule.start_times, schedule.makespan).ok
        (assert_active if mode == "active" else assert_non_delay)(instance, schedule.start_times)
        env = JobShopEnv(instance, mode=mode, observation="flat")
        env.reset(seed=0)
        policy, terminated = RulePolicy(name, seed=1), False
        while not terminated:
            _, _, terminated, _, info = env.step(policy(env))
        assert info["schedule"].start_times.tolist() == schedule.start_times.tolist(), name


def test_rules_on_a_taillard_instance_are_feasible_and_above_the_optimum():
    instance = load("ta01")  # optimum 1231
    for mode in ("active", "non_delay"):
        for name in RULES:
            schedule = dispatch(instance, name, mode)
            assert validate_schedule(instance, schedule.start_times).ok
            assert schedule.makespan >= instance.upper_bound == 1231


def test_rule_names():
    assert set(RULES) == {"spt", "lpt", "mwkr", "lwkr", "mopnr", "lopnr", "fifo", "fdd_mwkr", "random"}
    assert get_rule("FDD/MWKR") is RULES["fdd_mwkr"]
    with pytest.raises(KeyError, match="unknown dispatching rule"):
        get_rule("edd")


@st.composite
def instances(draw) -> JobShopInstance:
    n_jobs = draw(st.integers(1, 4))
    n_machines = draw(st.integers(1, 4))
    machines = [draw(st.permutations(range(n_machines))) for _ in range(n_jobs)]
    durations = draw(st.lists(st.lists(st.integers(0, 5), min_size=n_machines, max_size=n_machines),
                              min_size=n_jobs, max_size=n_jobs))
    return JobShopInstance("drawn", machines, durations)


@settings(max_examples=150, deadline=None)
@given(instance=instances(), choices=st.lists(st.integers(0, 100), min_size=16, max_size=16),
       mode=st.sampled_from(["active", "non_delay"]))
def test_any_masked_action_sequence_gives_a_feasible_schedule(instance, choices, mode):
    env = JobShopEnv(instance, mode=mode, observation="graph")
    obs, _ = env.reset(seed=0)
    terminated, step = False, 0
    while not terminated:
        legal = np.flatnonzero(obs["action_mask"])
        assert len(legal) > 0  # never an empty choice before the end
        obs, _, terminated, _, info = env.step(int(legal[choices[step % len(choices)] % len(legal)]))
        step += 1
    assert step == instance.n_operations
    starts = info["schedule"].start_times
    report = validate_schedule(instance, starts, info["makespan"])
    assert report.ok, report.violations
    (assert_active if mode == "active" else assert_non_delay)(instance, starts)
