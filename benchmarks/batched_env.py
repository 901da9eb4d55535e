"""Instance-steps per second of the batched job-shop engine against ``JobShopEnv`` stepped in a loop.

Run: ``python benchmarks/batched_env.py [--sizes 15x15 50x20] [--batch 1 64 1024 4096] [--mode non_delay]
[--seconds 3] [--threads 1] [--device cpu] [--rl4co /tmp/rl4co/bin/python]``.

For each size and batch size ``B`` it plays ``B`` uniform instances (``uniform(n, m, seed=i)``) with
uniformly random legal actions:

* **batched**: :class:`cpgym.envs.batched.BatchedJobShop` (graph node features maintained), whole
  episodes until ``--seconds`` have passed; ``batched`` counts the steps only, ``reset`` is the CPU
  time of one ``reset(instances)`` of the whole batch (one per episode). The action of each instance
  is ``argmax(mask + noise)``, the noise taken in turn from a pool of 64 uniform tensors drawn before
  the clock starts (the sampler is not the engine). ``engine memory``: bytes of its state tensors.
* **loop**: ``B`` ``JobShopEnv`` (graph observation, as built by ``JobShopEnv(instance, mode=...)``)
  created and reset before the clock starts, then stepped round-robin (resets of finished episodes
  included) for ``--seconds``.
* **rl4co** (optional, ``--rl4co PYTHON``: the interpreter of a venv with ``rl4co`` installed): RL4CO's
  ``JSSPEnv`` (its own generator, same size, random legal actions; timed from after its first reset),
  in a subprocess limited to ``--rl4co-memory`` GiB of address space ("out of memory" when it cannot
  allocate its state), with the subprocess's peak resident memory; ``--rl4co-max-batch`` skips larger
  batches.

Times are CPU seconds of this process (``time.process_time``), as in ``benchmarks/env_throughput.py``,
so that other load on the machine does not distort them; with ``--threads 1`` (default) CPU time is
wall time on an idle machine. The last line is the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import time

import numpy as np
import torch

from cpgym.envs.batched import BatchedJobShop
from cpgym.envs.jobshop import JobShopEnv
from cpgym.instances import JobShopInstance, uniform

NOISE_POOL = 64
RL4CO_SCRIPT = """
import json, resource, sys, time
import torch
size, batch, seconds, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
resource.setrlimit(resource.RLIMIT_AS, (int(limit * 2**30), int(limit * 2**30)))
torch.set_num_threads(int(sys.argv[5]))
from rl4co.envs import JSSPEnv
jobs, machines = map(int, size.split("x"))
try:
    env = JSSPEnv(generator_params={"num_jobs": jobs, "num_machines": machines})
    td = env.reset(batch_size=[batch])
    steps, started = 0, time.process_time()  # from the first reset on; at least 3 steps
    while steps < 3 * batch or time.process_time() - started < seconds:
        if td["done"].all():
            td = env.reset(batch_size=[batch])
        mask = td["action_mask"].float()  # column 0: no-op (legal only once done), 1 + j: job j
        td.set("action", (mask + torch.rand(mask.shape)).argmax(-1))
        td = env.step(td)["next"]
        steps += batch
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(json.dumps({"rate": steps / (time.process_time() - started), "peak": peak}))
except (MemoryError, RuntimeError) as error:
    print(json.dumps({"error": type(error).__name__ + ": " + str(error).splitlines()[0][:80]}))
"""


def instances_of(size: str, batch: int) -> list[JobShopInstance]:
    jobs, machines = map(int, size.split("x"))
    return [uniform(jobs, machines, seed=i) for i in range(batch)]


def batched_rate(instances: list[JobShopInstance], mode: str, device: str, seconds: float) -> tuple[float, float, int]:
    """Instance-steps per CPU second of whole batched episodes (steps only), CPU seconds per reset, state bytes."""
    engine = BatchedJobShop(mode, device=device)
    generator = torch.Generator(device=device).manual_seed(0)
    noise = [torch.rand((len(instances), max(i.n_jobs for i in instances)), generator=generator, device=device)
             for _ in range(NOISE_POOL)]
    stepping = resetting = 0.0
    episodes = 0
    while stepping + resetting < seconds or not episodes:
        started = time.process_time()
        engine.reset(instances)
        resetting += time.process_time() - started
        started = time.process_time()
        for step in range(instances[0].n_operations):
            engine.step((noise[step % NOISE_POOL] + engine.mask).argmax(dim=1))
        stepping += time.process_time() - started
        episodes += 1
    assert bool(engine.done.all())
    return episodes * instances[0].n_operations * len(instances) / stepping, resetting / episodes, engine.memory_bytes()


def loop_rate(instances: list[JobShopInstance], mode: str, seconds: float) -> float:
    """Instance-steps per CPU second of ``JobShopEnv`` s stepped one after the other."""
    envs = [JobShopEnv(instance, mode=mode) for instance in instances]
    masks = [env.reset(seed=i)[0]["action_mask"] for i, env in enumerate(envs)]
    rng = np.random.default_rng(0)
    steps, started = 0, time.process_time()
    while time.process_time() - started < seconds:
        for i, env in enumerate(envs):
            legal = np.flatnonzero(masks[i])
            obs, _, terminated, _, _ = env.step(int(legal[rng.integers(len(legal))]))
            masks[i] = env.reset()[0]["action_mask"] if terminated else obs["action_mask"]
        steps += len(envs)
    return steps / (time.process_time() - started)


def rl4co_rate(python: str, size: str, batch: int, seconds: float, memory_gib: float, threads: int) -> str:
    args = [python, "-c", RL4CO_SCRIPT, size, str(batch), str(seconds), str(memory_gib), str(threads)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=1800)
    lines = out.stdout.strip().splitlines()
    if out.returncode or not lines:
        return f"failed ({(out.stderr.strip().splitlines() or ['?'])[-1][:60]})"
    result = json.loads(lines[-1])
    if "rate" not in result:
        return f"out of memory (> {memory_gib:g} GiB)"
    return f"{result['rate']:,.0f} ({result['peak']:.1f} GiB peak)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", default=["15x15", "50x20"])
    parser.add_argument("--batch", nargs="*", type=int, default=[1, 64, 1024, 4096])
    parser.add_argument("--mode", choices=["non_delay", "active"], default="non_delay")
    parser.add_argument("--seconds", type=float, default=3.0, help="CPU seconds per measurement (at least)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rl4co", metavar="PYTHON", help="python of a venv with rl4co installed (optional)")
    parser.add_argument("--rl4co-memory", type=float, default=8.0, help="address-space limit of the RL4CO run, GiB")
    parser.add_argument("--rl4co-max-batch", type=int, default=4096, help="largest batch given to RL4CO")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"mode {args.mode}, device {args.device}, {args.threads} thread(s); instance-steps per CPU second")
    print("| size | B | batched | reset (ms) | JobShopEnv loop | speed-up | RL4CO JSSPEnv | engine memory (MiB) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for size in args.sizes:
        for batch in args.batch:
            instances = instances_of(size, batch)
            rate, reset, memory = batched_rate(instances, args.mode, args.device, args.seconds)
            loop = loop_rate(instances, args.mode, args.seconds)
            rl4co = "-"
            if args.rl4co and batch <= args.rl4co_max_batch:
                rl4co = rl4co_rate(args.rl4co, size, batch, args.seconds, args.rl4co_memory, args.threads)
            print(f"| {size} | {batch} | {rate:,.0f} | {reset * 1e3:,.1f} | {loop:,.0f} | {rate / loop:,.1f}x "
                  f"| {rl4co} | {memory / 2**20:,.1f} |", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    print(f"peak resident memory of this process: {peak:.2f} GiB")


if __name__ == "__main__":
    main()
