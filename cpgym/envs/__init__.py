"""Gymnasium environments, registered under the ``cpgym/`` namespace.

``import cpgym`` registers them (entry points are strings, so nothing heavy is imported),
which makes ``gym.make("cpgym:cpgym/JobShop-v0")`` work in a fresh interpreter. The classes
(``JobShopEnv``, ``FlexibleJobShopEnv``, ``RobustKnapsackEnv``, ``CapitalBudgetingEnv``) load on
first use of their names.
"""

from importlib import import_module
from typing import Any

from gymnasium.envs.registration import register, registry

_ENVIRONMENTS = {
    "cpgym/JobShop-v0": "cpgym.envs.jobshop:JobShopEnv",
    "cpgym/FlexibleJobShop-v0": "cpgym.envs.fjsp:FlexibleJobShopEnv",
    "cpgym/RobustKnapsack-v0": "cpgym.envs.robust:RobustKnapsackEnv",
    "cpgym/CapitalBudgeting-v0": "cpgym.envs.robust:CapitalBudgetingEnv",
}

# Batched (lockstep, torch) vector envs: gym.make_vec(ID, num_envs=B, vectorization_mode="vector_entry_point")
_VECTOR_ENTRY_POINTS = {"cpgym/JobShop-v0": "cpgym.envs.batched_vector:BatchedJobShopVectorEnv"}

for _env_id, _entry_point in _ENVIRONMENTS.items():
    if _env_id not in registry:
        register(id=_env_id, entry_point=_entry_point, vector_entry_point=_VECTOR_ENTRY_POINTS.get(_env_id))

__all__ = ["ENV_IDS", "CapitalBudgetingEnv", "FlexibleJobShopEnv", "JobShopEnv", "RobustKnapsackEnv"]
ENV_IDS = tuple(_ENVIRONMENTS)
_CLASSES = {entry.rpartition(":")[2]: entry for entry in _ENVIRONMENTS.values()}


def __getattr__(name: str) -> Any:
    if name in _CLASSES:
        module, _, attribute = _CLASSES[name].partition(":")
        return getattr(import_module(module), attribute)
    raise AttributeError(f"module 'cpgym.envs' has no attribute {name!r}")
