"""Tests of the batched job-shop engine (BatchedJobShop) and its Gymnasium vector face, against JobShopEnv."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

th = pytest.importorskip("torch")

from cpgym.envs.batched import BatchedJobShop  # noqa: E402
from cpgym.envs.batched_vector import BatchedJobShopVectorEnv  # noqa: E402
from cpgym.envs.jobshop import JobShopEnv, MixedSizeGenerator, UniformGenerator  # noqa: E402
from cpgym.errors import ArgumentError, IllegalActionError, ResetNeededError  # noqa: E402
from cpgym.instances import JobShopInstance, load, uniform, validate_schedule  # noqa: E402

ENV_ID = "cpgym/JobShop-v0"
VECTOR_ENTRY_POINT = "cpgym.envs.batched_vector:BatchedJobShopVectorEnv"
DEVICES = ["cpu"] + (["cuda"] if th.cuda.is_available() else [])
# Job 0: m0 for 4, then m1 for 2. Job 1: m1 for 3, then m0 for 1.
GAP = JobShopInstance("gap", [[0, 1], [1, 0]], [[4, 2], [3, 1]])


def numpy(tensor: th.Tensor) -> np.ndarray:
    return tensor.cpu().numpy()


def env_nodes(engine: BatchedJobShop, b: int) -> np.ndarray:
    """Instance ``b``'s node features renumbered as JobShopEnv numbers them (``j * n_machines + k``)."""
    inst = engine.instances[b]
    nodes = numpy(engine.node_features[b]).reshape(*engine.padding, 7)
    return nodes[: inst.n_jobs, : inst.n_machines].reshape(-1, 7)


def env_node_ids(engine: BatchedJobShop, b: int, padded: np.ndarray) -> np.ndarray:
    machines = engine.padding[1]
    return padded // machines * engine.instances[b].n_machines + padded % machines


class Reference:
    """One instance played by JobShopEnv, with its graph and its flat observation."""

    def __init__(self, instance: JobShopInstance, mode: str, reward: str) -> None:
        kwargs = dict(mode=mode, reward=reward, max_jobs=instance.n_jobs, max_machines=instance.n_machines)
        self.graph_env = JobShopEnv(instance, observation="graph", **kwargs)
        self.flat_env = JobShopEnv(instance, observation="flat", **kwargs)
        self.graph, _ = self.graph_env.reset(seed=0)
        self.flat, _ = self.flat_env.reset(seed=0)
        self.reward = 0.0

    def step(self, job: int) -> None:
        self.graph, self.reward, *_ = self.graph_env.step(job)
        self.flat, *_ = self.flat_env.step(job)


def assert_matches(engine: BatchedJobShop, b: int, ref: Reference) -> None:
    """Every public quantity of instance ``b`` equals the single env's."""
    state, inst = ref.graph_env.state, ref.graph_env.instance
    n, m = inst.n_jobs, inst.n_machines
    np.testing.assert_array_equal(numpy(engine.mask[b, :n]), state.mask)
    assert not engine.mask[b, n:].any()
    for name in ("next_op", "next_machine", "next_duration", "job_ready", "remaining_work"):
        np.testing.assert_array_equal(numpy(getattr(engine, name)[b, :n]), getattr(state, name), err_msg=name)
    np.testing.assert_array_equal(numpy(engine.machine_free[b, :m]), state.machine_free)
    np.testing.assert_array_equal(numpy(engine.start_times[b, :n, :m]), state.start_times)
    completion_lb = numpy(engine.completion_lb[b])
    np.testing.assert_array_equal(completion_lb[:n, :m], state.completion_lb)
    assert not completion_lb[n:].any() and not completion_lb[:, m:].any()
    assert (int(engine.now[b]), int(engine.makespan[b]), int(engine.makespan_lb[b]), int(engine.n_scheduled[b])) \
        == (state.now, state.makespan, state.makespan_lb, state.n_scheduled)
    assert bool(engine.done[b]) == state.done
    np.testing.assert_array_equal(env_nodes(engine, b), ref.graph["node_features"])
    padded = numpy(engine.node_features[b]).reshape(*engine.padding, 7)
    assert not padded[n:].any() and not padded[:, m:].any()
    np.testing.assert_array_equal(env_node_ids(engine, b, numpy(engine.candidate[b, :n])), ref.graph["candidate"])
    sources, targets = (numpy(t[b]).ravel() for t in engine.edge_index())
    chain = sorted(zip(env_node_ids(engine, b, sources[targets >= 0]), env_node_ids(engine, b, targets[targets >= 0])))
    n_edges, conjunctive = int(ref.graph["n_edges"][0]), n * (m - 1)
    assert chain == sorted(map(tuple, ref.graph["edge_index"][:, conjunctive:n_edges].T.tolist()))
    flat = numpy(engine.flat_features()[b])
    np.testing.assert_array_equal(flat[:n], ref.flat["job_features"])
    assert not flat[n:].any()


@st.composite
def instance_lists(draw: st.DrawFn, max_size: int = 6) -> list[JobShopInstance]:
    """1..max_size uniform instances of 1..5 jobs x 1..5 machines, durations 0..high (zeros included; high = 10**9
    sometimes, whose total work needs the engine's float64 feature arithmetic)."""
    return [uniform(draw(st.integers(1, 5)), draw(st.integers(1, 5)), low=0,
                    high=draw(st.integers(0, 9) | st.just(10**9)), seed=draw(st.integers(0, 2**32 - 1)))
            for _ in range(draw(st.integers(1, max_size)))]


@pytest.mark.parametrize("mode", ["active", "non_delay"])
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances=instance_lists(), reward=st.sampled_from(["dense", "sparse"]), extra_pad=st.integers(0, 2),
       spares=instance_lists(max_size=3), seed=st.integers(0, 2**32 - 1))
def test_matches_single_env_at_every_step(mode, instances, reward, extra_pad, spares, seed):
    """Random legal actions, random skipped instances and random restarts (env_ids): after every step every
    instance has the single env's masks, state, rewards, node features, candidates, edges and flat features."""
    rng = np.random.default_rng(seed)
    max_jobs = max(i.n_jobs for i in instances + spares) + extra_pad
    max_machines = max(i.n_machines for i in instances + spares) + extra_pad
    engine = BatchedJobShop(mode, reward, max_jobs=max_jobs, max_machines=max_machines)
    engine.reset(instances)
    refs = [Reference(inst, mode, reward) for inst in instances]
    for b, ref in enumerate(refs):
        assert_matches(engine, b, ref)
    while not bool(engine.done.all()):
        if spares and rng.random() < 0.05:  # restart a few instances with new ones
            ids = rng.choice(len(refs), min(len(spares), len(refs)), replace=False).tolist()
            new = [spares.pop() for _ in ids]
            engine.reset(new, env_ids=ids)
            for i, inst in zip(ids, new):
                refs[i] = Reference(inst, mode, reward)
        skip = rng.random(len(refs)) < 0.2
        actions = np.zeros(len(refs), dtype=np.int64)
        for b, ref in enumerate(refs):
            legal = np.flatnonzero(ref.graph_env.state.mask)
            if legal.size:
                actions[b] = rng.choice(legal)
        reward_out, done = engine.step(actions, skip=skip)
        for b, ref in enumerate(refs):
            stepped = not skip[b] and not ref.graph_env.state.done
            if stepped:
                ref.step(int(actions[b]))
            assert float(reward_out[b]) == (ref.reward if stepped else 0.0)
            assert bool(done[b]) == ref.graph_env.state.done
            assert_matches(engine, b, ref)
    for b, ref in enumerate(refs):
        schedule = engine.schedule(b)
        np.testing.assert_array_equal(schedule.start_times, ref.graph_env.state.start_times)
        assert validate_schedule(engine.instances[b], schedule.start_times, int(engine.makespan[b])).ok


@pytest.mark.parametrize("device", DEVICES)
def test_known_schedules(device):
    """GAP in active mode: dispatched 0, 0, 1, 1, job 1's first op fills m1's idle gap [0, 4) before job 0's
    second op (makespan 6 = the initial bound: dense return 0); dispatched 1, 1, 0, 0, job 0's first op (4) does
    not fit m0's gap [0, 3) and goes after [3, 4) (makespan 10: dense return -4). In non_delay mode, 1, 0, 1, 0:
    both first ops start at 0, then the clock jumps to 4, where both second ops can start."""
    active = BatchedJobShop("active", device=device)
    active.reset([GAP, GAP])
    returns = np.zeros(2)
    for actions in ([0, 1], [0, 1], [1, 0], [1, 0]):
        returns += numpy(active.step(actions)[0])
    np.testing.assert_array_equal(numpy(active.start_times), [[[0, 4], [0, 4]], [[4, 8], [0, 3]]])
    assert numpy(active.makespan).tolist() == [6, 10] and returns.tolist() == [0.0, -4.0]
    assert numpy(active.machine_order[0]).tolist() == [[0, 3], [2, 1]]  # m1: job 1's op 0 (node 2), then node 1

    non_delay = BatchedJobShop("non_delay", reward="sparse", device=device)
    non_delay.reset([GAP])
    assert non_delay.mask.tolist() == [[True, True]] and int(non_delay.now[0]) == 0
    non_delay.step([1])  # job 1 on m1 [0, 3); job 0 can still start at 0, job 1's second op not before 3
    assert non_delay.mask.tolist() == [[True, False]] and int(non_delay.now[0]) == 0
    non_delay.step([0])  # job 0 on m0 [0, 4)
    assert int(non_delay.now[0]) == 4 and non_delay.mask.tolist() == [[True, True]]
    assert non_delay.step([1])[0].tolist() == [0.0]
    reward, done = non_delay.step([0])
    assert reward.tolist() == [-6.0] and done.tolist() == [True] and not non_delay.mask.any()
    np.testing.assert_array_equal(numpy(non_delay.start_times[0]), [[0, 4], [0, 4]])


def test_illegal_actions_raise_and_change_nothing():
    engine = BatchedJobShop("non_delay")
    engine.reset([GAP, load("ft06")])
    engine.step([1, 0])
    before = engine.start_times.clone()
    with pytest.raises(IllegalActionError, match=r"instance 0 \(gap\): job 1: its next operation cannot start now"):
        engine.step([1, 0])  # GAP's job 1: its second op waits for its first (until 3)
    with pytest.raises(IllegalActionError, match="job 2 does not exist"):
        engine.step([2, 0])
    with pytest.raises(IllegalActionError, match="job -1 does not exist"):
        engine.step([0, -1])
    with pytest.raises(IllegalActionError, match="integer job indices"):
        engine.step([0.0, 1.0])
    with pytest.raises(IllegalActionError, match=r"shape \(2,\)"):
        engine.step([0])
    assert th.equal(engine.start_times, before)
    engine.step([0, 1], skip=[False, True])
    engine.step([0, 1], skip=[False, True])
    with pytest.raises(IllegalActionError, match="job 0 has no operation left"):
        engine.step([0, 1], skip=[False, True])
    engine.step([0, 1], skip=[True, False])  # a skipped instance's action is not looked at


def test_bad_arguments():
    with pytest.raises(ArgumentError, match="mode"):
        BatchedJobShop("semi_active")
    with pytest.raises(ArgumentError, match="reward"):
        BatchedJobShop(reward="shaped")
    engine = BatchedJobShop(max_jobs=3, max_machines=3)
    with pytest.raises(ResetNeededError):
        engine.step([0])
    with pytest.raises(ResetNeededError):
        engine.reset([GAP], env_ids=[0])
    with pytest.raises(ArgumentError, match="exceeds the padding 3x3"):
        engine.reset([load("ft06")])
    with pytest.raises(ArgumentError, match="non-empty sequence"):
        engine.reset([])
    engine.reset([GAP, GAP])
    with pytest.raises(ArgumentError, match="distinct indices"):
        engine.reset([GAP, GAP], env_ids=[1, 1])
    with pytest.raises(ArgumentError, match="distinct indices"):
        engine.reset([GAP], env_ids=[2])
    with pytest.raises(RuntimeError, match="0 of 4 operations"):
        engine.schedule(0)


def test_memory_is_linear_in_the_operations():
    """No operation x operation tensor: 16x the operations (40x40 vs 10x10) cost < 17x the bytes (not 256x)."""
    sizes = []
    for n in (10, 40):
        for mode in ("active", "non_delay"):
            engine = BatchedJobShop(mode)
            engine.reset([uniform(n, n, seed=0)] * 4)
            sizes.append(engine.memory_bytes())
    assert sizes[2] < 17 * sizes[0] and sizes[3] < 17 * sizes[1]


# ---------------------------------------------------------------------- the Gymnasium vector face
def vector_spec() -> gym.envs.registration.EnvSpec:
    """cpgym/JobShop-v0's spec with the batched vector entry point (until cpgym.envs registers it)."""
    spec = gym.spec(ENV_ID)
    assert spec.vector_entry_point in (None, VECTOR_ENTRY_POINT)
    return dataclasses.replace(spec, vector_entry_point=VECTOR_ENTRY_POINT)


def assert_same_step(ours: tuple, theirs: tuple) -> None:
    """Observations, rewards, flags and infos of the batched vector env equal SyncVectorEnv's."""
    for key, value in theirs[0].items():
        assert ours[0][key].dtype == value.dtype, key
        if key != "edge_index":
            np.testing.assert_array_equal(ours[0][key], value, err_msg=key)
            continue
        for b, n_edges in enumerate(theirs[0]["n_edges"][:, 0]):  # the same edge set; the chain order differs
            assert sorted(map(tuple, ours[0][key][b, :, :n_edges].T.tolist())) == \
                sorted(map(tuple, value[b, :, :n_edges].T.tolist()))
            assert not ours[0][key][b, :, n_edges:].any()
    for ours_part, their_part in zip(ours[1:4], theirs[1:4]):
        assert ours_part.dtype == their_part.dtype
        np.testing.assert_array_equal(ours_part, their_part)
    assert set(ours[4]) == set(theirs[4])
    for key, value in theirs[4].items():
        if key == "schedule":
            for b in np.flatnonzero(theirs[4]["_schedule"]):
                np.testing.assert_array_equal(ours[4][key][b].start_times, value[b].start_times)
        else:
            assert ours[4][key].dtype == value.dtype, key
            np.testing.assert_array_equal(ours[4][key], value, err_msg=key)


@pytest.mark.parametrize("mode", ["active", "non_delay"])
@pytest.mark.parametrize("observation, invalid_action, reward",
                         [("graph", "mask", "dense"), ("graph", "penalty", "sparse"), ("flat", "penalty", "dense")])
def test_vector_env_equals_sync_vector_env(mode, observation, invalid_action, reward):
    """Mixed sizes, mostly legal actions, autoresets: step for step what SyncVectorEnv over JobShopEnv returns."""
    generator = MixedSizeGenerator((UniformGenerator(3, 2, 0, 3), UniformGenerator(4, 4, 0, 5),
                                    UniformGenerator(2, 5, 1, 4)))
    kwargs = dict(generator=generator, mode=mode, observation=observation, max_jobs=4, max_machines=5,
                  invalid_action=invalid_action, reward=reward, reward_scale=0.5)
    envs = gym.make_vec(vector_spec(), num_envs=4, vectorization_mode="vector_entry_point", **kwargs)
    sync = gym.vector.SyncVectorEnv([lambda: JobShopEnv(**kwargs) for _ in range(4)])
    assert isinstance(envs.unwrapped, BatchedJobShopVectorEnv)
    assert envs.metadata["autoreset_mode"] == sync.metadata["autoreset_mode"]
    assert (envs.observation_space, envs.action_space) == (sync.observation_space, sync.action_space)
    ours, theirs = envs.reset(seed=3), sync.reset(seed=3)
    np.testing.assert_array_equal(ours[0]["action_mask"], theirs[0]["action_mask"])
    rng = np.random.default_rng(0)
    illegal = finished = 0
    for _ in range(150):
        mask = envs.action_masks()
        np.testing.assert_array_equal(mask, ours[0]["action_mask"].astype(bool))
        actions = np.array([rng.choice(np.flatnonzero(row)) if row.any() and rng.random() < 0.9 else rng.integers(4)
                            for row in mask])
        ours, theirs = envs.step(actions), sync.step(actions)
        assert_same_step(ours, theirs)
        illegal += ours[4]["illegal_action"].sum()
        finished += ours[4].get("_makespan", np.zeros(4, bool)).sum()
    assert illegal and finished  # both paths were exercised


def test_vector_env_errors():
    envs = BatchedJobShopVectorEnv(2, instance="ft06")
    with pytest.raises(ResetNeededError):
        envs.step(np.zeros(2, dtype=np.int64))
    envs.reset(seed=0)
    with pytest.raises(IllegalActionError, match="outside the action space"):
        envs.step(np.array([0, 6]))
    with pytest.raises(IllegalActionError, match="integer job indices"):
        envs.step(np.array([0.0, 1.0]))
    with pytest.raises(ArgumentError, match="does not render"):
        BatchedJobShopVectorEnv(2, instance="ft06", render_mode="ansi")
    with pytest.raises(ArgumentError, match="num_envs"):
        BatchedJobShopVectorEnv(0, instance="ft06")
    with pytest.raises(ArgumentError, match="unknown reset option"):
        envs.reset(options={"instanse": "ft06"})
    envs.reset(options={"instance": "ft06"})  # non_delay on ft06: the first ops of all jobs are legal at 0
    envs.step(np.array([0, 0]))
    with pytest.raises(IllegalActionError, match="legal jobs"):
        envs.step(np.array([0, 0]))  # job 0's second op cannot start now
