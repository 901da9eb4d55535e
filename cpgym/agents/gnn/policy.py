"""Graph neural network dispatching policy for job-shop scheduling (PyG + sb3-contrib MaskablePPO).

The environment's graph observation (``cpgym/JobShop-v0`` with ``observation="graph"``) is a padded
disjunctive graph: ``node_features`` (max_ops, F), ``edge_index`` (2, max_edges) with the true
count in ``n_edges``, ``n_nodes``, ``candidate`` (max_jobs,) = node of each job's next operation,
and ``action_mask``. A batch of such observations is turned into one disjoint-union graph
(:func:`batch_graphs`), encoded by a bidirectional GIN (:class:`GINEncoder`), and scored per
candidate operation (:class:`CandidateHeads`), so no layer depends on the instance size: a policy
trained on 10x10 runs unchanged on 100x20.

SB3 wiring: :class:`GraphFeaturesExtractor` is the features extractor; it returns a
``(batch, 1 + max_jobs, hidden)`` tensor whose row 0 is the graph mean-pool embedding and rows
1.. the candidate node embeddings. :class:`JobShopGNNPolicy` replaces SB3's MLP extractor by
:class:`CandidateHeads` (actor logits per candidate, critic on the pooled embedding) and sets
``action_net``/``value_net`` to identities, so every inherited code path (rollouts,
``evaluate_actions``, ``predict(..., action_masks=...)``, save/load) works unchanged;
``get_distribution`` accepts observations padded to any size.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, NamedTuple

import torch as th
from gymnasium import spaces
from sb3_contrib.common.maskable.distributions import MaskableCategoricalDistribution
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn
from torch_geometric.nn import GINConv, global_mean_pool

from cpgym.errors import ArgumentError

GRAPH_KEYS = ("node_features", "edge_index", "n_edges", "n_nodes", "candidate", "action_mask")
ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU}
AGGREGATIONS = ("add", "mean", "max")  # GIN neighbour aggregations


class GraphBatch(NamedTuple):
    """A batch of padded graph observations as one PyG-style disjoint union."""

    x: th.Tensor  # (total_nodes, F) node features
    edge_index: th.Tensor  # (2, total_edges) long, global node ids
    batch: th.Tensor  # (total_nodes,) long, graph id of each node
    candidate: th.Tensor  # (n_graphs, max_jobs) long, global node id of each job's next operation
    n_graphs: int


def batch_graphs(obs: dict[str, th.Tensor]) -> GraphBatch:
    """Strip the padding of a batch of graph observations and offset node ids (no Python loop).

    Index tensors may arrive as floats (SB3 preprocessing casts Box observations to float32);
    they are cast back to long here. Candidates of padded/finished jobs are clamped into the
    graph: their logits are finite but always masked by ``action_mask``.
    """
    features = obs["node_features"].float()
    n_graphs, max_nodes, _ = features.shape
    device = features.device
    n_nodes = obs["n_nodes"].reshape(n_graphs).long()
    n_edges = obs["n_edges"].reshape(n_graphs).long()
    edge_index = obs["edge_index"].long().reshape(n_graphs, 2, -1)
    offset = th.cumsum(n_nodes, 0) - n_nodes
    node_mask = th.arange(max_nodes, device=device)[None, :] < n_nodes[:, None]
    edge_mask = th.arange(edge_index.shape[-1], device=device)[None, :] < n_edges[:, None]
    edges = (edge_index + offset[:, None, None]).permute(1, 0, 2)[:, edge_mask]
    batch = th.repeat_interleave(th.arange(n_graphs, device=device), n_nodes)
    candidate = obs["candidate"].long().reshape(n_graphs, -1)
    candidate = th.minimum(candidate.clamp(min=0), (n_nodes - 1).clamp(min=0)[:, None]) + offset[:, None]
    return GraphBatch(features[node_mask], edges, batch, candidate, n_graphs)


def _mlp(sizes: list[int], activation: type[nn.Module]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (size_in, size_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(size_in, size_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class GINEncoder(nn.Module):
    """Bidirectional GIN: each layer aggregates over predecessors and over successors.

    ``h <- LayerNorm(h + ReLU(GIN_fwd(h, E) + GIN_bwd(h, E^T)))``. Forward edges carry head
    (release-time) information, reversed edges carry tail (remaining-work) information; a
    makespan depends on both. ``aggr`` is GIN's neighbour aggregation ("add" is the original GIN;
    "mean" keeps the scale independent of node degree).
    """

    def __init__(self, in_features: int, hidden_dim: int = 64, n_layers: int = 2, aggr: str = "add") -> None:
        super().__init__()
        self.embed = nn.Linear(in_features, hidden_dim)

        def conv() -> GINConv:
            return GINConv(_mlp([hidden_dim, hidden_dim, hidden_dim], nn.ReLU), train_eps=True, aggr=aggr)

        self.forward_convs = nn.ModuleList(conv() for _ in range(n_layers))
        self.backward_convs = nn.ModuleList(conv() for _ in range(n_layers))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden_dim) for _ in range(n_layers))

    def forward(self, x: th.Tensor, edge_index: th.Tensor) -> th.Tensor:
        h = self.embed(x)
        reverse = edge_index.flip(0)
        for fwd, bwd, norm in zip(self.forward_convs, self.backward_convs, self.norms):
            h = norm(h + th.relu(fwd(h, edge_index) + bwd(h, reverse)))
        return h


class GraphFeaturesExtractor(BaseFeaturesExtractor):
    """SB3 features extractor: padded graph observations -> ``(B, 1 + max_jobs, hidden_dim)``.

    Row 0 is the mean-pooled graph embedding, rows ``1 + j`` the embedding of job j's candidate
    operation. ``features_dim`` is the width of one row.
    """

    def __init__(self, observation_space: spaces.Dict, hidden_dim: int = 64, n_layers: int = 2, aggr: str = "add"):
        missing = [key for key in GRAPH_KEYS if key not in observation_space.spaces]
        if missing:
            raise ArgumentError(f"graph policy needs observation keys {GRAPH_KEYS}; missing {missing} "
                             "(create the env with observation='graph')")
        super().__init__(observation_space, features_dim=hidden_dim)
        in_features = int(observation_space["node_features"].shape[-1])
        self.encoder = GINEncoder(in_features, hidden_dim, n_layers, aggr)

    def forward(self, observations: dict[str, th.Tensor]) -> th.Tensor:
        graph = batch_graphs(observations)
        h = self.encoder(graph.x, graph.edge_index)
        pooled = global_mean_pool(h, graph.batch, size=graph.n_graphs)
        return th.cat([pooled.unsqueeze(1), h[graph.candidate]], dim=1)


class CandidateHeads(nn.Module):
    """Actor and critic heads in the role of SB3's ``MlpExtractor``.

    ``forward_actor`` returns one logit per job from an MLP over ``[candidate, pooled]``;
    ``forward_critic`` returns the state value from an MLP over the pooled embedding.
    """

    def __init__(self, features_dim: int, net_arch: list[int] | dict[str, list[int]], activation: type[nn.Module]):
        super().__init__()
        pi_arch, vf_arch = (net_arch["pi"], net_arch["vf"]) if isinstance(net_arch, dict) else (net_arch, net_arch)
        self.actor = _mlp([2 * features_dim, *pi_arch, 1], activation)
        self.critic = _mlp([features_dim, *vf_arch, 1], activation)
        self.latent_dim_pi = self.latent_dim_vf = 1

    def forward_actor(self, features: th.Tensor) -> th.Tensor:
        pooled, candidates = features[:, :1], features[:, 1:]
        return self.actor(th.cat([candidates, pooled.expand_as(candidates)], dim=-1)).squeeze(-1)

    def forward_critic(self, features: th.Tensor) -> th.Tensor:
        return self.critic(features[:, 0])

    def forward(self, features: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        return self.forward_actor(features), self.forward_critic(features)


class JobShopGNNPolicy(MaskableActorCriticPolicy):
    """MaskablePPO policy whose logits are computed per candidate operation (size-agnostic).

    ``net_arch`` (SB3 semantics: list, or ``dict(pi=..., vf=...)``) gives the hidden widths of the
    actor and critic MLPs; ``features_extractor_kwargs`` (``hidden_dim``, ``n_layers``, ``aggr``)
    configure the GIN. No parameter depends on the action or observation space size, so the
    state dict of a policy built for one instance size loads into one built for any other.
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        action_space: spaces.Discrete,
        lr_schedule: Any,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        activation_fn: type[nn.Module] = nn.Tanh,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("features_extractor_class", GraphFeaturesExtractor)
        if not kwargs.setdefault("share_features_extractor", True):
            raise ArgumentError("JobShopGNNPolicy needs share_features_extractor=True")
        net_arch = dict(pi=[64, 64], vf=[64, 64]) if net_arch is None else net_arch
        super().__init__(observation_space, action_space, lr_schedule, net_arch, activation_fn, **kwargs)

    def _build_mlp_extractor(self) -> None:
        self.mlp_extractor = CandidateHeads(self.features_dim, self.net_arch, self.activation_fn)

    def _build(self, lr_schedule: Any) -> None:
        """Like SB3's, minus the space-sized ``action_net``: the heads already output logits/values."""
        self._build_mlp_extractor()
        self.action_net = nn.Identity()
        self.value_net = nn.Identity()
        if self.ortho_init:
            for module in (self.features_extractor, self.mlp_extractor):
                module.apply(partial(self.init_weights, gain=math.sqrt(2)))
            self.init_weights(self.mlp_extractor.actor[-1], gain=0.01)
            self.init_weights(self.mlp_extractor.critic[-1], gain=1.0)
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    def _get_action_dist_from_latent(self, latent_pi: th.Tensor) -> MaskableCategoricalDistribution:
        """A distribution as wide as the observation's job count (not fixed by ``action_space``)."""
        return MaskableCategoricalDistribution(latent_pi.shape[-1]).proba_distribution(action_logits=latent_pi)


def graph_observation_space(max_nodes: int, max_edges: int, max_jobs: int, n_features: int) -> spaces.Dict:
    """A Dict space with the graph-observation contract's keys and shapes (used to rebuild policies)."""
    big = 2**31 - 1
    return spaces.Dict({
        "node_features": spaces.Box(-math.inf, math.inf, (max_nodes, n_features), dtype="float32"),
        "edge_index": spaces.Box(0, big, (2, max_edges), dtype="int64"),
        "n_edges": spaces.Box(0, big, (1,), dtype="int64"),
        "n_nodes": spaces.Box(0, big, (1,), dtype="int64"),
        "candidate": spaces.Box(0, big, (max_jobs,), dtype="int64"),
        "action_mask": spaces.Box(0, 1, (max_jobs,), dtype="int8"),
    })
