"""Decoding a scheduling instance in both time directions (the job shop and the flexible job shop).

The time reversal of an instance runs every job's operations in reverse order; a schedule of it, read
backwards in time, is a schedule of the instance with the same makespan, so both views have the same
optimum. A dispatching policy builds different schedules on them: :func:`best_of_both_directions`
gives half of a rollout budget to each view and keeps the better schedule.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from cpgym.errors import ArgumentError, TimeLimitReached

Solution = TypeVar("Solution")
Decoder = Callable[[Any, int, "float | None", "float | None"], Solution]  # (instance, samples, time_limit, stop_after)


def best_of_both_directions(decode: Decoder, instance: Any, samples: int, time_limit: float | None,
                            stop_after: float | None, read_backwards: Callable[[Solution], Solution]) -> Solution:
    """The better of ``decode(instance, ceil(samples / 2), time_limit / 2, stop_after)`` and of
    ``decode(instance.time_reversed(), samples // 2, the rest of the time)`` read backwards by
    ``read_backwards``. Past ``stop_after`` seconds (from the start) the reversed view is skipped or its
    unfinished decoding dropped; the forward one raises as ``decode`` does."""
    if samples < 2 and time_limit is None:
        raise ArgumentError(f"sampling in both directions needs samples >= 2 or a time limit, got samples={samples}")
    started = time.perf_counter()
    forward = decode(instance, -(-samples // 2), None if time_limit is None else time_limit / 2, stop_after)

    def left(limit: float | None) -> float | None:
        return None if limit is None else max(0.0, limit - (time.perf_counter() - started))

    hard = left(stop_after)
    if hard == 0:
        return forward
    try:
        mirror = decode(instance.time_reversed(), samples // 2, left(time_limit), hard)
    except TimeLimitReached:
        return forward
    backward = read_backwards(mirror)
    return backward if backward.makespan < forward.makespan else forward
