"""Layered networks (SPEC §9): validation, numbers against finite differences and PyTorch, and the derived
backward rules (each proof must pass, and a wrong lecturer's form must be caught)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from derive.errors import CheckError, InputError, NotSupportedError
from derive.layers import LayeredNetwork
from derive.layers.numeric import lambdify

from . import layered_oracle as oracle

CNN = [{"kind": "conv2d", "channels": 2, "kernel": 3, "activation": "relu"}, {"kind": "maxpool", "size": 2},
       {"kind": "flatten"}, {"kind": "dense", "units": 3, "activation": "softmax"}]

NETWORKS = {
    "cnn lecture": ({"input": [1, 6, 6], "layer": CNN}, 3),
    "conv stride 2 padding 1, one channel, one unit": (
        {"input": [1, 5, 5], "layer": [{"kind": "conv2d", "channels": 1, "kernel": 3, "stride": 2, "padding": 1,
                                        "activation": "tanh"}, {"kind": "flatten"},
                                       {"kind": "dense", "units": 1, "activation": "sigmoid"}]}, 2),
    "two channels in, meanpool, squared error sum, lambda": (
        {"input": [2, 4, 4], "loss": "squared_error", "reduction": "sum", "lambda": 0.3,
         "layer": [{"kind": "conv2d", "channels": 3, "kernel": 2, "padding": 1, "activation": "sigmoid"},
                   {"kind": "meanpool", "size": 5}, {"kind": "flatten"},
                   {"kind": "dense", "units": 2, "activation": "linear"}]}, 2),
    "batchnorm on vectors, softmax K = 2": (
        {"input": [3], "layer": [{"kind": "dense", "units": 4, "activation": "relu"}, {"kind": "batchnorm"},
                                 {"kind": "dense", "units": 2, "activation": "softmax"}]}, 4),
    "batchnorm on images": (
        {"input": [2, 3, 3], "lambda": 0.1,
         "layer": [{"kind": "batchnorm", "eps": 0.01}, {"kind": "conv2d", "channels": 1, "kernel": 2,
                                                         "activation": "relu"},
                   {"kind": "flatten"}, {"kind": "dense", "units": 1, "activation": "sigmoid"}]}, 3),
    "layernorm, tanh": (
        {"input": [4], "loss": "squared_error",
         "layer": [{"kind": "dense", "units": 3, "activation": "tanh"}, {"kind": "layernorm"},
                   {"kind": "dense", "units": 2, "activation": "linear"}]}, 3),
    "maxpool 3, conv last layer": (
        {"input": [1, 6, 6], "loss": "squared_error",
         "layer": [{"kind": "maxpool", "size": 3}, {"kind": "conv2d", "channels": 2, "kernel": 2,
                                                    "activation": "sigmoid"}]}, 2),
}


def draw(net: LayeredNetwork, m: int, seed: int = 0) -> tuple[list[dict], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    params = [{name: rng.normal(0, 0.6, shape) for name, shape in layer.parameters} for layer in net.stack]
    X = rng.normal(0, 1, (m, *net.input))
    width = int(np.prod(net.output_shape))
    if net.output == "softmax":
        Y = np.eye(width)[rng.integers(0, width, m)]
    elif net.loss == "cross_entropy":
        Y = rng.uniform(0, 1, (m, width))
    else:
        Y = rng.normal(0, 1, (m, width))
    return params, X, Y.reshape(m, *net.output_shape)


@pytest.mark.parametrize("name", list(NETWORKS))
def test_numbers_match_central_differences(name: str) -> None:
    spec, m = NETWORKS[name]
    net = LayeredNetwork.from_dict(spec)
    params, X, Y = draw(net, m)
    out = lambdify(net).backward(params, X, Y)
    assert out["cost"] == pytest.approx(oracle.cost(spec, params, X, Y), rel=1e-10, abs=1e-12)
    reference = oracle.numgrad(spec, params, X, Y)
    assert len(out["gradients"]) == len(net.stack)
    for got, want, layer in zip(out["gradients"], reference, net.stack):
        assert sorted(got) == sorted(n for n, _ in layer.parameters)
        for key in want:
            assert got[key].shape == want[key].shape
            np.testing.assert_allclose(got[key], want[key], atol=2e-6, rtol=1e-5)


def test_max_pool_ties_go_to_the_first_maximum() -> None:
    spec = {"input": [1, 2, 4], "loss": "squared_error",
            "layer": [{"kind": "maxpool", "size": 2}, {"kind": "flatten"},
                      {"kind": "dense", "units": 1, "activation": "linear"}]}
    net = LayeredNetwork.from_dict(spec)
    fn = lambdify(net)
    X = np.array([[[[1.0, 1.0, 0.0, 2.0], [1.0, 0.5, 2.0, 2.0]]]])  # window 1: ties at (0,0),(0,1),(1,0)
    params = [{}, {}, {"W": np.array([[1.0, 1.0]]), "b": np.array([0.0])}]
    outs, caches = fn.forward(params, X)
    D = np.array([[[[3.0, 5.0]]]])
    dX, _ = __import__("derive.layers.registry", fromlist=["KINDS"]).KINDS["maxpool"].backward(
        D, caches[0][0], {}, {"size": 2})
    np.testing.assert_array_equal(dX[0, 0], [[3.0, 0.0, 0.0, 5.0], [0.0, 0.0, 0.0, 0.0]])


def test_the_public_lambdify_and_backprop_take_a_layered_network() -> None:
    import derive

    spec, m = NETWORKS["layernorm, tanh"]
    net = LayeredNetwork.from_dict(spec)
    params, X, Y = draw(net, m, seed=2)
    fn = derive.lambdify(net)
    assert fn.cost(params, X, Y) == pytest.approx(oracle.cost(spec, params, X, Y), rel=1e-12)
    grads = fn.gradients(params, X, Y)
    np.testing.assert_allclose(grads[2]["W"], oracle.numgrad(spec, params, X, Y)[2]["W"], atol=1e-6)
    assert derive.backprop(net).network is net


def test_relu_derivative_at_zero_is_zero() -> None:
    spec = {"input": [1], "loss": "squared_error",
            "layer": [{"kind": "dense", "units": 1, "activation": "relu"},
                      {"kind": "dense", "units": 1, "activation": "linear"}]}
    net = LayeredNetwork.from_dict(spec)
    params = [{"W": np.array([[1.0]]), "b": np.array([0.0])}, {"W": np.array([[2.0]]), "b": np.array([0.0])}]
    grads = lambdify(net).gradients(params, np.array([[0.0]]), np.array([[1.0]]))
    assert grads[0]["W"][0, 0] == 0.0 and grads[0]["b"][0] == 0.0


# ---- PyTorch, where it is installed
def _torch():  # noqa: ANN202
    """PyTorch, or a skip; with DERIVE_REQUIRE_TOOLS=1 (CI) a missing PyTorch is a failure."""
    from .conftest import REQUIRE_TOOLS

    if REQUIRE_TOOLS:
        import torch

        return torch
    return pytest.importorskip("torch")


def _torch_cost(torch, spec: dict, params: list[dict], X: np.ndarray, Y: np.ndarray):  # noqa: ANN001, ANN202
    F = torch.nn.functional
    A = torch.tensor(X)
    tp = [{k: torch.tensor(v, requires_grad=True) for k, v in p.items()} for p in params]
    acts = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "linear": lambda z: z}
    layers = spec["layer"]
    for n, (layer, p) in enumerate(zip(layers, tp)):
        kind = layer["kind"]
        if kind == "conv2d":
            Z = F.conv2d(A, p["K"], p["b"], stride=layer.get("stride", 1), padding=layer.get("padding", 0))
        elif kind == "dense":
            Z = A @ p["W"].T + p["b"]
        elif kind == "maxpool":
            Z = F.max_pool2d(A, layer["size"])
        elif kind == "meanpool":
            Z = F.avg_pool2d(A, layer["size"])
        elif kind == "flatten":
            Z = A.reshape(len(A), -1)
        elif kind == "batchnorm":
            Z = F.batch_norm(A, None, None, p["gamma"], p["beta"], training=True, eps=layer.get("eps", 1e-5))
        else:  # layernorm
            Z = F.layer_norm(A, (A.shape[1],), p["gamma"], p["beta"], eps=layer.get("eps", 1e-5))
        if n < len(layers) - 1:
            A = acts[layer.get("activation", "linear")](Z)
    Zf, Yt = Z.reshape(len(X), -1), torch.tensor(Y).reshape(len(X), -1)
    out = layers[-1].get("activation", "linear")
    if spec.get("loss", "cross_entropy") == "squared_error":
        A = torch.softmax(Zf, 1) if out == "softmax" else acts[out](Zf)
        per = 0.5 * ((A - Yt) ** 2).sum()
    elif out == "softmax":
        per = -(Yt * torch.log_softmax(Zf, 1)).sum()
    else:
        per = F.binary_cross_entropy_with_logits(Zf, Yt, reduction="sum")
    weights = sum((p[w] ** 2).sum() for p in tp for w in ("K", "W") if w in p)
    J = per + spec.get("lambda", 0.0) / 2 * weights
    J = J / len(X) if spec.get("reduction", "mean") == "mean" else J
    J.backward()
    return float(J.detach()), [{k: v.grad.numpy() for k, v in p.items()} for p in tp]


@pytest.mark.parametrize("name", list(NETWORKS))
def test_numbers_match_pytorch(name: str) -> None:
    torch = _torch()
    spec, m = NETWORKS[name]
    net = LayeredNetwork.from_dict(spec)
    params, X, Y = draw(net, m + 3, seed=4)
    X[0, ...] = np.round(X[0, ...])  # exact ties for max pooling and exact zeros for ReLU
    out = lambdify(net).backward(params, X, Y)
    J, grads = _torch_cost(torch, spec, params, X, Y)
    assert out["cost"] == pytest.approx(J, rel=1e-9)
    for got, want in zip(out["gradients"], grads):
        for key in want:
            np.testing.assert_allclose(got[key], want[key], rtol=1e-7, atol=1e-10)


# ---- the derivation: every proof passes, and a wrong lecturer's form is caught
@pytest.mark.parametrize("name", list(NETWORKS))
def test_every_backward_rule_is_derived_and_checked(name: str) -> None:
    from derive.layers.derivation import backprop

    net = LayeredNetwork.from_dict(NETWORKS[name][0])
    d = backprop(net)
    ids = [s.id for s in d.sections]
    for layer in net.stack:
        assert f"layer{layer.index}" in ids
        rules = [step.rule for step in d.section(f"layer{layer.index}").steps]
        assert rules.count("layer_rule") == 1 + len(layer.parameters)
        assert "chain_rule" in rules and "definition_delta" in rules


def test_softmax_cross_entropy_still_gives_a_minus_y() -> None:
    import sympy as sp

    from derive.layers.derivation import backprop

    d = backprop(LayeredNetwork.from_dict(NETWORKS["cnn lecture"][0]))
    a, y = sp.symbols("a y")
    assert sp.simplify(d.results.output_delta - (a - y)) == 0


WRONG = {
    "conv2d": lambda dX, g: (dX[:, :, ::-1, ::-1].copy(), g),        # the kernel not rotated: δ lands mirrored
    "maxpool": lambda dX, g: (dX[:, :, ::-1, :].copy(), g),           # δ routed to the wrong element
    "meanpool": lambda dX, g: (dX * 2, g),                            # δ/size instead of δ/size²
    "batchnorm": lambda dX, g: (dX, {**g, "gamma": g["beta"]}),       # ∂J/∂γ without x̂
    "dense": lambda dX, g: (dX, {**g, "W": g["W"] * 0 + g["W"].T.T[:, ::-1]}),
}


@pytest.mark.parametrize("kind", list(WRONG))
def test_a_wrong_lecturer_form_is_refused(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from derive.layers import registry
    from derive.layers.derivation import backprop

    entry = registry.KINDS[kind]

    def wrong(dZ, cache, P, cfg):  # noqa: ANN001, ANN202
        return WRONG[kind](*entry.backward(dZ, cache, P, cfg))

    monkeypatch.setitem(registry.KINDS, kind, dataclasses.replace(entry, backward=wrong))
    layers = {"conv2d": [{"kind": "conv2d", "channels": 2, "kernel": 2}],
              "maxpool": [{"kind": "maxpool", "size": 2}], "meanpool": [{"kind": "meanpool", "size": 2}],
              "batchnorm": [{"kind": "batchnorm"}], "dense": [{"kind": "flatten"}, {"kind": "dense", "units": 2}]}
    spec = {"input": [1, 2, 2] if kind != "batchnorm" else [2], "loss": "squared_error",
            "layer": layers[kind] + ([{"kind": "flatten"}] if kind in ("conv2d", "maxpool", "meanpool") else [])}
    with pytest.raises(CheckError):
        backprop(LayeredNetwork.from_dict(spec))


# ---- the description: every bad shape, key, type or kind refused with the layer named
BAD = [
    ({"input": [1, 6, 6], "layer": [{"kind": "conv2d", "channels": 2, "kernel": 7}]},
     "layer 1 (conv2d): kernel 7 is larger than the padded input 6×6"),
    ({"input": [1, 5, 5], "layer": [{"kind": "conv2d", "channels": 2, "kernel": 2, "stride": 2}]},
     "layer 1 (conv2d): stride 2 does not fit"),
    ({"input": [1, 6, 6], "layer": [{"kind": "maxpool", "size": 4}]}, "layer 1 (maxpool): window 4 does not divide"),
    ({"input": [1, 6, 6], "layer": [{"kind": "dense", "units": 3}]}, "layer 1 (dense): its input has shape 1×6×6"),
    ({"input": [4], "layer": [{"kind": "conv2d", "channels": 1, "kernel": 1}]},
     "layer 1 (conv2d): its input has shape"),
    ({"input": [4], "layer": [{"kind": "flatten"}]}, "layer 1 (flatten): its input [4] is already a vector"),
    ({"input": [1, 2, 2], "layer": [{"kind": "layernorm"}]}, "layer 1 (layernorm): its input has shape"),
    ({"input": [4], "layer": [{"kind": "pool"}]}, "layer 1: unknown kind 'pool'; allowed: dense | conv2d"),
    ({"input": [4], "layer": [{"kind": "attention", "dk": 2}]}, "layer 1 (attention): 'dv' is required"),
    ({"input": [4], "layer": [{"units": 2}]}, "layer 1: 'kind' is required"),
    ({"input": [4], "layer": [{"kind": "dense"}]}, "layer 1 (dense): 'units' is required"),
    ({"input": [4], "layer": [{"kind": "dense", "units": 0}]}, "layer 1 (dense): 'units' is 0"),
    ({"input": [4], "layer": [{"kind": "dense", "units": 2.5}]}, "layer 1 (dense): 'units' is 2.5"),
    ({"input": [4], "layer": [{"kind": "dense", "units": True}]}, "layer 1 (dense): 'units' is True"),
    ({"input": [4], "layer": [{"kind": "dense", "units": 2, "size": 2}]}, "layer 1 (dense): unknown key 'size'"),
    ({"input": [4], "layer": [{"kind": "dense", "units": 2, "activation": "swish"}]}, "'activation' is 'swish'"),
    ({"input": [4], "layer": [{"kind": "dense", "units": 2, "activation": "softmax"},
                              {"kind": "dense", "units": 2}]}, "layer 1 (dense): activation 'softmax'"),
    ({"input": [4], "layer": [{"kind": "batchnorm", "eps": 0}]}, "layer 1 (batchnorm): 'eps' is 0"),
    ({"input": [4], "layer": [{"kind": "dense", "units": 2}]}, "loss 'cross_entropy' needs outputs in (0, 1)"),
    ({"input": [1, 6, 6], "layer": [{"kind": "conv2d", "channels": 2, "kernel": 3, "padding": 3}]}, "padding 3"),
    ({"input": [0, 6, 6], "layer": [{"kind": "flatten"}]}, "'input': every size must be from 1 to"),
    ({"input": [3, 4], "layer": [{"kind": "batchnorm"}]}, "layer 1 (batchnorm): its input is a sequence 3×4"),
    ({"input": [3, 4], "layer": [{"kind": "conv2d", "channels": 1, "kernel": 1}]},
     "layer 1 (conv2d): its input has shape 3×4; conv2d needs an image"),
    ({"input": [2, 3, 4, 5], "layer": [{"kind": "flatten"}]}, "'input' must be [n] (a vector), [T, n] (a sequence)"),
    ({"input": [3, 4, 5, 6], "layer": [{"kind": "flatten"}]}, "'input' must be [n] (a vector), [T, n] (a sequence)"),
    ({"input": [1025, 4], "layer": [{"kind": "flatten"}]}, "has 1025 time steps; at most 1024"),
    ({"input": "6", "layer": [{"kind": "flatten"}]}, "'input' must be a list of whole numbers"),
    ({"input": [4], "layer": []}, "'layer' must be a list of [[layer]] tables"),
    ({"input": [4]}, "'layer' is required"),
    ({"input": [4], "layer": [{"kind": "dense", "units": 1}], "layers": [2, 1]}, "give either 'layers'"),
    ({"input": [4], "layer": [{"kind": "dense", "units": 1}], "colour": 1}, "unknown key 'colour'"),
    ({"input": [64, 128, 128], "layer": [{"kind": "flatten"}]}, "at most 1,000,000"),
    ({"input": [4], "loss": "squared_error", "layer": [{"kind": "dense", "units": 4000}] * 3},
     "parameters; at most 10,000,000"),
    ({"input": [4], "loss": "squared_error", "layer": [{"kind": "flatten"}] * 33}, "at most 32 are allowed"),
]


@pytest.mark.parametrize("spec, message", BAD, ids=[m for _, m in BAD])
def test_bad_descriptions_are_refused(spec: dict, message: str) -> None:
    with pytest.raises(InputError) as e:
        LayeredNetwork.from_dict({"loss": "squared_error", **spec} if "loss" not in spec and "needs outputs" not in
                                 message else spec)
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_dense_over_an_image_is_refused_with_the_fix() -> None:
    with pytest.raises(InputError, match="put a flatten layer before it"):
        LayeredNetwork.from_dict({"input": [1, 2, 2], "loss": "squared_error",
                                  "layer": [{"kind": "dense", "units": 2}]})


# ---- the command line
def _derive() -> list[str]:
    script = shutil.which("derive")
    return [script] if script else [sys.executable, "-c", "import sys; from derive.cli import main; sys.exit(main())"]


def _toml(spec: dict) -> str:
    lines = [f"{k} = {json.dumps(v)}" for k, v in spec.items() if k != "layer"]
    for layer in spec["layer"]:
        lines.append("[[layer]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in layer.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def files(tmp_path: Path) -> Path:
    spec, m = NETWORKS["cnn lecture"]
    net = LayeredNetwork.from_dict(spec)
    params, X, Y = draw(net, m)
    (tmp_path / "net.toml").write_text(_toml(spec))
    (tmp_path / "p.json").write_text(json.dumps({"layers": [{k: v.tolist() for k, v in p.items()} for p in params]}))
    (tmp_path / "d.json").write_text(json.dumps({"X": X.tolist(), "Y": Y.tolist()}))
    return tmp_path


def test_numeric_command_prints_cost_and_gradients(files: Path) -> None:
    r = subprocess.run(_derive() + ["numeric", "net.toml", "--params", "p.json", "--data", "d.json"], cwd=files,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    spec = NETWORKS["cnn lecture"][0]
    params = [{k: np.array(v) for k, v in p.items()} for p in json.loads((files / "p.json").read_text())["layers"]]
    data = json.loads((files / "d.json").read_text())
    assert doc["cost"] == pytest.approx(oracle.cost(spec, params, np.array(data["X"]), np.array(data["Y"])))
    assert [sorted(g) for g in doc["gradients"]] == [["K", "b"], [], [], ["W", "b"]]
    assert np.array(doc["gradients"][0]["K"]).shape == (2, 1, 3, 3)


@pytest.mark.parametrize("change, message", [
    ({"p.json": {"layers": [{}, {}, {}, {}]}}, "layers[1] (conv2d): missing key 'K'"),
    ({"p.json": {"layers": [{"K": [[1]], "b": [0, 0]}, {}, {}, {}]}}, "layers[1] (conv2d): K: shape 1×1"),
    ({"p.json": {"Theta": []}}, "missing key 'layers'"),
    ({"d.json": {"X": [[[[True]]]], "Y": [[1, 0, 0]]}}, "true is not a number"),
    ({"d.json": {"X": [[1, 2]], "Y": [[1, 0, 0]]}}, "X: shape 1×2 does not fit the network; expected m × 1×6×6"),
])
def test_numeric_command_refuses_bad_numbers(files: Path, change: dict, message: str) -> None:
    for name, value in change.items():
        (files / name).write_text(json.dumps(value))
    r = subprocess.run(_derive() + ["numeric", "net.toml", "--params", "p.json", "--data", "d.json", "-o", "out.json"],
                       cwd=files, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (files / "out.json").exists()


@pytest.mark.parametrize("argv", [["grade", "net.toml", "--target", "delta[2][1]", "--answer", "a"]])
def test_other_commands_refuse_layered_networks_cleanly(files: Path, argv: list[str]) -> None:
    r = subprocess.run(_derive() + argv, cwd=files, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "not yet supported for layered networks" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("fmt", ["json", "markdown", "latex"])
def test_derivation_command_prints_a_layered_network(files: Path, fmt: str) -> None:
    r = subprocess.run(_derive() + ["derivation", "net.toml", "--format", fmt, "-o", f"out.{fmt}"], cwd=files,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    text = (files / f"out.{fmt}").read_text()
    if fmt == "json":
        doc = json.loads(text)
        assert doc["network"]["input"] == [1, 6, 6]
        assert {s["rule"] for s in doc["steps"]} >= {"chain_rule", "definition_delta", "layer_rule"}
    if fmt == "latex":
        from .conftest import need

        pdflatex = need("pdflatex")
        run = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", f"out.{fmt}"], cwd=files,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout[-2000:]


def test_bad_layered_description_through_the_command(tmp_path: Path) -> None:
    (tmp_path / "net.toml").write_text('input = [1, 6, 6]\n[[layer]]\nkind = "conv2d"\nchannels = 2\nkernel = 7\n')
    r = subprocess.run(_derive() + ["derivation", "net.toml", "-o", "out.tex"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2
    assert "layer 1 (conv2d): kernel 7 is larger than the padded input 6×6" in r.stderr
    assert not (tmp_path / "out.tex").exists()


def test_not_supported_is_an_input_error() -> None:
    assert issubclass(NotSupportedError, InputError)


def test_layered_derivation_in_another_language_and_notation(tmp_path):
    """--language and --notation are render settings: a layered network prints in Chinese under nielsen too."""
    import shutil
    import subprocess

    from .conftest import need

    net = tmp_path / "net.toml"
    net.write_text('input = [1, 4, 4]\n[[layer]]\nkind = "conv2d"\nchannels = 1\nkernel = 3\nactivation = "relu"\n'
                   '[[layer]]\nkind = "flatten"\n[[layer]]\nkind = "dense"\nunits = 1\nactivation = "sigmoid"\n')
    r = subprocess.run([shutil.which("derive") or "derive", "derivation", str(net), "--format", "latex",
                        "--language", "zh", "--notation", "nielsen", "-o", str(tmp_path / "d.tex")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "d.tex").read_text(encoding="utf-8")
    assert "ctex" in text and any("\u4e00" <= c <= "\u9fff" for c in text)
    need("xelatex")
    c = subprocess.run(["xelatex", "-interaction=nonstopmode", "-halt-on-error", "d.tex"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)
    assert c.returncode == 0, c.stdout[-2000:]
