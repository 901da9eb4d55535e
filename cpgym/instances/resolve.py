"""One resolver from what a user types (a bundled name of any problem, or a file path) to instances.

Used by the CLI, the evaluator and the environments. A file is read with the reader of the
problem whose layout it has (judged from its header line; job shop when unsure), so a malformed
file gets that reader's message (file, line, problem). A job-shop file whose content equals a
bundled instance gets that instance's name and current best-known bounds (Taillard files carry
their 1993 bounds in the header: ta03 says 1222, the optimum is 1218).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from cpgym.errors import ArgumentError, InstanceFormatError, UnknownDatasetError, UnknownInstanceError
from cpgym.instances.jobshop import JobShopInstance
from cpgym.instances.library import list_instances, load
from cpgym.instances.problems import Problem, get_problem, problems


@cache
def _bundled_names(problem: str) -> frozenset[str]:
    return frozenset(get_problem(problem).names())


def bundled_problem(name: str) -> Problem | None:
    """The problem of a bundled instance name, or None when no problem bundles that name."""
    return next((p for p in problems() if name in _bundled_names(p.name)), None)


def _fingerprint(instance: JobShopInstance) -> str:
    digest = hashlib.sha1(instance.machines.tobytes())
    digest.update(instance.durations.tobytes())
    return f"{instance.size}:{digest.hexdigest()}"


@cache
def _bundled_fingerprints() -> dict[str, str]:
    return {_fingerprint(load(info.name)): info.name for info in list_instances()}


def match_bundled(instance: JobShopInstance) -> JobShopInstance:
    """The bundled instance (name and current bounds) when ``instance`` has the same data, else ``instance``."""
    name = _bundled_fingerprints().get(_fingerprint(instance))
    if name is None:
        return instance
    bundled = load(name)
    return replace(bundled, metadata={**bundled.metadata, "source": instance.metadata.get("source", instance.name)})


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        problem = f"not a UTF-8 text file ({error.reason} at byte {error.start})"
        raise InstanceFormatError(str(path), None, problem) from None
    except OSError as error:
        raise InstanceFormatError(str(path), None, f"cannot be read ({error.strerror})") from None


def file_problem(path: str | Path) -> Problem:
    """The problem whose file layout ``path`` has (job shop when no layout matches)."""
    text = _read_text(Path(path))
    return next((p for p in problems() if p.sniff(text)), get_problem("jssp"))


def read_any(path: str | Path) -> list[Any]:
    """Every instance of a file of any registered problem (bundled job-shop data renamed as bundled)."""
    path = Path(path)
    instances = file_problem(path).read(path)
    return [match_bundled(i) if isinstance(i, JobShopInstance) else i for i in instances]


def resolve_instances(target: str | Path) -> list[Any]:
    """A bundled instance name of any problem (one instance) or a file (all its instances)."""
    problem = bundled_problem(str(target))
    if problem is not None:
        return [problem.load(str(target))]
    path = Path(target)
    if path.is_file():
        return read_any(path)
    if path.is_dir():
        raise UnknownInstanceError(str(target), hint="a folder, not a file; datasets take folders")
    raise UnknownInstanceError(str(target), hint="neither a bundled instance (`cpgym instances list`) nor a file")


def resolve_instance(target: str | Path, index: int | None = None) -> Any:
    """One instance: a bundled name, or a file's instance ``index`` (default the first; files such as
    Taillard's may hold several)."""
    instances = resolve_instances(target)
    position = 0 if index is None else index
    if not 0 <= position < len(instances):
        raise ArgumentError(f"{target} holds {len(instances)} instance(s); --index must be 0..{len(instances) - 1}")
    return instances[position]


def dataset(name: str, size: str | None = None, family: str | None = None) -> list[Any]:
    """The bundled instances of a dataset of any problem: ``dataset("ta", "15x15")``,
    ``dataset("rkp", "UN")``, ``dataset("fjsp", family="mk")``, ``dataset("mk")``.

    ``size`` / ``family`` is the dataset's sub-spec (the part after the colon of the evaluator's
    ``NAME:SUB`` dataset specs: a size group for job-shop families, a class, group or family otherwise).
    """
    if size is not None and family is not None:
        raise ArgumentError(f"dataset({name!r}): give a size or a family, not both")
    for problem in problems():
        if name in problem.datasets:
            return [instance for _, instance in problem.datasets[name](size or family)]
    known = sorted(key for problem in problems() for key in problem.datasets)
    raise UnknownDatasetError(name, known)
