"""The one parallel map of cpgym: in-process, a local process pool, or Ray.

Used by the evaluator (one task per instance x method) and by CP-guided training (one CP-SAT
completion per episode). ``backend="local"`` with one worker runs in the calling process (no
pickling, easy debugging); more workers use a :class:`~concurrent.futures.ProcessPoolExecutor`;
``backend="ray"`` sends each call to Ray as a task reserving ``cpus_per_task`` CPUs, on a local
Ray (``workers * cpus_per_task`` CPUs) or the cluster at ``address``.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, TypeVar

from cpgym.errors import ArgumentError

BACKENDS = ("local", "ray")
T = TypeVar("T")


def _ignore_sigint() -> None:
    """Pool workers leave Ctrl-C to the parent, which saves its work and shuts the pool down."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class WorkerPool:
    """``workers`` calls at once, each with ``cpus_per_task`` CPUs; a context manager."""

    def __init__(self, workers: int = 1, backend: str = "local", address: str | None = None,
                 cpus_per_task: int = 1) -> None:
        if backend not in BACKENDS:
            raise ArgumentError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
        if workers < 1 or cpus_per_task < 1:
            raise ArgumentError(f"need at least one worker and one CPU per task, got {workers} and {cpus_per_task}")
        self.workers, self.backend, self.cpus_per_task = workers, backend, cpus_per_task
        self._pool: ProcessPoolExecutor | None = None
        if backend == "ray":
            import ray

            if not ray.is_initialized():
                ray.init(address=address or None, num_cpus=None if address else workers * cpus_per_task,
                         log_to_driver=False)
        elif workers > 1:
            self._pool = ProcessPoolExecutor(workers, initializer=_ignore_sigint)

    def imap_unordered(self, function: Callable[[Any], T], items: Iterable[Any]) -> Iterator[T]:
        """``function(item)`` for every item, yielded as each finishes."""
        items = list(items)
        if self.backend == "ray":
            import ray

            remote = ray.remote(function).options(num_cpus=self.cpus_per_task)
            pending = [remote.remote(item) for item in items]
            while pending:
                finished, pending = ray.wait(pending, num_returns=1)
                yield from ray.get(finished)
        elif self._pool is None:
            yield from map(function, items)
        else:
            pending = {self._pool.submit(function, item) for item in items}
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield future.result()

    def map(self, function: Callable[[Any], T], items: Iterable[Any]) -> list[T]:
        """``[function(item) for item in items]``, in order."""
        items = list(items)
        if self.backend == "ray":
            import ray

            remote = ray.remote(function).options(num_cpus=self.cpus_per_task)
            return ray.get([remote.remote(item) for item in items])
        if self._pool is None:
            return [function(item) for item in items]
        return list(self._pool.map(function, items))

    def close(self) -> None:
        """Stop the worker processes (pending calls are cancelled)."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
