"""The GNN dispatching policy: network and SB3 policy (``policy``), safe checkpoints (``checkpoint``),
greedy / best-of-N decoding (``decoding``) and incremental inference (``incremental``).

Needs the ``rl`` extra; importing this package (or any of its modules) without it raises
:class:`~cpgym.errors.MissingExtraError`. The names below load on first use.
"""

from cpgym.agents import lazy_exports, require_rl

require_rl("the GNN agent (cpgym.agents.gnn)")

_EXPORTS = {
    "JobShopGNNPolicy": "policy",
    "GNNAgent": "checkpoint",
    "build_policy": "checkpoint",
    "interpolate_agents": "checkpoint",
    "load_agent": "checkpoint",
    "load_trainer_state": "checkpoint",
    "read_config": "checkpoint",
    "save_agent": "checkpoint",
    "decode_with_agent": "decoding",
    "solve_with_agent": "decoding",
    "IncrementalEncoder": "incremental",
}
__getattr__, __dir__ = lazy_exports(globals(), {name: f"{__name__}.{module}" for name, module in _EXPORTS.items()})

__all__ = [
    "JobShopGNNPolicy",
    "GNNAgent", "build_policy", "interpolate_agents", "load_agent", "load_trainer_state", "read_config", "save_agent",
    "decode_with_agent", "solve_with_agent",
    "IncrementalEncoder",
]
