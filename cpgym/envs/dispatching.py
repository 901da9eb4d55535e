"""What the job-shop and flexible job-shop dispatching envs share: their settings and read-only views."""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

import gymnasium as gym

from cpgym.envs.checks import INVALID_ACTIONS, check_choices
from cpgym.envs.jobshop_state import MODES
from cpgym.errors import ResetNeededError

REWARDS = ("dense", "sparse")
OBSERVATIONS = ("graph", "flat")


class _Simulator(Protocol):
    makespan: int
    makespan_lb: int


State = TypeVar("State", bound=_Simulator)


class DispatchingEnv(gym.Env, Generic[State]):
    """Base of ``JobShopEnv`` and ``FlexibleJobShopEnv``: checks and stores the settings they share
    (``ArgumentError`` naming the setting and its allowed values) and exposes the simulator."""

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}
    modes: tuple[str, ...] = MODES  # the simulator's dispatching modes

    def __init__(self, mode: str, reward: str, observation: str, reward_scale: float, invalid_action: str,
                 render_mode: str | None) -> None:
        check_choices(("mode", mode, self.modes), ("reward", reward, REWARDS),
                      ("observation", observation, OBSERVATIONS),
                      ("invalid_action", invalid_action, INVALID_ACTIONS),
                      ("render_mode", render_mode, (None, *self.metadata["render_modes"])))
        self.mode, self.reward_kind, self.observation_kind = mode, reward, observation
        self.invalid_action, self.render_mode = invalid_action, render_mode
        self.reward_scale = float(reward_scale)
        self._state: State | None = None
        self._over = False  # the episode ended (all scheduled, or an illegal action under "penalty")

    @property
    def state(self) -> State:
        """The simulator (partial schedule); treat its arrays as read-only."""
        if self._state is None:
            raise ResetNeededError("call reset() first")
        return self._state

    @property
    def makespan(self) -> int:
        """Latest end among the scheduled operations (the final makespan once done)."""
        return self.state.makespan

    @property
    def makespan_lb(self) -> int:
        """Current lower bound of the makespan (the bound the dense reward follows)."""
        return self.state.makespan_lb
