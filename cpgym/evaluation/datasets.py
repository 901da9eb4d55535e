"""Dataset specs for the evaluator.

A spec is one of:

* a family of bundled instances: ``ta``, ``dmu``, ``la``, ... (size groups kept);
* a size group of a family: ``ta:15x15``;
* a single bundled instance: ``ta01``;
* an instance file or a folder of instance files (any layout cpgym reads);
* a generated set: ``gen:taillard:200x50:10`` (10 instances from Taillard's generator with
  time seeds 1..10 and machine seeds 101..110) or ``gen:uniform:10x10:5`` (durations 1..99,
  numpy seeds 1..5).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cpgym.instances import JobShopInstance, dataset, load, read_instances, taillard, uniform
from cpgym.instances.library import FAMILIES


@dataclass(frozen=True)
class Item:
    """One instance to evaluate, with the dataset and size group it is reported under."""

    dataset: str
    group: str
    instance: JobShopInstance


def _generated(spec: str) -> list[Item]:
    parts = spec.split(":")
    if len(parts) != 4 or parts[1] not in ("taillard", "uniform"):
        raise ValueError(f"bad generated dataset {spec!r}; expected gen:taillard|uniform:JOBSxMACHINES:COUNT")
    try:
        n_jobs, n_machines = (int(v) for v in parts[2].lower().split("x"))
        count = int(parts[3])
    except ValueError:
        raise ValueError(f"bad size or count in {spec!r}; expected e.g. gen:taillard:200x50:10") from None
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


def resolve(spec: str) -> list[Item]:
    """Expand one dataset spec into items."""
    if spec.startswith("gen:"):
        return _generated(spec)
    family, _, size = spec.partition(":")
    if family in FAMILIES:
        return [Item(family, i.size, i) for i in dataset(family, size or None)]
    path = Path(spec)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        return [Item(path.name, i.size, i) for f in files for i in read_instances(f)]
    if path.is_file():
        return [Item(path.stem, i.size, i) for i in read_instances(path)]
    try:
        instance = load(spec)
    except KeyError:
        raise ValueError(
            f"unknown dataset {spec!r}: not a family ({', '.join(FAMILIES)}), family:SIZE, bundled instance, "
            "file, folder or gen:... spec"
        ) from None
    return [Item(instance.metadata["family"], instance.size, instance)]


def resolve_all(specs: list[str]) -> list[Item]:
    """Expand several specs, dropping repeats of the same instance name."""
    seen, items = set(), []
    for spec in specs:
        for item in resolve(spec):
            if item.instance.name not in seen:
                seen.add(item.instance.name)
                items.append(item)
    return items
