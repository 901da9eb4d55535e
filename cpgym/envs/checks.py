"""Argument checks shared by the cpgym environments: one behaviour for actions, options and illegal moves."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from cpgym.errors import ArgumentError, IllegalActionError

INVALID_ACTIONS = ("raise", "mask", "penalty")  # what an illegal (in-space) action does
RESET_OPTIONS = ("instance",)


def integer_action(action: Any, n: int, meaning: str) -> int:
    """``action`` as an int in ``0..n-1``: an int, numpy integer or one-element integer array.

    Floats, strings, bools and None are refused, not coerced (``meaning`` names what an action is,
    e.g. ``"a job index"``).
    """
    value = action.reshape(())[()] if isinstance(action, np.ndarray) and action.size == 1 else action
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise IllegalActionError(f"an action must be {meaning} (int, numpy integer or one-element integer array), "
                                 f"got {action!r} ({type(action).__name__})")
    if not 0 <= value < n:
        raise IllegalActionError(f"action {value} is outside the action space Discrete({n}) ({meaning})")
    return int(value)


def instance_option(options: Any, accepted: str) -> Any:
    """The ``"instance"`` reset option (None when absent); non-dicts and unknown keys raise ``ArgumentError``."""
    if options is None:
        return None
    if not isinstance(options, Mapping):
        raise ArgumentError(f"reset options must be a dict (known keys: {', '.join(RESET_OPTIONS)}), "
                            f"got {type(options).__name__}")
    unknown = [key for key in options if key not in RESET_OPTIONS]
    if unknown:
        raise ArgumentError(f"unknown reset option(s) {', '.join(map(repr, unknown))}; known: "
                            f"{', '.join(RESET_OPTIONS)} ({accepted})")
    return options.get("instance")


def check_choices(*choices: tuple[str, Any, Sequence[Any]]) -> None:
    """``ArgumentError`` for the first ``(name, value, allowed)`` whose value is not allowed."""
    for name, value, allowed in choices:
        if value not in allowed:
            raise ArgumentError(f"{name} must be one of {tuple(allowed)}, got {value!r}")


def instance_source(instance: Any, generator: Any, default_generator: Callable[[], Any],
                    resolve: Callable[[Any], Any]) -> tuple[list[Any], Any]:
    """``(instances, generator)`` of an env: the resolved ``instance`` (one or a list) and no generator,
    or no instances and ``generator`` (``default_generator()`` when both are None)."""
    if instance is not None and generator is not None:
        raise ArgumentError("give either instance(s) or a generator, not both")
    if instance is None:
        return [], generator or default_generator()
    specs = list(instance) if isinstance(instance, (list, tuple)) else [instance]
    if not specs:
        raise ArgumentError("the instance list is empty")
    return [resolve(spec) for spec in specs], None
