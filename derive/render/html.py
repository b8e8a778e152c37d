"""A Document as a standalone HTML page: UTF-8, MathML inline, CSS inline, no scripts and nothing fetched.
The page is derive's one Jinja2 template (derive/templates/document.html.j2), around the MathML printer's
sections."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import jinja2
import markupsafe

from ..document import Document, Equation
from .mathml import MathMLPrinter, equation, escape

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
"""derive/templates: the pages' Jinja2 templates and their CSS (package data)"""


@cache
def environment() -> jinja2.Environment:
    """The templates of derive/templates, HTML-escaped by default."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              keep_trailing_newline=True, undefined=jinja2.StrictUndefined)


@cache
def style() -> str:
    """The page's CSS, inlined so that a page needs no other file."""
    return (TEMPLATES / "style.css").read_text(encoding="utf-8")


def page(*, language: str, title: str, body: str, author: str = "", date: str = "", intro: str = "",
         figure: str = "", contents: tuple[tuple[str, str], ...] = ()) -> str:
    """Every HTML page derive writes: ``body`` (and ``intro``, ``figure``) are markup already escaped."""
    return environment().get_template("document.html.j2").render(
        language=language, title=title, author=author, date=date, style=markupsafe.Markup(style()),
        intro=markupsafe.Markup(intro),
        figure=markupsafe.Markup(figure), contents=[(i, markupsafe.Markup(h)) for i, h in contents],
        body=markupsafe.Markup(body))


class HtmlPrinter(MathMLPrinter):
    format = "html"
    _default_settings: ClassVar[dict[str, Any]] = {}

    def _print_Document(self, doc: Document) -> str:
        figure = self._print(doc.figure) if doc.figure is not None else ""
        return page(language=doc.language, title=doc.meta.title, author=doc.meta.author, date=doc.meta.date,
                    intro=self.runs(doc.intro), figure=figure,
                    contents=tuple((s.id, self.runs(s.heading)) for s in doc.sections
                                   if s.heading.runs and len(doc.sections) > 1),
                    body="\n".join(self._print(s) for s in doc.sections))

    def _print_Equation(self, eq: Equation) -> str:
        rows = []
        for n, m in enumerate(equation(eq)):
            words = self.runs(m.line.words)
            if eq.tag and n == len(eq.lines) - 1:
                words += f' <span class="tag">({escape(eq.tag)})</span>'
            rows.append(f'<div class="lhs">{m.lhs}</div><div class="rhs">{m.rhs}</div>'
                        f'<div class="rule">{words}</div>')
        return '<div class="equation">\n%s\n</div>' % "\n".join(rows)

    def _print_Notes(self, notes: Any) -> str:
        return '<ul class="notes">\n%s\n</ul>' % "\n".join(f"<li>{self.runs(p)}</li>" for p in notes.paragraphs)


PRINTER = HtmlPrinter
