"""Shared by the tests of the trainers on the batched engine."""

import torch as th

from cpgym.agents.gnn.batched import BatchedGNN
from cpgym.agents.training.engine import Sequences
from cpgym.envs.batched import BatchedJobShop


def sequence_log_probs(net: BatchedGNN, sequences: Sequences, mode: str) -> th.Tensor:
    """``(B, T)`` log-probabilities the policy gives each action of ``sequences`` (0 past the end)."""
    engine = BatchedJobShop(mode=mode)
    engine.reset(sequences.instances)
    out = th.zeros(sequences.actions.shape)
    with th.no_grad():
        for t in range(sequences.actions.shape[1]):
            live = (sequences.actions[:, t] >= 0).nonzero().squeeze(1)
            if not len(live):
                break
            action = sequences.actions[:, t].clamp(min=0)
            out[live, t] = th.log_softmax(net.logits(engine, live), dim=1).gather(1, action[live, None]).squeeze(1)
            engine.step(action, skip=sequences.actions[:, t] < 0)
    return out
