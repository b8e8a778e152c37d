"""Numerically sound: cost and gradients stay finite and right where the naive formulas overflow or take
log(0) — saturated units (z = ±800), softmax logits of ±1000, outputs that round to exactly 0 or 1.

The reference is an independent implementation in mpmath at 500 significant digits: the plain textbook
formulas (no stabilising rewrites), with gradients by mpmath's numerical differentiation — nothing taken
from derive's derivation.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Sequence

import mpmath
import numpy as np
import pytest

from derive.engine.numeric import lambdify
from derive.model.network import Network

DIGITS = 500
"""enough that 1 − σ(800) ≈ e^−800 ≈ 10^−348 keeps its own digits in the textbook formulas"""

MP_ACTIVATIONS: dict[str, Callable[[list], list]] = {
    "sigmoid": lambda z: [1 / (1 + mpmath.exp(-v)) for v in z],
    "tanh": lambda z: [mpmath.tanh(v) for v in z],
    "relu": lambda z: [v if v > 0 else mpmath.mpf(0) for v in z],
    "linear": lambda z: list(z),
    "softmax": lambda z: [mpmath.exp(v) / mpmath.fsum(mpmath.exp(u) for u in z) for v in z],
}


def _xlogy(y: mpmath.mpf, a: mpmath.mpf) -> mpmath.mpf:
    return mpmath.mpf(0) if y == 0 else y * mpmath.log(a)


def mp_cost(net: Network, thetas: Sequence[list], X: list, Y: list) -> mpmath.mpf:
    """J of SPEC §1 at DIGITS digits: a forward pass, the loss summed over examples, the L2 penalty."""
    total = mpmath.mpf(0)
    for x, y in zip(X, Y):
        a = [mpmath.mpf(v) for v in x]
        for layer, T in enumerate(thetas, start=2):
            z = [mpmath.mpf(row[0]) + mpmath.fsum(mpmath.mpf(w) * v for w, v in zip(row[1:], a)) for row in T]
            a = MP_ACTIVATIONS[net.activation(layer)](z)
        y = [mpmath.mpf(v) for v in y]
        if net.loss == "squared_error":
            total += mpmath.fsum((ak - yk) ** 2 for ak, yk in zip(a, y)) / 2
        elif net.output == "softmax":
            total -= mpmath.fsum(_xlogy(yk, ak) for ak, yk in zip(a, y))
        else:
            total -= mpmath.fsum(_xlogy(yk, ak) + _xlogy(1 - yk, 1 - ak) for ak, yk in zip(a, y))
    scale = mpmath.mpf(1) / len(X) if net.reduction == "mean" else mpmath.mpf(1)
    penalty = mpmath.fsum(mpmath.mpf(w) ** 2 for T in thetas for row in T for w in row[1:])
    return scale * total + mpmath.mpf(net.lam) * scale / 2 * penalty


def mp_gradients(net: Network, thetas: Sequence[list], X: list, Y: list) -> list[np.ndarray]:
    """∂J/∂Θ^(l)_ij for every weight by mpmath.diff of mp_cost (high-precision numerical differentiation)."""
    grads = []
    for n, T in enumerate(thetas):
        G = np.zeros((len(T), len(T[0])))
        for i, row in enumerate(T):
            for j in range(len(row)):
                def J(w: mpmath.mpf, n: int = n, i: int = i, j: int = j) -> mpmath.mpf:
                    moved = [[list(r) for r in M] for M in thetas]
                    moved[n][i][j] = w
                    return mp_cost(net, moved, X, Y)

                G[i, j] = float(mpmath.diff(J, mpmath.mpf(row[j])))
        grads.append(G)
    return grads


# (description, network, Θs, X, Y): every case saturates something
CASES = [
    ("sigmoid output at z = ±800, targets 0 and 1",
     {"layers": [1, 1]}, [[[0.0, 800.0]]], [[1.0], [-1.0], [1.0], [-1.0]], [[0], [1], [1], [0]]),
    ("sigmoid output rounds to exactly 1.0 and 0.0 (z = ±40)",
     {"layers": [1, 1], "reduction": "sum"}, [[[0.0, 40.0]]], [[1.0], [-1.0]], [[0], [1]]),
    ("saturated sigmoid hidden units, saturated output",
     {"layers": [2, 3, 1], "lambda": 0.5},
     [[[0.0, 800.0, 0.0], [0.0, 0.0, -800.0], [0.5, 0.3, 0.2]], [[0.0, 700.0, -700.0, 1.0]]],
     [[1.0, 1.0], [-1.0, 0.5]], [[0], [1]]),
    ("saturated tanh hidden units, squared error",
     {"layers": [1, 2, 1], "activation": "tanh", "loss": "squared_error"},
     [[[0.0, 800.0], [0.0, -800.0]], [[0.1, 0.7, 0.4]]], [[1.0], [-1.0]], [[1], [0]]),
    ("relu hidden units at z = +800 and dead at −800, linear output",
     {"layers": [1, 2, 1], "activation": "relu", "output": "linear", "loss": "squared_error"},
     [[[0.0, 800.0], [0.0, -800.0]], [[0.0, 0.001, 1.0]]], [[1.0], [0.5]], [[1.0], [0.0]]),
    ("softmax logits of ±1000, the target on the smallest",
     {"layers": [2, 3], "output": "softmax"},
     [[[0.0, 1000.0, 0.0], [0.0, 0.0, 1000.0], [0.0, -1000.0, -1000.0]]],
     [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [[0, 0, 1], [1, 0, 0], [0, 0, 1]]),
    ("softmax logits of 1000 after saturated tanh units",
     {"layers": [2, 2, 3], "activation": "tanh", "output": "softmax", "lambda": 0.1},
     [[[0.0, 800.0, 0.0], [0.0, 0.0, -800.0]], [[0.0, 1000.0, 0.0], [0.0, 0.0, 1000.0], [0.0, 0.0, 0.0]]],
     [[1.0, 1.0], [1.0, -1.0]], [[0, 1, 0], [0, 0, 1]]),
]


@pytest.fixture(scope="module", autouse=True)
def high_precision():
    with mpmath.workdps(DIGITS):
        yield


@pytest.mark.parametrize(("spec", "thetas", "X", "Y"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_cost_and_gradients_match_mpmath(spec, thetas, X, Y):
    net = Network.from_dict(spec)
    fn = lambdify(net)
    Ts = [np.array(T) for T in thetas]
    with np.errstate(invalid="raise", divide="raise"):  # no NaN made, no log(0): exp may overflow to inf
        cost = fn.cost(Ts, X, Y)
        grads = fn.gradients(Ts, X, Y)
    want = mp_cost(net, thetas, X, Y)
    assert np.isfinite(cost) and all(np.all(np.isfinite(G)) for G in grads)
    assert cost == pytest.approx(float(want), rel=1e-12, abs=1e-300)
    for G, W in zip(grads, mp_gradients(net, thetas, X, Y)):
        np.testing.assert_allclose(G, W, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(("spec", "thetas", "X", "Y"), [c[1:] for c in CASES[-2:]], ids=[c[0] for c in CASES[-2:]])
def test_backward_deltas_are_finite_and_consistent(spec, thetas, X, Y):
    """backward (what derive numeric prints) agrees with gradients and has no NaN anywhere."""
    fn = lambdify(Network.from_dict(spec))
    out = fn.backward([np.array(T) for T in thetas], X, Y)
    for key in ("activations", "z", "deltas", "gradients"):
        assert all(np.all(np.isfinite(v)) for v in out[key]), key
    for G, H in zip(out["gradients"], fn.gradients([np.array(T) for T in thetas], X, Y)):
        np.testing.assert_allclose(G, H, rtol=1e-12, atol=1e-15)


def test_the_command_prints_strict_json_for_saturated_units(tmp_path):
    """derive numeric on a saturated softmax: exit 0, JSON without NaN/Infinity, the cost as mpmath has it."""
    _, spec, thetas, X, Y = CASES[5]
    (tmp_path / "net.toml").write_text("layers = [2, 3]\noutput = 'softmax'\n")
    (tmp_path / "p.json").write_text(json.dumps({"Theta": thetas}))
    (tmp_path / "d.json").write_text(json.dumps({"X": X, "Y": Y}))
    r = subprocess.run([sys.executable, "-c", "import sys; from derive.cli import main; sys.exit(main())", "numeric",
                        "net.toml", "--params", "p.json", "--data", "d.json"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in the output")

    doc = json.loads(r.stdout, parse_constant=refuse)
    assert doc["cost"] == pytest.approx(float(mp_cost(Network.from_dict(spec), thetas, X, Y)), rel=1e-12)
