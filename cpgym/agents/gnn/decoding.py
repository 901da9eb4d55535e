"""Decoding a job-shop schedule with a trained policy: greedy, best of N samples, or POMO-style starts.

Rollout 0 is always the greedy (argmax) rollout, so the best of N is never worse than greedy.
With a ``time_limit``, sampling goes on while the next rollout(s) are expected to finish in time.
Steps with a single legal job (frequent in non-delay mode) skip the network. Two engines:

- ``"incremental"`` (CPU only): one rollout at a time, the GNN embeddings updated incrementally
  (:mod:`cpgym.agents.gnn.incremental`): a step costs about the work of the few rows it changes, so
  greedy decoding of a 10,000-operation instance takes seconds instead of minutes;
- ``"batched"``: the rollouts run as one batch of the tensor engine
  (:class:`~cpgym.envs.batched.BatchedJobShop`), one forward pass of :class:`~cpgym.agents.gnn.batched.BatchedGNN`
  per dispatching step for all unfinished copies (in chunks of at most :data:`CHUNK_NODES` nodes).

``"auto"`` (the default) decodes greedily with the incremental engine on a CPU and samples with the
batched one, except on instances of more than :data:`BATCHED_MAX_OPERATIONS` operations (measured
in ``BENCHMARKS.md``). Both sample from the same policy distribution with different random streams
(NumPy vs torch).
"""

from __future__ import annotations

import time

import numpy as np
import torch as th
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy

from cpgym.agents.directions import best_of_both_directions
from cpgym.agents.gnn.batched import BatchedGNN, engine_rollouts
from cpgym.agents.gnn.checkpoint import GNNAgent
from cpgym.agents.gnn.incremental import IncrementalEncoder
from cpgym.envs.batched import BatchedJobShop
from cpgym.envs.jobshop import JobShopEnv
from cpgym.envs.jobshop_state import MODES
from cpgym.errors import ArgumentError, TimeLimitReached, check_seconds
from cpgym.instances import JobShopInstance, Schedule

ENGINES = ("auto", "incremental", "batched")
BATCHED_MAX_OPERATIONS = 2_500  # "auto" samples larger instances with the incremental engine
CHUNK_NODES = 2**16  # most graph nodes in one batched forward pass (rollouts x operations)


def solve_with_agent(
    agent: GNNAgent | MaskableActorCriticPolicy,
    instance: JobShopInstance,
    mode: str | None = None,
    samples: int = 0,
    seed: int = 0,
    env_kwargs: dict | None = None,
    engine: str = "auto",
    time_limit: float | None = None,
    stop_after: float | None = None,
    pomo: bool = False,
    both_directions: bool = False,
) -> Schedule:
    """Schedule ``instance`` with ``agent`` (any size): greedy if ``samples <= 1``, else best of ``samples``.

    ``mode`` (and ``env_kwargs``) override the env settings stored with a loaded agent; the
    observation is always the graph one. Sampling is seeded by ``seed`` (private random streams;
    the global RNGs are untouched). ``engine`` is ``"auto"``, ``"incremental"`` or ``"batched"`` (module doc).

    ``time_limit`` (seconds >= 0) is a sampling budget: after the greedy rollout, which always runs,
    rollouts are sampled while the next ones are expected to end within it (at most ``samples`` in all
    when ``samples > 0``). ``stop_after`` (seconds) is a hard limit: past it the greedy rollout raises
    :class:`~cpgym.errors.TimeLimitReached` and sampling stops. ``pomo`` (batched engine) adds one greedy
    rollout per job that starts with that job (POMO-style multiple starts) after rollout 0; the sampled
    rollouts, if any, come after them. ``both_directions`` gives half the rollouts (and the first half of
    ``time_limit``) to ``instance`` and the rest to its time reversal, read backwards
    (:func:`~cpgym.agents.directions.best_of_both_directions`).
    """
    if both_directions:
        def decode(view: JobShopInstance, count: int, budget: float | None, hard: float | None) -> Schedule:
            return decode_with_agent(agent, view, mode, count, seed, env_kwargs, engine, budget, hard, pomo)[0]

        return best_of_both_directions(decode, instance, samples, time_limit, stop_after,
                                       lambda mirror: mirror.read_backwards(instance))
    return decode_with_agent(agent, instance, mode, samples, seed, env_kwargs, engine, time_limit, stop_after,
                             pomo)[0]


def decode_with_agent(
    agent: GNNAgent | MaskableActorCriticPolicy,
    instance: JobShopInstance,
    mode: str | None = None,
    samples: int = 0,
    seed: int = 0,
    env_kwargs: dict | None = None,
    engine: str = "auto",
    time_limit: float | None = None,
    stop_after: float | None = None,
    pomo: bool = False,
) -> tuple[Schedule, list[int]]:
    """:func:`solve_with_agent` that also returns the env actions of the best rollout (to replay it)."""
    policy, kwargs = (agent.policy, dict(agent.env_kwargs)) if isinstance(agent, GNNAgent) else (agent, {})
    kwargs.update(env_kwargs or {})
    if mode is not None:
        kwargs["mode"] = mode
    kwargs.update(instance=instance, observation="graph")
    if engine not in ENGINES:
        raise ArgumentError(f"unknown decoding engine {engine!r}; known: {', '.join(ENGINES)}")
    if time_limit is not None and not 0 <= time_limit < float("inf"):
        raise ArgumentError(f"a sampling time limit must be a finite number of seconds >= 0, got {time_limit!r}")
    if stop_after is not None:
        check_seconds(stop_after, "stop_after")
    sampling = samples > 1 or pomo or (time_limit is not None and samples != 1)
    if engine == "auto":
        batched = policy.device.type != "cpu" or (sampling and instance.n_operations <= BATCHED_MAX_OPERATIONS)
        engine = "batched" if batched else "incremental"
    if engine == "incremental":
        if policy.device.type != "cpu":
            raise ArgumentError("the incremental engine runs on the CPU; use engine='batched' for a GPU policy")
        if pomo:
            raise ArgumentError("POMO starts need the batched engine (engine='batched' or 'auto')")
        return _incremental_rollouts(policy, kwargs, samples, seed, time_limit, stop_after)
    return _engine_best(policy, instance, kwargs.get("mode", "non_delay"), samples, seed, time_limit, stop_after,
                        pomo)


def _incremental_rollouts(policy, env_kwargs: dict, samples: int, seed: int,
                          time_limit: float | None, stop_after: float | None) -> tuple[Schedule, list[int]]:
    """The best of the greedy rollout and the sampled ones (``samples`` in all, or as many as
    ``time_limit`` allows), all starting from one shared first forward pass."""
    started = time.perf_counter()
    deadline = None if stop_after is None else started + stop_after
    limits = [limit for limit in (time_limit, stop_after) if limit is not None]
    limit = min(limits) if limits else None
    env = JobShopEnv(**env_kwargs)
    env.share_observations = True  # the encoder keeps its own copies
    start = IncrementalEncoder(policy)
    start.reset(env.reset(seed=seed)[0])
    best = _incremental_rollout(start.copy(), env, seed, 0, deadline)
    count = 1
    most = samples if samples > 0 else (None if time_limit is not None else 1)
    while most is None or count < most:
        per_rollout = (time.perf_counter() - started) / count
        if limit is not None and (count + 1) * per_rollout > limit:  # the next would overrun
            break
        rollout = _incremental_rollout(start.copy(), env, seed, count)
        if rollout[0].makespan < best[0].makespan:
            best = rollout
        count += 1
    return best


def _engine_best(policy, instance: JobShopInstance, mode: str, samples: int, seed: int, time_limit: float | None,
                 stop_after: float | None, pomo: bool) -> tuple[Schedule, list[int]]:
    """The best of the batched-engine rollouts: greedy, then (``pomo``) one greedy rollout per first job,
    then sampled ones (``samples`` in all, or as many as ``time_limit`` allows), in chunks of at most
    :data:`CHUNK_NODES` nodes; with a time limit the first chunk is the greedy rollout alone and each
    next one doubles while the limit allows it."""
    if mode not in MODES:
        raise ArgumentError(f"unknown mode {mode!r}; known: {', '.join(MODES)}")
    started = time.perf_counter()
    deadline = None if stop_after is None else started + stop_after
    limits = [limit for limit in (time_limit, stop_after) if limit is not None]
    limit = min(limits) if limits else None
    starts = instance.n_jobs if pomo else 0
    if samples > 0:
        total = max(samples, 1 + starts)
    else:
        total = None if time_limit is not None else 1 + starts
    widest = max(1, CHUNK_NODES // max(1, instance.n_operations))
    chunk = 1 if limit is not None else min(widest, total)  # with a limit: greedy alone, then doubling
    net = BatchedGNN(policy)
    engine = BatchedJobShop(mode=mode, device=policy.device)
    generator = th.Generator(device=policy.device).manual_seed(seed)
    best: tuple[int, Schedule, list[int]] | None = None
    done = 0
    while total is None or done < total:
        n = chunk if total is None else min(chunk, total - done)
        index = th.arange(done, done + n, device=policy.device)
        engine.reset([instance] * n)
        first = th.where((index >= 1) & (index <= starts), index - 1, -1)
        try:
            rollouts = engine_rollouts(net, engine, greedy=index <= starts, generator=generator,
                                       first_actions=first if bool((first >= 0).any()) else None, deadline=deadline)
        except TimeLimitReached:
            if best is None:
                raise TimeLimitReached(f"the GNN agent did not finish {instance.name} in time") from None
            break
        i = int(rollouts.makespan.argmin())
        if best is None or int(rollouts.makespan[i]) < best[0]:
            actions = rollouts.actions[i]
            best = (int(rollouts.makespan[i]), engine.schedule(i), actions[actions >= 0].tolist())
        done += n
        if limit is not None:
            elapsed = time.perf_counter() - started
            per_rollout = elapsed / done
            if elapsed + per_rollout * n > limit:  # the next chunk (as large as this one) would overrun
                if elapsed + per_rollout > limit:
                    break
                chunk = max(1, int((limit - elapsed) / per_rollout))
            else:
                chunk = min(widest, 2 * n)
    return best[1], best[2]


def _incremental_rollout(encoder: IncrementalEncoder, env: JobShopEnv, seed: int, sample: int,
                         deadline: float | None = None) -> tuple[Schedule, list[int]]:
    """One rollout from ``encoder``, already reset to the env's first observation (embeddings caught up
    only at real decisions): greedy for ``sample == 0``, else sampled with the NumPy stream ``(seed, sample)``;
    :class:`~cpgym.errors.TimeLimitReached` once ``time.perf_counter()`` passes ``deadline``."""
    observation, _ = env.reset(seed=seed)
    rng = np.random.default_rng([seed, sample])
    actions = []
    while True:
        mask = observation["action_mask"]
        if mask.sum() == 1:
            action = int(mask.argmax())
        else:
            encoder.step(observation)
            logits = encoder.logits(observation)
            if sample == 0:
                action = int(logits.argmax())
            else:
                weights = np.exp(logits - logits.max())
                cumulative = np.cumsum(weights)
                action = min(int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right")),
                             len(weights) - 1)
        actions.append(action)
        observation, _, terminated, _, info = env.step(action)
        if terminated:
            return info["schedule"], actions
        if deadline is not None and time.perf_counter() > deadline:
            raise TimeLimitReached(f"the GNN agent did not finish {env.instance.name} in time")
