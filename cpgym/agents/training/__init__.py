"""Training of the GNN dispatching policy on generated job-shop instances.

``settings`` (the one settings table, light), ``run_folder`` (the run folder shared by the
algorithms), ``ppo`` (MaskablePPO), ``cp_guided`` (CP-guided training), ``imitation`` (behaviour
cloning of teachers). Everything but the settings needs the ``rl`` extra and loads on first use.
"""

from cpgym.agents import lazy_exports
from cpgym.agents.training.settings import OPTIONS, Option, checked_settings, resolve_settings

_EXPORTS = {
    "RunFolder": "run_folder",
    "train_jssp": "ppo",
    "train_cp_guided": "cp_guided",
    "clone_teachers": "imitation",
    "make_teacher": "imitation",
    "record_demonstrations": "imitation",
}
__getattr__, __dir__ = lazy_exports(globals(), {name: f"{__name__}.{module}" for name, module in _EXPORTS.items()})

__all__ = [
    "OPTIONS", "Option", "checked_settings", "resolve_settings",
    "RunFolder", "train_jssp", "train_cp_guided",
    "clone_teachers", "make_teacher", "record_demonstrations",
]
