"""The bundled literature instances (242 job-shop instances with best-known bounds).

Data: ``cpgym/instances/data/jssp`` (see its README for provenance; bounds from the
ScheduleOpt/benchmarks repository, CC BY-SA 4.0).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path

from cpgym.errors import UnknownDatasetError, UnknownInstanceError
from cpgym.instances.fjsp import looks_like_fjs
from cpgym.instances.jobshop import JobShopInstance
from cpgym.instances.jobshop_io import detect_layout, format_orlib, format_taillard, parse_instances, read_instances
from cpgym.instances.problems import Check, Problem, header_tokens, register
from cpgym.instances.schedule import validate_schedule

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
        raise UnknownInstanceError(name, hint="`cpgym instances list` shows the bundled ones") from None


def list_instances(family: str | None = None, size: str | None = None) -> list[InstanceInfo]:
    """Bundled instances, optionally filtered by family (``"ta"``) and size (``"20x15"``)."""
    if family is not None and family not in FAMILIES:
        raise UnknownDatasetError(family, FAMILIES)
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
        sizes = sorted({i.size for i in list_instances(family)}, key=lambda s: tuple(map(int, s.split("x"))))
        raise UnknownDatasetError(f"{family}:{size}", [f"{family}:{s}" for s in sizes])
    return [load(i.name) for i in infos]


def taillard_seeds() -> dict[str, tuple[int, int, int, int]]:
    """``{name: (n_jobs, n_machines, time_seed, machine_seed)}`` for ta01-ta80."""
    with open(data_dir() / "taillard_seeds.csv", newline="") as handle:
        return {
            r["instance"]: (int(r["n_jobs"]), int(r["n_machines"]), int(r["time_seed"]), int(r["machine_seed"]))
            for r in csv.DictReader(handle)
        }


def _family_dataset(family: str) -> Callable[[str | None], list[tuple[str, JobShopInstance]]]:
    return lambda size: [(i.size, i) for i in dataset(family, size)]


def _check_schedule(instance: JobShopInstance, start_times) -> Check:
    report = validate_schedule(instance, start_times)
    return Check(report.violations, report.makespan, report.makespan)


PROBLEM = register(Problem(
    name="jssp",
    title="job-shop scheduling (makespan)",
    sense="min",
    instance_type=JobShopInstance,
    solution_field="start_times",
    names=lambda: list(_catalogue()),
    load=load,
    read=read_instances,
    sniff=lambda text: detect_layout(text) == "taillard" or (header_tokens(text) == 2 and not looks_like_fjs(text)),
    datasets={family: _family_dataset(family) for family in FAMILIES},
    group_of=lambda instance: instance.size,
    best_known=lambda instance: (instance.upper_bound, instance.lower_bound),
    validate=_check_schedule,
    size_of=lambda instance: instance.size,
    layouts={"orlib": format_orlib, "taillard": lambda instance: format_taillard([instance])},
    aliases=("jobshop", "job_shop"),
    objective_field="makespan",
))
