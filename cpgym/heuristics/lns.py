"""Large-neighbourhood search with CP-SAT around an incumbent schedule.

The incumbent is kept semi-active (its machine orders with every operation at its head, which never
lengthens it). Each iteration relaxes a *neighbourhood* of operations and keeps the rest: on every
machine the operations outside the neighbourhood (of positive duration) keep their relative order
from the incumbent, as precedence constraints between consecutive ones, but not their start times.
The neighbourhood operations are free, subject only to the job routes and the machines'
no-overlap. CP-SAT then minimises the makespan of that subproblem, bounded by the incumbent's and
hinted with the incumbent (a solution of every subproblem), under a per-iteration time cap.

* **Neighbourhood kinds**, in turn, each around a random critical operation of the incumbent
  (head + duration + tail = makespan): a *time window* (the operations consecutive in start order
  centred on it), a *machine subset* (its machine and random others, all their operations) and a
  *job subset* (its job and random others, all their operations).
* **Adaptive size**: each kind relaxes a fraction of the operations (window), machines or jobs,
  starting at ``INITIAL_FRACTION`` but at most ``INITIAL_OPERATIONS`` operations. A subproblem
  solved to optimality without improvement was too small: its kind's fraction grows by ``GROWTH``;
  one stopped by the time cap was too large: it shrinks by the same factor, within
  ``[MIN_FRACTION, 1]``; an improving one keeps it.
* **Acceptance**: a subproblem solution replaces the incumbent when its makespan is not larger
  (equal ones move the search sideways), so the incumbent is never lost; strictly shorter ones
  count as improvements.

Each subproblem is a fresh CP-SAT model: start variables bounded by the job's work before and after
them, job precedences, the kept machine orders, and a no-overlap constraint only on the machines
with free operations; no LP relaxation (``SOLVER_PARAMETERS``). The search stops at the time limit,
model building included: an iteration starts only with room for ``OVERHEAD_MARGIN`` times the
largest overhead (building, loading, stopping) seen so far plus a minimum solve, and a timer stops
CP-SAT at the deadline. It returns the incumbent: the semi-active form of the start schedule when
no iteration ran.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from cpgym.errors import check_seconds
from cpgym.heuristics.one_machine import check_integer
from cpgym.heuristics.schedule_graph import ScheduleGraph
from cpgym.instances import JobShopInstance, Schedule

ITERATION_LIMIT = 1.0  # default CP-SAT seconds per iteration
INITIAL_FRACTION = 0.2
INITIAL_OPERATIONS = 100  # ... but no more operations than this at first
MIN_FRACTION = 0.02
GROWTH = 1.25
MIN_SOLVE = 0.05  # seconds: an iteration needs at least this much solving time to start
OVERHEAD_MARGIN = 1.5  # an iteration starts only with this many times the largest overhead seen left
KINDS = ("time window", "machines", "jobs")
# no LP relaxation: on 2,000 operations building it costs CP-SAT a second before the search starts
SOLVER_PARAMETERS: dict[str, object] = {"linearization_level": 0}


@dataclass(frozen=True)
class LNSResult:
    """The best schedule found, its makespan, iterations run, strict improvements and seconds spent."""

    schedule: Schedule
    makespan: int
    iterations: int
    improvements: int
    elapsed: float


def _subproblem(
    instance: JobShopInstance, incumbent: np.ndarray, makespan: int, free: np.ndarray
) -> tuple[cp_model.CpModel, list[cp_model.IntVar]]:
    """The CP-SAT model that keeps the incumbent's machine order outside ``free``, hinted with the incumbent.

    Starts are bounded by the work of the job before and after them within the incumbent's makespan;
    a machine gets a no-overlap constraint only when it has free operations (otherwise its kept
    order already separates them).
    """
    durations, machine_of, n_machines = instance.durations.ravel(), instance.machines.ravel(), instance.n_machines
    before = (np.cumsum(instance.durations, axis=1) - instance.durations).ravel()
    after = instance.durations[:, ::-1].cumsum(axis=1)[:, ::-1].ravel()
    model = cp_model.CpModel()
    starts = [model.new_int_var(int(before[op]), int(makespan - after[op]), f"s{op}") for op in range(durations.size)]
    end = model.new_int_var(0, makespan, "makespan")
    for op, start in enumerate(starts):
        later = starts[op + 1] if (op + 1) % n_machines else end
        model.add(later >= start + int(durations[op]))
    kept = np.flatnonzero(~free & (durations > 0))
    kept = kept[np.lexsort((incumbent[kept], machine_of[kept]))]
    for first, second in zip(kept[:-1], kept[1:]):
        if machine_of[first] == machine_of[second]:
            model.add(starts[second] >= starts[first] + int(durations[first]))
    interval = model.new_fixed_size_interval_var
    for machine in np.unique(machine_of[free]):
        ops = np.flatnonzero(machine_of == machine)
        model.add_no_overlap([interval(starts[op], int(durations[op]), f"i{op}") for op in ops])
    model.minimize(end)
    for start, value in zip(starts, incumbent):
        model.add_hint(start, int(value))
    model.add_hint(end, makespan)
    return model, starts


def _neighbourhood(
    kind: str, fraction: float, instance: JobShopInstance, incumbent: np.ndarray, critical: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Boolean mask of the operations to relax: a neighbourhood of ``kind`` around a random critical operation."""
    n_jobs, n_machines = instance.n_jobs, instance.n_machines
    anchor = int(rng.choice(np.flatnonzero(critical)))
    if kind == "time window":
        count = min(incumbent.size, max(2, round(fraction * incumbent.size)))
        by_start = np.argsort(incumbent, kind="stable")
        centre = int(np.flatnonzero(by_start == anchor)[0])
        first = min(max(0, centre - count // 2), incumbent.size - count)
        free = np.zeros(incumbent.size, dtype=bool)
        free[by_start[first:first + count]] = True
        return free
    if kind == "machines":
        chosen, total, group_of = instance.machines.ravel()[anchor], n_machines, instance.machines.ravel()
    else:
        chosen, total, group_of = anchor // n_machines, n_jobs, np.arange(incumbent.size) // n_machines
    others = np.delete(np.arange(total), chosen)
    picked = rng.choice(others, size=min(others.size, max(1, round(fraction * total)) - 1), replace=False)
    return np.isin(group_of, np.append(picked, chosen))


def _solver(workers: int, seed: int, seconds: float) -> cp_model.CpSolver:
    """A CP-SAT solver for one subproblem: ``seconds`` (at least ``MIN_SOLVE``), ``SOLVER_PARAMETERS``."""
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(MIN_SOLVE, seconds)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = int(seed) % 2**31
    for name, value in SOLVER_PARAMETERS.items():
        setattr(solver.parameters, name, value)
    return solver


def _semi_active(instance: JobShopInstance, start_times: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """The semi-active schedule of a valid schedule's machine orders (flat starts), its makespan and the
    mask of its critical operations (head + duration + tail = makespan); ArgumentError if it is invalid."""
    graph = ScheduleGraph.from_start_times(instance, start_times)
    critical = graph.heads + graph.durations + graph.tails == graph.makespan
    return graph.heads.copy(), int(graph.makespan), critical


def large_neighbourhood_search(
    instance: JobShopInstance,
    start_times: Schedule | np.ndarray,
    time_limit: float,
    seed: int = 0,
    workers: int = 1,
    iteration_limit: float = ITERATION_LIMIT,
) -> LNSResult:
    """Improve a valid schedule of ``instance`` by CP-SAT large-neighbourhood search (module docstring).

    Args:
        start_times: the start schedule (a :class:`Schedule` or a ``(n_jobs, n_machines)`` array).
        time_limit: wall-clock seconds (finite, > 0), model building included.
        seed: seeds the neighbourhood choice and CP-SAT.
        workers: CP-SAT search workers per iteration.
        iteration_limit: CP-SAT seconds per iteration at most.
    """
    started = time.perf_counter()
    deadline = started + check_seconds(time_limit)
    check_seconds(iteration_limit, "iteration limit")
    workers, seed = check_integer(workers, "workers", 1), check_integer(seed, "seed")
    incumbent, makespan, critical = _semi_active(
        instance, start_times.start_times if isinstance(start_times, Schedule) else start_times
    )
    rng = np.random.default_rng(seed)
    fractions = dict.fromkeys(KINDS, min(INITIAL_FRACTION, INITIAL_OPERATIONS / incumbent.size))
    iterations = improvements = 0
    overhead = time.perf_counter() - started  # seconds an iteration spends beyond its solve limit (largest seen)
    while deadline - time.perf_counter() > OVERHEAD_MARGIN * overhead + MIN_SOLVE:
        kind = KINDS[iterations % len(KINDS)]
        began = time.perf_counter()
        model, variables = _subproblem(
            instance, incumbent, makespan, _neighbourhood(kind, fractions[kind], instance, incumbent, critical, rng)
        )
        remaining = deadline - time.perf_counter()
        solver = _solver(workers, seed + iterations, min(iteration_limit, remaining - OVERHEAD_MARGIN * overhead))
        watchdog = threading.Timer(max(0.0, remaining), solver.stop_search)  # CP-SAT may overrun its own limit
        watchdog.start()
        try:
            status = solver.solve(model)
        finally:
            watchdog.cancel()
        overhead = max(overhead, time.perf_counter() - began - solver.parameters.max_time_in_seconds)
        iterations += 1
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE, cp_model.UNKNOWN):
            raise RuntimeError(f"LNS subproblem of {instance.name}: CP-SAT status {solver.status_name(status)} (a bug)")
        if status != cp_model.UNKNOWN:  # the objective is bounded by the incumbent's: accept
            previous = makespan
            candidate = np.array([solver.value(start) for start in variables], dtype=np.int64)
            incumbent, makespan, critical = _semi_active(instance, candidate.reshape(instance.n_jobs, -1))
            if makespan < previous:
                improvements += 1
                continue  # the size that improved is kept
        if status == cp_model.OPTIMAL:
            fractions[kind] = min(1.0, fractions[kind] * GROWTH)
        else:
            fractions[kind] = max(MIN_FRACTION, fractions[kind] / GROWTH)
    schedule = Schedule(instance, incumbent.reshape(instance.n_jobs, instance.n_machines))
    return LNSResult(schedule, makespan, iterations, improvements, time.perf_counter() - started)
