"""A derivation as Markdown: headings, and per equation a ``$$`` block (aligned, the rule in words beside
each step) that GitHub and Jupyter (MathJax) both render. ``math(d)`` is the formulas alone, for
``_repr_latex_``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..steps import Derivation
from .layout import Equation, document, with_summary
from .mathml import text

RELATIONS: dict[str, str] = {"=": "=", ":=": r"\mathrel{:=}"}

_TEXT_SAFE: dict[int, str | None] = {ord(c): r for c, r in {"{": "(", "}": ")", "\\": None, "$": None, "&": "+",
                                                          "#": None, "%": None, "^": None, "_": " "}.items()}
"""characters that would end or escape \\text{…}, and what they become"""


def block(equations: Sequence[Equation], *, words: bool = True) -> str:
    """One ``$$ \\begin{aligned} … \\end{aligned} $$`` block; no row starts with + or − (Markdown lists)."""
    groups = []
    for eq in equations:
        rows = []
        for n, line in enumerate(eq.lines):
            rule = r" && \text{%s}" % _text(line.words) if words and line.words else ""
            rows.append("%s &%s %s%s" % (eq.lhs if n == 0 else "", RELATIONS[line.relation], line.rhs, rule))
        groups.append(" \\\\\n".join(rows))
    return "$$\n\\begin{aligned}\n%s\n\\end{aligned}\n$$" % " \\\\[6pt]\n".join(groups)


def _text(words: str) -> str:
    """Words inside \\text{…}, without the characters that would end or escape it."""
    return words.translate(_TEXT_SAFE)


def render(d: Derivation, **options: Any) -> str:
    """The derivation as a Markdown document."""
    doc = document(d)
    out = [f"# {text(doc.title)}", "", text(doc.network), ""]
    for part in with_summary(doc):
        out += [f"## {text(part.heading)}", ""]
        out += [block(part.equations), ""]
        out += [f"- {text(note)}" for note in part.notes]
        if part.notes:
            out.append("")
    return "\n".join(out)


def math(d: Derivation) -> str:
    """The equations alone, one ``$$`` block each (what Jupyter's LaTeX display expects)."""
    return "\n".join(block(part.equations, words=False) for part in document(d).parts) + "\n"
