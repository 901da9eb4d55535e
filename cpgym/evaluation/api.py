"""``cpgym.evaluate``: methods x datasets, every solution validated, resumable, in parallel.

The Python front door of the evaluator (``cpgym evaluate`` parses its flags into :func:`evaluate`);
see :mod:`cpgym.evaluation` for an example with a method of your own.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cpgym.errors import ArgumentError, Status, check_seconds
from cpgym.evaluation import datasets as dataset_specs
from cpgym.evaluation import report
from cpgym.evaluation.datasets import Item
from cpgym.evaluation.methods import Method, Settings, default_methods, method_name, problems_of, solver_of
from cpgym.evaluation.report import SummaryRecord
from cpgym.evaluation.results import ResultRow, ResultStore
from cpgym.evaluation.runner import Task, run_tasks
from cpgym.instances import problem_of
from cpgym.parallel import BACKENDS

SETTINGS = ("threads", "seed", "eval_time_limit")  # what a resumed folder must share with the run


@dataclass(frozen=True)
class EvaluationResult:
    """What :func:`evaluate` returns: every row (those of an earlier run in the same ``out`` folder
    included, in the order of ``results.csv``), the summary records behind ``summary.md``, the
    output folder (None for an in-memory evaluation), and ``failed``: the rows of tasks of this call
    whose method raised (status ``error``; a later call with the same ``out`` retries them)."""

    rows: list[ResultRow]
    summary: list[SummaryRecord]
    out: Path | None
    failed: list[ResultRow] = field(default_factory=list)

    def markdown(self) -> str:
        """The summary as Markdown tables (the text of ``summary.md``)."""
        return report.markdown(self.summary)


def evaluate(
    datasets: str | Sequence[str] | None = None,
    methods: str | Sequence[Method] | None = None,
    out: str | Path | None = None,
    *,
    workers: int = 1,
    threads: int | None = None,
    seed: int = 0,
    backend: str = "local",
    address: str | None = None,
    eval_time_limit: float = 30.0,
    gantt: str | None = None,
    plots: bool = True,
    progress: bool = False,
) -> EvaluationResult:
    """Run every method on every instance of ``datasets`` that belongs to a problem the method handles.

    ``datasets``: dataset specs (see :mod:`cpgym.evaluation.datasets`; a string is split at commas;
    None: ``ta:15x15,ta:20x15``). ``methods``: method specs (:mod:`cpgym.evaluation.methods`) or
    callables ``(instance, settings) -> solution`` (None: the rules, the shipped agent, ``cpsat:10``).
    ``out``: a folder receiving ``results.csv``, ``solutions/``, ``summary.md``, ``config.json``,
    ``gaps_*.png`` (unless ``plots`` is False) and, for the ``gantt`` instance, Gantt charts; an
    existing folder resumes (finished rows are not rerun). None: in memory, no files.
    ``workers`` tasks run at once (``backend`` ``"local"`` or ``"ray"``, at ``address``), each with
    ``threads`` CPU threads (default: cores // workers) and ``seed``; ``eval_time_limit``: seconds of
    the exact robust evaluation of a decision; ``progress``: show a progress bar.

    A failing method does not raise: its rows have status ``error`` and are listed in ``failed``.
    Raises :class:`~cpgym.errors.ArgumentError`, before any task runs, for an ``out`` folder that
    cannot be created or that another evaluation is writing, for two different instances with one
    name (or two tasks whose solution files would collide), and for resuming ``out`` with other
    ``threads``, ``seed`` or ``eval_time_limit`` than its rows were computed with.
    """
    dataset_list = _listed(dataset_specs.DEFAULT_DATASETS if datasets is None else datasets, "datasets")
    method_list = _listed(default_methods() if methods is None else methods, "methods")
    names = [method_name(method) for method in method_list]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ArgumentError(f"method names must be unique; repeated: {', '.join(repeated)}")
    applies = {name: problems_of(method) for name, method in zip(names, method_list)}
    for method in method_list:
        solver_of(method)  # fail fast on a bad spec, before any work starts
    _check_resources(method_list, workers, threads, backend)
    settings = Settings(threads=threads or max(1, (os.cpu_count() or 1) // workers), seed=seed,
                        eval_time_limit=check_seconds(eval_time_limit, "eval_time_limit"))
    if gantt is not None and out is None:
        raise ArgumentError("gantt charts are files: pass an output folder (out=...)")
    gantt_instance = None if gantt is None else _gantt_instance(gantt)
    with ResultStore(out) as store:
        items = dataset_specs.resolve_all(dataset_list)
        pairs = [(item, name, method) for item in items for name, method in zip(names, method_list)
                 if problem_of(item.instance).name in applies[name]]
        store.check_solution_paths((item.instance.name, name) for item, name, _ in pairs)
        if store.out is not None:
            _resume_config(store, items, {"datasets": dataset_list, "methods": names, "workers": workers,
                                          "threads": settings.threads, "seed": seed,
                                          "eval_time_limit": settings.eval_time_limit, "backend": backend})
        done = store.done()
        tasks = [Task(item, method, settings) for item, name, method in pairs if (item.instance.name, name) not in done]
        failed = _run(tasks, store, workers, backend, address, progress) if tasks else []
        summary = report.summarise(store.rows)
        if store.out is not None:
            (store.out / "summary.md").write_text(report.markdown(summary))
            if plots:
                from cpgym.plot.gaps import plot_gaps

                plot_gaps(summary, store.out)
            if gantt_instance is not None:
                _gantts(store, gantt_instance)
    return EvaluationResult(rows=store.rows, summary=summary, out=store.out, failed=failed)


def _resume_config(store: ResultStore, items: list[Item], run: dict) -> None:
    """Check this run's configuration ``run`` against the folder's ``config.json`` and write their union.

    The :data:`SETTINGS` must equal the folder's once it holds rows, and every instance already
    evaluated must have the data it had (same fingerprint); this run's ``datasets`` and ``methods``
    join the folder's; ``workers`` and ``backend`` are the latest run's (they do not change results).
    Keys an older folder lacks are not checked.
    """
    folder = store.read_json("config.json")
    if store.rows:
        differ = [f"{key}={run[key]!r} here, {folder[key]!r} in the folder" for key in SETTINGS
                  if key in folder and folder[key] != run[key]]
        if differ:
            raise ArgumentError(f"{store.out} holds results computed with other settings ({'; '.join(differ)}); "
                                "resume with the folder's settings or use another output folder")
    fingerprints = dict(folder.get("instances", {}))
    evaluated = {row.instance for row in store.rows}
    for item in items:
        name = item.instance.name
        if name in evaluated and fingerprints.get(name, item.fingerprint) != item.fingerprint:
            raise ArgumentError(
                f"instance {name!r} of dataset {item.dataset!r} has other data than the instance {name!r} already "
                f"evaluated in {store.out}; results are keyed by instance name, so rename it or use another "
                "output folder"
            )
        fingerprints[name] = item.fingerprint
    datasets = ",".join(_union(folder.get("datasets", "").split(","), run["datasets"]))
    methods = _union(folder.get("methods", []), run["methods"])
    store.write_json("config.json", run | {"datasets": datasets, "methods": methods, "instances": fingerprints})


def _union(first: Iterable[str], second: Iterable[str]) -> list[str]:
    """The non-empty entries of both, each once, in order."""
    return [entry for entry in dict.fromkeys([*first, *second]) if entry]


def _listed(values: str | Sequence[Method], what: str) -> list[Method]:
    """Specs (and callables) of a string split at commas or of a sequence; empty ones dropped."""
    entries = values.split(",") if isinstance(values, str) else list(values)
    listed = [e.strip() if isinstance(e, str) else e for e in entries]
    listed = [e for e in listed if e != ""]
    if not listed:
        raise ArgumentError(f"no {what} given: pass at least one (or None for the default {what})")
    return listed


def _check_resources(methods: list[Method], workers: int, threads: int | None, backend: str) -> None:
    if backend not in BACKENDS:
        raise ArgumentError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    if workers < 1 or (threads is not None and threads < 1):
        raise ArgumentError(f"need at least one worker and one thread per task, got workers={workers}, "
                            f"threads={threads}")
    if backend == "local" and workers > 1:  # tasks go to a process pool, which pickles them
        for method in methods:
            if isinstance(method, str):
                continue
            try:
                pickle.dumps(method)
            except (pickle.PicklingError, AttributeError, TypeError) as error:
                raise ArgumentError(
                    f"method {method_name(method)!r} cannot be sent to worker processes ({error}); with "
                    "workers > 1 pass a module-level function, or use workers=1"
                ) from None


def _run(tasks: list[Task], store: ResultStore, workers: int, backend: str, address: str | None,
         progress: bool) -> list[ResultRow]:
    """Run ``tasks`` into ``store``; the rows of those whose method raised."""
    from tqdm import tqdm

    failed = []
    with tqdm(total=len(tasks), desc="evaluate", unit="task", disable=not progress) as bar:
        for row, solution in run_tasks(tasks, workers, backend, address):
            store.add(row, solution)
            if row.status in (Status.INVALID, Status.ERROR):
                tqdm.write(f"!! {row.instance} / {row.method}: {row.status}: {row.error}", file=sys.stderr)
            if row.status == Status.ERROR:
                failed.append(row)
            bar.set_postfix_str(f"{row.instance} {row.method} {'' if row.objective is None else row.objective}")
            bar.update()
    return failed


def _gantt_instance(spec: str) -> Any:
    """The scheduling instance named by ``spec`` (the first one if the spec names several)."""
    from cpgym.plot.gantt import PROBLEMS

    found = {item.instance.name: item.instance for item in dataset_specs.resolve(spec)}
    if not found:
        raise ArgumentError(f"gantt: {spec!r} holds no instance")
    instance = found.get(spec) or next(iter(found.values()))
    problem = problem_of(instance)
    if problem.name not in PROBLEMS:
        raise ArgumentError(f"gantt charts draw schedules ({', '.join(PROBLEMS)}); {instance.name} is a "
                            f"{problem.title} instance")
    return instance


def _gantts(store: ResultStore, instance: Any) -> None:
    """``gantt_INSTANCE__METHOD.png`` for every validated schedule of ``instance`` in ``store``."""
    from cpgym.plot.gantt import plot_record

    for row in store.rows:
        path = store.solution_path(row.instance, row.method)
        if row.instance == instance.name and row.valid and path.exists():
            plot_record(instance, json.loads(path.read_text()), store.out / f"gantt_{path.stem}.png",
                        title=f"{instance.name} / {row.method}: {row.objective}")
