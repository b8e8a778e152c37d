"""Computation graphs: gradients against finite differences and against the engine, hostile programs refused."""

from __future__ import annotations

import json
import math
import re
import subprocess
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import derive
from derive.cli import main
from derive.engine.computation_graph import graph
from derive.errors import InputError
from derive.render import render
from derive.render.graph import name_latex

from .conftest import need

SPEC_PROGRAM = "c = w * x\na = c + b\nd = a - y\nJ = d**2 / 2\n"
SPEC_AT = {"w": "2", "b": "8", "x": "-2", "y": "2"}


def test_spec_example():
    g = graph(SPEC_PROGRAM, SPEC_AT)
    assert g.gradients == {"J": 1, "d": 2, "a": 2, "c": 2, "y": -2, "b": 2, "x": 4, "w": -4}
    assert g.values["c"] == -4 and g.values["J"] == 2
    for n in g.nudges:
        assert n.epsilon == 0.001
        assert n.quotient == pytest.approx(n.derivative, abs=5e-3)
        assert n.quotient != n.derivative  # the quotient is a real nudge, not the derivative copied
    assert g.counts == {"nodes": 4, "inputs": 4, "reverse_mode": 8, "nudging": 16}


# (program, inputs, the same function written out in Python: an independent reference)
PROGRAMS = [
    ("h = sigmoid(w * x + b)\nJ = -log(h)\n", {"w": 0.7, "x": -1.3, "b": 0.2},
     lambda w, x, b: -math.log(1 / (1 + math.exp(-(w * x + b))))),
    ("u = tanh(a) * exp(-b)\nv = u / (a**2 + 1)\nJ = v - 3*u**3\n", {"a": 0.4, "b": -0.6},
     lambda a, b: math.tanh(a) * math.exp(-b) / (a * a + 1) - 3 * (math.tanh(a) * math.exp(-b)) ** 3),
    ("h1 = relu(w1 * x + b1)\nh2 = relu(w2 * x + b2)\nJ = (v1 * h1 + v2 * h2 - y)**2 / 2\n",
     {"w1": 1.5, "b1": -0.5, "w2": -0.8, "b2": 0.3, "x": 0.9, "v1": 0.6, "v2": -1.1, "y": 0.25},
     lambda w1, b1, w2, b2, x, v1, v2, y: (v1 * max(w1 * x + b1, 0) + v2 * max(w2 * x + b2, 0) - y) ** 2 / 2),
    ("p = x**y\nq = p * x\nJ = q + p\n", {"x": 1.7, "y": 2.5}, lambda x, y: x**y * x + x**y),
]


@pytest.mark.parametrize(("program", "at", "reference"), PROGRAMS, ids=["sigmoid-log", "tanh-exp", "relu-2", "pow"])
def test_gradients_match_finite_differences(program, at, reference):
    g = graph(program, {k: repr(v) for k, v in at.items()})
    assert g.values[g.program.output] == pytest.approx(reference(**at), rel=1e-12)
    for name in at:
        h = 1e-6
        up, down = dict(at), dict(at)
        up[name] += h
        down[name] -= h
        fd = (reference(**up) - reference(**down)) / (2 * h)
        assert g.gradients[name] == pytest.approx(fd, rel=1e-6, abs=1e-8), name


def test_graph_agrees_with_the_engine_on_a_network_written_as_a_program():
    """A [1, 2, 1] sigmoid network with squared error, one example, written as scalar assignments."""
    net = derive.Network.from_dict({"layers": [1, 2, 1], "loss": "squared_error", "reduction": "sum"})
    program = ("z21 = t110 + t111 * x\nz22 = t120 + t121 * x\na21 = sigmoid(z21)\na22 = sigmoid(z22)\n"
               "z3 = t210 + t211 * a21 + t212 * a22\na3 = sigmoid(z3)\nJ = (a3 - y)**2 / 2\n")
    T1 = np.array([[0.3, -0.8], [0.1, 0.5]])
    T2 = np.array([[-0.2, 0.9, -0.4]])
    x, y = 0.7, 0.25
    at = {"x": x, "y": y, "t110": T1[0, 0], "t111": T1[0, 1], "t120": T1[1, 0], "t121": T1[1, 1],
          "t210": T2[0, 0], "t211": T2[0, 1], "t212": T2[0, 2]}
    g = graph(program, {k: repr(float(v)) for k, v in at.items()})
    D1, D2 = derive.lambdify(net).gradients([T1, T2], [[x]], [[y]])
    assert g.gradients["t110"] == pytest.approx(D1[0, 0], rel=1e-10)
    assert g.gradients["t121"] == pytest.approx(D1[1, 1], rel=1e-10)
    assert [g.gradients[f"t21{j}"] for j in range(3)] == pytest.approx(list(D2[0]), rel=1e-10)
    assert g.values["J"] == pytest.approx(derive.lambdify(net).cost([T1, T2], [[x]], [[y]]), rel=1e-12)


HOSTILE = [
    ("import os\nJ = x\n", "import"),
    ("J = os.system('true')\n", "attribute"),
    ("J = __import__('os').system('true')\n", "calling"),
    ("J = (lambda: 1)()\n", "lambda"),
    ("J = [x for x in y]\n", "comprehension"),
    ("J = x[0]\n", "subscript"),
    ("J = 'text'\n", "str"),
    ("J = open('f')\n", "calling 'open'"),
    ("J = exp(x, y)\n", "one positional"),
    ("J = exp(x=1)\n", "one positional"),
    ("J = x if y else 2\n", "conditional"),
    ("J = x < y\n", "comparison"),
    ("x.y = 2\n", "statement"),
    ("a, b = 1, 2\n", "statement"),
    ("def f():\n    return 1\n", "statement"),
    ("J = __x__ + 1\n", "name"),
    ("J = x @ y\n", "operator"),
    ("J = ~x\n", "unary"),
    ("J = 1j * x\n", "complex"),
    ("J = x\nJ = 2 * x\n", "twice"),
    ("a = b\nb = 1\nJ = a\n", "before it is assigned"),
    ("J = " + "**".join(["x"] * 1000) + "\n", "operators"),
    ("J = " + "(" * 5000 + "x" + ")" * 5000 + "\n", "operators"),
    ("J = " + "-" * 90 + "x\n" + "K = " + " + ".join(["J"] * 10) + "\n", None),
    ("", "no assignments"),
    ("J = " + "[" * 5000 + "]" * 5000 + "\n", None),
    ("J = " + "x if y else " * 1500 + "x\n", None),
    ("J = " + "not " * 4000 + "x\n", None),
    ("J = " + "9" * 5000 + "\n", None),
]


@pytest.mark.parametrize(("program", "says"), HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_programs_are_refused_quickly(program, says):
    start = time.perf_counter()
    try:
        graph(program, {"x": "1", "y": "2"})
    except InputError as e:
        assert says is None or says in str(e), str(e)
        assert "\n" not in str(e)
    else:
        assert says is None and program.startswith("J = -"), "accepted"
    assert time.perf_counter() - start < 2


def test_deep_nesting_never_recurses_without_bound():
    program = "J = " + "exp(" * 99 + "x" + ")" * 99 + "\n"
    with pytest.raises(InputError):
        graph(program, {"x": "1"})


def test_huge_powers_are_refused_not_computed():
    start = time.perf_counter()
    for program in ("J = 2**10**10**10 * x\n", "J = x**1000000000\n", "J = exp(exp(exp(x)))\n"):
        with pytest.raises(InputError):
            graph(program, {"x": "3"})
    assert time.perf_counter() - start < 2


def test_a_program_is_never_run(tmp_path, capsys):
    flag = tmp_path / "ran"
    program = tmp_path / "p.txt"
    program.write_text(f"J = __import__('os').system('touch {flag}')\n")
    out = tmp_path / "out.json"
    assert main(["graph", str(program), "--format", "json", "-o", str(out)]) == 2
    assert not flag.exists() and not out.exists()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line 1" in err and "allowed" in err


@pytest.mark.parametrize(("at", "says"), [(["w=2", "b=8", "x=-2"], "no value for input 'y'"),
                                          (["w=2", "b=8", "x=-2", "y=2", "c=1"], "computed node"),
                                          (["w=2", "b=8", "x=-2", "y=two"], "not a number"),
                                          (["w=2", "b=8", "x=-2", "y"], "NAME=VALUE")])
def test_bad_inputs(tmp_path, capsys, at, says):
    program = tmp_path / "p.txt"
    program.write_text(SPEC_PROGRAM)
    assert main(["graph", str(program), "--at", *at]) == 2
    assert says in capsys.readouterr().err


def test_json_keys(tmp_path, capsys):
    program = tmp_path / "p.txt"
    program.write_text(SPEC_PROGRAM)
    assert main(["graph", str(program), "--at", "w=2", "b=8", "x=-2", "y=2", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["values"]["J"] == 2 and doc["gradients"]["w"] == -4
    assert doc["nudge"]["b"] == pytest.approx(2.0005)
    assert doc["counts"]["reverse_mode"] == 8


@pytest.mark.parametrize(("name", "tex"), [("x", "x"), ("x_1", "x_{1}"), ("alpha", r"\alpha"),
                                           ("loss_total", r"\mathrm{loss}_{\mathrm{total}}"),
                                           ("input", r"\mathrm{input}"), ("w_ij", r"w_{\mathrm{ij}}"),
                                           ("w1", "w_{1}"), ("alpha2", r"\alpha_{2}"), ("h12b", r"\mathrm{h12b}")])
def test_names_never_become_latex_commands(name, tex):
    assert name_latex(name) == tex


NAMED = "input_value = x_1 * alpha\nloss_total = relu(input_value - b_0)**2\n"
NAMED_AT = {"x_1": "0.5", "alpha": "3", "b_0": "-1"}


def test_latex_document_compiles(tmp_path):
    pdflatex = need("pdflatex")
    for name, (text, at) in {"spec": (SPEC_PROGRAM, SPEC_AT), "named": (NAMED, NAMED_AT)}.items():
        tex = tmp_path / f"{name}.tex"
        tex.write_text(render(graph(text, at), "latex"), encoding="utf-8")
        r = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout[-800:]
        assert r"\begin{tikzpicture}" in tex.read_text()


@pytest.mark.parametrize("fmt", ["html", "mathml"])
def test_html_parses_with_svg_and_mathml(fmt):
    text = render(graph(NAMED, NAMED_AT), fmt)
    maths = re.findall(r"<math[\s>].*?</math>", text, flags=re.S)
    assert len(maths) >= 10
    for m in maths:
        ET.fromstring(m)
    if fmt == "html":
        root = ET.fromstring(re.search(r"<svg.*?</svg>", text, flags=re.S).group(0))
        labels = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
        numbers = [t.text for t in root.iter("{http://www.w3.org/2000/svg}tspan")]
        assert any(label and label.startswith("loss_total = ") for label in labels) and "-1" in numbers


def test_markdown_has_table_steps_and_picture():
    text = render(graph(SPEC_PROGRAM, SPEC_AT), "markdown")
    assert "```mermaid" in text and "| $c$ | $w x$ | $-4$ | $2$ |" in text
    assert text.count("$$") >= 2 * 8
