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


# ---- attention
ATTENTION = {
    "attention, dense softmax per step": (
        {"input": [4, 3], "layer": [{"kind": "attention", "dk": 2, "dv": 3},
                                    {"kind": "dense", "units": 2, "activation": "softmax"}]}, 3),
    "causal attention, sigmoid, lambda": (
        {"input": [3, 2], "lambda": 0.1,
         "layer": [{"kind": "attention", "dk": 3, "dv": 2, "causal": True},
                   {"kind": "dense", "units": 2, "activation": "sigmoid"}]}, 2),
    "T = 1, dk = 1, squared error at the attention's output": (
        {"input": [1, 2], "loss": "squared_error", "reduction": "sum",
         "layer": [{"kind": "attention", "dk": 1, "dv": 2}]}, 3),
    "dk = 1, causal, attention twice": (
        {"input": [3, 2], "loss": "squared_error",
         "layer": [{"kind": "attention", "dk": 1, "dv": 2, "causal": True},
                   {"kind": "dense", "units": 2, "activation": "tanh"},
                   {"kind": "attention", "dk": 2, "dv": 1}]}, 2),
}


@pytest.mark.parametrize("name", list(ATTENTION))
def test_attention_numbers_match_finite_differences(name: str) -> None:
    spec, m = ATTENTION[name]
    net = LayeredNetwork.from_dict(spec)
    params, X, Y = draw(net, m, seed=1)
    out = lambdify(net).backward(params, X, Y)
    assert out["cost"] == pytest.approx(reference_cost(spec, params, X, Y), rel=1e-10)
    for got, want, layer in zip(out["gradients"], finite_differences(spec, params, X, Y), net.stack):
        assert sorted(got) == sorted(n for n, _ in layer.parameters)
        for key in want:
            assert got[key].shape == want[key].shape
            np.testing.assert_allclose(got[key], want[key], atol=2e-6, rtol=1e-5)


def _torch():  # noqa: ANN202
    from .conftest import REQUIRE_TOOLS

    if REQUIRE_TOOLS:
        import torch

        return torch
    return pytest.importorskip("torch")


def torch_attention(torch, X, Wq, Wk, Wv, causal: bool):  # noqa: ANN001, ANN201
    """Self-attention written out by hand in PyTorch (its autograd gives the reference gradients)."""
    Q, K, V = X @ Wq, X @ Wk, X @ Wv
    S = Q @ K.transpose(-1, -2) / Wq.shape[1] ** 0.5
    if causal:
        T = X.shape[-2]
        S = S.masked_fill(~torch.tril(torch.ones(T, T, dtype=torch.bool)), float("-inf"))
    return torch.softmax(S, dim=-1) @ V


def torch_cost(torch, spec: dict, params: list[dict], X: np.ndarray, Y: np.ndarray):  # noqa: ANN001, ANN202
    A = torch.tensor(X)
    tp = [{k: torch.tensor(v, requires_grad=True) for k, v in p.items()} for p in params]
    acts = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "linear": lambda z: z}
    for n, (layer, p) in enumerate(zip(spec["layer"], tp)):
        if layer["kind"] == "attention":
            Z = torch_attention(torch, A, p["Wq"], p["Wk"], p["Wv"], layer.get("causal", False))
        else:
            Z = A @ p["W"].T + p["b"]
        g = layer.get("activation", "linear")
        if n < len(spec["layer"]) - 1:
            A = acts[g](Z)
    Yt = torch.tensor(Y)
    if spec.get("loss", "cross_entropy") == "squared_error":
        per = 0.5 * ((acts[g](Z) - Yt) ** 2).sum()
    elif g == "softmax":
        per = -(Yt * torch.log_softmax(Z, -1)).sum()
    else:
        per = torch.nn.functional.binary_cross_entropy_with_logits(Z, Yt, reduction="sum")
    weights = sum((p[w] ** 2).sum() for p in tp for w in ("W", "Wq", "Wk", "Wv") if w in p)
    J = per + spec.get("lambda", 0.0) / 2 * weights
    J = J / len(X) if spec.get("reduction", "mean") == "mean" else J
    J.backward()
    return float(J.detach()), [{k: v.grad.numpy() for k, v in p.items()} for p in tp]


@pytest.mark.parametrize("name", list(ATTENTION))
def test_attention_numbers_match_pytorch(name: str) -> None:
    torch = _torch()
    spec, m = ATTENTION[name]
    net = LayeredNetwork.from_dict(spec)
    params, X, Y = draw(net, m + 4, seed=5)
    out = lambdify(net).backward(params, X, Y)
    J, grads = torch_cost(torch, spec, params, X, Y)
    assert out["cost"] == pytest.approx(J, rel=1e-10)
    for got, want in zip(out["gradients"], grads):
        assert sorted(got) == sorted(want)
        for key in want:
            np.testing.assert_allclose(got[key], want[key], rtol=1e-8, atol=1e-11)


def test_large_scores_do_not_overflow() -> None:
    """The row softmax subtracts each row's maximum (over the positions it sees): scores of 1000 give numbers."""
    torch = _torch()
    spec = {"input": [5, 2], "loss": "squared_error", "layer": [{"kind": "attention", "dk": 2, "dv": 2,
                                                                  "causal": True}]}
    net = LayeredNetwork.from_dict(spec)
    params, X, Y = draw(net, 2)
    params[0]["Wq"] *= 40
    params[0]["Wk"] *= 40
    out = lambdify(net).backward(params, X, Y)
    J, grads = torch_cost(torch, spec, params, X, Y)
    assert np.isfinite(out["cost"]) and out["cost"] == pytest.approx(J, rel=1e-9)
    for key in grads[0]:
        np.testing.assert_allclose(out["gradients"][0][key], grads[0][key], rtol=1e-6, atol=1e-9)


def test_causal_attention_ignores_the_future() -> None:
    """Changing the last time step's input changes no earlier output of a causal layer, and does change them
    without the mask."""
    from derive.layers.registry import KINDS

    rng = np.random.default_rng(3)
    X = rng.normal(size=(2, 4, 3))
    P = {"Wq": rng.normal(size=(3, 2)), "Wk": rng.normal(size=(3, 2)), "Wv": rng.normal(size=(3, 2))}
    later = X.copy()
    later[:, -1] += 1.0
    for causal, same in ((True, True), (False, False)):
        cfg = {"dk": 2, "dv": 2, "causal": causal}
        before, after = KINDS["attention"].forward(X, P, cfg)[0], KINDS["attention"].forward(later, P, cfg)[0]
        assert np.allclose(before[:, :-1], after[:, :-1]) == same


# ---- the derivation: every landmark reached and proven, a wrong one caught
CAUSAL = {"input": [4, 3], "loss": "squared_error", "layer": [{"kind": "attention", "dk": 2, "dv": 2, "causal": True}]}


@pytest.fixture(scope="module")
def causal_derivation():  # noqa: ANN201
    from derive.layers.derivation import backprop

    return backprop(LayeredNetwork.from_dict(CAUSAL))


def test_every_attention_landmark_is_derived_and_proven(causal_derivation) -> None:  # noqa: ANN001
    steps = causal_derivation.section("layer1").steps
    rules = {step.note: step for step in steps if step.rule == "layer_rule"}
    assert set(rules) == {f"attention_{name}" for name in ("V", "P", "S", "Q", "K", "Wq", "Wk", "Wv", "a")}
    shapes = {note: dict(step.args)["shape"] for note, step in rules.items()}
    assert shapes == {"attention_V": "4 × 2", "attention_P": "4 × 4", "attention_S": "4 × 4", "attention_Q": "4 × 2",
                      "attention_K": "4 × 2", "attention_Wq": "3 × 2", "attention_Wk": "3 × 2",
                      "attention_Wv": "3 × 2", "attention_a": "4 × 3"}
    order = [step.note for step in steps if step.rule == "layer_rule"]
    assert order[:5] == ["attention_V", "attention_P", "attention_S", "attention_Q", "attention_K"]
    # ∂J/∂S is reached through the softmax's partials and the row-sum form, each step checked
    on_s = [step.rule for step in steps if step.id.startswith("layer1.S.tensor")]
    assert on_s == ["softmax_jacobian", "rowsum_form", "layer_rule"]
    forward = {dict(step.args).get("name"): dict(step.args)["shape"]
               for step in causal_derivation.section("forward").steps
               if step.note in ("attention_forward", "attention_output")}
    assert forward == {"Q": "4 × 2", "K": "4 × 2", "V": "4 × 2", "S": "4 × 4", "P": "4 × 4", "O": "4 × 2"}


def _no_rowsum(got, delta, given):  # noqa: ANN001, ANN202
    """P ∘ ∂J/∂P: the row-sum term left out."""
    from derive.layers.kinds.attention import softmax

    S, V = given
    return softmax(S, True) * (delta @ V.swapaxes(-1, -2))


WRONG_LANDMARKS = {
    "S without the row sum": ("S", _no_rowsum),
    "Q without 1/√dk": ("Q", lambda got, delta, given: got * sp_sqrt2()),
    "K not transposed": ("K", lambda got, delta, given: got[:, ::-1, :].copy()),
}


@pytest.mark.parametrize("name", list(WRONG_LANDMARKS))
def test_a_wrong_landmark_is_refused(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from derive.errors import CheckError
    from derive.layers import registry
    from derive.layers.derivation import backprop

    target, wrong = WRONG_LANDMARKS[name]
    entry = registry.KINDS["attention"]
    form = entry.extra["landmark_form"]

    def patched(which, delta, given, cfg):  # noqa: ANN001, ANN202
        got = form(which, delta, given, cfg)
        return wrong(got, delta, given) if which == target else got

    monkeypatch.setitem(registry.KINDS, "attention",
                        dataclasses.replace(entry, extra={**entry.extra, "landmark_form": patched}))
    with pytest.raises(CheckError):
        backprop(LayeredNetwork.from_dict(CAUSAL))


def test_a_wrong_backward_code_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The weight gradients come from the backward code the numbers run: a forgotten 1/√dk there is caught."""
    import dataclasses

    from derive.errors import CheckError
    from derive.layers import registry
    from derive.layers.derivation import backprop

    entry = registry.KINDS["attention"]

    def wrong(dO, cache, P, cfg):  # noqa: ANN001, ANN202
        dX, g = entry.backward(dO, cache, P, cfg)
        return dX, {**g, "Wq": g["Wq"] * sp_sqrt2()}

    monkeypatch.setitem(registry.KINDS, "attention", dataclasses.replace(entry, backward=wrong))
    with pytest.raises(CheckError):
        backprop(LayeredNetwork.from_dict(CAUSAL))


def sp_sqrt2():  # noqa: ANN201
    import sympy as sp

    return sp.sqrt(2)


# ---- bad input: one line naming the layer, the key and what is allowed
BAD = [
    ({"input": [4, 3], "layer": [{"kind": "attention", "dk": 0, "dv": 2}]},
     "layer 1 (attention): 'dk' is 0; allowed: a whole number from 1 to 1024"),
    ({"input": [4, 3], "layer": [{"kind": "attention", "dk": 2, "dv": -1}]}, "layer 1 (attention): 'dv' is -1"),
    ({"input": [4, 3], "layer": [{"kind": "attention", "dk": 2}]}, "layer 1 (attention): 'dv' is required"),
    ({"input": [4, 3], "layer": [{"kind": "attention", "dk": 2, "dv": 2, "causal": "yes"}]},
     "layer 1 (attention): 'causal' is 'yes'; allowed: true or false"),
    ({"input": [4, 3], "layer": [{"kind": "attention", "dk": 2, "dv": 2, "heads": 2}]},
     "layer 1 (attention): unknown key 'heads'; allowed keys: dk, dv, causal"),
    ({"input": [4], "layer": [{"kind": "attention", "dk": 2, "dv": 2}]},
     "layer 1 (attention): its input has shape 4; attention needs a sequence [T, n]"),
    ({"input": [1, 4, 4], "layer": [{"kind": "attention", "dk": 2, "dv": 2}]},
     "layer 1 (attention): its input has shape 1×4×4; attention needs a sequence [T, n]"),
    ({"input": [4, 3], "layer": [{"kind": "flatten"}, {"kind": "attention", "dk": 2, "dv": 2}]},
     "layer 2 (attention): its input has shape 12; attention needs a sequence [T, n]"),
    ({"input": [2000, 3], "layer": [{"kind": "attention", "dk": 2, "dv": 2}]},
     "'input' = [2000, 3] has 2000 time steps; at most 1024 are allowed"),
    ({"input": [4, 3, 2, 1], "layer": [{"kind": "attention", "dk": 2, "dv": 2}]},
     "'input' must be [n] (a vector), [T, n] (a sequence) or [C, H, W] (an image)"),
]


@pytest.mark.parametrize("spec, message", BAD, ids=[m for _, m in BAD])
def test_bad_attention_descriptions_are_refused(spec: dict, message: str) -> None:
    from derive.errors import InputError

    with pytest.raises(InputError) as e:
        LayeredNetwork.from_dict({"loss": "squared_error", **spec})
    assert message in str(e.value) and "\n" not in str(e.value)


def test_bad_attention_through_the_command(tmp_path) -> None:  # noqa: ANN001
    import subprocess
    import sys

    (tmp_path / "net.toml").write_text('input = [4]\nloss = "squared_error"\n[[layer]]\nkind = "attention"\ndk = 2\n'
                                       'dv = 2\n')
    r = subprocess.run([sys.executable, "-c", "import sys; from derive.cli import main; sys.exit(main())",
                        "derivation", "net.toml", "-o", "out.tex"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert "layer 1 (attention): its input has shape 4; attention needs a sequence [T, n]" in r.stderr
    assert not (tmp_path / "out.tex").exists()


def test_numeric_command_on_attention(tmp_path) -> None:  # noqa: ANN001
    import json
    import subprocess
    import sys

    spec, m = ATTENTION["causal attention, sigmoid, lambda"]
    net = LayeredNetwork.from_dict(spec)
    params, X, Y = draw(net, m)
    (tmp_path / "net.toml").write_text('input = [3, 2]\nlambda = 0.1\n[[layer]]\nkind = "attention"\ndk = 3\ndv = 2\n'
                                       'causal = true\n[[layer]]\nkind = "dense"\nunits = 2\nactivation = "sigmoid"\n')
    (tmp_path / "p.json").write_text(json.dumps({"layers": [{k: v.tolist() for k, v in p.items()} for p in params]}))
    (tmp_path / "d.json").write_text(json.dumps({"X": X.tolist(), "Y": Y.tolist()}))
    cli = [sys.executable, "-c", "import sys; from derive.cli import main; sys.exit(main())"]
    r = subprocess.run(cli + ["numeric", "net.toml", "--params", "p.json", "--data", "d.json"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["cost"] == pytest.approx(reference_cost(spec, params, X, Y), rel=1e-10)
    assert np.array(doc["gradients"][0]["Wq"]).shape == (2, 3)
    (tmp_path / "d.json").write_text(json.dumps({"X": X[:, :, :1].tolist(), "Y": Y.tolist()}))
    r = subprocess.run(cli + ["numeric", "net.toml", "--params", "p.json", "--data", "d.json"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "X: shape 2×3×1 does not fit the network; expected m × 3×2" in r.stderr


# ---- every format, both languages
@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_attention_derivation_prints_in_every_format(causal_derivation, language: str, tmp_path) -> None:  # noqa: ANN001
    import json
    import xml.etree.ElementTree as ET
    from html.parser import HTMLParser

    from derive.render import FORMATS, render

    texts = {fmt: render(causal_derivation, fmt, language=language) for fmt in FORMATS}
    doc = json.loads(texts["json"])
    assert {step["rule"] for step in doc["steps"]} >= {"softmax_jacobian", "rowsum_form", "layer_rule"}
    on_s = [step for step in doc["steps"] if step["id"].startswith("layer1.S.tensor")]
    assert [step["rule"] for step in on_s] == ["softmax_jacobian", "rowsum_form", "layer_rule"]
    assert "rowsum" in on_s[-1]["rhs"] and "4 × 4" in on_s[-1]["text"]
    for fmt in ("html", "mathml"):
        HTMLParser().feed(texts[fmt])
        for block in texts[fmt].split("<math")[1:]:  # every formula is well-formed MathML
            ET.fromstring("<math" + block.split("</math>")[0] + "</math>")
    assert "rowsum" in texts["markdown"] and "rowsum" in texts["latex"]
    if language == "zh":
        assert any("\u4e00" <= c <= "\u9fff" for c in texts["markdown"])
        from .conftest import need
        from .test_documents import compile_tex

        need("xelatex")
        pdf, _ = compile_tex(texts["latex"], "xelatex", tmp_path, "attention-zh")
        assert pdf.stat().st_size > 10_000
