"""The shifting-bottleneck heuristic (Adams, Balas & Zawack 1988), variant SB-I with local re-optimisation.

The heuristic grows a *selection*: machine sequences fixed one machine at a time in the
disjunctive graph (job arcs plus the arcs of the fixed machines' sequences).

1. **Heads and tails.** Longest paths in the partially fixed graph
   (:func:`cpgym.heuristics.schedule_graph._longest_paths`): the head ``r`` of an operation is its
   earliest start, its tail ``q`` the longest path from its end to the sink. They carry the delayed
   precedences that the fixed machines create between the operations of the other machines.
2. **Bottleneck.** For every machine not yet fixed, its one-machine problem
   ``1|r_j, q_j|Cmax`` on those heads and tails is solved exactly by Carlier's branch and bound
   (:mod:`cpgym.heuristics.one_machine`; at most ``node_limit`` nodes, a limit that no problem of
   the 80 Taillard instances reaches: the largest needs about 20,000 nodes). The precedences
   between the machine's operations that the graph implies (paths between them) are passed as
   well, so the optimal sequence never closes a cycle; the path delays themselves enter only
   through the heads and tails, as in the original heuristic. The machine with the largest optimum
   is the bottleneck (ties: lowest index) and its optimal sequence is fixed.
3. **Re-optimisation.** Then up to ``reoptimisation_passes`` cycles visit every fixed machine, in
   decreasing order of its latest one-machine value (ties: lowest index): its sequence is removed,
   heads and tails recomputed, its one-machine problem re-solved and the new sequence kept unless
   it lengthens the longest path of the selection. Cycles stop early after one without improvement.
   The default of 3 passes is SB-I of Adams et al. (local re-optimisation, no enumeration tree; SB-II's
   partial enumeration of bottleneck choices is not implemented).

With every machine fixed the schedule is the semi-active one (every operation at its head).
Everything is deterministic: no randomness, and all ties are broken by index. A ``time_limit``
(checked before every one-machine problem, and inside Carlier's search) stops the heuristic
early; the unfixed machines are then sequenced by list scheduling in order of heads (ties:
topological order), which keeps the fixed sequences, so a valid schedule is always returned.
Results are deterministic only while the time limit does not bind.

Mean gaps to the best-known upper bounds on the Taillard groups (``benchmarks/sbh_taillard.py``):
15x15 9.2 %, 20x15 10.3 %, 20x20 11.9 %, 30x15 10.7 %, 30x20 15.0 %, 50x15 1.7 %, 50x20 7.7 %,
100x20 0.2 %, in 0.015 s (15x15) to 1.3 s (100x20) per instance.
"""

from __future__ import annotations

import math
import time

import numpy as np
from numba import njit

from cpgym.errors import check_seconds
from cpgym.heuristics.one_machine import NODE_LIMIT, _carlier, check_integer
from cpgym.heuristics.schedule_graph import _longest_paths
from cpgym.instances import JobShopInstance, Schedule

REOPTIMISATION_PASSES = 3  # SB-I: re-optimisation cycles over the fixed machines after each bottleneck


@njit("void(int64[:], int64[:], int64[:], int64[:], int64, int64, boolean[:, :])", cache=True)
def _machine_precedence(order, job_pred, machine_pred, machine_of, machine, n_machines, precedence) -> None:
    """``precedence[a, b]``: a path leads from job ``a``'s to job ``b``'s operation on ``machine``.

    One sweep in topological ``order`` carries, per operation, the bit set of the machine's
    operations (by job) from which it can be reached.
    """
    n_ops = order.shape[0]
    n_jobs = n_ops // n_machines
    words = (n_jobs + 63) // 64
    reached = np.zeros((n_ops, words), dtype=np.uint64)
    one = np.uint64(1)
    precedence[:, :] = False
    for op in order:
        for pred in (job_pred[op], machine_pred[op]):
            if pred >= 0:
                for word in range(words):
                    reached[op, word] |= reached[pred, word]
        if machine_of[op] == machine:
            job = op // n_machines
            for word in range(words):
                bits = reached[op, word]
                for bit in range(64):
                    if (bits >> np.uint64(bit)) & one:
                        precedence[word * 64 + bit, job] = True
            reached[op, job // 64] |= one << np.uint64(job % 64)


@njit("int64[:](int64[:], int64[:], int64[:], int64[:], int64[:], int64)", cache=True)
def _list_schedule(order, heads, durations, machine_of, job_pred, n_machines) -> np.ndarray:
    """Start times: operations in order of heads (ties: topological order), each as early as its job and
    machine allow. Keeps the fixed sequences; with every machine fixed it is the semi-active schedule."""
    machine_end = np.zeros(n_machines, dtype=np.int64)
    starts = np.empty(order.shape[0], dtype=np.int64)
    for op in order[np.argsort(heads[order], kind="mergesort")]:
        start = machine_end[machine_of[op]]
        pred = job_pred[op]
        if pred >= 0:
            start = max(start, starts[pred] + durations[pred])
        starts[op] = start
        machine_end[machine_of[op]] = start + durations[op]
    return starts


class _Selection:
    """The partially fixed disjunctive graph: job arcs plus the sequences of the fixed machines."""

    def __init__(self, instance: JobShopInstance) -> None:
        n_jobs, n_machines = instance.n_jobs, instance.n_machines
        n_ops = n_jobs * n_machines
        ops = np.arange(n_ops, dtype=np.int64)
        self.n_machines = n_machines
        self.durations = instance.durations.ravel().copy()
        self.machine_of = instance.machines.ravel().copy()
        self.job_pred = np.where(ops % n_machines > 0, ops - 1, -1)
        self.job_succ = np.where(ops % n_machines < n_machines - 1, ops + 1, -1)
        self.machine_pred = np.full(n_ops, -1, dtype=np.int64)
        self.machine_succ = np.full(n_ops, -1, dtype=np.int64)
        # machine_ops[machine, job]: the operation of job on machine
        self.machine_ops = (np.argsort(instance.machines, axis=1) + ops[::n_machines, None]).T.copy()
        self.sequences = self.machine_ops.copy()  # the fixed machines' sequences (rows of unfixed ones unused)
        self.heads = np.empty(n_ops, dtype=np.int64)
        self.tails = np.empty(n_ops, dtype=np.int64)
        self.order = np.empty(n_ops, dtype=np.int64)
        self.topological_position = np.empty(n_ops, dtype=np.int64)
        self._indegree = np.empty(n_ops, dtype=np.int64)
        self._precedence = np.empty((n_jobs, n_jobs), dtype=np.bool_)
        self.makespan = 0

    def update(self) -> None:
        """Heads, tails, topological order and makespan (longest path) of the current selection."""
        acyclic = _longest_paths(
            self.job_pred, self.job_succ, self.machine_pred, self.machine_succ, self.durations,
            self.heads, self.tails, self.order, self._indegree,
        )
        if not acyclic:
            raise RuntimeError("shifting bottleneck: the selection has a cycle (a bug)")
        self.topological_position[self.order] = np.arange(self.order.size)
        self.makespan = int((self.heads + self.durations).max())

    def solve(self, machine: int, node_limit: int, deadline: float) -> int:
        """Solve the one-machine problem of unfixed ``machine`` on the current heads and tails; the
        sequence goes to ``self.sequences[machine]`` and the optimum is returned."""
        ops = self.machine_ops[machine]
        _machine_precedence(
            self.order, self.job_pred, self.machine_pred, self.machine_of, machine, self.n_machines, self._precedence
        )
        rank_order = np.argsort(self.topological_position[ops], kind="stable")
        sequence, value, _, _ = _carlier(
            self.heads[ops], self.durations[ops], self.tails[ops], self._precedence, True, rank_order,
            node_limit, deadline,
        )
        self.sequences[machine] = ops[sequence]
        return int(value)

    def fix(self, machine: int) -> None:
        """Add the arcs of ``self.sequences[machine]``."""
        sequence = self.sequences[machine]
        self.machine_pred[sequence] = np.concatenate(([-1], sequence[:-1]))
        self.machine_succ[sequence] = np.concatenate((sequence[1:], [-1]))

    def unfix(self, machine: int) -> None:
        """Remove the arcs of ``machine``."""
        ops = self.machine_ops[machine]
        self.machine_pred[ops] = -1
        self.machine_succ[ops] = -1

    def start_times(self) -> np.ndarray:
        """A schedule that keeps the fixed sequences (list scheduling for the others), as a flat array."""
        self.update()
        return _list_schedule(self.order, self.heads, self.durations, self.machine_of, self.job_pred, self.n_machines)


def _bottleneck(
    selection: _Selection, unfixed: list[int], values: np.ndarray, node_limit: int, deadline: float
) -> int | None:
    """Solve every unfixed machine's one-machine problem; the one of largest value (ties: lowest index),
    its sequence left in ``selection.sequences``, or None when the deadline passes first."""
    selection.update()
    for machine in unfixed:
        if time.perf_counter() >= deadline:
            return None
        values[machine] = selection.solve(machine, node_limit, deadline)
    return max(unfixed, key=lambda m: (values[m], -m))


def _reoptimise(
    selection: _Selection, fixed: list[int], values: np.ndarray, passes: int, node_limit: int, deadline: float
) -> None:
    """Up to ``passes`` cycles re-sequencing each fixed machine with the others fixed (module docstring)."""
    selection.update()
    makespan = selection.makespan
    for _ in range(passes):
        improved = False
        for machine in sorted(fixed, key=lambda m: (-values[m], m)):
            if time.perf_counter() >= deadline:
                return
            previous = selection.sequences[machine].copy()
            selection.unfix(machine)
            selection.update()
            values[machine] = selection.solve(machine, node_limit, deadline)
            selection.fix(machine)
            selection.update()
            if selection.makespan > makespan:
                selection.unfix(machine)
                selection.sequences[machine] = previous
                selection.fix(machine)
            elif selection.makespan < makespan:
                makespan, improved = selection.makespan, True
        if not improved:
            return


def shifting_bottleneck(
    instance: JobShopInstance,
    time_limit: float | None = None,
    reoptimisation_passes: int = REOPTIMISATION_PASSES,
    node_limit: int = NODE_LIMIT,
) -> Schedule:
    """A schedule of ``instance`` by the shifting-bottleneck heuristic (SB-I; see the module docstring).

    Args:
        time_limit: seconds (finite, > 0) or None for no limit; past it the unfixed machines are
            list-scheduled and the schedule is returned.
        reoptimisation_passes: re-optimisation cycles over the fixed machines after each bottleneck
            (0: none).
        node_limit: branch-and-bound nodes per one-machine problem; past it the best sequence found is used.
    """
    started = time.perf_counter()
    deadline = math.inf if time_limit is None else started + check_seconds(time_limit)
    reoptimisation_passes = check_integer(reoptimisation_passes, "reoptimisation_passes", 0)
    node_limit = check_integer(node_limit, "node_limit", 1)
    selection = _Selection(instance)
    values = np.zeros(instance.n_machines, dtype=np.int64)
    fixed: list[int] = []
    unfixed = list(range(instance.n_machines))
    while unfixed:
        bottleneck = _bottleneck(selection, unfixed, values, node_limit, deadline)
        if bottleneck is None:
            break
        selection.fix(bottleneck)
        fixed.append(bottleneck)
        unfixed.remove(bottleneck)
        _reoptimise(selection, fixed, values, reoptimisation_passes, node_limit, deadline)
    starts = selection.start_times().reshape(instance.n_jobs, instance.n_machines)
    return Schedule(instance, starts)


def _compile() -> None:
    """Load (or compile) the lazily compiled longest-path kernel now, so that no time limit pays for it."""
    single, none = np.zeros(1, dtype=np.int64), np.full(1, -1, dtype=np.int64)
    _longest_paths(none, none, none, none, single, single.copy(), single.copy(), single.copy(), single.copy())


_compile()
