"""Run (instance, method) tasks, check every solution independently, and build result rows.

Backends (:mod:`cpgym.parallel`): ``local`` (a process pool; one process per task slot) and ``ray``
(the same task function as a Ray remote on a local or remote cluster). Both yield identical rows apart from
timings, since each task is deterministic given its seed and thread count.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass

import cpgym.cp_models  # noqa: F401  (registers the robust problems' scorers)
from cpgym.evaluation.datasets import Item
from cpgym.evaluation.methods import Settings, make_solver
from cpgym.evaluation.report import gap_percent
from cpgym.instances.problems import check, problem_of
from cpgym.parallel import WorkerPool


@dataclass(frozen=True)
class Task:
    item: Item
    method: str
    settings: Settings


def run_task(task: Task) -> tuple[dict, dict | None]:
    """Solve, check and time one task; never raises (errors become a row with ``error``)."""
    instance = task.item.instance
    problem = problem_of(instance)
    best, best_bound = problem.best_known(instance)
    row = {
        "dataset": task.item.dataset,
        "group": task.item.group,
        "instance": instance.name,
        "method": task.method,
        "sense": problem.sense,
        "best_known": best,
        "best_known_bound": best_bound,
        "threads": task.settings.threads,
        "seed": task.settings.seed,
        "valid": False,
    }
    started = time.perf_counter()
    try:
        solver = make_solver(task.method)
        if hasattr(solver, "prepare"):  # one-time set-up (importing torch, loading a model): not timed
            solver.prepare(task.settings)
        started = time.perf_counter()
        result = solver(instance, task.settings)
    except Exception as error:  # a failing method must not stop the evaluation
        row.update(status="error", wall_time=round(time.perf_counter() - started, 3))
        row["error"] = f"{type(error).__name__}: {error}".replace("\n", " ")[:500]
        traceback.print_exc()
        return row, None
    row["wall_time"] = round(time.perf_counter() - started, 3)
    row["status"] = result.status
    row["method_bound"] = result.bound
    if result.solution is None:
        return row, None
    checked = check(instance, result.solution, task.settings.eval_time_limit)
    if checked.violations:
        row["status"] = "INVALID"
        row["error"] = f"{len(checked.violations)} violations; first: {checked.violations[0]}"
        return row, None
    gap = gap_percent(checked.objective, best, row["sense"])
    row.update(
        valid=True,
        objective=checked.objective,
        objective_bound=checked.objective_bound,
        gap_percent=None if gap is None else round(gap, 4),
    )
    return row, problem.record(instance, result.solution, checked.objective)


def run_tasks(tasks: list[Task], workers: int, backend: str = "local",
              address: str | None = None) -> Iterator[tuple[dict, dict | None]]:
    """Yield the rows of ``tasks`` as they finish, ``workers`` at a time (see :mod:`cpgym.parallel`)."""
    threads = max((t.settings.threads for t in tasks), default=1)
    with WorkerPool(workers, backend, address, cpus_per_task=threads) as pool:
        yield from pool.imap_unordered(run_task, tasks)
