"""The one-machine problem with heads and tails, ``1|r_j, q_j|Cmax``, solved exactly.

Each operation ``j`` has a release time (head) ``r_j``, a duration ``p_j`` and a tail ``q_j`` (time that
must still pass after it ends); the machine runs one operation at a time and the value of a sequence
is ``max_j (C_j + q_j)``. It is the subproblem of the shifting-bottleneck heuristic
(:mod:`cpgym.heuristics.sbh`).

* :func:`schrage` -- Schrage's rule: whenever the machine is free, start the released operation
  with the largest tail (ties: the lowest rank, see below). A 2-approximation, O(n log n).
* :func:`carlier` -- Carlier's (1982) branch and bound, exact. At each node Schrage's schedule
  gives an upper bound; its critical block ``a..n`` (the operations run without idle time before
  the one that attains the value) either proves the node optimal or contains a last operation
  ``c`` with ``q_c < q_n``. With ``J`` the operations after ``c`` in the block, every better
  schedule runs ``c`` before or after all of ``J``: the two children raise ``q_c`` to
  ``min q_J + p(J)`` or ``r_c`` to ``min r_J + p(J)``. Nodes are explored depth first (smaller
  bound first) and pruned by the lower bound ``max(h(J), h(J + c))`` with
  ``h(S) = min r_S + p(S) + min q_S`` and by the preemptive (Jackson) schedule's value; every
  Schrage sequence is evaluated on the original data, so the incumbent is a true value.

**Precedences** (optional): ``precedence[a, b]`` means ``a`` must run before ``b`` (an acyclic
relation, need not be transitive). Heads and tails are first made consistent with them
(``r_b >= r_a + p_a``, ``q_a >= q_b + p_b``, in topological order) and kept so after every
branching; Schrage's rule with ties broken by topological rank then only builds sequences that
respect them. Consistent heads and tails make the precedences free (some optimal sequence of the
problem without them respects them), so the optimum is that of ``1|r_j, q_j|Cmax`` on the
consistent data. The shifting-bottleneck heuristic passes the precedences that the fixed
machines imply, so the sequences it inserts never close a cycle.

The search stops after ``node_limit`` nodes or at a ``deadline`` (a ``time.perf_counter()``
value) and then returns its best sequence with ``optimal=False``. The kernels are numba
functions compiled with explicit signatures at import (cached on disk).
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass

import numpy as np
from numba import njit, objmode

from cpgym.errors import ArgumentError

NODE_LIMIT = 100_000  # default branch-and-bound node limit of :func:`carlier`


def check_integer(value: int, name: str, least: int | None = None) -> int:
    """``value`` as an int if it is an integer (not a bool) ``>= least``, else :class:`ArgumentError`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or (least is not None and value < least):
        bound = "" if least is None else f" >= {least}"
        raise ArgumentError(f"{name} must be an integer{bound}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class OneMachineSolution:
    """A sequence (indices of the operations in processing order), its value and how it was found."""

    sequence: np.ndarray
    makespan: int
    optimal: bool
    nodes: int


@njit("float64()", cache=True)
def _now() -> float:
    with objmode(now="float64"):
        now = time.perf_counter()
    return now


@njit("void(int64[:], int64[:], int64[:], boolean[:, :], int64[:])", cache=True)
def _propagate(release, duration, tail, precedence, order) -> None:
    """Raise heads and tails (in place) to ``r_b >= r_a + p_a`` and ``q_a >= q_b + p_b`` for every ``a -> b``."""
    n = release.shape[0]
    for x in range(n):
        b = order[x]
        for y in range(x):
            a = order[y]
            if precedence[a, b] and release[a] + duration[a] > release[b]:
                release[b] = release[a] + duration[a]
    for x in range(n - 1, -1, -1):
        a = order[x]
        for y in range(x + 1, n):
            b = order[y]
            if precedence[a, b] and tail[b] + duration[b] > tail[a]:
                tail[a] = tail[b] + duration[b]


@njit("int64[:](int64[:], int64[:])", cache=True)
def _by_release(release, order) -> np.ndarray:
    """Operation indices sorted by release time, ties in ``order`` (the topological rank)."""
    return order[np.argsort(release[order], kind="mergesort")]


@njit("int64(int64[:], int64[:], int64[:], int64[:], int64[:], int64[:], int64[:])", cache=True)
def _schrage(release, duration, tail, rank, by_release, sequence, starts) -> int:
    """Schrage's schedule into ``sequence`` / ``starts``; returns its value on the given data."""
    n = release.shape[0]
    heap = [(np.int64(0), np.int64(0), np.int64(0))]
    heap.pop()
    time_now = release[by_release[0]]
    released = 0
    value = 0
    for position in range(n):
        if not heap and release[by_release[released]] > time_now:
            time_now = release[by_release[released]]
        while released < n and release[by_release[released]] <= time_now:
            op = by_release[released]
            heapq.heappush(heap, (-tail[op], rank[op], op))
            released += 1
        op = heapq.heappop(heap)[2]
        sequence[position] = op
        starts[position] = time_now
        time_now += duration[op]
        value = max(value, time_now + tail[op])
    return value


@njit("int64(int64[:], int64[:], int64[:], int64[:])", cache=True)
def _preemptive_bound(release, duration, tail, by_release) -> int:
    """Value of the preemptive schedule (largest tail first, preempting on releases): a lower bound."""
    n = release.shape[0]
    remaining = duration.copy()
    heap = [(np.int64(0), np.int64(0))]
    heap.pop()
    time_now = release[by_release[0]]
    released = 0
    finished = 0
    bound = 0
    while finished < n:
        while released < n and release[by_release[released]] <= time_now:
            op = by_release[released]
            heapq.heappush(heap, (-tail[op], op))
            released += 1
        if not heap:
            time_now = release[by_release[released]]
            continue
        op = heap[0][1]
        run = remaining[op]
        if released < n:
            run = min(run, release[by_release[released]] - time_now)
        time_now += run
        remaining[op] -= run
        if remaining[op] == 0:
            heapq.heappop(heap)
            finished += 1
            bound = max(bound, time_now + tail[op])
    return bound


@njit("int64(int64[:], int64[:], int64[:], int64[:])", cache=True)
def _evaluate(release, duration, tail, sequence) -> int:
    """Value of ``sequence`` run as early as possible."""
    time_now = 0
    value = 0
    for op in sequence:
        time_now = max(time_now, release[op]) + duration[op]
        value = max(value, time_now + tail[op])
    return value


@njit(
    "Tuple((int64[:], int64, boolean, int64))"
    "(int64[:], int64[:], int64[:], boolean[:, :], boolean, int64[:], int64, float64)",
    cache=True,
)
def _carlier(release, duration, tail, precedence, constrained, order, node_limit, deadline) -> tuple:
    """Carlier's branch and bound; returns (sequence, value, proven optimal, nodes)."""
    n = release.shape[0]
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    root_release, root_tail = release.copy(), tail.copy()
    if constrained:
        _propagate(root_release, duration, root_tail, precedence, order)
    sequence = np.empty(n, dtype=np.int64)
    starts = np.empty(n, dtype=np.int64)
    best_sequence = np.empty(n, dtype=np.int64)
    best = np.iinfo(np.int64).max
    stack = [(root_release, root_tail, np.int64(0))]
    nodes = 0
    optimal = True
    while stack:
        node_release, node_tail, bound = stack.pop()
        if bound >= best:
            continue
        if nodes > 0 and (nodes >= node_limit or (nodes % 32 == 0 and _now() > deadline)):
            optimal = False
            break
        nodes += 1
        by_release = _by_release(node_release, order)
        bound = max(bound, _preemptive_bound(node_release, duration, node_tail, by_release))
        if bound >= best:
            continue
        _schrage(node_release, duration, node_tail, rank, by_release, sequence, starts)
        value = _evaluate(release, duration, tail, sequence)
        if value < best:
            best = value
            best_sequence[:] = sequence
        # the critical block a..last of this node's Schrage schedule (on the node's data)
        last, node_value = 0, -1
        for position in range(n):
            op = sequence[position]
            if starts[position] + duration[op] + node_tail[op] > node_value:
                last, node_value = position, starts[position] + duration[op] + node_tail[op]
        first = last
        while first > 0 and starts[first - 1] + duration[sequence[first - 1]] == starts[first]:
            first -= 1
        critical = -1
        for position in range(last - 1, first - 1, -1):
            if node_tail[sequence[position]] < node_tail[sequence[last]]:
                critical = position
                break
        if critical < 0 or bound >= best:
            continue  # Schrage's schedule is optimal for this node
        c = sequence[critical]
        block = sequence[critical + 1:last + 1]
        release_j = node_release[block].min()
        tail_j = node_tail[block].min()
        length_j = duration[block].sum()
        bound = max(bound, release_j + length_j + tail_j)
        children = []
        for after in (True, False):
            child_release, child_tail = node_release.copy(), node_tail.copy()
            if after:
                child_release[c] = max(child_release[c], release_j + length_j)
            else:
                child_tail[c] = max(child_tail[c], tail_j + length_j)
            if constrained:
                _propagate(child_release, duration, child_tail, precedence, order)
            with_c = (min(release_j, child_release[c]) + length_j + duration[c] + min(tail_j, child_tail[c]))
            children.append((child_release, child_tail, max(bound, with_c)))
        if children[0][2] < children[1][2]:
            children.reverse()  # the child with the smaller bound is explored first
        for child in children:
            if child[2] < best:
                stack.append(child)
    return best_sequence, best, optimal, nodes


def _check_data(
    release: np.ndarray, duration: np.ndarray, tail: np.ndarray, precedence: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """The data as int64 arrays and a topological order of the precedences; ArgumentError when malformed."""
    arrays = [np.asarray(values) for values in (release, duration, tail)]
    n = arrays[0].size
    for name, values in zip(("release", "duration", "tail"), arrays):
        if values.ndim != 1 or values.size != n or n == 0:
            raise ArgumentError(
                f"release, duration and tail must be equal non-empty 1-D arrays; {name} has shape {values.shape}"
            )
        if not np.issubdtype(values.dtype, np.integer) or (values < 0).any():
            raise ArgumentError(f"{name} must hold integers >= 0")
    release, duration, tail = (np.ascontiguousarray(values, dtype=np.int64) for values in arrays)
    if precedence is None:
        return release, duration, tail, np.arange(n, dtype=np.int64), None
    precedence = np.asarray(precedence)
    if precedence.shape != (n, n) or precedence.dtype != np.bool_:
        raise ArgumentError(
            f"precedence must be a boolean ({n}, {n}) matrix, got {precedence.dtype} {precedence.shape}"
        )
    indegree = precedence.sum(axis=0)
    ready = [op for op in range(n) if indegree[op] == 0]
    order = []
    while ready:
        op = ready.pop(0)
        order.append(op)
        for successor in np.flatnonzero(precedence[op]):
            indegree[successor] -= 1
            if indegree[successor] == 0:
                ready.append(int(successor))
    if len(order) < n:
        raise ArgumentError("precedence has a cycle")
    return release, duration, tail, np.array(order, dtype=np.int64), np.ascontiguousarray(precedence)


def schrage(release: np.ndarray, duration: np.ndarray, tail: np.ndarray) -> OneMachineSolution:
    """Schrage's sequence (largest released tail first, ties by index) and its value."""
    release, duration, tail, order, _ = _check_data(release, duration, tail, None)
    sequence, starts = np.empty_like(order), np.empty_like(order)
    _schrage(release, duration, tail, order, _by_release(release, order), sequence, starts)
    return OneMachineSolution(sequence, int(_evaluate(release, duration, tail, sequence)), False, 0)


def carlier(
    release: np.ndarray,
    duration: np.ndarray,
    tail: np.ndarray,
    precedence: np.ndarray | None = None,
    node_limit: int = NODE_LIMIT,
    deadline: float | None = None,
) -> OneMachineSolution:
    """An optimal sequence of ``1|r_j, q_j|Cmax`` (optionally with precedences) by Carlier's branch and bound.

    Args:
        release, duration, tail: integer arrays ``>= 0`` of one length.
        precedence: boolean ``(n, n)`` matrix, ``precedence[a, b]``: ``a`` runs before ``b`` (acyclic).
        node_limit: nodes explored at most; past it (or ``deadline``) the best sequence found is returned
            with ``optimal=False``.
        deadline: a ``time.perf_counter()`` value.
    """
    node_limit = check_integer(node_limit, "node_limit", 1)
    release, duration, tail, order, matrix = _check_data(release, duration, tail, precedence)
    constrained = matrix is not None
    if matrix is None:
        matrix = np.zeros((1, 1), dtype=np.bool_)
    sequence, value, optimal, nodes = _carlier(
        release, duration, tail, matrix, constrained, order, node_limit, math.inf if deadline is None else deadline
    )
    return OneMachineSolution(sequence, int(value), bool(optimal), int(nodes))
