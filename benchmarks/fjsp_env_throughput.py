"""Steps per second of ``cpgym/FlexibleJobShop-v0`` against RL4CO's ``FJSPEnv``, random legal actions.

Run: ``python benchmarks/fjsp_env_throughput.py [--sizes 10x5 20x10] [--seconds 3]
[--rl4co /tmp/rl4co/bin/python] [--rl4co-batch 1 64 1024]``.

* **cpgym**: ``FlexibleJobShopEnv`` on SD1 instances of the size (``generate_sd1(n, m, seed=i)``, a new
  one per episode, made before the clock starts), graph and flat observations, both modes; one env
  stepped with a uniformly random legal (job, machine) action, resets included.
* **rl4co** (``--rl4co PYTHON``: the interpreter of a venv with ``rl4co`` installed, e.g.
  ``python -m venv /tmp/rl4co && /tmp/rl4co/bin/pip install rl4co``): RL4CO's ``FJSPEnv`` with its
  generator set to the SD1 protocol (operations per job 0.8m..1.2m, durations 1..20, 1..m eligible
  machines, ``same_mean_per_op``), batches of ``--rl4co-batch`` instances stepped with random legal
  actions, in a subprocess; instance-steps per second (its batch is its vectorisation, ours is a
  single env: the batched engine of the job shop has no FJSP counterpart yet).

Times are CPU seconds of the process (``time.process_time``; one torch thread), so other load on
the machine does not distort them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time

import numpy as np

from cpgym.envs.fjsp import FlexibleJobShopEnv
from cpgym.instances.fjsp_generators import generate_sd1

RL4CO_SCRIPT = """
import json, sys, time
import torch
torch.set_num_threads(1)
from rl4co.envs import FJSPEnv
jobs, machines = map(int, sys.argv[1].split("x"))
batch, seconds = int(sys.argv[2]), float(sys.argv[3])
params = {"num_jobs": jobs, "num_machines": machines, "min_ops_per_job": int(0.8 * machines),
          "max_ops_per_job": int(1.2 * machines), "min_processing_time": 1, "max_processing_time": 20,
          "min_eligible_ma_per_op": 1, "max_eligible_ma_per_op": machines}
env = FJSPEnv(generator_params=params)
td = env.reset(batch_size=[batch])
steps, started = 0, time.process_time()
while steps < 3 * batch or time.process_time() - started < seconds:
    if td["done"].all():
        td = env.reset(batch_size=[batch])
    mask = td["action_mask"].float()
    td.set("action", (mask + torch.rand(mask.shape)).argmax(-1))
    td = env.step(td)["next"]
    steps += batch
print(json.dumps({"rate": steps / (time.process_time() - started)}))
"""


def cpgym_rate(size: str, mode: str, observation: str, seconds: float) -> float:
    """Steps per CPU second of one env with random legal actions (resets included)."""
    jobs, machines = map(int, size.split("x"))
    instances = [generate_sd1(jobs, machines, seed=i) for i in range(64)]
    env = FlexibleJobShopEnv(instance=instances, mode=mode, observation=observation)
    rng = np.random.default_rng(0)
    steps, episode = 0, 0
    started = time.process_time()
    env.reset(seed=0, options={"instance": instances[0]})
    while time.process_time() - started < seconds or steps < 100:
        legal = np.flatnonzero(env.action_masks())
        _, _, terminated, _, _ = env.step(int(legal[rng.integers(len(legal))]))
        steps += 1
        if terminated:
            episode += 1
            env.reset(options={"instance": instances[episode % len(instances)]})
    return steps / (time.process_time() - started)


def rl4co_rate(python: str, size: str, batch: int, seconds: float) -> str:
    out = subprocess.run([python, "-c", RL4CO_SCRIPT, size, str(batch), str(seconds)], capture_output=True,
                         text=True, timeout=1800)
    lines = out.stdout.strip().splitlines()
    if out.returncode or not lines:
        return f"failed ({(out.stderr.strip().splitlines() or ['?'])[-1][:60]})"
    return f"{json.loads(lines[-1])['rate']:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["10x5", "20x10"])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rl4co", default="", help="python of a venv with rl4co (empty: skip)")
    parser.add_argument("--rl4co-batch", type=int, nargs="+", default=[1, 64, 1024])
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    print("| size | env | steps/s |")
    print("|---|---|---:|")
    for size in args.sizes:
        for mode in ("non_delay", "active"):
            for observation in ("graph", "flat"):
                rate = cpgym_rate(size, mode, observation, args.seconds)
                print(f"| {size} | cpgym FlexibleJobShop-v0 {mode}, {observation} | {rate:,.0f} |", flush=True)
        if args.rl4co:
            for batch in args.rl4co_batch:
                rate = rl4co_rate(args.rl4co, size, batch, args.seconds)
                print(f"| {size} | RL4CO FJSPEnv, batch {batch} | {rate} |", flush=True)


if __name__ == "__main__":
    main()
