"""Catalogue sentences as paragraphs: the stretches of mathematics in them (Greek letters, operators, scripts
and the letters carrying them) become ``Math`` runs, so that no format sets mathematics as upright text."""

from __future__ import annotations

import re

from . import Code, Link, Math, Paragraph, Run, Text, Verdict

MATH_CHARS: dict[str, str] = {
    "δ": r"\delta ", "Θ": r"\Theta ", "Δ": r"\Delta ", "λ": r"\lambda ", "α": r"\alpha ", "σ": r"\sigma ",
    "η": r"\eta ", "ε": r"\varepsilon ", "θ": r"\theta ", "Σ": r"\sum ", "∂": r"\partial ", "∇": r"\nabla ",
    "≠": r"\neq ", "≥": r"\geq ", "≤": r"\leq ", "∘": r"\circ ", "·": r"\cdot ", "×": r"\times ", "−": "-",
    "′": "'", "₀": "_0", "ᵀ": "^{T}", "²": "^2", "→": r"\to ",
    "γ": r"\gamma ", "β": r"\beta ", "μ": r"\mu ", "√": r"\surd ",
}
"""characters of the catalogue's plain text that are mathematics, and their LaTeX"""

MARKS: dict[str, bool] = {"✓": True, "✗": False}
"""verdict marks: each format draws a check mark or a cross mark (never a times sign)"""

_SCRIPT = r"\^\([^)]*\)|\^\{[^}]*\}|\^[A-Za-z0-9+]+"
_GROUP = r"\((?:[^()\u2e80-\uffff]|\([^()\u2e80-\uffff]*\))*\)"
"""a parenthesised group of mathematics, one level of nesting: (z), (Θ^(l)), (z^(l)); no CJK text"""
_TOKEN = r"(?:∂[A-Za-z]|%s(?=[ᵀ²^])|[%s]|%s|[A-Za-z](?=[₀ᵀ²^′]))" % (_GROUP, "".join(MATH_CHARS), _SCRIPT)
_RUN = re.compile(r"%s(?:%s|_[A-Za-z0-9]+|/(?=%s)|(?<=[′A-Za-z)])%s)*" % (_TOKEN, _TOKEN, _TOKEN, _GROUP))
"""a stretch of math: symbols, scripts and the letters carrying them (∂b^3 is one stretch, never $…$$…$), a
quotient ∂J/∂a, a group raised to a power (Θ^(l))ᵀ, and the argument of a function g′(z)"""
_BETWEEN = re.compile(r" (?:[=·∘×+−] )?")
"""what joins two stretches into one formula: a space, or a binary operator between spaces"""
_PRODUCT = re.compile(r"\b([a-z])\(1 ?[−-] ?\1\)")
"""a(1 − a): the sigmoid's derivative written in a sentence, one formula"""


def paragraph(words: str) -> Paragraph:
    """A catalogue sentence as words, inline mathematics and verdict marks."""
    runs: list[Run] = []
    for piece in re.split("([%s])" % "".join(MARKS), words):
        if piece in MARKS:
            runs.append(Verdict(MARKS[piece]))
        elif piece:
            runs.extend(_runs(piece))
    return Paragraph(tuple(runs))


def _runs(words: str) -> list[Run]:
    out: list[Run] = []
    pos = 0
    spans = sorted([(m.start(), m.end()) for m in _PRODUCT.finditer(words)]
                   + [(m.start(), m.end()) for m in _RUN.finditer(words)])
    for start, end in spans:
        if start < pos:  # inside a product already taken
            continue
        if start > pos:
            out.append(Text(words[pos:start]))
        if out and isinstance(out[-1], Text) and len(out) > 1 and isinstance(out[-2], Math) \
                and _BETWEEN.fullmatch(out[-1].text):
            joined = out[-1].text
            out.pop()
            previous = out.pop()
            assert isinstance(previous, Math)
            out.append(Math(previous.tex + " " + math(joined.strip()) + " " + math(words[start:end])))
        elif start == pos and out and isinstance(out[-1], Math):
            out[-1] = Math(out[-1].tex + " " + math(words[start:end]))
        else:
            out.append(Math(math(words[start:end])))
        pos = end
    if pos < len(words):
        out.append(Text(words[pos:]))
    return out


def math(run: str) -> str:
    """A stretch of catalogue mathematics as LaTeX."""
    run = re.sub(r"\^\(([^)]*)\)", r"^{(\1)}", run)
    run = re.sub(r"\^([A-Za-z0-9+]+)", r"^{\1}", run)
    run = re.sub(r"_([A-Za-z0-9]+)", r"_{\1}", run)
    return re.sub(r" (?=[\^_'])", "", "".join(MATH_CHARS.get(c, c) for c in run)).strip()


def plain(p: Paragraph) -> str:
    """The paragraph's words as one plain string (headings of a table of contents, the JSON text)."""
    return "".join(r.text if isinstance(r, Text | Code | Link) else r.tex if isinstance(r, Math) else "✓✗"[not r.holds]
                   for r in p.runs)
