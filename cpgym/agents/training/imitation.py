"""Behaviour cloning of the best of several teachers: a warm start for the GNN policy before MaskablePPO.

PPO from a random policy on small instances learns a rule that is good on the training size but
generalises poorly to instances with many more jobs than machines (see BENCHMARKS.md). Cloning a
strong rule first (FDD/MWKR in non-delay mode is the best of this project's rules on large
Taillard instances) starts PPO from a policy that is already sound on every size it was shown;
PPO then improves on it. The critic is fitted to the demonstrations' returns at the same time, so
the first PPO updates use meaningful advantages instead of a random value function.

Teachers are rules or trained checkpoints; on every demonstration instance each teacher is rolled
out and only the best one's schedule is imitated, so one student can learn from teachers that are
each good on a different kind of instance (e.g. FDD/MWKR on uniform routings, a PPO policy on
two-machine-set routings). Demonstrations are recorded with the environment's graph observation;
minibatches only mix steps of equal instance size (no padding needed).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch as th
from torch.nn import functional as F
from tqdm import tqdm

from cpgym.agents.gnn.checkpoint import GNNAgent, load_agent
from cpgym.agents.gnn.decoding import decode_with_agent
from cpgym.agents.gnn.policy import JobShopGNNPolicy
from cpgym.agents.rules import RulePolicy, get_rule
from cpgym.envs.jobshop import JobShopEnv
from cpgym.envs.jobshop_state import JobShopState
from cpgym.errors import ArgumentError
from cpgym.instances import JobShopInstance


@dataclass
class Demonstrations:
    """Steps of teacher rollouts on instances of one size: stacked observations, actions, returns-to-go."""

    observations: dict[str, np.ndarray]
    actions: np.ndarray
    returns: np.ndarray

    def __len__(self) -> int:
        return len(self.actions)


Teacher = Callable[[JobShopInstance, dict], tuple[int, list[int]]]
"""``teacher(instance, env_kwargs) -> (makespan, actions)``: one complete schedule as env actions."""


def rule_teacher(name: str) -> Teacher:
    """A dispatching rule as a teacher."""
    get_rule(name)  # KeyError with the known names if unknown

    def plan(instance: JobShopInstance, env_kwargs: dict) -> tuple[int, list[int]]:
        policy = RulePolicy(name)
        state = JobShopState(instance, env_kwargs.get("mode", "non_delay"))
        actions = []
        while not state.done:
            actions.append(policy(state))
            state.dispatch(actions[-1])
        return state.makespan, actions

    return plan


def agent_teacher(agent: GNNAgent, samples: int = 0, seed: int = 0) -> Teacher:
    """A trained policy as a teacher: greedy, or the best of ``samples`` sampled rollouts
    (self-improvement by imitating one's own best samples, as in Corsini et al., 2024, "Self-labeling
    the job shop scheduling problem")."""

    def plan(instance: JobShopInstance, env_kwargs: dict) -> tuple[int, list[int]]:
        schedule, actions = decode_with_agent(agent, instance, samples=samples, seed=seed, env_kwargs=env_kwargs)
        return schedule.makespan, actions

    return plan


def make_teacher(spec: str) -> Teacher:
    """A teacher from a rule name (``fdd_mwkr``), a checkpoint (``runs/NAME/best.pt``, or a shipped
    model's file name) for greedy decoding, or ``sampleN:CHECKPOINT`` for its best of N samples."""
    samples = 0
    head, _, rest = spec.partition(":")
    if rest and head.startswith("sample") and head[len("sample"):].isdigit():
        samples, spec = int(head[len("sample"):]), rest
    if samples or spec.endswith(".pt") or Path(spec).exists():
        return agent_teacher(load_agent(spec, device="cpu"), samples)
    return rule_teacher(spec)


def record_demonstrations(
    instances: Sequence[JobShopInstance],
    teachers: Sequence[str | Teacher],
    env_kwargs: dict,
    keep: float = 1.0,
    seed: int = 0,
    progress: bool = False,
    workers: int = 1,
) -> tuple[list[Demonstrations], list[int]]:
    """Roll every teacher out on every instance and keep, per instance, the best teacher's rollout
    (smallest makespan; ties go to the first teacher), of which a random ``keep`` share of steps.

    Returns one :class:`Demonstrations` per distinct instance size, and how many instances each
    teacher won. The return-to-go of a step is the sum of the env's rewards from that step on
    (``gamma = 1``), the critic's regression target. With ``workers > 1`` the teachers run in a
    process pool (teachers must then be given as spec strings).
    """
    if not 0 < keep <= 1:
        raise ArgumentError(f"keep must be in (0, 1], got {keep}")
    if not teachers:
        raise ArgumentError("behaviour cloning needs at least one teacher")
    if workers > 1 and not all(isinstance(t, str) for t in teachers):
        raise ArgumentError("with workers > 1, teachers must be spec strings (rule names or checkpoints)")
    rng = np.random.default_rng(seed)
    wins = [0] * len(teachers)
    by_size: dict[tuple[int, int], list[tuple[dict, int, float]]] = {}
    best_plans = _best_plans(instances, teachers, env_kwargs, workers)
    for instance, (best, actions) in zip(instances, tqdm(best_plans, total=len(instances), desc="demonstrations",
                                                         disable=not progress, leave=False)):
        wins[best] += 1
        steps, returns = _replay(JobShopEnv(instance=instance, observation="graph", **env_kwargs), actions, seed)
        chosen = rng.random(len(steps)) < keep
        by_size.setdefault((instance.n_jobs, instance.n_machines), []).extend(
            (obs, action, float(ret)) for (obs, action), ret, take in zip(steps, returns, chosen) if take
        )
    demonstrations = [
        Demonstrations(
            {key: np.stack([obs[key] for obs, _, _ in rows]) for key in rows[0][0]},
            np.array([action for _, action, _ in rows]),
            np.array([ret for _, _, ret in rows], dtype=np.float32),
        )
        for rows in by_size.values() if rows
    ]
    return demonstrations, wins


def _best_plans(instances, teachers, env_kwargs: dict, workers: int) -> Iterator[tuple[int, list[int]]]:
    """(index of the best teacher, its actions) per instance, in order."""
    if workers <= 1:
        plans = [make_teacher(t) if isinstance(t, str) else t for t in teachers]
        return (_best_plan(plans, instance, env_kwargs) for instance in instances)
    context = multiprocessing.get_context("spawn")  # torch in forked workers can deadlock
    pool = context.Pool(workers, initializer=_init_worker, initargs=(list(teachers),))
    return _closing(pool, pool.imap(partial(_worker_plan, env_kwargs=env_kwargs), instances))


def _best_plan(plans: Sequence[Teacher], instance: JobShopInstance, env_kwargs: dict) -> tuple[int, list[int]]:
    results = [plan(instance, env_kwargs) for plan in plans]
    best = min(range(len(plans)), key=lambda k: results[k][0])
    return best, results[best][1]


_WORKER_TEACHERS: list[Teacher] = []


def _init_worker(specs: list[str]) -> None:
    th.set_num_threads(1)
    _WORKER_TEACHERS[:] = [make_teacher(spec) for spec in specs]


def _worker_plan(instance: JobShopInstance, env_kwargs: dict) -> tuple[int, list[int]]:
    return _best_plan(_WORKER_TEACHERS, instance, env_kwargs)


def _closing(pool, results: Iterator) -> Iterator:
    with pool:
        yield from results


def _replay(env: JobShopEnv, actions: list[int], seed: int) -> tuple[list[tuple[dict, int]], np.ndarray]:
    """([(observation, action)], returns-to-go) of replaying ``actions`` in ``env``."""
    observation, _ = env.reset(seed=seed)
    steps, rewards = [], []
    for action in actions:
        steps.append((observation, action))
        observation, reward, _, _, _ = env.step(action)
        rewards.append(reward)
    return steps, np.cumsum(rewards[::-1])[::-1]


def clone_teachers(
    policy: JobShopGNNPolicy,
    demonstrations: Sequence[Demonstrations],
    epochs: int = 5,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    value_coef: float = 0.5,
    seed: int = 0,
    progress: bool = True,
) -> list[dict]:
    """Fit the actor to the demonstrated actions (cross-entropy) and the critic to their returns.

    Uses its own Adam optimizer (the policy's PPO optimizer is left untouched). Returns one
    record per epoch: mean cross-entropy, action agreement (share of argmax = demonstrated
    action) and value MSE.
    """
    rng = np.random.default_rng(seed)
    optimizer = th.optim.Adam(policy.parameters(), lr=learning_rate)
    history = []
    policy.set_training_mode(True)
    for epoch in range(epochs):
        totals = np.zeros(4)
        batches = [(demo, index) for demo in demonstrations
                   for index in np.array_split(rng.permutation(len(demo)), -(-len(demo) // batch_size))]
        order = rng.permutation(len(batches))
        for b in tqdm(order, desc=f"behaviour cloning {epoch + 1}/{epochs}", disable=not progress, leave=False):
            demo, index = batches[b]
            obs = {key: th.as_tensor(value[index], device=policy.device) for key, value in demo.observations.items()}
            actions = th.as_tensor(demo.actions[index], device=policy.device)
            returns = th.as_tensor(demo.returns[index], device=policy.device)
            features = policy.extract_features(obs)
            logits, values = policy.mlp_extractor(features)
            logits = logits.masked_fill(obs["action_mask"] == 0, -1e8)
            cross_entropy = F.cross_entropy(logits, actions)
            value_loss = F.mse_loss(values.squeeze(-1), returns)
            optimizer.zero_grad()
            (cross_entropy + value_coef * value_loss).backward()
            th.nn.utils.clip_grad_norm_(policy.parameters(), 0.5)
            optimizer.step()
            agreement = (logits.argmax(-1) == actions).float().mean()
            totals += np.array([cross_entropy.item(), agreement.item(), value_loss.item(), 1.0]) * len(index)
        cross_entropy, agreement, value_mse, _ = totals / totals[3]
        history.append({"epoch": epoch + 1, "cross_entropy": cross_entropy, "agreement": agreement,
                        "value_mse": value_mse})
    policy.set_training_mode(False)
    return history
