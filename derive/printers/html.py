"""A derivation as a standalone HTML page: UTF-8, MathML inline (from printers.mathml), CSS inline, no
scripts and nothing fetched from the network. The page is a Jinja2 template in derive/templates/."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from ..diagram import network_svg
from ..steps import Derivation
from .layout import document, with_summary
from .mathml import StepMath, equation, text

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
"""derive/templates: the pages' Jinja2 templates and their CSS (package data)"""


@cache
def environment() -> jinja2.Environment:
    """The templates of derive/templates, HTML-escaped by default."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    env.filters["words"] = lambda words: markupsafe.Markup(text(words))
    return env


@cache
def style() -> str:
    """The page's CSS, inlined so that a page needs no other file."""
    return (TEMPLATES / "style.css").read_text(encoding="utf-8")


@dataclass(frozen=True)
class _Part:
    id: str
    heading: str
    maths: tuple[tuple[StepMath, ...], ...]
    notes: tuple[str, ...]


def render(d: Derivation, **options: Any) -> str:
    """The derivation as a standalone HTML page."""
    doc = document(d)
    parts = [_Part(p.id, p.heading, tuple(tuple(equation(eq)) for eq in p.equations), p.notes)
             for p in with_summary(doc)]
    diagram = markupsafe.Markup(network_svg(d.network))  # built and escaped by derive.diagram
    return environment().get_template("derivation.html.j2").render(doc=doc, parts=parts, style=style(),
                                                                   diagram=diagram)
