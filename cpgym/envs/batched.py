"""A job-shop dispatching simulator that advances a batch of instances in lockstep (torch tensors).

:class:`BatchedJobShop` holds ``B`` partial schedules at once, padded to ``max_jobs x max_machines``,
and :meth:`BatchedJobShop.step` dispatches one operation in every instance with array operations
only (no Python loop over the instances). Its semantics are exactly those of
:class:`cpgym.envs.jobshop_state.JobShopState` (modes ``"active"`` and ``"non_delay"``, the same
starts, masks, clock and lower bounds) and its rewards and graph node features those of
:class:`cpgym.envs.jobshop.JobShopEnv`; ``docs/batched_engine.md`` has the contract. The same code
runs on any torch device. Memory is O(jobs x machines) per instance: no operation x operation tensor.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cpgym.envs.checks import check_choices
from cpgym.envs.dispatching import REWARDS
from cpgym.envs.jobshop import GRAPH_FEATURES
from cpgym.envs.jobshop_state import MODES, NEVER, Mode
from cpgym.errors import ArgumentError, IllegalActionError, MissingExtraError, ResetNeededError
from cpgym.instances.jobshop import JobShopInstance
from cpgym.instances.schedule import Schedule

try:
    import torch as th
except ImportError as error:  # pragma: no cover - torch is in the "rl" extra
    raise MissingExtraError("rl", "torch", "the batched job-shop engine (cpgym.envs.batched)") from error

__all__ = ["BatchedJobShop"]

_N_FEATURES = len(GRAPH_FEATURES)
# per-job state read and written once a step, one (B, J, 5) table (one gather and one write); the names are (B, J)
# views. next_machine and _ready_key, which the non-delay clock reads for every job at every step, are contiguous.
_JOB_COLUMNS = ("next_op", "next_duration", "job_ready", "remaining_work", "candidate")


class _JobColumn:
    """A ``(B, J)`` column of the job table (a live view)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.column = _JOB_COLUMNS.index(name)

    def __get__(self, engine: BatchedJobShop, owner: type | None = None) -> th.Tensor:
        return engine._jobs[..., self.column]


class BatchedJobShop:
    """``B`` job-shop partial schedules stepped together (see ``docs/batched_engine.md``).

    Args:
        mode: ``"non_delay"`` (default) or ``"active"``, as :class:`JobShopState`.
        reward: ``"dense"`` (minus the increase of the makespan lower bound) or ``"sparse"``
            (``-makespan`` on the step that finishes an instance), as :class:`JobShopEnv`.
        reward_scale: every reward is multiplied by it.
        device: torch device of every tensor.
        max_jobs, max_machines: padding sizes (default: the largest instance of the batch given to
            the first :meth:`reset`).

    Live state tensors (read them, do not write them; ``J = max_jobs``, ``M = max_machines``, times int64):
        ``start_times (B, J, M)`` (-1 unscheduled), ``completion_lb (B, J, M)``, ``next_op (B, J)``
        (``n_machines`` once done and for padding jobs), ``next_machine``, ``next_duration``,
        ``job_ready``, ``remaining_work`` ``(B, J)``, ``machine_free (B, M)``, ``mask (B, J)`` bool,
        ``now``, ``makespan``, ``makespan_lb``, ``n_scheduled`` ``(B,)``; graph: ``node_features
        (B, J * M, 7)`` float32 (node ``j * M + k``), ``candidate (B, J)``, ``machine_order (B, M, J)``
        (nodes on each machine in start order, -1 after the last).
    """

    def __init__(
        self,
        mode: Mode = "non_delay",
        reward: str = "dense",
        reward_scale: float = 1.0,
        device: str | th.device = "cpu",
        max_jobs: int | None = None,
        max_machines: int | None = None,
    ) -> None:
        check_choices(("mode", mode, MODES), ("reward", reward, REWARDS))
        for name, value in (("max_jobs", max_jobs), ("max_machines", max_machines)):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ArgumentError(f"{name} must be a positive int, got {value!r}")
        self.mode, self.reward_kind, self.reward_scale = mode, reward, float(reward_scale)
        self.device = th.device(device)
        self.max_jobs, self.max_machines = max_jobs, max_machines
        self.instances: list[JobShopInstance] = []

    next_op, next_duration, job_ready = _JobColumn(), _JobColumn(), _JobColumn()
    remaining_work, candidate = _JobColumn(), _JobColumn()

    # ------------------------------------------------------------------ public read-only state
    @property
    def batch_size(self) -> int:
        return len(self.instances)

    @property
    def padding(self) -> tuple[int, int]:
        """``(J, M)``: the padded numbers of jobs and machines of the current batch."""
        return self._shape

    @property
    def done(self) -> th.Tensor:
        """``(B,)`` bool: every operation of the instance is scheduled."""
        return self.n_scheduled == self.n_ops

    @property
    def node_features(self) -> th.Tensor:
        """``(B, J * M, 7)`` float32 GRAPH_FEATURES of node ``j * M + k`` (padding rows 0); a live view."""
        return self._nodes.view(self.batch_size, -1, _N_FEATURES)

    @property
    def completion_lb(self) -> th.Tensor:
        """``(B, J, M)`` completion-time lower bounds (``JobShopState.completion_lb``; padding 0), computed now."""
        scheduled = self.start_times >= 0
        previous = self.flow_due.gather(2, (self.next_op - 1).clamp(min=0)[..., None]).squeeze(2)
        shift = th.where(self.next_op > 0, self.job_ready - previous, 0)  # end of the last scheduled op - its flow due
        bound = th.where(scheduled, self.start_times + self.durations, self.flow_due + shift[..., None])
        real = (self._slots_j < self.n_jobs[:, None])[..., None] & (self._slots_m < self.n_machines[:, None, None])
        return bound * real

    @property
    def machine_order(self) -> th.Tensor:
        """``(B, M, J)`` nodes on each machine in start order (ties: dispatch order), -1 after the last."""
        return self._order if self.mode == "non_delay" else self._chains[:, :, 3]

    def earliest_starts(self) -> th.Tensor:
        """``(B, J)`` start of each job's next op if appended after its machine's last op (NEVER when done)."""
        return th.maximum(self._ready_key, self.machine_free.gather(1, self.next_machine))

    def flat_features(self) -> th.Tensor:
        """``(B, J, 6)`` float32 flat observation of :class:`JobShopEnv` (``observation="flat"``), computed now."""
        est = self.earliest_starts()
        if self.mode == "non_delay":
            now = self.now
        else:  # the smallest append start among the unfinished jobs, 0 once done
            now = th.where(self.done, 0, est.min(dim=1).values)
        absolute = th.stack([self.next_duration, est, self.job_ready, self.machine_free.gather(1, self.next_machine),
                             self.remaining_work, self.n_machines[:, None] - self.next_op], dim=2).double()
        shift = th.tensor([0.0, 1.0, 1.0, 1.0, 0.0, 0.0], dtype=th.float64, device=self.device)
        time_scale = self.time_scale[:, None]
        scale = th.stack([self.duration_scale[:, None].expand_as(time_scale)] + [time_scale] * 4
                         + [self.n_machines[:, None].double()], dim=2)
        weight = th.where((self.next_op < self.n_machines[:, None])[:, :, None], 1.0 / scale, 0.0)
        return ((absolute - now[:, None, None] * shift) * weight).float()

    def edge_index(self) -> tuple[th.Tensor, th.Tensor]:
        """Machine-chain edges: ``(sources, targets)``, each ``(B, M, J - 1)`` node ids, -1 where there is none.

        ``sources[b, m, i] -> targets[b, m, i]`` are consecutive operations in start order on machine
        ``m``; the conjunctive edges ``j * M + k -> j * M + k + 1`` (``k + 1 < n_machines``) are static.
        """
        sources, targets = self.machine_order[:, :, :-1], self.machine_order[:, :, 1:]
        keep = targets >= 0
        return th.where(keep, sources, -1), th.where(keep, targets, -1)

    def schedule(self, index: int) -> Schedule:
        """Schedule of instance ``index`` (raises before every one of its operations is scheduled)."""
        instance = self.instances[index]
        if not bool(self.done[index]):
            raise RuntimeError(f"instance {index}: {int(self.n_scheduled[index])} of {instance.n_operations} "
                               "operations scheduled")
        starts = self.start_times[index, : instance.n_jobs, : instance.n_machines]
        return Schedule(instance, starts.cpu().numpy().copy())

    def memory_bytes(self) -> int:
        """Bytes held by the state tensors (the whole batch)."""
        return sum(t.element_size() * t.nelement() for t in vars(self).values() if isinstance(t, th.Tensor))

    # ------------------------------------------------------------------ reset / step
    def reset(self, instances: Sequence[JobShopInstance], env_ids: Sequence[int] | th.Tensor | None = None) -> None:
        """Start a new batch (``env_ids=None``), or restart the instances at ``env_ids`` with ``instances``."""
        instances = list(instances)
        if not instances or not all(isinstance(inst, JobShopInstance) for inst in instances):
            raise ArgumentError("reset needs a non-empty sequence of JobShopInstance")
        if env_ids is None:
            self._shape = (self.max_jobs or max(i.n_jobs for i in instances),
                           self.max_machines or max(i.n_machines for i in instances))
        elif not self.instances:
            raise ResetNeededError("reset the whole batch (env_ids=None) before restarting some of it")
        jobs, machines = self._shape
        for inst in instances:
            if inst.n_jobs > jobs or inst.n_machines > machines:
                raise ArgumentError(f"instance {inst.name} ({inst.size}) exceeds the padding {jobs}x{machines}; "
                                    "pass larger max_jobs / max_machines")
        initial = self._initial_state(instances)
        if env_ids is None:
            self.instances = instances
            vars(self).update(initial)
            self._slots_j = th.arange(jobs, device=self.device)
            self._slots_m = th.arange(machines, device=self.device)
            self._all = th.arange(len(instances), device=self.device)
        else:
            ids = th.as_tensor(env_ids, dtype=th.long, device=self.device).reshape(-1)
            if len(ids) != len(instances) or len(th.unique(ids)) != len(ids) or \
                    not (0 <= int(ids.min()) and int(ids.max()) < self.batch_size):
                raise ArgumentError(f"env_ids must be {len(instances)} distinct indices in 0..{self.batch_size - 1}, "
                                    f"got {ids.tolist()}")
            for name, value in initial.items():
                getattr(self, name)[ids] = value
            for i, inst in zip(ids.tolist(), instances):
                self.instances[i] = inst
        # node features in float32 arithmetic are JobShopEnv's float64 values rounded to float32, bit for bit,
        # when every operand is an integer below 2**24 (a correctly rounded quotient of exact operands; every
        # completion bound is at most the total work); else in float64
        self._exact32 = bool((self.total_work < 2**24).all())

    def step(self, actions: th.Tensor | np.ndarray | Sequence[int], skip: th.Tensor | np.ndarray | None = None,
             check: bool = True) -> tuple[th.Tensor, th.Tensor]:
        """Dispatch job ``actions[b]`` in every instance ``b`` that is neither done nor in ``skip``.

        Returns ``(reward, done)``: float64 ``(B,)`` rewards (0 for instances left unchanged) and the
        ``(B,)`` done flags after the step. With ``check`` (default) an illegal action in a stepped
        instance raises :class:`IllegalActionError` before anything changes.
        """
        if not self.instances:
            raise ResetNeededError("call reset() first")
        actions = self._as_actions(actions)
        live = self.n_scheduled < self.n_ops
        if skip is not None:
            live &= ~th.as_tensor(skip, dtype=th.bool, device=self.device)
        full = bool(live.all())
        rows = self._all if full else live.nonzero().squeeze(1)
        if not len(rows):
            return th.zeros(self.batch_size, dtype=th.float64, device=self.device), self.done
        sel = slice(None) if full else rows  # rows of the (B, ...) tensors: views when every instance steps
        job = actions[sel]
        if check:
            self._check(rows, job)
        jobs, machines = self._shape
        bj = rows * jobs + job  # flat (instance, job)
        table = self._jobs.view(-1, len(_JOB_COLUMNS)).index_select(0, bj)
        k, duration, ready, remaining = table[:, :4].unbind(dim=1)
        machine = self.next_machine.view(-1)[bj]
        node = job * machines + k  # the operation's node; bj * machines + k is its flat (instance, job, op) index
        bm = rows * machines + machine  # flat (instance, machine)
        if self.mode == "non_delay":
            start = self.now[sel].clone()
            self._append_to_machine(bm, node)
        else:
            start = self._place(bm, ready, duration, node)
        end = start + duration
        n_machines = self.n_machines[sel]
        last = k + 1 >= n_machines
        next_k = k + (~last).long()  # the job's next op; its last one stays the candidate

        self.start_times.view(-1)[bj * machines + k] = start
        machine_free = self.machine_free.view(-1)
        machine_free[bm] = th.maximum(machine_free[bm], end)
        flow = self.flow_due.view(-1, machines).index_select(0, bj)  # (n, M)
        shift = end - flow.gather(1, k[:, None]).squeeze(1)  # the job's ops k.. end at flow due + shift or later
        old_lb = self.makespan_lb[sel].clone()
        new_lb = th.maximum(old_lb, flow[:, -1] + shift)
        self.makespan_lb[sel] = new_lb
        self.makespan[sel] = th.maximum(self.makespan[sel], end)
        self.n_scheduled[sel] += 1
        following = bj * machines + next_k
        remaining = remaining - duration
        table = th.stack([k + 1, self.durations.view(-1)[following] * ~last, end, remaining, job * machines + next_k],
                         dim=1)
        self._jobs.view(-1, len(_JOB_COLUMNS)).index_copy_(0, bj, table)
        self.next_machine.view(-1)[bj] = self.machines.view(-1)[following]
        self._ready_key.view(-1)[bj] = th.where(last, NEVER, end)
        self._update_nodes(sel, bj, k, last, flow + shift[:, None], remaining, n_machines)
        if self.mode == "non_delay":
            self._advance_clock(sel)
        else:
            self.mask.view(-1)[bj] = ~last

        if self.reward_kind == "dense":
            gained = (old_lb - new_lb).double() * self.reward_scale
        else:
            finished = self.n_scheduled[sel] == self.n_ops[sel]
            gained = th.where(finished, -self.makespan[sel].double() * self.reward_scale, 0.0)
        if full:
            return gained, self.done
        reward = th.zeros(self.batch_size, dtype=th.float64, device=self.device)
        reward[rows] = gained
        return reward, self.done

    # ------------------------------------------------------------------ internals
    def _initial_state(self, instances: list[JobShopInstance]) -> dict[str, th.Tensor]:
        """Every per-instance state tensor at the start of an episode, for ``instances``."""
        jobs, machines = self._shape
        n = len(instances)
        machine_np = np.zeros((n, jobs, machines), dtype=np.int64)
        duration_np = np.zeros((n, jobs, machines), dtype=np.int64)
        for i, inst in enumerate(instances):
            machine_np[i, : inst.n_jobs, : inst.n_machines] = inst.machines
            duration_np[i, : inst.n_jobs, : inst.n_machines] = inst.durations

        def tensor(values: list | np.ndarray, dtype: th.dtype = th.long) -> th.Tensor:
            return th.as_tensor(np.asarray(values), dtype=dtype, device=self.device)

        def full(shape: tuple[int, ...], value: int) -> th.Tensor:
            return th.full(shape, value, dtype=th.long, device=self.device)

        n_jobs, n_machines = tensor([i.n_jobs for i in instances]), tensor([i.n_machines for i in instances])
        machine, duration = tensor(machine_np), tensor(duration_np)
        flow_due = duration.cumsum(dim=2)  # completion of op k if its job never waited
        slots_j, slots_m = th.arange(jobs, device=self.device), th.arange(machines, device=self.device)
        real_job = slots_j < n_jobs[:, None]  # (n, J)
        real_op = real_job[:, :, None] & (slots_m < n_machines[:, None, None])
        work = duration.sum(dim=2)
        load = th.zeros((n, machines), dtype=th.long, device=self.device).scatter_add_(
            1, machine.view(n, -1), duration.view(n, -1))  # padding ops: machine 0, duration 0
        # the scales of JobShopEnv: max(trivial lower bound, 1) and max(largest duration, 1)
        time_scale = th.maximum(work.amax(dim=1), load.amax(dim=1)).clamp(min=1).double()
        duration_scale = duration.view(n, -1).amax(dim=1).clamp(min=1).double()

        nodes = th.zeros((n, jobs, machines, _N_FEATURES), dtype=th.float32, device=self.device)
        nodes[..., 1] = duration / duration_scale[:, None, None]
        nodes[..., 2] = flow_due / time_scale[:, None, None]
        nodes[..., 3] = machine / (n_machines - 1).clamp(min=1)[:, None, None].double()
        nodes[..., 4] = (work / time_scale[:, None])[:, :, None]
        nodes[:, :, 0, 5] = 1.0
        nodes[..., 6] = 1.0
        nodes *= real_op[..., None]
        columns = {  # the job table, in _JOB_COLUMNS order; padding jobs are done (next_op = n_machines)
            "next_op": th.where(real_job, 0, n_machines[:, None]), "next_duration": duration[:, :, 0],
            "job_ready": full((n, jobs), 0), "remaining_work": work,
            "candidate": th.where(real_job, slots_j * machines, 0),
        }
        state = {
            "n_jobs": n_jobs, "n_machines": n_machines, "n_ops": n_jobs * n_machines,
            "time_scale": time_scale, "duration_scale": duration_scale,
            "machines": machine, "durations": duration, "flow_due": flow_due, "total_work": work.sum(dim=1),
            "start_times": full((n, jobs, machines), -1), "machine_free": full((n, machines), 0),
            "_jobs": th.stack([columns[name] for name in _JOB_COLUMNS], dim=2),
            "next_machine": machine[:, :, 0].clone(), "_ready_key": th.where(real_job, 0, NEVER),  # job_ready or NEVER
            "mask": real_job.clone(),  # everything is free at 0: every real job can start (both modes)
            "now": full((n,), 0), "makespan": full((n,), 0), "makespan_lb": flow_due[:, :, -1].max(dim=1).values,
            "n_scheduled": full((n,), 0), "_nodes": nodes, "_real_ops": (slots_m < n_machines[:, None]).float(),
        }
        if self.mode == "active":  # per machine, sorted: busy starts, busy ends, chain starts (NEVER after the last)
            state["_chains"] = full((n, machines, 4, jobs), NEVER)  # and chain nodes (-1 after the last)
            state["_chains"][:, :, 3] = -1
        else:
            state["_order"], state["_count"] = full((n, machines, jobs), -1), full((n, machines), 0)
        return state

    def _as_actions(self, actions: th.Tensor | np.ndarray | Sequence[int]) -> th.Tensor:
        tensor = th.as_tensor(actions, device=self.device)
        if tensor.dtype.is_floating_point or tensor.dtype.is_complex or tensor.dtype == th.bool:
            raise IllegalActionError(f"actions must be integer job indices, got dtype {tensor.dtype}")
        if tensor.shape != (self.batch_size,):
            raise IllegalActionError(f"actions must have shape ({self.batch_size},), got {tuple(tensor.shape)}")
        return tensor.long()

    def _check(self, rows: th.Tensor, job: th.Tensor) -> None:
        jobs = self._shape[0]
        low, high = th.aminmax(job)
        if 0 <= int(low) and int(high) < jobs:
            legal = self.mask.view(-1)[rows * jobs + job]
            if bool(legal.all()):
                return
        else:
            legal = th.zeros_like(job, dtype=th.bool)
            inside = (job >= 0) & (job < jobs)
            legal[inside] = self.mask.view(-1)[rows[inside] * jobs + job[inside]]
        i = int((~legal).nonzero()[0, 0])
        b, j = int(rows[i]), int(job[i])
        legal_jobs = self.mask[b].nonzero().squeeze(1).tolist()
        if not 0 <= j < int(self.n_jobs[b]):
            why = f"job {j} does not exist (the instance has jobs 0..{int(self.n_jobs[b]) - 1})"
        elif int(self.next_op[b, j]) >= int(self.n_machines[b]):
            why = f"job {j} has no operation left to dispatch"
        else:
            why = (f"job {j}: its next operation cannot start now (t={int(self.now[b])}) in non_delay mode "
                   f"(earliest start {int(self.earliest_starts()[b, j])})")
        raise IllegalActionError(f"instance {b} ({self.instances[b].name}): {why}; legal jobs: {legal_jobs}")

    def _append_to_machine(self, bm: th.Tensor, node: th.Tensor) -> None:
        """Non-delay: starts never decrease, so the op goes after the machine's last one (bisect_right)."""
        count = self._count.view(-1)[bm]
        self._order.view(-1)[bm * self._shape[0] + count] = node
        self._count.view(-1)[bm] = count + 1

    def _place(self, bm: th.Tensor, ready: th.Tensor, duration: th.Tensor, node: th.Tensor) -> th.Tensor:
        """Active mode: left shift (``JobShopState._left_shift``), booking and machine-chain insertion; the start.

        The start is the first gap that fits, before the first busy interval ending after ``ready`` or
        after it or one of its successors; a zero-duration op starts at ``ready`` and books nothing.
        Each machine's rows (``_chains``: busy starts, busy ends, chain starts, chain nodes) have
        ``max_jobs`` slots and hold at most ``max_jobs - 1`` entries before the op is placed.
        """
        jobs = self._shape[0]
        chains = self._chains.view(-1, 4, jobs).index_select(0, bm)  # (n, 4, J)
        starts, ends, chain_starts = chains[:, 0], chains[:, 1], chains[:, 2]
        first = (ends <= ready[:, None]).sum(dim=1)  # first interval ending after ready
        fits_before = starts.gather(1, first[:, None]).squeeze(1) >= ready + duration
        next_starts = th.cat([starts[:, 1:], starts[:, -1:]], dim=1)  # the last slot is free (NEVER)
        fits_after = (next_starts - ends >= duration[:, None]) & (ends > ready[:, None])
        after = (ends + ~fits_after * NEVER).min(dim=1).values
        start = th.where(fits_before | (duration == 0), ready, after)
        # zero duration: "insert" NEVER at the first free slot of the busy rows, which changes nothing
        booked = duration > 0
        start_key = th.where(booked, start, NEVER)
        busy_pos = (starts < start_key[:, None]).sum(dim=1)
        chain_pos = (chain_starts <= start[:, None]).sum(dim=1)
        pos = th.stack([busy_pos, busy_pos, chain_pos, chain_pos], dim=1)[:, :, None]
        values = th.stack([start_key, th.where(booked, start + duration, NEVER), start, node], dim=1)[:, :, None]
        shifted = chains.gather(2, self._slots_j - (self._slots_j > pos).long())  # (n, 4, J) with a hole at pos
        self._chains.view(-1, 4, jobs).index_copy_(0, bm, shifted.scatter_(2, pos, values))
        return start

    def _update_nodes(self, sel: slice | th.Tensor, bj: th.Tensor, k: th.Tensor, last: th.Tensor, bound: th.Tensor,
                      remaining: th.Tensor, n_machines: th.Tensor) -> None:
        """Rewrite the dispatched job's node rows (the formulas of ``JobShopEnv._update_graph``)."""
        machines = self._shape[1]
        width = machines * _N_FEATURES
        rows = self._nodes.view(-1, width).index_select(0, bj)  # (n, M * 7): the job's nodes
        flat = rows.view(-1)
        op = self._all[: len(bj)] * width + k * _N_FEATURES  # the dispatched node, feature 0
        flat[op] = 1.0  # scheduled
        flat[op + 5] = 0.0  # no longer the candidate ...
        flat[op + ~last * _N_FEATURES + 5] = (~last).float()  # ... its job successor is
        real = self._real_ops[sel]
        dtype = th.float32 if self._exact32 else th.float64  # see reset()
        time_scale = self.time_scale[sel, None].to(dtype)
        nodes = rows.view(len(bj), machines, _N_FEATURES)
        tail = self._slots_m >= k[:, None]  # ops k..: their new completion bounds; an exact 0/1 blend
        nodes[..., 2] = nodes[..., 2] * ~tail + bound.to(dtype) / time_scale * real * tail
        nodes[..., 4] = remaining[:, None].to(dtype) / time_scale * real
        nodes[..., 6] = ((n_machines - k - 1).to(dtype) / n_machines.to(dtype))[:, None] * real
        self._nodes.view(-1, width).index_copy_(0, bj, rows)

    def _advance_clock(self, sel: slice | th.Tensor) -> None:
        """Non-delay: jump to the earliest time some operation can start; legal = those that can."""
        est = th.maximum(self._ready_key[sel], self.machine_free[sel].gather(1, self.next_machine[sel]))
        now = est.min(dim=1).values
        self.mask[sel] = est == now.clamp(max=NEVER - 1)[:, None]  # all done: est = NEVER everywhere, no legal job
        self.now[sel] = th.where(now < NEVER, now, self.now[sel])
