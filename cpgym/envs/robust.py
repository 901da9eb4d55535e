"""``cpgym/RobustKnapsack-v0`` and ``cpgym/CapitalBudgeting-v0``: a first-stage decision, item by item.

At step ``j`` the agent decides item ``j``: action 1 selects it (``x_j = 1``), action 0 skips it.
The episode ends after the last item with the robust objective of ``x`` as reward (exact
evaluator or the cheap optimistic sampled estimate), multiplied by ``reward_scale``. Capital
budgeting masks the selections that break first-stage robust feasibility (``1.5 cbar.x <= B``).
The contract (spaces, features, masks, rewards, ``invalid_action``) is in ``docs/robust_envs.md``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from cpgym.cp_models.robust.capital_budgeting import evaluate_capital_budgeting, sampled_capital_budgeting
from cpgym.cp_models.robust.common import RobustEvaluation
from cpgym.cp_models.robust.knapsack import evaluate_knapsack, sampled_knapsack
from cpgym.envs.checks import INVALID_ACTIONS, instance_option, integer_action
from cpgym.errors import ArgumentError, IllegalActionError, ResetNeededError
from cpgym.instances.capital_budgeting import CapitalBudgetingInstance, generate_capital_budgeting
from cpgym.instances.resolve import resolve_instance
from cpgym.instances.robust_knapsack import RobustKnapsackInstance, generate_robust_knapsack

__all__ = ["INVALID_ACTIONS", "KNAPSACK_FEATURES", "REWARD_MODES", "CapitalBudgetingEnv", "RobustKnapsackEnv"]

SKIP, SELECT = 0, 1
REWARD_MODES = ("exact", "sampled")
KNAPSACK_FEATURES = ("profit", "degradation", "repair_weight", "weight", "outsourcing", "gamma")

Instance = RobustKnapsackInstance | CapitalBudgetingInstance
InstanceSpec = Instance | str | os.PathLike
InstanceGenerator = Callable[[np.random.Generator], InstanceSpec]


class _ItemByItemEnv(gym.Env):
    """Shared episode logic; subclasses give the instance type, generator, features, mask and evaluator."""

    metadata = {"render_modes": []}
    instance_type: type
    problem: str  # for messages

    def __init__(
        self,
        instance: InstanceSpec | Sequence[InstanceSpec] | None,
        generator: InstanceGenerator | None,
        instances: Sequence[InstanceSpec] | InstanceGenerator | None,
        max_items: int | None,
        n_items: int,
        reward_mode: str,
        time_limit: float,
        reward_scale: float,
        invalid_action: str,
    ) -> None:
        if reward_mode not in REWARD_MODES:
            raise ArgumentError(f"reward_mode must be one of {REWARD_MODES}, got {reward_mode!r}")
        if invalid_action not in INVALID_ACTIONS:
            raise ArgumentError(f"invalid_action must be one of {INVALID_ACTIONS}, got {invalid_action!r}")
        if not (math.isfinite(reward_scale) and reward_scale > 0):
            raise ArgumentError(f"reward_scale must be a positive multiplier of the reward, got {reward_scale}")
        if not time_limit > 0:
            raise ArgumentError(f"time_limit must be positive, got {time_limit}")
        if n_items < 1:
            raise ArgumentError(f"n_items must be at least 1, got {n_items}")
        if sum(arg is not None for arg in (instance, generator, instances)) > 1:
            raise ArgumentError("give at most one of instance=, generator= and instances= "
                                "(instances= is the older name of the other two)")
        if instances is not None:  # older API: a list (now instance=) or a callable (now generator=)
            instance, generator = (None, instances) if callable(instances) else (instances, None)
        self.reward_mode, self.time_limit, self.invalid_action = reward_mode, time_limit, invalid_action
        self.reward_scale, self.n_items = float(reward_scale), n_items
        if instance is None:
            self.instances: list[Instance] = []
            self.generator = generator or self._generate
            sized = [self._resolve(self.generator(np.random.default_rng(0)))]
        else:
            specs = list(instance) if isinstance(instance, (list, tuple)) else [instance]
            if not specs:
                raise ArgumentError("the instance list is empty")
            self.instances = [self._resolve(spec) for spec in specs]
            self.generator = None
            sized = self.instances
        self.max_items = max_items if max_items is not None else max(inst.n for inst in sized)
        if self.max_items < 1:
            raise ArgumentError(f"max_items must be at least 1, got {self.max_items}")
        self.feature_names = self._feature_names(sized[0])
        for inst in self.instances:
            self._check_fits(inst)
        item_box = spaces.Box(0.0, 1.0, (self.max_items,), np.float32)
        self.observation_space = spaces.Dict({
            "item_features": spaces.Box(-np.inf, np.inf, (self.max_items, len(self.feature_names)), np.float32),
            "decided": item_box, "selected": item_box, "current": item_box, "valid": item_box,
            "action_mask": spaces.Box(0, 1, (2,), np.int8),
        })
        self.action_space = spaces.Discrete(2)
        self.instance: Instance | None = None
        self.done = False

    # ------------------------------------------------------------------ subclass hooks
    def _generate(self, rng: np.random.Generator) -> Instance:
        raise NotImplementedError

    def _feature_names(self, instance: Instance) -> tuple[str, ...]:
        raise NotImplementedError

    def _features(self) -> np.ndarray:
        """``(n, n_features)`` float32 features of the current instance's items."""
        raise NotImplementedError

    def _selection_error(self) -> str | None:
        """Why selecting the current item is illegal, or ``None`` when it is legal."""
        return None

    def _evaluate(self, x: np.ndarray) -> RobustEvaluation:
        raise NotImplementedError

    # ------------------------------------------------------------------ public
    @property
    def illegal_penalty(self) -> float:
        """Reward of a masked action under ``invalid_action="penalty"``: ``-1 * reward_scale``.

        Robust revenues are never negative, so a capital-budgeting episode ended by a masked action
        returns less than any complete one (the knapsack masks no selection)."""
        return -self.reward_scale

    def action_masks(self) -> np.ndarray:
        """Legal actions ``[skip, select]``, bool ``(2,)`` (the hook MaskablePPO calls); all False once done."""
        return self._mask().astype(bool)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        chosen = self._instance_option(options)
        if chosen is not None:
            instance = self._resolve(chosen)
        elif self.generator is not None:
            instance = self._resolve(self.generator(self.np_random))
        else:
            instance = self.instances[int(self.np_random.integers(len(self.instances)))]
        self._check_fits(instance)
        self.instance, self.done = instance, False
        self.x = np.zeros(instance.n, dtype=np.int64)
        self.step_index = 0
        self._item_features = self._features()
        obs = self._observation()
        return obs, {"instance": instance.name, "action_mask": obs["action_mask"]}

    def step(self, action):
        if self.instance is None:
            raise ResetNeededError("call reset() before step()")
        if self.done:
            raise ResetNeededError("the episode is over; call reset()")
        action = self._checked(action)
        why = self._selection_error() if action == SELECT else None
        illegal = why is not None
        info: dict[str, Any] = {"illegal_action": illegal}
        if illegal:
            if self.invalid_action == "raise":
                raise IllegalActionError(f"{why}; the legal action is {SKIP} (skip)")
            if self.invalid_action == "penalty":
                self.done = True
                obs = self._observation()
                info["action_mask"] = obs["action_mask"]
                return obs, self.illegal_penalty, True, False, info
            action = SKIP
        self.x[self.step_index] = action
        self.step_index += 1
        self.done = self.step_index == self.instance.n
        reward = 0.0
        if self.done:
            evaluation = self._evaluate(self.x)
            reward = float(evaluation.objective) * self.reward_scale
            info.update(x=self.x.copy(), evaluation=evaluation)
        obs = self._observation()
        info["action_mask"] = obs["action_mask"]
        return obs, reward, self.done, False, info

    # ------------------------------------------------------------------ internals
    def _resolve(self, spec: InstanceSpec) -> Instance:
        instance = resolve_instance(spec) if isinstance(spec, (str, os.PathLike)) else spec
        if not isinstance(instance, self.instance_type):
            what = getattr(instance, "name", None) or type(instance).__name__
            raise ArgumentError(f"{what} is not a {self.problem} instance ({self.instance_type.__name__}); "
                                "pass one, a bundled name or a file")
        return instance

    def _check_fits(self, instance: Instance) -> None:
        if instance.n > self.max_items:
            raise ArgumentError(f"instance {instance.name} has {instance.n} items > max_items {self.max_items}; "
                                "pass a larger max_items")
        names = self._feature_names(instance)
        if names != self.feature_names:
            raise ArgumentError(f"instance {instance.name} has item features {names}, the env was built for "
                                f"{self.feature_names}")

    @staticmethod
    def _instance_option(options: Any) -> InstanceSpec | None:
        return instance_option(options, "an instance, a bundled name or a file")

    @staticmethod
    def _checked(action: Any) -> int:
        """The action as an int: 0 (skip) or 1 (select)."""
        return integer_action(action, 2, f"the integer {SKIP} (skip) or {SELECT} (select)")

    def _mask(self) -> np.ndarray:
        if self.done:
            return np.zeros(2, dtype=np.int8)
        return np.array([1, self._selection_error() is None], dtype=np.int8)

    def _observation(self) -> dict[str, np.ndarray]:
        n, pad = self.instance.n, self.max_items
        features = np.zeros((pad, len(self.feature_names)), np.float32)
        features[:n] = self._item_features
        decided, selected, current, valid = (np.zeros(pad, np.float32) for _ in range(4))
        decided[: self.step_index] = 1
        selected[:n] = self.x
        if not self.done:
            current[self.step_index] = 1
        valid[:n] = 1
        return {"item_features": features, "decided": decided, "selected": selected, "current": current,
                "valid": valid, "action_mask": self._mask()}


class RobustKnapsackEnv(_ItemByItemEnv):
    """cpgym/RobustKnapsack-v0: choose the first-stage items ``x`` of a two-stage robust knapsack.

    Args:
        instance: a :class:`RobustKnapsackInstance`, a bundled name or file, or a list of them
            (each reset draws one with the env's seeded RNG).
        generator: ``callable(rng) -> instance`` called at each reset instead (default when
            neither is given: a generated UN instance with ``n_items`` items).
        instances: older name of both (a list or a callable); at most one of the three.
        max_items: padding size (default: the largest listed instance, or the generator's first).
        reward_mode: ``"exact"`` (certified robust value) or ``"sampled"`` (optimistic, cheap).
        time_limit: seconds for the exact evaluation.
        reward_scale: the terminal reward is the robust objective multiplied by it.
        invalid_action: ``"raise"``, ``"mask"`` or ``"penalty"``; no selection is ever masked here.

    Item features (``KNAPSACK_FEATURES``): ``pbar, phat, t, c, f`` divided by the capacity, and ``Gamma / n``.
    """

    instance_type = RobustKnapsackInstance
    problem = "robust knapsack"

    def __init__(
        self,
        instance: InstanceSpec | Sequence[InstanceSpec] | None = None,
        generator: InstanceGenerator | None = None,
        max_items: int | None = None,
        n_items: int = 10,
        reward_mode: str = "exact",
        time_limit: float = 10.0,
        reward_scale: float = 1e-3,
        invalid_action: str = "raise",
        *,
        instances: Sequence[InstanceSpec] | InstanceGenerator | None = None,
    ) -> None:
        super().__init__(instance, generator, instances, max_items, n_items, reward_mode, time_limit, reward_scale,
                         invalid_action)

    def _generate(self, rng: np.random.Generator) -> RobustKnapsackInstance:
        return generate_robust_knapsack(self.n_items, "UN", seed=int(rng.integers(2**31)))

    def _feature_names(self, instance: Instance) -> tuple[str, ...]:
        return KNAPSACK_FEATURES

    def _features(self) -> np.ndarray:
        inst = self.instance
        columns = [inst.profit, inst.degradation, inst.repair_weight, inst.weight, inst.outsourcing]
        data = np.stack(columns, axis=1) / max(1, inst.capacity)
        return np.hstack([data, np.full((inst.n, 1), inst.gamma / inst.n)]).astype(np.float32)

    def _evaluate(self, x: np.ndarray) -> RobustEvaluation:
        if self.reward_mode == "sampled":
            return sampled_knapsack(self.instance, x)
        return evaluate_knapsack(self.instance, x, time_limit=self.time_limit)


class CapitalBudgetingEnv(_ItemByItemEnv):
    """cpgym/CapitalBudgeting-v0: choose the projects ``x`` started now in robust capital budgeting.

    Arguments as :class:`RobustKnapsackEnv` (instances are :class:`CapitalBudgetingInstance`; the
    default generator makes ``n_items`` projects with ``xi_dim = 4``; ``reward_scale`` default 1).
    Selecting a project is masked when ``1.5 cbar.x <= B`` would break. Item features: ``cbar / B``,
    ``rbar / B``, ``phi_1..phi_d``, ``psi_1..psi_d`` and the robust budget left ``(B - 1.5 cbar.x) / B``
    (the same on every row); all instances of an env share ``d = xi_dim``.
    """

    instance_type = CapitalBudgetingInstance
    problem = "capital budgeting"

    def __init__(
        self,
        instance: InstanceSpec | Sequence[InstanceSpec] | None = None,
        generator: InstanceGenerator | None = None,
        max_items: int | None = None,
        n_items: int = 10,
        reward_mode: str = "exact",
        time_limit: float = 10.0,
        reward_scale: float = 1.0,
        invalid_action: str = "raise",
        *,
        instances: Sequence[InstanceSpec] | InstanceGenerator | None = None,
    ) -> None:
        super().__init__(instance, generator, instances, max_items, n_items, reward_mode, time_limit, reward_scale,
                         invalid_action)

    def _generate(self, rng: np.random.Generator) -> CapitalBudgetingInstance:
        return generate_capital_budgeting(self.n_items, seed=int(rng.integers(2**31)))

    def _feature_names(self, instance: Instance) -> tuple[str, ...]:
        dims = range(1, instance.xi_dim + 1)
        return ("cost", "revenue", *(f"phi_{k}" for k in dims), *(f"psi_{k}" for k in dims), "budget_left")

    def _features(self) -> np.ndarray:
        inst = self.instance
        return np.hstack([inst.cost[:, None] / inst.budget, inst.revenue[:, None] / inst.budget, inst.phi, inst.psi,
                          np.ones((inst.n, 1))]).astype(np.float32)

    def _observation(self) -> dict[str, np.ndarray]:
        self._item_features[:, -1] = 1 - 1.5 * float(np.dot(self.instance.cost, self.x)) / self.instance.budget
        return super()._observation()

    def _selection_error(self) -> str | None:
        inst, j = self.instance, self.step_index
        x = self.x.copy()
        x[j] = 1
        if inst.robust_feasible(x):
            return None
        return (f"selecting project {j} breaks the robust budget: 1.5 cbar.x = {1.5 * np.dot(inst.cost, x):.6g} "
                f"> B = {inst.budget:g}")

    def _evaluate(self, x: np.ndarray) -> RobustEvaluation:
        if self.reward_mode == "sampled":
            return sampled_capital_budgeting(self.instance, x, scenarios=np.zeros((0, self.instance.xi_dim)),
                                             n_samples=1000)
        return evaluate_capital_budgeting(self.instance, x, time_limit=self.time_limit)
