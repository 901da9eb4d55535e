"""``cpgym/JobShop-v0``: job-shop dispatching as a Gymnasium environment.

One step dispatches the next unscheduled operation of a job (``Discrete(max_jobs)``); the
episode ends when every operation is scheduled. The observation contract (graph and flat),
the modes and the rewards are documented in ``docs/jobshop_env.md``; the simulator is
:class:`cpgym.envs.jobshop_state.JobShopState`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from cpgym.cp_models.jobshop_cpsat import JobShopSolution, solve_jobshop
from cpgym.envs.checks import INVALID_ACTIONS, instance_option, instance_source, integer_action
from cpgym.envs.dispatching import DispatchingEnv
from cpgym.envs.jobshop_state import JobShopState, Mode
from cpgym.errors import ArgumentError, IllegalActionError, ResetNeededError
from cpgym.instances.generators import uniform
from cpgym.instances.jobshop import JobShopInstance
from cpgym.instances.problems import problem_of
from cpgym.instances.resolve import resolve_instance
from cpgym.instances.schedule import Schedule

__all__ = ["GRAPH_FEATURES", "FLAT_FEATURES", "INVALID_ACTIONS", "IllegalActionError", "JobShopEnv",
           "MixedSizeGenerator", "UniformGenerator"]

GRAPH_FEATURES = (
    "scheduled",  # 1 once the operation is scheduled
    "duration",  # duration / max duration of the instance
    "completion_lb",  # lower bound of the completion time (real end once scheduled) / time scale
    "machine",  # machine index / (n_machines - 1)
    "job_remaining_work",  # unscheduled work of the operation's job / time scale
    "candidate",  # 1 if it is its job's next operation
    "job_ops_left",  # unscheduled operations of its job / n_machines
)
FLAT_FEATURES = (
    "next_duration",  # duration of the job's next operation / max duration (0 when done)
    "earliest_start",  # (append start of the next op - now) / time scale
    "job_ready",  # (end of the job's last scheduled op - now) / time scale
    "machine_free",  # (latest end on the next op's machine - now) / time scale
    "remaining_work",  # unscheduled work of the job / time scale
    "ops_left",  # unscheduled operations of the job / n_machines
)
InstanceSpec = JobShopInstance | str



@dataclass(frozen=True)
class UniformGenerator:
    """Picklable instance generator: ``uniform(n_jobs, n_machines, low, high, seed=rng)``; a
    ``two_set_share`` of the instances get the two-machine-set routing (``uniform(two_sets=True)``)."""

    n_jobs: int = 10
    n_machines: int = 10
    low: int = 1
    high: int = 99
    two_set_share: float = 0.0

    def __call__(self, rng: np.random.Generator) -> JobShopInstance:
        two_sets = bool(self.two_set_share) and rng.random() < self.two_set_share
        return uniform(self.n_jobs, self.n_machines, self.low, self.high, seed=rng, two_sets=two_sets,
                       name=f"uniform_{self.n_jobs}x{self.n_machines}")


@dataclass(frozen=True)
class MixedSizeGenerator:
    """Picklable generator drawing one of ``generators`` uniformly, then an instance from it.

    Training on several sizes at once (e.g. 10x10, 20x10, 30x15) shows the policy instances with
    more jobs than machines; pass ``max_jobs``/``max_machines`` to the env (the largest sizes).
    """

    generators: tuple[UniformGenerator, ...]

    def __post_init__(self) -> None:
        if not self.generators:
            raise ValueError("MixedSizeGenerator needs at least one generator")

    def __call__(self, rng: np.random.Generator) -> JobShopInstance:
        return self.generators[int(rng.integers(len(self.generators)))](rng)


def _resolve(spec: InstanceSpec) -> JobShopInstance:
    if isinstance(spec, JobShopInstance):
        return spec
    if isinstance(spec, (str, os.PathLike)):
        instance = resolve_instance(spec)
        if isinstance(instance, JobShopInstance):
            return instance
        raise ArgumentError(f"{spec} is a {problem_of(instance).title} instance, not a job-shop one")
    raise ArgumentError(f"an instance must be a JobShopInstance, a bundled name or a file, got "
                        f"{type(spec).__name__} {spec!r}")


class _Static:
    """Per-instance constants and initial observation buffers, cached across resets."""

    def __init__(self, instance: JobShopInstance, max_jobs: int, max_machines: int) -> None:
        n_jobs, n_machines = instance.n_jobs, instance.n_machines
        durations = instance.durations
        self.instance = instance
        self.duration_scale = float(max(int(durations.max()), 1))
        self.time_scale = float(max(instance.trivial_lower_bound(), 1))
        n_ops = n_jobs * n_machines
        nodes = np.zeros((max_jobs * max_machines, len(GRAPH_FEATURES)), dtype=np.float32)
        nodes[:n_ops, 1] = (durations / self.duration_scale).ravel()
        nodes[:n_ops, 2] = (np.cumsum(durations, axis=1) / self.time_scale).ravel()
        nodes[:n_ops, 3] = (instance.machines / max(n_machines - 1, 1)).ravel()
        nodes[:n_ops, 4] = np.repeat(durations.sum(axis=1) / self.time_scale, n_machines)
        nodes[:n_ops:n_machines, 5] = 1.0
        nodes[:n_ops, 6] = 1.0
        self.node_features = nodes
        # conjunctive edges (j, k) -> (j, k + 1) first; machine edges are appended after them
        max_edges = max_jobs * (max_machines - 1) + max_machines * (max_jobs - 1)
        edges = np.zeros((2, max(max_edges, 1)), dtype=np.int64)
        sources = (np.arange(n_jobs)[:, None] * n_machines + np.arange(n_machines - 1)).ravel()
        edges[0, : len(sources)] = sources
        edges[1, : len(sources)] = sources + 1
        self.edge_index = edges
        self.n_conjunctive = len(sources)
        self.candidate = np.zeros(max_jobs, dtype=np.int64)
        self.candidate[:n_jobs] = np.arange(n_jobs) * n_machines


class JobShopEnv(DispatchingEnv[JobShopState]):
    """Job-shop dispatching environment (see ``docs/jobshop_env.md`` for the full contract).

    Args:
        instance: a :class:`JobShopInstance`, a bundled name (``"ta01"``) or a list of them;
            with a list, each reset draws one uniformly with the env's seeded RNG.
        generator: ``callable(rng) -> JobShopInstance`` called at each reset instead
            (default when neither is given: :class:`UniformGenerator` 10x10).
        mode: ``"non_delay"`` (default: simulated clock, only jobs that can start now are
            legal) or ``"active"`` (left-shift placement, all unfinished jobs legal).
        reward: ``"dense"`` (minus the increase of the makespan lower bound at each step;
            the return is ``-(makespan - initial bound)``) or ``"sparse"`` (``-makespan``
            at the last step, 0 before).
        observation: ``"graph"`` (disjunctive graph) or ``"flat"`` (per-job features).
        max_jobs, max_machines: padding sizes (default: the largest listed instance, or
            the generator's first instance).
        reward_scale: every reward is multiplied by it.
        invalid_action: what an in-space illegal action does: ``"raise"`` (default,
            :class:`IllegalActionError`), ``"mask"`` (the lowest-index legal job is dispatched
            instead) or ``"penalty"`` (the episode terminates with reward :attr:`illegal_penalty`).
            Actions outside ``Discrete(max_jobs)`` or not integers always raise.
        render_mode: ``None``, ``"ansi"`` (text) or ``"rgb_array"`` (Gantt frame of the partial schedule).

    ``reset(options={"instance": inst_or_name})`` plays that instance this episode.
    """

    def __init__(
        self,
        instance: InstanceSpec | Sequence[InstanceSpec] | None = None,
        generator: Callable[[np.random.Generator], JobShopInstance] | None = None,
        mode: Mode = "non_delay",
        reward: str = "dense",
        observation: str = "graph",
        max_jobs: int | None = None,
        max_machines: int | None = None,
        reward_scale: float = 1.0,
        invalid_action: str = "raise",
        render_mode: str | None = None,
    ) -> None:
        super().__init__(mode, reward, observation, reward_scale, invalid_action, render_mode)
        self.instances, self.generator = instance_source(instance, generator, UniformGenerator, _resolve)
        sized = self.instances
        if self.generator is not None and (max_jobs is None or max_machines is None):
            sized = [self.generator(np.random.default_rng(0))]
        self.max_jobs = max_jobs or max(i.n_jobs for i in sized)
        self.max_machines = max_machines or max(i.n_machines for i in sized)
        for inst in self.instances:
            self._check_fits(inst)
        self.max_ops = self.max_jobs * self.max_machines
        self.max_edges = max(self.max_jobs * (self.max_machines - 1) + self.max_machines * (self.max_jobs - 1), 1)

        self.action_space = spaces.Discrete(self.max_jobs)
        # True: graph observations are views of the env's own arrays, valid until the next step (for
        # decoders that read each observation before stepping: no per-step copy of the whole graph)
        self.share_observations = False
        mask_space = spaces.Box(0, 1, (self.max_jobs,), np.int8)
        if observation == "graph":
            self.observation_space = spaces.Dict({
                "node_features": spaces.Box(-np.inf, np.inf, (self.max_ops, len(GRAPH_FEATURES)), np.float32),
                "edge_index": spaces.Box(0, self.max_ops - 1, (2, self.max_edges), np.int64),
                "n_edges": spaces.Box(0, self.max_edges, (1,), np.int64),
                "n_nodes": spaces.Box(0, self.max_ops, (1,), np.int64),
                "candidate": spaces.Box(0, self.max_ops - 1, (self.max_jobs,), np.int64),
                "action_mask": mask_space,
            })
        else:
            self.observation_space = spaces.Dict({
                "job_features": spaces.Box(-np.inf, np.inf, (self.max_jobs, len(FLAT_FEATURES)), np.float32),
                "action_mask": mask_space,
            })
        self._static: dict[int, _Static] = {}  # keyed by id(instance); holds the instance alive

    # ------------------------------------------------------------------ public read-only state
    @property
    def instance(self) -> JobShopInstance:
        return self.state.instance

    @property
    def illegal_penalty(self) -> float:
        """Reward of an illegal action under ``invalid_action="penalty"``: ``-(total work + 1) * reward_scale``.

        Every dispatched schedule has makespan <= the total work (the sum of all durations), so
        an episode ended by an illegal action returns less than any complete one, dense or sparse.
        """
        return -float(self.instance.durations.sum() + 1) * self.reward_scale

    def action_masks(self) -> np.ndarray:
        """Legal actions, bool ``(max_jobs,)`` (the hook MaskablePPO calls)."""
        return self._mask.astype(bool)

    def partial_schedule(self) -> np.ndarray:
        """``(n_jobs, n_machines)`` start times so far, -1 for unscheduled operations."""
        return self.state.start_times.copy()

    def complete_with_cpsat(
        self,
        time_limit: float = 10.0,
        workers: int | None = None,
        seed: int = 0,
        hint: Schedule | np.ndarray | None = None,
    ) -> JobShopSolution:
        """Complete the current partial schedule optimally (within ``time_limit``) with CP-SAT.

        The scheduled operations keep their starts; the others are free. The completion is
        any feasible schedule: in ``non_delay`` mode it need not be non-delay (it can be
        better than any continuation of the episode), and in active mode it need not be
        reachable by further dispatching either.
        """
        state = self.state
        return solve_jobshop(
            state.instance, time_limit=time_limit, workers=workers, seed=seed, hint=hint,
            fixed_starts=state.start_times.copy(),
        )

    # ------------------------------------------------------------------ Gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        chosen = self._instance_option(options)
        if chosen is not None:
            instance = _resolve(chosen)
        elif self.generator is not None:
            instance = self.generator(self.np_random)
        else:
            instance = self.instances[int(self.np_random.integers(len(self.instances)))]
        self._check_fits(instance)
        self._state = JobShopState(instance, self.mode)
        self._over = False
        static = self._static.get(id(instance))
        if static is None or static.instance is not instance:
            if len(self._static) > 64:  # generated instances: keep the cache small
                self._static.clear()
            static = self._static[id(instance)] = _Static(instance, self.max_jobs, self.max_machines)
        self._s = static
        self._mask = np.zeros(self.max_jobs, dtype=np.int8)
        self._mask[: instance.n_jobs] = self._state.mask
        if self.observation_kind == "graph":
            self._nodes = static.node_features.copy()
            self._edges = static.edge_index.copy()
            self._n_edges = static.n_conjunctive
            self._edge_slot = [-1] * (instance.n_jobs * instance.n_machines)
            self._candidate = static.candidate.copy()
        else:
            self._reset_flat()
        obs = self._observation()
        return obs, {"action_mask": obs["action_mask"], "makespan_lb": self._state.makespan_lb}

    def step(self, action):
        state = self.state
        if self._over:
            raise ResetNeededError("the episode is over; call reset()")
        job = self._job_of(action)
        illegal = not (job < state.n_jobs and state.mask[job])
        if illegal and self.invalid_action == "penalty":
            self._over = True
            obs = self._observation()
            info = {"action_mask": obs["action_mask"], "makespan_lb": state.makespan_lb, "illegal_action": True,
                    "dispatched_job": -1}
            return obs, self.illegal_penalty, True, False, info
        if illegal and self.invalid_action == "mask":
            job = int(state.mask.argmax())  # the lowest-index legal job
        old_lb = state.makespan_lb
        node, _, pred, succ = state.dispatch(job)  # under "raise", an illegal job raises here
        if self.mode == "non_delay":
            self._mask[: state.n_jobs] = state.mask
        elif not state.mask[job]:
            self._mask[job] = 0
        if self.observation_kind == "graph":
            self._update_graph(job, node, pred, succ)
        else:
            self._update_flat(job)
        terminated = self._over = state.done
        if self.reward_kind == "dense":
            reward = float(old_lb - state.makespan_lb) * self.reward_scale
        else:
            reward = -float(state.makespan) * self.reward_scale if terminated else 0.0
        obs = self._observation()
        info: dict[str, Any] = {"action_mask": obs["action_mask"], "makespan_lb": state.makespan_lb,
                                "illegal_action": illegal, "dispatched_job": job}
        if terminated:
            info["makespan"] = state.makespan
            info["schedule"] = state.schedule()
        return obs, reward, terminated, False, info

    def render(self) -> str | np.ndarray | None:
        """``"ansi"``: the partial schedule as text; ``"rgb_array"``: its Gantt chart, uint8 ``(H, W, 3)``
        (constant size for a given number of machines); ``None`` without a render mode."""
        if self.render_mode is None:
            return None
        if self.render_mode == "ansi":
            return self._render_text()
        from cpgym.plot.gantt import gantt_frame  # matplotlib only when frames are asked for

        return gantt_frame(self.instance, self.state.start_times, title=self._status_line())

    # ------------------------------------------------------------------ internals
    def _status_line(self) -> str:
        state = self.state
        clock = f", t={state.now}" if self.mode == "non_delay" else ""
        return (f"{state.instance.name} {state.instance.size} ({self.mode}): {state.n_scheduled}/"
                f"{state.n_jobs * state.n_machines} operations, makespan {state.makespan}, "
                f"lower bound {state.makespan_lb}{clock}")

    def _render_text(self) -> str:
        """Status line, one line per machine (``j<job>:<start>-<end>`` in start order), the legal jobs."""
        state, instance = self.state, self.state.instance
        starts = state.start_times
        lines = [self._status_line()]
        for machine in range(state.n_machines):
            jobs, ops = np.nonzero((instance.machines == machine) & (starts >= 0))
            order = np.argsort(starts[jobs, ops], kind="stable")
            bars = [f"j{j}:{starts[j, k]}-{starts[j, k] + instance.durations[j, k]}"
                    for j, k in zip(jobs[order], ops[order])]
            lines.append(f"M{machine}: {' '.join(bars) or '-'}")
        lines.append(f"legal jobs: {' '.join(map(str, state.legal_jobs())) or '-'}")
        return "\n".join(lines) + "\n"

    def _job_of(self, action: Any) -> int:
        """The job an action names (see :func:`cpgym.envs.checks.integer_action`)."""
        return integer_action(action, self.max_jobs, "an integer job index")

    @staticmethod
    def _instance_option(options: Any) -> Any:
        return instance_option(options, "a JobShopInstance or a bundled instance name")

    def _check_fits(self, instance: JobShopInstance) -> None:
        if instance.n_jobs > self.max_jobs or instance.n_machines > self.max_machines:
            raise ArgumentError(
                f"instance {instance.name} ({instance.size}) exceeds the padding "
                f"{self.max_jobs}x{self.max_machines}; pass larger max_jobs / max_machines"
            )

    def _add_edge(self, source: int, target: int) -> None:
        slot = self._n_edges
        self._edges[0, slot] = source
        self._edges[1, slot] = target
        self._edge_slot[source] = slot
        self._n_edges = slot + 1

    def _update_graph(self, job: int, node: int, pred: int, succ: int) -> None:
        """Incremental update of node features, machine-chain edges and candidates."""
        if pred >= 0 and succ >= 0:  # inserted between pred and succ: redirect pred's edge
            self._edges[1, self._edge_slot[pred]] = node
        elif pred >= 0:
            self._add_edge(pred, node)
        if succ >= 0:
            self._add_edge(node, succ)
        state, s = self._state, self._s
        n_machines = state.n_machines
        k = node - job * n_machines
        first = job * n_machines
        nodes = self._nodes
        nodes[node, 0] = 1.0
        nodes[node, 5] = 0.0
        nodes[node : first + n_machines, 2] = state.completion_lb[job, k:] / s.time_scale
        nodes[first : first + n_machines, 4] = state.remaining_work[job] / s.time_scale
        nodes[first : first + n_machines, 6] = (n_machines - k - 1) / n_machines
        if k + 1 < n_machines:
            nodes[node + 1, 5] = 1.0
            self._candidate[job] = node + 1

    def _observation(self) -> dict[str, np.ndarray]:
        mask = self._mask.copy()
        if self.observation_kind == "graph":
            share = self.share_observations
            return {
                "node_features": self._nodes if share else self._nodes.copy(),
                "edge_index": self._edges if share else self._edges.copy(),
                "n_edges": np.array([self._n_edges], dtype=np.int64),
                "n_nodes": np.array([self._state.n_jobs * self._state.n_machines], dtype=np.int64),
                "candidate": self._candidate if share else self._candidate.copy(),
                "action_mask": mask,
            }
        return {"job_features": self._flat_features(), "action_mask": mask}

    def _reset_flat(self) -> None:
        """Absolute per-job quantities (times not yet shifted by ``now``) and per-column scales."""
        state, s = self._state, self._s
        n_jobs = state.n_jobs
        self._flat_abs = np.zeros((self.max_jobs, len(FLAT_FEATURES)))
        self._flat_abs[:n_jobs, 0] = state.next_duration
        self._flat_abs[:n_jobs, 4] = state.remaining_work
        self._flat_abs[:n_jobs, 5] = state.n_machines
        scale = np.array([s.duration_scale] + [s.time_scale] * 4 + [state.n_machines])
        self._flat_weight = np.zeros((self.max_jobs, len(FLAT_FEATURES)))
        self._flat_weight[:n_jobs] = 1.0 / scale  # a finished job's row gets weight 0
        self._flat_shift = np.array([0.0, 1.0, 1.0, 1.0, 0.0, 0.0])  # columns measured from `now`
        self._flat = np.zeros((self.max_jobs, len(FLAT_FEATURES)), dtype=np.float32)

    def _update_flat(self, job: int) -> None:
        state = self._state
        row = self._flat_abs[job]
        row[0] = state.next_duration[job]
        row[2] = state.job_ready[job]
        row[4] = state.remaining_work[job]
        row[5] = state.n_machines - state.next_op[job]
        if not row[5]:
            self._flat_weight[job] = 0.0

    def _flat_features(self) -> np.ndarray:
        state = self._state
        n_jobs = state.n_jobs
        flat = self._flat_abs
        est = state.earliest_starts()
        now = state.now if self.mode == "non_delay" else (int(est.min()) if not state.done else 0)
        flat[:n_jobs, 1] = est
        flat[:n_jobs, 3] = state.machine_free[state.next_machine]
        np.multiply(flat - now * self._flat_shift, self._flat_weight, out=self._flat, casting="same_kind")
        return self._flat.copy()
