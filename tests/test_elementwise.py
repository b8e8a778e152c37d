"""Element-wise symbolic gradients: every expression against the numeric gradients, the expanded form against
the shared one and against SymPy's own diff of the written-out cost."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import derive
from derive.engine.weight_gradients import _product, elementwise, naive_cost
from derive.model.notation import q

NETWORKS = [
    {"layers": [2, 3, 2]},
    {"layers": [3, 2, 3, 2], "activation": "tanh", "lambda": 0.7},
    {"layers": [2, 3, 3], "activation": "relu", "output": "softmax"},
    {"layers": [3, 2, 2], "activation": ["linear"], "output": "tanh", "loss": "squared_error", "lambda": 0.3,
     "reduction": "sum"},
    {"layers": [2, 2, 2, 2, 1], "activation": ["sigmoid", "tanh", "sigmoid"], "loss": "squared_error"},
]


def _point(net: derive.Network, seed: int) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    Ts = [rng.normal(0, 0.8, size=(s_out, s_in + 1)) for s_in, s_out in zip(net.layers, net.layers[1:])]
    x = rng.normal(size=net.layers[0])
    K = net.layers[-1]
    y = np.eye(K)[rng.integers(K)] if net.output == "softmax" else rng.uniform(0.1, 0.9, size=K)
    return Ts, x, y


@pytest.mark.parametrize("spec", NETWORKS, ids=lambda s: "-".join(map(str, s["layers"])) + "-" + s.get("output", ""))
def test_every_gradient_matches_the_numeric_gradients(spec):
    net = derive.Network.from_dict(spec)
    e = elementwise(net)
    assert len(e) == net.weight_count
    Ts, x, y = _point(net, seed=len(str(spec)))
    want = derive.lambdify(net).gradients(Ts, x[None, :], y[None, :])   # one example: m = 1
    for got, ref in zip(e.evaluate(Ts, x, y), want):
        np.testing.assert_allclose(np.array(got), ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("spec", NETWORKS[:3], ids=lambda s: "-".join(map(str, s["layers"])))
def test_expanded_form_equals_the_shared_form(spec):
    net = derive.Network.from_dict(spec)
    d = derive.backprop(net)
    shared, expanded = elementwise(net, derivation=d), elementwise(net, expand=True, derivation=d)
    quantities = {quantity for quantity, _ in shared.definitions}
    for w, g in expanded.gradients.items():
        assert not g.free_symbols & quantities, w            # only x, y and Θ are left
    for seed in (1, 2):
        Ts, x, y = _point(net, seed)
        np.testing.assert_allclose(np.array([v for G in expanded.evaluate(Ts, x, y) for row in G for v in row]),
                                   np.array([v for G in shared.evaluate(Ts, x, y) for row in G for v in row]),
                                   rtol=1e-10, atol=1e-13)


def test_expanded_form_equals_sympys_diff_of_the_written_out_cost():
    """The independent route: SymPy differentiates the whole cost in x, y, Θ by itself."""
    net = derive.Network.from_dict({"layers": [2, 2, 1], "lambda": 0.5})
    expanded, J = elementwise(net, expand=True), naive_cost(net)
    Ts, x, y = _point(net, seed=5)
    point = {q("x", j + 1): v for j, v in enumerate(x)} | {q("y", 1): y[0]}
    point |= {q("Theta", n + 1, i + 1, j): T[i, j] for n, T in enumerate(Ts) for i, j in np.ndindex(T.shape)}
    for w, g in expanded.gradients.items():
        assert float(g.xreplace(point)) == pytest.approx(float(sp.diff(J, w).xreplace(point)), rel=1e-12, abs=1e-14)


def test_gradients_share_the_deltas():
    """Each shared gradient is one product of a delta and an activation (plus the penalty): no tree grows."""
    net = derive.Network.from_dict({"layers": [3, 4, 4, 2], "lambda": 1})
    e = elementwise(net)
    assert e[(1, 2, 0)] == q("delta", 2, 2)
    assert sp.expand(e[(1, 2, 3)] - q("delta", 2, 2) * q("a", 1, 3) - q("Theta", 1, 2, 3)) == 0
    assert max(sp.count_ops(g) for g in e.gradients.values()) <= 3
    defined = [quantity for quantity, _ in e.definitions]
    assert defined.index(q("delta", 4, 1)) < defined.index(q("delta", 3, 1)) < defined.index(q("delta", 2, 1))


@pytest.mark.parametrize(("factors", "want"), [
    ((q("Theta", 1, 2, 3), q("a", 1, 3)), q("Theta", 1, 2, 3) * q("a", 1, 3)),
    ((q("delta", 3, 1), q("a", 2, 10)), q("a", 2, 10) * q("delta", 3, 1)),
    ((q("delta", 3, 1), sp.Integer(1)), q("delta", 3, 1)),
    ((sp.Rational(1, 2), q("Theta", 1, 1, 1)), q("Theta", 1, 1, 1) / 2),
    ((q("x", 1), q("x", 1)), q("x", 1) ** 2),
])
def test_fast_product_is_sympys_product(factors, want):
    got = _product(*factors)
    assert got == want and got.args == want.args and hash(got) == hash(want)


def test_callable_as_derive_elementwise_before_and_after_its_module_is_imported():
    import importlib

    net = derive.Network.from_dict({"layers": [1, 1]})
    first = derive.elementwise(net)
    importlib.import_module("derive.engine.weight_gradients")
    assert derive.elementwise(net).gradients == first.gradients == elementwise(net).gradients
