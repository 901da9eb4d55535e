"""``python -m cpgym ...`` is the ``cpgym`` command."""

from cpgym.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
