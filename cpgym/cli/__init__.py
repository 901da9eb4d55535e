"""The ``cpgym`` command line: one argparse tree over the Python API (see :func:`cpgym.cli.main.main`)."""

from cpgym.cli.main import main

__all__ = ["main"]
