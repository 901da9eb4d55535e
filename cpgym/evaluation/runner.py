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
from cpgym.errors import Status
from cpgym.evaluation.datasets import Item
from cpgym.evaluation.methods import Method, Settings, method_name, solver_of
from cpgym.evaluation.report import gap_percent
from cpgym.evaluation.results import ResultRow
from cpgym.instances.problems import Check, check, problem_of
from cpgym.parallel import WorkerPool


@dataclass(frozen=True)
class Task:
    """One method on one item, with the resources it gets."""

    item: Item
    method: Method
    settings: Settings


def run_task(task: Task) -> tuple[ResultRow, dict | None]:
    """Solve, check and time one task: its row and the JSON record of its solution (None unless
    valid). Never raises: a failing method gives a row with status ``error``."""
    record, solution = _solve_and_check(task)
    return ResultRow.parse(record), solution


def _solve_and_check(task: Task) -> tuple[dict, dict | None]:
    instance = task.item.instance
    problem = problem_of(instance)
    best, best_bound = problem.best_known(instance)
    row = {
        "dataset": task.item.dataset,
        "group": task.item.group,
        "instance": instance.name,
        "method": method_name(task.method),
        "sense": problem.sense,
        "best_known": best,
        "best_known_bound": best_bound,
        "threads": task.settings.threads,
        "seed": task.settings.seed,
        "valid": False,
    }
    started = time.perf_counter()
    try:
        solver = solver_of(task.method)
        if hasattr(solver, "prepare"):  # one-time set-up (importing torch, loading a model): not timed
            solver.prepare(task.settings)
        started = time.perf_counter()
        result = solver(instance, task.settings)
    except Exception as error:  # a failing method must not stop the evaluation
        row.update(status=Status.ERROR, wall_time=round(time.perf_counter() - started, 3))
        row["error"] = f"{type(error).__name__}: {error}".replace("\n", " ")[:500]
        traceback.print_exc()
        return row, None
    row["wall_time"] = round(time.perf_counter() - started, 3)
    row["status"] = result.status
    row["method_bound"] = result.bound
    if result.solution is None:
        return row, None
    try:
        checked = check(instance, result.solution, task.settings.eval_time_limit)
    except Exception as error:  # a solution the validator cannot even read (e.g. text where numbers belong)
        traceback.print_exc()
        checked = Check([f"unreadable solution: {type(error).__name__}: {error}"])
    if checked.violations:
        row["status"] = Status.INVALID
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
              address: str | None = None) -> Iterator[tuple[ResultRow, dict | None]]:
    """Yield the rows of ``tasks`` as they finish, ``workers`` at a time (see :mod:`cpgym.parallel`)."""
    threads = max((t.settings.threads for t in tasks), default=1)
    with WorkerPool(workers, backend, address, cpus_per_task=threads) as pool:
        yield from pool.imap_unordered(run_task, tasks)
