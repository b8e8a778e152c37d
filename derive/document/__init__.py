"""The document every product builds: headings, equation groups with rule labels, notes whose mathematics is
math, tables, figures and verdicts. Printers (derive.render) read it; nothing here writes LaTeX or HTML
markup, and nothing here imports a printer.

Mathematics is carried as LaTeX of one expression (``Math``); every format converts that (MathML, $…$).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Meta:
    """What the title block shows, and the language of the words."""

    title: str
    language: str = "en"
    author: str = ""
    date: str = ""
    subtitle: str = ""
    short: str = ""
    """the title where space is short (a slide's title page); the title when empty"""


@dataclass(frozen=True)
class Text:
    """Words, set upright."""

    text: str


@dataclass(frozen=True)
class Math:
    """Inline mathematics, as LaTeX of one formula."""

    tex: str





@dataclass(frozen=True)
class Verdict:
    """A judged claim's mark: ✓ (holds) or ✗ (does not); a check mark or a cross mark in every format."""

    holds: bool


@dataclass(frozen=True)
class Code:
    """Text a user wrote (an id, a target, an answer): set verbatim, every character escaped on its own, so that
    nothing in it is ever read as markup or mathematics."""

    text: str


@dataclass(frozen=True)
class Link:
    """Words that lead to another file of the same set (a relative address)."""

    text: str
    href: str


Run = Text | Math | Verdict | Code | Link


@dataclass(frozen=True)
class Paragraph:
    """A sentence or more: words and inline mathematics, in order."""

    runs: tuple[Run, ...]
    language: str = ""
    """the language of its words where it differs from the document's (a Chinese entry on an English page)"""


@dataclass(frozen=True)
class Line:
    """``relation rhs`` of one step, with its rule in words and what the JSON form carries."""

    step: str
    relation: str
    """'=' or ':=' (an update in place)"""
    rhs: str
    term_source: tuple[str, ...] | Callable[[], tuple[str, ...]] = field(compare=False)
    """the rhs split at its top-level + and − (a wide sum breaks there), or how to split it (made when a printer
    asks: only a wide line is broken)"""
    rule: str
    words: Paragraph
    note: Paragraph | None = None
    text: str = ""
    """the rule and note as one plain sentence (the JSON form's text)"""
    source: str | Callable[[], str] = field(default="", compare=False)
    """SymPy's string of the right-hand side, or how to make it: only the JSON form prints it, so a document
    printed in another format (a sheet's hundreds of keys) never spends the time"""

    @property
    def terms(self) -> tuple[str, ...]:
        """the rhs split at its top-level + and −"""
        return self.term_source() if callable(self.term_source) else self.term_source

    @property
    def sympy(self) -> str:
        """SymPy's string of the right-hand side"""
        return self.source() if callable(self.source) else self.source


@dataclass(frozen=True)
class Equation:
    """lhs = rhs₁ = rhs₂ = …, optionally tagged (BP1) or (3)."""

    lhs: str
    lines: tuple[Line, ...]
    tag: str | None = None

    @property
    def id(self) -> str:
        return self.lines[0].step


@dataclass(frozen=True)
class EquationGroup:
    equations: tuple[Equation, ...]


@dataclass(frozen=True)
class Notes:
    """The explanations of a section, each once, in order."""

    paragraphs: tuple[Paragraph, ...]


@dataclass(frozen=True)
class Table:
    header: tuple[Paragraph, ...]
    rows: tuple[tuple[Paragraph, ...], ...]


@dataclass(frozen=True)
class Figure:
    """A drawing each format makes in its own way: ``kind`` names it (``network``, ``graph``), ``subject`` is
    the object drawn (a Network, a Graph)."""

    kind: str
    subject: Any
    caption: Paragraph | None = None


Block = EquationGroup | Notes | Table | Figure | Paragraph


@dataclass(frozen=True)
class Section:
    id: str
    heading: Paragraph
    blocks: tuple[Block, ...]
    repeats: bool = False
    """a summary: its lines repeat lines shown before (the JSON form leaves it out)"""
    short: Paragraph | None = None
    """a shorter heading, for the frames of a slide deck: Layer 1 (attention): its backward rule (the layer's
    shapes, which the full heading names, are on its first frame)"""

    @property
    def equations(self) -> tuple[Equation, ...]:
        return tuple(eq for b in self.blocks if isinstance(b, EquationGroup) for eq in b.equations)

    @property
    def notes(self) -> tuple[Paragraph, ...]:
        return tuple(p for b in self.blocks if isinstance(b, Notes) for p in b.paragraphs)


@dataclass(frozen=True)
class Document:
    meta: Meta
    intro: Paragraph
    """one line under the title (the network in words)"""
    sections: tuple[Section, ...]
    figure: Figure | None = None
    """drawn under the title"""
    data: dict[str, Any] = field(default_factory=dict)
    """what the JSON form carries besides the steps (the network's spec, the results)"""

    @property
    def equations(self) -> tuple[Equation, ...]:
        return tuple(eq for s in self.sections for eq in s.equations)

    @property
    def language(self) -> str:
        return self.meta.language
