"""The dispatching simulator behind :class:`cpgym.envs.jobshop.JobShopEnv` (numpy, no Gymnasium).

A :class:`JobShopState` is a partial schedule built by dispatching jobs one operation at a
time: ``dispatch(j)`` schedules the next unscheduled operation of job ``j``. Two modes
(``"non_delay"`` is the default of cpgym's env, rules, training and evaluator; see
``docs/jobshop_env.md``):

* ``"active"`` (L2D, Zhang et al. 2020): the operation starts at its earliest feasible time
  on its machine, after its job predecessor, in the earliest idle gap of the machine that
  fits it (left shift). Every job with work left is legal; every complete episode is an
  active schedule (no operation can start earlier without delaying another).
* ``"non_delay"`` (Tassel et al. 2021; Giffler-Thompson's non-delay generation): a clock
  ``now`` advances; the legal jobs are those whose next operation can start at ``now``
  (job and machine both free). After each dispatch the clock jumps to the earliest time
  at which some operation can start, so a legal choice always exists until the end.
  Every complete episode is a non-delay schedule.

All updates are incremental (O(1) numpy element writes, one slice update for the job's
completion-time lower bounds, a bisect on the machine's interval list); nothing is rebuilt
per step. Arrays exposed as attributes are the live state: read them, do not write them.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Literal

import numpy as np

from cpgym.errors import ArgumentError, IllegalActionError
from cpgym.instances.jobshop import JobShopInstance
from cpgym.instances.schedule import Schedule

Mode = Literal["active", "non_delay"]
MODES: tuple[str, ...] = ("active", "non_delay")
NEVER = np.iinfo(np.int64).max // 4  # earliest start of a finished job


class JobShopState:
    """Partial schedule and dispatching simulator for one instance.

    Live attributes (numpy, one entry per job ``j`` unless noted):
        start_times: ``(n_jobs, n_machines)``, start of each operation, -1 when unscheduled.
        completion_lb: ``(n_jobs, n_machines)``, lower bound of each operation's completion
            time (its real end once scheduled; else its job predecessor's bound plus its
            duration — the L2D bound, which ignores machine contention).
        next_op: index of the job's next unscheduled operation (``n_machines`` when done).
        next_machine / next_duration: machine and duration of that operation (the last
            operation's machine and 0 when the job is done).
        job_ready: end of the job's last scheduled operation (0 before its first).
        machine_free: ``(n_machines,)``, latest end of any operation on the machine.
        remaining_work: sum of the durations of the job's unscheduled operations.
        mask: bool, the legal jobs.
    Scalars: ``now`` (the non-delay clock; always 0 in active mode, where
    :meth:`earliest_starts` tells where appended operations would start), ``makespan_lb``
    (max of ``completion_lb``), ``makespan`` (latest end scheduled so far), ``n_scheduled``.
    """

    def __init__(self, instance: JobShopInstance, mode: Mode = "non_delay") -> None:
        if mode not in MODES:
            raise ArgumentError(f"mode must be one of {MODES}, got {mode!r}")
        self.instance = instance
        self.mode = mode
        self.n_jobs, self.n_machines = n_jobs, n_machines = instance.n_jobs, instance.n_machines
        self._machines: list[list[int]] = instance.machines.tolist()
        self._durations: list[list[int]] = instance.durations.tolist()
        # flow_due[j, k]: completion of op k if job j never waited (the "flow due date")
        self.flow_due = np.cumsum(instance.durations, axis=1)
        self._flow_due: list[list[int]] = self.flow_due.tolist()

        self.start_times = np.full((n_jobs, n_machines), -1, dtype=np.int64)
        self.completion_lb = self.flow_due.copy()
        self.next_op = np.zeros(n_jobs, dtype=np.int64)
        self.next_machine = instance.machines[:, 0].copy()
        self.next_duration = instance.durations[:, 0].copy()
        self.job_ready = np.zeros(n_jobs, dtype=np.int64)
        self.machine_free = np.zeros(n_machines, dtype=np.int64)
        self.remaining_work = instance.durations.sum(axis=1)
        self.mask = np.ones(n_jobs, dtype=bool)
        self.makespan_lb = int(self.flow_due[:, -1].max())
        self.makespan = 0
        self.now = 0
        self.n_scheduled = 0
        # _ready_key: job_ready, or NEVER once the job is done (so min() skips it)
        self._ready_key = np.zeros(n_jobs, dtype=np.int64)
        self._est: np.ndarray | None = None  # cached earliest starts (non_delay only)
        # Python-int mirrors of next_op / job_ready / machine_free for the scalar hot path
        self._next_op = [0] * n_jobs
        self._job_ready = [0] * n_jobs
        self._machine_free = [0] * n_machines
        # per machine: scheduled ops sorted by start (all ops: the machine chain) ...
        self._chain_starts: list[list[int]] = [[] for _ in range(n_machines)]
        self._chain_nodes: list[list[int]] = [[] for _ in range(n_machines)]
        # ... and the busy intervals [start, end) of positive duration, sorted (active mode)
        self._busy_starts: list[list[int]] = [[] for _ in range(n_machines)]
        self._busy_ends: list[list[int]] = [[] for _ in range(n_machines)]
        if mode == "non_delay":
            self._advance_clock()

    @property
    def done(self) -> bool:
        return self.n_scheduled == self.n_jobs * self.n_machines

    def legal_jobs(self) -> np.ndarray:
        """Indices of the legal jobs, ascending."""
        return np.flatnonzero(self.mask)

    def earliest_starts(self) -> np.ndarray:
        """Start each job's next op would get if appended after its machine's last op (NEVER when done).

        In non_delay mode this is exactly where it can start, and ``now`` is its minimum. In
        active mode the real start can be earlier (a gap before the machine's last op).
        """
        if self._est is not None:
            return self._est
        return np.maximum(self._ready_key, self.machine_free[self.next_machine])

    def dispatch(self, job: int) -> tuple[int, int, int, int]:
        """Schedule the next operation of ``job``.

        Returns ``(node, start, machine_pred, machine_succ)``: the operation's node index
        ``job * n_machines + k``, its start, and the nodes before and after it in its
        machine's start order (-1 if none). Raises :class:`IllegalActionError` if ``job`` is
        not legal.
        """
        if not (0 <= job < self.n_jobs and self.mask[job]):
            raise IllegalActionError(self._why_illegal(job))
        k = self._next_op[job]
        machine = self._machines[job][k]
        duration = self._durations[job][k]
        if self.mode == "non_delay":
            start = self.now
        else:
            start = self._left_shift(machine, self._job_ready[job], duration)
        end = start + duration
        node = job * self.n_machines + k

        starts, nodes = self._chain_starts[machine], self._chain_nodes[machine]
        pos = bisect_right(starts, start)
        pred = nodes[pos - 1] if pos else -1
        succ = nodes[pos] if pos < len(nodes) else -1
        starts.insert(pos, start)
        nodes.insert(pos, node)

        self.start_times[job, k] = start
        self.job_ready[job] = self._job_ready[job] = end
        if end > self._machine_free[machine]:
            self.machine_free[machine] = self._machine_free[machine] = end
        shift = end - self._flow_due[job][k]
        np.add(self.flow_due[job, k:], shift, out=self.completion_lb[job, k:])
        self.makespan_lb = max(self.makespan_lb, self._flow_due[job][-1] + shift)
        self.makespan = max(self.makespan, end)
        self.remaining_work[job] -= duration
        self.n_scheduled += 1
        self._next_op[job] = k + 1
        if k + 1 < self.n_machines:
            self.next_op[job] = k + 1
            self.next_machine[job] = self._machines[job][k + 1]
            self.next_duration[job] = self._durations[job][k + 1]
            self._ready_key[job] = end
        else:
            self.next_op[job] = self.n_machines
            self.next_duration[job] = 0
            self._ready_key[job] = NEVER
            self.mask[job] = False
        if self.mode == "non_delay":
            self._advance_clock()
        return node, start, pred, succ

    def _left_shift(self, machine: int, ready: int, duration: int) -> int:
        """Earliest start >= ready in an idle gap of ``machine`` that fits ``duration``; books it."""
        if duration == 0:  # occupies no time (the validator's convention)
            return ready
        starts, ends = self._busy_starts[machine], self._busy_ends[machine]
        i = bisect_right(ends, ready)  # first busy interval ending after `ready`
        t = ready
        n = len(starts)
        while i < n and starts[i] < t + duration:
            t = ends[i]
            i += 1
        starts.insert(i, t)
        ends.insert(i, t + duration)
        return t

    def _advance_clock(self) -> None:
        """Non-delay: jump to the earliest time some operation can start; legal = those that can."""
        est = np.maximum(self._ready_key, self.machine_free[self.next_machine])
        self._est = est
        now = int(est.min())
        if now >= NEVER:  # all done
            self.mask[:] = False
            return
        self.now = now
        np.equal(est, now, out=self.mask)

    def _why_illegal(self, job: int) -> str:
        legal = self.legal_jobs().tolist()
        if not 0 <= job < self.n_jobs:
            return f"job {job} does not exist ({self.instance.name} has jobs 0..{self.n_jobs - 1}); legal: {legal}"
        if self.next_op[job] >= self.n_machines:
            return f"job {job} has no operation left to dispatch; legal jobs: {legal}"
        est = int(self.earliest_starts()[job])
        return (
            f"job {job}: its next operation cannot start now (t={self.now}) in non_delay mode "
            f"(earliest start {est}); legal jobs: {legal}"
        )

    def schedule(self) -> Schedule:
        """The schedule built so far (raises before every operation is scheduled)."""
        if not self.done:
            raise RuntimeError(f"{self.n_scheduled} of {self.n_jobs * self.n_machines} operations scheduled")
        return Schedule(self.instance, self.start_times.copy())


def start_order_actions(start_times: np.ndarray, scheduled: np.ndarray | None = None) -> list[int]:
    """Jobs of the operations not in ``scheduled``, in order of ``start_times`` (ties: lower job).

    Turns a (CP-SAT) completion into a dispatch sequence: in active mode, dispatching these
    jobs from the state whose operations are ``scheduled`` rebuilds a schedule no longer than
    the given one (what CP-guided training imitates). In non_delay mode the sequence may be
    illegal, since the completion need not be non-delay.
    """
    starts = np.asarray(start_times)
    todo = np.ones(starts.shape, dtype=bool) if scheduled is None else ~np.asarray(scheduled, dtype=bool)
    jobs, _ = np.nonzero(todo)
    order = np.lexsort((jobs, starts[todo]))
    return jobs[order].tolist()
