"""``cpgym evaluate`` / ``python evaluate.py``: methods x datasets, validated, resumable, parallel.

Example::

    cpgym evaluate --datasets ta,dmu,la --methods spt,mwkr,mopnr,gnn,cpsat:60,gnn+cpsat:60 \\
        --workers 2 --out results/NAME

Outputs under ``--out``: ``results.csv`` (one row per instance x method, written as results
arrive), ``solutions/*.json`` (every validated schedule), ``summary.md`` (tables per dataset
and size group), ``gaps_*.png`` (gap charts), ``config.json`` (settings, every dataset and method,
instance fingerprints), ``.lock`` (held while a run writes the folder) and, with ``--gantt INSTANCE``,
Gantt charts. Rerunning with the same ``--out`` skips finished rows and retries failed ones (status
``error``); the exit code is 1 when a task of this run failed, 0 otherwise. From Python: ``cpgym.evaluate``.
"""

from __future__ import annotations

import argparse
import sys

from cpgym.evaluation.api import evaluate
from cpgym.evaluation.datasets import DEFAULT_DATASETS
from cpgym.evaluation.methods import default_methods

__all__ = ["build_parser", "default_methods", "main"]  # default_methods: re-exported for older imports


def build_parser() -> argparse.ArgumentParser:
    """The ``cpgym evaluate`` flags (the keyword arguments of :func:`cpgym.evaluate`)."""
    parser = argparse.ArgumentParser(
        prog="cpgym evaluate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--datasets", default=DEFAULT_DATASETS, help=f"comma-separated dataset specs (default {DEFAULT_DATASETS})"
    )
    parser.add_argument(
        "--methods", default=None, help="comma-separated method specs (default: rules, shipped gnn, cpsat:10)"
    )
    parser.add_argument("--workers", type=int, default=1, help="tasks run in parallel (default 1)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads per task (default: cores // workers)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/latest", help="output folder; reuse it to resume")
    parser.add_argument("--backend", choices=["local", "ray"], default="local")
    parser.add_argument("--address", default=None, help="Ray cluster address HOST:PORT (default: start a local Ray)")
    parser.add_argument(
        "--eval-time-limit", type=float, default=30.0, help="seconds for the exact robust evaluation of a decision"
    )
    parser.add_argument("--gantt", metavar="INSTANCE", help="draw Gantt charts of every method's schedule for INSTANCE")
    parser.add_argument("--no-plots", action="store_true", help="skip the gap charts")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary printout")
    return parser


def main(argv: list[str] | None = None) -> int:
    """``cpgym evaluate ARGV``; 0 when done, 1 when a task of this run failed. User mistakes raise
    :class:`cpgym.errors.CpgymError` for ``cpgym``'s dispatcher to report; with ``argv`` None (run as a
    script) this is ``cpgym evaluate SYS.ARGV``, reported by that dispatcher."""
    if argv is None:
        from cpgym.cli.main import main as cpgym_main

        return cpgym_main(["evaluate", *sys.argv[1:]])
    args = build_parser().parse_args(argv)
    result = evaluate(
        args.datasets, args.methods, args.out, workers=args.workers, threads=args.threads, seed=args.seed,
        backend=args.backend, address=args.address, eval_time_limit=args.eval_time_limit, gantt=args.gantt,
        plots=not args.no_plots, progress=not args.quiet,
    )
    if not args.quiet:
        print(result.markdown())
        print(f"results in {result.out}/ (results.csv, summary.md, solutions/)")
    if result.failed:
        print(f"{len(result.failed)} task(s) failed (status error, see the error column of {result.out}/results.csv); "
              "rerun with the same --out to retry them", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
