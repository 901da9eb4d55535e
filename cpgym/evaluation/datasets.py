"""Dataset specs for the evaluator.

A spec is one of:

* a family of bundled instances: ``ta``, ``dmu``, ``la``, ... (size groups kept);
* a size group of a family: ``ta:15x15``;
* a single bundled instance: ``ta01``;
* an instance file or a folder of instance files (any layout cpgym reads);
* a generated set: ``gen:taillard:200x50:10`` (10 instances from Taillard's generator with
  time seeds 1..10 and machine seeds 101..110) or ``gen:uniform:10x10:5`` (durations 1..99,
  numpy seeds 1..5);
* robust optimization: ``rkp`` (the 504 robust knapsack instances, grouped by correlation
  class and h, e.g. ``UN-h40``), ``rkp:UN`` (one correlation class), ``cb`` (the 250 capital
  budgeting instances, grouped by size ``n10``..``n50``), ``cb:n20``, or one ``RKP_...`` /
  ``CB_...`` name.

Results are keyed by instance name, so :func:`resolve_all` keeps one item per name: a repeat of the
same instance (same name and data, e.g. ``ta01`` and ``ta``) is dropped, and two different
instances with one name (``a/x.txt`` and ``b/x.txt``) stop the evaluation before any work.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cpgym.errors import ArgumentError, UnknownDatasetError
from cpgym.instances import problem_of, problems, taillard, uniform
from cpgym.instances.resolve import bundled_problem, read_any

DEFAULT_DATASETS = "ta:15x15,ta:20x15"


@dataclass(frozen=True)
class Item:
    """One instance to evaluate (job shop, robust knapsack or capital budgeting), with the dataset
    and group it is reported under."""

    dataset: str
    group: str
    instance: object

    @cached_property
    def fingerprint(self) -> str:
        """A digest of the instance's data (its problem's default file layout): equal for the same instance."""
        write = next(iter(problem_of(self.instance).layouts.values()))
        return hashlib.sha256(write(self.instance).encode()).hexdigest()[:16]


def _generated(spec: str) -> list[Item]:
    parts = spec.split(":")
    if len(parts) != 4 or parts[1] not in ("taillard", "uniform"):
        raise ArgumentError(f"bad generated dataset {spec!r}; expected gen:taillard|uniform:JOBSxMACHINES:COUNT")
    try:
        n_jobs, n_machines = (int(v) for v in parts[2].lower().split("x"))
        count = int(parts[3])
    except ValueError:
        raise ArgumentError(f"bad size or count in {spec!r}; expected e.g. gen:taillard:200x50:10") from None
    items = []
    for k in range(1, count + 1):
        if parts[1] == "taillard":
            instance = taillard(
                n_jobs, n_machines, time_seed=k, machine_seed=100 + k, name=f"tai_{n_jobs}x{n_machines}_{k}"
            )
        else:
            instance = uniform(n_jobs, n_machines, seed=k, name=f"uni_{n_jobs}x{n_machines}_{k}")
        items.append(Item(f"gen:{parts[1]}", instance.size, instance))
    return items


def _datasets() -> dict[str, tuple[str, object]]:
    """Dataset name -> (problem name, expander) over every registered problem."""
    return {key: (p.name, expand) for p in problems() for key, expand in p.datasets.items()}


def resolve(spec: str) -> list[Item]:
    """Expand one dataset spec into items."""
    if spec.startswith("gen:"):
        return _generated(spec)
    key, _, sub = spec.partition(":")
    datasets = _datasets()
    if key in datasets:
        return [Item(key, group, instance) for group, instance in datasets[key][1](sub or None)]
    problem = bundled_problem(spec)
    if problem is not None:
        instance = problem.load(spec)
        dataset = instance.metadata.get("family", next(iter(problem.datasets)))
        return [Item(dataset, problem.group_of(instance), instance)]
    path = Path(spec)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        return [Item(path.name, problem_of(i).group_of(i), i) for f in files for i in read_any(f)]
    if path.is_file():
        return [Item(path.stem, problem_of(i).group_of(i), i) for i in read_any(path)]
    known = [*datasets, "family:SIZE", "a bundled instance", "a file or folder", "gen:taillard|uniform:NxM:COUNT"]
    raise UnknownDatasetError(spec, known)


def resolve_all(specs: list[str]) -> list[Item]:
    """Expand several specs, dropping repeats of the same instance; :class:`ArgumentError` for two
    different instances with one name."""
    first: dict[str, tuple[str, Item]] = {}
    for spec in specs:
        for item in resolve(spec):
            name = item.instance.name
            earlier_spec, earlier = first.setdefault(name, (spec, item))
            if earlier is not item and earlier.fingerprint != item.fingerprint:
                raise ArgumentError(
                    f"two different instances are named {name!r}: {_origin(earlier_spec, earlier)} and "
                    f"{_origin(spec, item)}; results are keyed by instance name, so rename one of them or "
                    "evaluate them into separate output folders"
                )
    return [item for _, item in first.values()]


def _origin(spec: str, item: Item) -> str:
    """Where an item comes from: its file when known, and the dataset spec."""
    source = getattr(item.instance, "metadata", {}).get("source")
    return f"{source} (dataset {spec!r})" if source else f"one from dataset {spec!r}"
