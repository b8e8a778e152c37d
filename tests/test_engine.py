"""The engine: landmark results by simplify, gradients against finite differences, registries."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import derive
from derive.errors import CheckError, InputError
from derive.model.activations import ACTIVATIONS, Activation, register
from derive.model.losses import LOSSES, Loss
from derive.model.losses import register as register_loss

from .oracle import cost, numgrad, problem

a, y, z = sp.symbols("a y z")

LANDMARKS = [
    ({"output": "sigmoid", "loss": "cross_entropy"}, a - y),
    ({"output": "softmax", "loss": "cross_entropy"}, a - y),
    ({"output": "linear", "loss": "squared_error"}, a - y),
    ({"output": "sigmoid", "loss": "squared_error"}, (a - y) * a * (1 - a)),
    ({"output": "tanh", "loss": "squared_error"}, (a - y) * (1 - a**2)),
    ({"output": "relu", "loss": "squared_error"}, (a - y) * sp.Heaviside(z, 0)),
]


@pytest.mark.parametrize(("spec", "want"), LANDMARKS, ids=lambda v: str(v))
def test_output_delta_landmarks(spec, want):
    d = derive.backprop(derive.Network.from_dict({"layers": [3, 4, 3], **spec}))
    assert sp.simplify(d.results.output_delta - want) == 0


@pytest.mark.parametrize(("hidden", "want"), [("sigmoid", a * (1 - a)), ("tanh", 1 - a**2),
                                              ("relu", sp.Heaviside(z, 0)), ("linear", sp.Integer(1))])
def test_hidden_derivative(hidden, want):
    d = derive.backprop(derive.Network.from_dict({"layers": [2, 3, 2], "activation": hidden}))
    assert sp.simplify(d.results.hidden_derivative - want) == 0


def test_softmax_states_the_assumption_it_needs():
    d = derive.backprop(derive.Network.from_dict({"layers": [2, 3], "output": "softmax"}))
    assert "targets_sum_to_one" in [s.rule for s in d.section("output_delta").steps]


def test_sigmoid_identity_is_derived_in_steps():
    d = derive.backprop(derive.Network.from_dict({"layers": [3, 5, 5, 4]}))
    rules = [s.rule for s in d.section("output_delta").steps]
    for rule in ("chain_rule", "derivative_log", "common_denominator", "activation_identity", "cancel"):
        assert rule in rules
    assert len(d.steps) >= 5


def _valid_combinations():
    for hidden, output, loss, reduction, lam in itertools.product(
            ["sigmoid", "tanh", "relu", "linear"], ["sigmoid", "softmax", "linear", "tanh", "relu"],
            ["cross_entropy", "squared_error"], ["mean", "sum"], [0.0, 0.7]):
        if loss == "cross_entropy" and output not in ("sigmoid", "softmax"):
            continue
        yield {"layers": [3, 4, 3], "activation": hidden, "output": output, "loss": loss,
               "reduction": reduction, "lambda": lam}


@pytest.mark.parametrize("spec", list(_valid_combinations()), ids=lambda s: "-".join(
    str(s[k]) for k in ("activation", "output", "loss", "reduction", "lambda")))
def test_gradients_match_finite_differences(spec):
    Ts, X, Y = problem(spec, seed=len(str(spec)))
    fn = derive.lambdify(derive.Network.from_dict(spec))
    assert fn.cost(Ts, X, Y) == pytest.approx(cost(spec, Ts, X, Y), rel=1e-10, abs=1e-12)
    for got, want in zip(fn.gradients(Ts, X, Y), numgrad(spec, Ts, X, Y)):
        np.testing.assert_allclose(got, want, atol=1e-6, rtol=1e-5)
    for got, want in zip(fn.backward(Ts, X, Y)["gradients"], fn.gradients(Ts, X, Y)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers=st.lists(st.integers(1, 6), min_size=2, max_size=5),
       hidden=st.sampled_from(["sigmoid", "tanh", "linear"]),
       loss=st.sampled_from(["cross_entropy", "squared_error"]), seed=st.integers(0, 10_000))
def test_random_architectures(layers, hidden, loss, seed):
    spec = {"layers": layers, "activation": hidden, "loss": loss, "lambda": 0.3}
    Ts, X, Y = problem(spec, m=3, seed=seed)
    fn = derive.lambdify(derive.Network.from_dict(spec))
    # deep linear stacks reach costs in the hundreds: the differences' rounding error grows with the cost
    scale = max(1.0, abs(cost(spec, Ts, X, Y)))
    for got, want in zip(fn.gradients(Ts, X, Y), numgrad(spec, Ts, X, Y, eps=1e-5), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-6 * scale, rtol=1e-5)


def test_saturated_sigmoid_stays_finite():
    spec = {"layers": [1, 1]}
    fn = derive.lambdify(derive.Network.from_dict(spec))
    Ts = [np.array([[0.0, 1.0]])]
    X, Y = np.array([[800.0], [-800.0]]), np.array([[0.0], [1.0]])
    assert fn.cost(Ts, X, Y) == pytest.approx(800.0)   # each example costs softplus(800) = 800
    G = fn.gradients(Ts, X, Y)[0]
    assert np.all(np.isfinite(G))
    np.testing.assert_allclose(G, [[0.0, 800.0]])      # ((1 - 0) + (0 - 1))/2, (800·1 + (−800)·(−1))/2


def test_new_activation_and_loss_are_one_entry_each():
    """leaky ReLU and a pseudo-Huber loss: registered, derived, and checked against finite differences."""
    register(Activation("leaky_relu", (-np.inf, np.inf), unit=lambda v: sp.Max(v / 10, v)))
    register_loss(Loss("pseudo_huber", lambda o, t, g: sp.sqrt(1 + (o - t) ** 2) - 1))
    try:
        net = derive.Network.from_dict({"layers": [2, 3, 2], "activation": "softmax" if False else "tanh",
                                        "output": "leaky_relu", "loss": "pseudo_huber"})
        d = derive.backprop(net)
        assert d.results.output_delta.has(a) and d.results.output_delta.has(y)
        fn = derive.lambdify(net)
        Ts, X, Y = problem({"layers": [2, 3, 2], "loss": "squared_error"}, seed=3)

        def ref_cost(Ts_):
            A = np.tanh(np.hstack([np.ones((len(X), 1)), X]) @ Ts_[0].T)
            Z = np.hstack([np.ones((len(A), 1)), A]) @ Ts_[1].T
            O = np.maximum(Z / 10, Z)
            return np.sum(np.sqrt(1 + (O - Y) ** 2) - 1) / len(X)

        assert fn.cost(Ts, X, Y) == pytest.approx(ref_cost(Ts), rel=1e-12)
        eps = 1e-6
        for n, G in enumerate(fn.gradients(Ts, X, Y)):
            for idx in np.ndindex(G.shape):
                up = [T.copy() for T in Ts]
                down = [T.copy() for T in Ts]
                up[n][idx] += eps
                down[n][idx] -= eps
                assert G[idx] == pytest.approx((ref_cost(up) - ref_cost(down)) / (2 * eps), abs=1e-6)
    finally:
        ACTIVATIONS.pop("leaky_relu")
        LOSSES.pop("pseudo_huber")


def test_a_failing_check_names_the_step(monkeypatch):
    import derive.engine.backprop as bp

    monkeypatch.setattr(bp, "tidy", lambda e: sp.Integer(2) * sp.sympify(e).doit())
    with pytest.raises(CheckError, match="output_delta"):
        bp.backprop(derive.Network.from_dict({"layers": [2, 2]}))


@pytest.mark.parametrize(("spec", "fragment"), [
    ({"layers": [3]}, "at least two layers"),
    ({"layers": [2, 0]}, "from 1 to"),
    ({"layers": "3,4"}, "list of whole numbers"),
    ({"layers": [2, 2], "activation": "swish2"}, "allowed: sigmoid"),
    ({"layers": [2, 2, 2], "activation": "softmax"}, "cannot be a hidden activation"),
    ({"layers": [2, 2], "output": "linear"}, "needs outputs in (0, 1)"),
    ({"layers": [2, 2], "lambda": -1}, ">= 0"),
    ({"layers": [2, 2], "lambda": "big"}, ">= 0"),
    ({"layers": [2, 2], "reduction": "avg"}, "allowed: mean | sum"),
    ({"layers": [2, 2], "colour": "red"}, "unknown key 'colour'"),
    ({"layers": [2, 2, 2], "activation": ["tanh", "relu"]}, "hidden layers"),
    ({}, "'layers' is required"),
])
def test_bad_descriptions(spec, fragment):
    with pytest.raises(InputError, match=None) as info:
        derive.Network.from_dict(spec)
    assert fragment in str(info.value)


def test_network_round_trips_through_its_dict():
    net = derive.Network.from_dict({"layers": [3, 4, 4, 2], "activation": ["tanh", "relu"], "lambda": 1})
    assert derive.Network.from_dict(net.to_dict()) == net
    assert net.activation(2) == "tanh" and net.activation(3) == "relu" and net.activation(4) == "sigmoid"


def test_the_recursion_is_proven_for_an_arbitrary_loss_and_a_wrong_index_is_caught():
    from derive.engine.backprop import J, _arbitrary_loss
    from derive.engine.expressions import Partial
    from derive.model.activations import ACTIVATIONS as acts
    from derive.model.notation import q

    ck = _arbitrary_loss(2, 2, 2, acts["sigmoid"])
    lhs = Partial(J, q("z", 2, 1))
    gprime = q("a", 2, 1) * (1 - q("a", 2, 1))
    right = sum(q("delta", 3, k) * q("Theta", 2, k, 1) for k in (1, 2)) * gprime
    ck.equal("right", lhs, right)
    transposed = sum(q("delta", 3, k) * q("Theta", 2, 1, k) for k in (1, 2)) * gprime
    with pytest.raises(CheckError):
        ck.equal("transposed", lhs, transposed)
