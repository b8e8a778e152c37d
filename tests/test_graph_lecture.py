"""Computation graphs as a lecturer draws them: one node per operation, local derivatives of the node that uses
a quantity (never the quantity itself), a(1 − a) and a − y derived for logistic regression, data without
derivatives, a layered drawing with no edge through a box, A4 paper, functions from the activation registry."""

from __future__ import annotations

import math
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest
import sympy as sp

from derive.cli import main
from derive.document.graph import build
from derive.engine.computation_graph import graph, parse
from derive.errors import InputError
from derive.model.activations import ACTIVATIONS, Activation
from derive.render import render
from derive.render.graph import layout

from .conftest import need

LINEAR = "c = w * x\na = c + b\nd = a - y\nJ = d**2 / 2\n"
LINEAR_AT = {"w": "2", "b": "8", "x": "-2", "y": "2"}
LOGISTIC = "z = w*x + b\na = sigmoid(z)\nJ = -(y*log(a) + (1-y)*log(1-a))\n"
LOGISTIC_AT = {"w": "0.5", "b": "-0.2", "x": "1.5", "y": "1"}


def _reverse_equations(g):
    doc = build(g)
    section = next(s for s in doc.sections if s.id == "reverse")
    return [eq for group in section.blocks for eq in group.equations]


@pytest.mark.parametrize(("program", "at"), [(LINEAR, LINEAR_AT), (LOGISTIC, LOGISTIC_AT)])
def test_no_reverse_line_contains_the_quantity_it_defines(program, at):
    equations = _reverse_equations(graph(program, at))
    assert len(equations) > 4
    for eq in equations[1:]:  # the first is ∂J/∂J = 1
        for line in eq.lines:
            assert eq.lhs not in line.rhs, (eq.lhs, line.rhs)


def test_the_chain_line_names_the_operation_of_the_node_that_uses_the_quantity():
    d = next(eq for eq in _reverse_equations(graph(LINEAR, LINEAR_AT)) if eq.lhs.endswith(r"\partial d}"))
    rhs = [line.rhs for line in d.lines]
    assert rhs[0] == r"\frac{\partial}{\partial d}\left(\frac{d^{2}}{2}\right) \cdot \frac{\partial J}{\partial J}"
    assert rhs[-1] == "2"


def test_reverse_lines_are_aligned_on_equals_in_latex():
    tex = render(graph(LINEAR, LINEAR_AT), "latex")
    block = re.search(r"\\frac\{\\partial J\}\{\\partial d\} &= .*?\\end\{align\*\}", tex, flags=re.S).group(0)
    assert all(line.lstrip().startswith("&=") for line in block.splitlines()[1:-1])


def test_a_one_line_program_is_broken_into_one_node_per_operation():
    one = graph("J = (w*x + b - y)**2/2\n", LINEAR_AT)
    four = graph(LINEAR, LINEAR_AT)
    assert len(one.program.nodes) == 4
    assert [n.generated for n in one.program.nodes] == [True, True, True, False]
    for node in one.program.nodes[:-1]:  # each generated node is one operation between two operands
        assert len(node.expr.args) == 2 and len(node.parents) in (1, 2)
    for name in ("w", "b", "x", "y"):
        assert one.gradients[name] == four.gradients[name]
    assert [one.values[n.name] for n in one.program.nodes] == [four.values[n.name] for n in four.program.nodes]


def test_generated_names_never_clash_with_the_programs_names():
    p = parse("u1 = 3\nJ = (u1*x + u2)*y\n")
    names = [n.name for n in p.nodes]
    assert len(set(names)) == len(names) and "u2" in p.inputs and "u3" in names


def test_logistic_regression_derives_a_one_minus_a_and_a_minus_y():
    g = graph(LOGISTIC, LOGISTIC_AT, data=["x", "y"])
    a, y, z, x = sp.symbols("a y z x")
    step_z = next(s for s in g.steps if s.name == "z")
    (term,) = step_z.terms
    assert term.child == "a" and sp.expand(term.simple - a * (1 - a)) == 0
    assert sp.expand(step_z.symbolic - (a - y)) == 0
    step_w = next(s for s in g.steps if s.name == "w")
    assert sp.expand(step_w.symbolic - x * (a - y)) == 0
    # the numbers against an independent implementation: J(w) = −(y log σ(wx+b) + (1−y) log(1−σ(wx+b)))
    w, b, xv, yv = 0.5, -0.2, 1.5, 1.0
    sig = 1 / (1 + math.exp(-(w * xv + b)))
    assert g.gradients["z"] == pytest.approx(sig - yv, rel=1e-12)
    assert g.gradients["w"] == pytest.approx((sig - yv) * xv, rel=1e-12)
    tex = render(g, "latex")
    assert "&= a (1 - a)" in tex and "&= a - y" in tex


def test_tanh_local_derivative_in_its_own_name():
    g = graph("h = tanh(z)\nJ = h*v\n", {"z": "0.3", "v": "2"})
    (term,) = next(s for s in g.steps if s.name == "z").terms
    assert sp.expand(term.simple - (1 - sp.Symbol("h") ** 2)) == 0


def test_data_get_no_derivative_and_no_nudge():
    g = graph(LOGISTIC, LOGISTIC_AT, data=["x", "y"])
    assert {s.name for s in g.steps}.isdisjoint({"x", "y", "u4"})  # u4 = 1 − y is data too
    assert [n.name for n in g.nudges] == ["w", "b"]
    assert "x" not in g.gradients and "w" in g.gradients
    assert g.counts["inputs"] == 2
    plain = graph(LINEAR, LINEAR_AT)  # without --data every input is a parameter (SPEC §5)
    assert plain.gradients["x"] == 4


def test_data_option_on_the_command_line(tmp_path, capsys):
    prog = tmp_path / "p.txt"
    prog.write_text(LOGISTIC)
    out = tmp_path / "g.json"
    assert main(["graph", str(prog), "--at", *[f"{k}={v}" for k, v in LOGISTIC_AT.items()], "--data", "x,y",
                 "-o", str(out)]) == 0
    assert '"data": [\n    "x",\n    "y"\n  ]' in out.read_text() or '"data": ["x", "y"]' in out.read_text()
    assert main(["graph", str(prog), "--at", *[f"{k}={v}" for k, v in LOGISTIC_AT.items()], "--data", "x,q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'q' is not an input" in err[0]


def _boxes_and_lines(svg_text):
    root = ET.fromstring(svg_text)
    ns = "{http://www.w3.org/2000/svg}"
    boxes = [tuple(float(r.get(k)) for k in ("x", "y", "width", "height")) for r in root.iter(ns + "rect")]
    lines = []
    for path in root.iter(ns + "polyline"):
        points = [tuple(map(float, p.split(","))) for p in path.get("points").split()]
        lines.append([(*points[k], *points[k + 1]) for k in range(len(points) - 1)])
    return boxes, lines


def _crosses(box, line, margin=2.0):
    """Whether the segment passes through the inside of the box (shrunk by margin): sampled finely."""
    x, y, w, h = box
    x1, y1, x2, y2 = line
    for k in range(1, 200):
        t = k / 200
        px, py = x1 + (x2 - x1) * t, y1 + (y2 - y1) * t
        if x + margin < px < x + w - margin and y + margin < py < y + h - margin:
            return True
    return False


RELU = ("z1 = w1 * x + b1\nh1 = relu(z1)\nz2 = w2 * x + b2\nh2 = relu(z2)\n"
        "o = v1 * h1 + v2 * h2 + c\nd = o - y\nJ = d**2 / 2\n")
RELU_AT = {"x": "1.5", "w1": "0.8", "b1": "-0.2", "w2": "-0.5", "b2": "0.4", "v1": "1.2", "v2": "-0.7", "c": "0.1",
           "y": "1"}


@pytest.mark.parametrize(("program", "at"), [(LINEAR, LINEAR_AT), (LOGISTIC, LOGISTIC_AT), (RELU, RELU_AT)],
                         ids=["linear", "logistic", "relu"])
def test_layers_and_no_edge_through_a_box(program, at):
    g = graph(program, at, data=["x", "y"])
    place = layout(g)
    assert len(set(place.values())) == len(place)
    for node in g.program.nodes:
        for p in node.parents:
            assert place[p][0] < place[node.name][0]  # every edge runs left to right, layer by layer
    boxes, lines = _boxes_and_lines(re.search(
        r"<svg.*?</svg>", render(g, "html"), flags=re.S).group(0))
    assert len(boxes) == len(place) and len(lines) == sum(len(n.parents) for n in g.program.nodes)
    for segments in lines:  # the first and last segments leave and enter their own boxes
        for line in segments:
            for box in boxes:
                assert not _crosses(box, line), (box, line)


def test_nodes_show_their_operation():
    g = graph(LOGISTIC, LOGISTIC_AT, data=["x", "y"])
    tex = render(g, "latex")
    assert r"$a = \sigma" in tex and r"$u_{1} = w x$" in tex
    html = render(g, "html")
    assert "a = σ(z)" in html


def test_graph_latex_is_a4(tmp_path):
    pdflatex = need("pdflatex")
    tex = tmp_path / "g.tex"
    tex.write_text(render(graph(LOGISTIC, LOGISTIC_AT, data=["x", "y"]), "latex"), encoding="utf-8")
    assert "a4paper" in tex.read_text() and "letterpaper" not in tex.read_text()
    r = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-800:]
    assert "Overfull" not in (tmp_path / "g.log").read_text()
    pdfinfo = need("pdfinfo")
    info = subprocess.run([pdfinfo, "g.pdf"], cwd=tmp_path, capture_output=True, text=True).stdout
    assert "595.276 x 841.89" in info or "595.28 x 841.89" in info


def test_an_activation_added_to_the_registry_is_callable_in_a_program(monkeypatch):
    with pytest.raises(InputError, match="softplus"):
        parse("J = softplus(w)\n")
    monkeypatch.setitem(ACTIVATIONS, "softplus",
                        Activation("softplus", (0.0, math.inf), unit=lambda z: sp.log(1 + sp.exp(z))))
    g = graph("J = softplus(w)\n", {"w": "0.3"})
    assert g.gradients["w"] == pytest.approx(1 / (1 + math.exp(-0.3)), rel=1e-12)
