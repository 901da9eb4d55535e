"""Gymnasium environments building a first-stage decision item by item.

At step ``j`` the agent decides item ``j``: action 1 selects it (``x_j = 1``), action 0
skips it. ``action_masks()`` (sb3-contrib MaskablePPO convention) forbids selections that
break first-stage robust feasibility (capital budgeting: ``1.5 cbar.x <= B``). The episode
ends after the last item; the terminal reward is the robust objective of ``x`` from the
exact evaluator (``reward_mode="exact"``) or the cheaper optimistic sampled estimate
(``"sampled"``), divided by ``reward_scale``.

Observation (``gymnasium.spaces.Dict``, padded to ``max_items`` rows like the JSSP env):
``items`` (per-item features, zero rows for padding), ``decided`` / ``selected`` (0/1 per
item), ``current`` (one-hot of the item being decided), ``valid`` (1 for real items).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from cpgym.cp_models.robust.capital_budgeting import evaluate_capital_budgeting, sampled_capital_budgeting
from cpgym.cp_models.robust.knapsack import evaluate_knapsack, sampled_knapsack
from cpgym.instances.capital_budgeting import CapitalBudgetingInstance, generate_capital_budgeting
from cpgym.instances.robust_knapsack import RobustKnapsackInstance, generate_robust_knapsack

InstanceSource = Sequence | Callable[[np.random.Generator], object] | None


class _ItemByItemEnv(gym.Env):
    metadata = {"render_modes": []}
    n_features = 0

    def __init__(self, instances: InstanceSource, max_items: int, reward_mode: str, time_limit: float,
                 reward_scale: float) -> None:
        if reward_mode not in ("exact", "sampled"):
            raise ValueError(f"reward_mode must be 'exact' or 'sampled', got {reward_mode!r}")
        self.instances, self.max_items = instances, max_items
        self.reward_mode, self.time_limit, self.reward_scale = reward_mode, time_limit, reward_scale
        box = spaces.Box(0.0, 1.0, (max_items,), np.float32)
        self.observation_space = spaces.Dict({
            "items": spaces.Box(-np.inf, np.inf, (max_items, self.n_features), np.float32),
            "decided": box, "selected": box, "current": box, "valid": box,
        })
        self.action_space = spaces.Discrete(2)
        self.instance = None
        self.last_evaluation = None

    # subclasses: _generate(rng), _features(), _can_select(j), _evaluate(x)
    def _pick(self):
        if self.instances is None:
            return self._generate(self.np_random)
        if callable(self.instances):
            return self.instances(self.np_random)
        return self.instances[int(self.np_random.integers(len(self.instances)))]

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.instance = (options or {}).get("instance") or self._pick()
        if self.instance.n > self.max_items:
            raise ValueError(f"instance {self.instance.name} has {self.instance.n} items > max_items {self.max_items}")
        self.x = np.zeros(self.instance.n, dtype=np.int64)
        self.step_index = 0
        self._item_features = self._features()
        return self._observation(), {"instance": self.instance.name}

    def action_masks(self) -> np.ndarray:
        return np.array([True, self._can_select(self.step_index)])

    def step(self, action):
        action = int(action)
        if action == 1 and not self._can_select(self.step_index):
            action = 0  # masked action: treated as skip
        self.x[self.step_index] = action
        self.step_index += 1
        terminated = self.step_index == self.instance.n
        reward, info = 0.0, {}
        if terminated:
            self.last_evaluation = self._evaluate(self.x)
            reward = float(self.last_evaluation.objective) / self.reward_scale
            info = {"x": self.x.copy(), "evaluation": self.last_evaluation}
        return self._observation(), reward, terminated, False, info

    def _observation(self) -> dict:
        n, pad = self.instance.n, self.max_items
        items = np.zeros((pad, self.n_features), np.float32)
        items[:n] = self._item_features
        decided, selected, current, valid = (np.zeros(pad, np.float32) for _ in range(4))
        decided[: self.step_index] = 1
        selected[:n] = self.x
        if self.step_index < n:
            current[self.step_index] = 1
        valid[:n] = 1
        return {"items": items, "decided": decided, "selected": selected, "current": current, "valid": valid}


class RobustKnapsackEnv(_ItemByItemEnv):
    """cpgym/RobustKnapsack-v0: choose the first-stage items ``x`` of a two-stage robust knapsack.

    ``instances``: a list of :class:`RobustKnapsackInstance`, a callable ``rng -> instance``, or
    ``None`` (a fresh generated UN instance with ``n_items`` items per episode). Item features:
    ``pbar, phat, t, c, f`` divided by the capacity, and ``Gamma / n``.
    """

    n_features = 6

    def __init__(self, instances: InstanceSource = None, max_items: int = 20, n_items: int = 10,
                 reward_mode: str = "exact", time_limit: float = 10.0, reward_scale: float = 1000.0) -> None:
        self.n_items = n_items
        super().__init__(instances, max_items, reward_mode, time_limit, reward_scale)

    def _generate(self, rng) -> RobustKnapsackInstance:
        return generate_robust_knapsack(self.n_items, "UN", seed=int(rng.integers(2**31)))

    def _features(self) -> np.ndarray:
        inst = self.instance
        cols = [inst.profit, inst.degradation, inst.repair_weight, inst.weight, inst.outsourcing]
        data = np.stack(cols, axis=1) / max(1, inst.capacity)
        return np.hstack([data, np.full((inst.n, 1), inst.gamma / inst.n)]).astype(np.float32)

    def _can_select(self, j: int) -> bool:
        return j < self.instance.n  # every first-stage decision is feasible

    def _evaluate(self, x):
        if self.reward_mode == "sampled":
            return sampled_knapsack(self.instance, x)
        return evaluate_knapsack(self.instance, x, time_limit=self.time_limit)


class CapitalBudgetingEnv(_ItemByItemEnv):
    """cpgym/CapitalBudgeting-v0: choose the projects ``x`` started now in robust capital budgeting.

    ``instances``: a list of :class:`CapitalBudgetingInstance`, a callable, or ``None`` (a generated
    instance with ``n_items`` projects per episode). Item features: ``cbar / B``, ``rbar / B``,
    ``phi_i``, ``psi_i``, and the robust budget left ``(B - 1.5 cbar.x) / B`` (same on every row).
    """

    n_features = 11

    def __init__(self, instances: InstanceSource = None, max_items: int = 20, n_items: int = 10,
                 reward_mode: str = "exact", time_limit: float = 10.0, reward_scale: float = 1.0) -> None:
        self.n_items = n_items
        super().__init__(instances, max_items, reward_mode, time_limit, reward_scale)

    def _generate(self, rng) -> CapitalBudgetingInstance:
        return generate_capital_budgeting(self.n_items, seed=int(rng.integers(2**31)))

    def _features(self) -> np.ndarray:
        inst = self.instance
        scale = inst.budget
        return np.hstack([inst.cost[:, None] / scale, inst.revenue[:, None] / scale, inst.phi, inst.psi,
                          np.ones((inst.n, 1))]).astype(np.float32)

    def _observation(self) -> dict:
        self._item_features[:, -1] = 1 - 1.5 * float(np.dot(self.instance.cost, self.x)) / self.instance.budget
        return super()._observation()

    def _can_select(self, j: int) -> bool:
        if j >= self.instance.n:
            return False
        x = self.x.copy()
        x[j] = 1
        return self.instance.robust_feasible(x)

    def _evaluate(self, x):
        if self.reward_mode == "sampled":
            return sampled_capital_budgeting(self.instance, x, scenarios=np.zeros((0, self.instance.xi_dim)),
                                             n_samples=1000)
        return evaluate_capital_budgeting(self.instance, x, time_limit=self.time_limit)
