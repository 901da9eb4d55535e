"""Tabu search over the N5 critical-block neighbourhood, in the style of TSAB (Nowicki & Smutnicki 1996).

Each iteration traces one critical path of the current schedule (:mod:`cpgym.heuristics.schedule_graph`),
scores every N5 swap by its estimated makespan (the exact longest path through the two swapped
operations, O(1) per move from heads and tails, Taillard 1994), makes the best admissible swap and
recomputes heads and tails exactly for that swap only (O(operations)). Details of this variant:

* **tabu list**: after swapping ``u, v`` the reverse swap ``v, u`` is tabu for a tenure drawn
  uniformly from ``[TENURE_MIN, TENURE_MAX]`` iterations (random tenures break cycles, Taillard 1994);
* **aspiration**: a tabu swap is admissible when its estimate beats the best makespan;
* when no swap is admissible, the one whose tabu status ends first is made (TSAB's rule);
* ties between equal estimates are broken uniformly at random (seeded);
* **back jump** (TSAB): each new best schedule with more than one N5 swap is pushed, with its tabu
  list and its ``ELITE_MOVES`` best untried swaps, on a stack of ``ELITE`` entries (the oldest
  drops out); after ``MAX_STALL`` iterations without a new best the search resumes from the newest
  entry with its best untried swap;
* **restart**: when the stack is empty the search restarts from the best schedule after
  ``PERTURBATION`` random swaps of critical machine arcs (N1, which unlike N5 connects every
  schedule to an optimal one), with an empty tabu list;
* it stops at the time limit, at ``max_iterations``, or on a proof of optimality: the makespan
  reaches the trivial lower bound (longest job, most loaded machine), as it does whenever N5 is
  empty (the critical path is then one block, at most one machine's load).

Parameters (module constants): ``TENURE_MIN = 10``, ``TENURE_MAX = 18``, ``MAX_STALL = 15000``,
``ELITE = 5``, ``ELITE_MOVES = 16``, ``PERTURBATION = 5``; chosen on short runs (1-2 s) of ta01-04,
ta21-23 and ta41-43 from MWKR starts: tenures 6-10 and 8-14 and stalls of 1000-2500 did worse, stalls
of 6000-60000, tenures up to 12-22 and 3 or 10 elite entries did as well within the noise.

Speed: the whole loop (path, moves, estimates, tabu test, swap, longest paths, back jumps) is one
numba kernel, because every step is a scalar loop over the graph that NumPy cannot vectorise and a
Python loop would be ~100 times slower; numba needs no compiler at install time, unlike a C
extension. ``benchmarks/tabu_speed.py`` measures about 2.7 M moves/s (410 k iterations/s) on
ta01 (15x15), 2.1 M (210 k) on ta41 (30x20) and 0.45 M (77 k) on ta71 (100x20), one core. The
kernel runs in chunks of iterations between which Python reads the clock (numba has no clock);
the chunk length adapts to about ``CHUNK_SECONDS``. Given the seed and ``max_iterations`` the
result does not depend on the chunking, so it is deterministic.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numba import njit

from cpgym.errors import ArgumentError, check_seconds
from cpgym.heuristics.schedule_graph import (
    ScheduleGraph,
    _block_moves,
    _critical_path,
    _link,
    _longest_paths,
    _makespan,
    _swap,
    _swap_estimate,
)
from cpgym.instances import JobShopInstance, Schedule

TENURE_MIN = 10
TENURE_MAX = 18
MAX_STALL = 15000
ELITE = 5
ELITE_MOVES = 16  # untried swaps kept per elite entry (the best by estimate)
PERTURBATION = 5
CHUNK_SECONDS = 0.01

# state vector of the kernel
_STATE_SIZE = 11
_ITERATION, _STALL, _BEST, _RING, _ELITE_COUNT, _ELITE_TOP, _EVALUATED, _PENDING, _OPTIMAL, _JUMPS, _RESTARTS = range(
    _STATE_SIZE
)
# parameter vector of the kernel
_TENURE_MIN, _TENURE_MAX, _MAX_STALL, _LOWER_BOUND, _PERTURBATION = range(5)


@dataclass(frozen=True)
class TabuResult:
    """The best schedule found, its makespan, and what the search did to find it."""

    schedule: Schedule
    makespan: int
    iterations: int
    moves_evaluated: int
    elapsed: float
    proven_optimal: bool  # the makespan equals the trivial lower bound (longest job, most loaded machine)
    back_jumps: int
    restarts: int


@njit(cache=True)
def _random(rng, bound) -> int:
    """A xorshift64 draw in ``[0, bound)`` (``rng``: one uint64 of state)."""
    x = rng[0]
    x ^= x << np.uint64(13)
    x ^= x >> np.uint64(7)
    x ^= x << np.uint64(17)
    rng[0] = x
    return int(x % np.uint64(bound))


@njit(cache=True)
def _step(u, v, graph, sequences, best_sequences, tabu, state, params, rng) -> None:
    """Make the swap ``(u, v)``: recompute heads and tails, make ``(v, u)`` tabu, book-keep the best."""
    (job_pred, job_succ, machine_of, durations, position, machine_pred, machine_succ,
     heads, tails, order, indegree) = graph
    _swap(u, v, machine_of, sequences, position, machine_pred, machine_succ)
    _longest_paths(job_pred, job_succ, machine_pred, machine_succ, durations, heads, tails, order, indegree)
    makespan = _makespan(heads, durations)
    ring = state[_RING]
    tabu[ring, 0], tabu[ring, 1] = v, u
    tenure = params[_TENURE_MIN] + _random(rng, params[_TENURE_MAX] - params[_TENURE_MIN] + 1)
    tabu[ring, 2] = state[_ITERATION] + tenure
    state[_RING] = (ring + 1) % tabu.shape[0]
    state[_ITERATION] += 1
    if makespan < state[_BEST]:
        state[_BEST] = makespan
        best_sequences[:] = sequences
        state[_STALL] = 0
        state[_PENDING] = 1
        if makespan <= params[_LOWER_BOUND]:
            state[_OPTIMAL] = 1
    else:
        state[_STALL] += 1
        state[_PENDING] = 0


@njit(cache=True)
def _push_elite(chosen, moves, estimates, n_moves, sequences, tabu, elite_sequences, elite_tabu, elite_moves,
                elite_info, state) -> None:
    """Store the current (new best) schedule with its tabu list and its untried moves, best first."""
    if n_moves < 2:  # nothing left to try from here
        return
    entry = (state[_ELITE_TOP] + 1) % elite_sequences.shape[0]
    state[_ELITE_TOP] = entry
    state[_ELITE_COUNT] = min(state[_ELITE_COUNT] + 1, elite_sequences.shape[0])
    elite_sequences[entry] = sequences
    for i in range(tabu.shape[0]):
        elite_tabu[entry, i, 0], elite_tabu[entry, i, 1] = tabu[i, 0], tabu[i, 1]
        elite_tabu[entry, i, 2] = max(tabu[i, 2] - state[_ITERATION], 0)  # remaining tenure
    elite_info[entry, 2] = state[_RING]
    count = 0
    for i in range(n_moves):  # insertion sort by estimate, keeping the best ELITE_MOVES
        if i == chosen or (count == elite_moves.shape[1] and elite_moves[entry, count - 1, 2] <= estimates[i]):
            continue
        slot = min(count, elite_moves.shape[1] - 1)
        while slot > 0 and elite_moves[entry, slot - 1, 2] > estimates[i]:
            elite_moves[entry, slot] = elite_moves[entry, slot - 1]
            slot -= 1
        elite_moves[entry, slot, 0], elite_moves[entry, slot, 1] = moves[i, 0], moves[i, 1]
        elite_moves[entry, slot, 2] = estimates[i]
        count = min(count + 1, elite_moves.shape[1])
    elite_info[entry, 0], elite_info[entry, 1] = count, 0


@njit(cache=True)
def _back_jump(graph, sequences, best_sequences, tabu, elite_sequences, elite_tabu, elite_moves, elite_info, state,
               params, rng, path, moves) -> None:
    """Resume from the newest elite entry with an untried move, or restart from a perturbed best schedule."""
    (job_pred, job_succ, machine_of, durations, position, machine_pred, machine_succ,
     heads, tails, order, indegree) = graph
    while state[_ELITE_COUNT] > 0:
        entry = state[_ELITE_TOP]
        if elite_info[entry, 1] >= elite_info[entry, 0]:
            state[_ELITE_COUNT] -= 1
            state[_ELITE_TOP] = (entry - 1) % elite_sequences.shape[0]
            continue
        sequences[:] = elite_sequences[entry]
        _link(sequences, position, machine_pred, machine_succ)
        for i in range(tabu.shape[0]):
            tabu[i, 0], tabu[i, 1] = elite_tabu[entry, i, 0], elite_tabu[entry, i, 1]
            tabu[i, 2] = elite_tabu[entry, i, 2] + state[_ITERATION]
        state[_RING] = elite_info[entry, 2]
        move = elite_info[entry, 1]
        elite_info[entry, 1] += 1
        _step(elite_moves[entry, move, 0], elite_moves[entry, move, 1], graph, sequences, best_sequences, tabu, state,
              params, rng)
        state[_STALL] = 0
        state[_JUMPS] += 1
        return
    sequences[:] = best_sequences
    _link(sequences, position, machine_pred, machine_succ)
    tabu[:, 2] = 0
    _longest_paths(job_pred, job_succ, machine_pred, machine_succ, durations, heads, tails, order, indegree)
    for _ in range(params[_PERTURBATION]):
        length = _critical_path(job_pred, machine_pred, durations, heads, path)
        n_moves = _block_moves(machine_pred, path, length, moves, False)
        if n_moves == 0:
            break
        move = _random(rng, n_moves)
        _step(moves[move, 0], moves[move, 1], graph, sequences, best_sequences, tabu, state, params, rng)
    state[_STALL] = 0
    state[_RESTARTS] += 1


@njit(cache=True)
def _search(graph, sequences, best_sequences, tabu, elite_sequences, elite_tabu, elite_moves, elite_info, state,
            params, rng, path, moves, estimates, n_iterations) -> None:
    """Run up to ``n_iterations`` tabu iterations (fewer if optimality is proven); all state lives in the arrays.

    ``path``, ``moves`` and ``estimates`` are scratch space for the critical path and the scored swaps.
    """
    (job_pred, job_succ, machine_of, durations, position, machine_pred, machine_succ,
     heads, tails, order, indegree) = graph
    stop = state[_ITERATION] + n_iterations
    while state[_ITERATION] < stop and state[_OPTIMAL] == 0:
        length = _critical_path(job_pred, machine_pred, durations, heads, path)
        n_moves = _block_moves(machine_pred, path, length, moves, True)
        if n_moves == 0:  # one critical block: the makespan is the lower bound (set on reaching it)
            state[_OPTIMAL] = 1
            break
        chosen, chosen_estimate, ties = -1, 0, 0
        oldest, oldest_expiry = 0, 0
        for i in range(n_moves):
            u, v = moves[i, 0], moves[i, 1]
            estimate = _swap_estimate(u, v, job_pred, job_succ, machine_pred, machine_succ, durations, heads, tails)
            estimates[i] = estimate
            expiry = 0
            for t in range(tabu.shape[0]):
                if tabu[t, 0] == u and tabu[t, 1] == v and tabu[t, 2] > state[_ITERATION]:
                    expiry = tabu[t, 2]
            if expiry == 0 or estimate < state[_BEST]:
                if chosen < 0 or estimate < chosen_estimate:
                    chosen, chosen_estimate, ties = i, estimate, 1
                elif estimate == chosen_estimate:
                    ties += 1
                    if _random(rng, ties) == 0:
                        chosen = i
            elif oldest_expiry == 0 or expiry < oldest_expiry:
                oldest, oldest_expiry = i, expiry
        state[_EVALUATED] += n_moves
        if chosen < 0:
            chosen = oldest
        if state[_PENDING] == 1:
            _push_elite(chosen, moves, estimates, n_moves, sequences, tabu, elite_sequences, elite_tabu, elite_moves,
                        elite_info, state)
        _step(moves[chosen, 0], moves[chosen, 1], graph, sequences, best_sequences, tabu, state, params, rng)
        if state[_STALL] >= params[_MAX_STALL] and state[_OPTIMAL] == 0:
            _back_jump(graph, sequences, best_sequences, tabu, elite_sequences, elite_tabu, elite_moves, elite_info,
                       state, params, rng, path, moves)


class _Search:
    """The arrays of one tabu search run, advanced by :meth:`run` in chunks."""

    def __init__(self, graph: ScheduleGraph, seed: int) -> None:
        instance = graph.instance
        n_ops = graph.durations.size
        self.graph = graph
        self.arrays = (
            graph.job_pred, graph.job_succ, graph.machine_of, graph.durations, graph.position, graph.machine_pred,
            graph.machine_succ, graph.heads, graph.tails, graph._order, graph._indegree,
        )
        self.best_sequences = graph.op_sequences.copy()
        self.tabu = np.zeros((TENURE_MAX, 3), dtype=np.int64)
        self.elite_sequences = np.zeros((ELITE, *graph.op_sequences.shape), dtype=np.int64)
        self.elite_tabu = np.zeros((ELITE, TENURE_MAX, 3), dtype=np.int64)
        self.elite_moves = np.zeros((ELITE, ELITE_MOVES, 3), dtype=np.int64)  # (u, v, estimate)
        self.elite_info = np.zeros((ELITE, 3), dtype=np.int64)
        self.state = np.zeros(_STATE_SIZE, dtype=np.int64)
        self.state[_BEST] = graph.makespan
        self.state[_ELITE_TOP] = ELITE - 1
        self.state[_OPTIMAL] = graph.makespan <= instance.trivial_lower_bound()
        self.params = np.array([TENURE_MIN, TENURE_MAX, MAX_STALL, instance.trivial_lower_bound(), PERTURBATION])
        # xorshift needs a non-zero state; an odd multiplier spreads nearby seeds apart
        self.rng = np.array([(seed * 0x9E3779B97F4A7C15 + 0x2545F4914F6CDD1D) % 2**64 or 1], dtype=np.uint64)
        self.scratch = (np.empty(n_ops, np.int64), np.empty((n_ops, 2), np.int64), np.empty(n_ops, np.int64))

    def run(self, n_iterations: int) -> None:
        _search(self.arrays, self.graph.op_sequences, self.best_sequences, self.tabu, self.elite_sequences,
                self.elite_tabu, self.elite_moves, self.elite_info, self.state, self.params, self.rng, *self.scratch,
                n_iterations)

    @property
    def iterations(self) -> int:
        return int(self.state[_ITERATION])

    @property
    def optimal(self) -> bool:
        return bool(self.state[_OPTIMAL])


def tabu_search(
    instance: JobShopInstance,
    start_times: np.ndarray | list,
    time_limit: float,
    seed: int = 0,
    max_iterations: int | None = None,
) -> TabuResult:
    """Improve the schedule ``start_times`` of ``instance`` by tabu search for at most ``time_limit`` seconds.

    Returns within the limit plus a few milliseconds (plus numba's compilation on the first call in a
    process: call :func:`prepare` first when timing). Deterministic given ``seed`` and ``max_iterations``
    (the clock decides only where a time-limited run stops). Raises :class:`~cpgym.errors.ArgumentError`
    for a time limit that is not a positive number of seconds, a negative or non-integer seed or
    ``max_iterations``, or ``start_times`` that is not a valid schedule.
    """
    started = time.perf_counter()
    deadline = started + check_seconds(time_limit)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ArgumentError(f"seed must be an integer >= 0, got {seed!r}")
    if max_iterations is not None and (
        isinstance(max_iterations, bool) or not isinstance(max_iterations, (int, np.integer)) or max_iterations < 0
    ):
        raise ArgumentError(f"max_iterations must be None or an integer >= 0, got {max_iterations!r}")
    prepare()
    search = _Search(ScheduleGraph.from_start_times(instance, start_times), int(seed))
    budget = max_iterations if max_iterations is not None else np.iinfo(np.int64).max
    chunk = 1
    while not search.optimal and search.iterations < budget:
        now = time.perf_counter()
        if now >= deadline:
            break
        chunk_started = now
        search.run(min(chunk, budget - search.iterations))
        seconds = max(time.perf_counter() - chunk_started, 1e-7)
        chunk = max(1, int(chunk * min(CHUNK_SECONDS, deadline - time.perf_counter()) / seconds))
    best = ScheduleGraph(instance, search.best_sequences)
    state = search.state
    return TabuResult(
        schedule=best.schedule(),
        makespan=best.makespan,
        iterations=search.iterations,
        moves_evaluated=int(state[_EVALUATED]),
        elapsed=time.perf_counter() - started,
        proven_optimal=search.optimal,
        back_jumps=int(state[_JUMPS]),
        restarts=int(state[_RESTARTS]),
    )


_PREPARED = False


def prepare() -> None:
    """Compile every kernel, or load it from numba's on-disk cache, by a short run on a tiny instance.

    Compiling takes several seconds, once per installation (``cache=True``); loading takes a fraction.
    """
    global _PREPARED
    if _PREPARED:
        return
    tiny = JobShopInstance("warm-up", [[0, 1, 2], [1, 2, 0], [2, 0, 1]], [[3, 2, 2], [2, 3, 1], [3, 1, 2]])
    graph = ScheduleGraph.from_sequences(tiny, [[0, 1, 2], [0, 1, 2], [0, 1, 2]])
    for u, v in graph.n5_moves():
        graph.estimate(u, v)
    _Search(graph, 0).run(10)
    _PREPARED = True
