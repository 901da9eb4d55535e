"""CP-guided end-to-end training of the GNN dispatching policy (after Tassel, Gebser, Schekotihin, ICAPS 2023),
on the batched engine.

The policy's only problem knowledge is the CP-SAT encoding, used as a teacher. One iteration:

1. **Rollouts.** The current policy samples one episode on each of ``cp_episodes`` generated
   instances, all in one :class:`~cpgym.envs.batched.BatchedJobShop` batch (``mode`` as configured,
   the paper uses ``non_delay``).
2. **CP targets.** For each episode a prefix length ``p`` is drawn uniformly from
   ``0 .. n_ops - 2``; the first ``p`` dispatches stay fixed and CP-SAT completes the rest
   (``solve_jobshop(..., fixed_starts=partial schedule, hint=agent schedule)``, the env's CP link),
   warm-started with the agent's own completion, under ``cp_time_limit``. The solves run in
   parallel: a process pool (``cp_backend="local"``) or Ray (``"ray"``).
3. **Replay.** The CP completion is turned into dispatching actions from the prefix state, on the
   engine for all episodes at once: at each step, among the legal jobs, the job whose next operation
   starts earliest in the CP schedule (ties: lowest job). In active mode this is exactly
   :func:`~cpgym.envs.jobshop_state.start_order_actions` and the replay is never longer than the CP
   schedule. In non_delay mode the CP schedule need not be non-delay, so the replay (a non-delay
   schedule) can be longer than it.
4. **Advantage.** ``A = (agent makespan - replay makespan) / agent makespan``: the relative
   improvement, with the CP makespan replaced by the makespan the replayed actions really reach
   (the share where they coincide is logged as ``train/replay_exact``). The replay's actions get
   ``+A``, the agent's own actions after the prefix ``-A`` (a paired comparison of two continuations
   of the same state, whose mean is the baseline). Steps where both continuations agree (same
   state, same action) cancel and are dropped, and so are forced steps (a single legal action).
   Advantages are divided by their mean absolute value (sign kept).
5. **Update.** :func:`~cpgym.agents.training.engine.replay_update`: ``n_epochs`` gradient steps of
   PPO's clipped surrogate on those sequences (``clip_range``; the first epoch is the plain
   policy gradient), an entropy bonus (``ent_coef``), gradient clipping. No critic is trained.

``timesteps`` counts the agent's dispatching steps. The run folder (``settings.json``,
``validation.json``, ``best.pt``, ``last.pt``, ``tb/``), resume and ``init_from`` are those of every
trainer (:class:`~cpgym.agents.training.run_folder.RunFolder`); the loop is
:func:`~cpgym.agents.training.engine.train_on_engine`, so CP-guided and self-labelling runs compare
on the same engine at the same wall clock. Details: ``docs/cp_guided.md``; measurements: ``BENCHMARKS.md``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch as th

from cpgym.agents.gnn.batched import BatchedGNN, engine_rollouts
from cpgym.agents.training.engine import Sequences, train_on_engine
from cpgym.agents.training.settings import checked_settings
from cpgym.cp_models.jobshop_cpsat import JobShopSolution, solve_jobshop
from cpgym.envs.batched import BatchedJobShop
from cpgym.errors import ArgumentError
from cpgym.instances import JobShopInstance
from cpgym.parallel import WorkerPool

__all__ = ["CPTargets", "CompletionPool", "cp_targets", "sequences_of", "train_cp_guided"]


# ---------------------------------------------------------------------------------------- CP solves
def _solve(kwargs: dict[str, Any]) -> JobShopSolution:
    return solve_jobshop(**kwargs)


class CompletionPool(WorkerPool):
    """Runs CP-SAT completions in parallel (:class:`cpgym.parallel.WorkerPool`).

    ``workers`` solves run at once (0: one per ``threads`` cores), each with ``threads`` CP-SAT
    threads. With ``backend="ray"`` each solve is a Ray task reserving ``threads`` CPUs on the
    cluster at ``address`` (empty: a local Ray with ``workers * threads`` CPUs).
    """

    def __init__(self, workers: int = 0, threads: int = 1, backend: str = "local", address: str = "") -> None:
        if threads < 1 or workers < 0:
            raise ArgumentError(f"need cp_threads >= 1 and cp_workers >= 0, got {threads} and {workers}")
        super().__init__(workers or max(1, (os.cpu_count() or 1) // threads), backend, address, threads)

    def solve(self, tasks: Sequence[dict[str, Any]]) -> list[JobShopSolution]:
        """``solve_jobshop(**task)`` for every task (``workers`` is set to ``threads``), in order."""
        return self.map(_solve, [{**task, "workers": self.cpus_per_task} for task in tasks])



@dataclass
class CPTargets:
    """The episodes of an iteration and their CP completions, replayed on the engine (``(n, ...)`` tensors).

    ``actions``/``replay_actions`` are ``(n, T)`` action sequences (-1 after the end) of the agent and
    of the CP replay (the same first ``prefix`` actions); ``solved`` is False where CP-SAT found no
    schedule in time or (never with a feasible hint, in practice) a worse one than the agent's.
    """

    instances: list[JobShopInstance]
    actions: th.Tensor
    makespan: th.Tensor
    prefix: th.Tensor
    partial: th.Tensor  # (n, J, M) start times of the prefix, -1 elsewhere
    solved: th.Tensor
    cp_starts: th.Tensor  # (n, J, M) the CP schedules (the agent's own where not solved)
    cp_makespan: th.Tensor
    cp_optimal: th.Tensor
    replay_actions: th.Tensor
    replay_makespan: th.Tensor

    def advantage(self) -> th.Tensor:
        """``(n,)`` relative improvement of the replay over the agent's continuation (0 where not solved)."""
        gain = (self.makespan - self.replay_makespan).double() / self.makespan.double()
        return th.where(self.solved, gain, 0.0)


def _replay_prefix(engine: BatchedJobShop, actions: th.Tensor, prefix: th.Tensor) -> None:
    """Dispatch the first ``prefix[b]`` actions of every episode (engine freshly reset)."""
    for t in range(int(prefix.max()) if len(prefix) else 0):
        engine.step(actions[:, t].clamp(min=0), skip=prefix <= t, check=False)


def _follow(engine: BatchedJobShop, starts: th.Tensor, out: th.Tensor, first: th.Tensor) -> None:
    """Finish every episode dispatching, among the legal jobs, the one whose next operation starts first in
    ``starts (n, J, M)`` (ties: lowest job); write the actions into ``out`` from column ``first[b]`` on."""
    position = first.clone()
    rows = th.arange(engine.batch_size, device=engine.device)
    limit = th.iinfo(th.long).max
    while not bool(engine.done.all()):
        live = ~engine.done
        next_op = engine.next_op.clamp(max=starts.shape[2] - 1)
        key = starts.gather(2, next_op[..., None]).squeeze(2).masked_fill(~engine.mask, limit)
        action = key.argmin(dim=1)  # the first minimum: the lowest job on ties
        out[rows[live], position[live]] = action[live]
        position += live.long()
        engine.step(action, skip=~live, check=False)


def cp_targets(net: BatchedGNN, instances: Sequence[JobShopInstance], mode: str, pool: CompletionPool,
               time_limit: float, generator: th.Generator, rng: np.random.Generator, seed: int = 0,
               prefixes: Sequence[int] | None = None) -> CPTargets:
    """Steps 1-3 of the module doc: sampled episodes, CP completions of random prefixes (``prefixes``
    given: those), and their replays."""
    instances = list(instances)
    device = generator.device
    engine = BatchedJobShop(mode=mode, device=device)
    engine.reset(instances)
    rollouts = engine_rollouts(net, engine, greedy=False, generator=generator)
    schedules = [engine.schedule(b).start_times for b in range(len(instances))]
    if prefixes is None:
        prefixes = [int(rng.integers(0, max(1, inst.n_operations - 1))) for inst in instances]
    prefix = th.as_tensor(list(prefixes), dtype=th.long, device=device)
    engine.reset(instances)
    _replay_prefix(engine, rollouts.actions, prefix)
    partial = engine.start_times.clone()
    tasks = [{"instance": inst, "time_limit": time_limit, "seed": seed, "hint": schedule,
              "fixed_starts": partial[b, : inst.n_jobs, : inst.n_machines].cpu().numpy()}
             for b, (inst, schedule) in enumerate(zip(instances, schedules))]
    solutions = pool.solve(tasks)
    solved = th.tensor([s.schedule is not None and s.makespan <= int(m) for s, m in
                        zip(solutions, rollouts.makespan.tolist())], device=device)
    starts = th.zeros_like(partial)  # the CP schedule; the agent's own where CP failed (weight 0 anyway)
    for b, (solution, schedule) in enumerate(zip(solutions, schedules)):
        chosen = solution.schedule.start_times if bool(solved[b]) else schedule
        starts[b, : chosen.shape[0], : chosen.shape[1]] = th.as_tensor(chosen, device=device)
    replay_actions = rollouts.actions.clone()
    width = th.arange(replay_actions.shape[1], device=device)
    replay_actions[width[None] >= prefix[:, None]] = -1
    _follow(engine, starts, replay_actions, prefix)
    cp_makespan = th.tensor([s.makespan if s.schedule is not None else -1 for s in solutions], device=device)
    cp_optimal = th.tensor([s.status == "optimal" for s in solutions], device=device)
    return CPTargets(instances, rollouts.actions, rollouts.makespan, prefix, partial, solved, starts, cp_makespan,
                     cp_optimal, replay_actions, engine.makespan.clone())


def _shared_length(a: th.Tensor, b: th.Tensor, prefix: th.Tensor) -> th.Tensor:
    """``(n,)`` number of equal actions of ``a`` and ``b`` from column ``prefix[b]`` on (the shared steps)."""
    width = th.arange(a.shape[1], device=a.device)[None]
    after = width >= prefix[:, None]
    differs = (a != b) & after
    first_difference = th.where(differs, width, a.shape[1]).min(dim=1).values
    return first_difference - prefix


def sequences_of(targets: CPTargets) -> Sequences:
    """Step 4 of the module doc: the replay with ``+A`` and the agent's episode with ``-A`` after their
    shared steps, advantages divided by their mean absolute value; rows of zero advantage get weight 0."""
    advantage = targets.advantage().float()
    shared = _shared_length(targets.actions, targets.replay_actions, targets.prefix)
    width = th.arange(targets.actions.shape[1], device=advantage.device)[None]
    trained = width >= (targets.prefix + shared)[:, None]
    kept = advantage != 0
    scale = advantage[kept].abs().mean() if bool(kept.any()) else advantage.new_tensor(1.0)
    weight = (advantage / scale)[:, None] * trained
    actions = th.cat([targets.replay_actions, targets.actions])
    weights = th.cat([weight * (targets.replay_actions >= 0), -weight * (targets.actions >= 0)])
    return Sequences(targets.instances * 2, actions, weights)


def target_stats(targets: CPTargets) -> dict[str, float]:
    """Means over an iteration: agent, CP and replay makespans, relative improvements, exact replays."""
    solved = targets.solved
    stats = {"train/episode_makespan": float(targets.makespan.double().mean()),
             "train/cp_failed": float((~solved).sum())}
    if bool(solved.any()):
        agent, cp = targets.makespan[solved].double(), targets.cp_makespan[solved].double()
        replay = targets.replay_makespan[solved].double()
        stats.update({
            "train/cp_makespan": float(cp.mean()), "train/replay_makespan": float(replay.mean()),
            "train/cp_improvement": float(((agent - cp) / agent).mean()),
            "train/replay_improvement": float(((agent - replay) / agent).mean()),
            "train/replay_exact": float((replay == cp).double().mean()),
            "train/cp_optimal": float(targets.cp_optimal[solved].double().mean()),
        })
    return stats


def train_cp_guided(settings: dict[str, Any], resume: bool = False) -> dict[str, Any]:
    """Train the GNN policy with CP-guided updates as ``settings`` say (missing ones at their
    defaults; see :mod:`cpgym.agents.training.settings`); ``resume`` continues the run in
    ``settings["out"]``. Returns the run's summary, with the number of ``iterations``.

    Reads the settings of :func:`~cpgym.agents.training.engine.train_on_engine` and the ``cp_*``,
    ``ray_address`` settings (``cp_episodes`` episodes per iteration).
    """
    settings = checked_settings({**settings, "algo": "cp-guided"})
    pool = CompletionPool(settings["cp_workers"], settings["cp_threads"], settings["cp_backend"],
                          settings["ray_address"])

    def collect(net: BatchedGNN, instances: list[JobShopInstance], settings: dict[str, Any],
                generator: th.Generator, iteration: int) -> tuple[Sequences, dict[str, float], int]:
        rng = np.random.default_rng([settings["seed"], iteration, 1])
        targets = cp_targets(net, instances, settings["mode"], pool, settings["cp_time_limit"], generator, rng,
                             seed=iteration)
        return sequences_of(targets), target_stats(targets), int((targets.actions >= 0).sum())

    try:
        return train_on_engine(settings, resume, collector=collect)
    finally:
        pool.close()
