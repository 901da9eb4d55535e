"""The bundled flexible job-shop instances (402, with their 2026 best-known bounds) and the registry
record of the problem ``fjsp`` (registered at import).

Data: ``cpgym/instances/data/fjsp`` (see its README for provenance and citations; FJSPLib via the
ScheduleOpt/benchmarks repository, CC BY-SA 4.0). Datasets: ``fjsp`` (all, ``fjsp:FAMILY`` one
family) and one per family (``mk``, ``sdata``, ... ``behnke``; ``FAMILY:SIZE`` one size), every
bundled instance grouped by its family. The solution of an instance is a :class:`FlexibleSchedule`
or its :meth:`~FlexibleSchedule.to_dict` mapping.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from cpgym.errors import ArgumentError, UnknownDatasetError, UnknownInstanceError
from cpgym.instances.fjsp import FlexibleJobShopInstance, format_fjs, looks_like_fjs, parse_fjs, read_fjs
from cpgym.instances.fjsp_schedule import FlexibleSchedule, validate_flexible_schedule
from cpgym.instances.library import InstanceInfo
from cpgym.instances.problems import Check, Problem, register

FJSP_FAMILIES = ("mk", "sdata", "edata", "rdata", "vdata", "dpp", "chambers", "kacem", "fattahi", "behnke")
ALL = "fjsp"  # the dataset of every bundled instance


@dataclass(frozen=True)
class FjspInfo(InstanceInfo):
    """One row of the bundled bounds table; ``kind`` is ``"flexible jobshop"`` or
    ``"machine-independent flexible jobshop"`` (an operation's duration is the same on every machine)."""

    kind: str


def fjsp_data_dir() -> Path:
    """Folder of the bundled flexible job-shop data."""
    return Path(str(resources.files("cpgym.instances") / "data" / "fjsp"))


@cache
def _catalogue() -> dict[str, FjspInfo]:
    with open(fjsp_data_dir() / "bounds.csv", newline="") as handle:
        return {
            r["instance"]: FjspInfo(
                r["instance"], r["family"], int(r["n_jobs"]), int(r["n_machines"]), int(r["lower_bound"]),
                int(r["upper_bound"]), r["status"], r["type"],
            )
            for r in csv.DictReader(handle)
        }


def fjsp_names() -> list[str]:
    """Names of the bundled instances (family by family, in natural order)."""
    return list(_catalogue())


def fjsp_info(name: str) -> FjspInfo:
    """Bounds, size and family of a bundled instance."""
    try:
        return _catalogue()[name]
    except KeyError:
        raise UnknownInstanceError(name, hint="`cpgym instances list --family fjsp` shows the bundled ones") from None


def list_fjsp(family: str | None = None, size: str | None = None) -> list[FjspInfo]:
    """Bundled instances, optionally of one family (``"mk"``) and size (``"10x6"``)."""
    if family is not None and family not in FJSP_FAMILIES:
        raise UnknownDatasetError(f"{ALL}:{family}", [f"{ALL}:{f}" for f in FJSP_FAMILIES])
    return [i for i in _catalogue().values() if family in (None, i.family) and size in (None, i.size)]


def load_fjsp(name: str) -> FlexibleJobShopInstance:
    """A bundled instance with its best-known bounds, e.g. ``load_fjsp("mk01")``."""
    meta = fjsp_info(name)
    path = fjsp_data_dir() / "instances" / f"{name}.txt"
    instance = parse_fjs(path.read_text(), source=str(path), name=name)
    return replace(
        instance,
        lower_bound=meta.lower_bound,
        upper_bound=meta.upper_bound,
        metadata={**instance.metadata, "family": meta.family, "status": meta.status, "type": meta.kind},
    )


def fjsp_dataset(family: str | None = None, size: str | None = None) -> list[FlexibleJobShopInstance]:
    """The bundled instances, optionally of one family and size, e.g. ``fjsp_dataset("mk")``."""
    infos = list_fjsp(family, size)
    if not infos:
        sizes = sorted({i.size for i in list_fjsp(family)}, key=lambda s: tuple(map(int, s.split("x"))))
        label = family or ALL
        raise UnknownDatasetError(f"{label}:{size}", [f"{label}:{s}" for s in sizes])
    return [load_fjsp(i.name) for i in infos]


def _group(instance: FlexibleJobShopInstance) -> str:
    """A bundled instance's family, else its size."""
    return instance.metadata.get("family", instance.size)


def _dataset(family: str | None) -> Callable[[str | None], list[tuple[str, FlexibleJobShopInstance]]]:
    """``fjsp`` (``family`` None: its sub-spec is a family) or one family (its sub-spec is a size)."""
    if family is None:
        return lambda sub: [(_group(i), i) for i in fjsp_dataset(sub)]
    return lambda sub: [(_group(i), i) for i in fjsp_dataset(family, sub)]


def _schedule(instance: FlexibleJobShopInstance, solution: Any) -> FlexibleSchedule:
    if isinstance(solution, FlexibleSchedule):
        return solution
    if isinstance(solution, Mapping) and {"machines", "start_times"} <= solution.keys():
        return FlexibleSchedule.from_dict(solution, instance)
    raise ArgumentError(
        "a flexible job-shop solution is a FlexibleSchedule or a mapping with 'machines' and 'start_times', "
        f"got {type(solution).__name__}"
    )


def _check(instance: FlexibleJobShopInstance, solution: Any) -> Check:
    schedule = _schedule(instance, solution)
    report = validate_flexible_schedule(instance, schedule.machines, schedule.start_times)
    return Check(report.violations, report.makespan, report.makespan)


PROBLEM = register(Problem(
    name="fjsp",
    title="flexible job-shop scheduling (makespan)",
    sense="min",
    instance_type=FlexibleJobShopInstance,
    solution_field="start_times",
    names=fjsp_names,
    load=load_fjsp,
    read=lambda path: [read_fjs(path)],
    sniff=looks_like_fjs,
    datasets={ALL: _dataset(None), **{family: _dataset(family) for family in FJSP_FAMILIES}},
    group_of=_group,
    best_known=lambda instance: (instance.upper_bound, instance.lower_bound),
    validate=_check,
    size_of=lambda instance: instance.size,
    layouts={"fjs": format_fjs},
    aliases=("flexible_jobshop", "flexible_job_shop"),
    objective_field="makespan",
    to_record=lambda instance, solution, objective: {**_schedule(instance, solution).to_dict(), "makespan": objective},
))
