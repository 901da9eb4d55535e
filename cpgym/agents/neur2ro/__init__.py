"""Neur2RO (Dumouchelle et al., ICLR 2024): a learned second-stage value function inside column-and-constraint
generation, for the two-stage robust problems (docs/neur2ro.md).

Modules: :mod:`~cpgym.agents.neur2ro.problems` (per-problem features, sampling, uncertainty sets),
:mod:`~cpgym.agents.neur2ro.data` (datasets), :mod:`~cpgym.agents.neur2ro.net` (value network),
:mod:`~cpgym.agents.neur2ro.train` (training, ``train.py neur2ro``), :mod:`~cpgym.agents.neur2ro.ccg`
(main / adversarial MILPs, ML-driven CCG, :func:`solve_neur2ro`). The names below are imported on
first use, so that importing the package does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "solve_neur2ro": "ccg",
    "neur2ro_ccg": "ccg",
    "default_model_path": "ccg",
    "NetView": "ccg",
    "DataConfig": "data",
    "Dataset": "data",
    "generate_dataset": "data",
    "load_dataset": "data",
    "NetConfig": "net",
    "Scaling": "net",
    "ValueNet": "net",
    "load_value_net": "net",
    "save_value_net": "net",
    "PROBLEMS": "problems",
    "CapitalBudgetingProblem": "problems",
    "KnapsackProblem": "problems",
    "get_problem": "problems",
    "problem_for": "problems",
    "register": "problems",
    "train_value_net": "train",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
