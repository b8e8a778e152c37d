"""Notation profiles: a table of names -> LaTeX, and the same mathematics under ng and nielsen."""

from __future__ import annotations

import re
from functools import cache

import pytest
import sympy as sp

import derive
from derive.catalogue import catalogue
from derive.model.notation import PROFILES, section_title, step_text
from derive.render.tex import latex

NAMES = [
    # name, ng, nielsen
    ("a[2][1]", "a^{(2)}_{1}", "a^{2}_{1}"),
    ("a[2]", "a^{(2)}", "a^{2}"),
    ("z[4]", "z^{(4)}", "z^{4}"),
    ("delta[3][k]", r"\delta^{(3)}_{k}", r"\delta^{3}_{k}"),
    ("Theta[1]", r"\Theta^{(1)}", "w^{2}"),
    ("Theta[1][2][3]", r"\Theta^{(1)}_{23}", "w^{2}_{23}"),
    ("Theta[1][2][0]", r"\Theta^{(1)}_{20}", "b^{2}_{2}"),
    ("Theta[l][i][j]", r"\Theta^{(l)}_{ij}", "w^{l+1}_{ij}"),
    ("Delta[l][i][j]", r"\Delta^{(l)}_{ij}", r"\Delta w^{l+1}_{ij}"),
    ("y[1]", "y_{1}", "y_{1}"),
    ("x[2]", "x_{2}", "x_{2}"),
    ("J", "J", "C"),
    ("alpha", r"\alpha", r"\eta"),
    ("m", "m", "n"),
    ("g", "g", r"\sigma"),
    ("g[sigmoid]", "g", r"\sigma"),
    ("g[tanh]", "g", r"\tanh"),
    ("g'[tanh]", "g'", r"\tanh'"),
    ("g[relu]", "g", r"\operatorname{ReLU}"),
    ("b[2]", "b^{(2)}", "b^{3}"),
    ("Theta[l-1][j][k]", r"\Theta^{(l-1)}_{jk}", "w^{l}_{jk}"),
    ("Theta[l-1][j][0]", r"\Theta^{(l-1)}_{j0}", "b^{l}_{j}"),
    ("D[1][2][0]", "D^{(1)}_{20}", r"\frac{\partial C}{\partial b^{2}_{2}}"),
    ("D[1][2][1]", "D^{(1)}_{21}", r"\frac{\partial C}{\partial w^{2}_{21}}"),
    ("Delta[l-1][j][0]", r"\Delta^{(l-1)}_{j0}", r"\Delta b^{l}_{j}"),
]


@pytest.mark.parametrize(("name", "ng", "nielsen"), NAMES)
def test_name_in_each_profile(name, ng, nielsen):
    assert latex(sp.Symbol(name), "ng") == ng
    assert latex(sp.Symbol(name), "nielsen") == nielsen


@cache
def _derive(notation: str, **spec: object) -> derive.Derivation:
    return derive.backprop(derive.Network.from_dict({"layers": [2, 3, 2], "lambda": 0.1, **spec,
                                                     "notation": notation}))


def _symbols(expr: sp.Basic) -> set[sp.Basic]:
    return {a for a in sp.preorder_traversal(expr) if isinstance(a, sp.Symbol | sp.MatrixSymbol)}


def _renamed(text: str, expr: sp.Basic, notation: str) -> str:
    """text with every quantity's LaTeX in ``notation`` replaced by a token naming the quantity."""
    forms = sorted(((latex(s, notation), i) for i, s in enumerate(sorted(_symbols(expr), key=str))),
                   key=lambda f: -len(f[0]))
    for form, i in forms:
        text = re.sub(r"(?<![A-Za-z\\])" + re.escape(form) + r"(?![A-Za-z])", f"@{i}@", text)
    return text


SPECS = [{}, {"loss": "squared_error", "activation": "tanh"}]


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_profiles_change_symbols_only(spec):
    """The steps both profiles show are the same mathematics in other symbols; the results are identical."""
    ng, nielsen = _derive("ng", **spec), _derive("nielsen", **spec)
    for field in ("output_delta", "hidden_derivative", "gradient"):
        assert sp.simplify(getattr(ng.results, field) - getattr(nielsen.results, field)) == 0
    assert [s.id for s in ng.sections] == [s.id for s in nielsen.sections]
    shared = [[s for s in d.steps if s.form is None] for d in (ng, nielsen)]
    assert len(shared[0]) > 20
    for a, b in zip(*shared, strict=True):
        assert (a.id, a.rule, a.note, a.args) == (b.id, b.rule, b.note, b.args)
        assert a.lhs == b.lhs and a.rhs == b.rhs
        for side in (a.lhs, a.rhs):
            one, two = latex(side, "ng"), latex(side, "nielsen")
            assert _renamed(one, side, "ng") == _renamed(two, side, "nielsen"), a.id
    # and the symbols did change
    assert latex(ng.steps[1].rhs, "ng") != latex(ng.steps[1].rhs, "nielsen")


def test_renaming_sees_a_changed_structure():
    """The comparison above is not vacuous: a different expression does not rename to the same text."""
    t, a = sp.Symbol("Theta[1][2][3]"), sp.Symbol("a[1][3]")
    assert _renamed(latex(t * a, "ng"), t * a, "ng") != _renamed(latex(t + a, "nielsen"), t + a, "nielsen")


@pytest.mark.parametrize(("language", "section", "want"), [
    ("en", "output_delta", "BP1"), ("en", "hidden_delta2", "BP2"), ("en", "gradient1", "BP3"),
    ("en", "gradient1", "BP4"), ("zh", "output_delta", "BP1"), ("zh", "gradient2", "BP4"),
])
def test_nielsen_names_the_four_equations(language, section, want):
    d = _derive("nielsen")
    words = catalogue(language)
    assert want in section_title("nielsen", words, d.section(section))
    assert "BP" not in section_title("ng", words, d.section(section))


def test_nielsen_wording_numbers_weights_by_the_layer_they_feed():
    d = _derive("nielsen")
    words = catalogue("en")
    assert section_title("nielsen", words, d.section("gradient1")).endswith("w^2")
    assert section_title("ng", words, d.section("gradient1")).endswith("Θ^(1)")
    unit, vector = (next(s for s in d.section("forward").steps if s.form == f) for f in ("bias_unit", "bias_vector"))
    assert "Θ^(1)" in step_text("ng", words, unit)
    assert "b^2" in step_text("nielsen", words, vector) and "Θ" not in step_text("nielsen", words, vector)
    assert latex(vector.rhs, "nielsen") == "w^{2} a^{1} + b^{2}"


def test_each_profile_shows_one_bias_convention():
    """ng shows the bias unit and Θ's column 0, nielsen the bias vector; every other step both."""
    d = _derive("nielsen")
    forms = {s.form for s in d.sections[0].steps} | {s.form for sec in d.sections for s in sec.steps}
    assert forms == {None, "bias_unit", "bias_vector"}
    for name, profile in PROFILES.items():
        shown = _derive(name).steps
        assert {s.form for s in shown} == {None, profile.form}


def test_every_profile_writes_every_kind():
    kinds = set(PROFILES["ng"].templates)
    assert all(set(p.templates) == kinds for p in PROFILES.values())
