"""Neur2RO: ReLU MILP embedding, data generation, training, ML-driven CCG (tiny networks and instances)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch as th
from ortools.linear_solver import pywraplp

from cpgym.agents.neur2ro.ccg import (
    Candidates,
    NetView,
    adversarial_problem,
    default_model_path,
    main_objective,
    main_problem,
    neur2ro_ccg,
    solve_neur2ro,
    x_embedding_milp,
    xi_embedding_milp,
)
from cpgym.agents.neur2ro.data import DataConfig, generate_dataset, generate_shard, load_dataset
from cpgym.agents.neur2ro.net import NetConfig, Scaling, ValueNet, load_value_net, save_value_net
from cpgym.agents.neur2ro.problems import CapitalBudgetingProblem, KnapsackProblem, get_problem, problem_for
from cpgym.agents.neur2ro.train import (
    add_neur2ro_parser,
    data_config,
    evaluate_net,
    run,
    split_by_instance,
    train_value_net,
)
from cpgym.agents.neur2ro.train import main as train_main
from cpgym.cp_models.relu_milp import add_relu_network, forward, interval_bounds
from cpgym.cp_models.robust.capital_budgeting import cb_second_stage
from cpgym.cp_models.robust.knapsack import evaluate_knapsack, knapsack_second_stage
from cpgym.errors import ArgumentError, UnknownProblemError
from cpgym.instances.capital_budgeting import generate_capital_budgeting
from cpgym.instances.robust_knapsack import generate_robust_knapsack


def _value(v) -> float:
    return float(v) if isinstance(v, (int, float)) else v.solution_value()


# ---------------------------------------------------------------- relu_milp

def _torch_mlp(sizes, seed):
    th.manual_seed(seed)
    mods = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        mods += [th.nn.Linear(a, b), th.nn.ReLU()]
    return th.nn.Sequential(*mods[:-1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_relu_milp_matches_torch_forward(seed):
    mlp = _torch_mlp([3, 8, 6, 2], seed)
    layers = ValueNet.mlp_layers(mlp)
    point = np.random.default_rng(seed).uniform(-1, 1, 3)
    solver = pywraplp.Solver.CreateSolver("SCIP")
    x = [solver.NumVar(-1, 1, f"x{i}") for i in range(3)]
    for v, p in zip(x, point):
        solver.Add(v == p)
    enc = add_relu_network(solver, x, -np.ones(3), np.ones(3), layers)
    solver.Maximize(enc.outputs[0])
    assert solver.Solve() == pywraplp.Solver.OPTIMAL
    expected = mlp(th.tensor(point, dtype=th.float32)).detach().numpy()
    assert np.allclose([_value(o) for o in enc.outputs], expected, atol=1e-5)
    assert np.allclose(forward(layers, point), expected, atol=1e-5)
    assert np.all(enc.lower <= expected + 1e-6) and np.all(expected <= enc.upper + 1e-6)


def test_relu_milp_optimum_is_network_maximum_over_box():
    """Maximising the encoded output equals a dense grid search of the true network (1-D input)."""
    layers = ValueNet.mlp_layers(_torch_mlp([1, 10, 5, 1], 3))
    solver = pywraplp.Solver.CreateSolver("SCIP")
    x = solver.NumVar(-2, 2, "x")
    enc = add_relu_network(solver, [x], [-2.0], [2.0], layers)
    solver.Maximize(enc.outputs[0])
    assert solver.Solve() == pywraplp.Solver.OPTIMAL
    grid = forward(layers, np.linspace(-2, 2, 40001)[:, None])[:, 0]
    assert solver.Objective().Value() == pytest.approx(grid.max(), abs=1e-4)


def test_interval_bounds_contain_samples_and_stable_neurons_get_no_binary():
    layers = ValueNet.mlp_layers(_torch_mlp([4, 16, 1], 4))
    lo, hi = -np.ones(4), np.ones(4)
    out_lo, out_hi = interval_bounds(layers, lo, hi)[-1]
    values = forward(layers, np.random.default_rng(0).uniform(-1, 1, (2000, 4)))
    assert np.all(values >= out_lo - 1e-9) and np.all(values <= out_hi + 1e-9)
    # a degenerate box makes every neuron stable: no binary variable at all
    solver = pywraplp.Solver.CreateSolver("SCIP")
    x = [solver.NumVar(0.5, 0.5, f"x{i}") for i in range(4)]
    enc = add_relu_network(solver, x, np.full(4, 0.5), np.full(4, 0.5), layers)
    assert enc.n_binaries == 0 and enc.n_stable == 16
    # constant inputs are evaluated directly
    const = add_relu_network(solver, [0.5] * 4, np.full(4, 0.5), np.full(4, 0.5), layers)
    assert const.outputs[0] == pytest.approx(forward(layers, np.full(4, 0.5))[0])


def test_relu_milp_rejects_bad_shapes():
    layers = ValueNet.mlp_layers(_torch_mlp([2, 3, 1], 0))
    solver = pywraplp.Solver.CreateSolver("SCIP")
    with pytest.raises(ValueError, match="expects 2 inputs"):
        add_relu_network(solver, [1.0, 2.0, 3.0], [0, 0, 0], [1, 1, 1], layers)
    with pytest.raises(ValueError, match="exceed"):
        interval_bounds(layers, [1, 1], [0, 0])


# ---------------------------------------------------------------- value network

def _tiny_net(problem_name: str, instance, seed: int = 0) -> ValueNet:
    problem = get_problem(problem_name)
    th.manual_seed(seed)
    static = problem.static(instance)
    fx = problem.x_features(static, np.ones(instance.n))
    xi_hi = np.ones(problem.xi_shape(instance.n))
    fxi = np.concatenate([problem.xi_features(static, -xi_hi), problem.xi_features(static, xi_hi)])
    fx = np.concatenate([fx, problem.x_features(static, np.zeros(instance.n))])
    scaling = Scaling(fx.min(0).tolist(), fx.max(0).tolist(), fxi.min(0).tolist(), fxi.max(0).tolist(), 0.0, 1e4)
    config = NetConfig(problem_name, problem.n_x_features, problem.n_xi_features, [6], 4, [5], [6], scaling)
    return ValueNet(config).eval()


def _torch_predict(net: ValueNet, instance, x, xi) -> float:
    problem = get_problem(net.config.problem)
    static = problem.static(instance)
    s = net.config.scaling
    fx = th.from_numpy(s.scale_x(problem.x_features(static, x)))[None]
    fxi = th.from_numpy(s.scale_xi(problem.xi_features(static, xi)))[None]
    with th.no_grad():
        return float(net(fx, fxi, th.ones(1, instance.n)))


def _knapsack(n=6, seed=0):
    return generate_robust_knapsack(n, "UN", h=40, dev=0.3, seed=seed)


def _cb(n=4, seed=3):
    return generate_capital_budgeting(n, seed)


@pytest.mark.parametrize("problem,make", [("knapsack", _knapsack), ("capital_budgeting", _cb)])
def test_milp_embedding_equals_torch_forward(problem, make):
    instance = make()
    net = _tiny_net(problem, instance)
    view = NetView(net, instance)
    rng = np.random.default_rng(1)
    x = (rng.random(instance.n) < 0.6).astype(np.int64)
    x[0] = 1
    if problem == "capital_budgeting":
        x = CapitalBudgetingProblem.sample_x(instance, rng).astype(np.int64)
    solver = pywraplp.Solver.CreateSolver("SCIP")
    x_vars = [solver.BoolVar(f"x{i}") for i in range(instance.n)]
    for v, val in zip(x_vars, x):
        solver.Add(v == int(val))
    x_emb = x_embedding_milp(solver, view, x_vars)
    xi_vars, to_xi, xi_emb = xi_embedding_milp(solver, view, x)
    values = rng.uniform(0.0 if problem == "knapsack" else -1.0, 1.0, len(xi_vars)) * 0.4
    for v, val in zip(xi_vars, values):
        solver.Add(v == float(val))
    enc = add_relu_network(solver, [*x_emb.outputs, *xi_emb.outputs], np.concatenate([x_emb.lower, xi_emb.lower]),
                           np.concatenate([x_emb.upper, xi_emb.upper]), view.head)
    solver.Minimize(enc.outputs[0])
    assert solver.Solve() == pywraplp.Solver.OPTIMAL
    xi = to_xi(values)
    expected = _torch_predict(net, instance, x, xi)
    assert _value(enc.outputs[0]) == pytest.approx(expected, abs=1e-5)
    assert view.predict(x, xi) == pytest.approx(expected, abs=1e-5)


def test_save_load_roundtrip(tmp_path):
    instance = _knapsack()
    net = _tiny_net("knapsack", instance)
    pt, js = save_value_net(net, tmp_path / "m.pt")
    assert json.loads(js.read_text())["format"] == "cpgym-neur2ro"
    loaded = load_value_net(pt)
    x, xi = np.ones(instance.n), np.full(instance.n, 0.3)
    assert _torch_predict(loaded, instance, x, xi) == pytest.approx(_torch_predict(net, instance, x, xi))


# ---------------------------------------------------------------- data

def test_knapsack_data_labels_and_scenarios():
    config = DataConfig("knapsack", instances=2, decisions=2, scenarios=4, instances_per_shard=2, vertex_fraction=0.5)
    data = generate_shard(config, 0)
    assert len(data["q"]) == 2 * 2 * 4
    for k in range(len(data["q"])):
        index = int(data["inst"][k])
        rng = np.random.default_rng([config.seed, index])
        instance = KnapsackProblem.sample_instance(rng)
        n = instance.n
        x, xi = data["x"][k, :n], data["xi"][k, :n].astype(float)
        assert np.all(xi >= 0) and np.all(xi <= 1) and xi.sum() <= instance.gamma + 1e-5
        assert np.all(xi[x == 0] == 0)
        assert data["q"][k] == pytest.approx(knapsack_second_stage(instance, x, xi)[0], rel=1e-5)


def test_cb_data_decisions_robust_feasible_and_labels_exact():
    config = DataConfig("capital_budgeting", instances=1, decisions=3, scenarios=2, instances_per_shard=1)
    data = generate_shard(config, 0)
    instance = CapitalBudgetingProblem.sample_instance(np.random.default_rng([config.seed, 0]))
    for x, xi, q in zip(data["x"], data["xi"], data["q"]):
        assert instance.robust_feasible(x[: instance.n])
        assert np.all(np.abs(xi) <= 1)
        assert q == pytest.approx(cb_second_stage(instance, x[: instance.n], xi)[0], rel=1e-5)


def test_dataset_is_resumable_and_checks_settings(tmp_path):
    config = DataConfig("knapsack", instances=3, decisions=1, scenarios=2, instances_per_shard=2)
    generate_dataset(config, tmp_path, workers=1, progress=False)
    shards = sorted(tmp_path.glob("shard_*.npz"))
    assert len(shards) == 2
    stamp = shards[0].stat().st_mtime_ns
    shards[1].unlink()
    generate_dataset(config, tmp_path, workers=1, progress=False)
    assert shards[0].stat().st_mtime_ns == stamp and shards[1].exists()
    ds = load_dataset(tmp_path)
    assert len(ds) == 3 * 1 * 2 and ds.static.shape[0] == 3
    with pytest.raises(ValueError, match="other settings"):
        generate_dataset(DataConfig("knapsack", instances=4), tmp_path, workers=1, progress=False)


# ---------------------------------------------------------------- training

def test_training_lowers_loss_and_resumes(tmp_path):
    generate_dataset(DataConfig("knapsack", instances=4, decisions=3, scenarios=6, instances_per_shard=2),
                     tmp_path / "d", workers=1, progress=False)
    ds = load_dataset(tmp_path / "d")
    ckpt = tmp_path / "ckpt.pt"
    net, summary = train_value_net(ds, (8,), 4, (8,), (8,), epochs=2, lr=1e-2, checkpoint=ckpt, progress=False)
    assert th.load(ckpt, weights_only=True)["epoch"] == 2
    net, resumed = train_value_net(ds, (8,), 4, (8,), (8,), epochs=30, batch_size=8, lr=1e-2, checkpoint=ckpt,
                                   progress=False)
    assert resumed["val_mse"] <= summary["val_mse"]
    train_idx, _ = split_by_instance(ds)
    baseline = float(np.var(net.config.scaling.scale_q(ds.q[train_idx])))  # best constant predictor
    assert evaluate_net(net, ds, train_idx)[0] < 0.5 * baseline


def test_train_cli_writes_model(tmp_path):
    summary = train_main(["--problem", "capital_budgeting", "--instances", "2", "--decisions", "2", "--scenarios",
                          "2", "--epochs", "1", "--workers", "1", "--data-dir", str(tmp_path / "d"),
                          "--out", str(tmp_path / "cb.pt"), "--logdir", str(tmp_path / "tb"), "--no-progress"])
    assert (tmp_path / "cb.pt").is_file() and (tmp_path / "cb.json").is_file()
    assert summary["data"]["instances"] == 2 and any((tmp_path / "tb").iterdir())
    assert load_value_net(tmp_path / "cb.pt").config.problem == "capital_budgeting"


# ---------------------------------------------------------------- CCG

@pytest.mark.parametrize("n_exact", [0, 2])
def test_main_problem_matches_brute_force_knapsack(n_exact):
    """Objective = max_x fs(x) + min(Q(x, xi_k*), Q(x, e) for the exact scenarios e) with k* the scenario of
    smallest prediction."""
    instance = _knapsack(n=6, seed=2)
    view = NetView(_tiny_net("knapsack", instance, seed=5), instance)
    rng = np.random.default_rng(0)
    scenarios = [np.zeros(instance.n), *(np.clip(rng.random((2, instance.n)), 0, 0.5))]
    exact = list(np.clip(rng.random((n_exact, instance.n)), 0, 0.5))
    x, _, objective = main_problem(view, scenarios, 30, exact=exact)
    best = -np.inf
    for bits in itertools.product((0, 1), repeat=instance.n):
        cand = np.array(bits)
        k = int(np.argmin([view.predict(cand, s) for s in scenarios]))
        second = min(knapsack_second_stage(instance, cand, xi)[0] for xi in [scenarios[k], *exact])
        best = max(best, instance.first_stage_value(cand) + second)
    assert objective == pytest.approx(best, rel=1e-6)
    assert main_objective(view, x, scenarios, exact=exact) == pytest.approx(best, rel=1e-6)


def test_main_problem_all_mode_is_exact_ccg_main():
    """``mode="all"``: max_x fs(x) + min_k Q(x, xi_k), all exact."""
    instance = _knapsack(n=6, seed=3)
    view = NetView(_tiny_net("knapsack", instance), instance)
    rng = np.random.default_rng(1)
    scenarios = [np.zeros(instance.n), *(np.clip(rng.random((2, instance.n)), 0, 0.6))]
    _, _, objective = main_problem(view, scenarios, 30, mode="all")
    best = max(
        instance.first_stage_value(np.array(bits))
        + min(knapsack_second_stage(instance, np.array(bits), s)[0] for s in scenarios)
        for bits in itertools.product((0, 1), repeat=instance.n)
    )
    assert objective == pytest.approx(best, rel=1e-6)
    with pytest.raises(ValueError, match="mode"):
        main_problem(view, scenarios, 30, mode="bogus")


def test_main_problem_matches_brute_force_capital_budgeting():
    instance = _cb(n=5, seed=4)
    view = NetView(_tiny_net("capital_budgeting", instance, seed=1), instance)
    scenarios = [np.zeros(4), np.ones(4), np.array([1.0, -1.0, 0.5, 0.0])]
    x, _, objective = main_problem(view, scenarios, 30)
    assert instance.robust_feasible(x)
    best = -np.inf
    for bits in itertools.product((0, 1), repeat=instance.n):
        cand = np.array(bits)
        if instance.robust_feasible(cand):
            k = int(np.argmin([view.predict(cand, s) for s in scenarios]))
            best = max(best, cb_second_stage(instance, cand, scenarios[k])[0])
    assert objective == pytest.approx(best, rel=1e-5)


@pytest.mark.parametrize("problem,make", [("knapsack", _knapsack), ("capital_budgeting", _cb)])
def test_adversary_minimises_prediction(problem, make):
    instance = make()
    view = NetView(_tiny_net(problem, instance, seed=2), instance)
    x = np.ones(instance.n, dtype=np.int64)
    if problem == "capital_budgeting":
        x = CapitalBudgetingProblem.sample_x(instance, np.random.default_rng(0)).astype(np.int64)
    xi, value = adversarial_problem(view, x, 30)
    rng = np.random.default_rng(0)
    samples = [get_problem(problem).sample_xi(instance, x, rng, vertex_fraction=0.5) for _ in range(300)]
    assert value <= min(view.predict(x, s) for s in samples) + 1e-6
    if problem == "knapsack":
        assert xi.sum() <= instance.gamma + 1e-6 and np.all((xi >= 0) & (xi <= 1))


def test_ccg_returns_feasible_decision(tmp_path):
    instance = _cb(n=5)
    net = _tiny_net("capital_budgeting", instance)
    # select=False: deterministic (the capital-budgeting candidate score samples scenarios while its time lasts)
    x, info = neur2ro_ccg(net, instance, time_limit=20, select=False)
    assert x.shape == (5,) and instance.robust_feasible(x)
    assert info["status"] in ("converged", "repeated_scenario") and info["iterations"] >= 1
    path, _ = save_value_net(net, tmp_path / "cb.pt")
    x2, info2 = solve_neur2ro(instance, "capital_budgeting", 20, model_path=path, select=False)
    assert np.array_equal(x, x2) and info2["model"] == str(path)
    for problem in (None, "cb"):  # inferred from the instance, or the registry's name
        assert np.array_equal(solve_neur2ro(instance, problem, 20, model_path=path, select=False)[0], x)
    with pytest.raises(ArgumentError, match="not one of problem 'knapsack'"):
        solve_neur2ro(instance, "knapsack", 5, model_path=path)
    with pytest.raises(ValueError, match="trained for"):
        solve_neur2ro(_knapsack(), "knapsack", 5, model_path=path)
    with pytest.raises(FileNotFoundError):
        solve_neur2ro(instance, "capital_budgeting", 5, model_path=tmp_path / "missing.pt")


def test_candidates_evaluate_once_and_keep_the_best():
    instance = _knapsack(n=8, seed=1)
    pool = Candidates("knapsack", instance)
    good, bad = np.ones(instance.n, dtype=np.int64), np.zeros(instance.n, dtype=np.int64)
    first = pool.add(bad, 5)
    assert pool.add(bad, 5) is first and len(pool) == 1  # evaluated once
    pool.add(good, 5)
    exact = [evaluate_knapsack(instance, x).upper for x in (bad, good)]
    assert pool.values() == pytest.approx(exact)
    assert np.array_equal(pool.best()[0], (bad, good)[int(np.argmax(exact))])


def test_ccg_selection_returns_best_candidate_and_never_loses():
    """Exact selection returns the best-scored proposal; it is at least as good as the plain method's last x
    (without time limits the plain trajectory is a prefix of the selecting one)."""
    instance = _knapsack(n=10, seed=4)
    net = _tiny_net("knapsack", instance, seed=1)  # untrained: its worst-case guesses are poor
    x, info = neur2ro_ccg(net, instance, time_limit=30)
    score = evaluate_knapsack(instance, x).objective
    assert info["candidates"] == len(info["candidate_values"]) >= 1 and info["feedback"] >= 1
    assert score == pytest.approx(max(info["candidate_values"]), rel=1e-9)
    x0, info0 = neur2ro_ccg(net, instance, time_limit=30, select=False)
    assert info0["candidates"] == 0 and info0["feedback"] == 0
    assert evaluate_knapsack(instance, x0).objective <= score + 1e-6


def test_subcommand_registration():
    import argparse

    parser = argparse.ArgumentParser(prog="train.py")
    add_neur2ro_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["neur2ro", "--problem", "knapsack", "--literature"])
    assert args.func is run and data_config(args) == DataConfig("knapsack", 500, 10, 50, vertex_fraction=0.0)
    args = parser.parse_args(["neur2ro", "--problem", "knapsack"])
    assert data_config(args) == DataConfig("knapsack", 200, 10, 25, vertex_fraction=0.3)
    args = parser.parse_args(["neur2ro", "--problem", "capital_budgeting"])  # no vertex scenarios
    assert data_config(args) == DataConfig("capital_budgeting", 150, 10, 20, vertex_fraction=0.0)
    with pytest.raises(SystemExit):
        parser.parse_args(["neur2ro", "--problem", "tsp"])


@pytest.mark.parametrize("problem", ["knapsack", "capital_budgeting"])
def test_shipped_models_load(problem):
    net = load_value_net(default_model_path(problem))
    assert net.config.problem == problem and net.config.scaling is not None
    assert default_model_path(problem).with_suffix(".json").is_file()


# ---------------------------------------------------------------- problems

def test_problems_by_any_name_and_by_instance():
    assert get_problem("knapsack") is get_problem("rkp") is get_problem("robust_knapsack") is KnapsackProblem
    assert get_problem("capital_budgeting") is get_problem("cb") is CapitalBudgetingProblem
    assert problem_for(_knapsack()) is KnapsackProblem and problem_for(_cb()) is CapitalBudgetingProblem
    assert default_model_path("rkp") == default_model_path("knapsack")
    for name in ("jobshop", "tsp"):  # registered but not robust, unknown
        with pytest.raises(UnknownProblemError):
            get_problem(name)


@pytest.mark.parametrize("problem,make", [("knapsack", _knapsack), ("capital_budgeting", _cb)])
def test_batched_prediction_equals_prediction(problem, make):
    """``predict_batch`` (the problem's affine first layer) equals the full forward pass per scenario."""
    instance = make()
    view = NetView(_tiny_net(problem, instance, seed=3), instance)
    rng = np.random.default_rng(2)
    x = CapitalBudgetingProblem.sample_x(instance, rng) if problem == "capital_budgeting" else np.ones(instance.n)
    xis = np.stack([view.problem.sample_xi(instance, x, rng, vertex_fraction=0.5) for _ in range(5)])
    batch = view.predict_batch(x, th.from_numpy(xis).float()).detach().numpy()
    assert batch == pytest.approx([_torch_predict(view.net, instance, x, xi) for xi in xis], abs=1e-5)


def test_knapsack_projection_onto_the_budgeted_box():
    instance = generate_robust_knapsack(6, "UN", h=40, dev=1 / 3, seed=0)  # Gamma = 2
    x = np.array([1, 1, 1, 1, 0, 0])
    xi = th.tensor([[1.0, 1.0, 1.0, 1.0, 1.0, 1.0],  # over budget on the chosen items: 0.5 each
                    [0.2, 0.3, -0.4, 1.5, 0.9, 0.1]])  # clip to the box: within budget
    projected = KnapsackProblem.project(instance, x, xi).numpy()
    assert projected[0] == pytest.approx([0.5, 0.5, 0.5, 0.5, 0, 0], abs=1e-6)
    assert projected[1] == pytest.approx([0.2, 0.3, 0, 1, 0, 0], abs=1e-6)


def test_package_exports_load_lazily_without_torch():
    import subprocess
    import sys

    code = ("import sys, cpgym.agents.neur2ro as n; assert n.get_problem('cb').name == 'capital_budgeting'; "
            "assert 'torch' not in sys.modules; assert all(getattr(n, name) for name in n.__all__)")
    subprocess.run([sys.executable, "-c", code], check=True)
