"""Property-based tests over random network descriptions and numeric inputs, valid and invalid.

- every valid description is accepted, survives TOML and to_dict round trips;
- every description with one field made invalid is refused with an InputError naming that field;
- for random valid networks and data, cost and gradients agree with the independent numpy oracle
  (tests/oracle.py: a plain forward pass and central finite differences), and behave as the mathematics
  says under reordering and duplicating the examples;
- every corruption of valid numeric input (shapes, NaN, targets outside the loss's range, non-one-hot
  targets for softmax, booleans) is refused with an InputError, never another exception.
"""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from derive.engine.numeric import NumericFunctions, lambdify
from derive.errors import InputError
from derive.model.network import MAX_LAYERS, Network

from .oracle import cost, numgrad, problem

PROPERTY = settings(derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
HIDDEN = ["sigmoid", "tanh", "relu", "linear"]
RANGE_01 = ["sigmoid", "softmax"]
"""outputs cross-entropy accepts"""


@st.composite
def specs(draw: st.DrawFn, *, max_units: int = 4, max_layers: int = 4) -> dict:
    """A valid description of SPEC §2, with each optional key present or not."""
    layers = draw(st.lists(st.integers(1, max_units), min_size=2, max_size=max_layers))
    spec: dict = {"layers": layers}
    loss = draw(st.sampled_from(["cross_entropy", "squared_error", None]))
    outputs = RANGE_01 if loss in ("cross_entropy", None) else RANGE_01 + ["linear", "tanh", "relu"]
    if loss:
        spec["loss"] = loss
    if draw(st.booleans()):
        spec["output"] = draw(st.sampled_from(outputs))
    hidden = len(layers) - 2
    if draw(st.booleans()):
        spec["activation"] = draw(st.one_of(st.sampled_from(HIDDEN),
                                            st.lists(st.sampled_from(HIDDEN), min_size=hidden, max_size=hidden)))
    for key, values in (("reduction", st.sampled_from(["mean", "sum"])),
                        ("lambda", st.one_of(st.integers(0, 3), st.floats(0, 5))),
                        ("notation", st.sampled_from(["ng", "nielsen"])), ("language", st.sampled_from(["en", "zh"]))):
        if draw(st.booleans()):
            spec[key] = draw(values)
    return spec


def toml(spec: dict) -> str:
    return "".join(f"{k} = {json.dumps(v)}\n" for k, v in spec.items())


@PROPERTY
@given(spec=specs(max_units=100_000, max_layers=MAX_LAYERS))
def test_valid_descriptions_are_accepted_and_round_trip(spec: dict, tmp_path_factory: pytest.TempPathFactory):
    net = Network.from_dict(spec)
    assert Network.from_dict(net.to_dict()) == net
    path = tmp_path_factory.mktemp("spec") / "net.toml"
    path.write_text(toml(spec))
    assert Network.from_toml(path) == net
    assert net.layers == tuple(spec["layers"]) and net.lam == float(spec.get("lambda", 0.0))


# one field made invalid: (key, bad value); the message must name the key
CORRUPTIONS = [
    ("layers", []), ("layers", [3]), ("layers", [0, 2]), ("layers", [2, -1]), ("layers", "3, 2"), ("layers", [2.0, 1]),
    ("layers", [True, 2]), ("layers", [2, 100_001]), ("layers", [1] * (MAX_LAYERS + 1)), ("layers", None),
    ("activation", "softmax2"), ("activation", 3), ("activation", ["tanh"] * 9), ("activation", None),
    ("output", "sigmod"), ("output", 1.5), ("loss", "hinge"), ("loss", ["squared_error"]),
    ("reduction", "max"), ("reduction", 0), ("lambda", -0.5), ("lambda", float("nan")), ("lambda", float("inf")),
    ("lambda", "0.1"), ("lambda", True), ("lambda", 10**400), ("notation", "bishop"), ("language", "fr"),
    ("language", None), ("hidden_layers", 3), ("Layers", [2, 2]),
]


@PROPERTY
@given(spec=specs(), corruption=st.sampled_from(CORRUPTIONS))
def test_one_invalid_field_is_refused_naming_it(spec: dict, corruption: tuple[str, object]):
    key, value = corruption
    bad = {**spec, key: value}
    if key == "activation" and isinstance(value, list):
        assume(len(value) != len(spec["layers"]) - 2)
    with pytest.raises(InputError) as e:
        Network.from_dict(bad, source="net.toml")
    message = str(e.value)
    assert message.startswith("net.toml: ") and "\n" not in message
    assert key in message, message


@PROPERTY
@given(spec=specs(), output=st.sampled_from(["linear", "tanh", "relu"]))
def test_cross_entropy_refuses_outputs_outside_0_1(spec: dict, output: str):
    with pytest.raises(InputError, match="needs outputs in"):
        Network.from_dict({**spec, "loss": "cross_entropy", "output": output})


# --- numeric inputs


@cache
def functions(net: Network) -> NumericFunctions:
    return lambdify(net)


NUMERIC_SPECS = [
    {"layers": [2, 3, 2]},
    {"layers": [3, 2], "lambda": 0.7},
    {"layers": [2, 3, 2], "activation": "tanh", "output": "softmax"},
    {"layers": [1, 2, 3], "activation": "relu", "output": "softmax", "reduction": "sum", "lambda": 0.3},
    {"layers": [2, 2, 1], "activation": "linear", "output": "linear", "loss": "squared_error"},
    {"layers": [3, 2, 2], "activation": "sigmoid", "output": "tanh", "loss": "squared_error", "reduction": "sum"},
    {"layers": [2, 2, 2, 2], "activation": ["tanh", "relu"], "loss": "squared_error", "lambda": 1.5},
]
"""networks for the numeric properties (each lambdified once): every activation, output, loss and reduction"""
SMALL = st.sampled_from(NUMERIC_SPECS)


@settings(PROPERTY, max_examples=25)
@given(spec=SMALL, m=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_gradients_match_the_oracle_and_the_mathematics(spec: dict, m: int, seed: int):
    net = Network.from_dict(spec)
    fn = functions(net)
    Ts, X, Y = problem(spec, m=m, seed=seed)
    J = fn.cost(Ts, X, Y)
    grads = fn.gradients(Ts, X, Y)
    assert J == pytest.approx(cost(spec, Ts, X, Y), rel=1e-9, abs=1e-12)
    for G, N in zip(grads, numgrad(spec, Ts, X, Y)):
        np.testing.assert_allclose(G, N, rtol=1e-4, atol=1e-6)
    # the examples are a set: their order does not matter
    order = np.random.default_rng(seed).permutation(m)
    assert fn.cost(Ts, X[order], Y[order]) == pytest.approx(J, rel=1e-12, abs=1e-15)
    # the same examples twice: the data term's mean is unchanged and its sum doubles (the penalty's
    # factor follows m: λ/2m with mean, λ/2 with sum)
    P = sum(float(np.sum(np.asarray(T)[:, 1:] ** 2)) for T in Ts)

    def data(total: float, examples: int) -> float:
        return total - net.lam / 2 * P * (1 / examples if net.reduction == "mean" else 1)

    twice = data(fn.cost(Ts, np.vstack([X, X]), np.vstack([Y, Y])), 2 * m)
    factor = 1 if net.reduction == "mean" else 2
    assert twice == pytest.approx(factor * data(J, m), rel=1e-9, abs=1e-12)


def _corrupt(kind: str, spec: dict, Ts: list, X: np.ndarray, Y: np.ndarray, rng: np.random.Generator):
    """(Ts, X, Y) with one defect of ``kind``, or None when the network cannot have it."""
    Ts = [np.array(T) for T in Ts]
    X, Y = np.array(X), np.array(Y)
    n = int(rng.integers(len(Ts)))
    out, loss = spec.get("output", "sigmoid"), spec.get("loss", "cross_entropy")
    if kind == "theta row missing":
        Ts[n] = Ts[n][:-1]
    elif kind == "theta column extra":
        Ts[n] = np.hstack([Ts[n], Ts[n][:, :1]])
    elif kind == "theta missing":
        Ts = Ts[:-1]
    elif kind == "theta nan":
        Ts[n][0, 0] = np.nan
    elif kind == "X column extra":
        X = np.hstack([X, X[:, :1]])
    elif kind == "X inf":
        X[0, 0] = np.inf
    elif kind == "X empty":
        X, Y = X[:0], Y[:0]
    elif kind == "Y row missing":
        Y = Y[:-1]
    elif kind == "Y column missing":
        Y = Y[:, :-1]
    elif kind == "Y outside [0, 1]":
        if loss != "cross_entropy":
            return None
        Y[0, 0] = 1.5
    elif kind == "Y not one-hot":
        if out != "softmax" or Y.shape[1] < 2:
            return None
        Y[0] = 1.0
    elif kind == "ragged X":
        return Ts, [list(X[0]), list(X[0]) + [1.0]], Y
    return Ts, X, Y


DEFECTS = ["theta row missing", "theta column extra", "theta missing", "theta nan", "X column extra", "X inf",
           "X empty", "Y row missing", "Y column missing", "Y outside [0, 1]", "Y not one-hot", "ragged X"]


@settings(PROPERTY, max_examples=60)
@given(spec=SMALL, defect=st.sampled_from(DEFECTS), seed=st.integers(0, 2**16))
def test_invalid_numeric_input_is_an_input_error(spec: dict, defect: str, seed: int):
    spec = {**spec, "layers": [max(2, n) if i == len(spec["layers"]) - 1 else n for i, n in enumerate(spec["layers"])]}
    net = Network.from_dict(spec)
    Ts, X, Y = problem(spec, m=3, seed=seed)
    bad = _corrupt(defect, spec, Ts, X, Y, np.random.default_rng(seed))
    assume(bad is not None)
    fn = functions(net)
    for compute in (fn.backward, fn.gradients, fn.cost):
        with pytest.raises(InputError) as e:
            compute(*bad)
        assert "\n" not in str(e.value)
