"""What every ``cpgym`` command shares: user mistakes reported as ``error: ...`` (exit code 2), and
argument types."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable

from cpgym.errors import ArgumentError, CpgymError, MissingExtraError, check_seconds

Command = Callable[[argparse.Namespace], int]
# Top-level modules of the [rl] extra: code that imports them where they are missing gets the extra's message.
RL_MODULES = frozenset({"torch", "torch_geometric", "stable_baselines3", "sb3_contrib", "tensorboard"})


def debugging(args: argparse.Namespace) -> bool:
    """True with the global ``--debug`` flag or ``CPGYM_DEBUG=1``: user mistakes show their traceback."""
    return bool(getattr(args, "debug", False)) or os.environ.get("CPGYM_DEBUG", "") == "1"


def guarded(call: Callable[[], int], debug: bool, feature: str) -> int:
    """``call()``, or 2 after printing ``error: <message>`` for a user mistake (re-raised when ``debug``).

    A ``ModuleNotFoundError`` for a module of the ``[rl]`` extra becomes :class:`MissingExtraError`
    naming ``feature`` (e.g. ``cpgym train``) and the extra to install.
    """
    try:
        try:
            return call()
        except ModuleNotFoundError as error:
            module = (error.name or "").partition(".")[0]
            if module not in RL_MODULES:
                raise
            raise MissingExtraError("rl", module, feature) from error
    except CpgymError as error:
        if debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 2


def reported(name: str, command: Command) -> Command:
    """Subcommand ``name``'s ``func``: ``command`` reporting user mistakes as :func:`guarded` does (rc 2)."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        feature = f"cpgym {name}" + (f" --method {args.method}" if getattr(args, "method", None) else "")
        return guarded(lambda: command(args), debugging(args), feature)

    return run


def seconds(text: str) -> float:
    """An argparse type: a finite number of seconds > 0 (see :func:`cpgym.errors.check_seconds`)."""
    try:
        return check_seconds(text)
    except ArgumentError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
