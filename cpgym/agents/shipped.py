"""Where the pretrained models shipped as package data live."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SHIPPED_JOBSHOP_MODEL = "jssp_gnn.pt"


def models_dir() -> Path:
    return Path(str(resources.files("cpgym.agents") / "models"))


def shipped_model_path(name: str = SHIPPED_JOBSHOP_MODEL) -> Path | None:
    """Path of a shipped model file, or None when the package ships none."""
    path = models_dir() / name
    return path if path.exists() else None
