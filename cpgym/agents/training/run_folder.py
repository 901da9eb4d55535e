"""The run folder shared by the job-shop training algorithms (MaskablePPO in
:mod:`cpgym.agents.training.ppo`, CP-guided training in :mod:`cpgym.agents.training.cp_guided`).

A run folder ``OUT`` holds ``settings.json`` (the resolved settings), ``validation.json`` (the
fixed validation set's reference makespans), ``last.pt`` (resumable checkpoint: weights,
optimizer state, torch RNG, progress), ``best.pt`` (best mean validation makespan) and the
TensorBoard logs under ``tb/``. A new run refuses a folder that holds a checkpoint; a folder whose
run failed before its first checkpoint is simply reused. Also here: the instance sizes, env
settings and generators that a settings dict describes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from statistics import mean
from typing import Any

import torch as th

from cpgym.agents.gnn.checkpoint import ENV_KEYS, load_agent, load_trainer_state, read_config, save_agent
from cpgym.agents.gnn.decoding import solve_with_agent
from cpgym.agents.gnn.policy import JobShopGNNPolicy
from cpgym.agents.training.settings import SETTINGS_FILE
from cpgym.cp_models.jobshop_cpsat import solve_jobshop
from cpgym.envs.jobshop import MixedSizeGenerator, UniformGenerator
from cpgym.errors import ArgumentError
from cpgym.instances import JobShopInstance, uniform

# the progress record every checkpoint of a run carries (``config["training"]``); other keys are kept as they are
PROGRESS_KEYS = ("algo", "num_timesteps", "n_updates", "best_val_makespan", "reference_kind", "size", "history")


def sizes_of(settings: dict[str, Any]) -> list[tuple[int, int]]:
    """``[(n_jobs, n_machines), ...]`` of a size setting: ``"10x10"`` or a list ``"10x10,20x10,30x15"``."""
    sizes = []
    for size in str(settings["size"]).split(","):
        n_jobs, n_machines = size.split("x")
        sizes.append((int(n_jobs), int(n_machines)))
    return sizes


def padding_of(settings: dict[str, Any]) -> dict[str, int]:
    """Env padding ``{"max_jobs", "max_machines"}`` that fits every training size."""
    sizes = sizes_of(settings)
    return {"max_jobs": max(j for j, _ in sizes), "max_machines": max(m for _, m in sizes)}


def size_generators(settings: dict[str, Any]) -> tuple[UniformGenerator, ...]:
    """One picklable instance generator per training size."""
    low, high = settings["duration_low"], settings["duration_high"]
    return tuple(UniformGenerator(j, m, low, high, settings["two_set_share"]) for j, m in sizes_of(settings))


def training_generator(settings: dict[str, Any]) -> UniformGenerator | MixedSizeGenerator:
    """The picklable generator of fresh training instances (one size, or a uniform mix of sizes)."""
    generators = size_generators(settings)
    return generators[0] if len(generators) == 1 else MixedSizeGenerator(generators)


def architecture_of(settings: dict[str, Any]) -> dict[str, Any]:
    """The network settings as a checkpoint's architecture config (without ``n_features``)."""
    return {"hidden_dim": settings["hidden_dim"], "n_layers": settings["n_layers"], "aggr": settings["aggr"],
            "net_arch": settings["head_layers"], "activation": settings["activation"]}


def env_kwargs_of(settings: dict[str, Any]) -> dict[str, Any]:
    """The env settings the policy is trained with (saved in its checkpoints)."""
    return {key: settings[key] for key in ENV_KEYS}


def validation_set(settings: dict[str, Any], out: Path) -> tuple[list[JobShopInstance], list[int], str]:
    """The fixed validation instances (``uniform``, seeds ``val_seed + i``, ``val_instances`` of every
    training size, the first ``two_set_share`` of them with two machine sets) and their reference
    makespans, and the kind of reference.

    References are CP-SAT makespans (``val_time_limit`` s each; optimal or best found) or, with a
    zero time limit, trivial lower bounds. They are computed once and cached in ``validation.json``
    (recomputed when the instances or the kind of reference differ, or the file is unreadable).
    """
    n_two_sets = round(settings["two_set_share"] * settings["val_instances"])
    instances = [
        uniform(
            n_jobs, n_machines, settings["duration_low"], settings["duration_high"],
            seed=settings["val_seed"] + i, two_sets=i < n_two_sets,
            name=f"val_{n_jobs}x{n_machines}_{settings['val_seed'] + i}" + ("_two_sets" if i < n_two_sets else ""),
        )
        for n_jobs, n_machines in sizes_of(settings)
        for i in range(settings["val_instances"])
    ]
    kind = "cpsat" if settings["val_time_limit"] > 0 else "trivial_lower_bound"
    path = out / "validation.json"
    names = [instance.name for instance in instances]
    cached = _cached_references(path)
    if cached.get("instances") == names and cached.get("reference_kind") == kind:
        return instances, cached["reference"], kind
    if kind == "cpsat":
        reference = [solve_jobshop(i, time_limit=settings["val_time_limit"], seed=0).makespan for i in instances]
    else:
        reference = [i.trivial_lower_bound() for i in instances]
    path.write_text(json.dumps({"instances": names, "reference": reference, "reference_kind": kind}, indent=2))
    return instances, reference, kind


def _cached_references(path: Path) -> dict[str, Any]:
    """The contents of a ``validation.json``; empty when there is none or it is not valid JSON."""
    try:
        cached = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return cached if isinstance(cached, dict) else {}


class RunFolder:
    """One training run in its folder ``settings["out"]``: progress, validation, checkpoints, resume.

    Creating it prepares the folder: a new run (``resume=False``) refuses a folder that holds a
    checkpoint and otherwise (re)writes ``settings.json``, so a folder whose run failed before its
    first checkpoint is reused without cleaning up; ``resume=True`` needs ``last.pt`` and reloads
    the progress saved in it. The trainer advances :attr:`trained` and :attr:`n_updates`, calls
    :meth:`validate` (which also writes ``best.pt`` and ``last.pt``) and :meth:`save_last`.
    """

    def __init__(self, settings: dict[str, Any], resume: bool = False) -> None:
        self.settings, self.resume = settings, resume
        self.out = Path(settings["out"])
        self.last = self.out / "last.pt"
        self.best_path = self.out / "best.pt"
        if resume and not self.last.exists():
            raise ArgumentError(f"{self.last}: cannot resume, no checkpoint saved yet "
                                "(start the run again without --resume)")
        if not resume and (self.last.exists() or self.best_path.exists()):
            raise ArgumentError(f"{self.out} already holds a run: pass --resume to continue it, "
                                "or choose another --out")
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / SETTINGS_FILE).write_text(json.dumps(settings, indent=2) + "\n")
        progress = read_config(self.last)["training"] if resume else {}
        self.trained = int(progress.get("num_timesteps", 0))
        self.n_updates = int(progress.get("n_updates", 0))
        self.best: float | None = progress.get("best_val_makespan")
        self.history: list[dict] = list(progress.get("history", []))
        self.extra: dict[str, Any] = {key: value for key, value in progress.items() if key not in PROGRESS_KEYS}
        self.env_kwargs = env_kwargs_of(settings)
        self.instances, self.reference, self.reference_kind = validation_set(settings, self.out)

    @property
    def last_validated(self) -> int:
        """Steps trained at the last validation (0 before the first)."""
        return self.history[-1]["timesteps"] if self.history else 0

    @cached_property
    def logger(self):
        """The SB3 logger writing TensorBoard events under ``tb/`` (and to stdout with ``verbose``)."""
        from stable_baselines3.common.logger import configure

        return configure(str(self.out / "tb"), ["tensorboard"] + (["stdout"] if self.settings["verbose"] else []))

    def start(self, policy: JobShopGNNPolicy) -> None:
        """Load into ``policy`` the weights to start from: on resume the weights, optimizer state and
        torch RNG of ``last.pt``; else those of ``init_from`` when set (fine-tuning)."""
        source = self.last if self.resume else self.settings["init_from"]
        if source:
            policy.load_state_dict(load_agent(source, device=policy.device).policy.state_dict())
        if self.resume:
            trainer_state = load_trainer_state(self.last)
            policy.optimizer.load_state_dict(trainer_state["optimizer"])
            th.set_rng_state(trainer_state["torch_rng"])

    def validate(self, policy: JobShopGNNPolicy) -> dict[str, float]:
        """Greedy-decode the validation set, log it, update ``best.pt`` and write ``last.pt``;
        returns ``{"timesteps", "mean_makespan", "mean_gap_pct"}``."""
        makespans = [solve_with_agent(policy, i, env_kwargs=self.env_kwargs).makespan for i in self.instances]
        gaps = [100.0 * (m - r) / r for m, r in zip(makespans, self.reference)]
        record = {"timesteps": self.trained, "mean_makespan": mean(makespans), "mean_gap_pct": mean(gaps)}
        self.history.append(record)
        for key in ("mean_makespan", "mean_gap_pct"):
            self.logger.record(f"val/{key}", record[key])
        if self.best is None or record["mean_makespan"] < self.best:
            self.best = record["mean_makespan"]
            save_agent(self.best_path, policy, self.env_kwargs, training=self.progress())
        self.save_last(policy)
        return record

    def progress(self) -> dict[str, Any]:
        """The training record saved in the checkpoints."""
        return {"algo": self.settings["algo"], "num_timesteps": self.trained, "n_updates": self.n_updates,
                "best_val_makespan": self.best, "reference_kind": self.reference_kind,
                "size": self.settings["size"], "history": self.history, **self.extra}

    def save_last(self, policy: JobShopGNNPolicy) -> None:
        """Write ``last.pt``: weights, optimizer state, torch RNG and progress."""
        trainer_state = {"optimizer": policy.optimizer.state_dict(), "torch_rng": th.get_rng_state()}
        save_agent(self.last, policy, self.env_kwargs, training=self.progress(), trainer_state=trainer_state)

    @contextmanager
    def checkpointing(self, policy: JobShopGNNPolicy) -> Iterator[None]:
        """Run training inside: Ctrl-C stops it quietly, and however it ends ``last.pt`` is written
        once anything was trained or validated (else the folder stays free for a fresh start)."""
        try:
            yield
        except KeyboardInterrupt:
            hint = "resume with --resume" if self.trained or self.history else "nothing saved yet; start again with"
            print(f"\ninterrupted: {hint} --out {self.out}", file=sys.stderr)
        finally:
            if self.trained or self.history:
                self.save_last(policy)

    def summary(self) -> dict[str, Any]:
        """What the trainers return (and the command line prints)."""
        latest = self.history[-1] if self.history else {}
        return {"out": str(self.out), "algo": self.settings["algo"], "timesteps": self.trained,
                "best_val_makespan": self.best, "last_val_gap_pct": latest.get("mean_gap_pct"),
                "reference": self.reference_kind}
