"""Run (instance, method) tasks, check every solution independently, and build result rows.

Backends: ``local`` (a process pool; one process per task slot) and ``ray`` (the same task
function as a Ray remote on a local or remote cluster). Both yield identical rows apart from
timings, since each task is deterministic given its seed and thread count.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass

from cpgym.evaluation import problems
from cpgym.evaluation.datasets import Item
from cpgym.evaluation.methods import Settings, make_solver
from cpgym.instances import Schedule


@dataclass(frozen=True)
class Task:
    item: Item
    method: str
    settings: Settings


def run_task(task: Task) -> tuple[dict, dict | None]:
    """Solve, check and time one task; never raises (errors become a row with ``error``)."""
    instance = task.item.instance
    problem = problems.problem_of(instance)
    best, best_bound = problems.best_known(instance)
    row = {
        "dataset": task.item.dataset,
        "group": task.item.group,
        "instance": instance.name,
        "method": task.method,
        "sense": problems.SENSE[problem],
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
    checked = problems.check(instance, result.solution, task.settings.eval_time_limit)
    if checked.violations:
        row["status"] = "INVALID"
        row["error"] = f"{len(checked.violations)} violations; first: {checked.violations[0]}"
        return row, None
    gap = problems.gap_percent(checked.objective, best, row["sense"])
    row.update(
        valid=True,
        objective=checked.objective,
        objective_bound=checked.objective_bound,
        gap_percent=None if gap is None else round(gap, 4),
    )
    if problem == "jssp":
        return row, Schedule(instance, result.solution).to_dict()
    return row, {"instance": instance.name, "objective": checked.objective, "x": [int(v) for v in result.solution]}


def run_local(tasks: list[Task], processes: int) -> Iterator[tuple[dict, dict | None]]:
    """Yield results as they complete from a process pool (in-process when ``processes == 1``)."""
    if processes <= 1:
        yield from map(run_task, tasks)
        return
    with ProcessPoolExecutor(max_workers=processes) as pool:
        pending = {pool.submit(run_task, task) for task in tasks}
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                yield future.result()


def run_ray(tasks: list[Task], processes: int, address: str | None) -> Iterator[tuple[dict, dict | None]]:
    """Yield results from Ray remote tasks, each reserving ``threads`` CPUs."""
    import ray

    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=processes * max(t.settings.threads for t in tasks), log_to_driver=False)
    remote = ray.remote(run_task)
    pending = [remote.options(num_cpus=task.settings.threads).remote(task) for task in tasks]
    while pending:
        finished, pending = ray.wait(pending, num_returns=1)
        yield from ray.get(finished)
