"""A Document as MathML in XHTML: every formula through latex2mathml, one well-formed fragment each.

``fragment`` parses each result as XML before it is returned, and refuses one whose text still holds LaTeX
(a command latex2mathml did not know) rather than show raw LaTeX. ``escape`` is derive's one HTML escape;
the HTML page (render.html) is this printer with a Jinja2 page around it.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

from latex2mathml import commands
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
ET.register_namespace("", MATHML)

RELATIONS: dict[str, str] = {"=": "=", ":=": r"\mathrel{:=}"}

MARKS: dict[bool, str] = {True: '<span class="mark holds">✓</span>', False: '<span class="mark wrong">✗</span>'}


class MathMLError(DeriveError):
    """latex2mathml produced something that is not well-formed MathML, or left LaTeX in the text."""


FUNCTIONS: frozenset[str] = frozenset(name.lstrip("\\") for name in commands.FUNCTIONS)
"""operator names (log, exp, tanh, ...): latex2mathml sets them as a bare <mi>, with no space around them"""

THIN = "0.1667em"
"""TeX's thin space, the space around an operator name"""

_ROWS = frozenset({"math", "mrow", "mtd", "mstyle", "mpadded", "mphantom", "msqrt", "menclose"})
"""elements whose children are a row of mathematics (a leading sign in one is a prefix operator)"""

_SIGNS = frozenset({"\u2212", "-", "+", "\u00b1"})
_CLOSING = frozenset({")", "]", "}", "|", "\u2016", "\u2032", "!", "\u27e9"})
"""operators after which a sign is a binary operator (a closing fence, a prime, a factorial)"""


def _tag(element: ET.Element) -> str:
    return element.tag.rpartition("}")[2]


def _spacing(root: ET.Element) -> None:
    """What latex2mathml leaves to the renderer, set as TeX sets it: a leading sign is a prefix operator (no
    space after it), an operator name (\\log or \\operatorname) applies to its argument (U+2061, a thin space on
    each side), ∂ and the solidus take no space (both ordinary in TeX), and the columns of cases are left-aligned
    (Chromium reads a style, not columnalign)."""
    for parent in list(root.iter()):
        if _tag(parent) in _ROWS:
            children = list(parent)
            for n, child in enumerate(children):
                if _tag(child) == "mo" and (child.text or "").strip() in _SIGNS:
                    before = children[n - 1] if n else None
                    if before is None or (_tag(before) == "mo" and (before.text or "").strip() not in _CLOSING):
                        child.set("form", "prefix")
                        child.set("lspace", "0")
                        child.set("rspace", "0")
        if _tag(parent) == "mo" and (parent.text or "").strip() == "/":
            parent.set("lspace", "0")   # a solidus is ordinary in TeX: ∂J/∂a, λ/m
            parent.set("rspace", "0")
        for n, child in reversed(list(enumerate(parent))):
            named = _tag(child) == "mo" and (child.text or "").isalpha() and len(child.text or "") > 1
            if named:  # \operatorname{rowsum}: a name, not an operator (latex2mathml makes it <mo>)
                child.tag = f"{{{MATHML}}}mi"
            if _tag(child) == "mo" and (child.text or "").strip() == "\u2202":
                child.tag = f"{{{MATHML}}}mi"  # ∂ is an ordinary symbol in TeX: ∂J/∂a, no operator space
                child.set("mathvariant", "normal")
            if _tag(child) == "mi" and (child.text in FUNCTIONS or named):
                after = parent[n + 1] if n + 1 < len(parent) else None
                fence = after is not None and _tag(after) == "mo" and (after.text or "").strip() in "([{"
                apply = ET.Element(f"{{{MATHML}}}mo", {"lspace": "0", "rspace": "0" if fence else THIN})
                apply.text = "\u2061"
                parent.insert(n + 1, apply)
                if n and (_tag(parent[n - 1]) != "mo" or (parent[n - 1].text or "").strip() in _CLOSING):
                    parent.insert(n, ET.Element(f"{{{MATHML}}}mspace", {"width": THIN}))
            if _tag(child) == "mtd" and child.get("columnalign") == "left":
                child.set("style", "text-align: left")


def escape(text: str) -> str:
    """Text as HTML: derive's one escape for pages and fragments."""
    return html.escape(text)


@lru_cache(maxsize=4096)
def fragment(tex: str, *, display: str = "block") -> str:
    """One MathML <math> element for ``tex``, checked well-formed and free of leftover LaTeX (a pure function
    of its text: the same formula in both languages and in every product of a set is converted once)."""
    out = convert(tex, display=display)
    try:
        root = ET.fromstring(out)
    except ET.ParseError as e:
        raise MathMLError(f"latex2mathml made ill-formed XML of {tex!r}: {e}") from None
    for element in root.iter():
        if element.text and "\\" in element.text:
            raise MathMLError(f"latex2mathml left LaTeX in {tex!r}: {element.text!r}")
    _spacing(root)
    return ET.tostring(root, encoding="unicode")


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
        if doc.figure is not None:  # the drawing under the title, as on the page
            parts.append(self._print(doc.figure))
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
        head = "".join(f"<th{_lang(c)}>{self.runs(c)}</th>" for c in table.header)
        rows = "\n".join("<tr>%s</tr>" % "".join(f"<td{_lang(c)}>{self.runs(c)}</td>" for c in row)
                         for row in table.rows)
        return f'<table class="values">\n<tr>{head}</tr>\n{rows}\n</table>'

    def _print_Figure(self, figure: Figure) -> str:
        from . import figures

        caption = f"<figcaption>{self.runs(figure.caption)}</figcaption>" if figure.caption is not None else ""
        return f'<figure class="diagram">{figures.svg(figure)}{caption}</figure>'

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


def _lang(p: Paragraph) -> str:
    """The lang attribute of a paragraph in another language than the page's."""
    return f' lang="{escape(p.language)}"' if p.language else ""


PRINTER = MathMLPrinter
