"""Neur2RO (Dumouchelle, Julien, Kurtz & Khalil, ICLR 2024): column-and-constraint generation (CCG)
with a learned second-stage value function, on OR-Tools' SCIP (``pywraplp``) instead of Gurobi.

Both nested problems embed the trained :class:`~cpgym.agents.neur2ro.net.ValueNet` exactly as a
MILP (:mod:`cpgym.cp_models.relu_milp`):

* **Main problem** (scenarios ``xi_1..xi_K`` found so far, maximisation form): first-stage ``x``.
  Because ``x`` is binary, each item's ``phi_x`` output is ``phi_x(0) + x_i (phi_x(1) - phi_x(0))``,
  so the set sum is linear in ``x`` and only ``rho_x`` and the value head need ReLU encodings
  (``rho_x`` once, the head once per scenario with the constant scenario embedding). One-hot
  ``z_k`` picks the scenario of smallest prediction (``t <= v_k``, ``t >= v_k - M (1 - z_k)``:
  the argmax encoding of the minimising adversary), and the second stage of the chosen scenario
  is modelled exactly (``y``/``r`` variables whose value counts only for ``z_k = 1``). Objective:
  first-stage value plus that exact second-stage value.
* **Adversarial problem** (``x`` fixed): minimise the network's prediction over the uncertainty
  set. The ``x`` embedding is a constant; every item's ``phi_xi`` has an affine first layer in the
  scenario variables and is encoded item by item. Knapsack: ``xi_i`` is a variable only for the
  chosen items (``Q`` ignores the others, which are fixed to 0, as in the training data), with
  ``sum xi <= Gamma``; capital budgeting: ``xi in [-1, 1]^4``. The MILP (time-capped) is compared with a
  heuristic (sampled scenarios refined by projected gradient on the network); the lower prediction wins.
* Iterate until the adversary's prediction is no lower than the main problem's worst predicted
  value (within ``tol`` of the label range) or the time limit; return the last main-problem ``x``
  (kept from the previous iteration when SCIP's time-capped incumbent is worse on the main objective).
  ``mode="all"`` is a variant with exact second stages for every scenario in the main problem.
* Candidate selection (default, ``select=True``): the network guides the search, an exact score
  (``evaluate_knapsack``; capital budgeting: the exact evaluator without the literature scenarios)
  picks among its proposals. Every distinct main-problem ``x`` is scored and the best is returned; when
  the network-driven loop stops early, the exact worst case of the last ``x`` enters the main problem
  with its own exact second stage and the loop continues until the time limit. The caller scores the
  returned ``x`` with the exact evaluator again (with its own, longer limit).

Nothing here depends on the problem: features, sampling, the uncertainty set and the candidate score
come from the problem class (:mod:`cpgym.agents.neur2ro.problems`), the second-stage constraints from
its :class:`~cpgym.cp_models.robust.recourse.Recourse`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache, cached_property
from pathlib import Path

import numpy as np
import torch as th
from ortools.linear_solver import pywraplp

from cpgym.agents.neur2ro.net import ValueNet, load_value_net
from cpgym.agents.neur2ro.problems import get_problem, problem_for
from cpgym.agents.shipped import models_dir
from cpgym.cp_models.relu_milp import ReluEncoding, add_relu_network
from cpgym.cp_models.robust.common import RobustEvaluation
from cpgym.cp_models.robust.recourse import Recourse, recourse_for
from cpgym.errors import ArgumentError

RESERVE = 0.03  # share of the time limit kept free: solver time caps overrun by model building (~0.1-1 s)


class NetView:
    """The network specialised to one instance: numpy layers and constant embeddings (no torch later)."""

    def __init__(self, net: ValueNet, instance) -> None:
        self.net, self.instance = net, instance
        self.problem = get_problem(net.config.problem)
        if problem_for(instance) is not self.problem:
            raise ArgumentError(f"the network was trained for {net.config.problem!r}, not for {instance.name} "
                                f"(a {problem_for(instance).name} instance)")
        self.recourse = recourse_for(instance)
        self.scaling = net.config.scaling
        self.static = self.problem.static(instance)
        self.n = instance.n
        self.rho_x = ValueNet.mlp_layers(net.x_encoder.rho)
        self.rho_xi = ValueNet.mlp_layers(net.xi_encoder.rho)
        self.phi_xi = ValueNet.mlp_layers(net.xi_encoder.phi)
        self.head = ValueNet.mlp_layers(net.head)
        ones = np.ones(self.n, dtype=np.int8)
        self.phi_x0 = self._phi_x(0 * ones)  # (n, E): item embeddings with x_i = 0 / 1
        self.phi_x1 = self._phi_x(ones)

    @th.no_grad()
    def _phi_x(self, x: np.ndarray) -> np.ndarray:
        f = self.scaling.scale_x(self.problem.x_features(self.static, x))
        return self.net.x_encoder.phi(th.from_numpy(f)).double().numpy()

    @th.no_grad()
    def xi_first_layer(self, xi: np.ndarray) -> np.ndarray:
        """Pre-activations of ``phi_xi``'s first layer per item, (n, H)."""
        f = self.scaling.scale_xi(self.problem.xi_features(self.static, xi))
        return self.net.xi_encoder.phi[0](th.from_numpy(f)).double().numpy()

    @th.no_grad()
    def x_embedding(self, x: np.ndarray) -> np.ndarray:
        agg = self.phi_x0.sum(0) + np.asarray(x) @ (self.phi_x1 - self.phi_x0)
        return self.net.x_encoder.rho(th.from_numpy(agg).float()).double().numpy()

    @th.no_grad()
    def xi_embedding(self, xi: np.ndarray) -> np.ndarray:
        f = self.scaling.scale_xi(self.problem.xi_features(self.static, xi))
        return self.net.xi_encoder(th.from_numpy(f)[None], th.ones(1, self.n))[0].double().numpy()

    @cached_property
    def xi_affine(self) -> tuple[np.ndarray, np.ndarray]:
        """First layer of ``phi_xi`` as ``a0 + sum_d local_d * slopes[d]`` per item, with the item's local
        inputs along the problem's ``xi_directions``: ``a0`` (n, H), ``slopes`` (D, n, H)."""
        a0 = self.xi_first_layer(np.zeros(self.problem.xi_shape(self.n)))
        slopes = np.stack([self.xi_first_layer(d) - a0 for d in self.problem.xi_directions(self.n)])
        return a0, slopes

    @cached_property
    def _xi_affine_torch(self) -> tuple[th.Tensor, th.Tensor]:
        a0, slopes = self.xi_affine
        return th.from_numpy(a0).float(), th.from_numpy(slopes).float()

    def predict_batch(self, x: np.ndarray, xi: th.Tensor) -> th.Tensor:
        """Scaled predictions for scenarios ``xi`` (B, xi_dim), differentiable in ``xi``.

        Uses that the first layer of ``phi_xi`` is affine in the scenario (:attr:`xi_affine`).
        """
        pre = self.problem.first_layer(*self._xi_affine_torch, xi)
        emb_xi = self.net.xi_encoder.rho(self.net.xi_encoder.phi[1:](pre).sum(1))
        emb_x = th.from_numpy(self.x_embedding(np.asarray(x))).float().expand(len(xi), -1)
        return self.net.head(th.cat([emb_x, emb_xi], -1)).squeeze(-1)

    @th.no_grad()
    def predict(self, x: np.ndarray, xi: np.ndarray) -> float:
        """Scaled prediction of ``Q(x, xi)``."""
        emb = np.concatenate([self.x_embedding(x), self.xi_embedding(xi)])
        return float(self.net.head(th.from_numpy(emb).float()).item())


def _solver(time_limit: float) -> pywraplp.Solver:
    solver = pywraplp.Solver.CreateSolver("SCIP")
    if solver is None:
        raise RuntimeError("OR-Tools was built without SCIP; Neur2RO needs a MILP solver")
    solver.SetTimeLimit(max(1, int(1000 * time_limit)))
    return solver


def _head(solver, view: NetView, x_part, x_lo, x_hi, xi_part, xi_lo, xi_hi, name: str):
    enc = add_relu_network(solver, [*x_part, *xi_part], np.concatenate([x_lo, xi_lo]),
                           np.concatenate([x_hi, xi_hi]), view.head, relu_last=False, name=name)
    return enc.outputs[0], float(enc.lower[0]), float(enc.upper[0])


# ---------------------------------------------------------------- main problem

def second_stage_milp(solver: pywraplp.Solver, recourse: Recourse, x: list, scenarios: list[np.ndarray], z):
    """``w`` <= exact second-stage value of the scenario chosen by the one-hot ``z`` (one second-stage copy,
    the other scenarios' constraints relaxed by big-M), or of every scenario (``z is None``: one copy each)."""
    big = recourse.value_bound(scenarios)
    w = solver.NumVar(0.0, big, "w")
    copy = None
    for k, xi in enumerate(scenarios):
        if copy is None or z is None:
            copy = recourse.copy(solver, x, k)
        off = None if z is None else 1 - z[k]
        value = recourse.value(solver, x, copy, xi, off)
        solver.Add(w <= value + (0.0 if z is None else big * off))
    return w


def x_embedding_milp(solver, view: NetView, x: list):
    """Encode ``rho_x(sum_i phi_x(x_i))`` for binary variables ``x``: the sum is linear in ``x``."""
    n = view.n
    delta = view.phi_x1 - view.phi_x0
    agg = [float(view.phi_x0[:, j].sum()) + pywraplp.SumArray([float(delta[i, j]) * x[i] for i in range(n)])
           for j in range(delta.shape[1])]
    lo = view.phi_x0.sum(0) + np.minimum(delta, 0).sum(0)
    hi = view.phi_x0.sum(0) + np.maximum(delta, 0).sum(0)
    return add_relu_network(solver, agg, lo, hi, view.rho_x, relu_last=True, name="rx")


MAIN_MODES = ("selected", "all")


def main_objective(view: NetView, x: np.ndarray, scenarios: list[np.ndarray], mode: str = "selected",
                   exact: list[np.ndarray] = ()) -> float:
    """The main problem's objective at a given ``x``, computed outside the MILP with the exact second stage."""
    problem, instance = view.problem, view.instance
    if not problem.feasible(instance, x):
        return -np.inf
    if mode == "all":
        chosen = list(scenarios)
    else:
        chosen = [scenarios[int(np.argmin([view.predict(x, xi) for xi in scenarios]))]]
    second = min(problem.label(instance, x, xi) for xi in [*chosen, *exact])
    return problem.first_stage_value(instance, x) + second


def main_problem(view: NetView, scenarios: list[np.ndarray], time_limit: float, mode: str = "selected",
                 hint: np.ndarray | None = None, exact: list[np.ndarray] = ()):
    """Solve the main problem; returns ``(x, predicted worst value (scaled) over scenarios, MILP objective)``,
    or ``None`` when SCIP found no solution within the time limit. ``hint``: a first-stage decision
    passed to SCIP as a (partial) starting solution.

    ``mode="selected"`` (Neur2RO): the network picks the worst scenario, whose second stage is
    exact. ``mode="all"`` (variant): exact second stages for every scenario (classical CCG main
    problem, no network inside; the network then only drives the adversary). ``exact``: further
    scenarios (the exact worst cases of earlier decisions, see :func:`neur2ro_ccg`) that each get
    their own exact second stage, whatever the mode; the objective uses the smallest of all.
    """
    if mode not in MAIN_MODES:
        raise ArgumentError(f"unknown main-problem mode {mode!r}; use one of {MAIN_MODES}")
    solver = _solver(time_limit)
    x = [solver.BoolVar(f"x{i}") for i in range(view.n)]
    if mode == "all":
        z = None
    elif len(scenarios) == 1:  # nothing to select: the network plays no part
        z = [1]
    else:
        emb = x_embedding_milp(solver, view, x)
        preds = []
        for k, xi in enumerate(scenarios):
            e = view.xi_embedding(xi)
            preds.append(_head(solver, view, emb.outputs, emb.lower, emb.upper, list(e), e, e, f"h{k}"))
        t_lo = min(p[1] for p in preds)
        z = [solver.BoolVar(f"z{k}") for k in range(len(scenarios))]
        solver.Add(sum(z) == 1)
        t = solver.NumVar(t_lo, min(p[2] for p in preds), "t")
        for (v, _, v_hi), zk in zip(preds, z):
            solver.Add(t <= v)
            solver.Add(t >= v - (v_hi - t_lo) * (1 - zk))
    first = view.recourse.first_stage(solver, x)
    w = second_stage_milp(solver, view.recourse, x, scenarios, z)
    if len(exact):
        # the first-stage constraints once more: a duplicate, but the measured (shipped) results were
        # obtained with it, and SCIP's path depends on it
        view.recourse.first_stage(solver, x)
        w_exact = second_stage_milp(solver, view.recourse, x, list(exact), None)
        worst = solver.NumVar(-solver.infinity(), solver.infinity(), "worst")
        solver.Add(worst <= w)
        solver.Add(worst <= w_exact)
        w = worst
    solver.Maximize(first + w)
    if hint is not None:
        solver.SetHint(x, [float(v) for v in hint])
    if solver.Solve() not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        return None
    x_val = np.array([round(v.solution_value()) for v in x], dtype=np.int64)
    return x_val, min(view.predict(x_val, xi) for xi in scenarios), solver.Objective().Value()


# ---------------------------------------------------------------- adversarial problem

def _sum(values: list):
    """Sum of numbers and variables/expressions (a number when there are no variables)."""
    constant = sum(float(v) for v in values if isinstance(v, (int, float)))
    terms = [v for v in values if not isinstance(v, (int, float))]
    return pywraplp.SumArray(terms) + constant if terms else constant


def xi_embedding_milp(solver: pywraplp.Solver, view: NetView,
                      x: np.ndarray) -> tuple[list, Callable[[np.ndarray], np.ndarray], ReluEncoding]:
    """Scenario variables of the uncertainty set (given ``x``) and the encoding of ``rho_xi(sum_i phi_xi)``.

    Returns ``(variables, to_xi, encoding)``; ``to_xi`` maps variable values to a scenario vector.
    """
    scenario = view.problem.scenario_variables(solver, view.instance, x)
    xi, lo, hi, reads = scenario.variables, scenario.lower, scenario.upper, scenario.reads
    a0, slopes = view.xi_affine
    rest = view.phi_xi[1:]
    dim = view.rho_xi[0][0].shape[1]
    terms = [[] for _ in range(dim)]
    agg_lo, agg_hi = np.zeros(dim), np.zeros(dim)
    for i in range(view.n):
        if not reads[i]:  # the item's embedding does not depend on the scenario variables
            h = _forward_item(a0[i], rest)
            for j in range(dim):
                terms[j].append(float(h[j]))
            agg_lo, agg_hi = agg_lo + h, agg_hi + h
            continue
        w_first = np.column_stack([slopes[d][i] for d in range(len(reads[i]))])
        enc = add_relu_network(solver, [xi[k] for k in reads[i]], lo[reads[i]], hi[reads[i]],
                               [(w_first, a0[i]), *rest], relu_last=True, name=f"p{i}")
        for j in range(dim):
            terms[j].append(enc.outputs[j])
        agg_lo, agg_hi = agg_lo + enc.lower, agg_hi + enc.upper
    agg = [_sum(t) for t in terms]
    return xi, scenario.to_xi, add_relu_network(solver, agg, agg_lo, agg_hi, view.rho_xi, relu_last=True,
                                                name="rxi")


def heuristic_adversary(view: NetView, x: np.ndarray, samples: int = 256, keep: int = 8, steps: int = 40,
                        seed: int = 0) -> tuple[np.ndarray, float]:
    """Good (not proven best) scenario for ``x``: best of sampled scenarios refined by projected gradient."""
    rng = np.random.default_rng(seed)
    start = np.stack([view.problem.sample_xi(view.instance, x, rng, vertex_fraction=0.5) for _ in range(samples)])
    with th.no_grad():
        values = view.predict_batch(x, th.from_numpy(start).float())
    xi = th.from_numpy(start[th.argsort(values)[:keep].numpy()]).float().requires_grad_(True)
    optimizer = th.optim.Adam([xi], lr=0.05)
    for _ in range(steps):
        optimizer.zero_grad()
        view.predict_batch(x, xi).sum().backward()
        optimizer.step()
        with th.no_grad():
            xi.copy_(view.problem.project(view.instance, x, xi))
    candidates = np.concatenate([start, xi.detach().double().numpy()])
    with th.no_grad():
        values = view.predict_batch(x, th.from_numpy(candidates).float()).numpy()
    best = int(np.argmin(values))
    return candidates[best], view.predict(x, candidates[best])


def adversarial_problem(view: NetView, x: np.ndarray, time_limit: float) -> tuple[np.ndarray, float]:
    """``argmin_{xi in Xi}`` of the predicted ``Q(x, xi)``; returns the scenario and its prediction (scaled).

    The MILP's incumbent is compared with :func:`heuristic_adversary` (which it improves on when
    SCIP proves optimality within the time limit); the better one is returned.
    """
    guess = heuristic_adversary(view, x)
    solver = _solver(time_limit)
    xi, to_xi, emb = xi_embedding_milp(solver, view, x)
    e = view.x_embedding(x)
    v, _, _ = _head(solver, view, list(e), e, e, emb.outputs, emb.lower, emb.upper, "h")
    if isinstance(v, (int, float)):  # prediction independent of xi (e.g. nothing chosen)
        return guess
    solver.Minimize(v)
    if solver.Solve() not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        return guess
    scenario = to_xi(np.array([var.solution_value() for var in xi]))
    value = view.predict(x, scenario)
    return (scenario, value) if value < guess[1] else guess


def _forward_item(pre_activation: np.ndarray, rest) -> np.ndarray:
    h = np.maximum(pre_activation, 0.0)
    for w, b in rest:
        h = np.maximum(w @ h + b, 0.0)
    return h


# ---------------------------------------------------------------- candidate selection

class Candidates:
    """Distinct first-stage decisions proposed by the CCG, each scored once by the exact evaluator.

    The score is the evaluation's ``upper`` bound: the exact objective at the worst scenario it found.
    The evaluation is the problem's ``score`` (:mod:`cpgym.agents.neur2ro.problems`). Knapsack:
    ``evaluate_knapsack``, the exact robust value when it converges within its time cap (nearly always).
    Capital budgeting: the exact evaluator without the literature scenarios (its certified lower bound
    is too loose after a few seconds to rank decisions).
    :meth:`best` returns the decision with the highest score (ties: the earliest).
    """

    def __init__(self, problem: str, instance) -> None:
        self.evaluate = get_problem(problem).score
        self.instance = instance
        self.scores: dict[bytes, tuple[np.ndarray, RobustEvaluation]] = {}

    def add(self, x: np.ndarray, time_limit: float) -> RobustEvaluation:
        """Evaluate ``x`` (at most ``time_limit`` seconds) unless it was seen before; returns its evaluation."""
        key = np.asarray(x, dtype=np.int8).tobytes()
        if key not in self.scores:
            self.scores[key] = (np.array(x), self.evaluate(self.instance, x, max(time_limit, 0.05)))
        return self.scores[key][1]

    def best(self) -> tuple[np.ndarray, RobustEvaluation]:
        return max(self.scores.values(), key=lambda item: item[1].upper)

    def values(self) -> list[float]:
        """Scores in the order the candidates were found."""
        return [evaluation.upper for _, evaluation in self.scores.values()]

    def __len__(self) -> int:
        return len(self.scores)


# ---------------------------------------------------------------- CCG driver

def neur2ro_ccg(net: ValueNet, instance, time_limit: float = 60.0, tol: float = 1e-4, max_iterations: int = 50,
                main_share: float = 0.25, adversary_share: float = 0.1, mode: str = "selected",
                select: bool = True, eval_share: float = 0.2) -> tuple[np.ndarray, dict]:
    """ML-driven CCG; returns the first-stage ``x`` and an info dict (iterations, scenarios, times).

    Each main (adversarial) MILP gets at most ``main_share`` (``adversary_share``) of
    ``time_limit`` and the time left; on its limit SCIP's incumbent is used (the adversary's
    scenario is then only a good one, and the main problem's ``x`` not proven best).

    ``select=True`` (default): every distinct ``x`` of the main problem is scored by the exact
    evaluator (at most ``eval_share`` of the time limit each; :class:`Candidates`) and the best one
    is returned. When the network-driven loop stops (converged or repeated scenario) with time
    left, the exact worst-case scenario of the last ``x`` (found by that evaluation) is added to
    the main problem with its own exact second stage (``exact`` of :func:`main_problem`) and the
    loop goes on (``info["feedback"]`` counts these), until that scenario is already known or the
    time is up. ``select=False``: the original method (the last ``x``). All of this counts in
    ``info["time"]``.
    """
    start = time.perf_counter()
    view = NetView(net.cpu().eval(), instance)
    scenarios = [np.zeros(view.problem.xi_shape(view.n))]
    x, status, iterations, predicted = np.zeros(view.n, dtype=np.int64), "time_limit", 0, None
    clock = {"main": 0.0, "adversary": 0.0, "evaluation": 0.0}
    candidates, exact = Candidates(view.problem.name, instance), []

    def known(xi: np.ndarray) -> bool:
        return any(np.allclose(xi, s, atol=1e-6) for s in [*scenarios, *exact])

    def left(share: float) -> float:  # the last RESERVE of the limit absorbs model building and bookkeeping
        return min(share * time_limit, (1 - RESERVE) * time_limit - (time.perf_counter() - start))

    while iterations < max_iterations and left(1.0) > 0:
        iterations += 1
        tic = time.perf_counter()
        solved = main_problem(view, scenarios, left(main_share), mode, hint=x if iterations > 1 else None,
                              exact=exact)
        if solved is None:  # no incumbent in time: keep the previous x
            status = "main_time_limit"
            break
        if iterations > 1 and main_objective(view, x, scenarios, mode, exact) > main_objective(
            view, solved[0], scenarios, mode, exact
        ):  # SCIP's incumbent is worse than the previous decision: keep that one
            solved = (x, min(view.predict(x, xi) for xi in scenarios), None)
        clock["main"] += time.perf_counter() - tic
        x, predicted, _ = solved
        if select:
            tic = time.perf_counter()
            evaluation = candidates.add(x, left(eval_share))
            clock["evaluation"] += time.perf_counter() - tic
        if left(1.0) <= 0:
            break
        tic = time.perf_counter()
        xi, value = adversarial_problem(view, x, left(adversary_share))
        clock["adversary"] += time.perf_counter() - tic
        stop = "converged" if value >= predicted - tol else "repeated_scenario" if known(xi) else None
        if stop is None:
            scenarios.append(xi)
        elif select and not known(evaluation.worst_scenario):  # exact feedback: the network missed it
            exact.append(np.asarray(evaluation.worst_scenario, dtype=float))
        else:
            status = stop
            break
    else:
        status = "iteration_limit" if iterations >= max_iterations else "time_limit"
    if select and len(candidates):
        x = candidates.best()[0]
    info = {
        "status": status, "iterations": iterations, "n_scenarios": len(scenarios), "feedback": len(exact),
        "candidates": len(candidates), "candidate_values": candidates.values(),
        "time": time.perf_counter() - start, "main_time": clock["main"],
        "adversary_time": clock["adversary"], "evaluation_time": clock["evaluation"],
        "predicted_value": None if predicted is None else float(view.scaling.unscale_q(predicted)),
    }
    return x, info


@cache
def _cached_net(path: str) -> ValueNet:
    return load_value_net(path)


def default_model_path(problem: str) -> Path:
    """The shipped model of a problem (any name :func:`~cpgym.agents.neur2ro.problems.get_problem` takes):
    ``neur2ro_<name>.pt`` in the package's models folder."""
    return models_dir() / f"neur2ro_{get_problem(problem).name}.pt"


def solve_neur2ro(instance, problem: str | None = None, time_limit: float = 60.0, model_path=None,
                  mode: str = "selected", select: bool = True, **options) -> tuple[np.ndarray, dict]:
    """Neur2RO decision for ``instance``.

    ``problem``: ``None`` (inferred from the instance through the problem registry), or a name that
    :func:`~cpgym.agents.neur2ro.problems.get_problem` takes (``"knapsack"``, ``"capital_budgeting"``,
    ``"rkp"``, ``"cb"``), which must be the instance's. ``model_path``: a ``.pt`` state dict with its
    ``.json`` config next to it; default: the shipped model of the problem. ``mode``: main-problem
    form (see :func:`main_problem`); ``select``: exact candidate selection and scenario feedback;
    ``options``: further keyword arguments of :func:`neur2ro_ccg` (e.g. ``main_share``). Returns
    ``(x, info)``; score ``x`` with the exact evaluator.
    """
    kind = problem_for(instance)
    if problem is not None and get_problem(problem) is not kind:
        raise ArgumentError(f"{instance.name} is a {kind.name} instance, not one of problem {problem!r}")
    path = Path(model_path) if model_path is not None else default_model_path(kind.name)
    if not path.with_suffix(".pt").is_file():
        hint = f"train one with `train.py neur2ro --problem {kind.name}`"
        raise FileNotFoundError(f"Neur2RO model {path} not found ({hint})")
    net = _cached_net(str(path.with_suffix(".pt").resolve()))
    x, info = neur2ro_ccg(net, instance, time_limit, mode=mode, select=select, **options)
    info["model"], info["mode"], info["select"] = str(path), mode, select
    return x, info
