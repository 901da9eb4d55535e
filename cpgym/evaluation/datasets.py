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
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cpgym.instances import dataset, load, read_instances, taillard, uniform
from cpgym.instances.capital_budgeting import capital_budgeting_names, load_capital_budgeting
from cpgym.instances.library import FAMILIES
from cpgym.instances.robust_knapsack import knapsack_names, load_robust_knapsack

RKP_CLASSES = ("UN", "WC", "ASC", "SC")


@dataclass(frozen=True)
class Item:
    """One instance to evaluate (job shop, robust knapsack or capital budgeting), with the dataset
    and group it is reported under."""

    dataset: str
    group: str
    instance: object


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


def _rkp_item(name: str) -> Item:
    correlation, h = name.split("_")[1], name.split("_h")[1].split("_")[0]
    return Item("rkp", f"{correlation}-h{h}", load_robust_knapsack(name))


def _cb_item(name: str) -> Item:
    return Item("cb", name.split("_")[1], load_capital_budgeting(name))


def _robust(spec: str) -> list[Item]:
    kind, _, group = spec.partition(":")
    if kind == "rkp":
        if group and group not in RKP_CLASSES:
            raise ValueError(f"unknown knapsack class {group!r}; known: {', '.join(RKP_CLASSES)}")
        return [_rkp_item(n) for n in knapsack_names() if not group or n.split("_")[1] == group]
    items = [_cb_item(n) for n in capital_budgeting_names() if not group or n.split("_")[1] == group]
    if not items:
        raise ValueError(f"no capital budgeting instances in group {group!r}; groups: n10, n20, n30, n40, n50")
    return items


def resolve(spec: str) -> list[Item]:
    """Expand one dataset spec into items."""
    if spec.startswith("gen:"):
        return _generated(spec)
    if spec.partition(":")[0] in ("rkp", "cb"):
        return _robust(spec)
    if spec in knapsack_names():
        return [_rkp_item(spec)]
    if spec in capital_budgeting_names():
        return [_cb_item(spec)]
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
