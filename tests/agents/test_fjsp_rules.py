"""Flexible job-shop dispatching rules: valid and deterministic on Brandimarte's mk01-mk10, the job-shop
rules on one-machine instances, choices by hand, the env policy, names."""

from __future__ import annotations

import numpy as np
import pytest

from cpgym.agents.fjsp_rules import (
    MACHINE_RULES,
    OPERATION_RULES,
    FlexibleRulePolicy,
    dispatch_fjsp,
    fjsp_rule_names,
    get_fjsp_rule,
)
from cpgym.agents.rules import RULES, dispatch
from cpgym.envs.fjsp import FlexibleJobShopEnv
from cpgym.envs.fjsp_state import FJSP_MODES, FlexibleJobShopState
from cpgym.errors import TimeLimitReached, UnknownMethodError
from cpgym.instances import FlexibleJobShopInstance, load, load_fjsp, validate_flexible_schedule

BRANDIMARTE = [f"mk{i:02d}" for i in range(1, 11)]
# Job 0: op 0 on m0 (3) or m1 (5), op 1 on m1 (2). Job 1: op 0 on m0 (2), op 1 on m0 (4) or m1 (1).
TINY = FlexibleJobShopInstance("tiny", ((((0, 3), (1, 5)), ((1, 2),)), (((0, 2),), ((0, 4), (1, 1)))), 2)


@pytest.mark.parametrize("mode", FJSP_MODES)
@pytest.mark.parametrize("name", BRANDIMARTE)
def test_every_rule_gives_valid_deterministic_schedules_on_brandimarte(name, mode):
    instance = load_fjsp(name)
    for rule in fjsp_rule_names():
        schedule = dispatch_fjsp(instance, rule, mode)
        report = validate_flexible_schedule(instance, schedule.machines, schedule.start_times)
        assert report.ok, (rule, report.violations)
        assert report.makespan >= instance.lower_bound
        again = dispatch_fjsp(instance, rule, mode)
        assert (again.machines, again.start_times) == (schedule.machines, schedule.start_times), rule


@pytest.mark.parametrize("mode", FJSP_MODES)
@pytest.mark.parametrize("name", ["ft06", "la01", "orb01"])
def test_on_one_machine_instances_rule_eet_is_the_job_shop_rule(name, mode):
    instance = load(name)
    converted = FlexibleJobShopInstance.from_jobshop(instance)
    jobshop_mode = "non_delay" if mode == "earliest_end" else mode  # nothing to wait for with one machine
    for rule in RULES:  # random included: the same seed draws the same keys
        expected = dispatch(instance, rule, jobshop_mode, seed=3).start_times.tolist()
        for machine_rule in MACHINE_RULES:  # one machine per operation: the machine rule has no choice
            schedule = dispatch_fjsp(converted, f"{rule}-{machine_rule}", mode, seed=3)
            assert [list(row) for row in schedule.start_times] == expected, (rule, machine_rule)


def test_operation_and_machine_choices_by_hand():
    # active mode, at the start: job 0's op 0 could go on m0 (ends 3) or m1 (ends 5); job 1's only on m0
    state = FlexibleJobShopState(TINY, "active")
    rng = np.random.default_rng(0)
    assert get_fjsp_rule("mwkr-eet").select(state, rng) == (0, 0)  # job 0: 4 + 2 mean work left, job 1: 2 + 2.5
    assert get_fjsp_rule("lwkr-eet").select(state, rng) == (1, 0)
    assert get_fjsp_rule("spt-spt").select(state, rng) == (1, 0)  # shortest legal duration: job 1's 2 on m0
    assert get_fjsp_rule("lpt-eet").select(state, rng) == (0, 0)  # job 0's shortest legal duration 3 > 2
    state.dispatch(1, 0)  # m0 busy [0, 2)
    # job 0 on m0 would run [2, 5), on m1 [0, 5): tied end, lowest machine; spt prefers m0's 3
    assert get_fjsp_rule("mwkr-eet").select(state, rng) == (0, 0)
    state.dispatch(1, 1)  # job 1's op 1 on m1 [2, 3)
    # job 0's op 0: m0 free from 2 -> ends 5; m1 has the gap [0, 2), too short for 5, then free from 3 -> ends 8
    assert state.starts_of(0).tolist() == [2, 3]
    assert get_fjsp_rule("fifo-eet").select(state, rng) == (0, 0)
    assert get_fjsp_rule("fifo-spt").select(state, rng) == (0, 0)
    assert get_fjsp_rule("mopnr-eet").select(state, rng) == (0, 0)  # the only job left


def test_eet_and_spt_differ_where_the_fastest_machine_is_busy():
    # job 0: one op on m0 (4); job 1: one op on m0 (1) or m1 (3); active mode, after job 0 on m0 [0, 4)
    instance = FlexibleJobShopInstance("busy", ((((0, 4),),), (((0, 1), (1, 3)),)), 2)
    state = FlexibleJobShopState(instance, "active")
    state.dispatch(0, 0)
    rng = np.random.default_rng(0)
    assert get_fjsp_rule("mwkr-eet").select(state, rng) == (1, 1)  # ends 3 on m1, 5 on m0
    assert get_fjsp_rule("mwkr-spt").select(state, rng) == (1, 0)  # 1 on m0
    # job 0: one op on m0 (2); after it, job 1's op ends at 3 on m0 (busy until 2), at 5 on m1 (free now)
    instance = FlexibleJobShopInstance("wait", ((((0, 2),),), (((0, 1), (1, 5)),)), 2)
    for mode, pair in (("non_delay", (1, 1)), ("earliest_end", (1, 0))):
        state = FlexibleJobShopState(instance, mode)
        state.dispatch(0, 0)
        assert get_fjsp_rule("mwkr-eet").select(state, rng) == pair, mode


@pytest.mark.parametrize("mode", FJSP_MODES)
def test_the_env_policy_reproduces_dispatch(mode):
    for rule in ("mwkr-eet", "spt-spt", "random-eet"):
        env = FlexibleJobShopEnv("mk03", mode=mode, max_jobs=20, max_machines=9)
        policy, terminated = FlexibleRulePolicy(rule, seed=2), False
        env.reset(seed=0)
        while not terminated:
            _, _, terminated, _, info = env.step(policy(env))
        expected = dispatch_fjsp(env.instance, rule, mode, seed=2)
        assert (info["schedule"].machines, info["schedule"].start_times) == (expected.machines, expected.start_times)


def test_rule_names_and_time_limit():
    assert set(OPERATION_RULES) == set(RULES)  # the job shop's operation rules, same names
    assert len(fjsp_rule_names()) == len(OPERATION_RULES) * len(MACHINE_RULES) and "mopnr-eet" in fjsp_rule_names()
    assert get_fjsp_rule("mwkr") == get_fjsp_rule("MWKR-EET") and get_fjsp_rule("mwkr").name == "mwkr-eet"
    assert get_fjsp_rule("FDD/MWKR-spt").name == "fdd_mwkr-spt"
    assert get_fjsp_rule("spt-spt").description == "shortest processing time, then shortest processing time"
    for name in ("edd-eet", "mwkr-lpt", "mwkr-"):
        with pytest.raises(UnknownMethodError, match="OPRULE-MACHRULE"):
            get_fjsp_rule(name)
    with pytest.raises(TimeLimitReached, match="did not finish mk10"):
        dispatch_fjsp(load_fjsp("mk10"), "mwkr-eet", time_limit=1e-9)
