"""Gymnasium environments, registered under the ``cpgym/`` namespace.

``import cpgym`` registers them (entry points are strings, so nothing heavy is imported),
which makes ``gym.make("cpgym:cpgym/JobShop-v0")`` work in a fresh interpreter.
"""

from gymnasium.envs.registration import register, registry

_ENVIRONMENTS = {
    "cpgym/JobShop-v0": "cpgym.envs.jobshop:JobShopEnv",
    "cpgym/FlexibleJobShop-v0": "cpgym.envs.fjsp:FlexibleJobShopEnv",
    "cpgym/RobustKnapsack-v0": "cpgym.envs.robust:RobustKnapsackEnv",
    "cpgym/CapitalBudgeting-v0": "cpgym.envs.robust:CapitalBudgetingEnv",
}

for _env_id, _entry_point in _ENVIRONMENTS.items():
    if _env_id not in registry:
        register(id=_env_id, entry_point=_entry_point)
