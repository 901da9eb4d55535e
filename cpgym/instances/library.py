"""The bundled literature instances (242 job-shop instances with best-known bounds).

Data: ``cpgym/instances/data/jssp`` (see its README for provenance; bounds from the
ScheduleOpt/benchmarks repository, CC BY-SA 4.0).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path

from cpgym.instances.jobshop import JobShopInstance
from cpgym.instances.jobshop_io import parse_instances

FAMILIES = ("abz", "dmu", "ft", "la", "orb", "swv", "ta", "yn")


@dataclass(frozen=True)
class InstanceInfo:
    """One row of the bundled bounds table."""

    name: str
    family: str
    n_jobs: int
    n_machines: int
    lower_bound: int
    upper_bound: int
    status: str  # "closed" (proven optimal) or "open"

    @property
    def size(self) -> str:
        return f"{self.n_jobs}x{self.n_machines}"


def data_dir() -> Path:
    """Folder of the bundled job-shop data."""
    return Path(str(resources.files("cpgym.instances") / "data" / "jssp"))


@cache
def _catalogue() -> dict[str, InstanceInfo]:
    with open(data_dir() / "bounds.csv", newline="") as handle:
        rows = csv.DictReader(handle)
        infos = [
            InstanceInfo(
                r["instance"],
                r["family"],
                int(r["n_jobs"]),
                int(r["n_machines"]),
                int(r["lower_bound"]),
                int(r["upper_bound"]),
                r["status"],
            )
            for r in rows
        ]
    return {info.name: info for info in sorted(infos, key=lambda i: _natural_key(i.name))}


def _natural_key(name: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def info(name: str) -> InstanceInfo:
    """Bounds and size of a bundled instance."""
    try:
        return _catalogue()[name]
    except KeyError:
        raise KeyError(f"unknown instance {name!r}; `cpgym instances list` shows the bundled ones") from None


def list_instances(family: str | None = None, size: str | None = None) -> list[InstanceInfo]:
    """Bundled instances, optionally filtered by family (``"ta"``) and size (``"20x15"``)."""
    if family is not None and family not in FAMILIES:
        raise KeyError(f"unknown family {family!r}; known: {', '.join(FAMILIES)}")
    return [
        i for i in _catalogue().values() if (family is None or i.family == family) and (size is None or i.size == size)
    ]


def load(name: str) -> JobShopInstance:
    """Load a bundled instance with its best-known bounds, e.g. ``load("ta01")``."""
    meta = info(name)
    path = data_dir() / "instances" / f"{name}.txt"
    (instance,), _ = parse_instances(path.read_text(), source=str(path), name=name)
    return replace(
        instance,
        lower_bound=meta.lower_bound,
        upper_bound=meta.upper_bound,
        metadata={**instance.metadata, "family": meta.family, "status": meta.status},
    )


def dataset(family: str, size: str | None = None) -> list[JobShopInstance]:
    """All bundled instances of a family, e.g. ``dataset("dmu", size="20x15")``."""
    infos = list_instances(family, size)
    if not infos:
        raise KeyError(f"no bundled {family} instance of size {size}")
    return [load(i.name) for i in infos]


def taillard_seeds() -> dict[str, tuple[int, int, int, int]]:
    """``{name: (n_jobs, n_machines, time_seed, machine_seed)}`` for ta01-ta80."""
    with open(data_dir() / "taillard_seeds.csv", newline="") as handle:
        return {
            r["instance"]: (int(r["n_jobs"]), int(r["n_machines"]), int(r["time_seed"]), int(r["machine_seed"]))
            for r in csv.DictReader(handle)
        }
