"""Training of the Neur2RO value network: ``train.py neur2ro --problem knapsack|capital_budgeting``.

Pipeline: generate (or resume) the dataset folder (:mod:`cpgym.agents.neur2ro.data`), fit the
min-max scaling on the training split, train with Adam on the MSE of the scaled label, keep the
weights with the best validation loss. Instances are split 90/10 into training/validation.
Progress goes to a tqdm bar and, with ``--logdir``, to TensorBoard (``loss/train``,
``loss/val``, ``mae/val`` in label units); ``--checkpoint`` holds model + optimizer + epoch
after every epoch and is resumed from when present.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch as th
from tqdm import tqdm

from cpgym.agents.neur2ro.data import DataConfig, Dataset, generate_dataset, load_dataset
from cpgym.agents.neur2ro.net import NetConfig, Scaling, ValueNet, save_value_net
from cpgym.agents.neur2ro.problems import PROBLEMS, get_problem
from cpgym.errors import CheckpointError


def fit_scaling(ds: Dataset, index: np.ndarray, sample: int = 4096, seed: int = 0) -> Scaling:
    """Min-max statistics of the item features (over real, unpadded items) and labels of ``index``."""
    rng = np.random.default_rng(seed)
    pick = rng.choice(index, size=min(sample, len(index)), replace=False)
    fx, fxi = ds.features(pick)
    mask = ds.mask(pick).astype(bool)
    fx, fxi = fx[mask], fxi[mask]
    q = ds.q[index]
    return Scaling(fx.min(0).tolist(), fx.max(0).tolist(), fxi.min(0).tolist(), fxi.max(0).tolist(),
                   float(q.min()), float(q.max()))


def _batch(ds: Dataset, index: np.ndarray, scaling: Scaling, device) -> tuple[th.Tensor, ...]:
    fx, fxi = ds.features(index)
    tensors = (scaling.scale_x(fx), scaling.scale_xi(fxi), ds.mask(index), scaling.scale_q(ds.q[index]))
    return tuple(th.as_tensor(np.asarray(t, dtype=np.float32), device=device) for t in tensors)


def split_by_instance(ds: Dataset, val_fraction: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sample indices of a random instance-level split (at least one validation instance)."""
    rng = np.random.default_rng(seed)
    n_inst = len(ds.n_items)
    val_inst = rng.choice(n_inst, size=max(1, int(round(val_fraction * n_inst))), replace=False)
    is_val = np.isin(ds.inst, val_inst)
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


@th.no_grad()
def evaluate_net(net: ValueNet, ds: Dataset, index: np.ndarray, batch_size: int = 1024) -> tuple[float, float]:
    """``(MSE in scaled units, MAE in label units)`` of ``net`` on samples ``index``."""
    net.eval()
    device = next(net.parameters()).device
    scaling = net.config.scaling
    sq, ab = 0.0, 0.0
    for start in range(0, len(index), batch_size):
        fx, fxi, mask, q = _batch(ds, index[start:start + batch_size], scaling, device)
        err = net(fx, fxi, mask) - q
        sq += float((err**2).sum())
        ab += float(err.abs().sum()) * (scaling.q_hi - scaling.q_lo)
    return sq / len(index), ab / len(index)


def train_value_net(
    ds: Dataset,
    phi_hidden: tuple[int, ...] = (32,),
    embed_dim: int = 16,
    rho_hidden: tuple[int, ...] = (32,),
    head_hidden: tuple[int, ...] = (32,),
    epochs: int = 40,
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int = 0,
    device: str = "auto",
    logdir: str | Path | None = None,
    checkpoint: str | Path | None = None,
    progress: bool = True,
) -> tuple[ValueNet, dict]:
    """Train a value network on ``ds``; returns the best-validation network and a summary dict."""
    th.manual_seed(seed)
    if device == "auto":
        device = "cuda" if th.cuda.is_available() else "cpu"
    device = th.device(device)
    train_idx, val_idx = split_by_instance(ds, seed=seed)
    problem = get_problem(ds.problem)
    config = NetConfig(ds.problem, problem.n_x_features, problem.n_xi_features, list(phi_hidden), embed_dim,
                       list(rho_hidden), list(head_hidden), fit_scaling(ds, train_idx, seed=seed))
    net = ValueNet(config).to(device)
    optimizer = th.optim.Adam(net.parameters(), lr=lr)
    scheduler = th.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs))
    first_epoch, best = 0, {"val_mse": float("inf")}
    best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    if checkpoint is not None and Path(checkpoint).is_file():
        state = th.load(checkpoint, map_location=device, weights_only=True)
        if json.loads(state["config"]) != json.loads(config.to_json()):
            raise CheckpointError(f"{checkpoint}: checkpoint of another configuration or dataset; remove it to restart")
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        best_state, best, first_epoch = state["best_model"], json.loads(state["best"]), int(state["epoch"])
    writer = None
    if logdir is not None:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(logdir))
    rng = np.random.default_rng(seed + first_epoch)
    bar = tqdm(range(first_epoch, epochs), desc=f"neur2ro train {ds.problem}", unit="epoch", disable=not progress)
    for epoch in bar:
        net.train()
        order = rng.permutation(train_idx)
        total = 0.0
        for start in range(0, len(order), batch_size):
            fx, fxi, mask, q = _batch(ds, order[start:start + batch_size], config.scaling, device)
            loss = th.nn.functional.mse_loss(net(fx, fxi, mask), q)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(q)
        scheduler.step()
        val_mse, val_mae = evaluate_net(net, ds, val_idx)
        train_mse = total / len(order)
        if val_mse < best["val_mse"]:
            best = {"epoch": epoch + 1, "val_mse": val_mse, "val_mae": val_mae, "train_mse": train_mse}
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        bar.set_postfix(train=f"{train_mse:.2e}", val=f"{val_mse:.2e}", mae=f"{val_mae:.1f}")
        if writer is not None:
            writer.add_scalar("loss/train", train_mse, epoch + 1)
            writer.add_scalar("loss/val", val_mse, epoch + 1)
            writer.add_scalar("mae/val", val_mae, epoch + 1)
        if checkpoint is not None:
            Path(checkpoint).parent.mkdir(parents=True, exist_ok=True)
            th.save({"config": config.to_json(), "model": net.state_dict(), "optimizer": optimizer.state_dict(),
                     "scheduler": scheduler.state_dict(), "best_model": best_state, "best": json.dumps(best),
                     "epoch": epoch + 1}, checkpoint)
    if writer is not None:
        writer.close()
    net.load_state_dict(best_state)
    summary = {**best, "n_train": len(train_idx), "n_val": len(val_idx), "epochs": epochs}
    return net.cpu().eval(), summary


def add_neur2ro_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Options of ``train.py neur2ro``."""
    parser.add_argument("--problem", required=True, choices=sorted(PROBLEMS))
    data = parser.add_argument_group("data (defaults fit 2 cores in a few minutes)")
    data.add_argument("--data-dir", type=Path, default=None, help="default runs/neur2ro/data_<problem>")
    data.add_argument("--instances", type=int, default=None, help="default 200 (knapsack) / 150 (capital budgeting)")
    data.add_argument("--decisions", type=int, default=10)
    data.add_argument("--scenarios", type=int, default=None, help="default 25 (knapsack) / 20 (capital budgeting)")
    data.add_argument("--vertex-fraction", type=float, default=0.3, help="knapsack: share of vertex scenarios")
    data.add_argument("--literature", action="store_true", help="500 instances x 10 decisions x 50 scenarios, "
                      "literature scenario sampling (vertex fraction 0)")
    data.add_argument("--workers", type=int, default=2)
    net = parser.add_argument_group("network and training")
    net.add_argument("--phi-hidden", type=int, nargs="*", default=[32])
    net.add_argument("--embed-dim", type=int, default=16)
    net.add_argument("--rho-hidden", type=int, nargs="*", default=[32])
    net.add_argument("--head-hidden", type=int, nargs="*", default=[32])
    net.add_argument("--epochs", type=int, default=40)
    net.add_argument("--batch-size", type=int, default=256)
    net.add_argument("--lr", type=float, default=1e-3)
    net.add_argument("--seed", type=int, default=0)
    net.add_argument("--device", default="auto", help="auto (GPU when available), cpu, cuda")
    out = parser.add_argument_group("output")
    out.add_argument("--out", type=Path, default=None, help="model .pt (+ .json); default runs/neur2ro/<problem>.pt")
    out.add_argument("--logdir", type=Path, default=None, help="TensorBoard folder")
    out.add_argument("--checkpoint", type=Path, default=None, help="resumable training checkpoint file")
    out.add_argument("--no-progress", action="store_true")
    return parser


def add_neur2ro_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``neur2ro`` sub-command on an ``argparse`` subparsers object; sets ``func``."""
    parser = subparsers.add_parser("neur2ro", help="train a Neur2RO value network (knapsack / capital budgeting)")
    add_neur2ro_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def data_config(args: argparse.Namespace) -> DataConfig:
    """The dataset settings of the command line (the problem's defaults where not given)."""
    if args.literature:
        return DataConfig(args.problem, 500, 10, 50, vertex_fraction=0.0, seed=args.seed)
    problem = get_problem(args.problem)
    return DataConfig(
        args.problem,
        instances=args.instances or problem.train_instances,
        decisions=args.decisions,
        scenarios=args.scenarios or problem.train_scenarios,
        vertex_fraction=args.vertex_fraction if problem.vertex_scenarios else 0.0,
        seed=args.seed,
    )


def run(args: argparse.Namespace) -> dict:
    """Generate/resume the data, train, save the model; returns the summary (also printed as JSON)."""
    config = data_config(args)
    folder = args.data_dir or Path("runs/neur2ro") / f"data_{args.problem}"
    generate_dataset(config, folder, workers=args.workers, progress=not args.no_progress)
    ds = load_dataset(folder)
    net, summary = train_value_net(
        ds, tuple(args.phi_hidden), args.embed_dim, tuple(args.rho_hidden), tuple(args.head_hidden),
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed, device=args.device,
        logdir=args.logdir, checkpoint=args.checkpoint, progress=not args.no_progress,
    )
    pt, js = save_value_net(net, args.out or Path("runs/neur2ro") / f"{args.problem}.pt")
    summary = {**summary, "model": str(pt), "config": str(js), "data": asdict(config)}
    print(json.dumps(summary, indent=1))
    return summary


def main(argv: list[str] | None = None) -> dict:
    """Stand-alone entry point: ``python -m cpgym.agents.neur2ro.train --problem knapsack``."""
    parser = add_neur2ro_arguments(argparse.ArgumentParser(prog="train.py neur2ro", description=__doc__))
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
