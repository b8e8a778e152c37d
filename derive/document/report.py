"""A graded class as a Document: one table row per answer (id, target and answer as the user wrote them, the
verdict in the catalogue's words, the mistake, the expected result as mathematics)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from derive.catalogue import catalogue

from . import Code, Document, Math, Meta, Paragraph, Section, Table, Text
from .words import paragraph

if TYPE_CHECKING:
    from derive.model.network import Network

    from ..grading.report import Graded

_SCRIPT_BODY = re.compile(r"\^[({]([^)}]*)[)}]?")
_PLAIN_SCRIPT = re.compile(r"[\w+\-−=,.′' ]*")


@dataclass(frozen=True)
class Report:
    """What a class report shows: the network, the graded rows, and whether the expected results are shown."""

    network: Network
    graded: tuple[Graded, ...]
    reveal: bool = True


def line(text: str) -> str:
    """User text on one printable line (a blank line would end a LaTeX argument or a Markdown table row, and a
    terminal escape must not reach a terminal)."""
    from ..grading.errors import shown

    return shown(" ".join(text.split()))


def words(text: str) -> Paragraph:
    """A verdict's text: the catalogue's mathematics (δ^(L), Θ^(l)ᵀ) where every script is plain; text that
    quotes something else in a script (a user's target in an error) is set as the user's text."""
    text = line(text)
    if all(_PLAIN_SCRIPT.fullmatch(m.group(1)) for m in _SCRIPT_BODY.finditer(text)):
        return paragraph(text)
    return Paragraph((Code(text),))


def build(report: Report, *, language: str | None = None, notation: str | None = None, title: str | None = None,
          author: str = "", date: str = "", sections: Sequence[str] | None = None) -> Document:
    """The report in the network's language (the verdicts' words were chosen when grading)."""
    net = report.network
    w = catalogue(net.language)
    intro = w.word("grading", "report_intro", layers=", ".join(map(str, net.layers)), output=net.output,
                   loss=net.loss)
    columns = ("id", "target", "answer", "verdict", "mistake") + (("expected",) if report.reveal else ())
    header = tuple(paragraph(w.word("grading", f"column_{c}")) for c in columns)
    rows = []
    for g in report.graded:
        v = g.verdict
        cells = [Paragraph((Code(line(g.row.id)),)), Paragraph((Code(line(v.target)),)),
                 Paragraph((Code(line(g.row.answer)),) if g.row.answer else ()),
                 Paragraph((Code(v.verdict), Text(" "), *words(v.text).runs)),
                 Paragraph((Code(v.mistake),) if v.mistake else ())]
        if report.reveal:
            cells.append(Paragraph((Math(v.expected),) if v.expected else ()))
        rows.append(tuple(cells))
    meta = Meta(title if title is not None else w.word("grading", "report_title"), net.language, author, date)
    section = Section("answers", Paragraph(()), (Table(header, tuple(rows)),))
    return Document(meta, paragraph(intro), (section,))
