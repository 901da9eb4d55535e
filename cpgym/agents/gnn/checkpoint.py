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

from cpgym.agents.gnn.policy import ACTIVATIONS, JobShopGNNPolicy, graph_observation_space

FORMAT = "cpgym-gnn-policy"
VERSION = 1


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
        raise ValueError(f"activation {name} not serialisable; use one of {sorted(ACTIVATIONS)}")
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
        raise ValueError(
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
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    try:
        th.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _read(path: str | Path) -> tuple[dict, dict[str, Any]]:
    """``(config, payload)`` of a checkpoint file, loaded with ``weights_only=True``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    try:
        payload = th.load(path, map_location="cpu", weights_only=True)
        config = json.loads(payload["config"])
    except Exception as error:  # unpickling errors, missing keys, bad JSON: all mean "not ours"
        raise ValueError(f"{path}: not a readable {FORMAT} checkpoint ({error})") from error
    if config.get("format") != FORMAT or config.get("version") != VERSION:
        raise ValueError(f"{path}: not a {FORMAT} v{VERSION} checkpoint "
                         f"(format={config.get('format')!r}, version={config.get('version')!r})")
    return config, payload


def read_config(path: str | Path) -> dict:
    """The checkpoint's config (architecture, env settings, training progress)."""
    return _read(path)[0]


def load_agent(path: str | Path, device: th.device | str = "auto", env: gym.Env | None = None) -> GNNAgent:
    """Rebuild a saved policy safely, for ``env``'s spaces if given (any instance size), else the saved ones."""
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
    policy.load_state_dict(payload["policy"])
    policy.set_training_mode(False)
    return GNNAgent(policy, config)


def load_trainer_state(path: str | Path) -> dict[str, Any]:
    """The optimizer/RNG state saved with ``trainer_state=`` (on CPU; ``Optimizer.load_state_dict``
    moves optimizer state to its parameters' device)."""
    config, payload = _read(path)
    if "trainer" not in payload:
        raise ValueError(f"{path}: checkpoint has no trainer state (saved without one)")
    return payload["trainer"]


def interpolate_agents(first: str | Path, second: str | Path, weight: float) -> GNNAgent:
    """The policy with weights ``(1 - weight) * first + weight * second`` (a two-model "soup",
    Wortsman et al., ICML 2022), with ``first``'s env settings.

    Meant for two fine-tunings of one lineage (e.g. a model and its self-labelling fine-tune),
    whose weights lie in one basin; both must have the same architecture and env settings.
    """
    a, b = load_agent(first, device="cpu"), load_agent(second, device="cpu")
    if a.config["policy"] != b.config["policy"] or a.env_kwargs != b.env_kwargs:
        raise ValueError(f"{first} and {second}: different architectures or env settings; cannot interpolate")
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"interpolation weight must be in [0, 1], got {weight}")
    theirs = b.policy.state_dict()
    a.policy.load_state_dict({key: th.lerp(value, theirs[key], weight) if value.is_floating_point() else value
                              for key, value in a.policy.state_dict().items()})
    return a
