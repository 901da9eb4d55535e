"""A complete job-shop schedule as a disjunctive graph: machine sequences, heads, tails, critical
path, N5 moves and their fast evaluation. The reusable state of local search (:mod:`cpgym.heuristics.tabu`)
and of learned improvement policies (L2S-style: a policy picks one of :meth:`ScheduleGraph.n5_moves`).

Operation ids: ``op = job * n_machines + k`` for the k-th operation of a job (the order of
``start_times.ravel()``). A schedule is one permutation of the jobs per machine; with the job
routes it fixes the disjunctive graph, an acyclic graph whose longest paths give

* the **head** ``r[op]``: the earliest start of ``op`` (longest path from the source), and so the
  start times of the semi-active schedule;
* the **tail** ``q[op]``: the longest path from the end of ``op`` to the sink (``op`` excluded);
* the **makespan** ``max(r + p)``; ``r + p + q`` equals it exactly on critical operations.

Heads and tails come from one topological sort (Kahn) and two sweeps, O(operations); the sort
detects a cycle when the sequences admit no schedule. The inner loops are numba kernels
(``nopython``, ``cache=True``): scalar loops over the graph that NumPy cannot vectorise (every head
depends on the heads before it in topological order), compiled once and cached on disk.

The **critical path** is traced back from the operation that ends last; at a tie it follows the
job arc rather than the machine arc, so a machine arc ``u -> v`` on the path is strictly longer
than ``v``'s job arc. Its **blocks** are the maximal runs of consecutive path operations on one
machine. **N1** (van Laarhoven, Aarts & Lenstra 1992) swaps any machine arc of the path; **N5**
(Nowicki & Smutnicki 1996) only the first two operations of every block but the first and the
last two of every block but the last. Swapping a critical machine arc never creates a cycle
(with the tie rule above this holds for zero durations too: a second path ``u ~> v`` would
make ``v``'s job arc at least as long as ``u -> v``), and when the path is a single block the
makespan is one machine's load, so the schedule is optimal and N5 is empty.

**Move evaluation** (Taillard 1994; Balas & Vazacopoulos 1998): after swapping adjacent ``u, v``
(``u`` first) the heads of ``v`` then ``u`` and the tails of ``u`` then ``v`` follow exactly from the
unchanged heads of their predecessors and tails of their successors, so
``estimate = max(r'v + pv + q'v, r'u + pu + q'u)`` is the exact length of the longest path through
``u`` or ``v`` after the move, in O(1) (paths through ``v`` then ``u`` count in the second term, so
``q'v`` needs only ``v``'s job successor). It is a lower bound of the new makespan, and equals it
whenever it is at least the current makespan (paths avoiding ``u`` and ``v`` keep their length,
at most the current makespan).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from cpgym.errors import ArgumentError
from cpgym.instances import JobShopInstance, Schedule, validate_schedule


@njit(cache=True)
def _longest_paths(job_pred, job_succ, machine_pred, machine_succ, durations, heads, tails, order, indegree) -> bool:
    """Heads and tails of every operation by Kahn's topological sort; False if the graph has a cycle."""
    n_ops = durations.shape[0]
    queued = 0
    for op in range(n_ops):
        indegree[op] = (job_pred[op] >= 0) + (machine_pred[op] >= 0)
        if indegree[op] == 0:
            order[queued] = op
            queued += 1
    done = 0
    while done < queued:
        op = order[done]
        done += 1
        head = 0
        pred = job_pred[op]
        if pred >= 0:
            head = heads[pred] + durations[pred]
        pred = machine_pred[op]
        if pred >= 0 and heads[pred] + durations[pred] > head:
            head = heads[pred] + durations[pred]
        heads[op] = head
        succ = job_succ[op]
        if succ >= 0:
            indegree[succ] -= 1
            if indegree[succ] == 0:
                order[queued] = succ
                queued += 1
        succ = machine_succ[op]
        if succ >= 0:
            indegree[succ] -= 1
            if indegree[succ] == 0:
                order[queued] = succ
                queued += 1
    if queued < n_ops:
        return False
    for index in range(n_ops - 1, -1, -1):
        op = order[index]
        tail = 0
        succ = job_succ[op]
        if succ >= 0:
            tail = tails[succ] + durations[succ]
        succ = machine_succ[op]
        if succ >= 0 and tails[succ] + durations[succ] > tail:
            tail = tails[succ] + durations[succ]
        tails[op] = tail
    return True


@njit(cache=True)
def _makespan(heads, durations) -> int:
    makespan = 0
    for op in range(durations.shape[0]):
        if heads[op] + durations[op] > makespan:
            makespan = heads[op] + durations[op]
    return makespan


@njit(cache=True)
def _critical_path(job_pred, machine_pred, durations, heads, path) -> int:
    """Write a critical path (source to sink) into ``path``; return its length. Ties follow job arcs."""
    last, makespan = 0, -1
    for op in range(durations.shape[0]):
        if heads[op] + durations[op] > makespan:
            last, makespan = op, heads[op] + durations[op]
    length = 0
    op = last
    while True:
        path[length] = op
        length += 1
        pred = job_pred[op]
        if pred >= 0 and heads[pred] + durations[pred] == heads[op]:
            op = pred
            continue
        pred = machine_pred[op]
        if pred >= 0 and heads[pred] + durations[pred] == heads[op]:
            op = pred
            continue
        break
    path[:length] = path[:length][::-1].copy()
    return length


@njit(cache=True)
def _block_moves(machine_pred, path, length, moves, n5) -> int:
    """Write the swaps ``(u, v)`` of the critical ``path`` into ``moves``; return their number.

    ``n5``: the N5 swaps; otherwise every machine arc of the path (N1, van Laarhoven et al. 1992).
    """
    n_moves = 0
    start = 0
    while start < length:
        end = start
        while end + 1 < length and machine_pred[path[end + 1]] == path[end]:
            end += 1
        for first in range(start, end):  # the machine arcs of the block path[start:end + 1]
            if n5 and not ((first == start and start > 0) or (first == end - 1 and end < length - 1)):
                continue  # N5: the first arc of every block but the first, the last of every block but the last
            moves[n_moves, 0], moves[n_moves, 1] = path[first], path[first + 1]
            n_moves += 1
        start = end + 1
    return n_moves


@njit(cache=True)
def _swap_estimate(u, v, job_pred, job_succ, machine_pred, machine_succ, durations, heads, tails) -> int:
    """Length of the longest path through ``u`` or ``v`` after swapping adjacent ``u`` (first) and ``v``."""
    head_v = 0  # new head of v: after u's machine predecessor and v's job predecessor
    pred = job_pred[v]
    if pred >= 0:
        head_v = heads[pred] + durations[pred]
    pred = machine_pred[u]
    if pred >= 0 and heads[pred] + durations[pred] > head_v:
        head_v = heads[pred] + durations[pred]
    head_u = head_v + durations[v]  # new head of u: after v and u's job predecessor
    pred = job_pred[u]
    if pred >= 0 and heads[pred] + durations[pred] > head_u:
        head_u = heads[pred] + durations[pred]
    tail_u = 0  # new tail of u: before u's job successor and v's old machine successor
    succ = job_succ[u]
    if succ >= 0:
        tail_u = tails[succ] + durations[succ]
    succ = machine_succ[v]
    if succ >= 0 and tails[succ] + durations[succ] > tail_u:
        tail_u = tails[succ] + durations[succ]
    through_v = 0  # paths through v and then u are paths through u: only v's job successor is left
    succ = job_succ[v]
    if succ >= 0:
        through_v = tails[succ] + durations[succ]
    return max(head_v + durations[v] + through_v, head_u + durations[u] + tail_u)


@njit(cache=True)
def _swap(u, v, machine_of, sequences, position, machine_pred, machine_succ) -> None:
    """Swap ``u`` and its machine successor ``v`` in the sequences and the machine links."""
    machine = machine_of[u]
    sequences[machine, position[u]] = v
    sequences[machine, position[v]] = u
    position[u], position[v] = position[v], position[u]
    before, after = machine_pred[u], machine_succ[v]
    machine_pred[v], machine_succ[v] = before, u
    machine_pred[u], machine_succ[u] = v, after
    if before >= 0:
        machine_succ[before] = v
    if after >= 0:
        machine_pred[after] = u


@njit(cache=True)
def _link(sequences, position, machine_pred, machine_succ) -> None:
    """Positions and machine links of the operation sequences ``sequences[machine, i]``."""
    n_machines, n_jobs = sequences.shape
    for machine in range(n_machines):
        for index in range(n_jobs):
            op = sequences[machine, index]
            position[op] = index
            machine_pred[op] = sequences[machine, index - 1] if index > 0 else -1
            machine_succ[op] = sequences[machine, index + 1] if index < n_jobs - 1 else -1


class ScheduleGraph:
    """A complete schedule of ``instance`` as machine sequences, kept with its heads and tails.

    Build it with :meth:`from_start_times` or :meth:`from_sequences`. Arrays indexed by operation id
    (``job * n_machines + k``): ``durations``, ``machine_of``, ``job_pred`` / ``job_succ`` and
    ``machine_pred`` / ``machine_succ`` (-1: none), ``heads``, ``tails``; ``op_sequences[machine, i]``
    is the i-th operation on ``machine``. Treat them as read-only: change the schedule with
    :meth:`swap` only, which keeps heads, tails and makespan exact.
    """

    def __init__(self, instance: JobShopInstance, op_sequences: np.ndarray) -> None:
        """Use :meth:`from_sequences` or :meth:`from_start_times`; ``op_sequences`` must be checked."""
        n_jobs, n_machines = instance.n_jobs, instance.n_machines
        n_ops = n_jobs * n_machines
        ops = np.arange(n_ops, dtype=np.int64)
        self.instance = instance
        self.durations = instance.durations.ravel().copy()
        self.machine_of = instance.machines.ravel().copy()
        self.job_pred = np.where(ops % n_machines > 0, ops - 1, -1)
        self.job_succ = np.where(ops % n_machines < n_machines - 1, ops + 1, -1)
        self.op_sequences = np.ascontiguousarray(op_sequences, dtype=np.int64)
        self.position = np.empty(n_ops, dtype=np.int64)
        self.machine_pred = np.empty(n_ops, dtype=np.int64)
        self.machine_succ = np.empty(n_ops, dtype=np.int64)
        self.heads = np.empty(n_ops, dtype=np.int64)
        self.tails = np.empty(n_ops, dtype=np.int64)
        self._order = np.empty(n_ops, dtype=np.int64)
        self._indegree = np.empty(n_ops, dtype=np.int64)
        self._path = np.empty(n_ops, dtype=np.int64)
        _link(self.op_sequences, self.position, self.machine_pred, self.machine_succ)
        if not self.update():
            raise ArgumentError(
                f"{instance.name}: the machine sequences admit no schedule (the disjunctive graph has a cycle)"
            )

    @classmethod
    def from_sequences(cls, instance: JobShopInstance, sequences: np.ndarray | list) -> ScheduleGraph:
        """From ``sequences[machine, i]``: the job processed i-th on ``machine`` (a permutation per machine).

        Raises :class:`~cpgym.errors.ArgumentError` for a wrong shape, a row that is not a permutation of
        the jobs, or sequences that admit no schedule (a cycle).
        """
        jobs = np.asarray(sequences)
        expected = (instance.n_machines, instance.n_jobs)
        if jobs.shape != expected or not np.issubdtype(jobs.dtype, np.integer):
            raise ArgumentError(
                f"sequences must be an integer array of shape {expected}, got {jobs.dtype} {jobs.shape}"
            )
        wrong = np.flatnonzero((np.sort(jobs, axis=1) != np.arange(instance.n_jobs)).any(axis=1))
        if wrong.size:
            raise ArgumentError(f"sequences: machine {wrong[0]} must order each job 0..{instance.n_jobs - 1} once")
        step = np.argsort(instance.machines, axis=1)  # step[job, machine]: where the job visits the machine
        return cls(instance, jobs * instance.n_machines + step[jobs, np.arange(instance.n_machines)[:, None]])

    @classmethod
    def from_start_times(cls, instance: JobShopInstance, start_times: np.ndarray | list) -> ScheduleGraph:
        """The machine sequences of a valid schedule (ties: by end time, then by job).

        Sorting by (start, end, job) never orders a cycle: along every arc of the graph (start, end)
        does not decrease, so on a cycle all operations would share it, and every machine arc between
        them goes to a higher job. Raises :class:`~cpgym.errors.ArgumentError` when ``start_times`` is
        not a valid schedule.
        """
        report = validate_schedule(instance, start_times)
        if not report.ok:
            raise ArgumentError(f"start_times is not a valid schedule of {instance.name}: {report.violations[0]}")
        starts = np.asarray(start_times, dtype=np.int64).ravel()
        ends = starts + instance.durations.ravel()
        order = np.lexsort((ends, starts, instance.machines.ravel()))  # stable: ties keep the job order
        return cls(instance, order.reshape(instance.n_machines, instance.n_jobs))

    def update(self) -> bool:
        """Recompute heads, tails and makespan from the sequences; False if they contain a cycle."""
        feasible = _longest_paths(
            self.job_pred, self.job_succ, self.machine_pred, self.machine_succ, self.durations,
            self.heads, self.tails, self._order, self._indegree,
        )
        self.makespan = int(_makespan(self.heads, self.durations)) if feasible else -1
        return bool(feasible)

    def copy(self) -> ScheduleGraph:
        """An independent copy of this schedule."""
        return ScheduleGraph(self.instance, self.op_sequences.copy())

    @property
    def sequences(self) -> np.ndarray:
        """``sequences[machine, i]``: the job processed i-th on ``machine``."""
        return self.op_sequences // self.instance.n_machines

    def start_times(self) -> np.ndarray:
        """Start times ``(n_jobs, n_machines)`` of the semi-active schedule: every operation at its head."""
        return self.heads.reshape(self.instance.n_jobs, self.instance.n_machines).copy()

    def schedule(self) -> Schedule:
        """The semi-active schedule of these sequences."""
        return Schedule(self.instance, self.start_times())

    def critical_path(self) -> np.ndarray:
        """Operation ids of one critical path, from the source side to the sink side."""
        length = _critical_path(self.job_pred, self.machine_pred, self.durations, self.heads, self._path)
        return self._path[:length].copy()

    def critical_blocks(self) -> list[np.ndarray]:
        """The critical path cut into maximal runs of consecutive operations on one machine."""
        path = self.critical_path()
        cuts = np.flatnonzero(self.machine_pred[path[1:]] != path[:-1]) + 1
        return np.split(path, cuts)

    def n5_moves(self) -> np.ndarray:
        """The N5 swaps ``(u, v)`` (``u`` directly before ``v`` on a machine), shape ``(n_moves, 2)``.

        Empty when the critical path is a single block: the schedule is then optimal.
        """
        return self._moves(n5=True)

    def n1_moves(self) -> np.ndarray:
        """Every swap of a machine arc on the critical path (N1, a superset of N5), shape ``(n_moves, 2)``."""
        return self._moves(n5=False)

    def _moves(self, n5: bool) -> np.ndarray:
        path = self.critical_path()
        moves = np.empty((max(path.size, 1), 2), dtype=np.int64)
        return moves[: _block_moves(self.machine_pred, path, path.size, moves, n5)].copy()

    def estimate(self, u: int, v: int) -> int:
        """The longest path through ``u`` or ``v`` after :meth:`swap` ``(u, v)``: a lower bound of the new
        makespan, exact when it is at least the current makespan."""
        self._check_adjacent(u, v)
        return int(_swap_estimate(
            u, v, self.job_pred, self.job_succ, self.machine_pred, self.machine_succ, self.durations,
            self.heads, self.tails,
        ))

    def swap(self, u: int, v: int) -> int:
        """Swap ``u`` and its machine successor ``v`` and return the new (exact) makespan.

        Raises :class:`~cpgym.errors.ArgumentError` (and leaves the schedule unchanged) when ``v`` does
        not directly follow ``u`` on a machine, or when the swap would create a cycle (possible for
        swaps off the critical path; N5 swaps are always feasible).
        """
        self._check_adjacent(u, v)
        args = (self.machine_of, self.op_sequences, self.position, self.machine_pred, self.machine_succ)
        _swap(u, v, *args)
        if not self.update():
            _swap(v, u, *args)
            self.update()
            raise ArgumentError(f"swapping operations {u} and {v} creates a cycle")
        return self.makespan

    def _check_adjacent(self, u: int, v: int) -> None:
        n_ops = self.durations.size
        if not (0 <= u < n_ops and 0 <= v < n_ops) or self.machine_succ[u] != v:
            raise ArgumentError(f"operation {v} does not directly follow operation {u} on a machine")
