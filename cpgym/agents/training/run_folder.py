"""Pieces shared by the job-shop training algorithms (MaskablePPO in ``cpgym.cli.train`` and
CP-guided training in :mod:`cpgym.agents.training.cp_guided`): instance size, env settings and the fixed
validation set with its cached reference makespans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cpgym.cp_models.jobshop_cpsat import solve_jobshop
from cpgym.envs.jobshop import MixedSizeGenerator, UniformGenerator
from cpgym.instances import JobShopInstance, uniform


def sizes_of(settings: dict[str, Any]) -> list[tuple[int, int]]:
    """``[(n_jobs, n_machines), ...]`` of a size setting: ``"10x10"`` or a list ``"10x10,20x10,30x15"``."""
    sizes = []
    for size in str(settings["size"]).split(","):
        n_jobs, n_machines = size.split("x")
        sizes.append((int(n_jobs), int(n_machines)))
    return sizes


def padding_of(settings: dict[str, Any]) -> dict[str, int]:
    """Env padding ``{"max_jobs", "max_machines"}`` that fits every training size."""
    sizes = sizes_of(settings)
    return {"max_jobs": max(j for j, _ in sizes), "max_machines": max(m for _, m in sizes)}


def size_generators(settings: dict[str, Any]) -> tuple[UniformGenerator, ...]:
    """One picklable instance generator per training size."""
    low, high = settings["duration_low"], settings["duration_high"]
    share = settings.get("two_set_share", 0.0)
    return tuple(UniformGenerator(j, m, low, high, share) for j, m in sizes_of(settings))


def training_generator(settings: dict[str, Any]) -> UniformGenerator | MixedSizeGenerator:
    """The picklable generator of fresh training instances (one size, or a uniform mix of sizes)."""
    generators = size_generators(settings)
    return generators[0] if len(generators) == 1 else MixedSizeGenerator(generators)


def env_kwargs_of(settings: dict[str, Any]) -> dict[str, Any]:
    """The env settings the policy is trained with (saved in its checkpoints)."""
    return {"mode": settings["mode"], "reward": settings["reward"], "reward_scale": settings["reward_scale"]}


def validation_record(policy, instances: list, reference: list[int], env_kwargs: dict, timesteps: int) -> dict:
    """Greedy-decode every validation instance: ``{"timesteps", "mean_makespan", "mean_gap_pct"}``."""
    from statistics import mean

    from cpgym.agents.gnn.decoding import solve_with_agent

    makespans = [solve_with_agent(policy, i, env_kwargs=env_kwargs).makespan for i in instances]
    gaps = [100.0 * (m - r) / r for m, r in zip(makespans, reference)]
    return {"timesteps": timesteps, "mean_makespan": mean(makespans), "mean_gap_pct": mean(gaps)}


def prepare_run_folder(settings: dict[str, Any], resume: bool) -> tuple[Path, Path, dict[str, Any]]:
    """Create (or check, when resuming) the run folder; return it, its ``last.pt`` and the saved
    training progress (empty for a new run). A new run never overwrites an existing one."""
    from cpgym.agents.gnn.checkpoint import read_config

    out = Path(settings["out"])
    last = out / "last.pt"
    if resume and not last.exists():
        raise ValueError(f"{last}: cannot resume, no checkpoint saved yet")
    if not resume and (last.exists() or (out / "settings.json").exists()):
        raise ValueError(f"{out} already holds a run: pass --resume to continue it, or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    (out / "settings.json").write_text(json.dumps(settings, indent=2) + "\n")
    return out, last, read_config(last)["training"] if resume else {}


def validation_set(settings: dict[str, Any], out: Path) -> tuple[list[JobShopInstance], list[int], str]:
    """The fixed validation instances (``uniform``, seeds ``val_seed + i``, ``val_instances`` of every
    training size, the first ``two_set_share`` of them with two machine sets) and their reference
    makespans.

    References are CP-SAT makespans (``val_time_limit`` s each; optimal or best found) or, with a
    zero time limit, trivial lower bounds. They are computed once and cached in ``validation.json``.
    """
    n_two_sets = round(settings.get("two_set_share", 0.0) * settings["val_instances"])
    instances = [
        uniform(
            n_jobs, n_machines, settings["duration_low"], settings["duration_high"],
            seed=settings["val_seed"] + i, two_sets=i < n_two_sets,
            name=f"val_{n_jobs}x{n_machines}_{settings['val_seed'] + i}" + ("_two_sets" if i < n_two_sets else ""),
        )
        for n_jobs, n_machines in sizes_of(settings)
        for i in range(settings["val_instances"])
    ]
    path = out / "validation.json"
    names = [instance.name for instance in instances]
    if path.exists():
        cached = json.loads(path.read_text())
        if cached["instances"] == names:
            return instances, cached["reference"], cached["reference_kind"]
    if settings["val_time_limit"] > 0:
        kind = "cpsat"
        reference = [solve_jobshop(i, time_limit=settings["val_time_limit"], seed=0).makespan for i in instances]
    else:
        kind = "trivial_lower_bound"
        reference = [i.trivial_lower_bound() for i in instances]
    path.write_text(json.dumps({"instances": names, "reference": reference, "reference_kind": kind}, indent=2))
    return instances, reference, kind
