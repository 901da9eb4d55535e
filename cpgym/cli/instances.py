"""``cpgym instances list|show|export``: the bundled instances of every problem, and instance files.

``list --family F`` lists a family of any problem (job shop: ta, dmu, la, ...; flexible job shop: mk,
edata, ...; robust: rkp, cb; all job-shop instances without ``--family``); ``show`` and ``export``
take a bundled name or a file (any problem).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cpgym.errors import ArgumentError, UnknownDatasetError
from cpgym.instances.problems import DEFAULT_PROBLEM, Problem, get_problem, problem_of, problems
from cpgym.instances.resolve import resolve_instance


def family_problem(family: str) -> Problem:
    """The problem with a dataset called ``family`` (``ta`` -> job shop, ``mk`` -> flexible job shop, ``rkp``)."""
    problem = next((p for p in problems() if family in p.datasets), None)
    if problem is None:
        known = sorted(name for p in problems() for name in p.datasets)
        raise UnknownDatasetError(family, known, "--family takes the name of one of them")
    return problem


def _status(problem: Problem, instance: Any) -> str:
    lower, upper = problem.bounds(instance)
    return "closed" if lower is not None and lower == upper else "open"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def instance_text(instance: Any, problem: Problem, layout: str | None) -> tuple[str, str]:
    """``(layout, text)`` of an instance in ``layout`` (default: its problem's first layout)."""
    layout = layout or next(iter(problem.layouts))
    if layout not in problem.layouts:
        raise ArgumentError(f"--layout {layout} is not a layout of {problem.title} files; they have: "
                            f"{', '.join(problem.layouts)}")
    return layout, problem.layouts[layout](instance)


def _list(family: str | None, size: str | None) -> int:
    """Bundled instances of one family (default: every job-shop family), with their best-known bounds."""
    problem = get_problem(DEFAULT_PROBLEM) if family is None else family_problem(family)
    families = [family] if family else list(problem.datasets)
    rows = [(key, i) for key in families for _, i in problem.datasets[key](None)
            if size is None or problem.size_of(i) in (size, f"n{size}")]
    width = max([8, *(len(i.name) for _, i in rows)])
    print(f"{'instance':<{width}} {'family':<6} {'size':>7} {'lb':>10} {'ub':>10} status")
    for key, instance in rows:
        lower, upper = problem.bounds(instance)
        print(f"{instance.name:<{width}} {key:<6} {problem.size_of(instance):>7} {_number(lower):>10} "
              f"{_number(upper):>10} {_status(problem, instance)}")
    print(f"{len(rows)} instances")
    return 0


def _show(instance: Any, problem: Problem, layout: str | None) -> int:
    print(f"{instance.name}: {problem.title}, {problem.size_of(instance)}")
    lower, upper = problem.bounds(instance)
    if lower is not None or upper is not None:
        print(f"best-known bounds: lb={_number(lower)} ub={_number(upper)} ({_status(problem, instance)})")
    print(instance_text(instance, problem, layout)[1], end="")
    return 0


def _export(instance: Any, problem: Problem, layout: str | None, file: str | None) -> int:
    if not file:
        raise ArgumentError("`cpgym instances export NAME FILE` needs a file to write")
    path = Path(file)
    if not path.parent.is_dir():
        raise ArgumentError(f"cannot write {file}: folder {path.parent} does not exist")
    layout, text = instance_text(instance, problem, layout)
    path.write_text(text)
    print(f"wrote {instance.name} ({layout} layout) to {file}")
    return 0


def run(args: argparse.Namespace) -> int:
    """``func`` of ``cpgym instances``."""
    if args.action == "list":
        return _list(args.family, args.size)
    if not args.name:
        raise ArgumentError(f"`cpgym instances {args.action}` needs an instance name or file")
    instance = resolve_instance(args.name, args.index)
    problem = problem_of(instance)
    if args.action == "show":
        return _show(instance, problem, args.layout)
    return _export(instance, problem, args.layout, args.file)
