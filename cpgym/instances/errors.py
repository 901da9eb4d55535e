"""Errors raised when problem data is malformed."""

from __future__ import annotations


class InstanceFormatError(ValueError):
    """A problem file (or text) is malformed.

    The message names the source, the 1-based line and the problem, e.g.
    ``ta01.txt, line 3: expected 30 numbers (15 machine/duration pairs), found 29``.
    """

    def __init__(self, source: str, line: int | None, problem: str) -> None:
        self.source = source
        self.line = line
        self.problem = problem
        where = f"{source}, line {line}" if line is not None else source
        super().__init__(f"{where}: {problem}")
