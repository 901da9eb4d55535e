"""Safe checkpoints of the flexible job-shop GNN: ``torch.save`` of tensors plus a JSON config string.

A checkpoint is a dict: ``"config"`` (JSON text: format, version, architecture ``policy``, env
settings ``env``, progress ``training``, optionally ``decoding``: the sampling ``temperature`` (one, or
several that sampled rollouts take in turn) and the env ``modes`` of the sampled rollouts chosen for the
model), ``"policy"`` (the ``state_dict``) and optionally
``"trainer"`` (optimizer state, for resuming). It is read with ``torch.load(weights_only=True)``,
which rebuilds only tensors and plain containers, and the network is rebuilt from the checked
JSON config by this module, so loading an untrusted file cannot run code. The weights do not
depend on the instance size: one model runs on every size.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch as th

from cpgym.agents.fjsp_gnn.policy import FlexibleGNNPolicy
from cpgym.agents.gnn.checkpoint import save_payload
from cpgym.agents.shipped import model_path
from cpgym.envs.fjsp_state import FJSP_MODES
from cpgym.errors import ArgumentError, CheckpointError, MissingFileError, check_temperatures

FORMAT = "cpgym-fjsp-gnn"
VERSION = 1
SHIPPED_FJSP_MODEL = "fjsp_gnn.pt"
MAX_HIDDEN, MAX_LAYERS = 1024, 16  # a hostile config cannot make the loader allocate without bound


@dataclass
class FlexibleGNNAgent:
    """A loaded policy and its config (``config["env"]["mode"]``: the env mode it was trained in)."""

    policy: FlexibleGNNPolicy
    config: dict

    @property
    def mode(self) -> str:
        return self.config["env"]["mode"]

    @property
    def temperatures(self) -> tuple[float, ...]:
        """The softmax temperatures that sampled rollouts take in turn by default ((1.0,) unless the
        checkpoint sets them)."""
        return check_temperatures(self.config.get("decoding", {}).get("temperature", 1.0))

    @property
    def sample_modes(self) -> tuple[str, ...]:
        """The env modes that sampled rollouts take in turn by default (the training mode unless the
        checkpoint sets them); greedy decoding runs in :attr:`mode`."""
        return check_sample_modes(self.config.get("decoding", {}).get("modes", [self.mode]))


def check_sample_modes(modes: Sequence[str]) -> tuple[str, ...]:
    """``modes`` as a tuple if it is a non-empty sequence of env modes, else :class:`ArgumentError`."""
    if isinstance(modes, str) or not isinstance(modes, Sequence) or not modes:
        raise ArgumentError(f"sample modes must be a non-empty list of env modes {FJSP_MODES}, got {modes!r}")
    unknown = [mode for mode in modes if mode not in FJSP_MODES]
    if unknown:
        raise ArgumentError(f"unknown env mode(s) {unknown} in the sample modes; known: {FJSP_MODES}")
    return tuple(modes)


def save_fjsp_agent(path: str | Path, policy: FlexibleGNNPolicy, mode: str, *, training: dict | None = None,
                    trainer_state: dict[str, Any] | None = None, temperature: float | Sequence[float] | None = None,
                    sample_modes: Sequence[str] | None = None) -> Path:
    """Write a checkpoint atomically (a temporary file renamed over ``path``); ``training`` is JSON-safe
    progress, ``trainer_state`` tensors and containers for resuming; the model's default decoding:
    ``temperature`` the sampling temperature, or several that sampled rollouts take in turn (None: 1.0),
    ``sample_modes`` the env modes they take in turn (None: ``mode``)."""
    path = Path(path)
    config = {"format": FORMAT, "version": VERSION,
              "policy": {"hidden_dim": policy.hidden_dim, "n_layers": policy.n_layers},
              "env": {"mode": mode}, "training": training or {}}
    decoding: dict[str, Any] = {}
    if temperature is not None:
        temperatures = check_temperatures(temperature)
        decoding["temperature"] = temperatures[0] if len(temperatures) == 1 else list(temperatures)
    if sample_modes is not None:
        decoding["modes"] = list(check_sample_modes(sample_modes))
    if decoding:
        config["decoding"] = decoding
    payload: dict[str, Any] = {"config": json.dumps(config), "policy": policy.state_dict()}
    if trainer_state is not None:
        payload["trainer"] = trainer_state
    return save_payload(payload, path)


def _resolve(path: str | Path | None) -> Path:
    resolved = model_path(SHIPPED_FJSP_MODEL if path is None else path)
    if not resolved.is_file():
        raise MissingFileError(f"{resolved}: no such flexible job-shop model file (the shipped one is "
                               f"{SHIPPED_FJSP_MODEL!r})")
    return resolved


def _read(path: Path) -> tuple[dict, dict[str, Any]]:
    """The checked ``(config, payload)`` of a checkpoint file."""
    try:
        payload = th.load(path, map_location="cpu", weights_only=True)
        config = json.loads(payload["config"])
    except Exception as error:  # unpickling errors, missing keys, bad JSON: all mean "not ours"
        raise CheckpointError(f"{path}: not a readable {FORMAT} checkpoint ({error})") from error
    if not isinstance(config, dict) or config.get("format") != FORMAT or config.get("version") != VERSION:
        found = (config.get("format"), config.get("version")) if isinstance(config, dict) else config
        raise CheckpointError(f"{path}: not a {FORMAT} v{VERSION} checkpoint (found {found!r})")
    policy, env = config.get("policy"), config.get("env")
    if not isinstance(policy, dict) or not isinstance(env, dict) or not isinstance(config.get("training", {}), dict):
        raise CheckpointError(f"{path}: config needs 'policy' and 'env' records, got {config!r}")
    for key, limit in (("hidden_dim", MAX_HIDDEN), ("n_layers", MAX_LAYERS)):
        value = policy.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
            raise CheckpointError(f"{path}: config policy.{key} must be a whole number in 1..{limit}, got {value!r}")
    if env.get("mode") not in FJSP_MODES:
        raise CheckpointError(f"{path}: config env.mode must be one of {FJSP_MODES}, got {env.get('mode')!r}")
    decoding = config.get("decoding", {})
    try:
        if not isinstance(decoding, dict):
            raise ArgumentError("not a record")
        check_temperatures(decoding.get("temperature", 1.0))
        check_sample_modes(decoding.get("modes", [env["mode"]]))
    except ArgumentError as error:
        raise CheckpointError(f"{path}: config decoding must be a record whose temperature is a positive number "
                              f"or a list of them and whose modes is a list of env modes {FJSP_MODES}, "
                              f"got {decoding!r} ({error})") from None
    weights = payload.get("policy")
    if not isinstance(weights, dict) or not all(isinstance(t, th.Tensor) for t in weights.values()):
        raise CheckpointError(f"{path}: the policy weights must be a dict of tensors")
    config.setdefault("training", {})
    return config, payload


def read_fjsp_config(path: str | Path | None = None) -> dict:
    """The checked config of a checkpoint (``None``: the shipped model)."""
    return _read(_resolve(path))[0]


def load_fjsp_agent(path: str | Path | None = None, device: th.device | str = "cpu") -> FlexibleGNNAgent:
    """Rebuild a saved policy safely: a checkpoint file, a shipped model's file name, or ``None`` for
    the shipped flexible job-shop model (:data:`SHIPPED_FJSP_MODEL`)."""
    path = _resolve(path)
    config, payload = _read(path)
    policy = FlexibleGNNPolicy(**config["policy"])
    try:
        policy.load_state_dict(payload["policy"])
    except RuntimeError as error:
        raise CheckpointError(f"{path}: the weights do not fit the architecture of its config ({error})") from None
    policy.to(device).eval()
    return FlexibleGNNAgent(policy, config)


def load_fjsp_trainer_state(path: str | Path) -> tuple[dict, dict[str, Any]]:
    """``(config, trainer state)`` of a checkpoint saved with ``trainer_state=`` (for resuming)."""
    path = _resolve(path)
    config, payload = _read(path)
    if not isinstance(payload.get("trainer"), dict):
        raise CheckpointError(f"{path}: checkpoint has no trainer state (saved without one)")
    return config, payload["trainer"]


def interpolate_fjsp_agents(first: FlexibleGNNAgent, second: FlexibleGNNAgent, weight: float) -> FlexibleGNNAgent:
    """The agent whose weights are ``(1 - weight) * first + weight * second`` (two checkpoints of one
    architecture and mode, e.g. the start and the end of a fine-tuning run); ``first``'s config."""
    if not 0 <= weight <= 1:
        raise CheckpointError(f"the interpolation weight must be in [0, 1], got {weight}")
    if first.config["policy"] != second.config["policy"] or first.mode != second.mode:
        raise CheckpointError(f"cannot interpolate {first.config['policy']} ({first.mode}) with "
                              f"{second.config['policy']} ({second.mode}): not one architecture and mode")
    policy = FlexibleGNNPolicy(**first.config["policy"])
    ours, theirs = first.policy.state_dict(), second.policy.state_dict()
    policy.load_state_dict({key: (1 - weight) * ours[key] + weight * theirs[key].to(ours[key].device) for key in ours})
    return FlexibleGNNAgent(policy.to(first.policy.device).eval(), first.config)


def with_mode(agent: FlexibleGNNAgent, mode: str) -> FlexibleGNNAgent:
    """``agent`` decoding in env ``mode`` (greedy, and sampling unless its checkpoint sets sample modes):
    the same weights, ``config["env"]["mode"]`` replaced. To try a model in a mode it was not trained in."""
    if mode not in FJSP_MODES:
        raise ArgumentError(f"unknown env mode {mode!r}; known: {FJSP_MODES}")
    return FlexibleGNNAgent(agent.policy, {**agent.config, "env": {**agent.config["env"], "mode": mode}})
