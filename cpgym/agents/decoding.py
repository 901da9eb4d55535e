"""Decoding a job-shop schedule with a trained policy: greedy, or best of N batched samples.

Sampling runs N copies of the environment in lockstep and does one batched forward pass per
dispatching step for all unfinished copies, so N samples cost N environment steps but about
one network evaluation per step. Rollout 0 is always the greedy (argmax) rollout, so the best
of N is never worse than greedy. Steps with a single legal job (frequent in non-delay mode) skip
the network.
"""

from __future__ import annotations

import numpy as np
import torch as th
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy

from cpgym.agents.checkpoint import GNNAgent
from cpgym.envs.jobshop import JobShopEnv
from cpgym.instances import JobShopInstance, Schedule


def solve_with_agent(
    agent: GNNAgent | MaskableActorCriticPolicy,
    instance: JobShopInstance,
    mode: str | None = None,
    samples: int = 0,
    seed: int = 0,
    env_kwargs: dict | None = None,
) -> Schedule:
    """Schedule ``instance`` with ``agent`` (any size): greedy if ``samples <= 1``, else best of ``samples``.

    ``mode`` (and ``env_kwargs``) override the env settings stored with a loaded agent; the
    observation is always the graph one. Sampling is seeded by ``seed`` (a private torch
    generator; the global RNG is untouched).
    """
    policy, kwargs = (agent.policy, agent.env_kwargs) if isinstance(agent, GNNAgent) else (agent, {})
    kwargs.update(env_kwargs or {})
    if mode is not None:
        kwargs["mode"] = mode
    kwargs.update(instance=instance, observation="graph")
    envs = [JobShopEnv(**kwargs) for _ in range(max(1, samples))]
    observations = [env.reset(seed=seed)[0] for env in envs]
    generator = th.Generator(device=policy.device).manual_seed(seed)
    schedules: list[Schedule | None] = [None] * len(envs)
    policy.set_training_mode(False)
    active = list(range(len(envs)))
    while active:
        masks = np.stack([envs[i].action_masks() for i in active])
        actions = masks.argmax(axis=1)  # the only legal job where there is one: no network call needed
        choice = np.flatnonzero(masks.sum(axis=1) > 1)
        if len(choice):
            actions[choice] = _policy_actions(policy, [observations[active[c]] for c in choice], masks[choice],
                                              [active[c] == 0 for c in choice], generator, len(envs) > 1)
        still_active = []
        for i, action in zip(active, actions.tolist()):
            observations[i], _, terminated, truncated, info = envs[i].step(action)
            if terminated or truncated:
                schedules[i] = _schedule(instance, info)
            else:
                still_active.append(i)
        active = still_active
    return min(schedules, key=lambda schedule: schedule.makespan)


def _policy_actions(policy, observations: list[dict], masks: np.ndarray, greedy: list[bool],
                    generator: th.Generator, sample: bool) -> np.ndarray:
    """One batched forward pass: argmax actions, or sampled ones where ``sample`` and not ``greedy``."""
    batch = {key: th.as_tensor(np.stack([obs[key] for obs in observations]), device=policy.device)
             for key in observations[0]}
    with th.no_grad():
        logits = policy.get_distribution(batch, masks).distribution.logits
    actions = logits.argmax(dim=-1)
    if sample:
        sampled = th.multinomial(th.softmax(logits, dim=-1), 1, generator=generator).squeeze(-1)
        actions = th.where(th.as_tensor(greedy, device=logits.device), actions, sampled)
    return actions.cpu().numpy()


def _schedule(instance: JobShopInstance, info: dict) -> Schedule:
    schedule = info["schedule"]
    return schedule if isinstance(schedule, Schedule) else Schedule(instance, np.asarray(schedule))
