"""Training the GNN dispatching policy on the batched engine: ``self-label``, ``reinforce`` (and the
shared loop that ``cp-guided`` runs in).

Every iteration draws ``instances`` fresh instances of one training size (sizes cycle through the
``size`` list, one per iteration, so a batch needs no padding), runs the policy on them with
:func:`~cpgym.agents.gnn.batched.engine_rollouts` (all rollouts of the iteration in one
:class:`~cpgym.envs.batched.BatchedJobShop` batch, no gradient), turns the episodes into weighted
action sequences, and takes ``n_epochs`` gradient steps on them (:func:`replay_update`):

- ``self-label`` (Corsini et al., NeurIPS 2024): ``samples`` solutions per instance, the greedy one and
  sampled ones; the best one's actions are the labels (weight 1: cross-entropy on the best of the
  policy's own solutions; with the greedy one among them a label is never worse than greedy, which
  matters when fine-tuning a trained policy: the best of a few samples alone is often worse);
- ``reinforce`` with a shared POMO-style baseline (Kwon et al., NeurIPS 2020): ``samples`` rollouts
  per instance, each action sequence weighted by ``(mean makespan - makespan) / mean makespan``
  of its instance's rollouts (first actions forced to distinct jobs with ``pomo_starts``);
- ``cp-guided`` (:mod:`cpgym.agents.training.cp_guided`): CP-SAT completions of the policy's prefixes.

A replay re-runs the engine on the chosen sequences with gradients, one step at a time (the logits of
a step depend only on its state, so each step's loss is backpropagated at once and no graph is kept
across steps); steps with a single legal job and zero weight are skipped. Loss: PPO's clipped
surrogate with the sequence weights as advantages (the ratio is 1 in the first epoch, so one epoch
is plain weighted log-likelihood), minus ``ent_coef`` x entropy, averaged over the weighted steps.

Run folder, validation, checkpoints, TensorBoard, resume and ``init_from``:
:class:`~cpgym.agents.training.run_folder.RunFolder`, as for MaskablePPO. ``timesteps`` counts
dispatching steps of the sampled rollouts. Details: ``docs/gnn_agent.md``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch as th
from torch import nn

from cpgym.agents.gnn.batched import BatchedGNN, engine_rollouts
from cpgym.agents.gnn.checkpoint import build_policy
from cpgym.agents.gnn.policy import JobShopGNNPolicy
from cpgym.agents.training.run_folder import RunFolder, architecture_of, padding_of, size_generators
from cpgym.agents.training.settings import checked_settings
from cpgym.envs.batched import BatchedJobShop
from cpgym.envs.jobshop import GRAPH_FEATURES, JobShopEnv
from cpgym.instances import JobShopInstance

__all__ = ["Sequences", "replay_update", "train_on_engine"]


@dataclass
class Sequences:
    """Action sequences to learn from: ``actions (B, T)`` (-1 after the end) with ``weights (B, T)`` on the
    instances ``instances`` (one per row); steps of zero weight are not trained on."""

    instances: list[JobShopInstance]
    actions: th.Tensor
    weights: th.Tensor


def _masked_entropy(logits: th.Tensor) -> th.Tensor:
    """Entropy over the legal (finite) logits; no NaN in value or gradient at the ``-inf`` ones."""
    log_p = th.where(th.isfinite(logits), th.log_softmax(logits, dim=1), 0.0)
    return -(th.softmax(logits, dim=1) * log_p).sum(dim=1)


def replay_update(
    net: BatchedGNN,
    optimizer: th.optim.Optimizer,
    sequences: Sequences,
    mode: str,
    *,
    n_epochs: int = 1,
    clip_range: float = 0.2,
    ent_coef: float = 0.0,
    max_grad_norm: float = 0.5,
    target_kl: float = 0.0,
) -> dict[str, float]:
    """``n_epochs`` gradient steps of the clipped surrogate on ``sequences`` (module doc); statistics
    (``log_prob``: the mean log-probability of the trained actions before the update). An epoch after the
    first whose approximate KL to the policy before the update (``mean((r - 1) - log r)``) exceeds
    ``1.5 * target_kl`` is not applied and ends the update (``target_kl <= 0``: never), SB3's rule."""
    device = sequences.actions.device
    engine = BatchedJobShop(mode=mode, device=device)
    old_log_prob = th.zeros(sequences.actions.shape, device=device)
    losses, entropies, clipped, kl, log_likelihood, early_stop = [], [], [], 0.0, 0.0, 0.0
    weighted = (sequences.weights != 0) & (sequences.actions >= 0)
    count = max(1, int(weighted.sum()))
    for epoch in range(n_epochs):
        engine.reset(sequences.instances)
        optimizer.zero_grad()
        n_steps = 0
        totals = {"loss": 0.0, "entropy": 0.0, "clipped": 0.0, "kl": 0.0, "log_prob": 0.0}
        for t in range(sequences.actions.shape[1]):
            if bool(engine.done.all()):
                break
            action = sequences.actions[:, t].clamp(min=0)
            rows = (weighted[:, t] & (engine.mask.sum(dim=1) > 1)).nonzero().squeeze(1)
            if len(rows):
                logits = net.logits(engine, rows)
                log_prob = th.log_softmax(logits, dim=1).gather(1, action[rows, None]).squeeze(1)
                if epoch == 0:
                    old_log_prob[rows, t] = log_prob.detach()
                log_ratio = log_prob - old_log_prob[rows, t]
                ratio = log_ratio.exp()
                advantage = sequences.weights[rows, t]
                surrogate = th.min(ratio * advantage, ratio.clamp(1 - clip_range, 1 + clip_range) * advantage)
                entropy = _masked_entropy(logits)
                loss = -(surrogate.sum() + ent_coef * entropy.sum()) / count
                loss.backward()
                n_steps += len(rows)
                totals["loss"] += float(-surrogate.detach().sum())
                totals["entropy"] += float(entropy.detach().sum())
                totals["log_prob"] += float(log_prob.detach().sum())
                totals["clipped"] += float(((ratio.detach() - 1).abs() > clip_range).sum())
                totals["kl"] += float(((ratio - 1) - log_ratio).detach().sum())
            engine.step(action, skip=sequences.actions[:, t] < 0, check=False)
        n = max(1, n_steps)
        if epoch > 0 and target_kl > 0 and totals["kl"] / n > 1.5 * target_kl:
            early_stop = 1.0
            break
        nn.utils.clip_grad_norm_(net.parameters(), max_grad_norm)
        optimizer.step()
        losses.append(totals["loss"] / n)
        entropies.append(totals["entropy"] / n)
        clipped.append(totals["clipped"] / n)
        kl = totals["kl"] / n
        if epoch == 0:
            log_likelihood = totals["log_prob"] / n
    return {"policy_loss": float(np.mean(losses)), "entropy": float(np.mean(entropies)),
            "clip_fraction": float(np.mean(clipped)), "approx_kl": kl, "trained_steps": float(count),
            "log_prob": log_likelihood, "early_stop": early_stop, "epochs": float(len(losses))}


# ---------------------------------------------------------------------------------------- collectors
Collector = Callable[[BatchedGNN, list[JobShopInstance], dict[str, Any], th.Generator, int],
                     tuple[Sequences, dict[str, float], int]]


def _sample(net: BatchedGNN, instances: list[JobShopInstance], copies: int, settings: dict[str, Any],
            generator: th.Generator, first_actions: th.Tensor | None = None, greedy_first: bool = False):
    """``copies`` rollouts of every instance in one engine batch, sampled (the first of each instance greedy
    with ``greedy_first``): ``(actions (n, copies, T), makespans (n, copies))``."""
    engine = BatchedJobShop(mode=settings["mode"], device=generator.device)
    engine.reset([instance for instance in instances for _ in range(copies)])
    greedy = (th.arange(copies * len(instances), device=generator.device) % copies == 0) & greedy_first
    rollouts = engine_rollouts(net, engine, greedy=greedy, generator=generator, first_actions=first_actions)
    n = len(instances)
    return rollouts.actions.view(n, copies, -1), rollouts.makespan.view(n, copies).double()


def self_label_sequences(net: BatchedGNN, instances: list[JobShopInstance], settings: dict[str, Any],
                         generator: th.Generator, iteration: int) -> tuple[Sequences, dict[str, float], int]:
    """The best of ``samples`` solutions of every instance (the greedy one and ``samples - 1`` sampled ones, so
    a label is never worse than the policy's greedy solution), weight 1 on each of its steps."""
    actions, makespans = _sample(net, instances, settings["samples"], settings, generator, greedy_first=True)
    best = makespans.argmin(dim=1)
    rows = th.arange(len(instances), device=actions.device)
    labels = actions[rows, best]
    best_makespan = makespans.min(dim=1).values
    stats = {"train/sample_makespan": float(makespans.mean()), "train/best_makespan": float(best_makespan.mean()),
             "train/best_gain_pct": float(100 * (1 - best_makespan / makespans.mean(dim=1)).mean()),
             "train/greedy_makespan": float(makespans[:, 0].mean()),
             "train/label_is_greedy": float((makespans[:, 0] == best_makespan).double().mean())}
    return Sequences(instances, labels, (labels >= 0).float()), stats, int((actions >= 0).sum())


def reinforce_sequences(net: BatchedGNN, instances: list[JobShopInstance], settings: dict[str, Any],
                        generator: th.Generator, iteration: int) -> tuple[Sequences, dict[str, float], int]:
    """``samples`` rollouts of every instance, each weighted by its relative gain over their mean."""
    copies = settings["samples"]
    first = None
    if settings["pomo_starts"]:
        n_jobs = th.tensor([i.n_jobs for i in instances for _ in range(copies)], device=generator.device)
        first = th.arange(copies, device=generator.device).repeat(len(instances)) % n_jobs
    actions, makespans = _sample(net, instances, copies, settings, generator, first)
    baseline = makespans.mean(dim=1, keepdim=True)
    advantage = ((baseline - makespans) / baseline).float()
    flat = actions.reshape(-1, actions.shape[2])
    weights = advantage.reshape(-1, 1) * (flat >= 0)
    scale = advantage.abs().mean().clamp(min=1e-12)
    stats = {"train/sample_makespan": float(makespans.mean()),
             "train/best_makespan": float(makespans.min(dim=1).values.mean())}
    repeated = [instance for instance in instances for _ in range(copies)]
    return Sequences(repeated, flat, weights / scale), stats, int((flat >= 0).sum())


COLLECTORS: dict[str, Collector] = {"self-label": self_label_sequences, "reinforce": reinforce_sequences}


# ---------------------------------------------------------------------------------------- loop
def new_policy(settings: dict[str, Any]) -> JobShopGNNPolicy:
    """A freshly initialised policy (seeded by ``seed``) for the training sizes, Adam at ``learning_rate``."""
    env = JobShopEnv(generator=size_generators(settings)[0], observation="graph", **padding_of(settings))
    config = {"n_features": len(GRAPH_FEATURES), **architecture_of(settings)}
    th.manual_seed(settings["seed"])
    policy = build_policy(config, env.observation_space, env.action_space, settings["device"])
    for group in policy.optimizer.param_groups:
        group["lr"] = settings["learning_rate"]
    return policy


def iteration_instances(settings: dict[str, Any], iteration: int) -> tuple[list[JobShopInstance], np.random.Generator]:
    """The iteration's instances (size ``iteration mod len(sizes)``) and its RNG, a function of (seed, iteration)."""
    rng = np.random.default_rng([settings["seed"], iteration])
    generators = size_generators(settings)
    generator = generators[iteration % len(generators)]
    count = settings["cp_episodes"] if settings["algo"] == "cp-guided" else settings["instances"]
    return [generator(rng) for _ in range(count)], rng


def train_on_engine(settings: dict[str, Any], resume: bool = False,
                    collector: Collector | None = None) -> dict[str, Any]:
    """Train with ``settings["algo"]`` (``self-label`` or ``reinforce``; ``cp-guided`` passes its own
    ``collector``) as ``settings`` say (missing ones at their defaults, see
    :mod:`cpgym.agents.training.settings`); ``resume`` continues the run in ``settings["out"]``.
    Returns the run's summary with the number of ``iterations``."""
    from tqdm import tqdm

    settings = checked_settings(settings)
    collect = collector or COLLECTORS[settings["algo"]]
    run = RunFolder(settings, resume)
    policy = new_policy(settings)
    run.start(policy)
    net = BatchedGNN(policy)
    sampler = net.compiled() if settings["compile"] else net  # rollouts without gradients
    bar = tqdm(total=settings["timesteps"], initial=run.trained, unit="step", dynamic_ncols=True,
               desc=f"{settings['algo']} {settings['size']}", disable=not settings["progress_bar"])
    with run.checkpointing(policy):
        while run.trained < settings["timesteps"]:
            started = time.perf_counter()
            instances, rng = iteration_instances(settings, run.n_updates)
            generator = th.Generator(device=policy.device).manual_seed(int(rng.integers(2**62)))
            policy.set_training_mode(False)
            sequences, stats, steps = collect(sampler, instances, settings, generator, run.n_updates)
            collected = time.perf_counter()
            if bool((sequences.weights != 0).any()):
                losses = replay_update(net, policy.optimizer, sequences, settings["mode"],
                                       n_epochs=settings["n_epochs"], clip_range=settings["clip_range"],
                                       ent_coef=settings["ent_coef"], max_grad_norm=settings["max_grad_norm"],
                                       target_kl=settings["target_kl"])
                stats.update({f"train/{key}": value for key, value in losses.items()})
            finished = time.perf_counter()
            run.trained += steps
            run.n_updates += 1
            stats.update({"time/collect_s": collected - started, "time/update_s": finished - collected,
                          "time/fps": steps / (finished - started), "train/iterations": run.n_updates})
            for key, value in stats.items():
                run.logger.record(key, value)
            if run.trained - run.last_validated >= settings["val_every"] or run.trained >= settings["timesteps"]:
                record = run.validate(policy)
                bar.set_postfix(val_gap=f"{record['mean_gap_pct']:.2f}%")
            run.logger.dump(run.trained)
            bar.update(run.trained - bar.n)
    bar.close()
    return {**run.summary(), "iterations": run.n_updates}
