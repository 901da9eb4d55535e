"""Greedy and best-of-N decoding of the flexible job-shop GNN (rollouts in lockstep, batched).

:func:`lockstep_rollouts` runs one episode per copy of an instance, one batched forward pass per
dispatching step for the copies that have a choice (a step with one legal action skips the
network); :func:`solve_fjsp_with_agent` keeps the best of a greedy rollout and sampled ones.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch as th

from cpgym.agents.directions import best_of_both_directions
from cpgym.agents.fjsp_gnn.checkpoint import FlexibleGNNAgent, check_sample_modes
from cpgym.agents.fjsp_gnn.policy import FlexibleGNNPolicy
from cpgym.envs.fjsp import FlexibleJobShopEnv
from cpgym.errors import ArgumentError, TimeLimitReached, check_seconds, check_temperatures
from cpgym.instances.fjsp import FlexibleJobShopInstance
from cpgym.instances.fjsp_schedule import FlexibleSchedule

MAX_LOCKSTEP = 64  # rollouts batched in one forward pass at most


@dataclass
class Rollout:
    """One episode: the env actions taken and the final schedule (None when stopped early)."""

    actions: list[int] = field(default_factory=list)
    schedule: FlexibleSchedule | None = None

    @property
    def makespan(self) -> int:
        return self.schedule.makespan if self.schedule is not None else 2**62


def lockstep_rollouts(policy: FlexibleGNNPolicy, instance: FlexibleJobShopInstance, mode: str | Sequence[str],
                      greedy: Sequence[bool], generator: th.Generator, deadline: float | None = None,
                      temperature: float | Sequence[float] = 1.0) -> list[Rollout]:
    """One episode per entry of ``greedy`` (argmax where True, else sampled with ``generator`` from the
    softmax of the logits divided by ``temperature``), in lockstep; past ``deadline`` (a
    ``time.perf_counter()`` value) it stops and returns the unfinished rollouts without a schedule.
    ``mode`` and ``temperature`` are one for all rollouts or one per rollout."""
    modes = [mode] * len(greedy) if isinstance(mode, str) else list(mode)
    temperatures = [temperature] * len(greedy) if isinstance(temperature, int | float) else list(temperature)
    if not len(modes) == len(temperatures) == len(greedy):
        raise ArgumentError(f"one mode and one temperature per rollout: {len(greedy)} rollouts, "
                            f"{len(modes)} modes, {len(temperatures)} temperatures")
    heat = th.tensor(temperatures, device=policy.device)
    envs = [FlexibleJobShopEnv(instance=instance, mode=mode) for mode in modes]
    observations = [env.reset(seed=0)[0] for env in envs]
    rollouts = [Rollout() for _ in envs]
    active = list(range(len(envs)))
    while active:
        if deadline is not None and time.perf_counter() > deadline:
            break
        choosing = [i for i in active if observations[i]["action_mask"].sum() > 1]
        actions = {i: int(observations[i]["action_mask"].argmax()) for i in active}
        if choosing:
            with th.no_grad():
                logits = policy.logits([observations[i] for i in choosing])
            chosen = logits.argmax(dim=-1)
            if not all(greedy[i] for i in choosing):
                scale = heat[th.tensor(choosing, device=heat.device)][:, None]
                sampled = th.multinomial(th.softmax(logits / scale, dim=-1), 1, generator=generator).squeeze(-1)
                chosen = th.where(th.tensor([greedy[i] for i in choosing]), chosen, sampled)
            actions.update(zip(choosing, chosen.tolist()))
        still = []
        for i in active:
            rollouts[i].actions.append(actions[i])
            observations[i], _, terminated, _, info = envs[i].step(actions[i])
            if terminated:
                rollouts[i].schedule = info["schedule"]
            else:
                still.append(i)
        active = still
    return rollouts


def solve_fjsp_with_agent(agent: FlexibleGNNAgent, instance: FlexibleJobShopInstance, samples: int = 0,
                          seed: int = 0, time_limit: float | None = None,
                          stop_after: float | None = None, both_directions: bool = False,
                          temperature: float | Sequence[float] | None = None,
                          modes: Sequence[str] | None = None) -> FlexibleSchedule:
    """Schedule ``instance`` (any size; a job-shop instance converted) with ``agent``: greedy when
    ``samples <= 1``, else the best of ``samples`` rollouts (rollout 0 greedy, the others sampled
    with a torch generator seeded by ``seed``, from the softmax of the logits divided by a temperature),
    never worse than greedy.

    The greedy rollout runs in the agent's env mode. The sampled rollouts take in turn every pair of an
    env mode of ``modes`` and a temperature of ``temperature`` (one number or several; modes outer,
    temperatures inner). None: the agent's own,
    :attr:`~cpgym.agents.fjsp_gnn.checkpoint.FlexibleGNNAgent.sample_modes` and
    :attr:`~cpgym.agents.fjsp_gnn.checkpoint.FlexibleGNNAgent.temperatures`.

    ``time_limit`` (seconds >= 0) is a sampling budget: after the greedy rollout, sampled rollouts run
    in growing lockstep batches while the next batch is expected to end within it (at most ``samples``
    rollouts in all when ``samples > 0``). ``stop_after`` (seconds) is a hard limit: past it an
    unfinished greedy rollout raises :class:`~cpgym.errors.TimeLimitReached` and sampling stops.

    ``both_directions`` splits the rollouts between ``instance`` (``ceil(samples / 2)``, and the first
    half of ``time_limit``) and its time reversal (the rest, a greedy rollout first; its schedule read
    backwards, :meth:`~cpgym.instances.fjsp_schedule.FlexibleSchedule.read_backwards`): the same number of rollouts,
    from two views of the instance with the same optimum.
    """
    if both_directions:
        def decode(view: FlexibleJobShopInstance, count: int, budget: float | None, hard: float | None):
            return solve_fjsp_with_agent(agent, view, count, seed, budget, hard, temperature=temperature, modes=modes)

        return best_of_both_directions(decode, instance, samples, time_limit, stop_after,
                                       lambda mirror: mirror.read_backwards(instance))
    if time_limit is not None and not 0 <= time_limit < float("inf"):
        raise ArgumentError(f"a sampling time limit must be a finite number of seconds >= 0, got {time_limit!r}")
    settings = list(itertools.product(agent.sample_modes if modes is None else check_sample_modes(modes),
                                      agent.temperatures if temperature is None else check_temperatures(temperature)))
    started = time.perf_counter()
    deadline = None if stop_after is None else started + check_seconds(stop_after, "stop_after")
    policy = agent.policy
    generator = th.Generator(device=policy.device).manual_seed(seed)

    def rollouts(begin: int, size: int) -> Rollout:
        """The best of rollouts ``begin .. begin + size - 1``: 0 is the greedy one (in the agent's mode; its
        temperature is unused), the others take the settings in turn."""
        indices = range(begin, begin + size)
        chosen = [(agent.mode, settings[0][1]) if index == 0 else settings[(index - 1) % len(settings)]
                  for index in indices]
        return best_rollout(lockstep_rollouts(policy, instance, [mode for mode, _ in chosen],
                                              [index == 0 for index in indices], generator, deadline,
                                              [heat for _, heat in chosen]))

    most = max(1, samples) if samples > 0 or time_limit is None else None
    first = 1 if time_limit is not None else min(most, MAX_LOCKSTEP)
    best = rollouts(0, first)
    if best.schedule is None:
        raise TimeLimitReached(f"the flexible GNN agent did not finish {instance.name} within {stop_after} s")
    count, size = first, 1
    limit = min(limit for limit in (time_limit, stop_after, float("inf")) if limit is not None)
    while most is None or count < most:
        size = min(2 * size if time_limit is not None else MAX_LOCKSTEP, MAX_LOCKSTEP)
        if most is not None:
            size = min(size, most - count)
        elapsed = time.perf_counter() - started
        fits = (limit - elapsed) / (elapsed / count)  # rollouts expected to end in time, at the rate so far
        size = min(size, int(fits)) if fits < size else size
        if size < 1:
            break
        batch = rollouts(count, size)
        if batch.makespan < best.makespan:
            best = batch
        count += size
    return best.schedule


def best_rollout(rollouts: list[Rollout]) -> Rollout:
    """The finished rollout of smallest makespan (the first on ties), or an unfinished one."""
    return min(rollouts, key=lambda rollout: rollout.makespan)
