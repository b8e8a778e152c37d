"""Sequences (SPEC §9: input [T, n], a dense layer at every time step, the loss summed over the time steps) and
the attention kind: numbers against finite differences and a hand-written PyTorch attention, the derived backward
rule and its landmarks, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from derive.layers import LayeredNetwork
from derive.layers.numeric import lambdify

ACT = {"tanh": np.tanh, "linear": lambda z: z, "sigmoid": lambda z: 1 / (1 + np.exp(-z))}


# ---- an independent reference: loops over examples and time steps, nothing shared with derive.layers
def _softmax(v: np.ndarray) -> np.ndarray:
    e = np.exp(v - v.max())
    return e / e.sum()


def _attention(x: np.ndarray, p: dict, causal: bool) -> np.ndarray:
    T = len(x)
    dk = p["Wq"].shape[1]
    out = np.zeros((T, p["Wv"].shape[1]))
    for t in range(T):
        q = x[t] @ p["Wq"]
        seen = range(t + 1) if causal else range(T)
        scores = np.array([q @ (x[s] @ p["Wk"]) / np.sqrt(dk) for s in seen])
        weights = _softmax(scores)
        out[t] = sum(w * (x[s] @ p["Wv"]) for w, s in zip(weights, seen))
    return out


def reference_cost(spec: dict, params: list[dict], X: np.ndarray, Y: np.ndarray) -> float:
    total = 0.0
    for x, y in zip(X, Y):
        a = np.asarray(x, float)
        for n, (layer, p) in enumerate(zip(spec["layer"], params)):
            if layer["kind"] == "dense":
                z = np.array([p["W"] @ a_t + p["b"] for a_t in a])
            elif layer["kind"] == "attention":
                z = _attention(a, p, layer.get("causal", False))
            else:
                raise ValueError(layer["kind"])
            g = layer.get("activation", "linear")
            last = n == len(spec["layer"]) - 1
            a = z if last else ACT[g](z)
        for z_t, y_t in zip(z, y):  # one loss term per time step
            if spec.get("loss", "cross_entropy") == "squared_error":
                total += 0.5 * np.sum((ACT[g](z_t) - y_t) ** 2)
            elif g == "softmax":
                total -= np.sum(y_t * np.log(_softmax(z_t)))
            else:
                total += np.sum(y_t * np.logaddexp(0, -z_t) + (1 - y_t) * np.logaddexp(0, z_t))
    weights = sum(np.sum(p[w] ** 2) for p in params for w in ("W", "Wq", "Wk", "Wv") if w in p)
    total += spec.get("lambda", 0.0) / 2 * weights
    return total / len(X) if spec.get("reduction", "mean") == "mean" else total


def finite_differences(spec: dict, params: list[dict], X: np.ndarray, Y: np.ndarray, eps: float = 1e-6) -> list[dict]:
    params = [{k: np.array(v, float) for k, v in p.items()} for p in params]
    grads = []
    for p in params:
        g = {}
        for name, v in p.items():
            G = np.zeros_like(v)
            for idx in np.ndindex(v.shape):
                old = v[idx]
                v[idx] = old + eps
                up = reference_cost(spec, params, X, Y)
                v[idx] = old - eps
                down = reference_cost(spec, params, X, Y)
                v[idx] = old
                G[idx] = (up - down) / (2 * eps)
            g[name] = G
        grads.append(g)
    return grads


def draw(net: LayeredNetwork, m: int, seed: int = 0) -> tuple[list[dict], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    params = [{name: rng.normal(0, 0.7, shape) for name, shape in layer.parameters} for layer in net.stack]
    X = rng.normal(0, 1, (m, *net.input))
    T, width = net.output_shape
    if net.output == "softmax":
        Y = np.eye(width)[rng.integers(0, width, (m, T))]
    elif net.loss == "cross_entropy":
        Y = rng.uniform(0, 1, (m, T, width))
    else:
        Y = rng.normal(0, 1, (m, T, width))
    return params, X, Y


SEQUENCES = {
    "dense per time step, softmax": (
        {"input": [3, 2], "layer": [{"kind": "dense", "units": 3, "activation": "tanh"},
                                    {"kind": "dense", "units": 2, "activation": "softmax"}]}, 3),
    "dense per time step, sigmoid, sum, lambda": (
        {"input": [2, 3], "reduction": "sum", "lambda": 0.2,
         "layer": [{"kind": "dense", "units": 2, "activation": "sigmoid"}]}, 2),
}


@pytest.mark.parametrize("name", list(SEQUENCES))
def test_sequence_numbers_match_finite_differences(name: str) -> None:
    spec, m = SEQUENCES[name]
    net = LayeredNetwork.from_dict(spec)
    params, X, Y = draw(net, m)
    out = lambdify(net).backward(params, X, Y)
    assert out["cost"] == pytest.approx(reference_cost(spec, params, X, Y), rel=1e-10)
    for got, want in zip(out["gradients"], finite_differences(spec, params, X, Y)):
        for key in want:
            np.testing.assert_allclose(got[key], want[key], atol=2e-6, rtol=1e-5)


def test_a_sequence_input_gives_sequence_shapes() -> None:
    net = LayeredNetwork.from_dict(SEQUENCES["dense per time step, softmax"][0])
    assert net.input == (3, 2) and net.output_shape == (3, 2) and net.sequence_output and net.output_width == 2
    assert [dict(layer.parameters) for layer in net.stack] == [{"W": (3, 2), "b": (3,)}, {"W": (2, 3), "b": (2,)}]


def test_a_sequence_derivation_sums_the_loss_over_time() -> None:
    import sympy as sp

    from derive.layers.derivation import backprop

    d = backprop(LayeredNetwork.from_dict(SEQUENCES["dense per time step, softmax"][0]))
    (step,) = d.section("cost").steps
    assert step.note == "layered_cost_sequence"
    sums = [s for s in sp.preorder_traversal(step.rhs) if isinstance(s, sp.Sum)]
    assert any(limits[0] == sp.Symbol("t") and limits[2] == 3 for s in sums for limits in s.limits)
    a, y = sp.symbols("a y")
    assert sp.simplify(d.results.output_delta - (a - y)) == 0
