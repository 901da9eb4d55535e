"""The errors cpgym raises for user mistakes, and the one status vocabulary of its solvers.

Every user mistake (a malformed file, an unknown instance or method name, an illegal action, a
missing optional dependency, a bad argument) raises a :class:`CpgymError` subclass with a message
that says what is wrong and how to fix it. The command line prints such messages as
``error: <message>`` and exits with code 2 (``--debug`` shows the traceback); anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import Enum


class CpgymError(Exception):
    """Base class of the errors caused by user input (files, names, arguments, actions)."""


class InstanceFormatError(CpgymError, ValueError):
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


class UnknownNameError(CpgymError, KeyError, ValueError):
    """A name that is not among the known ones; the message lists the known names (or where to see them).

    It is a ``KeyError`` (a failed look-up) and a ``ValueError`` (a bad argument value) so that
    callers catching either keep working."""

    kind = "name"

    def __init__(self, name: str, known: Iterable[str] | str = (), hint: str = "") -> None:
        self.name = name
        self.known = [known] if isinstance(known, str) else list(known)
        message = f"unknown {self.kind} {name!r}"
        if self.known:
            message += f"; known: {', '.join(self.known)}"
        if hint:
            message += f" ({hint})"
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class UnknownInstanceError(UnknownNameError):
    """An instance name (or path) that is neither bundled nor a readable file."""

    kind = "instance"


class UnknownDatasetError(UnknownNameError):
    """A dataset spec or family that the evaluator does not know."""

    kind = "dataset"


class UnknownMethodError(UnknownNameError):
    """A method spec that no registered method matches."""

    kind = "method"


class UnknownProblemError(UnknownNameError):
    """A problem name that is not registered (see :mod:`cpgym.instances.problems`)."""

    kind = "problem"


class IllegalActionError(CpgymError, ValueError):
    """An environment step with an action that is not legal in the current state."""


class ArgumentError(CpgymError, ValueError):
    """A bad argument value (a negative time limit, an empty method list, ...)."""


class CheckpointError(CpgymError, ValueError):
    """A model file that is not a valid cpgym checkpoint, or whose configuration cannot be built."""


class MissingExtraError(CpgymError, ImportError):
    """An optional dependency is not installed; the message says which extra brings it."""

    def __init__(self, extra: str, module: str, feature: str) -> None:
        self.extra = extra
        super().__init__(
            f"{feature} needs {module!r}, which is not installed; install the extra: pip install 'cpgym[{extra}]'"
            f" (from a checkout: pip install -e \".[{extra}]\")"
        )


def require(module: str, extra: str, feature: str):
    """Import ``module``, or raise :class:`MissingExtraError` naming the extra that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        if error.name is not None and error.name.split(".")[0] != module.split(".")[0]:
            raise  # the module exists but one of *its* imports failed: a real bug, keep the traceback
        raise MissingExtraError(extra, module, feature) from error


class Status(str, Enum):
    """Status of a method's answer: the strings stored in results.csv and printed by ``--json``.

    Exact solvers report how their search ended (CP-SAT, the robust evaluator and CCG share
    ``optimal`` / ``feasible`` / ``infeasible`` / ``unknown``; the robust ones add ``time_limit``
    and ``decided``); heuristics report ``heuristic``; the evaluator adds ``INVALID`` (the validator
    rejected the solution) and ``error`` (the method raised). The values are those of earlier
    result files, so old and new files compare.
    """

    OPTIMAL = "optimal"  # proven optimal (CP-SAT), or bounds met within the stated tolerance (robust)
    FEASIBLE = "feasible"  # CP-SAT found a solution, not proven optimal
    INFEASIBLE = "infeasible"  # no solution exists (CP-SAT), or the decision breaks a first-stage constraint
    UNKNOWN = "unknown"  # nothing found within the limit
    MODEL_INVALID = "invalid"  # CP-SAT rejected the model
    TIME_LIMIT = "time_limit"  # robust evaluator / CCG: stopped by the time limit; both bounds valid
    DECIDED = "decided"  # robust evaluator: stopped once its bounds decided a comparison with a threshold
    HEURISTIC = "heuristic"  # a heuristic's answer: no optimality claim
    LITERATURE = "literature"  # a stored result from the literature
    INVALID = "INVALID"  # the independent validator rejected the solution
    ERROR = "error"  # the method raised

    def __str__(self) -> str:
        return self.value


class InvalidInstanceError(CpgymError, ValueError):
    """Instance data that breaks the problem's rules or the documented size limits."""


def check_seconds(value: float, name: str = "time limit") -> float:
    """``value`` as a float if it is a finite number of seconds > 0, else :class:`ArgumentError`.

    Every time limit in cpgym is hard and finite: ``inf`` would disable the stop timers, ``nan``,
    zero and negative values leave no time to run.
    """
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ArgumentError(f"{name} must be a number of seconds, got {value!r}") from None
    if not seconds > 0 or seconds == float("inf"):
        raise ArgumentError(f"{name} must be a finite number of seconds > 0, got {value!r}")
    return seconds


class ResetNeededError(IllegalActionError, RuntimeError):
    """An environment used before ``reset()`` or after its episode ended."""


class MissingFileError(CpgymError, FileNotFoundError):
    """A file the user named (a model, ...) that does not exist; the message says what is available."""


class TimeLimitReached(CpgymError):
    """A method's time limit ran out before it had a solution (the evaluator reports "no solution")."""


def check_temperature(value: float) -> float:
    """``value`` as a float if it is a finite number > 0 (a softmax temperature), else :class:`ArgumentError`."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
        raise ArgumentError(f"a sampling temperature must be a finite number > 0, got {value!r}")
    return float(value)


def check_temperatures(value: float | Sequence[float]) -> tuple[float, ...]:
    """A temperature or a non-empty sequence of them (:func:`check_temperature`) as a tuple of floats."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        return (check_temperature(value),)
    if not value:
        raise ArgumentError("a sequence of sampling temperatures must not be empty")
    return tuple(check_temperature(item) for item in value)
