"""A Document as MathML in XHTML: every formula through latex2mathml, one well-formed fragment each.

``fragment`` parses each result as XML before it is returned, and refuses one whose text still holds LaTeX
(a command latex2mathml did not know) rather than show raw LaTeX. ``escape`` is derive's one HTML escape;
the HTML page (render.html) is this printer with a Jinja2 page around it.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any, ClassVar

from latex2mathml.converter import convert

from ..document import (
    Code,
    Document,
    Equation,
    EquationGroup,
    Figure,
    Line,
    Link,
    Math,
    Notes,
    Paragraph,
    Section,
    Table,
    Text,
    Verdict,
)
from ..errors import DeriveError
from .printer import Printer

MATHML = "http://www.w3.org/1998/Math/MathML"

RELATIONS: dict[str, str] = {"=": "=", ":=": r"\mathrel{:=}"}

MARKS: dict[bool, str] = {True: '<span class="mark holds">✓</span>', False: '<span class="mark wrong">✗</span>'}


class MathMLError(DeriveError):
    """latex2mathml produced something that is not well-formed MathML, or left LaTeX in the text."""


FIXES: tuple[tuple[str, str], ...] = (
    ("<mi>log</mi>", '<mi>log</mi><mspace width="0.1667em"/>'),
)
"""what latex2mathml writes differently from LaTeX's spacing (a thin space after an operator name)"""


def escape(text: str) -> str:
    """Text as HTML: derive's one escape for pages and fragments."""
    return html.escape(text)


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


@dataclass(frozen=True)
class StepMath:
    step: str
    lhs: str
    """MathML of the left side ('' on the continuation lines of an equation)"""
    rhs: str
    """MathML of ``relation rhs``"""
    whole: str
    """MathML of ``lhs relation rhs``"""
    line: Line


def equation(eq: Equation) -> list[StepMath]:
    """The MathML of each line of one equation."""
    lines = []
    for n, line in enumerate(eq.lines):
        relation = RELATIONS[line.relation]
        right = fragment(f"{relation} {line.rhs}")
        whole = fragment(f"{eq.lhs} {relation} {line.rhs}")
        left = fragment(eq.lhs) if n == 0 else ""
        lines.append(StepMath(line.step, left, right, whole, line))
    return lines


def steps(doc: Document) -> list[list[StepMath]]:
    """Per equation of the document, the MathML of its lines."""
    return [equation(eq) for eq in doc.equations]


class MathMLPrinter(Printer):
    """The document as an XHTML fragment: sections, and per step its MathML and its rule in words."""

    format = "mathml"
    _default_settings: ClassVar[dict[str, Any]] = {}

    def _print_Document(self, doc: Document) -> str:
        parts = [f'<div class="derivation" lang="{escape(doc.language)}">',
                 f"<h1>{escape(doc.meta.title)}</h1>"]
        parts += [f"<p>{escape(x)}</p>" for x in (doc.meta.author, doc.meta.date) if x]
        parts.append(f"<p>{self.runs(doc.intro)}</p>")
        parts.extend(self._print(s) for s in doc.sections)
        parts.append("</div>")
        return "\n".join(parts) + "\n"

    def _print_Section(self, section: Section) -> str:
        heading = [f"<h2>{self.runs(section.heading)}</h2>"] if section.heading.runs else []
        return "\n".join([f'<section id="{escape(section.id)}">', *heading,
                          *(self._print(b) for b in section.blocks), "</section>"])

    def _print_EquationGroup(self, group: EquationGroup) -> str:
        return "\n".join(self._print(eq) for eq in group.equations)

    def _print_Equation(self, eq: Equation) -> str:
        out = []
        for n, m in enumerate(equation(eq)):
            words = self.runs(m.line.words)
            rule = f'<span class="rule">{words}</span>' if words else ""
            tag = f'<span class="tag">({escape(eq.tag)})</span>' if eq.tag and n == len(eq.lines) - 1 else ""
            out.append(f'<div class="step" id="{escape(m.step)}">{m.whole}{rule}{tag}</div>')
        return "\n".join(out)

    def _print_Notes(self, notes: Notes) -> str:
        return "\n".join(f'<p class="note">{self.runs(p)}</p>' for p in notes.paragraphs)

    def _print_Paragraph(self, p: Paragraph) -> str:
        return f"<p>{self.runs(p)}</p>"

    def _print_Table(self, table: Table) -> str:
        head = "".join(f"<th>{self.runs(c)}</th>" for c in table.header)
        rows = "\n".join("<tr>%s</tr>" % "".join(f"<td>{self.runs(c)}</td>" for c in row) for row in table.rows)
        return f'<table class="values">\n<tr>{head}</tr>\n{rows}\n</table>'

    def _print_Figure(self, figure: Figure) -> str:
        from . import figures

        return f'<figure class="diagram">{figures.svg(figure)}</figure>'

    def _print_Text(self, run: Text) -> str:
        return escape(run.text)

    def _print_Math(self, run: Math) -> str:
        return fragment(run.tex, display="inline")

    def _print_Code(self, run: Code) -> str:
        return f"<code>{escape(run.text)}</code>"

    def _print_Link(self, run: Link) -> str:
        return f'<a href="{escape(run.href)}">{escape(run.text)}</a>'

    def _print_Verdict(self, run: Verdict) -> str:
        return MARKS[run.holds]


PRINTER = MathMLPrinter
