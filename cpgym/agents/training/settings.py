"""The settings of job-shop training (MaskablePPO; self-label, reinforce and CP-guided on the batched
engine): one table and its resolution.

:data:`OPTIONS` lists every setting with its default, parser/validator, help text and allowed
values; the command line (:mod:`cpgym.cli.train`) makes one flag of each. :func:`resolve_settings`
merges, in increasing priority: the defaults, the settings saved in the run folder (on resume), a
TOML/YAML config file, and the flags. :func:`checked_settings` fills in defaults and validates a
settings dict given from Python. Bad values raise :class:`~cpgym.errors.ArgumentError` naming the
source and the setting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cpgym.errors import ArgumentError
from cpgym.parallel import BACKENDS

ALGOS = ("ppo", "self-label", "reinforce", "cp-guided")
SETTINGS_FILE = "settings.json"


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


def _non_negative_int(text: str | int) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(f"expected a whole number >= 0, got {text!r}")
    return value


def _positive(text: str | float) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError(f"expected a number > 0, got {text!r}")
    return value


def _non_negative(text: str | float) -> float:
    value = float(text)
    if not value >= 0:
        raise ValueError(f"expected a number >= 0, got {text!r}")
    return value


def _share(text: str | float) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise ValueError(f"expected a share between 0 and 1, got {text!r}")
    return value


def _int_list(text: str | Sequence[int]) -> list[int]:
    """Layer widths: ``64,64`` or a list of positive integers."""
    items = text if isinstance(text, (list, tuple)) else [t for t in str(text).split(",") if t.strip()]
    values = [int(v) for v in items]
    if any(v < 1 for v in values):
        raise ValueError(f"layer widths must be positive, got {text!r}")
    return values


def _device(text: str) -> str:
    """A torch device name; a GPU that is not there is refused (SB3 would silently train on the CPU)."""
    import re

    name = str(text).strip()
    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", name):
        raise ValueError(f"expected auto, cpu, cuda, cuda:N or mps, got {text!r}")
    if name.startswith("cuda"):
        import torch

        count = torch.cuda.device_count()
        index = int(name.partition(":")[2] or 0)
        if index >= count:
            found = f"{count} CUDA device(s)" if count else "no CUDA GPU (torch.cuda.is_available() is False)"
            raise ValueError(f"--device {name}: this machine has {found}; use --device auto or cpu")
    return name


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

    @property
    def is_flag(self) -> bool:
        """A boolean setting (``--name`` / ``--no-name`` on the command line)."""
        return self.type is _bool


OPTIONS: dict[str, Option] = {
    "algo": Option("ppo", str, "training algorithm: ppo (SB3 MaskablePPO over the Gym env), or on the batched "
                              "engine self-label, reinforce (POMO baseline) or cp-guided", ALGOS),
    "size": Option("10x10", _size, "training/validation instance size JOBSxMACHINES, or a list 10x10,20x10 "
                                   "(each reset draws one size)"),
    "timesteps": Option(2_000_000, _count, "total environment steps (e.g. 2e6)"),
    "n_envs": Option(8, _count, "parallel environments (SubprocVecEnv when > 1)"),
    "vec_env": Option("auto", str, "vectorisation: subprocess when n_envs > 1 (auto)", ("auto", "subproc", "dummy")),
    "device": Option("auto", _device, "torch device: auto, cpu, cuda, cuda:1, ... (a missing GPU is an error)"),
    "out": Option("runs/gnn", str, "run folder (checkpoints, TensorBoard logs, settings)"),
    "seed": Option(0, int, "seed of the training instance stream, network init and sampling"),
    "mode": Option("non_delay", str, "dispatching mode of the env", ("active", "non_delay")),
    "reward": Option("dense", str, "reward of the env", ("dense", "sparse")),
    "reward_scale": Option(0.01, float, "env reward multiplier (durations are 1..99)"),
    "duration_low": Option(1, _non_negative_int, "smallest generated duration"),
    "duration_high": Option(99, _non_negative_int, "largest generated duration"),
    "val_instances": Option(20, _count, "size of the fixed validation set"),
    "val_seed": Option(1_000_000, int, "seed of the validation set (instance i uses val_seed + i)"),
    "val_every": Option(50_000, _count, "validate and checkpoint every this many steps"),
    "val_time_limit": Option(2.0, _non_negative, "CP-SAT seconds per validation instance for the gap reference "
                                                 "(0: gap to the trivial lower bound instead)"),
    "hidden_dim": Option(64, _count, "GIN embedding width"),
    "n_layers": Option(3, _count, "GIN message-passing layers"),
    "aggr": Option("add", str, "GIN neighbour aggregation", ("add", "mean", "max")),
    "head_layers": Option([64, 64], _int_list, "hidden widths of the actor and critic MLPs (e.g. 64,64)"),
    "activation": Option("tanh", str, "activation of the actor/critic MLPs", ("tanh", "relu", "elu")),
    "learning_rate": Option(3e-4, _positive, "Adam learning rate"),
    "n_steps": Option(256, _count, "steps per env per rollout"),
    "batch_size": Option(512, _count, "PPO minibatch size"),
    "n_epochs": Option(4, _count, "PPO epochs per rollout"),
    "gamma": Option(1.0, float, "discount (1: the return is minus the makespan increase)"),
    "gae_lambda": Option(0.95, float, "GAE lambda"),
    "clip_range": Option(0.2, _positive, "PPO clip range"),
    "ent_coef": Option(0.01, float, "entropy bonus coefficient"),
    "vf_coef": Option(0.5, float, "value loss coefficient"),
    "max_grad_norm": Option(0.5, _positive, "gradient clipping norm"),
    "two_set_share": Option(0.0, _share, "share of training/validation instances whose jobs visit the first half of "
                                         "the machines before the second (dmu41-80 routing)"),
    "init_from": Option("", str, "start from this checkpoint's weights (fine-tuning; empty: random init)"),
    "bc_teachers": Option("", str, "behaviour-cloning warm start before PPO: comma-separated rules, checkpoints "
                                   "(greedy) and/or sampleN:CHECKPOINT (best of N samples); per instance the best "
                                   "teacher's schedule is imitated (empty: none)"),
    "bc_instances": Option(32, _count, "behaviour cloning: generated instances per training size"),
    "bc_keep": Option(0.5, _share, "behaviour cloning: share of the demonstrated steps trained on"),
    "bc_epochs": Option(5, _count, "behaviour cloning: epochs over the demonstrations"),
    "bc_workers": Option(1, _count, "behaviour cloning: processes running the teachers"),
    "instances": Option(16, _count, "self-label/reinforce: instances per iteration"),
    "samples": Option(32, _count, "self-label: sampled solutions per instance (the best is the label); reinforce: "
                                  "rollouts per instance (their mean makespan is the baseline)"),
    "compile": Option(False, _bool, "self-label/reinforce/cp-guided: torch.compile the sampling forward pass "
                                    "(about 2x faster on a CPU after ~30 s of compilation; needs a C++ compiler)"),
    "pomo_starts": Option(False, _bool, "reinforce: the rollouts of an instance start with distinct jobs (POMO)"),
    "cp_episodes": Option(16, _count, "cp-guided: episodes per iteration (one CP completion each)"),
    "cp_time_limit": Option(1.0, _positive, "cp-guided: CP-SAT seconds per completion"),
    "cp_workers": Option(0, _non_negative_int, "cp-guided: CP-SAT completions run in parallel (0: one per core)"),
    "cp_threads": Option(1, _count, "cp-guided: CP-SAT threads per completion"),
    "cp_backend": Option("local", str, "cp-guided: where CP solves run", BACKENDS),
    "ray_address": Option("", str, "cp-guided: Ray cluster address HOST:PORT (empty: start a local Ray)"),
    "target_kl": Option(0.02, float, "self-label/reinforce/cp-guided: stop an iteration's epochs when the approx. KL "
                                     "exceeds 1.5x this (0: never)"),
    "progress_bar": Option(True, _bool, "show a progress bar"),
    "verbose": Option(0, int, "SB3 verbosity (1 prints PPO statistics)"),
}
# settings that may differ between a run and its resumption without changing what is learned
# (``out`` is always the folder being resumed, wherever the run started)
RESUME_OVERRIDABLE = frozenset({
    "timesteps", "n_envs", "vec_env", "device", "progress_bar", "verbose", "val_every", "compile",
    "cp_workers", "cp_threads", "cp_backend", "ray_address",
})


def parse_setting(name: str, value: Any, source: str = "settings") -> Any:
    """``value`` parsed and checked as setting ``name`` (``-`` or ``_`` in the name)."""
    key = str(name).replace("-", "_")
    option = OPTIONS.get(key)
    if option is None:
        raise ArgumentError(f"{source}: unknown setting {name!r}; known: {', '.join(OPTIONS)}")
    try:
        parsed = option.type(value)
    except (TypeError, ValueError) as error:
        raise ArgumentError(f"{source}: setting {name!r}: {error}") from None
    if option.choices and parsed not in option.choices:
        raise ArgumentError(f"{source}: setting {name!r} must be one of {option.choices}, got {value!r}")
    return parsed


def _parsed(settings: Mapping[str, Any], source: str) -> dict[str, Any]:
    """``settings`` parsed and checked one by one, keyed by the ``_`` spelling of their names."""
    return {str(name).replace("-", "_"): parse_setting(name, value, source) for name, value in settings.items()}


def checked_settings(settings: Mapping[str, Any], source: str = "settings") -> dict[str, Any]:
    """Every setting: the given ones parsed and checked, the others at their defaults."""
    complete = {name: option.default for name, option in OPTIONS.items()} | _parsed(settings, source)
    if complete["duration_low"] > complete["duration_high"]:
        raise ArgumentError(f"{source}: need duration_low <= duration_high, got {complete['duration_low']} > "
                            f"{complete['duration_high']}")
    return complete


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The settings of a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file, parsed and checked."""
    path = Path(path)
    if not path.is_file():
        raise ArgumentError(f"{path}: no such config file")
    text = path.read_text()
    if path.suffix == ".toml":
        tomllib = _toml_module()
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ArgumentError(f"{path}: invalid TOML: {error}") from None
    elif path.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ArgumentError(f"{path}: YAML config files need PyYAML (pip install pyyaml); "
                                "or write the settings as TOML") from None
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as error:
            raise ArgumentError(f"{path}: invalid YAML: {error}") from None
    else:
        raise ArgumentError(f"{path}: config files must end in .toml, .yaml or .yml")
    if not isinstance(data, dict):
        raise ArgumentError(f"{path}: expected a table of settings at top level")
    return _parsed(data, str(path))


def _toml_module():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise ArgumentError("TOML config files need Python >= 3.11 or tomli (pip install tomli)") from None
    return tomllib


def saved_settings(out: str | Path) -> dict[str, Any]:
    """The settings a run saved in its folder ``out`` (``settings.json``), checked, defaults filled in."""
    path = Path(out) / SETTINGS_FILE
    if not path.is_file():
        raise ArgumentError(f"{path}: cannot resume, the run folder has no {SETTINGS_FILE}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ArgumentError(f"{path}: invalid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ArgumentError(f"{path}: expected a JSON object of settings")
    return checked_settings(data, str(path))


def resolve_settings(flags: Mapping[str, Any], config: str | Path | None = None,
                     resume: bool = False) -> dict[str, Any]:
    """All settings: defaults < saved run settings (``resume``) < ``config`` file < ``flags``.

    On resume only the :data:`RESUME_OVERRIDABLE` settings may differ from the saved ones, and
    the run folder is the ``out`` given (flag, file or default), not the one saved: a copied or
    moved run folder resumes where it is.
    """
    given = (read_config_file(config) if config else {}) | _parsed(flags, "command line")
    settings = checked_settings(given)
    if not resume:
        return settings
    out = settings["out"]
    saved = saved_settings(out)
    changed = sorted(name for name in given
                     if name != "out" and name not in RESUME_OVERRIDABLE and given[name] != saved[name])
    if changed:
        raise ArgumentError(f"cannot change {', '.join(changed)} when resuming {out} "
                            f"(only {', '.join(sorted(RESUME_OVERRIDABLE))} may change)")
    return checked_settings({**saved, **given, "out": out}, str(Path(out) / SETTINGS_FILE))
