"""Strict line and integer tokenising shared by the instance readers."""

from __future__ import annotations

import re

from cpgym.errors import InstanceFormatError
from cpgym.instances.jobshop import MAX_DURATION

_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)


def content_lines(text: str) -> list[tuple[int, str]]:
    """Non-blank lines with their 1-based numbers; ``#`` comment lines are dropped."""
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped and not stripped.startswith("#"):
            lines.append((number, stripped))
    return lines


def ints(source: str, number: int, line: str, count: int | None, what: str, limit: int = MAX_DURATION) -> list[int]:
    """The integers of a line: ASCII digits with an optional sign only (no ``1_0``, ``1.0``, ``١``),
    each at most ``limit`` in magnitude."""
    tokens = line.replace(",", " ").split()
    if count is not None and len(tokens) != count:
        raise InstanceFormatError(source, number, f"expected {count} numbers ({what}), found {len(tokens)}")
    for token in tokens:
        if not _INTEGER.fullmatch(token):
            raise InstanceFormatError(source, number, f"{token!r} is not an integer ({what})")
        if len(token.lstrip("+-")) > len(str(limit)) or abs(int(token)) > limit:
            raise InstanceFormatError(source, number, f"{token} exceeds the limit {limit:,} ({what})")
    return [int(token) for token in tokens]
