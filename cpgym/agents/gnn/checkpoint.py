"""Safe checkpoints for the GNN policy: one ``.pt`` file of tensors plus a JSON config string.

A checkpoint file is a dict saved with ``torch.save``::

    "config"   JSON text: architecture, training-env settings, optional training progress
    "policy"   the policy's ``state_dict`` (tensors only)
    "trainer"  optional: optimizer state and RNG states, for resuming training

Trust model: files are read with ``torch.load(..., weights_only=True)``, whose restricted
unpickler only rebuilds tensors and plain containers/primitives, so loading a checkpoint from an
untrusted source cannot execute code; the config is parsed as JSON (data only). The network is rebuilt from the JSON
config by this module's own code, never from pickled classes (unlike an SB3 ``.zip``, which pickles
spaces and classes and must only be loaded from trusted sources). A malicious checkpoint can still
make the policy produce bad actions: schedules are always checked by the environment/validator.

The config is checked before anything is built: a missing or mistyped key, an env record with keys
other than :data:`ENV_KEYS`, spaces beyond :data:`MAX_NODES` or an architecture with more weights
than the file stores raise :class:`~cpgym.errors.CheckpointError` (a hostile config cannot make the
loader allocate without bound).

Because no parameter depends on the instance size, :func:`load_agent` can rebuild the policy for
any environment (``env=``): a model trained on 10x10 loads onto a 100x20 env.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch as th
from stable_baselines3.common.utils import get_device

from cpgym.agents.gnn.policy import ACTIVATIONS, AGGREGATIONS, JobShopGNNPolicy, graph_observation_space
from cpgym.agents.shipped import model_path
from cpgym.errors import ArgumentError, CheckpointError

FORMAT = "cpgym-gnn-policy"
VERSION = 1
ENV_KEYS = ("mode", "reward", "reward_scale")  # the env settings a checkpoint may record
MAX_NODES = 1_000_000  # largest saved observation space (operations): cpgym's largest instance
MAX_FEATURES = 64  # largest number of node features a checkpoint may declare


@dataclass
class GNNAgent:
    """A loaded policy with its config (``config["env"]`` holds the env settings it was trained with)."""

    policy: JobShopGNNPolicy
    config: dict

    @property
    def env_kwargs(self) -> dict:
        return dict(self.config.get("env", {}))

    def policy_for(self, env: gym.Env) -> JobShopGNNPolicy:
        """The same weights in a policy built for ``env``'s spaces (for SB3 ``predict`` on other sizes)."""
        if env.observation_space == self.policy.observation_space and env.action_space == self.policy.action_space:
            return self.policy
        policy = build_policy(self.config["policy"], env.observation_space, env.action_space, self.policy.device)
        policy.load_state_dict(self.policy.state_dict())
        policy.set_training_mode(False)
        return policy


def policy_config(policy: JobShopGNNPolicy) -> dict:
    """JSON-safe architecture description from which :func:`build_policy` rebuilds ``policy``."""
    encoder = policy.features_extractor.encoder
    names = {cls: name for name, cls in ACTIVATIONS.items()}
    if policy.activation_fn not in names:
        name = policy.activation_fn.__name__
        raise ArgumentError(f"activation {name} not serialisable; use one of {sorted(ACTIVATIONS)}")
    return {
        "n_features": encoder.embed.in_features,
        "hidden_dim": policy.features_dim,
        "n_layers": len(encoder.norms),
        "aggr": encoder.forward_convs[0].aggr,
        "net_arch": policy.net_arch,
        "activation": names[policy.activation_fn],
    }


def policy_kwargs(config: dict) -> dict:
    """``policy_kwargs`` for ``MaskablePPO(JobShopGNNPolicy, ...)`` from an architecture config."""
    return {
        "net_arch": config["net_arch"],
        "activation_fn": ACTIVATIONS[config["activation"]],
        "features_extractor_kwargs": {k: config[k] for k in ("hidden_dim", "n_layers", "aggr")},
    }


def build_policy(
    config: dict, observation_space: gym.Space, action_space: gym.Space, device: th.device | str = "auto"
) -> JobShopGNNPolicy:
    """A fresh policy with the architecture ``config`` for the given spaces."""
    n_features = int(observation_space["node_features"].shape[-1])
    if n_features != config["n_features"]:
        raise CheckpointError(
            f"policy expects {config['n_features']} node features but the env provides {n_features}; "
            "the env must be created with the settings the policy was trained with"
        )
    policy = JobShopGNNPolicy(observation_space, action_space, lambda _: 0.0, **policy_kwargs(config))
    return policy.to(get_device(device))


def save_agent(
    path: str | Path,
    policy: JobShopGNNPolicy,
    env_kwargs: dict | None = None,
    *,
    training: dict | None = None,
    trainer_state: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint file atomically (a temporary file renamed over ``path`` once complete).

    ``env_kwargs`` (JSON-safe) records the env settings the policy expects; ``training`` (JSON-safe)
    is progress such as step counts; ``trainer_state`` holds tensors (optimizer, RNG) for resuming.
    """
    path = Path(path)
    unknown = sorted(set(env_kwargs or {}) - set(ENV_KEYS))
    if unknown:
        raise ArgumentError(f"env settings {unknown} cannot be saved in a checkpoint; known: {', '.join(ENV_KEYS)}")
    spaces = policy.observation_space
    config = {
        "format": FORMAT,
        "version": VERSION,
        "policy": policy_config(policy),
        "spaces": {
            "max_nodes": int(spaces["node_features"].shape[0]),
            "max_edges": int(spaces["edge_index"].shape[-1]),
            "max_jobs": int(policy.action_space.n),
        },
        "env": env_kwargs or {},
        "training": training or {},
    }
    payload: dict[str, Any] = {"config": json.dumps(config), "policy": policy.state_dict()}
    if trainer_state is not None:
        payload["trainer"] = trainer_state
    return save_payload(payload, path)


def save_payload(payload: dict[str, Any], path: str | Path) -> Path:
    """``torch.save(payload)`` to ``path`` atomically: a temporary file in the same folder, renamed over
    ``path`` once complete (an interruption never leaves a half-written checkpoint)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    try:
        th.save(payload, tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; a checkpoint is an ordinary file
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _read(path: str | Path) -> tuple[dict, dict[str, Any]]:
    """``(config, payload)`` of a checkpoint file (or shipped model name), loaded with ``weights_only=True``
    and checked."""
    path = model_path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    try:
        payload = th.load(path, map_location="cpu", weights_only=True)
        config = json.loads(payload["config"])
    except Exception as error:  # unpickling errors, missing keys, bad JSON: all mean "not ours"
        raise CheckpointError(f"{path}: not a readable {FORMAT} checkpoint ({error})") from error
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: not a {FORMAT} checkpoint (its config is not a JSON object)")
    if config.get("format") != FORMAT or config.get("version") != VERSION:
        raise CheckpointError(f"{path}: not a {FORMAT} v{VERSION} checkpoint "
                              f"(format={config.get('format')!r}, version={config.get('version')!r})")
    try:
        _check_config(config, payload)
    except CheckpointError as error:
        raise CheckpointError(f"{path}: {error}") from None
    return config, payload


def _check_config(config: dict, payload: dict[str, Any]) -> None:
    """Check every key the loader reads (fills in empty ``env``/``training`` records)."""
    policy, spaces = _section(config, "policy"), _section(config, "spaces")
    for name in ("env", "training"):
        config[name] = _section(config, name, {})
    for name, limit in (("n_features", MAX_FEATURES), ("hidden_dim", None), ("n_layers", None)):
        _whole(policy, name, "policy", limit)
    for name, limit in (("max_nodes", MAX_NODES), ("max_edges", 2 * MAX_NODES), ("max_jobs", MAX_NODES)):
        _whole(spaces, name, "spaces", limit)
    if policy.get("aggr") not in AGGREGATIONS:
        raise CheckpointError(f"config policy.aggr must be one of {AGGREGATIONS}, got {policy.get('aggr')!r}")
    if policy.get("activation") not in ACTIVATIONS:
        raise CheckpointError(f"config policy.activation must be one of {sorted(ACTIVATIONS)}, "
                              f"got {policy.get('activation')!r}")
    heads = policy.get("net_arch")
    pi, vf = (heads.get("pi"), heads.get("vf")) if isinstance(heads, dict) else (heads, heads)
    for widths in (pi, vf):
        if not isinstance(widths, list) or not all(isinstance(w, int) and w >= 1 for w in widths):
            raise CheckpointError(f"config policy.net_arch must be a list of positive widths (or pi/vf lists), "
                                  f"got {heads!r}")
    unknown = sorted(set(config["env"]) - set(ENV_KEYS))
    if unknown:
        raise CheckpointError(f"config env has unknown settings {unknown}; known: {', '.join(ENV_KEYS)}")
    weights = payload.get("policy")
    if not isinstance(weights, dict) or not all(isinstance(t, th.Tensor) for t in weights.values()):
        raise CheckpointError("the policy weights must be a dict of tensors")
    needed, stored = _least_weights(policy, pi, vf), _stored_values(weights)
    if needed > stored:
        raise CheckpointError(f"the config describes a network of at least {needed:,} weights but the file "
                              f"stores {stored:,} values")


def _section(config: dict, name: str, default: dict | None = None) -> dict:
    value = config.get(name, default)
    if not isinstance(value, dict):
        raise CheckpointError(f"config has no {name!r} record" if value is None
                              else f"config {name!r} must be a record, got {value!r}")
    return value


def _whole(record: dict, name: str, section: str, limit: int | None) -> None:
    """``record[name]`` must be a whole number in ``1..limit``."""
    value = record.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or (limit is not None and value > limit):
        bound = f"in 1..{limit:,}" if limit is not None else ">= 1"
        raise CheckpointError(f"config {section}.{name} must be a whole number {bound}, got {value!r}")


def _least_weights(policy: dict, pi: list[int], vf: list[int]) -> int:
    """A lower bound on the weights of the network ``policy`` describes: its weight matrices."""
    hidden = policy["hidden_dim"]

    def chain(sizes: list[int]) -> int:
        return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))

    return (policy["n_features"] * hidden + 4 * policy["n_layers"] * hidden * hidden
            + chain([2 * hidden, *pi, 1]) + chain([hidden, *vf, 1]))


def _stored_values(weights: dict[str, th.Tensor]) -> int:
    """Number of values the tensors hold, each shared storage counted once."""
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() // t.element_size()
                for t in weights.values()}
    return sum(storages.values())


def read_config(path: str | Path) -> dict:
    """The checkpoint's config (architecture, env settings, training progress)."""
    return _read(path)[0]


def load_agent(
    path: str | Path | None = None, device: th.device | str = "auto", env: gym.Env | None = None
) -> GNNAgent:
    """Rebuild a saved policy safely, for ``env``'s spaces if given (any instance size), else the saved ones.

    ``path``: a checkpoint file, the file name of a shipped model (``"jssp_gnn_ppo_10x10.pt"``), or
    ``None`` for the shipped job-shop model.
    """
    path = model_path(path)
    config, payload = _read(path)
    if env is not None:
        observation_space, action_space = env.observation_space, env.action_space
    else:
        sizes = config["spaces"]
        observation_space = graph_observation_space(
            sizes["max_nodes"], sizes["max_edges"], sizes["max_jobs"], config["policy"]["n_features"]
        )
        action_space = gym.spaces.Discrete(sizes["max_jobs"])
    policy = build_policy(config["policy"], observation_space, action_space, device)
    try:
        policy.load_state_dict(payload["policy"])
    except RuntimeError as error:  # missing/unexpected keys or shapes that do not fit the config
        raise CheckpointError(f"{path}: the weights do not fit the architecture of its config ({error})") from None
    policy.set_training_mode(False)
    return GNNAgent(policy, config)


def load_trainer_state(path: str | Path) -> dict[str, Any]:
    """The optimizer/RNG state saved with ``trainer_state=`` (on CPU; ``Optimizer.load_state_dict``
    moves optimizer state to its parameters' device)."""
    _, payload = _read(path)
    if not isinstance(payload.get("trainer"), dict):
        raise CheckpointError(f"{path}: checkpoint has no trainer state (saved without one)")
    return payload["trainer"]


def interpolate_agents(first: str | Path, second: str | Path, weight: float) -> GNNAgent:
    """The policy with weights ``(1 - weight) * first + weight * second`` (a two-model "soup",
    Wortsman et al., ICML 2022), with ``first``'s env settings.

    Meant for two fine-tunings of one lineage (e.g. a model and its self-labelling fine-tune),
    whose weights lie in one basin; both must have the same architecture and env settings.
    """
    if not 0.0 <= weight <= 1.0:
        raise ArgumentError(f"interpolation weight must be in [0, 1], got {weight}")
    a, b = load_agent(first, device="cpu"), load_agent(second, device="cpu")
    if a.config["policy"] != b.config["policy"] or a.env_kwargs != b.env_kwargs:
        raise CheckpointError(f"{first} and {second}: different architectures or env settings; cannot interpolate")
    theirs = b.policy.state_dict()
    a.policy.load_state_dict({key: th.lerp(value, theirs[key], weight) if value.is_floating_point() else value
                              for key, value in a.policy.state_dict().items()})
    return a
