"""Tests of the disjunctive-graph schedule: longest paths, critical path, N5 moves and their estimates."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cpgym.agents.rules import dispatch
from cpgym.errors import ArgumentError
from cpgym.heuristics import ScheduleGraph
from cpgym.instances import JobShopInstance, load, validate_schedule


def random_instance(rng: np.random.Generator, zero: bool = True) -> JobShopInstance:
    n_jobs, n_machines = rng.integers(1, 5), rng.integers(1, 5)
    low = 0 if zero else 1
    durations = rng.integers(low, 10, size=(n_jobs, n_machines))
    machines = rng.permuted(np.tile(np.arange(n_machines), (n_jobs, 1)), axis=1)
    return JobShopInstance("random", machines, durations)


def random_feasible_sequences(instance: JobShopInstance, rng: np.random.Generator) -> np.ndarray:
    """Sequences of a random dispatch: repeatedly append a random job's next operation to its machine."""
    sequences = [[] for _ in range(instance.n_machines)]
    next_op = np.zeros(instance.n_jobs, dtype=int)
    while (next_op < instance.n_machines).any():
        job = rng.choice(np.flatnonzero(next_op < instance.n_machines))
        sequences[instance.machines[job, next_op[job]]].append(job)
        next_op[job] += 1
    return np.array(sequences)


def arcs(instance: JobShopInstance, sequences: np.ndarray) -> list[tuple[int, int]]:
    """Every arc (job and machine) of the disjunctive graph of ``sequences``, as operation ids."""
    m = instance.n_machines
    step = {(j, instance.machines[j, k]): k for j in range(instance.n_jobs) for k in range(m)}
    job_arcs = [(j * m + k, j * m + k + 1) for j in range(instance.n_jobs) for k in range(m - 1)]
    machine_arcs = [
        (a * m + step[a, machine], b * m + step[b, machine])
        for machine, row in enumerate(sequences)
        for a, b in itertools.pairwise(row)
    ]
    return job_arcs + machine_arcs


def has_cycle(n_ops: int, graph_arcs: list[tuple[int, int]]) -> bool:
    """Depth-first search for a back arc."""
    successors = {op: [b for a, b in graph_arcs if a == op] for op in range(n_ops)}
    colour = [0] * n_ops  # 0 new, 1 on the stack, 2 done

    def visit(op: int) -> bool:
        colour[op] = 1
        for succ in successors[op]:
            if colour[succ] == 1 or (colour[succ] == 0 and visit(succ)):
                return True
        colour[op] = 2
        return False

    return any(colour[op] == 0 and visit(op) for op in range(n_ops))


def relaxed_heads_tails(instance: JobShopInstance, sequences: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Heads and tails by Bellman-Ford relaxation of every arc until nothing changes (no topological order)."""
    p = instance.durations.ravel()
    heads, tails = np.zeros(p.size, dtype=np.int64), np.zeros(p.size, dtype=np.int64)
    graph_arcs = arcs(instance, sequences)
    for _ in range(p.size + 1):
        changed = False
        for a, b in graph_arcs:
            if heads[a] + p[a] > heads[b]:
                heads[b], changed = heads[a] + p[a], True
            if tails[b] + p[b] > tails[a]:
                tails[a], changed = tails[b] + p[b], True
        if not changed:
            return heads, tails
    raise AssertionError("relaxation did not converge")


def all_sequences(instance: JobShopInstance):
    """Every combination of one job permutation per machine."""
    permutations = list(itertools.permutations(range(instance.n_jobs)))
    return (np.array(rows) for rows in itertools.product(permutations, repeat=instance.n_machines))


def check_critical(graph: ScheduleGraph) -> None:
    """The path is a chain of tight arcs from a head 0 to a tail 0 whose length is the makespan."""
    path = graph.critical_path()
    p = graph.durations
    assert graph.heads[path[0]] == 0 and graph.tails[path[-1]] == 0
    assert p[path].sum() == graph.makespan
    for a, b in itertools.pairwise(path):
        assert b in (graph.job_succ[a], graph.machine_succ[a])
        assert graph.heads[a] + p[a] == graph.heads[b]
    blocks = graph.critical_blocks()
    assert np.array_equal(np.concatenate(blocks), path)
    for block in blocks:
        assert len(set(graph.machine_of[block])) == 1
        assert all(graph.machine_succ[a] == b for a, b in itertools.pairwise(block))
    for left, right in itertools.pairwise(blocks):
        assert graph.machine_of[left[-1]] != graph.machine_of[right[0]]


def expected_n5(blocks: list[np.ndarray]) -> set[tuple[int, int]]:
    """N5 by its definition: first pair of every block but the first, last pair of every block but the last."""
    moves = set()
    for index, block in enumerate(blocks):
        if len(block) >= 2 and index > 0:
            moves.add((int(block[0]), int(block[1])))
        if len(block) >= 2 and index < len(blocks) - 1:
            moves.add((int(block[-2]), int(block[-1])))
    return moves


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_heads_tails_and_makespan_equal_a_brute_force_relaxation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    instance = random_instance(rng)
    sequences = random_feasible_sequences(instance, rng)
    graph = ScheduleGraph.from_sequences(instance, sequences)
    heads, tails = relaxed_heads_tails(instance, sequences)
    assert np.array_equal(graph.heads, heads) and np.array_equal(graph.tails, tails)
    assert graph.makespan == (heads + instance.durations.ravel()).max()
    assert np.array_equal(graph.sequences, sequences)
    report = validate_schedule(instance, graph.start_times(), claimed_makespan=graph.makespan)
    assert report.ok, report.violations
    check_critical(graph)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_cycles_are_detected_exactly(seed: int) -> None:
    rng = np.random.default_rng(seed)
    instance = random_instance(rng)
    sequences = np.array([rng.permutation(instance.n_jobs) for _ in range(instance.n_machines)])
    if has_cycle(instance.n_operations, arcs(instance, sequences)):
        with pytest.raises(ArgumentError, match="cycle"):
            ScheduleGraph.from_sequences(instance, sequences)
    else:
        heads, _ = relaxed_heads_tails(instance, sequences)
        assert ScheduleGraph.from_sequences(instance, sequences).makespan == (heads + instance.durations.ravel()).max()


def check_moves(graph: ScheduleGraph) -> None:
    """N5 is its definition; every N1 swap (N5 included) is feasible and its estimate is the longest path
    through the swapped pair afterwards: a lower bound of the new makespan, exact when not below the old."""
    assert {tuple(move) for move in graph.n5_moves().tolist()} == expected_n5(graph.critical_blocks())
    for u, v in graph.n1_moves().tolist():
        estimate = graph.estimate(u, v)
        after = graph.copy()
        makespan = after.swap(u, v)
        assert after.machine_succ[v] == u
        assert validate_schedule(graph.instance, after.start_times(), claimed_makespan=makespan).ok
        p = after.durations
        assert estimate == max(after.heads[w] + p[w] + after.tails[w] for w in (u, v))
        assert estimate <= makespan
        if estimate >= graph.makespan:
            assert estimate == makespan


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_every_critical_swap_is_feasible_and_its_estimate_is_the_longest_path_through_the_pair(seed: int) -> None:
    rng = np.random.default_rng(seed)
    instance = random_instance(rng)  # zero durations included: the tie rule keeps critical swaps acyclic
    check_moves(ScheduleGraph.from_sequences(instance, random_feasible_sequences(instance, rng)))


@pytest.mark.parametrize("name", ["ft06", "la01", "ta01"])
def test_critical_swaps_along_a_random_walk(name: str) -> None:
    instance = load(name)
    graph = ScheduleGraph.from_start_times(instance, dispatch(instance, "mwkr").start_times)
    rng = np.random.default_rng(0)
    for _ in range(30):
        check_critical(graph)
        check_moves(graph)
        moves = graph.n1_moves()
        graph.swap(*moves[rng.integers(len(moves))])


@pytest.mark.parametrize("seed", range(6))
def test_empty_n5_means_optimal_and_at_the_lower_bound_by_enumeration(seed: int) -> None:
    rng = np.random.default_rng(seed)
    instance = JobShopInstance(
        "three", rng.permuted(np.tile(np.arange(3), (3, 1)), axis=1), rng.integers(1, 10, size=(3, 3))
    )
    makespans, empty = [], []
    for sequences in all_sequences(instance):
        if has_cycle(instance.n_operations, arcs(instance, sequences)):
            continue
        graph = ScheduleGraph.from_sequences(instance, sequences)
        makespans.append(graph.makespan)
        if graph.n5_moves().size == 0:
            empty.append(graph.makespan)
    assert set(empty) <= {min(makespans)} and set(empty) <= {instance.trivial_lower_bound()}


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_from_start_times_keeps_the_machine_orders_and_never_lengthens(seed: int) -> None:
    rng = np.random.default_rng(seed)
    instance = random_instance(rng)
    start = dispatch(instance, "random", seed=int(rng.integers(1000)))
    graph = ScheduleGraph.from_start_times(instance, start.start_times)
    assert graph.makespan <= start.makespan
    semi_active = graph.start_times()
    assert validate_schedule(instance, semi_active, claimed_makespan=graph.makespan).ok
    assert (semi_active <= start.start_times).all()
    again = ScheduleGraph.from_start_times(instance, semi_active)
    assert np.array_equal(again.start_times(), semi_active)


def test_simultaneous_zero_duration_operations_are_ordered_without_a_cycle() -> None:
    # job 0: m0 then m1, job 1: m1 then m0; all four zero-length operations at time 0
    instance = JobShopInstance("zeros", [[0, 1], [1, 0]], [[0, 0], [0, 0]])
    graph = ScheduleGraph.from_start_times(instance, np.zeros((2, 2), dtype=int))
    assert graph.makespan == 0 and not graph.start_times().any()


def test_ties_follow_job_arcs_so_n5_never_swaps_into_a_cycle() -> None:
    # ops: job 0 = 0 (m2, 1), 1 (m0, 2), 2 (m1, 0); job 1 = 3 (m1, 0), 4 (m0, 3), 5 (m2, 1); job 0 first everywhere.
    # Op 4 starts at 3 after both its job predecessor 3 and its machine predecessor 1, but 1 ~> 2 -> 3 -> 4 is
    # a second path, so swapping the tied machine arc (1, 4) would close a cycle.
    instance = JobShopInstance("ties", [[2, 0, 1], [1, 0, 2]], [[1, 2, 0], [0, 3, 1]])
    graph = ScheduleGraph.from_sequences(instance, [[0, 1], [0, 1], [0, 1]])
    assert graph.heads.tolist() == [0, 1, 3, 3, 3, 6] and graph.makespan == 7
    assert graph.critical_path().tolist() == [0, 1, 2, 3, 4, 5]
    assert graph.n5_moves().tolist() == [[2, 3]]
    with pytest.raises(ArgumentError, match="cycle"):
        graph.swap(1, 4)
    assert graph.swap(2, 3) == 7


def test_n1_holds_every_machine_arc_of_the_critical_path() -> None:
    instance = load("ft06")
    graph = ScheduleGraph.from_start_times(instance, dispatch(instance, "mwkr").start_times)
    path = graph.critical_path()
    arcs_on_path = {(int(a), int(b)) for a, b in itertools.pairwise(path) if graph.machine_succ[a] == b}
    assert {tuple(move) for move in graph.n1_moves().tolist()} == arcs_on_path
    assert {tuple(move) for move in graph.n5_moves().tolist()} < arcs_on_path
    for u, v in graph.n1_moves().tolist():
        after = graph.copy()
        makespan = after.swap(u, v)
        assert validate_schedule(instance, after.start_times(), claimed_makespan=makespan).ok


def test_bad_sequences_and_start_times_raise_argument_error() -> None:
    instance = JobShopInstance("two", [[0, 1], [1, 0]], [[3, 2], [2, 4]])
    with pytest.raises(ArgumentError, match="shape"):
        ScheduleGraph.from_sequences(instance, [[0, 1]])
    with pytest.raises(ArgumentError, match="shape"):
        ScheduleGraph.from_sequences(instance, [[0.0, 1.0], [0.0, 1.0]])
    with pytest.raises(ArgumentError, match="machine 1"):
        ScheduleGraph.from_sequences(instance, [[0, 1], [1, 1]])
    with pytest.raises(ArgumentError, match="cycle"):  # job 1 first on m0, job 0 first on m1
        ScheduleGraph.from_sequences(instance, [[1, 0], [0, 1]])
    with pytest.raises(ArgumentError, match="not a valid schedule"):
        ScheduleGraph.from_start_times(instance, [[0, 0], [0, 0]])


def test_swap_checks_adjacency_and_undoes_a_cycle() -> None:
    instance = JobShopInstance("two", [[0, 1], [1, 0]], [[3, 2], [2, 4]])
    graph = ScheduleGraph.from_sequences(instance, [[0, 1], [0, 1]])  # ops: 0 (j0 m0), 1 (j0 m1), 2 (j1 m1), 3 (j1 m0)
    heads, makespan = graph.heads.copy(), graph.makespan
    assert makespan == 11  # 0-3 j0 m0, 3-5 j0 m1, 5-7 j1 m1, 7-11 j1 m0
    with pytest.raises(ArgumentError, match="does not directly follow"):
        graph.swap(3, 0)
    with pytest.raises(ArgumentError, match="does not directly follow"):
        graph.estimate(0, 99)
    with pytest.raises(ArgumentError, match="cycle"):
        graph.swap(0, 3)  # job 1 first on m0 while job 0 is first on m1
    assert graph.makespan == makespan and np.array_equal(graph.heads, heads)
    assert np.array_equal(graph.sequences, [[0, 1], [0, 1]])
    assert graph.swap(1, 2) == 7  # m1: job 1 then job 0: 0-3 j0 m0, 0-2 j1 m1, 3-5 j0 m1, 3-7 j1 m0
    assert graph.start_times().tolist() == [[0, 3], [0, 3]]
    assert np.array_equal(graph.sequences, [[0, 1], [1, 0]])
