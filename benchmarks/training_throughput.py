"""Training throughput (policy steps per second, learning included): the trainers on the batched engine
against the SB3 MaskablePPO path, same network, same machine, same run; and one batched forward pass
of the dense engine policy against PyG batching of the same states.

Run: ``python benchmarks/training_throughput.py [--size 10x10] [--seconds 60] [--threads 2]
[--hidden-dim 32] [--n-layers 2] [--out runs/throughput]``.

* **training**: each algorithm trains from scratch in its own process (the library code,
  ``train_jssp`` or ``train_on_engine``) for ``--seconds``, then gets SIGINT (which checkpoints as usual).
  Policy steps per second = the ``num_timesteps`` saved in ``last.pt`` divided by the seconds from
  the first training iteration on (read from the TensorBoard event wall times: set-up, the
  validation references and the first model build are left out for all algorithms alike).
  Validation is off (one instance, ``val_every`` beyond the budget). ``ppo`` is MaskablePPO with
  ``n_envs`` dummy-vectorised ``JobShopEnv`` (SB3's rollout, GAE and ``n_epochs`` minibatch epochs);
  ``self-label`` samples ``samples`` solutions of ``instances`` instances per iteration and trains
  on the best; ``reinforce`` trains on every rollout with the shared baseline; ``+compile`` runs
  sample through ``torch.compile`` (``--compile``; its compilation falls in the first iteration,
  which is not counted).
* **forward**: the policy's logits for ``B`` states of ``B`` instances after a third of their steps
  (random legal actions), median of repeats: ``dense`` is :class:`~cpgym.agents.gnn.batched.BatchedGNN`
  on the engine (two-neighbour gathers); ``pyg_engine`` the same weights through PyG's ``GINConv`` on
  an edge list built from the same engine state (the alternative design); ``pyg_observations``
  ``JobShopGNNPolicy.get_distribution`` on the stacked ``JobShopEnv`` graph observations (the SB3 path,
  observations already built). All three give the same logits (checked).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch as th

ALGOS = {  # run name -> settings (the algorithm is the name up to "+")
    "ppo": {"n_envs": 8, "vec_env": "dummy", "n_steps": 256, "batch_size": 512, "n_epochs": 4},
    "self-label": {"instances": 8, "samples": 32, "n_epochs": 1, "ent_coef": 0.0},
    "reinforce": {"instances": 8, "samples": 16, "n_epochs": 1, "ent_coef": 0.0},
    "self-label+compile": {"instances": 8, "samples": 32, "n_epochs": 1, "ent_coef": 0.0, "compile": True},
    "reinforce+compile": {"instances": 8, "samples": 16, "n_epochs": 1, "ent_coef": 0.0, "compile": True},
}


def _train(algo: str, settings: dict[str, Any], threads: int) -> None:
    th.set_num_threads(threads)
    if algo == "ppo":
        from cpgym.agents.training.ppo import train_jssp as train
    else:
        from cpgym.agents.training.engine import train_on_engine as train
    train(settings)


def _logged_iterations(run: Path) -> list[tuple[float, int]]:
    """``(wall time, steps trained)`` of every iteration the run logged to TensorBoard (``time/fps``)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(run / "tb"))
    accumulator.Reload()
    if "time/fps" not in accumulator.Tags()["scalars"]:
        return []
    return [(event.wall_time, int(event.step)) for event in accumulator.Scalars("time/fps")]


def training_rate(name: str, base: dict[str, Any], seconds: float, threads: int, out: Path) -> dict[str, float]:
    """Train the run ``name`` of :data:`ALGOS` for ``seconds`` in a subprocess; steps/s between its first and
    last logged iterations."""
    run = out / name
    algo = name.partition("+")[0]
    settings = {**base, **ALGOS[name], "algo": algo, "out": str(run)}
    process = multiprocessing.get_context("spawn").Process(target=_train, args=(algo, settings, threads))
    process.start()
    time.sleep(seconds)
    os.kill(process.pid, signal.SIGINT)
    process.join()
    logged = _logged_iterations(run)
    rate = float("nan")
    if len(logged) >= 2 and logged[-1][0] > logged[0][0]:
        rate = (logged[-1][1] - logged[0][1]) / (logged[-1][0] - logged[0][0])
    return {"steps": logged[-1][1] if logged else 0, "iterations": len(logged), "steps_per_s": rate}


def pyg_edge_index(engine, rows: th.Tensor) -> th.Tensor:
    """The disjoint-union edge list (job and machine chains) of the engine's instances ``rows``, for PyG."""
    jobs, machines = engine.padding
    n, n_nodes = len(rows), jobs * machines
    offset = (th.arange(n) * n_nodes)[:, None]
    node = th.arange(n_nodes)
    real = ((node % machines)[None] + 1 < engine.n_machines[rows][:, None]) & \
        (node[None] < engine.n_jobs[rows][:, None] * machines)
    job_edges = th.stack([(offset + node)[real], (offset + node + 1)[real]])
    sources, targets = (t[rows].reshape(n, -1) for t in engine.edge_index())
    linked = targets >= 0
    machine_edges = th.stack([(offset + sources)[linked], (offset + targets)[linked]])
    return th.cat([job_edges, machine_edges], dim=1)


def forward_times(size: str, batch: int, steps: int, hidden_dim: int, n_layers: int, repeats: int = 5):
    """Seconds of one forward pass of the encoder and actor for ``batch`` engine states: dense
    (:class:`BatchedGNN`), PyG ``GINConv`` on the edge list built from the same engine state, and the
    SB3 policy on stacked ``JobShopEnv`` observations (PyG batching of padded observations)."""
    from cpgym.agents.gnn.batched import BatchedGNN
    from cpgym.agents.gnn.checkpoint import build_policy
    from cpgym.envs.batched import BatchedJobShop
    from cpgym.envs.jobshop import GRAPH_FEATURES, JobShopEnv
    from cpgym.instances import uniform

    n_jobs, n_machines = map(int, size.split("x"))
    instances = [uniform(n_jobs, n_machines, seed=i) for i in range(batch)]
    envs = [JobShopEnv(instance=instance, observation="graph") for instance in instances]
    observations = [env.reset(seed=0)[0] for env in envs]
    engine = BatchedJobShop()
    engine.reset(instances)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        actions = [int(rng.choice(np.flatnonzero(o["action_mask"]))) for o in observations]
        observations = [env.step(a)[0] for env, a in zip(envs, actions)]
        engine.step(th.tensor(actions))
    config = {"n_features": len(GRAPH_FEATURES), "hidden_dim": hidden_dim, "n_layers": n_layers, "aggr": "add",
              "net_arch": [64, 64], "activation": "tanh"}
    policy = build_policy(config, envs[0].observation_space, envs[0].action_space, "cpu")
    net = BatchedGNN(policy)
    rows = th.arange(batch)
    stacked = {key: th.as_tensor(np.stack([o[key] for o in observations])) for key in observations[0]}
    masks = np.stack([o["action_mask"] for o in observations])
    encoder = policy.features_extractor.encoder

    def pyg_on_engine() -> th.Tensor:
        h = encoder(engine.node_features[rows].reshape(-1, len(GRAPH_FEATURES)), pyg_edge_index(engine, rows))
        h = h.view(batch, n_jobs * n_machines, -1)
        candidates = h.gather(1, engine.candidate[rows][..., None].expand(-1, -1, h.shape[2]))
        pooled = h.mean(dim=1, keepdim=True).expand_as(candidates)
        return net.actor(th.cat([candidates, pooled], dim=2)).squeeze(2).masked_fill(~engine.mask[rows], -th.inf)

    def timed(call) -> float:
        values = []
        for _ in range(repeats):
            started = time.process_time()  # CPU time: other load on the machine does not count
            with th.no_grad():
                call()
            values.append((time.process_time() - started) / th.get_num_threads())
        return statistics.median(values)

    times = {"dense": timed(lambda: net.logits(engine, rows)), "pyg_engine": timed(pyg_on_engine),
             "pyg_observations": timed(lambda: policy.get_distribution(stacked, masks))}
    with th.no_grad():
        ours = th.log_softmax(net.logits(engine, rows), dim=1)
        reference = policy.get_distribution(stacked, masks).distribution.logits
        for other in (th.log_softmax(pyg_on_engine(), dim=1), reference):
            legal = th.as_tensor(masks).bool()
            assert th.allclose(ours[legal], other[legal], atol=1e-4), "the paths disagree"
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="10x10")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--hidden-dim", type=int, default=32)
    parser.add_argument("--n-layers", type=int, default=2)
    parser.add_argument("--algos", nargs="+", default=list(ALGOS), choices=list(ALGOS))
    parser.add_argument("--forward-batch", type=int, nargs="+", default=[16, 128, 512])
    parser.add_argument("--out", type=Path, default=Path("runs/throughput"))
    args = parser.parse_args()
    th.set_num_threads(args.threads)
    stamp = time.strftime("%Y%m%d_%H%M%S")
    out = args.out / stamp
    base = {"size": args.size, "device": "cpu", "hidden_dim": args.hidden_dim, "n_layers": args.n_layers,
            "head_layers": [64, 64], "timesteps": 10**9, "val_instances": 1, "val_time_limit": 0,
            "val_every": 10**9, "progress_bar": False, "seed": 0}
    rows = {}
    for algo in args.algos:
        rows[algo] = training_rate(algo, base, args.seconds, args.threads, out)
        print(f"{algo:>11}: {rows[algo]['steps_per_s']:9.0f} policy steps/s ({rows[algo]['steps']} steps, "
              f"{rows[algo]['iterations']} logged iterations)", flush=True)
    if "ppo" in rows:
        for algo in rows:
            print(f"{algo:>11}: {rows[algo]['steps_per_s'] / rows['ppo']['steps_per_s']:6.1f}x MaskablePPO")
    n_jobs, n_machines = map(int, args.size.split("x"))
    forward = {}
    for batch in args.forward_batch:
        forward[batch] = forward_times(args.size, batch, n_jobs * n_machines // 3, args.hidden_dim, args.n_layers)
        print(f"forward B={batch:4d}: " + ", ".join(f"{name} {1000 * value:8.2f} ms"
                                                    for name, value in forward[batch].items()))
    (out / "throughput.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                     "training": rows, "forward": forward}, indent=2))


if __name__ == "__main__":
    main()
