"""Sequences (SPEC §9): input [T, n]; a dense layer (and layer norm) at every time step of a returned sequence,
the loss summed over the time steps — numbers against PyTorch, the backward rules derived and checked."""

from __future__ import annotations

import re

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


# ---- rnn and lstm: numbers against torch.nn.RNN / torch.nn.LSTM and central differences
def _recurrent(kind: str, returns: str, **keys: object) -> dict:
    return {"input": [5, 3], "loss": "squared_error",
            "layer": [{"kind": kind, "units": 4, "returns": returns, **keys}, {"kind": "dense", "units": 2}]}


@pytest.mark.parametrize("kind, returns, activation", [("rnn", "sequence", "tanh"), ("rnn", "last", "tanh"),
                                                       ("rnn", "last", "relu"), ("lstm", "sequence", None),
                                                       ("lstm", "last", None)])
def test_recurrent_layers_match_pytorch(kind: str, returns: str, activation: str | None) -> None:
    spec = _recurrent(kind, returns, **({"activation": activation} if activation else {}))
    net = LayeredNetwork.from_dict(spec)
    params, X = _draw(net, 3)
    Y = np.random.default_rng(2).normal(0, 1, (3, *net.output_shape))
    out = lambdify(net).backward(params, X, Y)
    module = (torch.nn.RNN(3, 4, nonlinearity=activation, batch_first=True) if kind == "rnn"
              else torch.nn.LSTM(3, 4, batch_first=True)).double()
    with torch.no_grad():  # derive's one bias b split between PyTorch's two
        module.weight_hh_l0.copy_(torch.tensor(params[0]["W"]))
        module.weight_ih_l0.copy_(torch.tensor(params[0]["U"]))
        module.bias_ih_l0.copy_(torch.tensor(0.3 * params[0]["b"]))
        module.bias_hh_l0.copy_(torch.tensor(0.7 * params[0]["b"]))
    V, c = (torch.tensor(params[1][k], requires_grad=True) for k in ("W", "b"))
    h, _ = module(torch.tensor(X))
    h = h if returns == "sequence" else h[:, -1]
    J = 0.5 * ((h @ V.T + c - torch.tensor(Y)) ** 2).sum() / 3
    J.backward()
    assert out["cost"] == pytest.approx(J.item(), rel=1e-12)
    got = out["gradients"]
    np.testing.assert_allclose(got[0]["W"], module.weight_hh_l0.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got[0]["U"], module.weight_ih_l0.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got[0]["b"], module.bias_ih_l0.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(module.bias_hh_l0.grad.numpy(), module.bias_ih_l0.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(got[1]["W"], V.grad.numpy(), rtol=1e-9, atol=1e-12)


def _plain_cost(spec: dict, params: list[dict], X: np.ndarray, Y: np.ndarray) -> float:
    """An independent forward pass, one example and one step at a time (sigmoid rnn, lstm over lstm, softmax per
    step, cross-entropy summed over the steps, λ on every W and U, never on b)."""
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    J = 0.0
    for x, y in zip(X, Y):
        seq = x
        for layer, p in zip(spec["layer"], params):
            if layer["kind"] == "dense":
                z = seq @ p["W"].T + p["b"]
                a = np.exp(z - z.max(axis=-1, keepdims=True))
                seq = a / a.sum(axis=-1, keepdims=True)
                continue
            u = layer["units"]
            h, c, out = np.zeros(u), np.zeros(u), []
            for xt in seq:
                s = p["W"] @ h + p["U"] @ xt + p["b"]
                if layer["kind"] == "rnn":
                    h = sig(s)
                else:
                    c = sig(s[u:2 * u]) * c + sig(s[:u]) * np.tanh(s[2 * u:3 * u])
                    h = sig(s[3 * u:]) * np.tanh(c)
                out.append(h)
            seq = np.array(out)
        J += -np.sum(y * np.log(seq))
    lam = spec.get("lambda", 0.0)
    return J / len(X) + lam / (2 * len(X)) * sum(np.sum(p[w] ** 2) for p in params for w in ("W", "U") if w in p)


def test_stacked_recurrent_layers_with_softmax_per_step_match_central_differences() -> None:
    spec = {"input": [4, 2], "lambda": 0.2,
            "layer": [{"kind": "rnn", "units": 3, "activation": "sigmoid", "returns": "sequence"},
                      {"kind": "lstm", "units": 2, "returns": "sequence"},
                      {"kind": "dense", "units": 3, "activation": "softmax"}]}
    net = LayeredNetwork.from_dict(spec)
    params, X = _draw(net, 2, seed=4)
    Y = np.eye(3)[np.random.default_rng(5).integers(0, 3, (2, 4))]
    out = lambdify(net).backward(params, X, Y)
    assert out["cost"] == pytest.approx(_plain_cost(spec, params, X, Y), rel=1e-12)
    for got, p in zip(out["gradients"], params):
        for name, value in p.items():
            want = np.zeros_like(value)
            for idx in np.ndindex(*value.shape):
                old = value[idx]
                value[idx] = old + 1e-6
                up = _plain_cost(spec, params, X, Y)
                value[idx] = old - 1e-6
                want[idx] = (up - _plain_cost(spec, params, X, Y)) / 2e-6
                value[idx] = old
            np.testing.assert_allclose(got[name], want, atol=1e-7)


# ---- the derivation: the recursions through time proven, a wrong one refused
def _steps(d: object) -> dict[str, object]:
    return {s.id: s for section in d.sections for s in section.steps}  # type: ignore[attr-defined]


def test_the_rnn_recursion_through_time_is_derived_and_checked() -> None:
    from derive.layers.derivation import backprop

    d = backprop(LayeredNetwork.from_dict(_recurrent("rnn", "sequence")))
    steps = _steps(d)
    recursion = steps["layer1.h.time.1"]
    assert recursion.rule == "through_time" and "W" in str(recursion.rhs) and "delta h^(1)_t + 1" in str(recursion.rhs)
    assert "Sum" in str(steps["layer1.W.tensor.1"].rhs) and "h^(1)_t - 1" in str(steps["layer1.W.tensor.1"].rhs)


def test_a_wrong_recursion_through_time_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """δh_t without the share that comes back from step t + 1 (the classic truncation) is caught."""
    import dataclasses

    from derive.errors import CheckError
    from derive.layers import registry
    from derive.layers.derivation import backprop
    from derive.layers.kinds import recurrent

    entry = registry.KINDS["rnn"]

    def truncated(dZ, cache, P, cfg, trace=None):  # noqa: ANN001, ANN202
        out = recurrent.rnn_backward(dZ, cache, {**P, "W": P["W"] * 0}, cfg, trace)
        return out[0], {**out[1], "W": out[1]["W"]}

    monkeypatch.setitem(registry.KINDS, "rnn", dataclasses.replace(entry, extra={**entry.extra, "trace": truncated}))
    with pytest.raises(CheckError):
        backprop(LayeredNetwork.from_dict(_recurrent("rnn", "last")))


def test_the_lstm_gate_errors_and_cell_recursion_are_derived_and_checked() -> None:
    from derive.layers.derivation import backprop

    steps = _steps(backprop(LayeredNetwork.from_dict(_recurrent("lstm", "sequence"))))
    for state in ("h", "c", "si", "sf", "sg", "so"):
        assert steps[f"layer1.{state}.time.1"].rule == "through_time"
    assert "delta c^(1)_t + 1" in str(steps["layer1.c.time.1"].rhs)


# ---- bad input: one line naming the layer and the key
BAD = [
    ({"input": [4], "layer": [{"kind": "rnn", "units": 2}]}, "layer 1 (rnn): its input has shape 4, not a sequence"),
    ({"input": [3, 4], "layer": [{"kind": "lstm", "units": 2, "returns": "last"}, {"kind": "rnn", "units": 2}]},
     "layer 2 (rnn): its input has shape 2, not a sequence"),
    ({"input": [3, 4], "layer": [{"kind": "rnn", "units": 2, "returns": "all"}]},
     "layer 1 (rnn): 'returns' is 'all'; allowed: sequence | last"),
    ({"input": [3, 4], "layer": [{"kind": "rnn", "units": 2, "activation": "softmax"}]},
     "layer 1 (rnn): 'activation' is 'softmax'; allowed: sigmoid"),
    ({"input": [3, 4], "layer": [{"kind": "lstm", "units": 2, "activation": "tanh"}]},
     "layer 1 (lstm): unknown key 'activation'"),
    ({"input": [3, 4], "layer": [{"kind": "lstm", "units": 2000}]}, "layer 1 (lstm): 'units' is 2000"),
    ({"input": [1, 3, 4], "layer": [{"kind": "rnn", "units": 2}]}, "layer 1 (rnn): its input has shape 1×3×4"),
    ({"input": [3, 4], "layer": [{"kind": "rnn", "units": 2}, {"kind": "conv2d", "channels": 1, "kernel": 1}]},
     "layer 2 (conv2d): its input has shape 3×2"),
    ({"input": [2000, 4], "layer": [{"kind": "rnn", "units": 2}]}, "2000 time steps; at most 1024"),
]


@pytest.mark.parametrize("spec, message", BAD, ids=[m for _, m in BAD])
def test_bad_recurrent_descriptions_are_refused(spec: dict, message: str) -> None:
    with pytest.raises(InputError) as e:
        LayeredNetwork.from_dict({"loss": "squared_error", **spec})
    assert message in str(e.value) and "\n" not in str(e.value)


def test_the_numeric_command_on_an_lstm(tmp_path: object) -> None:
    import json
    import subprocess
    import sys
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "n.toml").write_text('input = [3, 2]\nloss = "squared_error"\n[[layer]]\nkind = "lstm"\nunits = 2\n'
                                   'returns = "last"\n[[layer]]\nkind = "dense"\nunits = 1\n')
    net = LayeredNetwork.from_dict({"input": [3, 2], "loss": "squared_error", "layer": [
        {"kind": "lstm", "units": 2, "returns": "last"}, {"kind": "dense", "units": 1}]})
    params, X = _draw(net, 2)
    (folder / "p.json").write_text(json.dumps({"layers": [{k: v.tolist() for k, v in p.items()} for p in params]}))
    (folder / "d.json").write_text(json.dumps({"X": X.tolist(), "Y": [[0.5], [1.0]]}))
    run = [sys.executable, "-c", "import sys; from derive.cli import main; sys.exit(main())", "numeric",
           str(folder / "n.toml"), "--params", str(folder / "p.json"), "--data", str(folder / "d.json")]
    r = subprocess.run(run, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert np.array(got["gradients"][0]["W"]).shape == (8, 2) and np.array(got["gradients"][0]["U"]).shape == (8, 2)
    (folder / "d.json").write_text(json.dumps({"X": X[:, :2].tolist(), "Y": [[0.5], [1.0]]}))
    r = subprocess.run(run, capture_output=True, text=True)
    assert r.returncode == 2 and "X: shape 2×2×2 does not fit the network; expected m × 3×2" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_the_unrolled_figure_in_tikz_and_svg(tmp_path: object) -> None:
    """The RNN's derivation carries the unrolled graph: a TikZ picture that pdflatex compiles, an SVG that parses."""
    import shutil
    import subprocess
    import xml.etree.ElementTree as ET
    from pathlib import Path

    from derive.layers.derivation import backprop
    from derive.render import render

    d = backprop(LayeredNetwork.from_dict({**_recurrent("rnn", "last"), "input": [7, 3]}))
    html = render(d, "html")
    svg = html[html.index("<svg"): html.index("</svg>") + 6]
    root = ET.fromstring(svg)
    texts = "".join(root.itertext())
    assert "⋯" in texts and root.get("class") == "derive-unrolled"   # 7 steps: 1, 2, …, T
    latex = render(d, "latex")
    assert r"\node[state] (h4)" in latex and r"x_{T}" in latex and latex.count(r"\node[data] (y") == 1
    if shutil.which("pdflatex"):
        folder = Path(str(tmp_path))
        (folder / "d.tex").write_text(latex)
        r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "d.tex"], cwd=folder,
                           capture_output=True, text=True, timeout=240)
        assert r.returncode == 0, r.stdout[-800:]


@pytest.mark.parametrize("text, message", [
    ('input = [3, 2]\n[[layer]]\nkind = "rnn"\nunits = 2\nreturns = "every"\n',
     "layer 1 (rnn): 'returns' is 'every'; allowed: sequence | last"),
    ('input = [3]\n[[layer]]\nkind = "lstm"\nunits = 2\n', "layer 1 (lstm): its input has shape 3, not a sequence"),
])
def test_bad_recurrent_description_through_the_command(tmp_path: object, text: str, message: str) -> None:
    import subprocess
    import sys
    from pathlib import Path

    path = Path(str(tmp_path)) / "n.toml"
    path.write_text('loss = "squared_error"\n' + text)
    out = Path(str(tmp_path)) / "out.tex"
    r = subprocess.run([sys.executable, "-c", "import sys; from derive.cli import main; sys.exit(main())",
                        "derivation", str(path), "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.stderr and not out.exists()


def test_an_lstm_without_the_forget_gate_error_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from derive.errors import CheckError
    from derive.layers import registry
    from derive.layers.derivation import backprop
    from derive.layers.kinds import recurrent

    entry = registry.KINDS["lstm"]

    def forgetful(dZ, cache, P, cfg, trace=None):  # noqa: ANN001, ANN202
        out = recurrent.lstm_backward(dZ, cache, P, cfg, trace)
        if trace is not None:
            u = trace["h"].shape[-1]
            trace["s"][..., u: 2 * u] = sympy.Integer(0)   # the forget gate's error dropped
        return out

    monkeypatch.setitem(registry.KINDS, "lstm", dataclasses.replace(entry, extra={**entry.extra, "trace": forgetful}))
    with pytest.raises(CheckError, match="layer1.sf.time"):
        backprop(LayeredNetwork.from_dict(_recurrent("lstm", "sequence")))


def test_a_dense_layer_on_a_sequence_is_shown_with_the_time_steps_as_rows() -> None:
    """The forms a deck shows for dense at every time step (δ ∈ ℝ^{T×units}, rows the steps): ∂J/∂a = δ W,
    ∂J/∂W = δᵀ a, ∂J/∂b = Σ_t δ_t — their algebra checked against PyTorch's autograd, their text in the
    document; the vector forms Wᵀδ and δ aᵀ would not even multiply here."""
    from derive.document.derivation import build
    from derive.layers.derivation import backprop
    from derive.render import render

    rng = np.random.default_rng(3)
    a = torch.tensor(rng.normal(0, 1, (4, 3)), requires_grad=True)
    W = torch.tensor(rng.normal(0, 1, (2, 3)), requires_grad=True)
    b = torch.tensor(rng.normal(0, 1, 2), requires_grad=True)
    delta = torch.tensor(rng.normal(0, 1, (4, 2)))
    ((a @ W.T + b) * delta).sum().backward()                                 # J with ∂J/∂z = δ
    np.testing.assert_allclose((delta @ W).detach().numpy(), a.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose((delta.T @ a).detach().numpy(), W.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(delta.sum(0).numpy(), b.grad.numpy(), rtol=1e-12)

    net = LayeredNetwork.from_dict({"input": [4, 3], "layer": [{"kind": "rnn", "units": 3},
                                                               {"kind": "dense", "units": 2, "activation": "softmax"}]})
    d = backprop(net)
    tex = render(d, "latex")
    assert r"\frac{\partial J}{\partial a^{(2)}} &= \delta^{(3)} W^{(2)}" in tex
    assert r"\frac{\partial J}{\partial W^{(2)}} &= (\delta^{(3)})^{\mathsf{T}} a^{(2)}" in tex
    assert r"\frac{\partial J}{\partial b^{(2)}} &= \sum_{t=1}^{T} \delta^{(3)}_{t}" in tex
    assert not re.search(r"\(W\^\{\(2\)\}\)\^\{\\mathsf\{T\}\}\s*\\delta\^\{\(3\)\}(?!_)", tex)  # Wᵀδ_t per step only
    assert r"\frac{\partial J}{\partial a^{(1)}_{t}} &= (U^{(1)})^{\mathsf{T}}" in tex  # the recurrent one, per step
    assert "summed over the ${T = 4}$ time steps" in tex
    zh = build(d, language="zh")
    assert any("𝑇 = 4" in str(p) or "T = 4" in str(p) for s in zh.sections for p in s.notes)
