"""Steps per second of ``cpgym/JobShop-v0`` under random masked actions.

Run: ``python benchmarks/env_throughput.py [--steps N] [--repeats R]``. For each instance
(ta01 15x15, ta41 30x20, ta71 100x20), mode (active, non_delay) and observation (graph,
flat) it plays episodes with uniformly random legal actions for at least ``--steps`` steps
(resets included in the time; CPU time of this process, so that other load on the machine
does not distort the figures — the step is single-threaded), and prints the best of
``--repeats`` runs next to the
baselines measured on the same machine class: job-shop-lib's graph environment and
JSSEnv (no graph). The environment is used directly (``JobShopEnv(...)``), without the
checker/order-enforcing wrappers ``gym.make`` adds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cpgym.envs.jobshop import JobShopEnv
from cpgym.instances import load

INSTANCES = ("ta01", "ta41", "ta71")
# steps/s measured for the project brief (random masked actions); None: not measured
JOB_SHOP_LIB_GRAPH = {"ta01": 780, "ta41": None, "ta71": 73}
JSSENV_FLAT = {"ta01": 17_600, "ta41": 12_200, "ta71": None}


def steps_per_second(env: JobShopEnv, min_steps: int, seed: int = 0) -> float:
    """Play random masked episodes for at least ``min_steps`` steps; return steps/s."""
    rng = np.random.default_rng(seed)
    steps = 0
    started = time.process_time()
    while steps < min_steps:
        obs, _ = env.reset(seed=seed + steps)
        terminated = False
        while not terminated:
            legal = np.flatnonzero(obs["action_mask"])
            obs, _, terminated, _, _ = env.step(legal[rng.integers(len(legal))])
            steps += 1
    return steps / (time.process_time() - started)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="minimum steps per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per cell (best is shown)")
    parser.add_argument("--instances", nargs="*", default=list(INSTANCES))
    args = parser.parse_args()
    header = f"{'instance':<9}{'size':<8}{'mode':<11}{'obs':<7}{'steps/s':>10}{'baseline':>10}  baseline source"
    print(header)
    print("-" * len(header))
    for name in args.instances:
        instance = load(name)
        for mode in ("active", "non_delay"):
            for observation in ("graph", "flat"):
                env = JobShopEnv(instance, mode=mode, observation=observation)
                best = max(steps_per_second(env, args.steps) for _ in range(args.repeats))
                if observation == "graph":
                    baseline, source = JOB_SHOP_LIB_GRAPH.get(name), "job-shop-lib graph env"
                else:
                    baseline, source = JSSENV_FLAT.get(name), "JSSEnv"
                row = f"{name:<9}{instance.size:<8}{mode:<11}{observation:<7}"
                print(f"{row}{best:>10,.0f}{_fmt(baseline):>10}  {source}")


if __name__ == "__main__":
    main()
