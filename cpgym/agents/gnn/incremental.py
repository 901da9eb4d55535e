"""Incremental GNN inference for greedy decoding of very large instances.

A full forward pass of :class:`~cpgym.agents.gnn.policy.GINEncoder` costs O(nodes + edges) per dispatching
step, so greedy decoding is quadratic in the instance size: about 10 ms per step and two minutes for
a 10,000-operation instance on one CPU thread. One env step changes the features of a single job's
operations and one or two machine-chain edges, and a message-passing layer only spreads a change one
hop, so after a step only the rows within ``n_layers`` hops of a change need recomputing.

:class:`IncrementalEncoder` keeps every layer's node embeddings between steps, finds the changed
feature rows and edge slots by comparing observations (it relies on nothing but the observation
contract), and recomputes exactly the affected rows. The first pass runs the policy's own torch
modules; the per-step updates touch a few dozen rows, where torch's per-call overhead would dominate,
so they run in NumPy on a float32 copy of the same weights (:class:`_NumpyMLP`). The result equals a
full forward pass up to floating-point rounding (tested on whole episodes against the torch path).
"""

from __future__ import annotations

import copy

import numpy as np
import torch as th
from torch import nn

from cpgym.agents.gnn.policy import JobShopGNNPolicy
from cpgym.errors import ArgumentError

_ACTIVATIONS = {
    nn.ReLU: lambda z: np.maximum(z, 0.0),
    nn.Tanh: np.tanh,
    nn.ELU: lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0))),
}


class _NumpyMLP:
    """An ``nn.Sequential`` of ``Linear`` layers and ReLU/Tanh/ELU activations, evaluated in NumPy."""

    def __init__(self, module: nn.Module) -> None:
        self.steps: list = []
        for layer in module if isinstance(module, nn.Sequential) else [module]:
            if isinstance(layer, nn.Linear):
                weight = layer.weight.detach().cpu().numpy().T.astype(np.float32)
                bias = layer.bias.detach().cpu().numpy().astype(np.float32)
                self.steps.append(lambda z, w=weight, b=bias: z @ w + b)
            elif type(layer) in _ACTIVATIONS:
                self.steps.append(_ACTIVATIONS[type(layer)])
            else:
                raise TypeError(f"incremental inference does not support {type(layer).__name__} layers")

    def __call__(self, z: np.ndarray) -> np.ndarray:
        for step in self.steps:
            z = step(z)
        return z


class _NumpyLayerNorm:
    def __init__(self, norm: nn.LayerNorm) -> None:
        self.weight = norm.weight.detach().cpu().numpy().astype(np.float32)
        self.bias = norm.bias.detach().cpu().numpy().astype(np.float32)
        self.eps = np.float32(norm.eps)

    def __call__(self, z: np.ndarray) -> np.ndarray:
        average = np.full((z.shape[1], 1), 1.0 / z.shape[1], dtype=np.float32)  # row means as a matmul: faster
        centred = z - z @ average
        variance = (centred * centred) @ average
        return centred / np.sqrt(variance + self.eps) * self.weight + self.bias


class IncrementalEncoder:
    """Node embeddings of one episode's graph observations, updated step by step.

    ``reset(observation)`` runs the full encoder once; ``step(observation)`` brings the embeddings
    up to date with any later observation of the same episode; ``logits(observation)`` returns the
    actor's logit for every job whose ``action_mask`` is set (``-inf`` elsewhere).
    """

    def __init__(self, policy: JobShopGNNPolicy) -> None:
        encoder = policy.features_extractor.encoder
        self.encoder = encoder
        self.mean_aggr = encoder.forward_convs[0].aggr == "mean"
        self.embed = _NumpyMLP(encoder.embed)
        self.convs = [
            tuple((np.float32(1 + conv.eps.item()), _NumpyMLP(conv.nn)) for conv in pair)
            for pair in zip(encoder.forward_convs, encoder.backward_convs)
        ]
        self.norms = [_NumpyLayerNorm(norm) for norm in encoder.norms]
        self.actor = _NumpyMLP(policy.mlp_extractor.actor)

    @th.no_grad()
    def reset(self, observation: dict[str, np.ndarray]) -> None:
        """Full forward pass (the policy's torch modules) on the first observation of an episode."""
        n_nodes = int(observation["n_nodes"][0])
        n_edges = int(observation["n_edges"][0])
        self.x = observation["node_features"][:n_nodes].copy()
        self.edges = observation["edge_index"].copy()
        self.n_edges = n_edges
        # padded adjacency: row i lists i's predecessors / successors, -1 = empty (the zero row at the end)
        self.preds = np.full((n_nodes, 2), -1, dtype=np.int64)
        self.succs = np.full((n_nodes, 2), -1, dtype=np.int64)
        for source, target in self.edges[:, :n_edges].T.tolist():
            self._link(source, target)
        edge_index = th.as_tensor(self.edges[:, :n_edges], dtype=th.long)
        reverse = edge_index.flip(0)
        h = self.encoder.embed(th.as_tensor(self.x, dtype=th.float32))
        self.layers = [_padded(h)]
        for fwd, bwd, norm in zip(self.encoder.forward_convs, self.encoder.backward_convs, self.encoder.norms):
            h = norm(h + th.relu(fwd(h, edge_index) + bwd(h, reverse)))
            self.layers.append(_padded(h))
        self.total = self.layers[-1][:-1].sum(axis=0, dtype=np.float64)  # running sum for the mean pool

    def copy(self) -> IncrementalEncoder:
        """An independent copy of the episode state (the weights are shared): to branch rollouts."""
        clone = copy.copy(self)
        for name in ("x", "edges", "preds", "succs", "total"):
            setattr(clone, name, getattr(self, name).copy())
        clone.layers = [h.copy() for h in self.layers]
        return clone

    def step(self, observation: dict[str, np.ndarray]) -> None:
        """Catch up with ``observation`` (any later observation of the same episode)."""
        n_nodes = len(self.x)
        x = observation["node_features"][:n_nodes]
        changed = np.unique(np.flatnonzero(x != self.x) // x.shape[1])
        self.x[changed] = x[changed]
        touched = self._update_edges(observation)
        if len(changed):
            self.layers[0][changed] = self.embed(self.x[changed])
        dirty = changed
        for layer, ((fwd_scale, fwd), (bwd_scale, bwd)) in enumerate(self.convs):
            marks = np.zeros(n_nodes + 1, dtype=bool)  # the extra slot absorbs the adjacency's -1 entries
            for rows in (dirty, self.preds[dirty], self.succs[dirty], touched):
                marks[rows] = True
            dirty = np.flatnonzero(marks[:n_nodes])
            if not len(dirty):
                return
            h = self.layers[layer]
            own = np.take(h, dirty, axis=0)
            preds, succs = self.preds[dirty], self.succs[dirty]
            messages = fwd(fwd_scale * own + self._aggregate(h, preds))
            messages += bwd(bwd_scale * own + self._aggregate(h, succs))
            update = self.norms[layer](own + np.maximum(messages, 0.0))
            if layer + 1 == len(self.convs):
                self.total += (update - np.take(self.layers[-1], dirty, axis=0)).sum(axis=0, dtype=np.float64)
            self.layers[layer + 1][dirty] = update

    def _aggregate(self, h: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
        aggregated = np.take(h, neighbours[:, 0], axis=0)
        for column in range(1, neighbours.shape[1]):
            aggregated += np.take(h, neighbours[:, column], axis=0)
        if self.mean_aggr:
            aggregated /= np.maximum((neighbours >= 0).sum(axis=1), 1)[:, None]
        return aggregated

    def _link(self, source: int, target: int) -> None:
        self.succs = _put(self.succs, source, target)
        self.preds = _put(self.preds, target, source)

    def _update_edges(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        """Apply the edge slots that differ from the last observation; return their endpoints."""
        n_edges = int(observation["n_edges"][0])
        if n_edges < self.n_edges:
            raise ArgumentError("edges were removed: not a later observation of the same episode")
        new = observation["edge_index"]
        old_count = self.n_edges
        slots = np.unique(np.flatnonzero(new[:, :old_count] != self.edges[:, :old_count]) % max(old_count, 1))
        for source, target in self.edges[:, slots].T.tolist():
            self.succs[source, self.succs[source] == target] = -1
            self.preds[target, self.preds[target] == source] = -1
        updated = np.concatenate([slots, np.arange(old_count, n_edges)])
        for source, target in new[:, updated].T.tolist():
            self._link(source, target)
        touched = np.concatenate([self.edges[:, slots].ravel(), new[:, updated].ravel()])
        self.edges[:, updated] = new[:, updated]
        self.n_edges = n_edges
        return touched

    def logits(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        mask = observation["action_mask"].astype(bool)
        h = self.layers[-1]
        legal = np.flatnonzero(mask)
        candidates = np.take(h, observation["candidate"][legal], axis=0)
        pooled = (self.total / (len(h) - 1)).astype(np.float32)
        inputs = np.concatenate([candidates, np.broadcast_to(pooled, candidates.shape)], axis=1)
        logits = np.full(len(mask), -np.inf, dtype=np.float32)
        logits[legal] = self.actor(inputs)[:, 0]
        return logits


def _padded(h: th.Tensor) -> np.ndarray:
    """``h`` as a float32 array with a trailing zero row, the target of the adjacency's -1 entries."""
    return np.vstack([h.cpu().numpy(), np.zeros((1, h.shape[1]), dtype=np.float32)])


def _put(adjacency: np.ndarray, row: int, value: int) -> np.ndarray:
    """Write ``value`` into a free (-1) slot of ``adjacency[row]``, widening the array if it has none."""
    free = np.flatnonzero(adjacency[row] < 0)
    if not len(free):
        adjacency = np.hstack([adjacency, np.full(adjacency.shape, -1, dtype=np.int64)])
        free = np.flatnonzero(adjacency[row] < 0)
    adjacency[row, free[0]] = value
    return adjacency
