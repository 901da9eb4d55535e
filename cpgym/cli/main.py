"""The ``cpgym`` console script: ``solve``, ``instances``, ``train``, ``evaluate``, ``evaluate-x``.

User mistakes (a :class:`cpgym.errors.CpgymError`, or a missing ``[rl]`` extra) print
``error: <message>`` on stderr and exit with code 2; ``cpgym --debug COMMAND ...`` (or
``CPGYM_DEBUG=1``) shows their traceback instead. Other exceptions are bugs and keep theirs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from cpgym import __version__
from cpgym.cli.common import debugging, guarded, reported, seconds
from cpgym.envs.fjsp_state import FJSP_MODES

# Subcommands whose parser and logic (and heavy imports such as torch) live in their own module's main(argv).
DELEGATED = {"train": "cpgym.cli.train", "evaluate": "cpgym.cli.evaluate"}


def _add_solve(commands: argparse._SubParsersAction) -> None:
    from cpgym.cli import solve

    parser = commands.add_parser(
        "solve", help="solve one instance (job shop, robust knapsack or capital budgeting) with any method",
        description=solve.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("target", metavar="INSTANCE_OR_FILE", help="a bundled name (ta01, RKP_..., CB_...) or a file")
    parser.add_argument("--index", type=int, default=None, metavar="N",
                        help="which instance of a file holding several (0-based; default the first)")
    parser.add_argument("--method", default=None,
                        help="any `cpgym evaluate` method for the instance's problem: cpsat (default for job shop), "
                             "a rule (mwkr, spt, ...), gnn, gnn-sample64, gnn-sample@10, mwkr+cpsat, gnn+cpsat; "
                             "ccg (default for rkp/cb), neur2ro, kadapt:K")
    parser.add_argument("--mode", default=None, choices=FJSP_MODES,
                        help="dispatching mode of rules (default non_delay; earliest_end: flexible job shop, "
                             "non_delay on a job shop)")
    parser.add_argument("--time-limit", type=seconds, default=10.0,
                        help="seconds for methods that take a time limit: cpsat, H+cpsat, ccg, neur2ro (default 10)")
    parser.add_argument("--eval-time-limit", type=seconds, default=30.0,
                        help="seconds for the exact re-evaluation of a robust decision (default 30)")
    parser.add_argument("--workers", type=int, default=None, help="CPU threads of the method (default: all cores)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object, with the solution")
    parser.add_argument("--gantt", metavar="FILE", help="write a Gantt chart of a job-shop schedule (.png/.svg/.pdf)")
    parser.set_defaults(func=reported("solve", solve.run))


def _add_instances(commands: argparse._SubParsersAction) -> None:
    from cpgym.cli import instances

    parser = commands.add_parser("instances", help="list, show or export instances (bundled names or files)")
    parser.add_argument("action", choices=["list", "show", "export"])
    parser.add_argument("name", nargs="?", help="show/export: a bundled name or a file")
    parser.add_argument("file", nargs="?", help="export: the file to write")
    parser.add_argument("--index", type=int, default=None, metavar="N",
                        help="show/export: which instance of a file holding several (0-based)")
    parser.add_argument("--family", help="list a family: ta, dmu, la, ... (job shop), mk, edata, ... (flexible "
                        "job shop), rkp or cb (robust)")
    parser.add_argument("--size", help="filter the list by size: 20x15 (job shop, flexible job shop) or the "
                        "number of items n (rkp, cb)")
    parser.add_argument("--layout", choices=["orlib", "taillard"], default=None,
                        help="job-shop show/export layout (default orlib)")
    parser.set_defaults(func=reported("instances", instances.run))


def build_parser() -> argparse.ArgumentParser:
    """The whole ``cpgym`` parser tree (``train`` and ``evaluate`` parse their own arguments)."""
    from cpgym.cli import robust

    parser = argparse.ArgumentParser(prog="cpgym", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"cpgym {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of errors (also CPGYM_DEBUG=1)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_solve(commands)
    _add_instances(commands)
    for name, module in DELEGATED.items():
        commands.add_parser(name, help=f"see `cpgym {name} --help` ({module})", add_help=False)
    robust.add_evaluate_x_parser(commands)
    return parser


def _dispatch(argv: list[str]) -> int:
    parser = build_parser()
    position = next((i for i, arg in enumerate(argv) if not arg.startswith("-")), len(argv))
    if position < len(argv) and argv[position] in DELEGATED:  # global flags, the command, then its own arguments
        args = parser.parse_args(argv[: position + 1])
        module = DELEGATED[args.command]
        return guarded(lambda: importlib.import_module(module).main(argv[position + 1:]), debugging(args),
                       f"cpgym {args.command}")
    args = parser.parse_args(argv)
    return args.func(args)


def main(argv: list[str] | None = None) -> int:
    """Run ``cpgym ARGV`` and return its exit code (2 for user mistakes and bad arguments)."""
    try:
        return _dispatch(list(sys.argv[1:] if argv is None else argv))
    except BrokenPipeError:  # the output went into a command that stopped reading it (`cpgym ... | head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
