"""The job-shop CP-SAT model: the exact solver, the oracle, and the completer of partial schedules.

Encoding: one interval variable per operation, a no-overlap constraint per machine,
precedences inside jobs, and ``minimise makespan >= end of every job``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from cpgym.errors import ArgumentError, Status, check_seconds
from cpgym.instances.jobshop import JobShopInstance
from cpgym.instances.schedule import Schedule

STATUS_NAMES = {
    cp_model.OPTIMAL: Status.OPTIMAL,
    cp_model.FEASIBLE: Status.FEASIBLE,
    cp_model.INFEASIBLE: Status.INFEASIBLE,
    cp_model.MODEL_INVALID: Status.MODEL_INVALID,
    cp_model.UNKNOWN: Status.UNKNOWN,
}
TraceCallback = Callable[[float, int, int], None]
STOP_GRACE = 0.5  # seconds past the time limit after which the search is stopped from outside


@dataclass
class JobShopSolution:
    """What :func:`solve_jobshop` returns.

    ``status`` is ``"optimal"``, ``"feasible"``, ``"infeasible"`` or ``"unknown"``;
    ``lower_bound`` is the bound CP-SAT proved; ``trace`` holds ``(seconds, makespan,
    bound)`` for every improving solution.
    """

    instance: JobShopInstance
    status: Status
    makespan: int | None
    lower_bound: int | None
    wall_time: float
    schedule: Schedule | None
    trace: list[tuple[float, int, int]] = field(default_factory=list)

    @property
    def gap_to_best_known(self) -> float | None:
        """Relative gap (%) of the makespan to the instance's best-known upper bound."""
        if self.makespan is None or not self.instance.upper_bound:
            return None
        return 100.0 * (self.makespan - self.instance.upper_bound) / self.instance.upper_bound


class _Recorder(cp_model.CpSolverSolutionCallback):
    def __init__(self, user: TraceCallback | None) -> None:
        super().__init__()
        self.user = user
        self.trace: list[tuple[float, int, int]] = []

    def on_solution_callback(self) -> None:
        point = (self.wall_time, int(self.objective_value), int(self.best_objective_bound))
        self.trace.append(point)
        if self.user is not None:
            self.user(*point)


def _set_parameter(parameters: object, name: str, value: object) -> None:
    """Set the CP-SAT parameter ``name`` (a ``SatParameters`` field; a list for a repeated one such as
    ``subsolvers``), or raise :class:`ArgumentError` naming the parameter."""
    if name.startswith("_") or not hasattr(parameters, name):
        raise ArgumentError(f"unknown CP-SAT parameter {name!r} (the field names of ortools' SatParameters, "
                            "e.g. 'interleave_search', 'subsolvers')")
    current = getattr(parameters, name)
    repeated = hasattr(current, "extend")
    try:
        if not repeated:
            setattr(parameters, name, value)
        elif isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise TypeError
        else:
            current.clear()
            current.extend(list(value))
    except (TypeError, ValueError, AttributeError):
        kind = f"a list ({type(current).__name__})" if repeated else f"a value of type {type(current).__name__}"
        raise ArgumentError(f"CP-SAT parameter {name!r} takes {kind}, got {value!r}") from None


def run_cpsat(model: cp_model.CpModel, seconds: float, workers: int | None, seed: int,
              callback: TraceCallback | None = None, log_search: bool = False,
              parameters: dict[str, object] | None = None) -> tuple[cp_model.CpSolver, int, _Recorder]:
    """Solve ``model`` for at most ``seconds`` (the scheduling models' one solve step); ``parameters``
    are further CP-SAT parameters (``SatParameters`` field names).

    CP-SAT checks its time limit in most phases but not all (on 10,000 operations it has returned
    100 s late); a timer stops the search :data:`STOP_GRACE` seconds past the limit.
    """
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.0, seconds)
    solver.parameters.num_workers = workers or os.cpu_count() or 1
    solver.parameters.random_seed = seed
    solver.parameters.log_search_progress = log_search
    for name, value in (parameters or {}).items():
        _set_parameter(solver.parameters, name, value)
    recorder = _Recorder(callback)
    watchdog = threading.Timer(solver.parameters.max_time_in_seconds + STOP_GRACE, solver.stop_search)
    watchdog.start()
    try:
        status = solver.solve(model, recorder)
    finally:
        watchdog.cancel()
    return solver, status, recorder


def _as_array(instance: JobShopInstance, starts: Schedule | np.ndarray | None, what: str) -> np.ndarray | None:
    if starts is None:
        return None
    array = np.asarray(starts.start_times if isinstance(starts, Schedule) else starts, dtype=np.int64)
    if array.shape != (instance.n_jobs, instance.n_machines):
        raise ArgumentError(f"{what} has shape {array.shape}, expected {(instance.n_jobs, instance.n_machines)}")
    return array


def solve_jobshop(
    instance: JobShopInstance,
    time_limit: float = 10.0,
    workers: int | None = None,
    seed: int = 0,
    hint: Schedule | np.ndarray | None = None,
    fixed_starts: np.ndarray | None = None,
    callback: TraceCallback | None = None,
    log_search: bool = False,
    parameters: dict[str, object] | None = None,
) -> JobShopSolution:
    """Minimise the makespan with CP-SAT.

    Args:
        time_limit: wall-clock seconds (finite, > 0), model building included.
        workers: search workers (default: all cores).
        seed: CP-SAT random seed.
        hint: a complete schedule to warm-start from (CP-SAT solution hint).
        fixed_starts: ``(n_jobs, n_machines)`` array; entries >= 0 fix that operation's
            start (a partial schedule to complete), -1 leaves it free. An infeasible
            prefix yields status ``"infeasible"``.
        callback: called as ``callback(seconds, makespan, bound)`` on each improving solution.
        parameters: further CP-SAT parameters (``SatParameters`` field names; a list for a repeated
            field), e.g. ``{"interleave_search": True}``; an unknown name is an :class:`ArgumentError`.
    """
    started = time.perf_counter()
    time_limit = check_seconds(time_limit)
    if workers is not None and workers < 1:
        raise ArgumentError(f"workers must be at least 1, got {workers}")
    hint_array = _as_array(instance, hint, "hint")
    fixed = _as_array(instance, fixed_starts, "fixed_starts")
    durations = instance.durations
    horizon = instance.horizon
    if fixed is not None and (fixed >= 0).any():
        fixed_mask = fixed >= 0
        horizon = int((fixed + durations)[fixed_mask].max() + durations[~fixed_mask].sum())

    model = cp_model.CpModel()
    n_jobs, n_machines = instance.n_jobs, instance.n_machines
    starts = [[model.new_int_var(0, horizon, f"s{j}_{k}") for k in range(n_machines)] for j in range(n_jobs)]
    by_machine: list[list] = [[] for _ in range(n_machines)]
    for j in range(n_jobs):
        for k in range(n_machines):
            duration = int(durations[j, k])
            interval = model.new_fixed_size_interval_var(starts[j][k], duration, f"i{j}_{k}")
            by_machine[instance.machines[j, k]].append(interval)
            if k > 0:
                model.add(starts[j][k] >= starts[j][k - 1] + int(durations[j, k - 1]))
            if fixed is not None and fixed[j, k] >= 0:
                model.add(starts[j][k] == int(fixed[j, k]))
            if hint_array is not None:
                model.add_hint(starts[j][k], int(hint_array[j, k]))
    for intervals in by_machine:
        model.add_no_overlap(intervals)
    makespan = model.new_int_var(0, horizon, "makespan")
    for j in range(n_jobs):
        model.add(makespan >= starts[j][-1] + int(durations[j, -1]))
    model.minimize(makespan)
    if hint_array is not None:
        model.add_hint(makespan, int((hint_array + durations).max()))

    solver, status, recorder = run_cpsat(model, time_limit - (time.perf_counter() - started), workers, seed,
                                         callback, log_search, parameters)
    wall = time.perf_counter() - started

    name = STATUS_NAMES.get(status, Status.UNKNOWN)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        bound = None if status == cp_model.INFEASIBLE else int(solver.best_objective_bound)
        return JobShopSolution(instance, name, None, bound, wall, None, recorder.trace)
    start_times = np.array([[solver.value(s) for s in row] for row in starts], dtype=np.int64)
    schedule = Schedule(instance, start_times)
    return JobShopSolution(
        instance, name, schedule.makespan, int(solver.best_objective_bound), wall, schedule, recorder.trace
    )
