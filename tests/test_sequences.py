"""Sequences (SPEC §9): input [T, n]; a dense layer (and layer norm) at every time step of a returned sequence,
the loss summed over the time steps — numbers against PyTorch, the backward rules derived and checked."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from derive.errors import InputError
from derive.layers import LayeredNetwork
from derive.layers.numeric import lambdify

torch = pytest.importorskip("torch")

PER_STEP = {"input": [4, 3], "layer": [{"kind": "dense", "units": 5, "activation": "tanh"}, {"kind": "layernorm"},
                                       {"kind": "dense", "units": 3, "activation": "softmax"}]}


def _draw(net: LayeredNetwork, m: int, seed: int = 0) -> tuple[list[dict], np.ndarray]:
    rng = np.random.default_rng(seed)
    params = [{name: rng.normal(0, 0.6, shape) for name, shape in layer.parameters} for layer in net.stack]
    return params, rng.normal(0, 1, (m, *net.input))


def test_dense_and_layernorm_at_every_time_step_match_pytorch() -> None:
    net = LayeredNetwork.from_dict(PER_STEP)
    assert net.output_shape == (4, 3) and net.sequence_output
    params, X = _draw(net, 3)
    Y = np.eye(3)[np.random.default_rng(1).integers(0, 3, (3, 4))]        # one-hot at every time step
    out = lambdify(net).backward(params, X, Y)
    P = [{k: torch.tensor(v, requires_grad=True) for k, v in p.items()} for p in params]
    a = torch.tanh(torch.tensor(X) @ P[0]["W"].T + P[0]["b"])
    a = torch.nn.functional.layer_norm(a, (5,), P[1]["gamma"], P[1]["beta"], 1e-5)
    z = a @ P[2]["W"].T + P[2]["b"]
    J = -(torch.tensor(Y) * torch.log_softmax(z, -1)).sum() / 3           # summed over t, mean over examples
    J.backward()
    assert out["cost"] == pytest.approx(J.item(), rel=1e-12)
    for got, want in zip(out["gradients"], P):
        for k, v in want.items():
            np.testing.assert_allclose(got[k], v.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_softmax_targets_must_sum_to_one_at_every_time_step() -> None:
    net = LayeredNetwork.from_dict(PER_STEP)
    params, X = _draw(net, 1)
    Y = np.full((1, 4, 3), 1 / 3)
    Y[0, 2] = [1.0, 1.0, 0.0]
    with pytest.raises(InputError, match="each time step's targets to sum to 1"):
        lambdify(net).backward(params, X, Y)


def test_the_loss_over_a_sequence_is_derived_per_time_step() -> None:
    from derive.layers.derivation import backprop

    d = backprop(LayeredNetwork.from_dict(PER_STEP))
    sums = d.section("cost").steps[0].rhs.atoms(sympy.Sum)
    assert any(limits[0] == sympy.Symbol("t") and limits[2] == 4 for s in sums for limits in s.limits)
    assert str(d.results.output_delta) == "a - y"
