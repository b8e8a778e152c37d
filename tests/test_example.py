"""The worked numeric example: the slides' numbers, values against an independent forward pass, the descent step."""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import derive
from derive.cli import main
from derive.document.worked_example import Num, read_problem, worked_example
from derive.render import render
from derive.render.tex import latex

from .conftest import need
from .oracle import cost, numgrad

THETAS = [[[0.5, 0.05, 0.1], [0.2, -0.3, 0.4]], [[0.1, 0.6, -0.7]]]
X, Y = [[0.02, 0.04]], [[1]]


@pytest.fixture
def files(tmp_path):
    def make(spec: str, thetas=THETAS, x=X, y=Y):
        (tmp_path / "net.toml").write_text(spec)
        (tmp_path / "p.json").write_text(json.dumps({"Theta": thetas}))
        (tmp_path / "d.json").write_text(json.dumps({"X": x, "Y": y}))
        return tmp_path / "net.toml", str(tmp_path / "p.json"), str(tmp_path / "d.json")
    return make


def _example(files, spec, **options):
    net_path, p, d = files(spec)
    return worked_example(derive.Network.from_toml(net_path), read_problem(p, d), **options)


def _shown(d, section):
    """{lhs LaTeX: rhs LaTeX} of the last step of each quantity in a section."""
    return {latex(s.lhs): latex(s.rhs) for s in d.section(section).steps}


def test_the_slides_numbers(files):
    d = _example(files, 'layers = [2, 2, 1]\nloss = "squared_error"\n')
    steps = d.section("example_forward").steps
    z21 = [latex(s.rhs) for s in steps if latex(s.lhs) == "z^{(2)}_{1}"]
    a21 = [latex(s.rhs) for s in steps if latex(s.lhs) == "a^{(2)}_{1}"]
    assert z21 == [r"0.5 + 0.05 \cdot 0.02 + 0.1 \cdot 0.04", "0.505"]
    assert a21[-1] == "0.6236336" and "0.505" in a21[0]


def test_values_against_an_independent_forward_pass(files):
    spec = {"layers": [2, 2, 1], "loss": "squared_error"}
    d = _example(files, 'layers = [2, 2, 1]\nloss = "squared_error"\n', digits=9)
    a = np.array(X[0], float)
    for layer, T in enumerate(THETAS, start=2):
        z = np.asarray(T) @ np.concatenate([[1.0], a])
        a = 1 / (1 + np.exp(-z))
        for i, (zi, ai) in enumerate(zip(z, a), start=1):
            got = {latex(s.lhs): s.rhs for s in d.section("example_forward").steps}
            assert float(got[f"z^{{({layer})}}_{{{i}}}"].doit()) == pytest.approx(zi, rel=1e-8)
            assert float(got[f"a^{{({layer})}}_{{{i}}}"].doit()) == pytest.approx(ai, rel=1e-8)
    D = numgrad(spec, THETAS, np.array(X), np.array(Y, float))
    shown = {latex(s.lhs): s.rhs for sec in ("example_gradient1", "example_gradient2") for s in d.section(sec).steps}
    assert float(shown["D^{(1)}_{21}"].doit()) == pytest.approx(D[0][1, 1], rel=1e-6)
    assert float(shown["D^{(2)}_{10}"].doit()) == pytest.approx(D[1][0, 0], rel=1e-6)


def test_one_descent_step_lowers_the_cost(files):
    spec = {"layers": [2, 2, 1], "loss": "squared_error"}
    d = _example(files, 'layers = [2, 2, 1]\nloss = "squared_error"\n', rate=0.5)
    step = d.section("example_update").steps[-1]
    args = dict(step.args)
    before = cost(spec, THETAS, np.array(X), np.array(Y, float))
    D = numgrad(spec, THETAS, np.array(X), np.array(Y, float))
    after = cost(spec, [np.asarray(T) - 0.5 * G for T, G in zip(THETAS, D)], np.array(X), np.array(Y, float))
    assert after < before
    assert float(args["before"]) == pytest.approx(before, rel=1e-6)
    assert float(args["after"]) == pytest.approx(after, rel=1e-6)


def test_exact_where_the_inputs_allow(files):
    """relu hidden, linear output: every number is rational, so every number is shown exactly."""
    d = _example(files, 'layers = [2, 2, 1]\nactivation = "relu"\noutput = "linear"\nloss = "squared_error"\n')
    rows = [s for sec in d.sections if sec.id != "example_update" for s in sec.steps
            if s.rule == "evaluate" and isinstance(s.rhs, Num)]
    assert len(rows) == 2 * 3 + 1 + 1 + 2 + 9  # z and a, J, δ^(3), δ^(2), D: all exact (digits 0)
    assert all(int(s.rhs.args[1]) == 0 for s in rows), [s.id for s in rows if int(s.rhs.args[1])]
    # the same numbers by exact fractions, independently
    F = Fraction
    z = [F("0.5") + F("0.05") * F("0.02") + F("0.1") * F("0.04"),
         F("0.2") - F("0.3") * F("0.02") + F("0.4") * F("0.04")]
    out = F("0.1") + F("0.6") * z[0] - F("0.7") * z[1]
    J = (out - 1) ** 2 / 2
    shown = {latex(s.lhs): s.rhs.doit() for s in rows}
    assert shown["z^{(3)}_{1}"] == sp.Rational(out.numerator, out.denominator)
    assert shown["J"] == sp.Rational(J.numerator, J.denominator)
    assert shown[r"\delta^{(3)}_{1}"] == sp.Rational(*(out - 1).as_integer_ratio())


@pytest.mark.parametrize(("value", "digits", "text"), [
    (sp.Rational(101, 200), 0, "0.505"), (sp.Rational(1, 3), 0, r"\frac{1}{3}"),
    (sp.Rational(-1, 3), 0, r"-\frac{1}{3}"),
    (sp.Rational("0.62363362830"), 7, "0.6236336"), (sp.Rational("-0.000336022"), 4, "-0.000336"),
    (sp.Integer(2), 0, "2"), (sp.Rational("0.0000001907405"), 4, r"1.907 \times 10^{-7}"),
])
def test_numbers_as_shown(value, digits, text):
    assert Num(value, digits).text() == text


def test_command_formats_and_claims(files, tmp_path, capsys):
    net, p, d = files('layers = [2, 2, 1]\nloss = "squared_error"\n')
    claims = tmp_path / "c.json"
    claims.write_text(json.dumps({"claims": {"a[2][1]": "0.62", "J": "0.2"}}))
    assert main(["example", str(net), "--params", p, "--data", d, "--claims", str(claims), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rules = [s["rule"] for s in doc["steps"] if s["section"] == "claims"]
    assert rules == ["claim_holds", "claim_wrong"]


@pytest.mark.parametrize(("args", "says"), [(["--rate", "100"], "does not lower the cost"),
                                            (["--digits", "0"], "--digits"), (["--rate", "-1"], "--rate")])
def test_bad_options(files, capsys, args, says):
    net, p, d = files('layers = [2, 2, 1]\noutput = "linear"\nloss = "squared_error"\n')
    assert main(["example", str(net), "--params", p, "--data", d, *args, "--format", "json"]) == 2
    assert says in capsys.readouterr().err


def test_latex_compiles(files, tmp_path):
    pdflatex = need("pdflatex")
    tex = tmp_path / "example.tex"
    tex.write_text(render(_example(files, 'layers = [2, 2, 1]\n'), "latex"), encoding="utf-8")
    r = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-800:]
