"""Priority dispatching rules as policies on :class:`cpgym.envs.jobshop.JobShopEnv`.

Every rule scores each legal job's next operation with a key and dispatches the job with the
smallest key; ties go to the lowest job index (``argmin`` returns the first minimum), so all
rules but ``random`` are deterministic. ``random`` draws a legal job uniformly from a
seeded generator. Keys (``k`` = the job's next operation):

========  ==============================================================================
spt       shortest processing time: duration of ``k``
lpt       longest processing time: minus the duration of ``k``
mwkr      most work remaining: minus the job's unscheduled work
lwkr      least work remaining: the job's unscheduled work
mopnr     most operations remaining: minus the job's unscheduled operations
lopnr     least operations remaining: the job's unscheduled operations
fifo      first in, first out: the time ``k`` became ready (end of the job's previous op)
fdd_mwkr  flow due date / work remaining: (sum of the job's durations up to and including
          ``k``) / (the job's unscheduled work); smallest ratio first (Sels et al. 2012)
random    uniform among the legal jobs
========  ==============================================================================

The rules work in both environment modes: the mode decides which jobs are legal and where
the chosen operation starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cpgym.envs.jobshop import JobShopEnv
from cpgym.envs.jobshop_state import JobShopState, Mode
from cpgym.errors import TimeLimitReached, check_seconds
from cpgym.instances.jobshop import JobShopInstance
from cpgym.instances.schedule import Schedule

KeyFunction = Callable[[JobShopState, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class Rule:
    """A dispatching rule: ``key(state, rng)`` scores every job, lower is preferred."""

    name: str
    description: str
    key: KeyFunction

    def select(self, state: JobShopState, rng: np.random.Generator) -> int:
        """The legal job with the smallest key (lowest index on ties)."""
        if not state.mask.any():
            raise ValueError("no legal job: the episode is over")
        keys = np.asarray(self.key(state, rng), dtype=np.float64)
        return int(np.where(state.mask, keys, np.inf).argmin())


def _flow_due_over_work(state: JobShopState, rng: np.random.Generator) -> np.ndarray:
    next_op = np.minimum(state.next_op, state.n_machines - 1)
    flow_due = state.flow_due[np.arange(state.n_jobs), next_op]
    # a job whose remaining ops all last 0 has ratio +inf (or 0 when its due date is 0 too)
    return flow_due / np.maximum(state.remaining_work, 1e-12)


RULES: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        Rule("spt", "shortest processing time", lambda s, rng: s.next_duration),
        Rule("lpt", "longest processing time", lambda s, rng: -s.next_duration),
        Rule("mwkr", "most work remaining", lambda s, rng: -s.remaining_work),
        Rule("lwkr", "least work remaining", lambda s, rng: s.remaining_work),
        Rule("mopnr", "most operations remaining", lambda s, rng: s.next_op - s.n_machines),
        Rule("lopnr", "least operations remaining", lambda s, rng: s.n_machines - s.next_op),
        Rule("fifo", "first in, first out", lambda s, rng: s.job_ready),
        Rule("fdd_mwkr", "flow due date / work remaining", _flow_due_over_work),
        Rule("random", "uniform among legal jobs", lambda s, rng: rng.random(s.n_jobs)),
    )
}


def get_rule(name: str) -> Rule:
    """Look a rule up by (case-insensitive) name; ``"fdd/mwkr"`` is accepted for ``fdd_mwkr``."""
    key = name.lower().replace("/", "_").replace("-", "_")
    try:
        return RULES[key]
    except KeyError:
        raise KeyError(f"unknown dispatching rule {name!r}; known: {', '.join(RULES)}") from None


class RulePolicy:
    """A rule as a policy: ``policy(env)`` returns the action (job) to dispatch.

    Accepts a :class:`JobShopEnv` (wrappers included: pass ``env.unwrapped``) or a
    :class:`JobShopState`. ``seed`` drives the ``random`` rule only.
    """

    def __init__(self, rule: str | Rule, seed: int | None = 0) -> None:
        self.rule = rule if isinstance(rule, Rule) else get_rule(rule)
        self.rng = np.random.default_rng(seed)

    def __call__(self, env: JobShopEnv | JobShopState) -> int:
        state = env.state if isinstance(env, JobShopEnv) else env
        return self.rule.select(state, self.rng)


def dispatch(instance: JobShopInstance, rule: str, mode: Mode = "non_delay", seed: int = 0,
             time_limit: float | None = None) -> Schedule:
    """Build a complete schedule of ``instance`` with a dispatching rule (no Gymnasium overhead).

    With ``time_limit`` (seconds), :class:`~cpgym.errors.TimeLimitReached` is raised when the schedule
    is not complete by then.
    """
    deadline = None if time_limit is None else time.perf_counter() + check_seconds(time_limit)
    policy = RulePolicy(rule, seed)
    state = JobShopState(instance, mode)
    while not state.done:
        state.dispatch(policy(state))
        if deadline is not None and time.perf_counter() > deadline:
            raise TimeLimitReached(f"{rule} did not finish {instance.name} within {time_limit} s")
    return state.schedule()
