"""Mixed-integer encoding of a ReLU multilayer perceptron for OR-Tools' ``pywraplp`` (SCIP, CBC, ...).

The network is given as plain numpy arrays, ``layers = [(W_1, b_1), ..., (W_L, b_L)]`` with
``W_l`` of shape ``(out, in)`` (the ``torch.nn.Linear`` convention); a ReLU follows every layer
except, when ``relu_last=False``, the last one. Inputs are ``pywraplp`` variables, linear
expressions or plain numbers, with known bounds ``lo <= input <= hi``.

Encoding (standard big-M): interval arithmetic propagates the input bounds to bounds
``[l, u]`` on every pre-activation ``a = W h + b``. A neuron with ``u <= 0`` is constant 0 and a
neuron with ``l >= 0`` equals ``a`` (no binary variable for either); an unstable neuron
(``l < 0 < u``) gets ``h >= a``, ``h >= 0``, ``h <= a - l (1 - z)``, ``h <= u z`` with binary
``z``, which is exact. Neurons whose inputs are all constants are evaluated directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver import pywraplp

from cpgym.errors import ArgumentError

Layers = Sequence[tuple[np.ndarray, np.ndarray]]


@dataclass
class ReluEncoding:
    """Outputs of an encoded network (expressions or numbers) with their interval bounds."""

    outputs: list
    lower: np.ndarray
    upper: np.ndarray
    n_binaries: int
    n_stable: int


def forward(layers: Layers, inputs: np.ndarray, relu_last: bool = False) -> np.ndarray:
    """Numpy forward pass of the network (``inputs`` of shape ``(..., in)``)."""
    h = np.asarray(inputs, dtype=float)
    for k, (w, b) in enumerate(layers):
        h = h @ np.asarray(w, dtype=float).T + b
        if relu_last or k < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return h


def interval_bounds(layers: Layers, lower, upper, relu_last: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pre-activation bounds ``(l, u)`` of every layer given input bounds (interval arithmetic)."""
    lo, hi = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    if np.any(lo > hi):
        raise ArgumentError("input lower bounds exceed upper bounds")
    bounds = []
    for k, (w, b) in enumerate(layers):
        w = np.asarray(w, dtype=float)
        pos, neg = np.maximum(w, 0.0), np.minimum(w, 0.0)
        pre_lo, pre_hi = pos @ lo + neg @ hi + b, pos @ hi + neg @ lo + b
        bounds.append((pre_lo, pre_hi))
        if relu_last or k < len(layers) - 1:
            lo, hi = np.maximum(pre_lo, 0.0), np.maximum(pre_hi, 0.0)
        else:
            lo, hi = pre_lo, pre_hi
    return bounds


def _is_constant(value) -> bool:
    return isinstance(value, (int, float, np.floating, np.integer))


def _affine(weights: np.ndarray, bias: float, inputs: list):
    """``bias + sum_j weights_j inputs_j`` as a number when all used inputs are numbers, else an expression."""
    constant, terms = float(bias), []
    for w, v in zip(weights, inputs):
        if w == 0.0:
            continue
        if _is_constant(v):
            constant += float(w) * float(v)
        else:
            terms.append((float(w), v))
    if not terms:
        return constant
    return pywraplp.SumArray([w * v for w, v in terms]) + constant


def add_relu_network(
    solver: pywraplp.Solver,
    inputs: Sequence,
    lower,
    upper,
    layers: Layers,
    relu_last: bool = False,
    name: str = "nn",
) -> ReluEncoding:
    """Add the network's constraints to ``solver``; returns its outputs (expressions or numbers) and bounds.

    ``inputs`` are variables/expressions/numbers bounded by ``lower``/``upper`` (the caller
    guarantees the bounds hold). Exact: for any feasible assignment of the inputs the outputs
    equal :func:`forward` of those inputs.
    """
    inputs = list(inputs)
    if len(inputs) != len(np.atleast_1d(lower)) or len(inputs) != len(np.atleast_1d(upper)):
        raise ArgumentError("inputs, lower and upper must have the same length")
    if len(inputs) != np.asarray(layers[0][0]).shape[1]:
        raise ArgumentError(f"network expects {np.asarray(layers[0][0]).shape[1]} inputs, got {len(inputs)}")
    bounds = interval_bounds(layers, lower, upper, relu_last)
    h, n_binaries, n_stable = inputs, 0, 0
    for k, ((w, b), (pre_lo, pre_hi)) in enumerate(zip(layers, bounds)):
        w, b = np.asarray(w, dtype=float), np.asarray(b, dtype=float)
        relu = relu_last or k < len(layers) - 1
        nxt = []
        for j in range(w.shape[0]):
            a = _affine(w[j], b[j], h)
            if not relu:
                nxt.append(a)
            elif _is_constant(a):
                nxt.append(max(a, 0.0))
            elif pre_hi[j] <= 0.0:
                nxt.append(0.0)
                n_stable += 1
            elif pre_lo[j] >= 0.0:
                v = solver.NumVar(float(pre_lo[j]), float(pre_hi[j]), f"{name}_h{k}_{j}")
                solver.Add(v == a)
                nxt.append(v)
                n_stable += 1
            else:
                v = solver.NumVar(0.0, float(pre_hi[j]), f"{name}_h{k}_{j}")
                z = solver.BoolVar(f"{name}_z{k}_{j}")
                solver.Add(v >= a)
                solver.Add(v <= a - float(pre_lo[j]) * (1 - z))
                solver.Add(v <= float(pre_hi[j]) * z)
                nxt.append(v)
                n_binaries += 1
        h = nxt
    out_lo, out_hi = bounds[-1]
    if relu_last:
        out_lo, out_hi = np.maximum(out_lo, 0.0), np.maximum(out_hi, 0.0)
    return ReluEncoding(h, out_lo, out_hi, n_binaries, n_stable)
