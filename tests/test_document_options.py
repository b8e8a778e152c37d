"""The document options of SPEC §3: one derivation printed in any language and notation without deriving again,
title/author/date, --sections, --handout, tagged main equations, the shapes of the parameters, the cost's
example index, and the printers' declared settings."""

from __future__ import annotations

import json
import re
from functools import cache

import pytest

import derive
from derive.cli import main
from derive.errors import NotSupportedError
from derive.render import FORMATS, render

from .test_documents import compile_tex


@cache
def _slides() -> derive.Derivation:
    return derive.backprop(derive.Network.from_dict({"layers": [3, 5, 5, 4]}))


@cache
def _small(**spec: object) -> derive.Derivation:
    return derive.backprop(derive.Network.from_dict({"layers": [2, 2, 1], **spec}))


def test_one_derivation_prints_in_every_language_and_notation_without_deriving_again(monkeypatch):
    d = _small(activation="tanh")
    import derive.engine.backprop

    monkeypatch.setattr(derive.engine.backprop, "backprop", lambda *a, **k: pytest.fail("derived again"))
    zh = render(d, "markdown", language="zh", notation="nielsen")
    assert re.search(r"[\u4e00-\u9fff]", zh) and r"\Theta" not in zh and "w^{" in zh
    assert d.network.language == "en" and d.network.notation == "ng"  # the mathematics is untouched
    en, other = json.loads(render(d, "json")), json.loads(render(d, "json", language="zh"))
    # the same mathematics; only the words inside a cases block ("if") are the language's own
    assert [(s["id"], s["lhs"], s["rhs"], s["sympy"]) for s in en["steps"]] == \
        [(s["id"], s["lhs"], s["rhs"].replace("\\text{若}", "\\text{if}"), s["sympy"]) for s in other["steps"]]
    assert en["results"] == other["results"] and en["steps"][0]["text"] != other["steps"][0]["text"]


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_unknown_settings_are_refused_by_name(fmt):
    with pytest.raises(NotSupportedError, match="unknown option 'colour'"):
        render(_small(), fmt, colour="red")


@pytest.mark.parametrize(("language", "notation"), [("en", "ng"), ("zh", "nielsen"), (None, None)])
def test_bad_language_or_notation_is_refused(language, notation):
    if language is None:
        with pytest.raises(derive.InputError, match="allowed: en | zh"):
            render(_small(), "latex", language="fr")
        with pytest.raises(derive.InputError, match="allowed: ng | nielsen"):
            render(_small(), "latex", notation="bishop")
    else:
        assert render(_small(), "latex", language=language, notation=notation)


@pytest.mark.parametrize("fmt", ["latex", "beamer", "html"])
def test_title_author_and_date_are_shown(fmt):
    text = render(_small(), fmt, title="Backprop & friends, week 5", author="A. Lecturer", date="3 March 2027")
    title = r"Backprop \& friends, week 5" if fmt != "html" else "Backprop &amp; friends, week 5"
    assert title in text and "A. Lecturer" in text and "3 March 2027" in text


def test_sections_choose_what_is_printed(tmp_path, capsys):
    full = render(_slides(), "latex", body=True)
    output = render(_slides(), "latex", body=True, sections=["output"])
    assert 0 < len(output) < len(full) / 3
    assert r"\delta^{(4)}" in output and r"\section*{Forward" not in output and "Summary" not in output
    both = render(_slides(), "markdown", sections=["forward", "summary"])
    assert [h for h in re.findall(r"^## (.*)$", both, flags=re.M)] == ["Forward propagation", "Summary"]
    net = tmp_path / "net.toml"
    net.write_text("layers = [2, 1]\n")
    assert main(["derivation", str(net), "--sections", "forward,backward", "-o", str(tmp_path / "x.tex")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'backward'" in err and "regularization" in err
    assert not (tmp_path / "x.tex").exists()


def test_every_format_at_once_prints_what_each_format_alone_prints():
    from derive.render import render_all

    settings = {"sections": ["forward", "summary"], "language": "zh", "notation": "nielsen", "title": "Δ"}
    together = render_all(_slides(), ["latex", "markdown", "html", "json"], **settings)
    assert together == {fmt: render(_slides(), fmt, **settings) for fmt in together}


@pytest.mark.pdflatex
def test_handout_has_no_overlays_and_compiles(tmp_path):
    deck = render(_small(), "beamer", handout=True)
    assert deck.startswith(r"\documentclass[11pt,aspectratio=169,handout]{beamer}")
    assert r"\uncover" not in deck
    compile_tex(deck, "pdflatex", tmp_path)


def test_handout_goes_only_with_beamer(tmp_path, capsys):
    net = tmp_path / "net.toml"
    net.write_text("layers = [2, 1]\n")
    assert main(["derivation", str(net), "--handout"]) == 2
    assert "--handout" in capsys.readouterr().err


def test_main_equations_are_tagged():
    nielsen = render(_slides(), "latex", notation="nielsen")
    for tag in ("BP1", "BP2", "BP3", "BP4"):
        assert f"({tag})" in nielsen, tag
    ng = render(_slides(), "markdown")
    assert "(1)" in ng and "(2)" in ng and "(3)" in ng and "BP1" not in ng
    body = ng[:ng.index("## Summary")]
    tags = re.findall(r" \((\d+)\)\}", body)
    assert tags == [str(n) for n in range(1, len(tags) + 1)] and len(tags) >= 6  # δ^(4), δ^(3), δ^(2), 3 gradients


def test_the_shapes_of_the_parameters_are_stated():
    ng = render(_slides(), "latex")
    assert r"\Theta^{(l)} \in \mathbb{R}^{s_{l+1} \times (s_{l} + 1)}" in ng
    assert r"\Theta^{(1)} \in \mathbb{R}^{5 \times 4}" in ng and r"\Theta^{(3)} \in \mathbb{R}^{4 \times 6}" in ng
    nielsen = render(_slides(), "latex", notation="nielsen")
    assert r"w^{l} \in \mathbb{R}^{n_{l} \times n_{l-1}}" in nielsen and r"b^{l} \in \mathbb{R}^{n_{l}}" in nielsen
    assert r"w^{2} \in \mathbb{R}^{5 \times 3}" in nielsen and r"b^{4} \in \mathbb{R}^{4}" in nielsen


@pytest.mark.parametrize("spec", [{}, {"output": "softmax", "activation": "relu", "layers": [2, 3, 2]},
                                  {"loss": "squared_error", "output": "tanh"}])
def test_the_cost_carries_the_example_index(spec):
    d = derive.backprop(derive.Network.from_dict({"layers": [2, 2, 1], **spec}))
    doc = render(d, "markdown")
    cost = doc[doc.index("## The cost"):doc.index("## The output")]
    assert "y^{(i)}_{k}" in cost and "(x^{(i)})" in cost
    sympy = [s for s in json.loads(render(d, "json"))["steps"] if s["section"] == "cost"][0]["sympy"]
    assert "(i)" not in sympy  # the JSON form keeps SymPy's string of the step


def test_worked_example_has_its_own_title_and_the_new_weights(tmp_path):
    from derive.document.worked_example import problem, worked_example

    net = derive.Network.from_dict({"layers": [2, 2, 1]})
    thetas = [[[0.5, 0.05, 0.1], [0.2, -0.3, 0.4]], [[0.1, 0.6, -0.7]]]
    d = worked_example(net, problem(thetas, [[0.02, 0.04]], [[1]]), rate=0.5)
    md = render(d, "markdown")
    assert md.splitlines()[0] != render(_small(), "markdown").splitlines()[0]
    fn = derive.lambdify(net)
    import numpy as np

    G = fn.gradients([np.array(t) for t in thetas], np.array([[0.02, 0.04]]), np.array([[1.0]]))
    new = np.array(thetas[0]) - 0.5 * G[0]
    shown = dict(re.findall(r"^\\Theta\^\{\(1\)\}_\{(\d\d)\} &\\mathrel\{:=\} (-?[\d.]+)", md, flags=re.M))
    assert len(shown) == 6
    for (i, j), value in np.ndenumerate(new):
        assert float(shown[f"{i + 1}{j}"]) == pytest.approx(value, rel=1e-6)


@pytest.mark.pdflatex
def test_a_wrong_claim_is_marked_with_a_cross_not_a_times_sign(tmp_path):
    from derive.document.claims import check, section
    from derive.document.worked_example import problem, with_claims, worked_example

    net = derive.Network.from_dict({"layers": [2, 2, 1]})
    thetas = [[[0.5, 0.05, 0.1], [0.2, -0.3, 0.4]], [[0.1, 0.6, -0.7]]]
    d = worked_example(net, problem(thetas, [[0.02, 0.04]], [[1]]))
    computed = derive.lambdify(net).backward(thetas, [[0.02, 0.04]], [[1]])
    d = with_claims(d, section(check(net, computed, {"z[2][1]": "0.505", "J": "0.9"}, params=thetas)))
    tex = render(d, "latex")
    claims = tex[tex.rindex(r"\section*"):]
    assert r"\ding{51}" in claims and r"\ding{55}" in claims and r"\times" not in claims
    html = render(d, "html", language="zh")
    assert '<span class="mark wrong">✗</span>' in html and '<span class="mark holds">✓</span>' in html
    compile_tex(tex, "pdflatex", tmp_path)


def test_cases_words_follow_the_language():
    """The conditions of a cases block (the regularized D) are words of the document's language."""
    import derive
    from derive.render import render

    net = derive.Network.from_dict({"layers": [2, 2, 1], "lambda": 0.5})
    d = derive.backprop(net)
    zh, en = render(d, "latex", language="zh"), render(d, "latex", language="en")
    assert "\\text{若}\\ j" in zh and "\\text{if}" not in zh  # the space outside the text: xeCJK keeps it
    assert "\\text{if}\\ j" in en


@pytest.mark.parametrize(("notation", "language", "says"), [("ng", "en", "Here $J$ is the loss of one example"),
                                                           ("nielsen", "en", "Here $C$ is the cost of one example"),
                                                           ("ng", "zh", "这里 $J$ 是单个样本")])
@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
def test_delta_is_said_to_be_per_example(notation, language, says, output):
    """δ = ∂J/∂z is taken of one example's loss, while the cost J averages over m: the document says so."""
    import derive
    from derive.render import render

    net = derive.Network.from_dict({"layers": [2, 2, 2], "output": output})
    assert says in render(derive.backprop(net), "markdown", language=language, notation=notation)
