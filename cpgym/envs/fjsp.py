"""``cpgym/FlexibleJobShop-v0``: flexible job-shop dispatching as a Gymnasium environment.

One step assigns the next unscheduled operation of a job to one of its eligible machines: the
action is the (job, machine) pair ``job * max_machines + machine`` (``Discrete(max_jobs *
max_machines)``); the episode ends when every operation is scheduled. Modes, observations (a
heterogeneous graph of operations and machines, and a flat one), rewards and the CP link are
documented in ``docs/fjsp_env.md``; the simulator is :class:`cpgym.envs.fjsp_state.FlexibleJobShopState`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from cpgym.cp_models.fjsp_cpsat import FlexibleJobShopSolution, solve_fjsp
from cpgym.envs.checks import instance_option, instance_source, integer_action
from cpgym.envs.dispatching import DispatchingEnv
from cpgym.envs.fjsp_state import FJSP_MODES, FlexibleJobShopState, FlexibleMode
from cpgym.errors import ArgumentError, ResetNeededError, UnknownProblemError
from cpgym.instances.fjsp import FlexibleJobShopInstance
from cpgym.instances.fjsp_generators import generator_kind
from cpgym.instances.fjsp_schedule import FlexibleSchedule
from cpgym.instances.problems import problem_of
from cpgym.instances.resolve import resolve_instance

__all__ = ["FLAT_JOB_FEATURES", "FLAT_PAIR_FEATURES", "FlexibleGenerator", "FlexibleJobShopEnv", "MACHINE_FEATURES",
           "OPERATION_FEATURES", "OPTION_FEATURES"]

OPERATION_FEATURES = (
    "scheduled",  # 1 once the operation is scheduled
    "min_duration",  # shortest duration over its eligible machines (the chosen one once scheduled) / d_max
    "mean_duration",  # mean duration over its eligible machines (the chosen one once scheduled) / d_max
    "completion_lb",  # completion-time lower bound (real end once scheduled) / time scale
    "flexibility",  # number of eligible machines / n_machines
    "job_remaining_work",  # unscheduled (mean) work of its job / time scale
    "candidate",  # 1 if it is its job's next operation
    "job_ops_left",  # unscheduled operations of its job / the job's number of operations
)
MACHINE_FEATURES = (
    "free",  # (latest end on the machine - now) / time scale
    "load",  # scheduled work on the machine / time scale
    "candidates",  # jobs whose next operation may run on it / n_jobs
    "legal",  # legal (job, machine) pairs on it / n_jobs
)
OPTION_FEATURES = (
    "duration",  # duration of the operation on the machine / d_max
    "chosen",  # 1 if the operation is scheduled on this machine
    "legal",  # 1 if (its job, the machine) is a legal action now
    "start",  # for a candidate operation: (append start on the machine - now) / time scale, else 0
)
FLAT_JOB_FEATURES = (
    "next_min_duration",  # shortest duration of the job's next operation / d_max (0 when done)
    "next_mean_duration",  # mean duration of the job's next operation / d_max
    "job_ready",  # (end of the job's last scheduled operation - now) / time scale
    "remaining_work",  # unscheduled (mean) work of the job / time scale
    "ops_left",  # unscheduled operations of the job / its number of operations
    "next_flexibility",  # eligible machines of the job's next operation / n_machines
)
FLAT_PAIR_FEATURES = (
    "eligible",  # 1 if the job's next operation may run on the machine
    "duration",  # its duration there / d_max
    "start",  # (append start there - now) / time scale
)
InstanceSpec = FlexibleJobShopInstance | str | os.PathLike
_AS_FLEXIBLE: dict[str, Callable[[Any], FlexibleJobShopInstance]] = {
    "fjsp": lambda instance: instance,
    "jssp": FlexibleJobShopInstance.from_jobshop,  # one eligible machine per operation
}


@dataclass(frozen=True)
class FlexibleGenerator:
    """Picklable instance generator: instances of ``n_jobs`` x ``n_machines`` drawn from the env's RNG
    by the generator named ``kind`` (:data:`~cpgym.instances.fjsp_generators.GENERATORS`: ``"sd1"``
    (Song et al. 2022), ``"sd2"`` (DANIEL), ``"hurink-edata"``, ``"hurink-rdata"``, ``"hurink-vdata"``,
    ``"brandimarte"``)."""

    kind: str = "sd1"
    n_jobs: int = 10
    n_machines: int = 5

    def __post_init__(self) -> None:
        generator_kind(self.kind)  # an unknown kind raises, naming the known ones

    @property
    def max_operations(self) -> int:
        """The most operations an instance of this generator can have (the env's default padding)."""
        return self.n_jobs * generator_kind(self.kind).most_operations_per_job(self.n_machines)

    def __call__(self, rng: np.random.Generator) -> FlexibleJobShopInstance:
        return generator_kind(self.kind).make(self.n_jobs, self.n_machines, seed=rng,
                                              name=f"{self.kind}_{self.n_jobs}x{self.n_machines}")


def _resolve(spec: Any) -> FlexibleJobShopInstance:
    """A flexible instance from an instance, a bundled name or a file; job-shop ones are converted."""
    instance = resolve_instance(spec) if isinstance(spec, (str, os.PathLike)) else spec
    try:
        problem = problem_of(instance)
    except UnknownProblemError:
        raise ArgumentError(f"an instance must be a FlexibleJobShopInstance, a JobShopInstance, a bundled name or a "
                            f"file, got {type(spec).__name__} {spec!r}") from None
    if problem.name not in _AS_FLEXIBLE:
        raise ArgumentError(f"{instance.name} is a {problem.title} instance, not a flexible job-shop one")
    return _AS_FLEXIBLE[problem.name](instance)


class _Static:
    """Per-instance constants and initial observation buffers, cached across resets."""

    def __init__(self, state: FlexibleJobShopState, max_jobs: int, max_machines: int, max_operations: int) -> None:
        n_ops, n_machines = state.n_operations, state.n_machines
        self.instance = state.instance
        self.duration_scale = float(max(int(state.durations.max()), 1))
        total = int(state.min_duration.sum())
        self.time_scale = float(max(state.makespan_lb, math.ceil(total / n_machines), 1))
        lengths = state.job_length[state.op_job]
        ops = np.zeros((max_operations, len(OPERATION_FEATURES)), dtype=np.float32)
        ops[:n_ops, 1] = state.min_duration / self.duration_scale
        ops[:n_ops, 2] = state.mean_duration / self.duration_scale
        ops[:n_ops, 3] = state.flow_due / self.time_scale
        ops[:n_ops, 4] = state.eligible.sum(axis=1) / n_machines
        ops[:n_ops, 5] = state.remaining_work[state.op_job] / self.time_scale
        ops[state.job_first, 6] = 1.0
        ops[:n_ops, 7] = state.ops_left[state.op_job] / lengths
        self.operation_features = ops
        sources = np.flatnonzero(state.op_job[:-1] == state.op_job[1:])  # (j, k) -> (j, k + 1)
        self.precedence = np.zeros((2, max(max_operations - 1, 1)), dtype=np.int64)
        self.precedence[0, :len(sources)] = sources
        self.precedence[1, :len(sources)] = sources + 1
        self.n_precedence = len(sources)
        nodes, machines = np.nonzero(state.eligible)  # option edges in node order, machines ascending
        self.n_options = len(nodes)
        self.option_edges = np.zeros((2, max_operations * max_machines), dtype=np.int64)
        self.option_edges[0, :self.n_options] = nodes
        self.option_edges[1, :self.n_options] = machines
        self.option_slot = np.full(state.eligible.shape, -1, dtype=np.int64)
        self.option_slot[nodes, machines] = np.arange(self.n_options)
        self.option_features = np.zeros((max_operations * max_machines, len(OPTION_FEATURES)), dtype=np.float32)
        self.option_features[:self.n_options, 0] = state.durations[nodes, machines] / self.duration_scale
        self.candidate = np.zeros(max_jobs, dtype=np.int64)
        self.candidate[:state.n_jobs] = state.job_first


class FlexibleJobShopEnv(DispatchingEnv[FlexibleJobShopState]):
    """Flexible job-shop dispatching environment (see ``docs/fjsp_env.md`` for the full contract).

    Args:
        instance: a :class:`FlexibleJobShopInstance`, a bundled name (``"mk01"``), a file, or a list of
            them; job-shop instances are converted (one eligible machine per operation). With a list,
            each reset draws one uniformly with the env's seeded RNG.
        generator: ``callable(rng) -> FlexibleJobShopInstance`` called at each reset instead (default
            when neither is given: :class:`FlexibleGenerator` SD1 10x5).
        mode: ``"non_delay"`` (default) or ``"active"``, as in ``cpgym/JobShop-v0`` with (job, machine) pairs,
            or ``"earliest_end"`` (non-delay, and a job may wait for a busy machine that ends its operation
            earlier than the machines free now).
        reward: ``"dense"`` (minus the increase of the makespan lower bound at each step) or
            ``"sparse"`` (``-makespan`` at the last step).
        observation: ``"graph"`` (operations, machines, precedence and option edges) or ``"flat"``.
        max_jobs, max_machines, max_operations: padding sizes (default: the largest listed instance,
            or the generator's ``max_operations`` and first instance).
        reward_scale: every reward is multiplied by it.
        invalid_action: what an in-space illegal action does: ``"raise"`` (default), ``"mask"`` (the
            lowest-index legal action instead) or ``"penalty"`` (the episode terminates with reward
            :attr:`illegal_penalty`).
        render_mode: ``None``, ``"ansi"`` or ``"rgb_array"`` (Gantt frame with the machine assignment).

    ``reset(options={"instance": inst_or_name})`` plays that instance this episode.
    """

    modes = FJSP_MODES

    def __init__(
        self,
        instance: InstanceSpec | Sequence[InstanceSpec] | None = None,
        generator: Callable[[np.random.Generator], FlexibleJobShopInstance] | None = None,
        mode: FlexibleMode = "non_delay",
        reward: str = "dense",
        observation: str = "graph",
        max_jobs: int | None = None,
        max_machines: int | None = None,
        max_operations: int | None = None,
        reward_scale: float = 1.0,
        invalid_action: str = "raise",
        render_mode: str | None = None,
    ) -> None:
        super().__init__(mode, reward, observation, reward_scale, invalid_action, render_mode)
        self.instances, self.generator = instance_source(instance, generator, FlexibleGenerator, _resolve)
        sized = self.instances
        if self.generator is not None:
            max_operations = max_operations or getattr(self.generator, "max_operations", None)
            if not (max_jobs and max_machines and max_operations):
                sized = [self.generator(np.random.default_rng(0))]
        self.max_jobs = max_jobs or max(i.n_jobs for i in sized)
        self.max_machines = max_machines or max(i.n_machines for i in sized)
        self.max_operations = max_operations or max(i.n_operations for i in sized)
        for inst in self.instances:
            self._check_fits(inst)
        self.n_actions = self.max_jobs * self.max_machines
        self.action_space = spaces.Discrete(self.n_actions)
        self.observation_space = self._space()
        self._static: dict[int, _Static] = {}  # keyed by id(instance); holds the instance alive

    def _space(self) -> spaces.Dict:
        max_ops, max_machines = self.max_operations, self.max_machines
        max_options = max_ops * max_machines

        def features(rows: int, names: tuple[str, ...]) -> spaces.Box:
            return spaces.Box(-np.inf, np.inf, (rows, len(names)), np.float32)

        def count(most: int) -> spaces.Box:
            return spaces.Box(0, most, (1,), np.int64)

        mask = spaces.Box(0, 1, (self.n_actions,), np.int8)
        if self.observation_kind == "flat":
            return spaces.Dict({
                "job_features": features(self.max_jobs, FLAT_JOB_FEATURES),
                "pair_features": features(self.n_actions, FLAT_PAIR_FEATURES),
                "machine_features": features(max_machines, MACHINE_FEATURES),
                "action_mask": mask,
            })
        option_high = np.repeat(np.array([[max_ops - 1], [max_machines - 1]], dtype=np.int64), max_options, axis=1)
        return spaces.Dict({
            "operation_features": features(max_ops, OPERATION_FEATURES),
            "machine_features": features(max_machines, MACHINE_FEATURES),
            "option_features": features(max_options, OPTION_FEATURES),
            "precedence_edges": spaces.Box(0, max_ops - 1, (2, max(max_ops - 1, 1)), np.int64),
            "option_edges": spaces.Box(np.zeros_like(option_high), option_high, dtype=np.int64),
            "n_operations": count(max_ops),
            "n_machines": count(max_machines),
            "n_precedence_edges": count(max(max_ops - 1, 1)),
            "n_option_edges": count(max_options),
            "candidate": spaces.Box(0, max_ops - 1, (self.max_jobs,), np.int64),
            "action_mask": mask,
        })

    # ------------------------------------------------------------------ public read-only state
    @property
    def instance(self) -> FlexibleJobShopInstance:
        return self.state.instance

    @property
    def illegal_penalty(self) -> float:
        """Reward of an illegal action under ``invalid_action="penalty"``: ``-(horizon + 1) * reward_scale``,
        where the horizon is the sum of each operation's longest option: every dispatched schedule is
        shorter, so an episode ended by an illegal action returns less than any complete one."""
        return -float(self.instance.horizon + 1) * self.reward_scale

    def action_of(self, job: int, machine: int) -> int:
        """The action that dispatches ``job``'s next operation on ``machine``."""
        return job * self.max_machines + machine

    def pair_of(self, action: int) -> tuple[int, int]:
        """The ``(job, machine)`` of an action."""
        return divmod(int(action), self.max_machines)

    def action_masks(self) -> np.ndarray:
        """Legal actions, bool ``(max_jobs * max_machines,)`` (the hook MaskablePPO calls)."""
        return self._mask.ravel().astype(bool)

    def partial_schedule(self) -> tuple[list[list[int]], list[list[int]]]:
        """``(machines, start_times)`` so far, one list per job, -1 for unscheduled operations: the
        ``fixed_machines`` and ``fixed_starts`` of :func:`~cpgym.cp_models.fjsp_cpsat.solve_fjsp`."""
        state = self.state
        return state.ragged(state.op_machine), state.ragged(state.op_start)

    def complete_with_cpsat(
        self,
        time_limit: float = 10.0,
        workers: int | None = None,
        seed: int = 0,
        hint: FlexibleSchedule | None = None,
    ) -> FlexibleJobShopSolution:
        """Complete the current partial schedule optimally (within ``time_limit``) with CP-SAT.

        The scheduled operations keep their machines and starts; the others are free. The completion
        is any feasible schedule (not restricted to the env's mode, nor reachable by dispatching).
        """
        machines, starts = self.partial_schedule()
        return solve_fjsp(self.instance, time_limit=time_limit, workers=workers, seed=seed, hint=hint,
                          fixed_machines=machines, fixed_starts=starts)

    # ------------------------------------------------------------------ Gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        chosen = instance_option(options, "a FlexibleJobShopInstance, a JobShopInstance or a bundled instance name")
        if chosen is not None:
            instance = _resolve(chosen)
        elif self.generator is not None:
            instance = self.generator(self.np_random)
        else:
            instance = self.instances[int(self.np_random.integers(len(self.instances)))]
        self._check_fits(instance)
        self._state = state = FlexibleJobShopState(instance, self.mode)
        self._over = False
        static = self._static.get(id(instance))
        if static is None or static.instance is not instance:
            if len(self._static) > 64:  # generated instances: keep the cache small
                self._static.clear()
            static = self._static[id(instance)] = _Static(state, self.max_jobs, self.max_machines, self.max_operations)
        self._s = static
        self._mask = np.zeros((self.max_jobs, self.max_machines), dtype=np.int8)
        self._mask[:state.n_jobs, :state.n_machines] = state.mask
        self._operations = static.operation_features.copy()
        self._options = static.option_features.copy()
        self._candidate = static.candidate.copy()
        obs = self._observation()
        return obs, {"action_mask": obs["action_mask"], "makespan_lb": state.makespan_lb}

    def step(self, action):
        state = self.state
        if self._over:
            raise ResetNeededError("the episode is over; call reset()")
        job, machine = self.pair_of(integer_action(action, self.n_actions, "an integer (job, machine) pair index"))
        illegal = not self._mask[job, machine]
        if illegal and self.invalid_action == "penalty":
            self._over = True
            obs = self._observation()
            info = {"action_mask": obs["action_mask"], "makespan_lb": state.makespan_lb, "illegal_action": True,
                    "dispatched_job": -1, "dispatched_machine": -1}
            return obs, self.illegal_penalty, True, False, info
        if illegal and self.invalid_action == "mask":
            job, machine = self.pair_of(int(self._mask.argmax()))  # the lowest-index legal action
        old_lb = state.makespan_lb
        node, _ = state.dispatch(job, machine)  # under "raise", an illegal pair raises here
        if self.mode != "active":
            self._mask[:state.n_jobs, :state.n_machines] = state.mask
        else:
            self._mask[job, :state.n_machines] = state.mask[job]
        self._update(job, node, machine)
        terminated = self._over = state.done
        if self.reward_kind == "dense":
            reward = float(old_lb - state.makespan_lb) * self.reward_scale
        else:
            reward = -float(state.makespan) * self.reward_scale if terminated else 0.0
        obs = self._observation()
        info: dict[str, Any] = {"action_mask": obs["action_mask"], "makespan_lb": state.makespan_lb,
                                "illegal_action": illegal, "dispatched_job": job, "dispatched_machine": machine}
        if terminated:
            info["makespan"] = state.makespan
            info["schedule"] = state.schedule()
        return obs, reward, terminated, False, info

    def render(self) -> str | np.ndarray | None:
        """``"ansi"``: the partial schedule as text; ``"rgb_array"``: its Gantt chart with the machine
        assignment, uint8 ``(H, W, 3)`` (constant size for a given number of machines)."""
        if self.render_mode is None:
            return None
        if self.render_mode == "ansi":
            return self._render_text()
        from cpgym.plot.gantt import gantt_frame  # matplotlib only when frames are asked for

        machines, starts = self.partial_schedule()
        return gantt_frame(self.instance, starts, title=self._status_line(), machines=machines)

    # ------------------------------------------------------------------ internals
    def _status_line(self) -> str:
        state = self.state
        clock = f", t={state.now}" if self.mode != "active" else ""
        return (f"{state.instance.name} {state.instance.size} ({self.mode}): {state.n_scheduled}/"
                f"{state.n_operations} operations, makespan {state.makespan}, lower bound {state.makespan_lb}{clock}")

    def _render_text(self) -> str:
        """Status line, one line per machine (``j<job>:<start>-<end>`` in start order), the legal pairs."""
        state = self.state
        lines = [self._status_line()]
        for machine in range(state.n_machines):
            nodes = np.flatnonzero(state.op_machine == machine)
            nodes = nodes[np.argsort(state.op_start[nodes], kind="stable")]
            bars = [f"j{state.op_job[n]}:{state.op_start[n]}-{state.op_start[n] + state.durations[n, machine]}"
                    for n in nodes]
            lines.append(f"M{machine}: {' '.join(bars) or '-'}")
        lines.append(f"legal (job:machine): {' '.join(f'{j}:{m}' for j, m in state.legal_pairs()) or '-'}")
        return "\n".join(lines) + "\n"

    def _check_fits(self, instance: FlexibleJobShopInstance) -> None:
        if (instance.n_jobs > self.max_jobs or instance.n_machines > self.max_machines
                or instance.n_operations > self.max_operations):
            raise ArgumentError(
                f"instance {instance.name} ({instance.size}, {instance.n_operations} operations) exceeds the padding "
                f"{self.max_jobs}x{self.max_machines}, {self.max_operations} operations; pass larger max_jobs / "
                "max_machines / max_operations"
            )

    def _update(self, job: int, node: int, machine: int) -> None:
        """Incremental update of the operation rows of ``job`` and of ``node``'s option edges."""
        state, s, ops = self._state, self._s, self._operations
        first, last = int(state.job_first[job]), int(state.job_last[job])
        ops[node, 0] = 1.0
        ops[node, 1] = ops[node, 2] = state.durations[node, machine] / s.duration_scale
        ops[node, 6] = 0.0
        ops[node:last + 1, 3] = state.completion_lb[node:last + 1] / s.time_scale
        ops[first:last + 1, 5] = state.remaining_work[job] / s.time_scale
        ops[first:last + 1, 7] = state.ops_left[job] / state.job_length[job]
        if node < last:
            ops[node + 1, 6] = 1.0
            self._candidate[job] = node + 1
        slots = s.option_slot[node][state.eligible[node]]
        self._options[slots, 2:] = 0.0  # no longer a candidate
        self._options[s.option_slot[node, machine], 1] = 1.0

    def _now(self) -> int:
        """The reference time of the features: the non-delay clock, or in active mode the smallest append start."""
        state = self._state
        if self.mode != "active" or state.done:
            return state.now
        return int(state.earliest_starts().min())

    def _machine_features(self, now: int) -> np.ndarray:
        state, s = self._state, self._s
        features = np.zeros((self.max_machines, len(MACHINE_FEATURES)), dtype=np.float32)
        m = state.n_machines
        features[:m, 0] = (state.machine_free - now) / s.time_scale
        features[:m, 1] = state.machine_load / s.time_scale
        features[:m, 2] = state.candidate_eligible.sum(axis=0) / state.n_jobs
        features[:m, 3] = state.mask.sum(axis=0) / state.n_jobs
        return features

    def _observation(self) -> dict[str, np.ndarray]:
        state, s = self._state, self._s
        now = self._now()
        jobs, machines = np.nonzero(state.candidate_eligible)
        starts = (state.earliest_starts()[jobs, machines] - now) / s.time_scale
        mask = self._mask.ravel().copy()
        if self.observation_kind == "flat":
            return {"job_features": self._flat_jobs(now), "pair_features": self._flat_pairs(jobs, machines, starts),
                    "machine_features": self._machine_features(now), "action_mask": mask}
        slots = s.option_slot[state.next_node[jobs], machines]
        self._options[slots, 2] = state.mask[jobs, machines]
        self._options[slots, 3] = starts
        return {
            "operation_features": self._operations.copy(),
            "machine_features": self._machine_features(now),
            "option_features": self._options.copy(),
            "precedence_edges": s.precedence.copy(),
            "option_edges": s.option_edges.copy(),
            "n_operations": np.array([state.n_operations], dtype=np.int64),
            "n_machines": np.array([state.n_machines], dtype=np.int64),
            "n_precedence_edges": np.array([s.n_precedence], dtype=np.int64),
            "n_option_edges": np.array([s.n_options], dtype=np.int64),
            "candidate": self._candidate.copy(),
            "action_mask": mask,
        }

    def _flat_jobs(self, now: int) -> np.ndarray:
        state, s = self._state, self._s
        n_jobs = state.n_jobs
        active = state.ops_left > 0  # finished jobs' rows are 0
        nodes = state.next_node
        rows = np.zeros((self.max_jobs, len(FLAT_JOB_FEATURES)), dtype=np.float32)
        rows[:n_jobs, 0] = state.min_duration[nodes] / s.duration_scale
        rows[:n_jobs, 1] = state.mean_duration[nodes] / s.duration_scale
        rows[:n_jobs, 2] = (state.job_ready - now) / s.time_scale
        rows[:n_jobs, 3] = state.remaining_work / s.time_scale
        rows[:n_jobs, 4] = state.ops_left / state.job_length
        rows[:n_jobs, 5] = state.candidate_eligible.sum(axis=1) / state.n_machines
        rows[:n_jobs] *= active[:, None]
        return rows

    def _flat_pairs(self, jobs: np.ndarray, machines: np.ndarray, starts: np.ndarray) -> np.ndarray:
        state, s = self._state, self._s
        pairs = np.zeros((self.max_jobs, self.max_machines, len(FLAT_PAIR_FEATURES)), dtype=np.float32)
        pairs[jobs, machines, 0] = 1.0
        pairs[jobs, machines, 1] = state.durations[state.next_node[jobs], machines] / s.duration_scale
        pairs[jobs, machines, 2] = starts
        return pairs.reshape(self.n_actions, len(FLAT_PAIR_FEATURES))
