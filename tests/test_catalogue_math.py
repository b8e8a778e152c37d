"""Mathematics in catalogue sentences is never upright text: every sentence a document prints, with its
placeholders filled, is read into runs, and no Text run may hold a formula (a Greek letter, an operator, a
lone letter that is a quantity, a quotient such as 1/m or λ/2m, a relation such as j = 0)."""

from __future__ import annotations

import re
import string

import pytest

from derive.catalogue import catalogue
from derive.document import Math, Text
from derive.document.words import ITALIC, MATH_CHARS, paragraph
from derive.model.network import LANGUAGES

PRINTED = ("rules", "notes", "sections", "mistakes", "nielsen_sections", "nielsen_rules", "nielsen_notes",
           "nielsen_mistakes", "graph", "claims", "document", "exercise", "example", "layered")
"""the catalogue groups whose sentences documents print as paragraphs"""
SAMPLE = {"layer": "3", "next": "4", "prev": "2", "last": "4", "unit": "1", "point": "0", "low": "0", "high": "1",
          "value": "0.25", "a": "0.01", "y": "1", "rate": "0.5", "digits": "7", "before": "0.65", "after": "0.47",
          "loss": "cross-entropy", "reduction": "mean", "activation": "sigmoid", "function": "σ", "kind": "dense",
          "shape": "(3)", "out": "(4)", "parameters": "2", "layers": "3, 5, 4", "output": "sigmoid", "lam": "0",
          "claimed": "0.5", "computed": "0.5", "rounded": "0.5", "wrong": "1", "total": "4", "reverse_mode": "9",
          "nodes": "5", "inputs": "2", "nudging": "10", "target": "delta[3]", "explanation": "…", "mistake": "…"}

TEXT_MATH = [
    ("a symbol of mathematics", re.compile("[%s]" % re.escape("".join(set(MATH_CHARS) - {"−", "·"})))),
    ("a quotient", re.compile(r"\w/\w")),
    ("a relation", re.compile(r"(?<![A-Za-z])[A-Za-z0-9] ?[=<>] ?[A-Za-z0-9](?![A-Za-z])")),
    ("a minus between quantities", re.compile(r"(?<![A-Za-z])[A-Za-z0-9] ?− ?[A-Za-z0-9](?![A-Za-z])")),
    ("a subscript or superscript", re.compile(r"[A-Za-z0-9)]_\w|\^")),
]
OPERAND_MISSING = re.compile(r"\s*(?:\\circ|\\times|\\cdot|=)(?![A-Za-z])\s*\S")
"""a formula that starts with a binary operator: its left side was words ("the next step's error ∘ 𝑔′"); an
operator alone between words ("5 nodes × 2 parameters") is words about a product"""
LONE = re.compile(r"(?<![A-Za-z0-9'’\-_./])([A-Za-z])(?![A-Za-z0-9'’\-_])")
"""a letter standing alone: a quantity (m, j, K, x), unless it is the English article a (or I)"""


def _sentences():
    for language in LANGUAGES:
        for group in PRINTED:
            for key, text in catalogue(language).table.get(group, {}).items():
                yield pytest.param(language, text, id=f"{language}.{group}.{key}")


def _filled(text: str) -> str:
    fields = {f for _, f, _, _ in string.Formatter().parse(text) if f}
    return text.format(**{f: SAMPLE.get(f, "2") for f in fields})


@pytest.mark.parametrize(("language", "text"), list(_sentences()))
def test_no_mathematics_as_text(language, text):
    runs = paragraph(_filled(text)).runs
    for run in runs:
        if not isinstance(run, Text):
            continue
        for what, pattern in TEXT_MATH:
            assert not pattern.search(run.text), f"{what} set as text: {run.text!r} in {text!r}"
        after_run = runs[runs.index(run) + 1:runs.index(run) + 2]
        if run.text.strip() and after_run and isinstance(after_run[0], Math):
            assert not OPERAND_MISSING.match(after_run[0].tex), \
                f"an operator with words for its left side: {run.text!r} {after_run[0].tex!r} in {text!r}"
        if run.text[-1:].isascii() and run.text[-1:].isalpha() and after_run and isinstance(after_run[0], Math):
            assert not after_run[0].tex[:1].isalpha(), f"a word cut into text and mathematics: {run.text!r}"
        for m in LONE.finditer(run.text):
            letter = m.group(1)
            after = run.text[m.end():] or "".join(getattr(r, "tex", "x") for r in runs[runs.index(run) + 1:])[:1]
            article = language == "en" and letter in "aAI" and not re.match(r" ?[=<>≠−+/·∘(]|$", after)
            plural = run.text[m.start() - 2:m.end() + 1].endswith("(s)") and run.text[m.start() - 2].isalpha()
            assert article or plural, f"the letter {letter!r} set as text: {run.text!r} in {text!r}"


def test_math_letters_become_math():
    """The catalogue's way of writing a lone quantity: a mathematical italic letter, read as math."""
    runs = paragraph("over the 𝑚 examples, for 𝑗 ≠ 0, (λ/2𝑚) Σ Θ²").runs
    assert [type(r) for r in runs] == [Text, Math, Text, Math, Text, Math]
    assert runs[3].tex.replace(" ", "") == r"j\neq0"
    assert not any(c in ITALIC for r in runs if isinstance(r, Math) for c in r.tex)


@pytest.mark.parametrize(("sentence", "formula"), [
    ("(times 𝑜_t and tanh′ = 1 − tanh²)", r"\tanh ' = 1 -  \tanh ^2"),
    ("through 𝑃 = softmax(𝑆): the partials", r"P = \operatorname{softmax}(S)"),
    ("∂𝐽/∂𝑆 = 𝑃 ∘ (∂𝐽/∂𝑃 − rowsum(δ^(2) ∘ 𝑂)) here",
     r"\partial J/\partial S = P  \circ  (\partial J/\partial P - \operatorname{rowsum}(\delta^{(2)} \circ  O))"),
    ("so σ′ = 1 − 𝑎² here", r"\sigma' = 1 -  a^2"),
    ("ℎ_t and its error", "h_{t}"),
    ("(𝑊^(1))ᵀ (δℎ^(1)_(t+1) ∘ 𝑔′(𝑧^(1)_(t+1))); after",
     r"(W^{(1)})^{\mathsf{T}}  (\delta h^{(1)}_{t+1} \circ  g'(z^{(1)}_{t+1}))"),
    ("𝑢 × 𝑛_in entries", r"u  \times  n_{\mathrm{in}}"),
    ("the bias 𝑏_ih", r"b_{\mathrm{ih}}"),
    ("for every Θ_ij", r"\Theta_{ij}"),
])
def test_a_formula_with_function_names_and_nested_groups_is_one_formula(sentence, formula):
    assert formula in [r.tex for r in paragraph(sentence).runs if isinstance(r, Math)]


def test_a_word_alone_or_a_remark_in_parentheses_stays_words():
    assert paragraph("a tanh layer").runs == (Text("a tanh layer"),)
    runs = paragraph("a pair (𝑥, 𝑦) and (the 𝑎 value)").runs
    assert Math("(x, y)") in runs and Text(" and (the ") in runs
