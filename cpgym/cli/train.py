"""Training CLI: ``cpgym train`` / ``python train.py`` (GNN dispatching policy, MaskablePPO).

``python train.py --size 10x10 --timesteps 2e6 --n-envs 8 --device auto --out runs/NAME``

Settings come from, in increasing priority: the defaults in :data:`OPTIONS`, the settings saved
in the run folder (with ``--resume``), a TOML/YAML file (``--config``), and command-line flags.
The run folder holds ``settings.json``, ``validation.json`` (the fixed validation set's
reference makespans), ``last.pt`` (resumable checkpoint, written at every validation and when
training stops, including on Ctrl-C), ``best.pt`` (best mean validation makespan), and the
TensorBoard logs under ``tb/``. Checkpoints are safe to load (see :mod:`cpgym.agents.gnn.checkpoint`).

The parser has an optional first positional target (only ``jssp``, the default) and an
``--algo`` option (only ``ppo``) so that later targets/algorithms slot in without breaking
``python train.py --size 10x10 ...``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from cpgym.agents.training.run_folder import (
    env_kwargs_of,
    padding_of,
    prepare_run_folder,
    training_generator,
    validation_record,
    validation_set,
)

TARGETS = ("jssp",)
ALGOS = ("ppo", "cp-guided")


def _size(text: str) -> str:
    """``JOBSxMACHINES``, or a comma-separated list of them (mixed-size training)."""
    sizes = []
    for item in str(text).split(","):
        match = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+)\s*", item)
        if not match or min(int(match[1]), int(match[2])) < 1:
            raise ValueError(f"size must look like 10x10 (jobs x machines) or 10x10,20x10, got {text!r}")
        sizes.append(f"{int(match[1])}x{int(match[2])}")
    return ",".join(sizes)


def _count(text: str | float | int) -> int:
    """A positive integer, also written as ``2e6``."""
    value = float(text)
    if value != int(value) or value < 1:
        raise ValueError(f"expected a positive whole number, got {text!r}")
    return int(value)


def _int_list(text: str | Sequence[int]) -> list[int]:
    items = text if isinstance(text, (list, tuple)) else [t for t in str(text).split(",") if t.strip()]
    values = [int(v) for v in items]
    if any(v < 1 for v in values):
        raise ValueError(f"layer widths must be positive, got {text!r}")
    return values


def _bool(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("1", "true", "yes", "on"):
        return True
    if str(value).lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected a boolean, got {value!r}")


@dataclass(frozen=True)
class Option:
    """One training setting: its default, parser/validator, help text and allowed values."""

    default: Any
    type: Callable[[Any], Any]
    help: str
    choices: tuple | None = None


OPTIONS: dict[str, Option] = {
    "algo": Option("ppo", str, "training algorithm", ALGOS),
    "size": Option("10x10", _size, "training/validation instance size JOBSxMACHINES, or a list 10x10,20x10 "
                                   "(each reset draws one size)"),
    "timesteps": Option(2_000_000, _count, "total environment steps (e.g. 2e6)"),
    "n_envs": Option(8, _count, "parallel environments (SubprocVecEnv when > 1)"),
    "vec_env": Option("auto", str, "vectorisation: subprocess when n_envs > 1 (auto)", ("auto", "subproc", "dummy")),
    "device": Option("auto", str, "torch device: auto, cpu, cuda, cuda:1, ..."),
    "out": Option("runs/gnn", str, "run folder (checkpoints, TensorBoard logs, settings)"),
    "seed": Option(0, int, "seed of the training instance stream, network init and sampling"),
    "mode": Option("active", str, "dispatching mode of the env", ("active", "non_delay")),
    "reward": Option("dense", str, "reward of the env", ("dense", "sparse")),
    "reward_scale": Option(0.01, float, "env reward multiplier (durations are 1..99)"),
    "duration_low": Option(1, int, "smallest generated duration"),
    "duration_high": Option(99, int, "largest generated duration"),
    "val_instances": Option(20, _count, "size of the fixed validation set"),
    "val_seed": Option(1_000_000, int, "seed of the validation set (instance i uses val_seed + i)"),
    "val_every": Option(50_000, _count, "validate and checkpoint every this many steps"),
    "val_time_limit": Option(2.0, float, "CP-SAT seconds per validation instance for the gap reference "
                                         "(0: gap to the trivial lower bound instead)"),
    "hidden_dim": Option(64, _count, "GIN embedding width"),
    "n_layers": Option(3, _count, "GIN message-passing layers"),
    "aggr": Option("add", str, "GIN neighbour aggregation", ("add", "mean", "max")),
    "head_layers": Option([64, 64], _int_list, "hidden widths of the actor and critic MLPs (e.g. 64,64)"),
    "activation": Option("tanh", str, "activation of the actor/critic MLPs", ("tanh", "relu", "elu")),
    "learning_rate": Option(3e-4, float, "Adam learning rate"),
    "n_steps": Option(256, _count, "steps per env per rollout"),
    "batch_size": Option(512, _count, "PPO minibatch size"),
    "n_epochs": Option(4, _count, "PPO epochs per rollout"),
    "gamma": Option(1.0, float, "discount (1: the return is minus the makespan increase)"),
    "gae_lambda": Option(0.95, float, "GAE lambda"),
    "clip_range": Option(0.2, float, "PPO clip range"),
    "ent_coef": Option(0.01, float, "entropy bonus coefficient"),
    "vf_coef": Option(0.5, float, "value loss coefficient"),
    "max_grad_norm": Option(0.5, float, "gradient clipping norm"),
    "two_set_share": Option(0.0, float, "share of training/validation instances whose jobs visit the first half of the "
                                        "machines before the second (dmu41-80 routing)"),
    "init_from": Option("", str, "start from this checkpoint's weights (fine-tuning; empty: random init)"),
    "bc_teachers": Option("", str, "behaviour-cloning warm start before PPO: comma-separated rules, checkpoints "
                                   "(greedy) and/or sampleN:CHECKPOINT (best of N samples); per instance the best "
                                   "teacher's schedule is imitated (empty: none)"),
    "bc_instances": Option(32, _count, "behaviour cloning: generated instances per training size"),
    "bc_keep": Option(0.5, float, "behaviour cloning: share of the demonstrated steps trained on"),
    "bc_epochs": Option(5, _count, "behaviour cloning: epochs over the demonstrations"),
    "bc_workers": Option(1, _count, "behaviour cloning: processes running the teachers"),
    "cp_episodes": Option(16, _count, "cp-guided: episodes per iteration (one CP completion each)"),
    "cp_time_limit": Option(1.0, float, "cp-guided: CP-SAT seconds per completion"),
    "cp_workers": Option(0, int, "cp-guided: CP-SAT completions run in parallel (0: one per core)"),
    "cp_threads": Option(1, _count, "cp-guided: CP-SAT threads per completion"),
    "cp_backend": Option("local", str, "cp-guided: where CP solves run", ("local", "ray")),
    "ray_address": Option("", str, "cp-guided: Ray cluster address HOST:PORT (empty: start a local Ray)"),
    "target_kl": Option(0.02, float, "cp-guided: stop an iteration's epochs when approx. KL > 1.5x this (0: never)"),
    "progress_bar": Option(True, _bool, "show a progress bar"),
    "verbose": Option(0, int, "SB3 verbosity (1 prints PPO statistics)"),
}
# settings that may differ between a run and its resumption without changing what is learned
RESUME_OVERRIDABLE = {
    "timesteps", "n_envs", "vec_env", "device", "progress_bar", "verbose", "val_every",
    "cp_workers", "cp_threads", "cp_backend", "ray_address",
}


# ---------------------------------------------------------------------------------------- parser
def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", nargs="?", choices=TARGETS, default="jssp", help="what to train (default: jssp)")
    parser.add_argument("--config", type=Path, help="TOML or YAML file of settings (flags override it)")
    parser.add_argument("--resume", action="store_true", default=False,
                        help="continue the run in --out from its last checkpoint")
    for name, option in OPTIONS.items():
        flag = "--" + name.replace("_", "-")
        if option.type is _bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, help=option.help)
        else:
            parser.add_argument(flag, type=option.type, choices=option.choices, help=option.help)


def add_train_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``train`` subcommand (``set_defaults(func=run_train)``)."""
    parser = subparsers.add_parser(
        "train", help="train a GNN dispatching policy", description=__doc__.split("\n\n")[0],
        argument_default=argparse.SUPPRESS,
    )
    _add_arguments(parser)
    parser.set_defaults(func=run_train)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="train.py", description=__doc__.split("\n\n")[0],
                                     argument_default=argparse.SUPPRESS)
    _add_arguments(parser)
    parser.set_defaults(func=run_train)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python train.py ...`` (``python train.py neur2ro ...`` trains a Neur2RO value network)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["neur2ro"]:
        from cpgym.agents.neur2ro.train import main as train_neur2ro

        train_neur2ro(argv[1:])
        return 0
    args = build_parser().parse_args(argv)
    return args.func(args)


# ---------------------------------------------------------------------------------------- settings
def read_config_file(path: Path) -> dict[str, Any]:
    """Settings from a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file, validated."""
    text = path.read_text()
    if path.suffix == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"{path}: invalid TOML: {error}") from None
    elif path.suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as error:
            raise ValueError(f"{path}: invalid YAML: {error}") from None
    else:
        raise ValueError(f"{path}: config files must end in .toml, .yaml or .yml")
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a table of settings at top level")
    return _validated(data, str(path))


def _validated(data: dict[str, Any], source: str) -> dict[str, Any]:
    settings = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        option = OPTIONS.get(name)
        if option is None:
            raise ValueError(f"{source}: unknown setting {key!r}; known: {', '.join(OPTIONS)}")
        try:
            settings[name] = option.type(value)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{source}: setting {key!r}: {error}") from None
        if option.choices and settings[name] not in option.choices:
            raise ValueError(f"{source}: setting {key!r} must be one of {option.choices}, got {value!r}")
    return settings


def resolve_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Defaults < saved run settings (``--resume``) < config file < command-line flags."""
    cli = {name: value for name, value in vars(args).items() if name in OPTIONS}
    from_file = read_config_file(args.config) if getattr(args, "config", None) else {}
    settings = {name: option.default for name, option in OPTIONS.items()} | from_file | cli
    if getattr(args, "resume", False):
        saved_path = Path(settings["out"]) / "settings.json"
        if not saved_path.exists():
            raise ValueError(f"{saved_path}: cannot resume, the run folder has no settings.json")
        saved = _validated(json.loads(saved_path.read_text()), str(saved_path))
        changed = sorted(k for k in {**from_file, **cli}
                         if k not in RESUME_OVERRIDABLE and k != "out" and settings[k] != saved.get(k))
        if changed:
            raise ValueError(f"cannot change {', '.join(changed)} when resuming {settings['out']} "
                             f"(only {', '.join(sorted(RESUME_OVERRIDABLE))} may change)")
        settings = {**settings, **saved, **{k: v for k, v in {**from_file, **cli}.items() if k in RESUME_OVERRIDABLE}}
    if settings["duration_low"] < 0 or settings["duration_low"] > settings["duration_high"]:
        raise ValueError("need 0 <= duration_low <= duration_high")
    return settings


def run_train(args: argparse.Namespace) -> int:
    """``func`` of the ``train`` subcommand: resolve settings and train; 2 on bad settings."""
    try:
        settings = resolve_settings(args)
        resume = getattr(args, "resume", False)
        if settings["algo"] == "cp-guided":
            from cpgym.agents.training.cp_guided import train_cp_guided

            result = train_cp_guided(settings, resume=resume)
        else:
            result = train_jssp(settings, resume=resume)
    except (OSError, ValueError) as error:
        print(f"train: error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


def train_jssp(settings: dict[str, Any], resume: bool = False) -> dict[str, Any]:
    """Train the GNN policy with MaskablePPO as ``settings`` say; returns a summary.

    Torch and SB3 are imported here so that ``import cpgym.cli.train`` (the CLI) stays light.
    """
    import torch as th
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.logger import configure
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecMonitor

    from cpgym.agents.gnn.checkpoint import load_agent, load_trainer_state, policy_kwargs
    from cpgym.agents.gnn.policy import JobShopGNNPolicy
    from cpgym.envs.jobshop import JobShopEnv

    out, last, progress = prepare_run_folder(settings, resume)
    trained = int(progress.get("num_timesteps", 0))

    env_kwargs = env_kwargs_of(settings)
    make_env = partial(JobShopEnv, generator=training_generator(settings), observation="graph",
                       **padding_of(settings), **env_kwargs)
    subproc = settings["vec_env"] == "subproc" or (settings["vec_env"] == "auto" and settings["n_envs"] > 1)
    venv = VecMonitor((SubprocVecEnv if subproc else DummyVecEnv)([make_env] * settings["n_envs"]))
    architecture = {key: settings[key] for key in ("hidden_dim", "n_layers", "aggr", "activation")}
    model = MaskablePPO(
        JobShopGNNPolicy, venv,
        policy_kwargs=policy_kwargs({**architecture, "net_arch": settings["head_layers"]}),
        **{key: settings[key] for key in ("learning_rate", "n_steps", "batch_size", "n_epochs", "gamma",
                                          "gae_lambda", "clip_range", "ent_coef", "vf_coef", "max_grad_norm")},
        seed=settings["seed"], device=settings["device"], verbose=settings["verbose"],
    )
    model.set_logger(configure(str(out / "tb"), ["tensorboard"] + (["stdout"] if settings["verbose"] else [])))
    if resume:
        model.policy.load_state_dict(load_agent(last, device=model.device).policy.state_dict())
        trainer_state = load_trainer_state(last)
        model.policy.optimizer.load_state_dict(trainer_state["optimizer"])
        th.set_rng_state(trainer_state["torch_rng"])
        model.num_timesteps, model._n_updates = trained, int(progress["n_updates"])
        venv.seed(settings["seed"] + trained)  # fresh training instances, not a replay of the first ones
    else:
        if settings["init_from"]:
            model.policy.load_state_dict(load_agent(settings["init_from"], device=model.device).policy.state_dict())
        if settings["bc_teachers"]:
            progress["behaviour_cloning"] = _behaviour_cloning(model, settings, env_kwargs)

    instances, reference, reference_kind = validation_set(settings, out)
    monitor = _monitor_class()(model, out, settings, env_kwargs, instances, reference, reference_kind, progress)
    try:
        if settings["timesteps"] > trained:
            model.learn(settings["timesteps"] - trained, callback=monitor, reset_num_timesteps=not resume)
    except KeyboardInterrupt:
        print(f"\ninterrupted: resume with --resume --out {out}", file=sys.stderr)
    finally:
        monitor.save_last()
        try:
            venv.close()
        except (BrokenPipeError, EOFError):  # workers already gone after Ctrl-C
            pass
    return monitor.summary()


def _behaviour_cloning(model, settings: dict[str, Any], env_kwargs: dict) -> dict:
    """Warm-start ``model.policy`` by imitating the best of ``settings["bc_teachers"]`` on fresh instances."""
    import numpy as np

    from cpgym.agents.training.imitation import clone_teachers, make_teacher, record_demonstrations
    from cpgym.agents.training.run_folder import size_generators

    names = [name.strip() for name in settings["bc_teachers"].split(",") if name.strip()]
    try:
        teachers = [make_teacher(name) for name in names]
    except KeyError as error:
        raise ValueError(f"bc_teachers: {error.args[0]}") from None
    rng = np.random.default_rng([settings["seed"], 1])  # not the training or validation instance streams
    instances = [generate(rng) for generate in size_generators(settings) for _ in range(settings["bc_instances"])]
    demonstrations, wins = record_demonstrations(instances, names if settings["bc_workers"] > 1 else teachers,
                                                 env_kwargs, settings["bc_keep"], settings["seed"],
                                                 progress=settings["progress_bar"], workers=settings["bc_workers"])
    history = clone_teachers(model.policy, demonstrations, settings["bc_epochs"], settings["batch_size"],
                             seed=settings["seed"], progress=settings["progress_bar"])
    for record in history:
        for key in ("cross_entropy", "agreement", "value_mse"):
            model.logger.record(f"bc/{key}", record[key])
        model.logger.dump(record["epoch"])
    return {"teachers": names, "wins": wins, "epochs": history}


def _monitor_class() -> type:
    """The training callback class (defined lazily: SB3 is only imported when training)."""
    import torch as th
    from stable_baselines3.common.callbacks import BaseCallback
    from tqdm import tqdm

    from cpgym.agents.gnn.checkpoint import save_agent

    class TrainingMonitor(BaseCallback):
        """Validates and checkpoints between rollouts, logs episode makespans, drives the progress bar.

        Checkpoints are taken at rollout start, i.e. after the previous rollout has been trained
        on, so ``num_timesteps`` in ``last.pt`` counts exactly the steps learned from.
        """

        def __init__(self, model, out, settings, env_kwargs, instances, reference, reference_kind, progress):
            super().__init__()
            self.out, self.settings, self.env_kwargs = out, settings, env_kwargs
            self.instances, self.reference, self.reference_kind = instances, reference, reference_kind
            self.trained = int(progress.get("num_timesteps", 0))
            self.best = progress.get("best_val_makespan")
            self.history: list[dict] = list(progress.get("history", []))
            self.behaviour_cloning: dict = dict(progress.get("behaviour_cloning", {}))
            self.last_validated = self.history[-1]["timesteps"] if self.history else 0
            self.model_ref = model
            self.bar = None

        def _on_training_start(self) -> None:
            if not self.history:  # step 0: the initial (e.g. behaviour-cloned) policy is a candidate too
                self.validate()
            if self.settings["progress_bar"]:
                self.bar = tqdm(total=self.settings["timesteps"], initial=self.model_ref.num_timesteps, unit="step",
                                dynamic_ncols=True, desc=f"train {self.settings['size']}")

        def _on_rollout_start(self) -> None:
            self.trained = self.model_ref.num_timesteps
            if self.trained - self.last_validated >= self.settings["val_every"]:
                self.validate()

        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "makespan" in info:
                    self.logger.record_mean("train/episode_makespan", info["makespan"])
            if self.bar is not None:
                self.bar.update(self.num_timesteps - self.bar.n)
            return True

        def _on_training_end(self) -> None:
            self.trained = self.model_ref.num_timesteps
            if self.trained > self.last_validated:
                self.validate()
            if self.bar is not None:
                self.bar.close()

        def validate(self) -> None:
            policy = self.model_ref.policy
            record = validation_record(policy, self.instances, self.reference, self.env_kwargs, self.trained)
            self.history.append(record)
            self.last_validated = self.trained
            for key in ("mean_makespan", "mean_gap_pct"):
                self.logger.record(f"val/{key}", record[key])
            self.logger.dump(self.trained)
            if self.best is None or record["mean_makespan"] < self.best:
                self.best = record["mean_makespan"]
                save_agent(self.out / "best.pt", policy, self.env_kwargs, training=self.progress())
            if self.bar is not None:
                self.bar.set_postfix(val_gap=f"{record['mean_gap_pct']:.2f}%")
            self.save_last()

        def progress(self) -> dict:
            return {"num_timesteps": self.trained, "n_updates": self.model_ref._n_updates,
                    "best_val_makespan": self.best, "reference_kind": self.reference_kind,
                    "size": self.settings["size"], "history": self.history,
                    "behaviour_cloning": self.behaviour_cloning}

        def save_last(self) -> None:
            policy = self.model_ref.policy
            trainer_state = {"optimizer": policy.optimizer.state_dict(), "torch_rng": th.get_rng_state()}
            save_agent(self.out / "last.pt", policy, self.env_kwargs, training=self.progress(),
                       trainer_state=trainer_state)

        def summary(self) -> dict:
            latest = self.history[-1] if self.history else {}
            return {"out": str(self.out), "timesteps": self.trained, "best_val_makespan": self.best,
                    "last_val_gap_pct": latest.get("mean_gap_pct"), "reference": self.reference_kind}

    return TrainingMonitor


