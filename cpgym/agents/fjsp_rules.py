"""Flexible job-shop dispatching rules: an operation rule combined with a machine rule.

A rule ``OPRULE-MACHRULE`` (``mwkr-eet``, ``spt-spt``, ...) first picks the job whose next operation
has the smallest operation key among the jobs with a legal (job, machine) pair, then the machine
with the smallest machine key among that job's legal machines; ties go to the lowest job, then the
lowest machine, so every rule but ``random`` is deterministic. A plain operation rule name
(``mwkr``) means ``mwkr-eet``. The operation rules are the job shop's (:mod:`cpgym.agents.rules`,
same names and meaning; ``k`` = the job's next operation, durations of an operation with several
eligible machines averaged over them):

========  ==============================================================================
spt       shortest processing time: the shortest duration of ``k`` on its legal machines
lpt       longest processing time: minus that shortest duration
mwkr      most work remaining: minus the job's unscheduled (mean) work
lwkr      least work remaining: the job's unscheduled (mean) work
mopnr     most operations remaining: minus the job's unscheduled operations
lopnr     least operations remaining: the job's unscheduled operations
fifo      first in, first out: the time ``k`` became ready (end of the job's previous op)
fdd_mwkr  (sum of the job's mean durations up to and including ``k``) / (its unscheduled work)
random    uniform among the jobs with a legal pair (a seeded generator)
========  ==============================================================================

Machine rules: ``eet`` (earliest end time: where ``k`` would start on the machine, left shift
included in active mode, plus its duration there) and ``spt`` (shortest processing time on the
machine). In non_delay mode every legal pair starts at the clock, so there ``eet`` and ``spt``
choose the same machine; in earliest_end mode ``eet`` takes a busy machine when the operation ends
there earliest. On a job-shop instance (one eligible machine per operation) ``R-eet``
builds the schedule of the job-shop rule ``R``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cpgym.agents.rules import RULES
from cpgym.envs.fjsp import FlexibleJobShopEnv
from cpgym.envs.fjsp_state import FlexibleJobShopState, FlexibleMode
from cpgym.errors import IllegalActionError, TimeLimitReached, UnknownMethodError, check_seconds
from cpgym.instances.fjsp import FlexibleJobShopInstance
from cpgym.instances.fjsp_schedule import FlexibleSchedule

OperationKey = Callable[[FlexibleJobShopState, np.random.Generator], np.ndarray]  # (n_jobs,) keys
MachineKey = Callable[[FlexibleJobShopState, int], np.ndarray]  # (n_machines,) keys of one job's next operation
DEFAULT_MACHINE_RULE = "eet"


def _shortest_legal(state: FlexibleJobShopState) -> np.ndarray:
    return np.where(state.mask, state.candidate_durations(), np.inf).min(axis=1)


def _flow_due_over_work(state: FlexibleJobShopState, rng: np.random.Generator) -> np.ndarray:
    # a job whose remaining ops all last 0 has ratio +inf (or 0 when its due date is 0 too)
    return state.mean_flow_due[state.next_node] / np.maximum(state.remaining_work, 1e-12)


OPERATION_RULES: dict[str, OperationKey] = {
    "spt": lambda s, rng: _shortest_legal(s),
    "lpt": lambda s, rng: -_shortest_legal(s),
    "mwkr": lambda s, rng: -s.remaining_work,
    "lwkr": lambda s, rng: s.remaining_work,
    "mopnr": lambda s, rng: -s.ops_left,
    "lopnr": lambda s, rng: s.ops_left,
    "fifo": lambda s, rng: s.job_ready,
    "fdd_mwkr": _flow_due_over_work,
    "random": lambda s, rng: rng.random(s.n_jobs),
}
MACHINE_RULES: dict[str, tuple[str, MachineKey]] = {
    "eet": ("earliest end time", lambda s, job: s.starts_of(job) + s.candidate_durations()[job]),
    "spt": ("shortest processing time", lambda s, job: s.candidate_durations()[job]),
}


@dataclass(frozen=True)
class FlexibleRule:
    """An operation rule (``operation``, a key of :data:`OPERATION_RULES`) and a machine rule."""

    operation: str
    machine: str

    @property
    def name(self) -> str:
        return f"{self.operation}-{self.machine}"

    @property
    def description(self) -> str:
        return f"{RULES[self.operation].description}, then {MACHINE_RULES[self.machine][0]}"

    def select(self, state: FlexibleJobShopState, rng: np.random.Generator) -> tuple[int, int]:
        """The legal ``(job, machine)`` pair of this rule (lowest job, then lowest machine, on ties)."""
        legal_jobs = state.mask.any(axis=1)
        if not legal_jobs.any():
            raise IllegalActionError("no legal pair: the episode is over")
        keys = np.asarray(OPERATION_RULES[self.operation](state, rng), dtype=np.float64)
        job = int(np.where(legal_jobs, keys, np.inf).argmin())
        machine_keys = np.asarray(MACHINE_RULES[self.machine][1](state, job), dtype=np.float64)
        return job, int(np.where(state.mask[job], machine_keys, np.inf).argmin())


def fjsp_rule_names() -> list[str]:
    """Every ``OPRULE-MACHRULE`` name."""
    return [f"{operation}-{machine}" for operation in OPERATION_RULES for machine in MACHINE_RULES]


def get_fjsp_rule(name: str) -> FlexibleRule:
    """A rule by (case-insensitive) name: ``"mwkr-eet"``, or ``"mwkr"`` for ``"mwkr-eet"``; ``fdd/mwkr``
    is accepted for ``fdd_mwkr``."""
    operation, dash, machine = name.lower().replace("/", "_").partition("-")
    machine = machine if dash else DEFAULT_MACHINE_RULE
    if operation not in OPERATION_RULES or machine not in MACHINE_RULES:
        raise UnknownMethodError(name, fjsp_rule_names(), "flexible job-shop rules are OPRULE-MACHRULE; "
                                 f"OPRULE alone means OPRULE-{DEFAULT_MACHINE_RULE}")
    return FlexibleRule(operation, machine)


class FlexibleRulePolicy:
    """A rule as a policy on :class:`FlexibleJobShopEnv`: ``policy(env)`` returns the action (pass
    ``env.unwrapped`` for a wrapped env). ``seed`` drives the ``random`` operation rule only."""

    def __init__(self, rule: str | FlexibleRule, seed: int | None = 0) -> None:
        self.rule = rule if isinstance(rule, FlexibleRule) else get_fjsp_rule(rule)
        self.rng = np.random.default_rng(seed)

    def __call__(self, env: FlexibleJobShopEnv) -> int:
        return env.action_of(*self.rule.select(env.state, self.rng))


def dispatch_fjsp(instance: FlexibleJobShopInstance, rule: str, mode: FlexibleMode = "non_delay", seed: int = 0,
                  time_limit: float | None = None) -> FlexibleSchedule:
    """Build a complete schedule of ``instance`` with a rule (no Gymnasium overhead).

    With ``time_limit`` (seconds), :class:`~cpgym.errors.TimeLimitReached` is raised when the schedule
    is not complete by then.
    """
    deadline = None if time_limit is None else time.perf_counter() + check_seconds(time_limit)
    chosen, rng = get_fjsp_rule(rule), np.random.default_rng(seed)
    state = FlexibleJobShopState(instance, mode)
    while not state.done:
        state.dispatch(*chosen.select(state, rng))
        if deadline is not None and time.perf_counter() > deadline:
            raise TimeLimitReached(f"{rule} did not finish {instance.name} within {time_limit} s")
    return state.schedule()
