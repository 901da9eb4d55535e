"""MaskablePPO training of the GNN dispatching policy (``cpgym train --algo ppo``, the default).

The run folder, validation and resume contract are those of
:class:`~cpgym.agents.training.run_folder.RunFolder`; settings are described in
:mod:`cpgym.agents.training.settings`. Optionally the policy is first warm-started by behaviour
cloning of teachers (``bc_teachers``, :mod:`cpgym.agents.training.imitation`) or from a
checkpoint's weights (``init_from``).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
from sb3_contrib import MaskablePPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecMonitor
from tqdm import tqdm

from cpgym.agents.gnn.checkpoint import policy_kwargs
from cpgym.agents.gnn.policy import JobShopGNNPolicy
from cpgym.agents.training.imitation import Teacher, clone_teachers, make_teacher, record_demonstrations
from cpgym.agents.training.run_folder import (
    RunFolder,
    architecture_of,
    padding_of,
    size_generators,
    training_generator,
)
from cpgym.agents.training.settings import checked_settings
from cpgym.envs.jobshop import JobShopEnv
from cpgym.errors import ArgumentError

PPO_SETTINGS = ("learning_rate", "n_steps", "batch_size", "n_epochs", "gamma", "gae_lambda", "clip_range",
                "ent_coef", "vf_coef", "max_grad_norm")


def train_jssp(settings: dict[str, Any], resume: bool = False) -> dict[str, Any]:
    """Train the GNN policy with MaskablePPO as ``settings`` say (missing ones at their defaults);
    ``resume`` continues the run in ``settings["out"]``. Returns the run's summary."""
    settings = checked_settings({**settings, "algo": "ppo"})
    teachers = _teachers(settings) if settings["bc_teachers"] and not resume else None
    run = RunFolder(settings, resume)
    make_env = partial(JobShopEnv, generator=training_generator(settings), observation="graph",
                       **padding_of(settings), **run.env_kwargs)
    subproc = settings["vec_env"] == "subproc" or (settings["vec_env"] == "auto" and settings["n_envs"] > 1)
    venv = VecMonitor((SubprocVecEnv if subproc else DummyVecEnv)([make_env] * settings["n_envs"]))
    try:
        model = MaskablePPO(
            JobShopGNNPolicy, venv, policy_kwargs=policy_kwargs(architecture_of(settings)),
            **{key: settings[key] for key in PPO_SETTINGS},
            seed=settings["seed"], device=settings["device"], verbose=settings["verbose"],
        )
        model.set_logger(run.logger)
        run.start(model.policy)
        if resume:
            model.num_timesteps, model._n_updates = run.trained, run.n_updates
            venv.seed(settings["seed"] + run.trained)  # fresh training instances, not a replay of the first ones
        elif teachers is not None:
            run.extra["behaviour_cloning"] = _behaviour_cloning(model, settings, teachers, run.env_kwargs)
        with run.checkpointing(model.policy):
            if settings["timesteps"] > run.trained:
                model.learn(settings["timesteps"] - run.trained, callback=TrainingMonitor(run),
                            reset_num_timesteps=not resume)
    finally:
        try:
            venv.close()
        except (BrokenPipeError, EOFError):  # workers already gone after Ctrl-C
            pass
    return run.summary()


def _teachers(settings: dict[str, Any]) -> list[tuple[str, Teacher]]:
    """The behaviour-cloning teachers and their specs (built before any work, so a bad spec fails at once)."""
    names = [name.strip() for name in settings["bc_teachers"].split(",") if name.strip()]
    try:
        return [(name, make_teacher(name)) for name in names]
    except KeyError as error:
        raise ArgumentError(f"bc_teachers: {error.args[0]}") from None


def _behaviour_cloning(model: MaskablePPO, settings: dict[str, Any], teachers: list[tuple[str, Teacher]],
                       env_kwargs: dict[str, Any]) -> dict:
    """Warm-start ``model.policy`` by imitating the best of ``teachers`` on fresh instances."""
    rng = np.random.default_rng([settings["seed"], 1])  # not the training or validation instance streams
    instances = [generate(rng) for generate in size_generators(settings) for _ in range(settings["bc_instances"])]
    names = [name for name, _ in teachers]
    demonstrations, wins = record_demonstrations(  # worker processes build their own teachers from the specs
        instances, names if settings["bc_workers"] > 1 else [teacher for _, teacher in teachers], env_kwargs,
        settings["bc_keep"], settings["seed"], progress=settings["progress_bar"], workers=settings["bc_workers"])
    history = clone_teachers(model.policy, demonstrations, settings["bc_epochs"], settings["batch_size"],
                             seed=settings["seed"], progress=settings["progress_bar"])
    for record in history:
        for key in ("cross_entropy", "agreement", "value_mse"):
            model.logger.record(f"bc/{key}", record[key])
        model.logger.dump(record["epoch"])
    return {"teachers": names, "wins": wins, "epochs": history}


class TrainingMonitor(BaseCallback):
    """Validates and checkpoints between rollouts, logs episode makespans, drives the progress bar.

    Checkpoints are taken at rollout start, i.e. after the previous rollout has been trained on,
    so ``num_timesteps`` in ``last.pt`` counts exactly the steps learned from.
    """

    def __init__(self, run: RunFolder) -> None:
        super().__init__()
        self.run = run
        self.bar: tqdm | None = None

    def _on_training_start(self) -> None:
        if not self.run.history:  # step 0: the initial (e.g. behaviour-cloned) policy is a candidate too
            self._validate()
        if self.run.settings["progress_bar"]:
            self.bar = tqdm(total=self.run.settings["timesteps"], initial=self.model.num_timesteps, unit="step",
                            dynamic_ncols=True, desc=f"train {self.run.settings['size']}")

    def _on_rollout_start(self) -> None:
        self._catch_up()
        if self.run.trained - self.run.last_validated >= self.run.settings["val_every"]:
            self._validate()

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            if "makespan" in info:
                self.logger.record_mean("train/episode_makespan", info["makespan"])
        if self.bar is not None:
            self.bar.update(self.num_timesteps - self.bar.n)
        return True

    def _on_training_end(self) -> None:
        self._catch_up()
        if self.run.trained > self.run.last_validated:
            self._validate()
        if self.bar is not None:
            self.bar.close()

    def _catch_up(self) -> None:
        """The run's counters := what the policy has learned from so far."""
        self.run.trained, self.run.n_updates = self.model.num_timesteps, self.model._n_updates

    def _validate(self) -> None:
        record = self.run.validate(self.model.policy)
        self.logger.dump(self.run.trained)
        if self.bar is not None:
            self.bar.set_postfix(val_gap=f"{record['mean_gap_pct']:.2f}%")
