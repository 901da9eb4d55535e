"""The flexible job-shop CP-SAT model: the exact solver and the completer of partial schedules.

Encoding: per operation a start and a duration variable and, per eligible machine, an optional
fixed-size interval at that start whose presence literal chooses the machine (exactly one per
operation, the duration is the chosen option's); a no-overlap constraint per machine over its
optional intervals, precedences inside jobs, and ``minimise makespan >= end of every job``.
The contract is :func:`~cpgym.cp_models.jobshop_cpsat.solve_jobshop`'s. Models with at least
:data:`LARGE_MODEL_OPTIONS` (operation, machine) options are solved with CP-SAT's probing turned off
(``cp_model_probing_level = 0``): on the large Behnke & Geiger instances the default presolve probing
spent the whole of a 10 s, one-worker budget and found no schedule (BENCHMARKS.md, "FJSP: CP-SAT on
large instances"). :func:`improve_fjsp` is the warm start of the ``agent+cpsat`` methods.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model

from cpgym.cp_models.jobshop_cpsat import STATUS_NAMES, JobShopSolution, TraceCallback, run_cpsat
from cpgym.errors import ArgumentError, Status, check_seconds
from cpgym.instances.fjsp import FlexibleJobShopInstance
from cpgym.instances.fjsp_schedule import FlexibleSchedule

Ragged = Sequence[Sequence[int]]  # one entry per operation, one list per job
LARGE_MODEL_OPTIONS = 3_000  # from here on probing is off (equal or better on every Behnke model measured)


@dataclass
class FlexibleJobShopSolution(JobShopSolution):
    """What :func:`solve_fjsp` returns: the fields of :class:`JobShopSolution`, with a flexible schedule."""

    instance: FlexibleJobShopInstance
    schedule: FlexibleSchedule | None


def _ragged(instance: FlexibleJobShopInstance, values: Ragged | None, what: str) -> list[list[int]] | None:
    """``values`` as int lists, one per job with one entry per operation, or :class:`ArgumentError`."""
    if values is None:
        return None
    rows = [[int(v) for v in row] for row in values]
    shape = [len(row) for row in rows]
    expected = [len(job) for job in instance.jobs]
    if shape != expected:
        raise ArgumentError(f"{what} has operations per job {shape}, expected {expected}")
    return rows


def _check_machines(instance: FlexibleJobShopInstance, machines: list[list[int]], what: str, free: bool) -> None:
    for j, job in enumerate(instance.durations):
        for k, options in enumerate(job):
            machine = machines[j][k]
            if machine not in options and not (free and machine == -1):
                raise ArgumentError(
                    f"{what}: job {j} op {k} cannot run on machine {machine} (eligible: {sorted(options)})"
                )


def solve_fjsp(
    instance: FlexibleJobShopInstance,
    time_limit: float = 10.0,
    workers: int | None = None,
    seed: int = 0,
    hint: FlexibleSchedule | tuple[Ragged, Ragged] | None = None,
    fixed_machines: Ragged | None = None,
    fixed_starts: Ragged | None = None,
    callback: TraceCallback | None = None,
    log_search: bool = False,
    parameters: dict[str, object] | None = None,
) -> FlexibleJobShopSolution:
    """Minimise the makespan with CP-SAT.

    Args:
        time_limit: wall-clock seconds (finite, > 0), model building included.
        workers: search workers (default: all cores).
        seed: CP-SAT random seed.
        hint: a complete schedule to warm-start from (machines and starts; CP-SAT solution hint).
        fixed_machines, fixed_starts: ragged per-job lists; entries >= 0 fix that operation's machine
            or start (a partial schedule to complete), -1 leaves it free. An infeasible prefix yields
            status ``"infeasible"``; a fixed machine the operation cannot use is an :class:`ArgumentError`.
        callback: called as ``callback(seconds, makespan, bound)`` on each improving solution.
        parameters: further CP-SAT parameters (``SatParameters`` field names; a list for a repeated
            field), e.g. ``{"interleave_search": True}``; an unknown name is an :class:`ArgumentError`.
    """
    started = time.perf_counter()
    time_limit = check_seconds(time_limit)
    if workers is not None and workers < 1:
        raise ArgumentError(f"workers must be at least 1, got {workers}")
    if isinstance(hint, FlexibleSchedule):
        hint = (hint.machines, hint.start_times)
    hint_machines, hint_starts = (_ragged(instance, values, "hint") for values in hint or (None, None))
    if (hint_machines is None) != (hint_starts is None):
        raise ArgumentError("hint needs both machines and start times")
    if hint_machines is not None:
        _check_machines(instance, hint_machines, "hint", free=False)
    fixed_m = _ragged(instance, fixed_machines, "fixed_machines")
    fixed_s = _ragged(instance, fixed_starts, "fixed_starts")
    if fixed_m is not None:
        _check_machines(instance, fixed_m, "fixed_machines", free=True)

    horizon = instance.horizon
    if fixed_s is not None and any(s >= 0 for row in fixed_s for s in row):
        pairs = [(s, max(options.values())) for row, job in zip(fixed_s, instance.durations)
                 for s, options in zip(row, job)]
        horizon = max(s + d for s, d in pairs if s >= 0) + sum(d for s, d in pairs if s < 0)

    model = cp_model.CpModel()
    by_machine: list[list] = [[] for _ in range(instance.n_machines)]
    starts, durations, choices = [], [], []  # per job, per operation; choices: {machine: presence literal}
    hint_makespan = 0
    for j, job in enumerate(instance.durations):
        job_starts, job_durations, job_choices = [], [], []
        for k, options in enumerate(job):
            start = model.new_int_var(0, horizon, f"s{j}_{k}")
            duration = model.new_int_var(min(options.values()), max(options.values()), f"d{j}_{k}")
            chosen = {machine: model.new_bool_var(f"x{j}_{k}_{machine}") for machine in options}
            for machine, literal in chosen.items():
                by_machine[machine].append(
                    model.new_optional_fixed_size_interval_var(start, options[machine], literal, f"i{j}_{k}_{machine}")
                )
            model.add_exactly_one(chosen.values())
            model.add(duration == sum(options[machine] * literal for machine, literal in chosen.items()))
            if k > 0:
                model.add(start >= job_starts[-1] + job_durations[-1])
            if fixed_m is not None and fixed_m[j][k] >= 0:
                model.add(chosen[fixed_m[j][k]] == 1)
            if fixed_s is not None and fixed_s[j][k] >= 0:
                model.add(start == fixed_s[j][k])
            if hint_machines is not None:
                model.add_hint(start, hint_starts[j][k])
                model.add_hint(duration, options[hint_machines[j][k]])
                for machine, literal in chosen.items():
                    model.add_hint(literal, machine == hint_machines[j][k])
                hint_makespan = max(hint_makespan, hint_starts[j][k] + options[hint_machines[j][k]])
            job_starts.append(start)
            job_durations.append(duration)
            job_choices.append(chosen)
        starts.append(job_starts)
        durations.append(job_durations)
        choices.append(job_choices)
    for intervals in by_machine:
        model.add_no_overlap(intervals)
    makespan = model.new_int_var(0, horizon, "makespan")
    for j in range(instance.n_jobs):
        model.add(makespan >= starts[j][-1] + durations[j][-1])
    model.minimize(makespan)
    if hint_machines is not None:
        model.add_hint(makespan, hint_makespan)

    n_options = sum(len(options) for job in instance.jobs for options in job)
    parameters = {**({"cp_model_probing_level": 0} if n_options >= LARGE_MODEL_OPTIONS else {}), **(parameters or {})}
    solver, status, recorder = run_cpsat(model, time_limit - (time.perf_counter() - started), workers, seed,
                                         callback, log_search, parameters)
    wall = time.perf_counter() - started

    name = STATUS_NAMES.get(status, Status.UNKNOWN)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        bound = None if status == cp_model.INFEASIBLE else int(solver.best_objective_bound)
        return FlexibleJobShopSolution(instance, name, None, bound, wall, None, recorder.trace)
    machines = [[next(m for m, x in chosen.items() if solver.boolean_value(x)) for chosen in job] for job in choices]
    schedule = FlexibleSchedule(instance, machines, [[solver.value(s) for s in row] for row in starts])
    return FlexibleJobShopSolution(
        instance, name, schedule.makespan, int(solver.best_objective_bound), wall, schedule, recorder.trace
    )


# The CP-SAT parameters of improve_fjsp with one worker: CP-SAT's subsolvers in turn on the one thread, the
# large-neighbourhood ones (which search around the best schedule so far) beside a single full-problem search
ONE_WORKER_IMPROVEMENT: dict[str, object] = {"interleave_search": True, "subsolvers": ["default_lp"]}


def improve_fjsp(instance: FlexibleJobShopInstance, hint: FlexibleSchedule, time_limit: float = 10.0,
                 workers: int | None = None, seed: int = 0) -> FlexibleJobShopSolution:
    """Improve the schedule ``hint`` with CP-SAT within ``time_limit`` seconds (no schedule if CP-SAT did not
    get as far as taking the hint).

    With one worker, CP-SAT's default search follows the hint and on the larger Hurink edata instances
    stays at it for the whole limit; its portfolio of eight full-problem searches, taking turns on one
    thread with ``interleave_search``, leaves the large-neighbourhood subsolvers little of the time. So
    one worker runs :data:`ONE_WORKER_IMPROVEMENT`: the neighbourhood subsolvers in turn with one
    full-problem search (BENCHMARKS.md, "FJSP warm start: one search, neighbourhoods first"). More
    workers run CP-SAT's default portfolio, which has those subsolvers already, from the hint.
    """
    single = (workers or os.cpu_count() or 1) == 1
    return solve_fjsp(instance, time_limit, workers, seed, hint=hint,
                      parameters=ONE_WORKER_IMPROVEMENT if single else None)
