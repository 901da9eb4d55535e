"""The one-machine problem 1|r_j, q_j|Cmax: Carlier's branch and bound against brute force, Schrage's rule."""

import itertools

import numpy as np
import pytest

from cpgym.errors import ArgumentError
from cpgym.heuristics.one_machine import carlier, schrage

# Carlier's (1982) example: Schrage's rule gives 53, the optimum is 50.
RELEASE = np.array([10, 13, 11, 20, 30, 0, 30])
DURATION = np.array([5, 6, 7, 4, 3, 6, 2])
TAIL = np.array([7, 26, 24, 21, 8, 17, 0])


def value(sequence, release, duration, tail) -> int:
    """Independent evaluation: every operation as early as possible in the given order."""
    now, worst = 0, 0
    for op in sequence:
        now = max(now, release[op]) + duration[op]
        worst = max(worst, now + tail[op])
    return worst


def respects(sequence, precedence) -> bool:
    position = {op: index for index, op in enumerate(sequence)}
    return all(position[a] < position[b] for a, b in zip(*np.nonzero(precedence)))


def brute_force(release, duration, tail, precedence=None) -> int:
    return min(
        value(sequence, release, duration, tail)
        for sequence in itertools.permutations(range(len(release)))
        if precedence is None or respects(sequence, precedence)
    )


def random_problem(rng, n):
    """Heads and tails of the scale of the total work, zero durations included."""
    duration = rng.integers(0, 10, n)
    horizon = int(duration.sum()) + 1
    return rng.integers(0, horizon, n), duration, rng.integers(0, horizon, n)


def test_carlier_example():
    assert brute_force(RELEASE, DURATION, TAIL) == 50
    heuristic = schrage(RELEASE, DURATION, TAIL)
    assert heuristic.makespan == value(heuristic.sequence, RELEASE, DURATION, TAIL) == 53
    exact = carlier(RELEASE, DURATION, TAIL)
    assert exact.optimal and exact.makespan == value(exact.sequence, RELEASE, DURATION, TAIL) == 50


def test_node_limit_returns_best_found():
    result = carlier(RELEASE, DURATION, TAIL, node_limit=1)
    assert not result.optimal and result.nodes == 1
    assert result.makespan == value(result.sequence, RELEASE, DURATION, TAIL) == 53


@pytest.mark.parametrize("seed", range(4))
def test_carlier_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    for _ in range(60):
        release, duration, tail = random_problem(rng, int(rng.integers(1, 8)))
        result = carlier(release, duration, tail)
        assert result.optimal
        assert sorted(result.sequence) == list(range(len(release)))
        expected = brute_force(release, duration, tail)
        assert result.makespan == value(result.sequence, release, duration, tail) == expected
        assert schrage(release, duration, tail).makespan >= result.makespan


@pytest.mark.parametrize("seed", range(4))
def test_carlier_with_precedences_matches_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    for _ in range(60):
        n = int(rng.integers(2, 8))
        release, duration, tail = random_problem(rng, n)
        order = rng.permutation(n)
        precedence = np.zeros((n, n), dtype=bool)
        for a, b in itertools.combinations(range(n), 2):
            precedence[order[a], order[b]] = rng.random() < 0.25
        result = carlier(release, duration, tail, precedence)
        assert result.optimal and respects(result.sequence, precedence)
        expected = brute_force(release, duration, tail, precedence)
        assert result.makespan == value(result.sequence, release, duration, tail) == expected


@pytest.mark.parametrize(
    ("release", "duration", "tail", "precedence"),
    [
        ([0, 1], [1], [0, 0], None),  # unequal lengths
        ([], [], [], None),  # empty
        ([0, -1], [1, 1], [0, 0], None),  # negative head
        ([0.5, 1], [1, 1], [0, 0], None),  # not integers
        ([0, 1], [1, 1], [0, 0], np.ones((3, 3), dtype=bool)),  # wrong shape
        ([0, 1], [1, 1], [0, 0], np.array([[0, 1], [0, 0]])),  # not boolean
        ([0, 1], [1, 1], [0, 0], np.array([[False, True], [True, False]])),  # a cycle
    ],
)
def test_bad_data_raises(release, duration, tail, precedence):
    with pytest.raises(ArgumentError):
        carlier(np.array(release), np.array(duration), np.array(tail), precedence)


@pytest.mark.parametrize("node_limit", [0, -3, 2.5, True])
def test_bad_node_limit_raises(node_limit):
    with pytest.raises(ArgumentError):
        carlier(RELEASE, DURATION, TAIL, node_limit=node_limit)
