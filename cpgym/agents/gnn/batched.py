"""The GNN policy evaluated on a whole :class:`~cpgym.envs.batched.BatchedJobShop` batch, and rollouts on it.

:class:`BatchedGNN` runs the weights of a :class:`~cpgym.agents.gnn.policy.JobShopGNNPolicy` (the
GIN encoder and the actor head; the critic is not used) directly on the engine's tensors, in one
forward pass for every instance of the batch. Every node of the disjunctive graph has at most two
predecessors (its job predecessor and its machine predecessor) and two successors, so a GIN layer is
two gathers per direction over a ``(nodes, hidden)`` table: dense, padded message passing with no
edge list and no graph batching. It computes exactly the logits of the PyG path over
:class:`~cpgym.envs.jobshop.JobShopEnv` observations (up to float rounding of sums; tested), is
differentiable (the trainers of :mod:`cpgym.agents.training.engine` use it) and runs on any device.
Measured against PyG batching on the same states in ``benchmarks/training_throughput.py``.

:func:`engine_rollouts` runs one episode per instance of the batch in lockstep: greedy, sampled
with a seeded ``torch.Generator``, forced first actions (POMO starts), or replayed action sequences.
Instances with a single legal job skip the network.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import torch as th
from torch import nn

from cpgym.agents.gnn.policy import JobShopGNNPolicy
from cpgym.envs.batched import BatchedJobShop
from cpgym.errors import TimeLimitReached

__all__ = ["BatchedGNN", "RolloutBatch", "engine_rollouts"]


class BatchedGNN(nn.Module):
    """The encoder and actor of ``policy`` (shared modules, not copies) on engine states.

    ``logits(engine, rows)`` gives ``(len(rows), J)`` float32 logits, ``-inf`` at illegal jobs.
    """

    def __init__(self, policy: JobShopGNNPolicy) -> None:
        super().__init__()
        encoder = policy.features_extractor.encoder
        self.embed = encoder.embed
        self.forward_convs, self.backward_convs = encoder.forward_convs, encoder.backward_convs
        self.norms = encoder.norms
        self.aggr = encoder.forward_convs[0].aggr
        self.actor = policy.mlp_extractor.actor

    def neighbours(self, engine: BatchedJobShop, rows: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        """``(predecessors, successors)``, each ``(n, N, 2)`` global node ids (job, machine neighbour) of the
        ``n = len(rows)`` instances' ``N = J * M`` nodes, ``n * N`` (a zero row) where there is none."""
        jobs, machines = engine.padding
        n_nodes = jobs * machines
        n, device = len(rows), engine.device
        none = n * n_nodes
        offset = (th.arange(n, device=device) * n_nodes)[:, None]
        k = th.arange(machines, device=device).repeat(jobs)  # op index of every node
        node = th.arange(n_nodes, device=device)
        n_machines = engine.n_machines[rows][:, None]
        real = (node[None] < engine.n_jobs[rows][:, None] * machines) & (k[None] < n_machines)
        job_pred = th.where(real & (k > 0), offset + node - 1, none)
        job_succ = th.where(real & (k + 1 < n_machines), offset + node + 1, none)
        order = engine.machine_order[rows]  # (n, M, J)
        sources, targets = order[:, :, :-1].reshape(n, -1), order[:, :, 1:].reshape(n, -1)
        linked = targets >= 0
        dump = n_nodes  # an extra column that takes the scatters of missing links
        machine_pred = th.full((n, n_nodes + 1), -1, dtype=th.long, device=device)
        machine_succ = machine_pred.clone()
        machine_pred.scatter_(1, th.where(linked, targets, dump), th.where(linked, sources, -1))
        machine_succ.scatter_(1, th.where(linked, sources, dump), th.where(linked, targets, -1))
        machine_pred, machine_succ = machine_pred[:, :n_nodes], machine_succ[:, :n_nodes]
        machine_pred = th.where(machine_pred >= 0, offset + machine_pred, none)
        machine_succ = th.where(machine_succ >= 0, offset + machine_succ, none)
        return th.stack([job_pred, machine_pred], dim=2), th.stack([job_succ, machine_succ], dim=2)

    def _aggregate(self, table: th.Tensor, index: th.Tensor, count: th.Tensor) -> th.Tensor:
        """GIN neighbour aggregation over the (at most two) neighbours ``index`` of every node."""
        first, second = table.index_select(0, index[:, 0]), table.index_select(0, index[:, 1])
        if self.aggr == "add":
            return first + second
        if self.aggr == "mean":
            return (first + second) / count.clamp(min=1)[:, None]
        missing = table.new_tensor(float("-inf"))
        has = index < len(table) - 1
        best = th.maximum(th.where(has[:, :1], first, missing), th.where(has[:, 1:], second, missing))
        return th.where(count[:, None] > 0, best, 0.0)

    def encode(self, engine: BatchedJobShop, rows: th.Tensor) -> th.Tensor:
        """``(n, N, hidden)`` node embeddings of the instances ``rows``."""
        jobs, machines = engine.padding
        n = len(rows)
        predecessors, successors = (t.reshape(-1, 2) for t in self.neighbours(engine, rows))
        none = n * jobs * machines
        in_count, out_count = (predecessors < none).sum(dim=1), (successors < none).sum(dim=1)
        h = self.embed(engine.node_features[rows].reshape(-1, self.embed.in_features))
        zero = h.new_zeros(1, h.shape[1])
        for forward, backward, norm in zip(self.forward_convs, self.backward_convs, self.norms):
            table = th.cat([h, zero])
            # GIN: nn((1 + eps) h + aggregate); in-place sums where autograd allows them (fewer passes over memory)
            ahead = forward.nn(th.addcmul(self._aggregate(table, predecessors, in_count), h, 1 + forward.eps))
            behind = backward.nn(th.addcmul(self._aggregate(table, successors, out_count), h, 1 + backward.eps))
            h = norm(h + ahead.add_(behind).relu_())
        return h.view(n, jobs * machines, -1)

    def compiled(self) -> BatchedGNN:
        """A twin sharing every weight whose :meth:`logits` runs through ``torch.compile`` (dynamic shapes),
        for inference: about twice as fast per forward pass on a CPU (fused element-wise passes), after
        about half a minute of compilation on first use; needs a C++ compiler."""
        twin = copy.copy(self)
        twin.logits = th.compile(self.logits, dynamic=True)
        return twin

    def logits(self, engine: BatchedJobShop, rows: th.Tensor) -> th.Tensor:
        """``(len(rows), J)`` masked logits of the instances ``rows`` (the actor over [candidate, mean pool])."""
        jobs, machines = engine.padding
        h = self.encode(engine, rows)
        node = th.arange(jobs * machines, device=engine.device)
        real = ((node % machines)[None] < engine.n_machines[rows][:, None]) & \
            (node[None] < engine.n_jobs[rows][:, None] * machines)
        pooled = (h * real[..., None]).sum(dim=1) / real.sum(dim=1, keepdim=True).clamp(min=1)
        candidates = h.gather(1, engine.candidate[rows][..., None].expand(-1, -1, h.shape[2]))
        scores = self.actor(th.cat([candidates, pooled[:, None].expand_as(candidates)], dim=2)).squeeze(2)
        return scores.masked_fill(~engine.mask[rows], float("-inf"))


@dataclass
class RolloutBatch:
    """Episodes run by :func:`engine_rollouts`: ``actions (B, T)`` (-1 after an instance's last step,
    ``T`` = the most operations) and ``makespan (B,)``."""

    actions: th.Tensor
    makespan: th.Tensor


def engine_rollouts(
    net: BatchedGNN,
    engine: BatchedJobShop,
    *,
    greedy: th.Tensor | bool = True,
    generator: th.Generator | None = None,
    first_actions: th.Tensor | None = None,
    replay: th.Tensor | None = None,
    deadline: float | None = None,
) -> RolloutBatch:
    """Finish every episode of ``engine`` (reset by the caller) in lockstep and return the actions taken.

    Each step, the instances with more than one legal job get one batched forward pass: argmax where
    ``greedy`` (a bool or a ``(B,)`` mask), else a sample drawn with ``generator``. ``first_actions``
    (``(B,)``, -1: not forced) force the first dispatch (POMO-style starts); ``replay`` (``(B, T)``) replays given
    actions instead of consulting the network. ``deadline`` (a ``time.perf_counter()`` value) raises
    :class:`~cpgym.errors.TimeLimitReached` when passed. Runs under ``torch.no_grad()``.
    """
    batch, device = engine.batch_size, engine.device
    steps = int(engine.n_ops.max())
    actions = th.full((batch, steps), -1, dtype=th.long, device=device)
    greedy = th.as_tensor(greedy, dtype=th.bool, device=device).expand(batch)
    for t in range(steps):
        live = ~engine.done
        if not bool(live.any()):
            break
        mask = engine.mask
        if replay is not None:
            chosen = replay[:, t].clamp(min=0)
        else:
            chosen = mask.long().argmax(dim=1)  # the only legal job where there is one
            decide = (mask.sum(dim=1) > 1).nonzero().squeeze(1)
            if len(decide):
                with th.no_grad():
                    logits = net.logits(engine, decide)
                picked = logits.argmax(dim=1)
                sampled = ~greedy[decide]
                if bool(sampled.any()):
                    draws = th.multinomial(th.softmax(logits[sampled], dim=1), 1, generator=generator).squeeze(1)
                    picked[sampled] = draws
                chosen[decide] = picked
            if t == 0 and first_actions is not None:
                chosen = th.where(first_actions >= 0, first_actions.to(device), chosen)
        actions[:, t] = th.where(live, chosen, -1)
        engine.step(chosen, check=replay is not None or (first_actions is not None and t == 0))
        if deadline is not None and time.perf_counter() > deadline:
            raise TimeLimitReached("the GNN agent's rollouts did not finish in time")
    return RolloutBatch(actions, engine.makespan.clone())
