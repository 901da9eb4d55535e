"""Standalone training entry point: ``python train.py --size 10x10 --timesteps 2e6 --out runs/NAME``.

The ``__main__`` guard matters: SubprocVecEnv workers (forkserver/spawn) re-import this module.
"""

from cpgym.cli.train import main

if __name__ == "__main__":
    raise SystemExit(main())
