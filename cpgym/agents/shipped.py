"""Where the pretrained models shipped as package data live."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SHIPPED_JOBSHOP_MODEL = "jssp_gnn.pt"


def models_dir() -> Path:
    """The folder of the shipped models (``cpgym/agents/models``)."""
    return Path(str(resources.files("cpgym.agents") / "models"))


def shipped_model_path(name: str = SHIPPED_JOBSHOP_MODEL) -> Path | None:
    """Path of a shipped model file, or None when the package ships none."""
    path = models_dir() / name
    return path if path.exists() else None


def model_path(path: str | Path | None = None) -> Path:
    """The model file ``path`` names: ``None`` is the shipped job-shop model, an existing path itself,
    and the file name of a shipped model (``"jssp_gnn_ppo_10x10.pt"``) that model."""
    if path is None:
        shipped = shipped_model_path()
        if shipped is None:
            raise FileNotFoundError(f"this cpgym installation ships no {SHIPPED_JOBSHOP_MODEL}; pass a model path")
        return shipped
    path = Path(path)
    if not path.exists() and path.name == str(path):
        return shipped_model_path(path.name) or path
    return path
