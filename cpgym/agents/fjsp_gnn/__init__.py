"""The learned flexible job-shop agent: a heterogeneous GNN policy (``policy``), safe checkpoints
(``checkpoint``), greedy / best-of-N decoding (``decoding``) and self-labelling training (``train``).

Needs the ``rl`` extra; the names below load on first use. See ``docs/fjsp_agent.md``.
"""

from cpgym.agents import lazy_exports, require_rl

require_rl("the flexible job-shop GNN agent (cpgym.agents.fjsp_gnn)")

_EXPORTS = {
    "FlexibleGNNPolicy": "policy",
    "collate": "policy",
    "FlexibleGNNAgent": "checkpoint",
    "SHIPPED_FJSP_MODEL": "checkpoint",
    "load_fjsp_agent": "checkpoint",
    "interpolate_fjsp_agents": "checkpoint",
    "read_fjsp_config": "checkpoint",
    "save_fjsp_agent": "checkpoint",
    "lockstep_rollouts": "decoding",
    "solve_fjsp_with_agent": "decoding",
    "TrainConfig": "train",
    "train_fjsp": "train",
}
__getattr__, __dir__ = lazy_exports(globals(), {name: f"{__name__}.{module}" for name, module in _EXPORTS.items()})

__all__ = list(_EXPORTS)
