"""Neur2RO value network: ``Q(x, xi) ~ head(rho_x(sum_i phi_x(f_x_i)), rho_xi(sum_i phi_xi(f_xi_i)))``.

Two DeepSets encoders (Zaheer et al. 2017), one over the items with their first-stage value
(features ``f_x_i``), one over the items with their scenario value (``f_xi_i``); each is a
per-item ReLU MLP ``phi`` (ReLU on its output too), a masked sum over the items and a ReLU MLP
``rho``; the value head is a ReLU MLP with a linear output on the concatenated embeddings.
Features and the label are min-max scaled with statistics stored in the config
(:class:`Scaling`). Every part is a plain ReLU MLP so that the whole predictor can be encoded
exactly in a MILP (``cpgym.cp_models.relu_milp``) from the numpy arrays of :meth:`mlp_layers`.

Files: ``<name>.pt`` is a ``state_dict`` (tensors only, read with ``weights_only=True``) and
``<name>.json`` the architecture config with the scaling statistics.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch as th
from torch import nn

from cpgym.errors import CheckpointError


@dataclass
class Scaling:
    """Min-max statistics: features ``(f - lo) / (hi - lo)``, label ``(q - q_lo) / (q_hi - q_lo)``."""

    x_lo: list[float]
    x_hi: list[float]
    xi_lo: list[float]
    xi_hi: list[float]
    q_lo: float
    q_hi: float

    @staticmethod
    def _span(lo, hi) -> np.ndarray:
        span = np.asarray(hi, dtype=np.float64) - np.asarray(lo, dtype=np.float64)
        return np.where(span > 0, span, 1.0)

    def scale_x(self, f: np.ndarray) -> np.ndarray:
        return ((f - np.asarray(self.x_lo)) / self._span(self.x_lo, self.x_hi)).astype(np.float32)

    def scale_xi(self, f: np.ndarray) -> np.ndarray:
        return ((f - np.asarray(self.xi_lo)) / self._span(self.xi_lo, self.xi_hi)).astype(np.float32)

    def scale_q(self, q):
        return (np.asarray(q, dtype=np.float64) - self.q_lo) / (self.q_hi - self.q_lo)

    def unscale_q(self, v):
        return np.asarray(v, dtype=np.float64) * (self.q_hi - self.q_lo) + self.q_lo


@dataclass
class NetConfig:
    """Architecture and scaling of a value network (the JSON config next to the weights)."""

    problem: str
    n_x_features: int
    n_xi_features: int
    phi_hidden: list[int]
    embed_dim: int
    rho_hidden: list[int]
    head_hidden: list[int]
    scaling: Scaling | None = None

    def to_json(self) -> str:
        return json.dumps({"format": "cpgym-neur2ro", **asdict(self)}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> NetConfig:
        data = json.loads(text)
        if data.pop("format", None) != "cpgym-neur2ro":
            raise CheckpointError("not a cpgym Neur2RO config (missing format 'cpgym-neur2ro')")
        scaling = data.pop("scaling")
        return cls(**data, scaling=Scaling(**scaling) if scaling else None)


def _mlp(sizes: list[int], relu_last: bool) -> nn.Sequential:
    modules: list[nn.Module] = []
    for k in range(len(sizes) - 1):
        modules.append(nn.Linear(sizes[k], sizes[k + 1]))
        if relu_last or k < len(sizes) - 2:
            modules.append(nn.ReLU())
    return nn.Sequential(*modules)


class SetEncoder(nn.Module):
    """DeepSets: ``rho(sum_i phi(f_i))`` over the unmasked items."""

    def __init__(self, n_features: int, phi_hidden: list[int], embed_dim: int, rho_hidden: list[int]) -> None:
        super().__init__()
        self.phi = _mlp([n_features, *phi_hidden, embed_dim], relu_last=True)
        self.rho = _mlp([embed_dim, *rho_hidden, embed_dim], relu_last=True)

    def forward(self, features: th.Tensor, mask: th.Tensor) -> th.Tensor:
        """``features`` (B, n, F), ``mask`` (B, n) -> (B, embed_dim)."""
        return self.rho((self.phi(features) * mask.unsqueeze(-1)).sum(dim=1))


class ValueNet(nn.Module):
    """Second-stage value predictor (scaled units); see the module docstring."""

    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.config = config
        self.x_encoder = SetEncoder(config.n_x_features, config.phi_hidden, config.embed_dim, config.rho_hidden)
        self.xi_encoder = SetEncoder(config.n_xi_features, config.phi_hidden, config.embed_dim, config.rho_hidden)
        self.head = _mlp([2 * config.embed_dim, *config.head_hidden, 1], relu_last=False)

    def forward(self, x_features: th.Tensor, xi_features: th.Tensor, mask: th.Tensor) -> th.Tensor:
        """Scaled prediction, shape (B,)."""
        emb = th.cat([self.x_encoder(x_features, mask), self.xi_encoder(xi_features, mask)], dim=-1)
        return self.head(emb).squeeze(-1)

    @staticmethod
    def mlp_layers(module: nn.Sequential) -> list[tuple[np.ndarray, np.ndarray]]:
        """``[(W, b), ...]`` float64 numpy arrays of an MLP (input to ``relu_milp``)."""
        return [
            (m.weight.detach().cpu().double().numpy(), m.bias.detach().cpu().double().numpy())
            for m in module
            if isinstance(m, nn.Linear)
        ]


def save_value_net(net: ValueNet, path: str | Path) -> tuple[Path, Path]:
    """Write ``path`` (``.pt`` state_dict) and the JSON config next to it (``.json``)."""
    path = Path(path).with_suffix(".pt")
    path.parent.mkdir(parents=True, exist_ok=True)
    th.save({k: v.detach().cpu() for k, v in net.state_dict().items()}, path)
    config_path = path.with_suffix(".json")
    config_path.write_text(net.config.to_json())
    return path, config_path


def load_value_net(path: str | Path, device: str | th.device = "cpu") -> ValueNet:
    """Rebuild a network from ``<path>.json`` and load ``<path>.pt`` with ``weights_only=True``."""
    path = Path(path).with_suffix(".pt")
    config = NetConfig.from_json(path.with_suffix(".json").read_text())
    net = ValueNet(config)
    net.load_state_dict(th.load(path, map_location=device, weights_only=True))
    return net.to(device).eval()
