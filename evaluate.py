"""Shim: ``python evaluate.py ...`` is ``cpgym evaluate ...``."""

from cpgym.cli.evaluate import main

if __name__ == "__main__":
    raise SystemExit(main())
