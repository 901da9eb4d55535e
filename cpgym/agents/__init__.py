"""Job-shop agents: dispatching rules, the GNN policy (and its training), the shipped models.

``import cpgym.agents`` stays light (no torch): the rules load at once, the GNN names on first
use, which needs the ``rl`` extra (``pip install 'cpgym[rl]'``)::

    from cpgym.agents import dispatch, load_agent, solve_with_agent
    from cpgym.instances import load

    instance = load("ta01")
    rule = dispatch(instance, "fdd_mwkr")  # a dispatching rule, non-delay mode
    agent = load_agent()  # the shipped GNN model; load_agent("runs/NAME/best.pt") for another
    schedule = solve_with_agent(agent, instance, samples=16)  # best of greedy + 15 samples
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import TYPE_CHECKING, Any

from cpgym.agents.rules import RULES, Rule, RulePolicy, dispatch, get_rule
from cpgym.agents.shipped import model_path, models_dir, shipped_model_path
from cpgym.errors import require

if TYPE_CHECKING:
    from cpgym.agents.gnn import GNNAgent, JobShopGNNPolicy, load_agent, save_agent, solve_with_agent

RL_MODULES = ("torch", "torch_geometric", "stable_baselines3", "sb3_contrib")  # what the ``rl`` extra installs


def require_rl(feature: str, training: bool = False) -> None:
    """Raise :class:`~cpgym.errors.MissingExtraError` naming the ``rl`` extra when one of its packages
    (with ``training``: TensorBoard too) is missing."""
    for module in (*RL_MODULES, "tensorboard") if training else RL_MODULES:
        require(module, "rl", feature)


def lazy_exports(namespace: dict[str, Any],
                 exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module-level ``__getattr__`` and ``__dir__`` for the module whose ``globals()`` is ``namespace``:
    ``exports`` (name -> module) are imported on first access, not with the module."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
        namespace[name] = value = getattr(import_module(exports[name]), name)
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__


__getattr__, __dir__ = lazy_exports(globals(), {
    name: "cpgym.agents.gnn" for name in ("GNNAgent", "JobShopGNNPolicy", "load_agent", "save_agent",
                                          "solve_with_agent")
})

__all__ = [
    "RULES", "Rule", "RulePolicy", "dispatch", "get_rule",
    "GNNAgent", "JobShopGNNPolicy", "load_agent", "save_agent", "solve_with_agent",
    "model_path", "models_dir", "shipped_model_path",
]
