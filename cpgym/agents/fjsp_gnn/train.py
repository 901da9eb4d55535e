"""Self-labelling training of the flexible job-shop GNN on generated instances.

Self-labelling (Corsini, Porrello, Calderara, Dell'Amico, "Self-labeling the job shop scheduling
problem", NeurIPS 2024): each iteration generates instances of the chosen generators (SD1 of Song
et al. 2022 by default; see :data:`~cpgym.instances.fjsp_generators.GENERATORS`) and sizes, samples
``samples`` solutions of each with the current policy (in lockstep, from the softmax at
``temperature``; the first greedy, so that a label is never worse than the greedy rollout), and takes
``epochs`` Adam steps on the cross-entropy of the best solutions' actions (the steps with a choice).
The first ``imitation_iterations`` iterations may label with the ``mwkr-eet`` rule instead, a cheap warm start;
``init`` starts a fresh run from the weights of a checkpoint. With ``ema`` > 0 the validation and
the saved weights are an exponential moving average of the trained ones (Polyak averaging, decay
``ema`` per Adam step; ``torch.optim.swa_utils.AveragedModel``): self-labelling's validation score
swings by a point from one check to the next, and averaged weights were better than either end
(BENCHMARKS.md, "FJSP learned agent: averaged weights").

Outputs in ``out``: ``last.pt`` (with the optimizer state; ``resume=True`` continues from it at the
next iteration, instances and samples being seeded by ``(seed, iteration)``), ``best.pt`` (the best
greedy mean gap to the trivial lower bounds of a fixed validation set of instances of the same
generators and sizes: a scale-free score, so that instances of long durations do not outweigh the others),
TensorBoard logs in ``out/tb``. Both checkpoints are written atomically. Command line:
``python -m cpgym.agents.fjsp_gnn.train --help``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch as th
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from cpgym.agents import require_rl
from cpgym.agents.fjsp_gnn.checkpoint import load_fjsp_agent, load_fjsp_trainer_state, save_fjsp_agent
from cpgym.agents.fjsp_gnn.decoding import best_rollout, lockstep_rollouts
from cpgym.agents.fjsp_gnn.policy import FlexibleGNNPolicy, Observation
from cpgym.agents.fjsp_rules import FlexibleRulePolicy
from cpgym.envs.fjsp import FlexibleJobShopEnv
from cpgym.envs.fjsp_state import FJSP_MODES
from cpgym.errors import ArgumentError, check_temperature
from cpgym.instances.fjsp import FlexibleJobShopInstance
from cpgym.instances.fjsp_generators import GENERATORS, generator_kind

TEACHER = "mwkr-eet"  # the rule of the imitation warm start
VALIDATION_SEED = 10_000  # validation instance i is generated with seed VALIDATION_SEED + i
VALIDATION_SCORE = "greedy mean gap % to the trivial lower bound"  # what best_validation means


@dataclass
class TrainConfig:
    """Training settings (``generators`` and ``sizes`` (jobs, machines): drawn uniformly per instance)."""

    sizes: tuple[tuple[int, int], ...] = ((10, 5),)
    generators: tuple[str, ...] = ("sd1",)
    iterations: int = 100
    instances_per_iter: int = 4
    samples: int = 16
    temperature: float = 1.0
    lr: float = 2e-4
    seed: int = 0
    out: str = "runs/fjsp_gnn"
    device: str = "cpu"
    hidden_dim: int = 64
    n_layers: int = 2
    mode: str = "active"
    imitation_iterations: int = 0
    epochs: int = 1
    validation_instances: int = 20
    validate_every: int = 10
    batch_states: int = 512
    resume: bool = False
    init: str | None = None
    ema: float = 0.0
    command: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        self.sizes = tuple((int(n), int(m)) for n, m in self.sizes)
        self.generators = tuple(self.generators)
        if not self.generators:
            raise ArgumentError("generators must name at least one generator")
        for name in self.generators:
            generator_kind(name)  # an unknown name raises, listing the known ones
        if not self.sizes or any(n < 1 or m < 1 for n, m in self.sizes):
            raise ArgumentError(f"sizes must be (jobs, machines) pairs >= 1, got {self.sizes}")
        for name in ("iterations", "instances_per_iter", "samples", "epochs", "validation_instances",
                     "validate_every", "batch_states"):
            if getattr(self, name) < 1:
                raise ArgumentError(f"{name} must be >= 1, got {getattr(self, name)}")
        check_temperature(self.temperature)
        if not self.lr > 0:
            raise ArgumentError(f"lr must be > 0, got {self.lr}")
        if not 0 <= self.ema < 1:
            raise ArgumentError(f"ema must be in [0, 1) (0: no averaging), got {self.ema}")
        if self.mode not in FJSP_MODES:
            raise ArgumentError(f"mode must be one of {FJSP_MODES}, got {self.mode!r}")


def validation_set(config: TrainConfig, first_seed: int = VALIDATION_SEED) -> list[FlexibleJobShopInstance]:
    """The fixed validation instances: the generators in turn, and for each the sizes in turn
    (instance ``i`` seeded ``first_seed + i``; another ``first_seed`` gives a held-out set)."""
    kinds = len(config.generators)
    return [generator_kind(config.generators[i % kinds]).make(
                *config.sizes[(i // kinds) % len(config.sizes)], seed=first_seed + i, name=f"val{i}")
            for i in range(config.validation_instances)]


def _training_instance(config: TrainConfig, iteration: int, index: int) -> FlexibleJobShopInstance:
    rng = np.random.default_rng([config.seed, iteration, index])
    n_jobs, n_machines = config.sizes[int(rng.integers(len(config.sizes)))]
    generator = generator_kind(config.generators[int(rng.integers(len(config.generators)))])
    return generator.make(n_jobs, n_machines, seed=int(rng.integers(2**31)), name=f"it{iteration}_{index}")


def _rule_actions(instance: FlexibleJobShopInstance, mode: str) -> tuple[list[int], int]:
    """The env actions of the teacher rule and its makespan."""
    env, rule = FlexibleJobShopEnv(instance=instance, mode=mode), FlexibleRulePolicy(TEACHER)
    env.reset(seed=0)
    actions, terminated, info = [], False, {}
    while not terminated:
        actions.append(rule(env))
        _, _, terminated, _, info = env.step(actions[-1])
    return actions, info["makespan"]


def _replay(instance: FlexibleJobShopInstance, mode: str, actions: Sequence[int]
            ) -> tuple[list[Observation], list[int]]:
    """The observations before each step with a choice, and the action taken there."""
    env = FlexibleJobShopEnv(instance=instance, mode=mode)
    observation, _ = env.reset(seed=0)
    states, labels = [], []
    for action in actions:
        if observation["action_mask"].sum() > 1:
            states.append(observation)
            labels.append(action)
        observation, *_ = env.step(action)
    return states, labels


def greedy_gaps(policy: FlexibleGNNPolicy, instances: Sequence[FlexibleJobShopInstance], mode: str) -> np.ndarray:
    """Per instance, the gap (%) of the greedy makespan to the instance's trivial lower bound."""
    generator = th.Generator(device=policy.device)
    makespans = [lockstep_rollouts(policy, instance, mode, [True], generator)[0].makespan for instance in instances]
    return gaps_to_trivial_bounds(makespans, instances)


def greedy_gap(policy: FlexibleGNNPolicy, instances: Sequence[FlexibleJobShopInstance], mode: str) -> float:
    """Mean gap (%) of the greedy makespans to the instances' trivial lower bounds."""
    return float(greedy_gaps(policy, instances, mode).mean())


def gaps_to_trivial_bounds(makespans: Sequence[int], instances: Sequence[FlexibleJobShopInstance]) -> np.ndarray:
    """Per instance, the gap (%) of ``makespans`` to the instances' trivial lower bounds."""
    bounds = np.array([instance.trivial_lower_bound() for instance in instances])
    return 100 * (np.asarray(makespans) - bounds) / bounds


def _loss_step(policy: FlexibleGNNPolicy, optimizer: th.optim.Optimizer, states: list[Observation],
               labels: list[int], chunk: int) -> float:
    """One Adam step on the mean cross-entropy of ``labels`` (forward/backward in chunks); the loss."""
    optimizer.zero_grad()
    total = 0.0
    for begin in range(0, len(states), chunk):
        logits = policy.logits(states[begin:begin + chunk])
        targets = th.as_tensor(labels[begin:begin + chunk], device=logits.device)
        loss = th.nn.functional.cross_entropy(logits, targets, reduction="sum") / len(states)
        loss.backward()
        total += loss.item()
    th.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
    optimizer.step()
    return total


def train_fjsp(config: TrainConfig, progress: bool = True) -> dict:
    """Train (or resume) as ``config`` says; returns ``{"iteration", "best_validation", "best", "last"}``."""
    require_rl("training the flexible job-shop GNN", training=True)
    from torch.utils.tensorboard import SummaryWriter
    from tqdm import tqdm

    out = Path(config.out)
    last, best_path = out / "last.pt", out / "best.pt"
    policy = FlexibleGNNPolicy(config.hidden_dim, config.n_layers)
    optimizer = th.optim.Adam(policy.parameters(), lr=config.lr)
    start, best = 0, float("inf")
    if config.resume:
        if not last.is_file():
            raise ArgumentError(f"nothing to resume: {last} does not exist")
        saved, trainer = load_fjsp_trainer_state(last)
        if saved["policy"] != {"hidden_dim": config.hidden_dim, "n_layers": config.n_layers}:
            raise ArgumentError(f"{last} has architecture {saved['policy']}, not hidden_dim={config.hidden_dim}, "
                                f"n_layers={config.n_layers}")
        if saved["training"].get("validation") != VALIDATION_SCORE:
            raise ArgumentError(f"{last} was written by an older trainer (another validation score); "
                                "start a new run, with --init to keep its weights")
        policy.load_state_dict(trainer["policy"])
        optimizer.load_state_dict(trainer["optimizer"])
        start, best = int(saved["training"]["iteration"]), float(saved["training"]["best_validation"])
    elif last.exists():
        raise ArgumentError(f"{last} exists: pass resume=True (--resume) to continue, or another out folder")
    elif config.init is not None:
        initial = load_fjsp_agent(config.init)
        if initial.config["policy"] != {"hidden_dim": config.hidden_dim, "n_layers": config.n_layers}:
            raise ArgumentError(f"{config.init} has architecture {initial.config['policy']}, not "
                                f"hidden_dim={config.hidden_dim}, n_layers={config.n_layers}")
        policy.load_state_dict(initial.policy.state_dict())
    policy.to(config.device)
    averaged = AveragedModel(policy, multi_avg_fn=get_ema_multi_avg_fn(config.ema)) if config.ema else None
    if averaged is not None and config.resume:
        if "ema" not in trainer:
            raise ArgumentError(f"{last} was trained without --ema; resume without it")
        averaged.load_state_dict(trainer["ema"])
    exported = policy if averaged is None else averaged.module  # what is validated and saved
    for state in optimizer.state.values():  # after a resume the optimizer state comes on CPU
        for key, value in state.items():
            if isinstance(value, th.Tensor) and key != "step":
                state[key] = value.to(config.device)
    validation = validation_set(config)
    writer = SummaryWriter(str(out / "tb"), purge_step=start or None)
    if start == 0:
        rule_makespans = [_rule_actions(instance, config.mode)[1] for instance in validation]
        rule = float(gaps_to_trivial_bounds(rule_makespans, validation).mean())
        writer.add_scalar("validation/mwkr_eet_gap", rule, 0)
    settings = {key: value for key, value in asdict(config).items() if key != "resume"}

    def save(path: Path, iteration: int, with_trainer: bool) -> None:
        trainer = {"policy": policy.state_dict(), "optimizer": optimizer.state_dict()} if with_trainer else None
        if trainer is not None and averaged is not None:
            trainer["ema"] = averaged.state_dict()
        save_fjsp_agent(path, exported, config.mode, trainer_state=trainer,
                        training={"iteration": iteration, "best_validation": best, "validation": VALIDATION_SCORE,
                                  "settings": settings})

    bar = tqdm(range(start, config.iterations), initial=start, total=config.iterations, disable=not progress,
               desc="fjsp-gnn")
    for iteration in bar:
        started = time.perf_counter()
        generator = th.Generator(device=config.device).manual_seed(config.seed * 1_000_003 + iteration)
        states, labels, found = [], [], []
        for index in range(config.instances_per_iter):
            instance = _training_instance(config, iteration, index)
            if iteration < config.imitation_iterations:
                actions, makespan = _rule_actions(instance, config.mode)
            else:
                policy.eval()
                greedy = [index == 0 for index in range(config.samples)]
                sampled = lockstep_rollouts(policy, instance, config.mode, greedy, generator,
                                            temperature=config.temperature)
                chosen = best_rollout(sampled)
                actions, makespan = chosen.actions, chosen.makespan
            found.append(makespan / instance.n_operations)
            replayed = _replay(instance, config.mode, actions)
            states += replayed[0]
            labels += replayed[1]
        policy.train()
        loss = 0.0
        for _ in range(config.epochs if states else 0):
            loss = _loss_step(policy, optimizer, states, labels, config.batch_states)
            if averaged is not None:
                averaged.update_parameters(policy)
        writer.add_scalar("train/loss", loss, iteration + 1)
        writer.add_scalar("train/label_makespan_per_op", float(np.mean(found)), iteration + 1)
        writer.add_scalar("train/seconds", time.perf_counter() - started, iteration + 1)
        done = iteration + 1
        if done % config.validate_every == 0 or done == config.iterations:
            exported.eval()
            score = greedy_gap(exported, validation, config.mode)
            writer.add_scalar("validation/greedy_gap", score, done)
            if score < best:
                best = score
                save(best_path, done, with_trainer=False)
            bar.set_postfix(loss=f"{loss:.3f}", val=f"{score:.2f}", best=f"{best:.2f}")
        save(last, done, with_trainer=True)
        writer.flush()
    writer.close()
    return {"iteration": config.iterations, "best_validation": best, "best": str(best_path), "last": str(last)}


def _sizes(text: str) -> tuple[tuple[int, int], ...]:
    try:
        return tuple(tuple(int(v) for v in size.lower().split("x", 1)) for size in text.split(","))  # type: ignore[misc]
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes are JOBSxMACHINES, comma-separated (10x5,20x10), got {text!r}"
                                         ) from None


def main(argv: Sequence[str] | None = None, prog: str = "python -m cpgym.agents.fjsp_gnn.train") -> int:
    """Command line: ``cpgym train fjsp --size 10x5,20x10 --out runs/NAME`` (or ``python -m
    cpgym.agents.fjsp_gnn.train ...``)."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    defaults = TrainConfig()
    parser.add_argument("--size", type=_sizes, default="10x5", help="instance sizes JOBSxMACHINES, comma-separated")
    parser.add_argument("--generators", default=",".join(defaults.generators),
                        help=f"instance generators, comma-separated (known: {', '.join(GENERATORS)})")
    parser.add_argument("--iterations", type=int, default=defaults.iterations)
    parser.add_argument("--instances-per-iter", type=int, default=defaults.instances_per_iter)
    parser.add_argument("--samples", type=int, default=defaults.samples, help="solutions sampled per instance")
    parser.add_argument("--temperature", type=float, default=defaults.temperature,
                        help="softmax temperature of the sampled solutions")
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--out", default=defaults.out, help="run folder (last.pt, best.pt, tb/)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    parser.add_argument("--init", help="start from the weights of this checkpoint (a fresh run)")
    parser.add_argument("--device", default=defaults.device)
    parser.add_argument("--mode", choices=FJSP_MODES, default=defaults.mode)
    parser.add_argument("--imitation-iterations", type=int, default=defaults.imitation_iterations,
                        help=f"first iterations labelled by the {TEACHER} rule instead of sampling")
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help="Adam steps per iteration on its labels")
    parser.add_argument("--hidden-dim", type=int, default=defaults.hidden_dim)
    parser.add_argument("--layers", type=int, default=defaults.n_layers)
    parser.add_argument("--validation-instances", type=int, default=defaults.validation_instances)
    parser.add_argument("--validate-every", type=int, default=defaults.validate_every)
    parser.add_argument("--ema", type=float, default=defaults.ema,
                        help="decay of the moving average of the weights that is validated and saved (0: off)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    th.set_num_threads(args.threads)
    config = TrainConfig(
        sizes=args.size, generators=tuple(args.generators.split(",")), iterations=args.iterations,
        instances_per_iter=args.instances_per_iter, samples=args.samples, temperature=args.temperature,
        lr=args.lr, seed=args.seed, out=args.out, device=args.device, hidden_dim=args.hidden_dim,
        n_layers=args.layers, mode=args.mode, imitation_iterations=args.imitation_iterations, epochs=args.epochs,
        validation_instances=args.validation_instances, validate_every=args.validate_every, resume=args.resume,
        init=args.init, ema=args.ema,
        command=" ".join([prog, *(sys.argv[1:] if argv is None else argv)]))
    summary = train_fjsp(config, progress=not args.no_progress)
    print(f"done: iteration {summary['iteration']}, best validation greedy gap {summary['best_validation']:.2f} % "
          f"to the trivial lower bounds, {summary['best']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
