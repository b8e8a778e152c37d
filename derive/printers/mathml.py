"""A derivation as MathML: every step's equation through latex2mathml, one well-formed fragment each.

``equation(eq)`` gives, per line of an equation, the fragments the HTML page lays out (left side,
relation and right side, and the whole equation); ``render`` writes them as an XHTML fragment with the
rule of each step. Every fragment is parsed as XML before it is returned, and one whose text still
holds LaTeX (a command latex2mathml did not know) is refused rather than shown as raw LaTeX.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from latex2mathml.converter import convert

from ..errors import DeriveError
from ..steps import Derivation
from .layout import Document, Equation, document, with_summary

MATHML = "http://www.w3.org/1998/Math/MathML"

RELATIONS: dict[str, str] = {"=": "=", ":=": r"\mathrel{:=}"}


class MathMLError(DeriveError):
    """latex2mathml produced something that is not well-formed MathML, or left LaTeX in the text."""


@dataclass(frozen=True)
class StepMath:
    step: str
    lhs: str
    """MathML of the left side ('' on the continuation lines of an equation)"""
    rhs: str
    """MathML of ``relation rhs``"""
    whole: str
    """MathML of ``lhs relation rhs``"""
    words: str
    note: str | None


FIXES: tuple[tuple[str, str], ...] = (
    ("<mi>log</mi>", '<mi>log</mi><mspace width="0.1667em"/>'),
)
"""what latex2mathml writes differently from LaTeX's spacing (a thin space after an operator name)"""


def fragment(tex: str, *, display: str = "block") -> str:
    """One MathML <math> element for ``tex``, checked well-formed and free of leftover LaTeX."""
    out = convert(tex, display=display)
    for old, new in FIXES:
        out = out.replace(old, new)
    try:
        root = ET.fromstring(out)
    except ET.ParseError as e:
        raise MathMLError(f"latex2mathml made ill-formed XML of {tex!r}: {e}") from None
    for element in root.iter():
        if element.text and "\\" in element.text:
            raise MathMLError(f"latex2mathml left LaTeX in {tex!r}: {element.text!r}")
    return out


def equation(eq: Equation) -> list[StepMath]:
    """The MathML of each line of one equation."""
    lines = []
    for n, line in enumerate(eq.lines):
        relation = RELATIONS[line.relation]
        right = fragment(f"{relation} {line.rhs}")
        whole = fragment(f"{eq.lhs} {relation} {line.rhs}")
        left = fragment(eq.lhs) if n == 0 else ""
        lines.append(StepMath(line.step, left, right, whole, line.words, line.note))
    return lines


def steps(doc: Document) -> list[list[StepMath]]:
    """Per equation of the document, the MathML of its lines."""
    return [equation(eq) for eq in doc.equations]


_SCRIPT = re.compile(r"\^\(([^)]*)\)|\^\{([^}]*)\}|\^([A-Za-z0-9+]+)")


def text(words: str) -> str:
    """Catalogue text as HTML: escaped, with ^(4) and ^{l} written as superscripts."""
    out, pos = [], 0
    for m in _SCRIPT.finditer(words):
        script = next(g for g in m.groups() if g is not None)
        if m.group(1) is not None:
            script = f"({script})"
        out.append(html.escape(words[pos:m.start()]) + f"<sup>{html.escape(script)}</sup>")
        pos = m.end()
    return "".join(out) + html.escape(words[pos:])


def render(d: Derivation, **options: Any) -> str:
    """The derivation as an XHTML fragment: sections, and per step its MathML and its rule in words."""
    doc = document(d)
    parts = [f'<div class="derivation" lang="{doc.language}">', f"<h1>{text(doc.title)}</h1>",
             f"<p>{text(doc.network)}</p>"]
    for part in with_summary(doc):
        parts.append(f'<section id="{part.id}">')
        parts.append(f"<h2>{text(part.heading)}</h2>")
        for eq in part.equations:
            for m in equation(eq):
                rule = f'<span class="rule">{text(m.words)}</span>' if m.words else ""
                parts.append(f'<div class="step" id="{m.step}">{m.whole}{rule}</div>')
        parts.extend(f'<p class="note">{text(n)}</p>' for n in part.notes)
        parts.append("</section>")
    parts.append("</div>")
    return "\n".join(parts) + "\n"
