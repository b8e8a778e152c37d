"""derive example and derive check on layered networks (SPEC §9, §6): every δ against central finite differences
of an independent loop implementation, the exact trace against the engine, the commands on every layer kind,
and bad claims refused in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from derive.errors import InputError
from derive.layers import LayeredNetwork, exact
from derive.layers.claims import index
from derive.layers.numeric import lambdify

from . import layered_oracle as oracle
from .test_layers import NETWORKS, _toml, draw

SEQUENCES = {
    "rnn tanh, three steps, every step's output": (
        {"input": [3, 2], "loss": "squared_error", "layer": [{"kind": "rnn", "units": 2, "returns": "sequence"}]}, 2),
    "rnn relu into dense, four steps": (
        {"input": [4, 2], "loss": "squared_error", "layer": [
            {"kind": "rnn", "units": 3, "activation": "relu", "returns": "last"}, {"kind": "dense", "units": 1}]}, 2),
    "lstm into dense, three steps, two units": (
        {"input": [3, 2], "loss": "squared_error", "layer": [
            {"kind": "lstm", "units": 2, "returns": "last"}, {"kind": "dense", "units": 1}]}, 2),
    "causal attention into softmax": (
        {"input": [3, 2], "loss": "cross_entropy", "layer": [
            {"kind": "attention", "dk": 2, "dv": 2, "causal": True}, {"kind": "flatten"},
            {"kind": "dense", "units": 2, "activation": "softmax"}]}, 2),
}
"""recurrent and attention layers: each layer's output at a step holds the earlier steps many times over"""

DERIVE = [sys.executable, "-c", "import sys; from derive.cli import main; sys.exit(main())"]


def _cost_from(spec: dict, params: list, n: int, Z: np.ndarray, Y: np.ndarray) -> float:
    """J (the sum of the examples' losses) as a function of z^(n+1), the output of [[layer]] n before its
    activation, by the loop implementation of tests/layered_oracle.py."""
    layers = spec["layer"]
    if n == len(layers):
        rest = [{"kind": "flatten", "activation": layers[-1].get("activation", "linear")}]
        A, P = Z, [{}]
    else:
        rest, P = layers[n:], params[n:]
        A = oracle.ACT[layers[n - 1].get("activation", "linear")](Z)
    sub = {**spec, "layer": rest, "lambda": 0.0}
    J = oracle.cost(sub, P, A, Y)
    return J * len(Z) if spec.get("reduction", "mean") == "mean" else J


@pytest.mark.parametrize("name", list(NETWORKS))
def test_every_delta_matches_central_differences(name: str) -> None:
    spec, m = NETWORKS[name]
    net = LayeredNetwork.from_dict(spec)
    params, X, Y = draw(net, m, seed=5)
    out = lambdify(net).backward(params, X, Y, trace=True)
    for n in range(1, len(net.stack) + 1):
        Z = np.array(out["z"][n - 1], dtype=float)
        D = out["deltas"][n - 1]
        assert D.shape == Z.shape
        for idx in np.ndindex(*Z.shape[1:]):
            up, down = Z.copy(), Z.copy()
            up[(0, *idx)] += 1e-6
            down[(0, *idx)] -= 1e-6
            fd = (_cost_from(spec, params, n, up, Y) - _cost_from(spec, params, n, down, Y)) / 2e-6
            assert D[(0, *idx)] == pytest.approx(fd, rel=1e-5, abs=1e-7), (n, idx)


def _rational(array: np.ndarray) -> np.ndarray:
    out = np.empty(array.shape, dtype=object)
    for idx in np.ndindex(*array.shape):
        out[idx] = sp.Rational(repr(float(array[idx])))
    return out


@pytest.mark.parametrize("name", [*NETWORKS, *SEQUENCES])
def test_the_exact_trace_agrees_with_the_engine(name: str) -> None:
    """The definitions differentiated by SymPy, in exact arithmetic, give the array code's numbers."""
    spec, m = {**NETWORKS, **SEQUENCES}[name]
    net = LayeredNetwork.from_dict(spec)
    params, X, Y = draw(net, m, seed=2)
    params = [{k: np.round(v, 2) for k, v in p.items()} for p in params]
    X = np.round(X, 1)
    out = lambdify(net).backward(params, X, Y, trace=True)
    tr = exact.trace(net, [{k: _rational(v) for k, v in p.items()} for p in params], _rational(X), _rational(Y))
    pairs = [(out["cost"], tr["cost"])]
    for key in ("a", "z", "deltas"):
        for mine, theirs in zip(out[key], tr[key]):
            pairs += [(mine[idx], theirs[idx]) for idx in np.ndindex(*np.shape(mine))]
    for mine, theirs in zip(out["gradients"], tr["gradients"]):
        pairs += [(mine[k][idx], theirs[k][idx]) for k in mine for idx in np.ndindex(*mine[k].shape)]
    assert all(t is not None for _, t in pairs)
    for engine, value in pairs:
        assert float(value) == pytest.approx(engine, rel=1e-9, abs=1e-12)


def test_a_tied_maximum_follows_the_first_maximum_rule_exactly() -> None:
    """z = x₀ + x₁ ties at (1, 1) and (1, 2); the first (row-major) takes δ, so ∂J/∂K = δ · (x₀, x₁) there."""
    spec = {"input": [2, 2, 2], "loss": "squared_error", "reduction": "sum",
            "layer": [{"kind": "conv2d", "channels": 1, "kernel": 1}, {"kind": "maxpool", "size": 2},
                      {"kind": "flatten"}, {"kind": "dense", "units": 1}]}
    net = LayeredNetwork.from_dict(spec)
    X = np.array([[[[1.0, 2.0], [0.0, 0.0]], [[2.0, 1.0], [0.0, 0.0]]]])
    params = [{"K": np.ones((1, 2, 1, 1)), "b": np.zeros(1)}, {}, {}, {"W": np.array([[2.0]]), "b": np.array([0.5])}]
    Y = np.array([[1.0]])
    out = lambdify(net).backward(params, X, Y, trace=True)
    tr = exact.trace(net, [{k: _rational(v) for k, v in p.items()} for p in params], _rational(X), _rational(Y))
    # output 2·3 + 0.5 = 6.5, δ = 5.5; the pool's δ = 11, routed to the first 3: x₀ = 1, x₁ = 2 there
    assert out["gradients"][0]["K"].ravel().tolist() == [11.0, 22.0]
    assert [tr["gradients"][0]["K"][0, c, 0, 0] for c in range(2)] == [11, 22]


# ---- the commands
def _files(tmp_path: Path, spec: dict, m: int, seed: int = 1) -> tuple[LayeredNetwork, list, np.ndarray, np.ndarray]:
    net = LayeredNetwork.from_dict(spec)
    params, X, Y = draw(net, m, seed=seed)
    params = [{k: np.round(v, 2) for k, v in p.items()} for p in params]
    X = np.round(X, 1)
    (tmp_path / "net.toml").write_text(_toml(spec))
    (tmp_path / "p.json").write_text(json.dumps({"layers": [{k: v.tolist() for k, v in p.items()} for p in params]}))
    (tmp_path / "d.json").write_text(json.dumps({"X": X.tolist(), "Y": Y.tolist()}))
    return net, params, X, Y


def _run(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(DERIVE + list(argv), cwd=tmp_path, capture_output=True, text=True, timeout=300)


def _claims(net: LayeredNetwork, out: dict) -> dict[str, str]:
    """One claim of every kind the network has, each the engine's value to 6 significant digits."""
    claims = {"J": f"{out['cost']:.6g}"}
    N = len(net.stack)
    last = tuple(s - 1 for s in net.stack[-1].output)
    claims[f"a[{N + 1}]" + "".join(f"[{i + 1}]" for i in last)] = f"{out['a'][N][(0, *last)]:.6g}"
    claims["z[2]" + "[1]" * len(net.stack[0].output)] = f"{out['z'][0][(0,) * (len(net.stack[0].output) + 1)]:.6g}"
    claims[f"delta[{N + 1}]" + "[1]" * len(last)] = f"{out['deltas'][N - 1][(0,) * (len(last) + 1)]:.6g}"
    for layer, grads in zip(net.stack, out["gradients"]):
        for name, G in grads.items():
            idx = tuple(s - 1 for s in G.shape)
            claims[f"d{name}[{layer.index}]" + "".join(f"[{i + 1}]" for i in idx)] = f"{G[idx]:.6g}"
    return claims


@pytest.mark.parametrize("name", [*NETWORKS, *SEQUENCES])
def test_example_and_check_on_every_kind(tmp_path: Path, name: str) -> None:
    spec, m = {**NETWORKS, **SEQUENCES}[name]
    net, params, X, Y = _files(tmp_path, spec, m)
    out = lambdify(net).backward(params, X, Y, trace=True)
    claims = _claims(net, out)
    (tmp_path / "c.json").write_text(json.dumps({"claims": claims}))
    r = _run(tmp_path, "example", "net.toml", "--params", "p.json", "--data", "d.json", "--claims", "c.json",
             "--rate", "0.01", "-f", "json", "-o", "ex.json")
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "ex.json").read_text())
    text = json.dumps(doc)
    for layer in net.stack:
        backward = "example_layer_backward" if layer.parameters else "example_layer_error"
        assert f"example_layer{layer.index}" in text and f"{backward}{layer.index}" in text
    assert "example_update" in text and "claim_wrong" not in text
    r = _run(tmp_path, "check", "net.toml", "--params", "p.json", "--data", "d.json", "--claims", "c.json",
             "-f", "json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["wrong"] == [] and len(report["claims"]) == len(claims)
    # one claim off in its last digit: exit 1, named, with the right value
    wrong = dict(claims)
    key = next(k for k in claims if k.startswith("d"))
    digits = claims[key]
    wrong[key] = digits[:-1] + str((int(digits[-1]) + 3) % 10) if digits[-1].isdigit() else digits
    (tmp_path / "c.json").write_text(json.dumps({"claims": wrong}))
    r = _run(tmp_path, "check", "net.toml", "--params", "p.json", "--data", "d.json", "--claims", "c.json",
             "-f", "json")
    assert r.returncode == 1 and json.loads(r.stdout)["wrong"] == [key]


def test_example_shows_exact_values_where_rational(tmp_path: Path) -> None:
    spec = {"input": [1, 2, 2], "loss": "squared_error", "reduction": "sum",
            "layer": [{"kind": "conv2d", "channels": 1, "kernel": 2, "activation": "relu"}, {"kind": "flatten"},
                      {"kind": "dense", "units": 1}]}
    (tmp_path / "net.toml").write_text(_toml(spec))
    (tmp_path / "p.json").write_text(json.dumps({"layers": [{"K": [[[[0.5, -0.25], [0.125, 1]]]], "b": [0.1]}, {},
                                                             {"W": [[2]], "b": [-0.3]}]}))
    (tmp_path / "d.json").write_text(json.dumps({"X": [[[[1, 2], [3, 0.5]]]], "Y": [[1]]}))
    r = _run(tmp_path, "example", "net.toml", "--params", "p.json", "--data", "d.json", "-f", "markdown",
             "--rate", "0.01")
    assert r.returncode == 0, r.stderr
    # z = 0.1 + 0.5 − 0.5 + 0.375 + 0.5 = 0.975; a = 0.975; output 2·0.975 − 0.3 = 1.65; δ = 0.65; J = 0.21125
    assert "= 0.975" in r.stdout and "= 1.65" in r.stdout and "= 0.21125" in r.stdout and "= 0.65" in r.stdout
    assert "Exact" in r.stdout


def test_example_refuses_a_network_too_large_to_show(tmp_path: Path) -> None:
    spec = {"input": [1, 28, 28], "layer": [{"kind": "conv2d", "channels": 6, "kernel": 5}, {"kind": "flatten"},
                                           {"kind": "dense", "units": 2, "activation": "softmax"}]}
    _files(tmp_path, spec, 1)
    r = _run(tmp_path, "example", "net.toml", "--params", "p.json", "--data", "d.json", "-o", "out.md")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "at most 400" in r.stderr and not (tmp_path / "out.md").exists()


CNN_SPEC = NETWORKS["cnn lecture"][0]


@pytest.mark.parametrize("name, message", [
    ("x[1]", "unknown name 'x[1]'; allowed names: a[l][…], z[l][…], delta[l][…], J, dK[l][o][c][u][v], db[l][i], "
             "dW[l][i][j]"),
    ("a[7][1]", "'a[7][1]': layer 7 is out of range; a names layers 1, 2, 3, 4, 5"),
    ("z[1][1][1][1]", "'z[1][1][1][1]': layer 1 is out of range; z names layers 2, 3, 4, 5"),
    ("a[2][1][1]", "'a[2][1][1]': a[2] has shape 2 × 4 × 4, so it takes 3 indices after the layer: a[2][c][i][j]"),
    ("a[2][3][1][1]", "'a[2][3][1][1]' is out of range: a[2] has shape 2 × 4 × 4 (c = 1 … 2, i = 1 … 4, j = 1 … 4)"),
    ("delta[5][0]", "'delta[5][0]' is out of range: delta[5] has shape 3 (i = 1 … 3)"),
    ("dK[2][1][1][1][1]", "'dK[2][1][1][1][1]': layer 2 (maxpool) has no parameter K; dK names layers 1"),
    ("dW[4][4][1]", "'dW[4][4][1]' is out of range: dW[4] has shape 3 × 8 (i = 1 … 3, j = 1 … 8)"),
    ("J[1]", "'J[1]': J takes no indices"),
    ("db[x]", "'db[x]' needs whole-number indices: db[l][i]"),
])
def test_bad_claim_names_are_refused_in_one_line(tmp_path: Path, name: str, message: str) -> None:
    net = LayeredNetwork.from_dict(CNN_SPEC)
    with pytest.raises(InputError) as e:
        index(net, name, "c.json")
    assert message in str(e.value)
    _files(tmp_path, CNN_SPEC, 2)
    (tmp_path / "c.json").write_text(json.dumps({"claims": {name: "0.5"}}))
    r = _run(tmp_path, "check", "net.toml", "--params", "p.json", "--data", "d.json", "--claims", "c.json")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_a_claim_beyond_double_precision_is_judged_exactly(tmp_path: Path) -> None:
    spec = {"input": [2], "loss": "squared_error", "reduction": "sum",
            "layer": [{"kind": "dense", "units": 1}]}
    (tmp_path / "net.toml").write_text(_toml(spec))
    (tmp_path / "p.json").write_text(json.dumps({"layers": [{"W": [[0.1, 0.2]], "b": [0.3]}]}))
    (tmp_path / "d.json").write_text(json.dumps({"X": [[1, 1]], "Y": [[0]]}))
    # z = 0.6 exactly; the double nearest 0.1 + 0.2 + 0.3 is 0.6000000000000001
    (tmp_path / "c.json").write_text(json.dumps({"claims": {"z[2][1]": "0.60000000000000000000"}}))
    r = _run(tmp_path, "check", "net.toml", "--params", "p.json", "--data", "d.json", "--claims", "c.json")
    assert r.returncode == 0, r.stdout + r.stderr


def _torch_deltas(spec: dict, params: list, X: np.ndarray, Y: np.ndarray) -> list:
    """∂(Σ_e loss_e)/∂z of every layer's output by PyTorch autograd (retain_grad on each z)."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    A = torch.tensor(X, requires_grad=True)
    zs = []
    layers = spec["layer"]
    for n, (layer, p) in enumerate(zip(layers, params)):
        P = {k: torch.tensor(v) for k, v in p.items()}
        kind = layer["kind"]
        if kind == "conv2d":
            Z = F.conv2d(A, P["K"], P["b"], stride=layer.get("stride", 1), padding=layer.get("padding", 0))
        elif kind == "maxpool":
            Z = F.max_pool2d(A, layer["size"])
        elif kind == "meanpool":
            Z = F.avg_pool2d(A, layer["size"])
        elif kind == "flatten":
            Z = A.reshape(len(A), -1)
        elif kind == "dense":
            Z = A @ P["W"].T + P["b"]
        elif kind == "batchnorm":
            Z = F.batch_norm(A, None, None, P["gamma"], P["beta"], training=True, eps=layer.get("eps", 1e-5))
        else:
            Z = F.layer_norm(A, A.shape[1:], P["gamma"], P["beta"], eps=layer.get("eps", 1e-5))
        Z.retain_grad()
        zs.append(Z)
        act = layer.get("activation", "linear")
        if n < len(layers) - 1:
            A = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "linear": lambda t: t}[act](Z)
    Zf, T = Z.reshape(len(X), -1), torch.tensor(Y).reshape(len(X), -1)
    if spec.get("loss", "cross_entropy") == "squared_error":
        out = {"sigmoid": torch.sigmoid, "linear": lambda t: t, "softmax": lambda t: torch.softmax(t, 1)}[act](Zf)
        J = 0.5 * ((out - T) ** 2).sum()
    elif act == "softmax":
        J = -(T * torch.log_softmax(Zf, 1)).sum()
    else:
        J = F.binary_cross_entropy_with_logits(Zf, T, reduction="sum")
    J.backward()
    return [z.grad.numpy() for z in zs]


@pytest.mark.parametrize("name", list(NETWORKS))
def test_every_delta_matches_pytorch(name: str) -> None:
    spec, m = NETWORKS[name]
    net = LayeredNetwork.from_dict(spec)
    params, X, Y = draw(net, m, seed=7)
    out = lambdify(net).backward(params, X, Y, trace=True)
    for mine, theirs in zip(out["deltas"], _torch_deltas(spec, params, X, Y)):
        np.testing.assert_allclose(mine, theirs.reshape(mine.shape), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("fmt", ["latex", "beamer", "html", "mathml", "markdown", "json"])
def test_the_example_prints_in_every_format(tmp_path: Path, fmt: str) -> None:
    net, params, X, Y = _files(tmp_path, CNN_SPEC, 2)
    cost = lambdify(net).cost(params, X, Y)
    ext = {"latex": "tex", "beamer": "tex", "markdown": "md", "mathml": "html"}.get(fmt, fmt)
    r = _run(tmp_path, "example", "net.toml", "--params", "p.json", "--data", "d.json", "--rate", "0.01",
             "-f", fmt, "-o", f"out.{ext}", "--language", "zh" if fmt == "html" else "en")
    assert r.returncode == 0, r.stderr
    text = (tmp_path / f"out.{ext}").read_text()
    assert f"{cost:.7g}" in text  # the cost, as the engine computes it, to 7 significant digits
    if fmt == "json":
        doc = json.loads(text)
        assert doc["network"]["input"] == [1, 6, 6]
    if fmt in ("latex", "beamer"):
        from .conftest import need

        engine = need("xelatex" if fmt == "beamer" else "pdflatex")
        run = subprocess.run([engine, "-interaction=nonstopmode", "-halt-on-error", f"out.{ext}"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stdout[-2000:]


def test_example_refuses_too_many_examples(tmp_path: Path) -> None:
    _files(tmp_path, CNN_SPEC, 9)
    r = _run(tmp_path, "example", "net.toml", "--params", "p.json", "--data", "d.json")
    assert r.returncode == 2 and r.stderr.strip() == ("derive: error: d.json: 9 examples; a worked example takes at "
                                                     "most 8 (use derive numeric)"), r.stderr


def test_the_exact_trace_leaves_remembered_derivatives_evaluated() -> None:
    """The exact trace builds its definitions unevaluated; the g′ the recurrent kinds remember on first use
    must still be the evaluated derivative afterwards (the LSTM derivation relies on it)."""
    from derive.layers.kinds import recurrent

    recurrent._exact.cache_clear()
    spec, m = SEQUENCES["lstm into dense, three steps, two units"]
    net = LayeredNetwork.from_dict(spec)
    params, X, Y = draw(net, m, seed=3)
    params = [{k: np.round(v, 2) for k, v in p.items()} for p in params]
    exact.trace(net, [{k: _rational(v) for k, v in p.items()} for p in params], _rational(np.round(X, 1)),
                _rational(Y))
    z = sp.Symbol("z")
    for name in ("sigmoid", "tanh"):
        g, prime = recurrent._exact(name)
        derived = prime(z)
        assert not derived.has(sp.Derivative)
        assert sp.simplify(derived - sp.diff(g(z), z)) == 0
