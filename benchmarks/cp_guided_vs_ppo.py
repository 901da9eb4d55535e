"""CP-guided training vs self-labelling vs MaskablePPO at the same wall-clock budget, on the same validation set.

Each algorithm of ``--algos`` trains in its own process (``train_jssp`` / ``train_cp_guided`` /
``train_on_engine``, the library code; cp-guided and self-label on the batched engine) for
``--budget`` seconds, then gets Ctrl-C (SIGINT), which checkpoints as usual. The validation set and
its CP-SAT references are computed once and copied into every run folder, so none
pays for them. The learning curves (greedy validation mean makespan / gap vs. seconds since the
process started) are read back from each run's TensorBoard events and printed, saved as
``OUT/curves.json`` and plotted to ``OUT/curves.png``.

    python benchmarks/cp_guided_vs_ppo.py --budget 180 --size 6x6 --out runs/cmp_6x6
    python benchmarks/cp_guided_vs_ppo.py --budget 180 --size 10x10 --algos cp-guided self-label ppo --out runs/C

``--set KEY=VALUE`` overrides any training setting (``cpgym.agents.training.settings.OPTIONS``) for
every run; ``--ppo`` / ``--cpg`` / ``--sl KEY=VALUE`` for one of them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

from cpgym.agents.training.cp_guided import train_cp_guided
from cpgym.agents.training.engine import train_on_engine
from cpgym.agents.training.ppo import train_jssp
from cpgym.agents.training.run_folder import validation_set
from cpgym.agents.training.settings import checked_settings, parse_setting

ALGOS = {"ppo": train_jssp, "cp-guided": train_cp_guided, "self-label": train_on_engine}


def _parse_pairs(pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs as settings (checked against the settings table)."""
    settings = {}
    for pair in pairs:
        key, _, text = pair.partition("=")
        settings[key.strip().replace("-", "_")] = parse_setting(key.strip(), text, "--set")
    return settings


def _train(algo: str, settings: dict[str, Any], torch_threads: int) -> None:
    import torch

    torch.set_num_threads(torch_threads)
    ALGOS[algo](settings, resume=False)


def _curve(run: Path, started: float) -> list[dict[str, float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run / "tb"))
    events.Reload()
    if "val/mean_makespan" not in events.Tags()["scalars"]:
        return []
    gaps = {e.step: e.value for e in events.Scalars("val/mean_gap_pct")}
    return [{"seconds": e.wall_time - started, "timesteps": e.step, "mean_makespan": e.value,
             "mean_gap_pct": gaps.get(e.step, float("nan"))} for e in events.Scalars("val/mean_makespan")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=180.0, help="wall-clock seconds per algorithm")
    parser.add_argument("--size", default="6x6")
    parser.add_argument("--mode", default="non_delay", choices=("active", "non_delay"))
    parser.add_argument("--val-instances", type=int, default=10)
    parser.add_argument("--val-every", type=int, default=2000, help="validate every this many env steps")
    parser.add_argument("--val-time-limit", type=float, default=2.0)
    parser.add_argument("--torch-threads", type=int, default=1, help="torch intra-op threads in each run")
    parser.add_argument("--set", action="append", default=[], help="KEY=VALUE for both runs")
    parser.add_argument("--ppo", action="append", default=[], help="KEY=VALUE for the PPO run only")
    parser.add_argument("--cpg", action="append", default=[], help="KEY=VALUE for the cp-guided run only")
    parser.add_argument("--sl", action="append", default=[], help="KEY=VALUE for the self-label run only")
    parser.add_argument("--algos", nargs="+", default=list(ALGOS), choices=list(ALGOS))
    parser.add_argument("--out", default="runs/cp_guided_vs_ppo")
    args = parser.parse_args()

    out = Path(args.out)
    if out.exists():
        raise SystemExit(f"{out} exists; choose another --out")
    base = checked_settings({"size": args.size, "mode": args.mode, "val_instances": args.val_instances,
                             "val_every": args.val_every, "val_time_limit": args.val_time_limit,
                             "timesteps": 10**12, "device": "cpu", "progress_bar": False, **_parse_pairs(args.set)})
    per_algo = {
        "ppo": {"algo": "ppo", "n_envs": 4, "vec_env": "dummy", **_parse_pairs(args.ppo)},
        "cp-guided": {"algo": "cp-guided", **_parse_pairs(args.cpg)},
        "self-label": {"algo": "self-label", "instances": 8, "samples": 32, "n_epochs": 1, "ent_coef": 0.0,
                       **_parse_pairs(args.sl)},
    }
    out.mkdir(parents=True)
    print(f"computing the validation references ({args.val_instances} x {args.size}, CP-SAT {args.val_time_limit} s)")
    validation_set(base, out)

    context = multiprocessing.get_context("spawn")
    curves: dict[str, list[dict]] = {}
    for algo in args.algos:
        run = out / algo
        run.mkdir()
        shutil.copy(out / "validation.json", run / "validation.json")
        settings = {**base, **per_algo[algo], "out": str(run)}
        (out / f"{algo}.settings.json").write_text(json.dumps(settings, indent=1))
        print(f"training {algo} for {args.budget:g} s ...", flush=True)
        started = time.time()
        process = context.Process(target=_train, args=(algo, settings, args.torch_threads))
        process.start()
        process.join(args.budget)
        if process.is_alive():
            os.kill(process.pid, signal.SIGINT)  # the trainer checkpoints and exits
            process.join(120)
        if process.is_alive():
            process.terminate()
        curves[algo] = _curve(run, started)

    (out / "curves.json").write_text(json.dumps({"budget_s": args.budget, "curves": curves}, indent=1))
    print(f"\n# validation curves ({args.size}, {args.mode}, {args.val_instances} instances, budget {args.budget:g} s)")
    print("| algo | seconds | env steps | val mean makespan | val mean gap % |")
    print("|---|---:|---:|---:|---:|")
    for algo, curve in curves.items():
        for point in curve:
            print(f"| {algo} | {point['seconds']:.0f} | {point['timesteps']} | {point['mean_makespan']:.1f} "
                  f"| {point['mean_gap_pct']:.2f} |")
    print("\n| algo | validations | best val mean makespan | best gap % | last gap % |")
    print("|---|---:|---:|---:|---:|")
    for algo, curve in curves.items():
        if curve:
            best = min(curve, key=lambda p: p["mean_makespan"])
            print(f"| {algo} | {len(curve)} | {best['mean_makespan']:.1f} | {best['mean_gap_pct']:.2f} "
                  f"| {curve[-1]['mean_gap_pct']:.2f} |")
        else:
            print(f"| {algo} | 0 | — | — | — |")
    _plot(curves, out / "curves.png", f"{args.size} {args.mode}, budget {args.budget:g} s")
    print(f"\nruns, curves.json and curves.png in {out}/")


def _plot(curves: dict[str, list[dict]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for algo, curve in curves.items():
        ax.plot([p["seconds"] for p in curve], [p["mean_gap_pct"] for p in curve], marker="o", label=algo)
    ax.set_xlabel("wall-clock seconds")
    ax.set_ylabel("validation mean gap % (greedy)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


if __name__ == "__main__":
    main()
