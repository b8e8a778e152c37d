"""ReLU′(0) = 0 (1[z > 0], as PyTorch computes it) in every number and every display.

SymPy's Heaviside(0) is ½, so a derivative taken of max(0, z) would give ½ at a unit whose weighted sum is
exactly 0 while the page shows 1[z > 0]. Every path that turns the derivation into numbers is checked here at
such units — hidden and output — against a hand-written backpropagation with PyTorch's convention.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

import derive
from derive.engine.computation_graph import graph
from derive.render.tex import latex

SPEC = {"layers": [2, 2, 2], "activation": "relu", "output": "relu", "loss": "squared_error"}
# hidden unit 1 and output unit 1 have z = 0 exactly (zero weights and bias); the rest are away from the kink
THETAS = [np.array([[0.0, 0.0, 0.0], [0.5, 1.0, -1.0]]), np.array([[0.0, 1.0, 0.0], [0.2, 0.3, 0.4]])]
X = np.array([[0.7, -0.4], [1.5, 0.2]])
Y = np.array([[0.3, 0.1], [-0.2, 0.9]])


def relu_prime(z: np.ndarray) -> np.ndarray:
    """PyTorch's convention: torch.relu's gradient is 1 where z > 0 and 0 elsewhere, z = 0 included."""
    return (z > 0).astype(float)


def reference(thetas: list[np.ndarray], X: np.ndarray, Y: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(deltas of layers 2 and 3, mean-reduced gradients), written out for this 3-layer ReLU network."""
    T1, T2 = thetas
    A1 = X
    Z2 = A1 @ T1[:, 1:].T + T1[:, 0]
    A2 = np.maximum(Z2, 0)
    Z3 = A2 @ T2[:, 1:].T + T2[:, 0]
    A3 = np.maximum(Z3, 0)
    D3 = (A3 - Y) * relu_prime(Z3)
    D2 = (D3 @ T2[:, 1:]) * relu_prime(Z2)
    m = len(X)
    G1 = np.hstack([D2.sum(0)[:, None], D2.T @ A1]) / m
    G2 = np.hstack([D3.sum(0)[:, None], D3.T @ A2]) / m
    return [D2, D3], [G1, G2]


def test_the_problem_has_units_exactly_at_the_kink():
    fn = derive.lambdify(derive.Network.from_dict(SPEC))
    _, zs = fn.forward(THETAS, X)
    assert np.all(zs[0][:, 0] == 0.0) and np.all(zs[1][:, 0] == 0.0)
    # and the convention matters: with ½ at 0 the reference would differ
    D2, _ = reference(THETAS, X, Y)[0]
    assert np.all(D2[:, 0] == 0.0)


def test_lambdify_gradients_follow_the_convention():
    fn = derive.lambdify(derive.Network.from_dict(SPEC))
    deltas, grads = reference(THETAS, X, Y)
    out = fn.backward(THETAS, X, Y)
    for got, want in zip(out["deltas"], deltas):
        np.testing.assert_array_equal(got[:, 0], 0.0)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    for got, want in zip(fn.gradients(THETAS, X, Y), grads):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(fn.gradients(THETAS, X, Y)[0][0], 0.0)  # Θ^(1)'s row into the unit at 0


def test_derive_numeric_follows_the_convention(tmp_path):
    (tmp_path / "net.toml").write_text(
        "layers = [2, 2, 2]\nactivation = 'relu'\noutput = 'relu'\nloss = 'squared_error'\n")
    (tmp_path / "p.json").write_text(json.dumps({"Theta": [T.tolist() for T in THETAS]}))
    (tmp_path / "d.json").write_text(json.dumps({"X": X.tolist(), "Y": Y.tolist()}))
    r = subprocess.run([sys.executable, "-c", "import sys; from derive.cli import main; sys.exit(main())", "numeric",
                        str(tmp_path / "net.toml"), "--params", str(tmp_path / "p.json"), "--data",
                        str(tmp_path / "d.json")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    deltas, grads = reference(THETAS, X, Y)
    for got, want in zip(out["deltas"], deltas):
        np.testing.assert_allclose(np.array(got), want, rtol=1e-12, atol=1e-15)
    for got, want in zip(out["gradients"], grads):
        np.testing.assert_allclose(np.array(got), want, rtol=1e-12, atol=1e-15)


def test_elementwise_gradients_follow_the_convention():
    net = derive.Network.from_dict(SPEC)
    e = derive.elementwise(net)
    for n in range(len(X)):
        _, grads = reference(THETAS, X[n:n + 1], Y[n:n + 1])
        for got, want in zip(e.evaluate(THETAS, X[n], Y[n]), grads):
            np.testing.assert_allclose(np.array(got), want, rtol=1e-12, atol=1e-15)
    expanded = derive.elementwise(net, expand=True)
    _, grads = reference(THETAS, X[:1], Y[:1])
    for got, want in zip(expanded.evaluate(THETAS, X[0], Y[0]), grads):
        np.testing.assert_allclose(np.array(got), want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("layer", "result"), [("hidden", "hidden_derivative"), ("output", "output_delta")])
def test_the_displayed_and_the_computed_derivative_agree_at_zero(layer, result):
    """The page shows 1[z > 0]; the result it stands for is 0 at z = 0 (not SymPy's Heaviside(0) = ½)."""
    d = derive.backprop(derive.Network.from_dict(SPEC))
    a, y, z = sp.symbols("a y z")
    expr = getattr(d.results, result)
    assert expr.has(sp.Heaviside)
    assert expr.xreplace({z: 0, a: sp.Rational(1, 3), y: sp.Rational(1, 7)}) == 0
    assert expr.xreplace({z: sp.Rational(1, 10), a: sp.Rational(1, 3), y: sp.Rational(1, 7)}) != 0
    assert r"\mathbf{1}[z > 0]" in latex(expr, "ng")
    # the JSON string of the result reads back to the same convention
    again = sp.sympify(sp.sstr(expr))
    assert again.xreplace({z: 0, a: sp.Rational(1, 3), y: sp.Rational(1, 7)}) == 0


@pytest.mark.parametrize(("at", "want"), [("0", 0.0), ("-1", 0.0), ("0.5", 1.0)])
def test_graph_relu_at_zero(at, want):
    """derive graph: ∂J/∂c through relu(c) is 1[c > 0] · ∂J/∂a, so 0 at c = 0 exactly (not ½ · ∂J/∂a)."""
    g = graph("c = w * x\na = relu(c)\nJ = a + a**2 / 2\n", {"w": "1", "x": at})
    assert float(g.gradients["c"]) == want * (1 + max(float(at), 0.0))
    assert float(g.gradients["x"]) == want * (1 + max(float(at), 0.0))
