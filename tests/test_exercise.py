"""The squared-error exercise: landmark results by simplify, the comparison's mathematics, every format."""

from __future__ import annotations

import json
import subprocess

import pytest
import sympy as sp

import derive
from derive.catalogue import catalogue
from derive.cli import main
from derive.document.exercise import squared_error
from derive.render import render

from .conftest import need

a, y, z = sp.symbols("a y z")
SLIDES = derive.Network.from_dict({"layers": [3, 5, 5, 4]})


@pytest.fixture(scope="module")
def answer():
    return squared_error(SLIDES)


def test_output_delta_is_the_landmark(answer):
    assert answer.network.loss == "squared_error"
    assert sp.simplify(answer.results.output_delta - (a - y) * a * (1 - a)) == 0


def test_it_is_the_engines_derivation_plus_two_sections(answer):
    engine = derive.backprop(SLIDES.replace(loss="squared_error"))
    ids = [s.id for s in answer.sections]
    assert ids == ["exercise_question", "exercise_solution", *[s.id for s in engine.sections], "exercise_recursion",
                   "exercise_comparison"]
    assert answer.section("gradient3") == engine.section("gradient3")  # ∂E/∂Θ^(3)_ij = δ^(4)_i a^(3)_j


def test_recursion_keeps_its_form_and_carries_the_new_factor(answer):
    steps = answer.section("exercise_recursion").steps
    assert [s.rule for s in steps] == ["same_form", "substitute"] * 2
    a4, y1 = derive.model.notation.q("a", 4, "k"), derive.model.notation.q("y", "k")
    substituted = steps[1].rhs
    assert substituted.has(a4) and substituted.has(y1)
    # the summand holds the squared-error δ^(4)_k itself
    delta4 = answer.results.output_delta.xreplace({a: a4, y: y1})
    assert any(sp.simplify(t - delta4) == 0 for t in sp.preorder_traversal(substituted) if isinstance(t, sp.Mul))


def test_comparison_ratio_is_the_activation_derivative(answer):
    steps = {s.id: s for s in answer.section("exercise_comparison").steps}
    a4 = derive.model.notation.q("a", 4)
    ratio = steps["exercise_comparison.ratio.2"].rhs
    assert sp.simplify(ratio - a4 * (1 - a4)) == 0
    assert sp.simplify(steps["exercise_comparison.loss.2"].rhs - a4 * (1 - a4)) == 0
    assert [steps[f"exercise_comparison.limit{n}.1"].rhs for n in (1, 2)] == [0, 0]
    assert steps["exercise_comparison.maximum.1"].rhs.doit() == sp.Rational(1, 4)
    sq, ce = (steps[f"exercise_comparison.saturated_{n}.1"].rhs.doit() for n in ("sq", "ce"))
    assert abs(sq) < abs(ce) / 50  # a saturated, wrong output: the squared error barely moves it


@pytest.mark.parametrize(("activation", "want"), [("tanh", (a - y) * (1 - a**2)), ("linear", a - y),
                                                  ("sigmoid", (a - y) * a * (1 - a))])
def test_other_networks(activation, want):
    net = derive.Network.from_dict({"layers": [2, 3, 1], "activation": activation, "output": activation,
                                    "loss": "squared_error"})
    d = squared_error(net)
    assert sp.simplify(d.results.output_delta - want) == 0
    has_comparison = any(s.id == "exercise_comparison" for s in d.sections)
    assert has_comparison is (activation == "sigmoid")  # cross-entropy needs outputs in (0, 1)


def test_every_word_is_in_both_catalogues(answer):
    for language in ("en", "zh"):
        words = catalogue(language)
        for s in answer.sections:
            words.heading(s)
            for step in s.steps:
                words.explain(step)


def test_command_json_results(capsys):
    assert main(["exercise", "squared-error", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    got = sp.sympify(doc["results"]["output_delta"], locals={"a": a, "y": y})
    assert sp.simplify(got - (a - y) * a * (1 - a)) == 0
    assert {"exercise_recursion", "exercise_comparison"} <= {s["section"] for s in doc["steps"]}


@pytest.mark.parametrize(("args", "says"), [(["nope"], "unknown exercise"),
                                            (["squared-error", "--layers", "3,x"], "--layers"),
                                            (["squared-error", "--activation", "softmax"], "hidden")])
def test_bad_requests(capsys, args, says):
    assert main(["exercise", *args, "--format", "json"]) == 2
    assert says in capsys.readouterr().err


def test_latex_compiles(answer, tmp_path):
    pdflatex = need("pdflatex")
    tex = tmp_path / "exercise.tex"
    tex.write_text(render(answer, "latex"), encoding="utf-8")
    r = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-800:]


def test_posed_for_another_network(tmp_path, capsys):
    net = tmp_path / "net.toml"
    net.write_text('layers = [2, 3, 1]\nactivation = "tanh"\nlanguage = "zh"\n')
    assert main(["exercise", "squared-error", str(net), "--layers", "2,4,4,1", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["network"]["layers"] == [2, 4, 4, 1] and doc["network"]["loss"] == "squared_error"
    assert doc["network"]["activation"] == "tanh" and doc["network"]["output"] == "sigmoid"
    got = sp.sympify(doc["results"]["output_delta"], locals={"a": a, "y": y})
    assert sp.simplify(got - (a - y) * a * (1 - a)) == 0
    assert any("平方误差" in s["text"] for s in doc["steps"])
