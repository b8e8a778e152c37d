"""MathML and SVG typography as Chromium reads it: signs, operator names, cases, scripts, the grading table and
the CJK fonts. Each result is parsed with an XML parser and its structure asserted."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from derive.render.html import style
from derive.render.mathml import MATHML, THIN, fragment
from derive.render.network_diagram import _svg_text

M = "{%s}" % MATHML


def _tag(e: ET.Element) -> str:
    return e.tag.rpartition("}")[2]


def _row(tex: str) -> list[ET.Element]:
    root = ET.fromstring(fragment(tex))
    row = root.find(M + "mrow")
    assert row is not None
    return list(row)


@pytest.mark.parametrize("tex", [r"-y", r"J = -y", r"(-a)", r"x + -y", r"\frac{-1}{m}"])
def test_a_leading_sign_is_a_prefix_operator_with_no_space(tex):
    root = ET.fromstring(fragment(tex))
    signs = [e for e in root.iter(M + "mo") if e.text == "−"]
    assert signs
    prefix = signs[-1] if tex.startswith("x") else signs[0]
    assert prefix.get("form") == "prefix" and prefix.get("lspace") == "0" and prefix.get("rspace") == "0"


@pytest.mark.parametrize("tex", [r"a - y", r"(1-a) - y", r"a' - y", r"\Theta^{(1)} - x"])
def test_subtraction_keeps_its_operator_spacing(tex):
    root = ET.fromstring(fragment(tex))
    minus = [e for e in root.iter(M + "mo") if e.text == "−"][-1]
    assert minus.get("form") is None and minus.get("rspace") is None


def test_an_operator_name_applies_to_its_argument_with_thin_spaces():
    row = _row(r"-y\log a - (1-y)\log(1-a)")
    names = [n for n, e in enumerate(row) if _tag(e) == "mi" and e.text == "log"]
    assert len(names) == 2
    for n in names:
        before, after = row[n - 1], row[n + 1]
        assert _tag(before) == "mspace" and before.get("width") == THIN      # y log, ) log: a thin space
        assert _tag(after) == "mo" and after.text == "\u2061"                 # function application
    assert row[names[0] + 1].get("rspace") == THIN                            # log a
    assert row[names[1] + 1].get("rspace") == "0"                             # log(1 - a): no space before (


def test_an_operator_name_after_an_operator_takes_no_extra_space():
    row = _row(r"J = \log a")
    n = next(n for n, e in enumerate(row) if e.text == "log")
    assert _tag(row[n - 1]) == "mo" and row[n - 1].text == "="


def test_cases_columns_are_left_aligned_for_chromium():
    root = ET.fromstring(fragment(r"g(z) = \begin{cases} z & z > 0 \\ 0 & \text{otherwise} \end{cases}"))
    cells = list(root.iter(M + "mtd"))
    assert len(cells) == 4
    assert all(c.get("columnalign") == "left" and "text-align: left" in c.get("style", "") for c in cells)


def test_svg_label_stacks_the_subscript_under_the_superscript():
    text = ET.fromstring(_svg_text(r"a^{(2)}_{1}", 100, 50, 13))
    base, sup, sub = list(text)
    assert (base.text, sup.text, sub.text) == ("a", "(2)", "1")
    # the base ends where both scripts begin: the scripts are stacked, not set one after the other
    assert base.get("x") == sup.get("x") == sub.get("x")
    assert base.get("text-anchor") == "end" and sup.get("text-anchor") == sub.get("text-anchor") == "start"
    assert float(sup.get("dy")) < 0 < float(sup.get("dy")) + float(sub.get("dy"))


def test_svg_label_with_one_script_is_unchanged_in_kind():
    text = ET.fromstring(_svg_text(r"\Theta^{(1)}", 100, 50, 16))
    base, sup = list(text)
    assert base.text == "Θ" and sup.text == "(1)" and float(sup.get("dy")) < 0


def test_chinese_pages_have_a_cjk_font_list():
    css = style()
    rule = css[css.index('[lang|="zh"] {'):]
    rule = rule[:rule.index("}")]
    for face in ("Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "sans-serif"):
        assert face in rule


def test_the_page_css_is_inlined_unescaped():
    """<style> is raw text in HTML: an entity there (&#34; for a quote) is not decoded, and the font lists
    it sits in are dropped by the browser."""
    from derive.render.html import page

    html = page(language="zh", title="t", body="")
    css = html[html.index("<style>") + 7:html.index("</style>")]
    assert css.strip() == style().strip()
    assert "&#34;" not in css and "&gt;" not in css


def test_a_solidus_is_ordinary():
    root = ET.fromstring(fragment(r"\partial J/\partial a"))
    (slash,) = [e for e in root.iter(M + "mo") if e.text == "/"]
    assert slash.get("lspace") == slash.get("rspace") == "0"


@pytest.mark.parametrize("tex", [r"\partial J/\partial S", r"\frac{\partial J}{\partial a}", r"x \partial y"])
def test_the_partial_sign_is_ordinary(tex):
    """∂ is an ordinary symbol in TeX: a <mo> takes operator space around it in Chromium ("∂J/ ∂S")."""
    root = ET.fromstring(fragment(tex))
    assert not [e for e in root.iter(M + "mo") if e.text == "∂"]
    partials = [e for e in root.iter(M + "mi") if e.text == "∂"]
    assert partials and all(e.get("mathvariant") == "normal" for e in partials)


def test_an_operator_name_of_our_own_is_a_name_applied_to_its_argument():
    row = _row(r"P \circ \operatorname{rowsum}(\delta \circ O)")
    (n,) = [n for n, e in enumerate(row) if e.text == "rowsum"]
    assert _tag(row[n]) == "mi"
    assert _tag(row[n + 1]) == "mo" and row[n + 1].text == "\u2061" and row[n + 1].get("rspace") == "0"
    assert not [e for e in ET.fromstring(fragment(r"\operatorname{rowsum}(P)")).iter(M + "mo") if e.text == "rowsum"]
