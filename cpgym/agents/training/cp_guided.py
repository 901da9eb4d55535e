"""CP-guided end-to-end training of the GNN dispatching policy (after Tassel, Gebser, Schekotihin, ICAPS 2023).

The policy's only problem knowledge is the CP-SAT encoding, used as a teacher. One iteration:

1. **Rollouts.** The current policy samples one episode on each of ``cp_episodes`` generated
   instances (all in lockstep, one batched forward per step; ``mode`` as configured, the paper
   uses ``non_delay``).
2. **CP targets.** For each episode a prefix length ``p`` is drawn uniformly from
   ``0 .. n_ops - 2``; the first ``p`` dispatches stay fixed and CP-SAT completes the rest
   (``solve_jobshop(..., fixed_starts=env.partial_schedule(), hint=agent schedule)``, i.e. the
   env's CP link), warm-started with the agent's own completion, under ``cp_time_limit``. The
   solves run in parallel: a process pool (``cp_backend="local"``) or Ray (``"ray"``).
3. **Replay.** The CP completion is turned into env actions from the prefix state: at each step,
   among the legal jobs, the job whose next operation starts earliest in the CP schedule (ties:
   lowest job). In active mode this is exactly :func:`~cpgym.envs.jobshop_state.start_order_actions`
   and the replay is never longer than the CP schedule. In non_delay mode the CP schedule need
   not be non-delay, so the replay (a non-delay schedule) can be longer than it.
4. **Advantage.** ``A = (agent makespan - replay makespan) / agent makespan``: the issue's relative
   improvement, with the CP makespan replaced by the makespan the replayed actions really reach
   (equal whenever the replay reproduces the CP makespan; the share is logged as
   ``train/replay_exact``). The replay's actions get ``+A``, the agent's own actions after the
   prefix get ``-A`` (a paired comparison of two continuations of the same state, whose mean is
   the baseline). Steps where both continuations agree (same state, same action) cancel and are
   dropped, and so are forced steps (a single legal action). Advantages are divided by their
   mean absolute value (PPO-style normalisation, sign kept).
5. **Update.** PPO's clipped surrogate on those samples (old log-probs: the policy before the
   update; ``clip_range``), an entropy bonus (``ent_coef``), ``n_epochs`` epochs of minibatches of
   ``batch_size`` with gradient clipping, stopped early when the approximate KL of a minibatch
   exceeds ``1.5 * target_kl`` (as SB3 does). No critic is trained.

``timesteps`` counts the agent's environment steps (the same unit as MaskablePPO). The run folder
(``settings.json``, ``validation.json``, ``best.pt``, ``last.pt``, ``tb/``), resume and ``init_from``
are those of MaskablePPO (:class:`~cpgym.agents.training.run_folder.RunFolder`); checkpoints load
with :func:`~cpgym.agents.gnn.checkpoint.load_agent` and decode with
:func:`~cpgym.agents.gnn.decoding.solve_with_agent`. Details: ``docs/cp_guided.md``; measurements: ``BENCHMARKS.md``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch as th
from torch import nn

from cpgym.agents.gnn.checkpoint import build_policy
from cpgym.agents.gnn.decoding import lockstep_rollouts
from cpgym.agents.gnn.policy import JobShopGNNPolicy
from cpgym.agents.training.run_folder import (
    RunFolder,
    architecture_of,
    env_kwargs_of,
    padding_of,
    training_generator,
)
from cpgym.agents.training.settings import checked_settings
from cpgym.cp_models.jobshop_cpsat import JobShopSolution, solve_jobshop
from cpgym.envs.jobshop import GRAPH_FEATURES, JobShopEnv
from cpgym.errors import ArgumentError
from cpgym.instances import JobShopInstance
from cpgym.parallel import WorkerPool


# ---------------------------------------------------------------------------------------- data
@dataclass
class Trajectory:
    """Observations (before each step), masks and actions of consecutive env steps, and the final makespan."""

    observations: list[dict[str, np.ndarray]] = field(default_factory=list)
    masks: list[np.ndarray] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)
    makespan: int = 0


@dataclass
class Episode:
    """One sampled episode of the policy on ``instance``; ``start_times`` is its schedule."""

    instance: JobShopInstance
    trajectory: Trajectory
    start_times: np.ndarray


@dataclass
class CPTarget:
    """CP-SAT's completion of an episode's prefix and its replay in the env."""

    prefix: int
    cp_status: str
    cp_makespan: int
    replay: Trajectory  # the replayed actions from the prefix state on

    def advantage(self, agent_makespan: int) -> float:
        """Relative improvement of the replay over the agent's own continuation (negative if worse)."""
        return (agent_makespan - self.replay.makespan) / agent_makespan


@dataclass
class Batch:
    """Training samples: stacked observations, masks, actions and (raw) advantages."""

    observations: dict[str, np.ndarray]
    masks: np.ndarray
    actions: np.ndarray
    advantages: np.ndarray

    def __len__(self) -> int:
        return len(self.actions)


# ---------------------------------------------------------------------------------------- rollouts
def _env(instance: JobShopInstance, env_kwargs: dict, max_jobs: int, max_machines: int) -> JobShopEnv:
    kwargs = {**env_kwargs, "observation": "graph"}
    return JobShopEnv(instance=instance, max_jobs=max_jobs, max_machines=max_machines, **kwargs)


def collect_episodes(
    policy: JobShopGNNPolicy, instances: Sequence[JobShopInstance], env_kwargs: dict, generator: th.Generator
) -> list[Episode]:
    """One sampled episode per instance, all envs in lockstep (one batched forward per step, see
    :func:`~cpgym.agents.gnn.decoding.lockstep_rollouts`); ``generator`` drives the sampling."""
    max_jobs = max(i.n_jobs for i in instances)
    max_machines = max(i.n_machines for i in instances)
    envs = [_env(instance, env_kwargs, max_jobs, max_machines) for instance in instances]
    observations = [env.reset(seed=0)[0] for env in envs]
    rollouts = lockstep_rollouts(policy, envs, observations, [False] * len(envs), generator, record=True,
                                 forced_steps=True)
    return [Episode(instance, Trajectory(r.observations, r.masks, r.actions, r.schedule.makespan),
                    r.schedule.start_times) for instance, r in zip(instances, rollouts)]


def start_episode(instance: JobShopInstance, env_kwargs: dict, prefix: Sequence[int], max_jobs: int,
                  max_machines: int) -> tuple[JobShopEnv, dict[str, np.ndarray]]:
    """A fresh env on ``instance`` after dispatching ``prefix``, and its current observation."""
    env = _env(instance, env_kwargs, max_jobs, max_machines)
    observation = env.reset(seed=0)[0]
    for action in prefix:
        observation = env.step(action)[0]
    return env, observation


def replay_completion(env: JobShopEnv, observation: dict[str, np.ndarray], cp_start_times: np.ndarray) -> Trajectory:
    """Finish ``env``'s episode following a complete schedule, recording the steps.

    At each step: the legal job whose next operation starts earliest in ``cp_start_times``
    (ties: lowest job). ``observation`` is the env's current observation.
    """
    state = env.state
    trajectory = Trajectory()
    rows = np.arange(state.n_jobs)
    while not state.done:
        mask = env.action_masks()
        next_starts = cp_start_times[rows, np.minimum(state.next_op, state.n_machines - 1)]
        legal = np.flatnonzero(mask[: state.n_jobs])
        action = int(legal[np.argmin(next_starts[legal])])  # argmin keeps the first (lowest job) on ties
        trajectory.observations.append(observation)
        trajectory.masks.append(mask)
        trajectory.actions.append(action)
        observation = env.step(action)[0]
    trajectory.makespan = int(state.makespan)
    return trajectory


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


def cp_targets(
    episodes: Sequence[Episode], prefixes: Sequence[int], pool: CompletionPool, env_kwargs: dict,
    time_limit: float, seed: int = 0,
) -> list[CPTarget | None]:
    """For each episode: CP-SAT completes its first ``prefix`` dispatches (hinted with the episode's
    schedule) and the completion is replayed from the prefix state. ``None`` where CP-SAT found no
    schedule in time, or (never with a feasible hint, in practice) a worse one than the agent's."""
    max_jobs = max(e.instance.n_jobs for e in episodes)
    max_machines = max(e.instance.n_machines for e in episodes)
    starts = [start_episode(e.instance, env_kwargs, e.trajectory.actions[:p], max_jobs, max_machines)
              for e, p in zip(episodes, prefixes)]
    tasks = [{"instance": e.instance, "time_limit": time_limit, "seed": seed, "hint": e.start_times,
              "fixed_starts": env.partial_schedule()} for e, (env, _) in zip(episodes, starts)]
    targets: list[CPTarget | None] = []
    for episode, prefix, (env, observation), solution in zip(episodes, prefixes, starts, pool.solve(tasks)):
        if solution.schedule is None or solution.makespan > episode.trajectory.makespan:
            targets.append(None)
            continue
        replay = replay_completion(env, observation, solution.schedule.start_times)
        targets.append(CPTarget(prefix, solution.status, int(solution.makespan), replay))
    return targets


def _common_length(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def build_batch(episodes: Sequence[Episode], targets: Sequence[CPTarget | None]) -> Batch | None:
    """Replay steps with ``+A``, the agent's steps after the prefix with ``-A`` (see the module doc).

    Steps both continuations share (same state, same action) are dropped, and so are forced
    steps (one legal action) and episodes without a target or with ``A == 0``. ``None`` when
    nothing is left.
    """
    observations: list[dict[str, np.ndarray]] = []
    masks: list[np.ndarray] = []
    actions: list[int] = []
    advantages: list[float] = []
    for episode, target in zip(episodes, targets):
        if target is None:
            continue
        advantage = target.advantage(episode.trajectory.makespan)
        if advantage == 0:
            continue
        own = episode.trajectory
        shared = _common_length(own.actions[target.prefix:], target.replay.actions)
        for trajectory, first, sign in ((target.replay, shared, 1.0), (own, target.prefix + shared, -1.0)):
            for step in range(first, len(trajectory.actions)):
                if trajectory.masks[step].sum() > 1:  # a forced move has log-probability 0: nothing to learn
                    observations.append(trajectory.observations[step])
                    masks.append(trajectory.masks[step])
                    actions.append(trajectory.actions[step])
                    advantages.append(sign * advantage)
    if not actions:
        return None
    stacked = {key: np.stack([obs[key] for obs in observations]) for key in observations[0]}
    return Batch(stacked, np.stack(masks), np.asarray(actions, dtype=np.int64), np.asarray(advantages))


def target_stats(episodes: Sequence[Episode], targets: Sequence[CPTarget | None]) -> dict[str, float]:
    """Means over an iteration: agent, CP and replay makespans, relative improvements, exact replays."""
    pairs = [(e.trajectory.makespan, t) for e, t in zip(episodes, targets) if t is not None]
    stats = {"episode_makespan": mean([e.trajectory.makespan for e in episodes]),
             "cp_failed": float(len(episodes) - len(pairs))}
    if pairs:
        stats.update(
            cp_makespan=mean([t.cp_makespan for _, t in pairs]),
            replay_makespan=mean([t.replay.makespan for _, t in pairs]),
            cp_improvement=mean([(m - t.cp_makespan) / m for m, t in pairs]),
            replay_improvement=mean([t.advantage(m) for m, t in pairs]),
            replay_exact=mean([float(t.replay.makespan == t.cp_makespan) for _, t in pairs]),
            cp_optimal=mean([float(t.cp_status == "optimal") for _, t in pairs]),
        )
    return stats


# ---------------------------------------------------------------------------------------- update
def _evaluate(policy: JobShopGNNPolicy, batch: Batch, index: np.ndarray) -> tuple[th.Tensor, th.Tensor]:
    """Log-probabilities of the batch's actions at ``index`` and the policy's entropies there."""
    device = policy.device
    observations = {key: th.as_tensor(value[index], device=device) for key, value in batch.observations.items()}
    actions = th.as_tensor(batch.actions[index], device=device)
    _, log_prob, entropy = policy.evaluate_actions(observations, actions, action_masks=batch.masks[index])
    return log_prob, entropy


def cp_guided_update(
    policy: JobShopGNNPolicy, batch: Batch, *, n_epochs: int = 4, batch_size: int = 512, clip_range: float = 0.2,
    ent_coef: float = 0.0, max_grad_norm: float = 0.5, target_kl: float = 0.02, seed: int = 0,
) -> dict[str, float]:
    """Clipped-surrogate epochs on ``batch`` with ``policy.optimizer``; returns loss statistics.

    The old log-probabilities are the policy's before the update. Advantages are divided by their
    mean absolute value. An epoch stops when a minibatch's approximate KL
    (``mean((r - 1) - log r)``) exceeds ``1.5 * target_kl`` (``target_kl <= 0``: never).
    """
    n = len(batch)
    order = np.arange(n)
    chunks = [order[i: i + batch_size] for i in range(0, n, batch_size)]
    policy.set_training_mode(False)
    with th.no_grad():
        old_log_prob = th.cat([_evaluate(policy, batch, chunk)[0] for chunk in chunks])
    advantages = th.as_tensor(batch.advantages / max(np.abs(batch.advantages).mean(), 1e-12),
                              dtype=th.float32, device=policy.device)
    rng = np.random.default_rng(seed)
    losses, entropies, clipped, kl, updates = [], [], [], 0.0, 0
    policy.set_training_mode(True)
    stopped = False
    for _ in range(n_epochs):
        permutation = rng.permutation(n)
        for i in range(0, n, batch_size):
            index = permutation[i: i + batch_size]
            log_prob, entropy = _evaluate(policy, batch, index)
            log_ratio = log_prob - old_log_prob[index]
            ratio = th.exp(log_ratio)
            with th.no_grad():
                kl = float(((ratio - 1) - log_ratio).mean())
            if target_kl > 0 and kl > 1.5 * target_kl:
                stopped = True
                break
            advantage = advantages[index]
            surrogate = th.min(ratio * advantage, th.clamp(ratio, 1 - clip_range, 1 + clip_range) * advantage)
            loss = -surrogate.mean() - ent_coef * entropy.mean()
            policy.optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(policy.parameters(), max_grad_norm)
            policy.optimizer.step()
            updates += 1
            losses.append(-float(surrogate.mean().detach()))
            entropies.append(float(entropy.mean().detach()))
            clipped.append(float(((ratio - 1).abs() > clip_range).float().mean()))
        if stopped:
            break
    policy.set_training_mode(False)
    return {"policy_loss": mean(losses), "entropy": mean(entropies), "clip_fraction": mean(clipped),
            "approx_kl": kl, "gradient_steps": float(updates), "early_stop": float(stopped),
            "samples": float(n)}


def mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


# ---------------------------------------------------------------------------------------- training
def _new_policy(settings: dict[str, Any]) -> JobShopGNNPolicy:
    """A freshly initialised policy (seeded by ``seed``) for the training envs, Adam at ``learning_rate``."""
    env = JobShopEnv(generator=training_generator(settings), observation="graph", **padding_of(settings),
                     **env_kwargs_of(settings))
    config = {"n_features": len(GRAPH_FEATURES), **architecture_of(settings)}
    th.manual_seed(settings["seed"])
    policy = build_policy(config, env.observation_space, env.action_space, settings["device"])
    for group in policy.optimizer.param_groups:
        group["lr"] = settings["learning_rate"]
    return policy


def train_cp_guided(settings: dict[str, Any], resume: bool = False) -> dict[str, Any]:
    """Train the GNN policy with CP-guided updates as ``settings`` say (missing ones at their
    defaults; see :mod:`cpgym.agents.training.settings`); ``resume`` continues the run in
    ``settings["out"]``. Returns the run's summary, with the number of ``iterations``.

    Reads ``size, timesteps, device, out, seed, mode, reward, reward_scale, duration_low,
    duration_high, two_set_share, val_*, hidden_dim, n_layers, aggr, head_layers, activation,
    learning_rate, batch_size, n_epochs, clip_range, ent_coef, max_grad_norm, init_from,
    progress_bar, verbose`` and the ``cp_*``, ``ray_address`` and ``target_kl`` settings.
    """
    from tqdm import tqdm

    settings = checked_settings({**settings, "algo": "cp-guided"})
    run = RunFolder(settings, resume)
    policy = _new_policy(settings)
    run.start(policy)
    generator = training_generator(settings)
    bar = tqdm(total=settings["timesteps"], initial=run.trained, unit="step", dynamic_ncols=True,
               desc=f"cp-guided {settings['size']}", disable=not settings["progress_bar"])
    pool = CompletionPool(settings["cp_workers"], settings["cp_threads"], settings["cp_backend"],
                          settings["ray_address"])
    try:
        with run.checkpointing(policy):
            while run.trained < settings["timesteps"]:
                stats = _iteration(policy, settings, generator, pool, run.n_updates)
                run.trained += int(stats.pop("steps"))
                run.n_updates += 1
                for key, value in stats.items():
                    run.logger.record(key, value)
                run.logger.record("train/iterations", run.n_updates)
                if run.trained - run.last_validated >= settings["val_every"] or run.trained >= settings["timesteps"]:
                    record = run.validate(policy)
                    bar.set_postfix(val_gap=f"{record['mean_gap_pct']:.2f}%")
                run.logger.dump(run.trained)
                bar.update(run.trained - bar.n)
    finally:
        pool.close()
        bar.close()
    return {**run.summary(), "iterations": run.n_updates}


def _iteration(
    policy: JobShopGNNPolicy,
    settings: dict[str, Any],
    generator: Callable[[np.random.Generator], JobShopInstance],
    pool: CompletionPool,
    iteration: int,
) -> dict[str, float]:
    """Rollouts, CP targets and one update; the randomness is a function of (seed, iteration) only."""
    started = time.perf_counter()
    rng = np.random.default_rng([settings["seed"], iteration])
    instances = [generator(rng) for _ in range(settings["cp_episodes"])]
    sampler = th.Generator(device=policy.device).manual_seed(int(rng.integers(2**62)))
    env_kwargs = env_kwargs_of(settings)
    episodes = collect_episodes(policy, instances, env_kwargs, sampler)
    prefixes = [int(rng.integers(0, max(1, len(e.trajectory.actions) - 1))) for e in episodes]
    rolled = time.perf_counter()
    targets = cp_targets(episodes, prefixes, pool, env_kwargs, settings["cp_time_limit"], seed=iteration)
    solved = time.perf_counter()
    stats = {f"train/{key}": value for key, value in target_stats(episodes, targets).items()}
    batch = build_batch(episodes, targets)
    if batch is not None:
        losses = cp_guided_update(
            policy, batch, n_epochs=settings["n_epochs"], batch_size=settings["batch_size"],
            clip_range=settings["clip_range"], ent_coef=settings["ent_coef"],
            max_grad_norm=settings["max_grad_norm"], target_kl=settings["target_kl"], seed=iteration,
        )
        stats.update({f"train/{key}": value for key, value in losses.items()})
    finished = time.perf_counter()
    steps = sum(len(e.trajectory.actions) for e in episodes)
    stats.update({"time/rollout_s": rolled - started, "time/cp_s": solved - rolled,
                  "time/update_s": finished - solved, "time/fps": steps / (finished - started), "steps": steps})
    return stats
