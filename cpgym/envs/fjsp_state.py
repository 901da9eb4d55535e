"""The dispatching simulator behind :class:`cpgym.envs.fjsp.FlexibleJobShopEnv` (numpy, no Gymnasium).

A :class:`FlexibleJobShopState` is a partial flexible schedule built one operation at a time:
``dispatch(job, machine)`` schedules the next unscheduled operation of ``job`` on ``machine``, one
of its eligible machines. The first two modes are the job shop's (:mod:`cpgym.envs.jobshop_state`),
with a (job, machine) pair in place of a job; the third exists for machine choice only
(``docs/fjsp_env.md`` has the definitions):

* ``"active"``: every pair of an unfinished job and an eligible machine of its next operation is
  legal; the operation starts at the earliest time >= its job predecessor's end at which the
  chosen machine has an idle gap that fits it (left shift). Every complete episode is an active
  schedule for its machine assignment, and every assignment can be reached, so an optimal
  schedule can too.
* ``"non_delay"`` (the default): a clock ``now`` is the earliest time at which any pair can start
  (job free and machine free); the legal pairs are those that can start at ``now``, where the
  operation starts. Every complete episode is a non-delay schedule.
* ``"earliest_end"``: the non-delay clock and its legal pairs, and besides them, for each job that has
  one, the pairs of that job on a machine busy now on which its operation would end earlier than on
  any machine free now; such an operation starts when the machine is free (after its last operation).
  A fast machine that is busy a little longer is not lost to a slow one that is free now.

On a job-shop instance converted with ``FlexibleJobShopInstance.from_jobshop`` (one eligible
machine per operation) every mode reproduces :class:`~cpgym.envs.jobshop_state.JobShopState`
(``earliest_end`` its ``non_delay`` mode: with one machine there is nothing to wait for).
Operations are numbered in job order: operation ``k`` of job ``j`` is node ``job_first[j] + k``.
Arrays exposed as attributes are the live state: read them, do not write them.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Literal

import numpy as np

from cpgym.envs.jobshop_state import MODES, NEVER
from cpgym.errors import ArgumentError, IllegalActionError
from cpgym.instances.fjsp import FlexibleJobShopInstance
from cpgym.instances.fjsp_schedule import FlexibleSchedule

FlexibleMode = Literal["active", "non_delay", "earliest_end"]
FJSP_MODES: tuple[str, ...] = (*MODES, "earliest_end")


class FlexibleJobShopState:
    """Partial flexible schedule and dispatching simulator for one instance.

    Static arrays (``n_operations`` rows unless noted):
        job_first / job_last / job_length: ``(n_jobs,)`` nodes of each job's first and last operation,
            and its number of operations.
        op_job: the job of each operation.
        durations: ``(n_operations, n_machines)``, the duration on each eligible machine (0 elsewhere).
        eligible: ``(n_operations, n_machines)`` bool, the operation's eligible machines.
        min_duration / mean_duration: over the eligible machines.
        flow_due: the completion of the operation if its job never waited and always ran on its
            fastest machines (cumulative ``min_duration`` inside the job).
    Live arrays:
        op_start / op_machine: start and machine of each operation, -1 while unscheduled.
        completion_lb: lower bound of each operation's completion (its end once scheduled, else its
            job predecessor's bound plus its ``min_duration``: the L2D bound with the fastest machines).
        next_op / next_node: ``(n_jobs,)`` index and node of the job's next operation (the job's length
            and its last node once it is done).
        job_ready: ``(n_jobs,)`` end of the job's last scheduled operation (0 before its first).
        machine_free / machine_load: ``(n_machines,)`` latest end and total scheduled work on the machine.
        remaining_work: ``(n_jobs,)`` sum of the ``mean_duration`` of the job's unscheduled operations.
        ops_left: ``(n_jobs,)`` unscheduled operations of the job.
        candidate_eligible: ``(n_jobs, n_machines)`` bool, the eligible machines of each job's next
            operation (none once the job is done).
        mask: ``(n_jobs, n_machines)`` bool, the legal (job, machine) pairs.
    Scalars: ``now`` (the non-delay clock, also in earliest_end mode; 0 in active mode), ``makespan_lb``
    (max of ``completion_lb``), ``makespan`` (latest end so far), ``n_scheduled``.
    """

    def __init__(self, instance: FlexibleJobShopInstance, mode: FlexibleMode = "non_delay") -> None:
        if mode not in FJSP_MODES:
            raise ArgumentError(f"mode must be one of {FJSP_MODES}, got {mode!r}")
        self.instance, self.mode = instance, mode
        self.n_jobs, self.n_machines, self.n_operations = instance.n_jobs, instance.n_machines, instance.n_operations
        lengths = np.array([len(job) for job in instance.jobs], dtype=np.int64)
        self.job_length = lengths
        self.job_first = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        self.job_last = self.job_first + lengths - 1
        self.op_job = np.repeat(np.arange(self.n_jobs), lengths)
        options = [dict(o) for job in instance.durations for o in job]
        self._options = options  # per node: {machine: duration}, the scalar hot path
        self.durations = np.zeros((self.n_operations, self.n_machines), dtype=np.int64)
        self.eligible = np.zeros((self.n_operations, self.n_machines), dtype=bool)
        for node, choice in enumerate(options):
            machines = list(choice)
            self.durations[node, machines] = list(choice.values())
            self.eligible[node, machines] = True
        self.min_duration = np.array([min(o.values()) for o in options], dtype=np.int64)
        self.mean_duration = np.array([sum(o.values()) / len(o) for o in options])
        starts_of_jobs = np.repeat(self.job_first, lengths)
        self.flow_due = _cumsum_per_job(self.min_duration, starts_of_jobs)
        self.mean_flow_due = _cumsum_per_job(self.mean_duration, starts_of_jobs)
        # work_after[node]: sum of mean durations from node to its job's end (the remaining work before node)
        self.work_after = self.mean_flow_due[self.job_last][self.op_job] - self.mean_flow_due + self.mean_duration

        self.op_start = np.full(self.n_operations, -1, dtype=np.int64)
        self.op_machine = np.full(self.n_operations, -1, dtype=np.int64)
        self.completion_lb = self.flow_due.copy()
        self.next_op = np.zeros(self.n_jobs, dtype=np.int64)
        self.next_node = self.job_first.copy()
        self.job_ready = np.zeros(self.n_jobs, dtype=np.int64)
        self.machine_free = np.zeros(self.n_machines, dtype=np.int64)
        self.machine_load = np.zeros(self.n_machines, dtype=np.int64)
        self.remaining_work = self.work_after[self.job_first].copy()
        self.ops_left = lengths.copy()
        self.candidate_eligible = self.eligible[self.job_first].copy()
        self.mask = self.candidate_eligible.copy()
        self.makespan_lb = int(self.flow_due[self.job_last].max())
        self.makespan = 0
        self.now = 0
        self.n_scheduled = 0
        self._ready_key = np.zeros(self.n_jobs, dtype=np.int64)  # job_ready, NEVER once the job is done
        self._job_ready = [0] * self.n_jobs
        self._machine_free = [0] * self.n_machines
        self._flow_due: list[int] = self.flow_due.tolist()
        # per machine, the busy intervals [start, end) of positive duration, sorted (active mode)
        self._busy_starts: list[list[int]] = [[] for _ in range(self.n_machines)]
        self._busy_ends: list[list[int]] = [[] for _ in range(self.n_machines)]
        self._est: np.ndarray | None = None  # cached earliest starts (with the clock only)
        if mode != "active":
            self._advance_clock()

    @property
    def done(self) -> bool:
        return self.n_scheduled == self.n_operations

    def legal_pairs(self) -> list[tuple[int, int]]:
        """The legal ``(job, machine)`` pairs, job-major, ascending."""
        return [(int(j), int(m)) for j, m in np.argwhere(self.mask)]

    def candidate_durations(self) -> np.ndarray:
        """``(n_jobs, n_machines)`` durations of each job's next operation (0 on ineligible machines)."""
        return self.durations[self.next_node] * self.candidate_eligible

    def earliest_starts(self) -> np.ndarray:
        """``(n_jobs, n_machines)`` start of each job's next operation appended after the machine's last
        operation (NEVER where the machine is not eligible or the job is done).

        In non_delay and earliest_end modes this is exactly where it can start and ``now`` is its minimum;
        in active mode the real start can be earlier (an idle gap, see :meth:`starts_of`).
        """
        if self._est is not None:
            return self._est
        append = np.maximum(self._ready_key[:, None], self.machine_free[None, :])
        return np.where(self.candidate_eligible, append, NEVER)

    def starts_of(self, job: int) -> np.ndarray:
        """``(n_machines,)`` where the next operation of ``job`` would start on each machine if dispatched
        there now (NEVER on ineligible machines): the append start (``now`` for the legal pairs in
        non_delay mode), or the left-shift start in active mode."""
        if self.mode != "active":
            return self.earliest_starts()[job].copy()
        starts = np.full(self.n_machines, NEVER, dtype=np.int64)
        if self.next_op[job] < self.job_length[job]:
            for machine, duration in self._options[int(self.next_node[job])].items():
                starts[machine] = self._gap(machine, self._job_ready[job], duration)[0]
        return starts

    def dispatch(self, job: int, machine: int) -> tuple[int, int]:
        """Schedule the next operation of ``job`` on ``machine``; returns its node and start.

        Raises :class:`IllegalActionError` (state unchanged) if the pair is not legal.
        """
        if not (0 <= job < self.n_jobs and 0 <= machine < self.n_machines and self.mask[job, machine]):
            raise IllegalActionError(self._why_illegal(job, machine))
        node = int(self.next_node[job])
        duration = self._options[node][machine]
        if self.mode != "active":  # the append start (``now`` for every legal pair in non_delay mode)
            start = int(self._est[job, machine])
        else:
            start, slot = self._gap(machine, self._job_ready[job], duration)
            if duration:
                self._busy_starts[machine].insert(slot, start)
                self._busy_ends[machine].insert(slot, start + duration)
        end = start + duration
        self.op_start[node], self.op_machine[node] = start, machine
        self.job_ready[job] = self._job_ready[job] = end
        if end > self._machine_free[machine]:
            self.machine_free[machine] = self._machine_free[machine] = end
        self.machine_load[machine] += duration
        last = int(self.job_last[job])
        shift = end - self._flow_due[node]
        np.add(self.flow_due[node:last + 1], shift, out=self.completion_lb[node:last + 1])
        self.makespan_lb = max(self.makespan_lb, self._flow_due[last] + shift)
        self.makespan = max(self.makespan, end)
        self.n_scheduled += 1
        self.next_op[job] += 1
        self.ops_left[job] -= 1
        if node < last:
            self.next_node[job] = node + 1
            self.remaining_work[job] = self.work_after[node + 1]
            self.candidate_eligible[job] = self.eligible[node + 1]
            self._ready_key[job] = end
        else:
            self.remaining_work[job] = 0.0
            self.candidate_eligible[job] = False
            self._ready_key[job] = NEVER
        if self.mode != "active":
            self._advance_clock()
        else:
            self.mask[job] = self.candidate_eligible[job]
        return node, start

    def _gap(self, machine: int, ready: int, duration: int) -> tuple[int, int]:
        """The earliest start >= ``ready`` in an idle gap of ``machine`` that fits ``duration``, and the
        position of that interval in the machine's busy list (a zero duration occupies no time)."""
        if duration == 0:
            return ready, -1
        starts, ends = self._busy_starts[machine], self._busy_ends[machine]
        slot = bisect_right(ends, ready)  # first busy interval ending after `ready`
        start = ready
        while slot < len(starts) and starts[slot] < start + duration:
            start = ends[slot]
            slot += 1
        return start, slot

    def _advance_clock(self) -> None:
        """Jump to the earliest time some pair can start; legal = the pairs that can (non_delay), and in
        earliest_end mode also each such job's pairs that would end earlier than all its pairs at ``now``."""
        self._est = None
        est = self._est = self.earliest_starts()
        now = int(est.min())
        if now >= NEVER:  # all done
            self.mask[:] = False
            return
        self.now = now
        if self.mode == "earliest_end":
            at_now = est == now
            ends = np.where(self.candidate_eligible, est + self.durations[self.next_node], NEVER)
            best_now = np.where(at_now, ends, NEVER).min(axis=1, keepdims=True)
            best_now[best_now == NEVER] = 0  # a job with no pair at now has nothing to wait for
            np.logical_or(at_now, ends < best_now, out=self.mask)
            return
        np.equal(est, now, out=self.mask)

    def _why_illegal(self, job: int, machine: int) -> str:
        legal = " ".join(f"{j}:{m}" for j, m in self.legal_pairs()) or "none"
        if not 0 <= job < self.n_jobs:
            return (f"job {job} does not exist ({self.instance.name} has jobs 0..{self.n_jobs - 1}); "
                    f"legal pairs: {legal}")
        if not 0 <= machine < self.n_machines:
            return (f"machine {machine} does not exist ({self.instance.name} has machines 0..{self.n_machines - 1}); "
                    f"legal pairs: {legal}")
        if self.next_op[job] >= self.job_length[job]:
            return f"job {job} has no operation left to dispatch; legal pairs: {legal}"
        node = int(self.next_node[job])
        if machine not in self._options[node]:
            return (f"job {job}: its next operation (op {self.next_op[job]}) cannot run on machine {machine} "
                    f"(eligible: {sorted(self._options[node])}); legal pairs: {legal}")
        est = int(self.earliest_starts()[job, machine])
        why = "" if self.mode == "non_delay" else " nor end earlier than on a machine free now"
        return (f"job {job} on machine {machine} cannot start now (t={self.now}){why} in {self.mode} mode "
                f"(earliest start {est}); legal pairs: {legal}")

    def ragged(self, values: np.ndarray) -> list[list[int]]:
        """Per-node ``values`` as one list per job (the layout of :class:`FlexibleSchedule`)."""
        return [values[first:last + 1].tolist() for first, last in zip(self.job_first, self.job_last)]

    def schedule(self) -> FlexibleSchedule:
        """The schedule built so far (raises before every operation is scheduled)."""
        if not self.done:
            raise RuntimeError(f"{self.n_scheduled} of {self.n_operations} operations scheduled")
        return FlexibleSchedule(self.instance, self.ragged(self.op_machine), self.ragged(self.op_start))


def _cumsum_per_job(values: np.ndarray, first_of_row: np.ndarray) -> np.ndarray:
    """Cumulative sums of ``values`` restarting at each job (``first_of_row[i]``: the first index of i's job)."""
    total = np.cumsum(values)
    before = np.concatenate(([0], total))[first_of_row]
    return total - before
