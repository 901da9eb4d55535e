"""``cpgym/JobShop-v0`` as a ``gymnasium.vector.VectorEnv`` backed by :class:`cpgym.envs.batched.BatchedJobShop`.

``gym.make_vec("cpgym:cpgym/JobShop-v0", num_envs=B, vectorization_mode="vector_entry_point", ...)``
(or :class:`BatchedJobShopVectorEnv` directly) takes the keyword arguments of :class:`JobShopEnv` and
returns what ``SyncVectorEnv`` over ``B`` copies of it returns: the same spaces, numpy observations
(graph or flat), rewards, infos, seeding (sub-env ``i`` is seeded ``seed + i``, so both draw the same
instances) and Gymnasium's default autoreset (``NEXT_STEP``). The one difference: the machine-chain
columns of ``edge_index`` are grouped by machine instead of in insertion order (the same edge set;
the order is not meaningful). ``docs/batched_engine.md`` has the details.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from cpgym.envs.batched import BatchedJobShop, th
from cpgym.envs.checks import instance_option
from cpgym.envs.jobshop import InstanceSpec, JobShopEnv, _resolve
from cpgym.envs.jobshop_state import Mode
from cpgym.errors import ArgumentError, IllegalActionError, ResetNeededError
from cpgym.instances.jobshop import JobShopInstance

__all__ = ["BatchedJobShopVectorEnv"]


class BatchedJobShopVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` job-shop dispatching environments stepped as one batch (see the module docstring).

    The arguments after ``num_envs`` are :class:`JobShopEnv`'s (``render_mode`` must stay ``None``),
    plus ``device``: the torch device of the engine (``self.engine``, the raw tensor API).
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        instance: InstanceSpec | Sequence[InstanceSpec] | None = None,
        generator: Callable[[np.random.Generator], JobShopInstance] | None = None,
        mode: Mode = "non_delay",
        reward: str = "dense",
        observation: str = "graph",
        max_jobs: int | None = None,
        max_machines: int | None = None,
        reward_scale: float = 1.0,
        invalid_action: str = "raise",
        render_mode: str | None = None,
        device: str | th.device = "cpu",
    ) -> None:
        if not isinstance(num_envs, int) or num_envs < 1:
            raise ArgumentError(f"num_envs must be a positive int, got {num_envs!r}")
        if render_mode is not None:
            raise ArgumentError("the batched vector env does not render; use JobShopEnv (vectorization_mode='sync')")
        # one JobShopEnv checks the arguments and holds the instance list / generator, padding and spaces
        self._template = template = JobShopEnv(
            instance=instance, generator=generator, mode=mode, reward=reward, observation=observation,
            max_jobs=max_jobs, max_machines=max_machines, reward_scale=reward_scale, invalid_action=invalid_action)
        self.num_envs = num_envs
        self.single_observation_space = template.observation_space
        self.single_action_space = template.action_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.render_mode = None
        self.engine = BatchedJobShop(mode, reward, reward_scale, device, template.max_jobs, template.max_machines)
        self._rngs: list[np.random.Generator | None] = [None] * num_envs
        self._autoreset = np.zeros(num_envs, dtype=bool)
        max_ops, max_edges = template.max_ops, template.max_edges
        self._compact = th.zeros((num_envs, max_ops), dtype=th.long, device=self.engine.device)
        self._compact_real = th.zeros((num_envs, max_ops, 1), dtype=th.float32, device=self.engine.device)
        self._conjunctive = th.zeros((num_envs, 2, max_edges), dtype=th.long, device=self.engine.device)

    def action_masks(self) -> np.ndarray:
        """Legal actions, bool ``(num_envs, max_jobs)`` (all False on a terminal observation)."""
        return self.engine.mask.cpu().numpy().copy()

    # ------------------------------------------------------------------ Gymnasium API
    def reset(self, *, seed: int | Sequence[int] | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed if isinstance(seed, int) else None)
        if seed is not None:
            seeds = [seed + i for i in range(self.num_envs)] if isinstance(seed, int) else list(seed)
            if len(seeds) != self.num_envs:
                raise ArgumentError(f"seed must be an int or {self.num_envs} ints, got {seed!r}")
            self._rngs = [seeding.np_random(s)[0] for s in seeds]
        chosen = instance_option(options, "a JobShopInstance or a bundled instance name")
        self.engine.reset(self._draw(range(self.num_envs), chosen))
        self._index_instances(np.arange(self.num_envs))
        self._autoreset[:] = False
        obs = self._observation()
        return obs, self._base_info(obs)

    def step(self, actions: Any):
        if not self.engine.instances:
            raise ResetNeededError("call reset() first")
        actions = self._checked_actions(actions)
        resetting = self._autoreset.copy()
        if resetting.any():  # NEXT_STEP autoreset: these sub-envs restart, their actions are ignored
            ids = np.flatnonzero(resetting)
            self.engine.reset(self._draw(ids, None), env_ids=ids)
            self._index_instances(ids)
        mask = self.engine.mask.cpu().numpy()
        stepped = ~resetting
        illegal = stepped & ~mask[np.arange(self.num_envs), actions]
        penalized = np.zeros(self.num_envs, dtype=bool)
        if illegal.any() and self._template.invalid_action == "mask":
            actions = np.where(illegal, mask.argmax(axis=1), actions)  # the lowest-index legal job
        elif illegal.any() and self._template.invalid_action == "penalty":
            penalized = illegal
        # under "raise" the engine's check raises IllegalActionError naming the sub-env and the legal jobs
        reward, done = self.engine.step(th.as_tensor(actions), skip=th.as_tensor(~stepped | penalized))
        rewards = reward.cpu().numpy()
        work = self.engine.total_work.cpu().numpy()
        rewards[penalized] = -(work[penalized] + 1).astype(np.float64) * self._template.reward_scale
        finished = done.cpu().numpy() & stepped & ~penalized
        terminated = finished | penalized
        self._autoreset = terminated.copy()

        obs = self._observation()
        info = self._base_info(obs)
        info["illegal_action"], info["_illegal_action"] = illegal, stepped.copy()
        info["dispatched_job"] = np.where(stepped, np.where(penalized, -1, actions), 0).astype(np.int64)
        info["_dispatched_job"] = stepped.copy()
        if finished.any():
            makespans = self.engine.makespan.cpu().numpy()
            info["makespan"] = np.where(finished, makespans, 0)
            info["_makespan"] = finished
            info["schedule"] = np.full(self.num_envs, None, dtype=object)
            for i in np.flatnonzero(finished):
                info["schedule"][i] = self.engine.schedule(int(i))
            info["_schedule"] = finished.copy()
        return obs, rewards, terminated, np.zeros(self.num_envs, dtype=bool), info

    # ------------------------------------------------------------------ internals
    def _draw(self, ids: Sequence[int] | np.ndarray, chosen: Any) -> list[JobShopInstance]:
        """The next instance of each sub-env in ``ids``, drawn as ``JobShopEnv.reset`` draws it."""
        template, drawn = self._template, []
        for i in ids:
            if self._rngs[i] is None:
                self._rngs[i] = seeding.np_random()[0]
            if chosen is not None:
                instance = _resolve(chosen)
            elif template.generator is not None:
                instance = template.generator(self._rngs[i])
            else:
                instance = template.instances[int(self._rngs[i].integers(len(template.instances)))]
            template._check_fits(instance)
            drawn.append(instance)
        return drawn

    def _index_instances(self, ids: np.ndarray) -> None:
        """Node renumbering (padded ``j * M + k`` to ``j * n_machines + k``) and conjunctive edges of ``ids``."""
        template = self._template
        machines = template.max_machines
        compact = np.zeros((len(ids), template.max_ops), dtype=np.int64)
        real = np.zeros((len(ids), template.max_ops, 1), dtype=np.float32)
        conjunctive = np.zeros((len(ids), 2, template.max_edges), dtype=np.int64)
        for row, i in enumerate(ids):
            instance = self.engine.instances[i]
            n_ops = instance.n_operations
            jobs, ops = np.divmod(np.arange(n_ops), instance.n_machines)
            compact[row, :n_ops] = jobs * machines + ops
            real[row, :n_ops] = 1.0
            sources = np.flatnonzero(ops < instance.n_machines - 1)
            conjunctive[row, 0, : len(sources)] = sources
            conjunctive[row, 1, : len(sources)] = sources + 1
        index = th.as_tensor(ids, dtype=th.long, device=self.engine.device)
        for target, value in ((self._compact, compact), (self._compact_real, real), (self._conjunctive, conjunctive)):
            target[index] = th.as_tensor(value, device=self.engine.device)

    def _checked_actions(self, actions: Any) -> np.ndarray:
        array = np.asarray(actions.cpu() if isinstance(actions, th.Tensor) else actions)
        if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer) or array.shape != (self.num_envs,):
            raise IllegalActionError(f"actions must be {self.num_envs} integer job indices (an array of shape "
                                     f"({self.num_envs},)), got {actions!r}")
        outside = (array < 0) | (array >= self._template.max_jobs)
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            raise IllegalActionError(f"sub-env {i}: action {array[i]} is outside the action space "
                                     f"Discrete({self._template.max_jobs}) (an integer job index)")
        return array.astype(np.int64)

    def _base_info(self, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        every = np.ones(self.num_envs, dtype=bool)
        return {"action_mask": obs["action_mask"].copy(), "_action_mask": every,
                "makespan_lb": self.engine.makespan_lb.cpu().numpy().copy(), "_makespan_lb": every.copy()}

    def _observation(self) -> dict[str, np.ndarray]:
        engine = self.engine
        mask = engine.mask.to(th.int8).cpu().numpy()
        if self._template.observation_kind == "flat":
            return {"job_features": engine.flat_features().cpu().numpy(), "action_mask": mask}
        machines = self._template.max_machines
        n_machines = engine.n_machines[:, None]

        def renumber(node: th.Tensor) -> th.Tensor:  # padded node id -> the env's node id
            shape = node.shape
            node = node.reshape(len(node), -1)
            return ((node // machines) * n_machines + node % machines).reshape(shape)

        index = self._compact[:, :, None].expand(-1, -1, engine.node_features.shape[2])
        nodes = engine.node_features.gather(1, index) * self._compact_real
        sources, targets = engine.edge_index()
        sources, targets = sources.flatten(1), targets.flatten(1)
        chained = targets >= 0
        n_conjunctive = engine.n_jobs * (engine.n_machines - 1)
        slot = th.where(chained, n_conjunctive[:, None] + chained.cumsum(dim=1) - 1, self._conjunctive.shape[2])
        edges = th.cat([self._conjunctive, th.zeros_like(self._conjunctive[:, :, :1])], dim=2)
        edges[:, 0].scatter_(1, slot, th.where(chained, renumber(sources), 0))
        edges[:, 1].scatter_(1, slot, th.where(chained, renumber(targets), 0))
        return {
            "node_features": nodes.cpu().numpy(),
            "edge_index": edges[:, :, :-1].cpu().numpy(),
            "n_edges": (n_conjunctive + chained.sum(dim=1))[:, None].cpu().numpy(),
            "n_nodes": engine.n_ops[:, None].cpu().numpy(),
            "candidate": renumber(engine.candidate).cpu().numpy(),
            "action_mask": mask,
        }
