"""The nielsen profile through every command: a separate bias b^l, BP1–BP4, σ only for the sigmoid, C and n,
Nielsen's layer numbering (w^l feeds layer l) in claim and answer names; every number as under ng."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from derive.cli import main
from derive.model.notation import PROFILES, Alias, shift

from . import oracle
from .test_documents import compile_tex

CONFIGS = {
    "tanh-sigmoid": {"layers": [2, 2, 1], "activation": "tanh", "output": "sigmoid"},
    "relu-softmax2": {"layers": [2, 3, 2], "activation": "relu", "output": "softmax", "lambda": 0.1},
    "sigmoid-tanh-squared": {"layers": [3, 2, 2, 1], "activation": ["sigmoid", "tanh"], "output": "sigmoid",
                             "loss": "squared_error", "reduction": "sum"},
}
FORMATS = ("latex", "beamer", "mathml", "html", "markdown", "json")
THETA = re.compile(r"Θ|\\Theta|Theta|&Theta;|&#920;|&#x398;")
"""Θ however a format writes it"""


def _toml(spec: dict, **more: object) -> str:
    out = []
    for key, value in {**spec, **more}.items():
        out.append(f"{key} = {json.dumps(value)}")
    return "\n".join(out) + "\n"


def _write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _problem(spec: dict, seed: int = 3) -> tuple[list, np.ndarray, np.ndarray]:
    Ts, X, Y = oracle.problem(spec, m=1, seed=seed)
    return [np.round(T, 2) for T in Ts], np.round(X, 2), Y


def _files(tmp_path, spec: dict, notation: str = "nielsen", **more: object) -> tuple[str, str, str]:
    Ts, X, Y = _problem(spec)
    net = _write(tmp_path, f"{notation}.toml", _toml(spec, notation=notation, **more))
    params = _write(tmp_path, "p.json", json.dumps({"Theta": [T.tolist() for T in Ts]}))
    data = _write(tmp_path, "d.json", json.dumps({"X": X.tolist(), "Y": Y.tolist()}))
    return net, params, data


# --- the derivation -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", list(CONFIGS))
def test_derivation_in_every_format_has_no_theta(name, fmt, tmp_path, capsys):
    net = _write(tmp_path, "n.toml", _toml(CONFIGS[name], notation="nielsen"))
    code, out, err = _run(capsys, "derivation", net, "--format", fmt)
    assert code == 0, err
    assert not THETA.search(out), THETA.search(out)
    assert "column 0" not in out.replace("no column 0", "")  # a separate bias has no column 0 to speak of


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_derivation_writes_nielsens_equations(name, language, tmp_path, capsys):
    spec = CONFIGS[name]
    net = _write(tmp_path, "n.toml", _toml(spec, notation="nielsen", language=language))
    code, tex, err = _run(capsys, "derivation", net, "--format", "latex")
    assert code == 0, err
    hidden = spec["activation"] if isinstance(spec["activation"], list) else [spec["activation"]]
    L = len(spec["layers"])
    # z^l = w^l a^(l−1) + b^l, the activation by its own name: σ only for the sigmoid
    for layer in range(2, L + 1):
        assert f"z^{{{layer}}} &= w^{{{layer}}} a^{{{layer - 1}}} + b^{{{layer}}}" in tex
    symbols = {"sigmoid": r"\sigma", "tanh": r"\tanh", "relu": r"\operatorname{ReLU}",
               "softmax": r"\operatorname{softmax}"}
    for layer, act in enumerate([*hidden, spec["output"]], start=2):
        assert f"a^{{{layer}}} &= {symbols[act]}(z^{{{layer}}})" in tex
        others = [s for a, s in symbols.items() if a != act]
        assert not any(f"{s}(z^{{{layer}}})" in tex or f"{s}'(z^{{{layer}}}" in tex for s in others)
    if "sigmoid" not in [*hidden, spec["output"]]:
        assert r"\sigma" not in tex
    # BP1–BP4: the headings, ∂C/∂b^l_j = δ^l_j and ∂C/∂w^l_jk = a^(l−1)_k δ^l_j
    for bp in ("BP1", "BP2", "BP3", "BP4"):
        assert bp in tex
    for layer in range(2, L + 1):
        bias = tex[tex.index(f"\\frac{{\\partial C}}{{\\partial b^{{{layer}}}_{{j}}}} &="):]
        assert bias.split("\\frac{\\partial C}{\\partial w", 1)[0].count(f" &= \\delta^{{{layer}}}_{{j}} \\tag") == 1
        assert f"a^{{{layer - 1}}}_{{k}} \\cdot \\delta^{{{layer}}}_{{j}}" in tex
        assert f"\\frac{{\\partial C}}{{\\partial b^{{{layer}}}}} &= \\delta^{{{layer}}}" in tex
    assert r"(w^{l}_{jk})^{2}" in tex and r"\sum_{l=2}^{%d}" % L in tex  # the penalty over w^2 … w^L
    assert "j \\neq 0" not in tex and "j = 0" not in tex


def test_json_wording_follows_the_profile(tmp_path, capsys):
    net = _write(tmp_path, "n.toml", _toml(CONFIGS["tanh-sigmoid"], notation="nielsen"))
    code, out, _ = _run(capsys, "derivation", net, "--format", "json")
    steps = json.loads(out)["steps"]
    texts = " ".join(s["text"] for s in steps)
    assert "Θ" not in texts and "b^2" in texts and "BP4" in texts
    forward = next(s for s in steps if s["id"] == "forward.z2b")
    assert forward["sympy"] == "b[2] + w[2]*a[1]" and forward["rhs"] == "w^{2} a^{1} + b^{2}"
    assert any(s["sympy"] == "-db[l][j]*eta + b[l][j]" for s in steps)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_ng_documents_keep_the_bias_unit(name, tmp_path, capsys):
    """The other profile is untouched: Θ with its column 0, g, no BP."""
    net = _write(tmp_path, "n.toml", _toml(CONFIGS[name]))
    _, tex, _ = _run(capsys, "derivation", net, "--format", "latex")
    assert r"\Theta^{(1)} a^{(1)}" in tex and "b^{" not in tex and "BP" not in tex and r"\sigma" not in tex


# --- compiled documents -------------------------------------------------------------------------------------

DOCUMENTS = [(name, "en") for name in CONFIGS] + [("tanh-sigmoid", "zh")]


@pytest.mark.pdflatex
@pytest.mark.parametrize(("name", "language"), DOCUMENTS)
def test_every_document_compiles(name, language, tmp_path, capsys):
    spec = CONFIGS[name]
    net, params, data = _files(tmp_path, spec, language=language)
    program = "xelatex" if language == "zh" else "pdflatex"
    commands = {"derivation": ["derivation", net], "example": ["example", net, "--params", params, "--data", data],
                "exercise": ["exercise", "squared-error", net],
                "beamer": ["derivation", net, "--format", "beamer"]}
    for what, args in commands.items():
        fmt = [] if "--format" in args else ["--format", "latex"]
        code, source, err = _run(capsys, *args, *fmt)
        assert code == 0, (what, err)
        assert not THETA.search(source), (what, THETA.search(source))
        pdf, _ = compile_tex(source, program, tmp_path, what)
        assert pdf.stat().st_size > 1000


# --- numbers: the profile never changes one -----------------------------------------------------------------

@pytest.mark.parametrize("name", list(CONFIGS))
def test_numbers_identical_to_ng(name, tmp_path, capsys):
    spec = CONFIGS[name]
    ng, params, data = _files(tmp_path, spec, "ng")
    nielsen, _, _ = _files(tmp_path, spec, "nielsen")
    outs = []
    for net in (ng, nielsen):
        code, out, err = _run(capsys, "numeric", net, "--params", params, "--data", data)
        assert code == 0, err
        outs.append(json.loads(out))
    assert outs[0] == outs[1]
    values = []
    for net in (ng, nielsen):
        code, out, err = _run(capsys, "example", net, "--params", params, "--data", data, "--format", "json")
        assert code == 0, err
        values.append([(s["id"], s["rhs"]) for s in json.loads(out)["steps"] if s["rule"] == "evaluate"])
    assert values[0] == values[1] and len(values[0]) > 5


def test_worked_example_follows_the_profile(tmp_path, capsys):
    spec = CONFIGS["tanh-sigmoid"]
    net, params, data = _files(tmp_path, spec)
    code, tex, err = _run(capsys, "example", net, "--params", params, "--data", data, "--format", "latex")
    assert code == 0, err
    assert r"\tanh(" in tex and not re.search(r"a\^\{2\}_\{\d\} &= \\sigma", tex)  # tanh units are not σ
    assert r"\sigma(" in tex  # the sigmoid output is
    assert "BP2 with numbers" in tex and "BP3 and BP4 with numbers" in tex
    assert r"\frac{\partial C}{\partial b^{3}_{1}} &= \delta^{3}_{1}" in tex
    assert r"\frac{\partial C}{\partial w^{3}_{12}}" in tex and "w^{3}_{10}" not in tex
    assert r"b^{l}_{j} &\mathrel{:=} b^{l}_{j} - \eta" in tex and r"\alpha" not in tex


def test_exercise_follows_the_profile(tmp_path, capsys):
    net = _write(tmp_path, "n.toml", _toml(CONFIGS["sigmoid-tanh-squared"], notation="nielsen"))
    code, md, err = _run(capsys, "exercise", "squared-error", net, "--format", "markdown")
    assert code == 0, err
    assert not THETA.search(md)
    assert r"$\partial C/\partial w^{4}_{jk} = " in md and r"\delta^{(" not in md
    assert "under the quadratic cost (SE)" in md
    assert r"$C = \tfrac{1}{2} \sum" in md.replace("  ", " ")


# --- derive check: claim names ------------------------------------------------------------------------------

def _oracle_claims(spec: dict, Ts: list, X: np.ndarray, Y: np.ndarray) -> dict[str, str]:
    """Claims in nielsen's names with values from the independent reference (finite differences)."""
    L = spec["layers"]
    hidden = spec["activation"] if isinstance(spec["activation"], list) else [spec["activation"]] * (len(L) - 2)
    claims = {"C": f"{oracle.cost(spec, Ts, X, Y):.9f}"}
    A = X
    for n, T in enumerate(Ts):
        layer = n + 2
        Z = np.hstack([np.ones((1, 1)), A]) @ T.T
        A = oracle.ACT[spec["output"] if layer == len(L) else hidden[n]](Z)
        claims[f"z[{layer}][1]"] = f"{Z[0, 0]:.9f}"
        claims[f"a[{layer}][{L[layer - 1]}]"] = f"{A[0, -1]:.9f}"
        claims[f"w[{layer}][1][{T.shape[1] - 1}]"] = f"{T[0, -1]:.2f}"
        claims[f"b[{layer}][{T.shape[0]}]"] = f"{T[-1, 0]:.2f}"
    grads = oracle.numgrad(spec, Ts, X, Y)
    for n, G in enumerate(grads):
        layer = n + 2
        claims[f"dw[{layer}][1][1]"] = f"{G[0, 1]:.6f}"
        claims[f"db[{layer}][{G.shape[0]}]"] = f"{G[-1, 0]:.6f}"
        if "lambda" not in spec and spec.get("reduction", "mean") == "mean":  # one example: δ^l_j = ∂C/∂b^l_j
            claims[f"delta[{layer}][1]"] = f"{G[0, 0]:.6f}"
    return claims


@pytest.mark.parametrize("name", list(CONFIGS))
def test_check_with_nielsens_claim_names(name, tmp_path, capsys):
    spec = CONFIGS[name]
    net, params, data = _files(tmp_path, spec)
    Ts, X, Y = _problem(spec)
    claims = _oracle_claims(spec, Ts, X, Y)
    path = _write(tmp_path, "c.json", json.dumps({"claims": claims}))
    code, out, err = _run(capsys, "check", net, "--params", params, "--data", data, "--claims", path)
    assert code == 0, out + err
    assert f"all {len(claims)} claims hold" in out
    # a wrong one is caught: w^2 numbered as Θ^(1) (the off-by-one a lecturer may write) names another weight
    T = Ts[0]
    wrong = {"w[2][1][1]": f"{T[0, 2]:.2f}" if T[0, 2] != T[0, 1] else "9"}
    path = _write(tmp_path, "w.json", json.dumps({"claims": wrong}))
    code, out, err = _run(capsys, "check", net, "--params", params, "--data", data, "--claims", path)
    assert code == 1 and "w[2][1][1]" in err


@pytest.mark.parametrize(("claim", "says"), [
    ("J", "unknown name 'J'"), ("D[1][1][0]", "unknown name 'D"), ("w[1][1][1]", "layers 2 … 3"),
    ("w[2][1][0]", "k = 1 … 2"), ("b[2][1][1]", "needs 2"), ("db[4][1]", "layers 2 … 3"), ("a[2][0]", "units 1"),
])
def test_check_refuses_other_names(claim, says, tmp_path, capsys):
    net, params, data = _files(tmp_path, CONFIGS["tanh-sigmoid"])
    path = _write(tmp_path, "c.json", json.dumps({"claims": {claim: "0.5"}}))
    code, _, err = _run(capsys, "check", net, "--params", params, "--data", data, "--claims", path)
    assert code == 2 and says in err, err
    assert len(err.strip().splitlines()) == 1


def test_ng_claim_names_unchanged(tmp_path, capsys):
    net, params, data = _files(tmp_path, CONFIGS["tanh-sigmoid"], "ng")
    for claim, code_wanted in (("D[1][1][0]", 1), ("J", 1), ("C", 2), ("w[2][1][1]", 2)):
        path = _write(tmp_path, "c.json", json.dumps({"claims": {claim: "123"}}))
        code, _, err = _run(capsys, "check", net, "--params", params, "--data", data, "--claims", path)
        assert code == code_wanted, (claim, err)


# --- derive grade: target and answer names ------------------------------------------------------------------

GRADES = [
    # target, answer, exit code, mistake
    ("delta[2][1]", "(a[3][1]-y[1])*w[3][1][1]*(1-a[2][1]^2)", 0, None),
    ("delta[2][1]", "(a[3][1]-y[1])*w[3][1][1]*(1-tanh(z[2][1])^2)", 0, None),
    ("delta[2][1]", "(a[3][1]-y[1])*w[3][1][2]*(1-a[2][1]^2)", 1, None),
    ("delta[2][1]", "(y[1]-a[3][1])*w[3][1][1]*(1-a[2][1]^2)", 1, "sign_flipped"),
    ("dw[3][1][2]", "a[2][2]*(a[3][1]-y[1])", 0, None),
    ("dw[3][1][2]", "a[2][1]*(a[3][1]-y[1])", 1, None),
    ("db[3][1]", "a[3][1]-y[1]", 0, None),
    ("db[3][1]", "y[1]-a[3][1]", 1, "sign_flipped"),
    ("db[2][2]", "(a[3][1]-y[1])*w[3][1][2]*(1-a[2][2]^2)", 0, None),
    ("Dw[2][1][1]", "Deltaw[2][1][1]/n + lambda/n*w[2][1][1]", 0, None),
    ("Dw[2][1][1]", "Deltaw[2][1][1]/n + lambda*w[2][1][1]", 1, "lambda_scale"),
    ("Db[2][1]", "Deltab[2][1]/n", 0, None),
    ("Db[2][1]", "Deltab[2][1]/n + lambda/n*b[2][1]", 1, "regularized_bias"),
    ("delta[2][1]", "Theta[2][1][1]", 2, None),
    ("delta[2][1]", "a[2][0]", 2, None),
    ("dTheta[1][1][1]", "1", 2, None),
    ("dw[3][1][0]", "1", 2, None),
]


@pytest.mark.parametrize(("target", "answer", "code", "mistake"), GRADES)
def test_grade_with_nielsens_names(target, answer, code, mistake, tmp_path, capsys):
    net = _write(tmp_path, "n.toml", _toml({"layers": [2, 2, 1], "activation": "tanh", "lambda": 0.1},
                                          notation="nielsen"))
    got, out, err = _run(capsys, "grade", net, "--target", target, "--answer", answer, "--format", "json")
    assert got == code, out + err
    if code != 2:
        verdict = json.loads(out)
        assert verdict["target"] == target and verdict["mistake"] == mistake
        assert "Θ" not in verdict["text"]


def test_grade_explains_in_nielsens_symbols_in_chinese(tmp_path, capsys):
    net = _write(tmp_path, "n.toml", _toml({"layers": [2, 2, 1], "lambda": 0.1}, notation="nielsen",
                                          language="zh"))
    code, out, _ = _run(capsys, "grade", net, "--target", "Db[2][1]", "--answer", "Deltab[2][1]/n + lambda/n*b[2][1]",
                        "--format", "json", "--reveal")
    verdict = json.loads(out)
    assert code == 1 and verdict["mistake"] == "regularized_bias"
    text = verdict["text"].translate(ITALIC_TO_LATIN)  # the catalogue writes a lone quantity in math italics
    assert "偏置" in text and "Θ" not in text and "∂C/∂b" in text
    assert verdict["expected"] == r"\frac{1}{n} \Delta b^{2}_{1}"


ITALIC_TO_LATIN = {ord(k): v for k, v in __import__("derive.document.words", fromlist=["ITALIC"]).ITALIC.items()}


# --- the name tables ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("layer", "by", "want"), [("2", 1, "3"), ("l", 1, "l+1"), ("l-1", 1, "l"), ("l", -1, "l-1"),
                                                   ("l+1", -1, "l")])
def test_shift(layer, by, want):
    assert shift(layer, by) == want


@pytest.mark.parametrize(("quantity", "written"), [
    ("Theta[1][2][3]", "w[2][2][3]"), ("Theta[1][2][0]", "b[2][2]"), ("D[2][1][0]", "db[3][1]"),
    ("D[2][1][1]", "dw[3][1][1]"), ("J", "C"), ("m", "n"), ("a[2][1]", "a[2][1]"), ("Delta[l-1][j][0]", "Deltab[l][j]"),
    ("Theta[2]", "w[3]"), ("b[1]", "b[2]"),
])
def test_written_names_and_back(quantity, written):
    profile = PROFILES["nielsen"]
    assert profile.written(quantity) == written
    assert PROFILES["ng"].written(quantity) == quantity
    kind, *rest = re.findall(r"[A-Za-z]+|\[[^\]]+\]", written)
    alias: Alias | None = profile.names.get(kind)
    if alias is not None and rest and len(rest) == alias.form.count("["):  # an element, not a whole layer
        index = tuple(r.strip("[]") for r in rest)
        assert alias.kind + "".join(f"[{i}]" for i in alias.canonical(index)) == quantity
