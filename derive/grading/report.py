"""A class graded, and its report as a document: JSON (SPEC §8's list), CSV, Markdown, HTML and LaTeX."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from derive.model.network import Network

from .classfile import Row
from .errors import shown
from .exact import BUDGET
from .grader import CLASS_SECONDS, Verdict, grader_of, read_answer


@dataclass(frozen=True)
class Graded:
    """One row of a class file and its verdict."""

    row: Row
    verdict: Verdict


def grade_rows(net: Network, rows: Iterable[Row], *, seconds: float = CLASS_SECONDS) -> tuple[Graded, ...]:
    """Every row graded in order; a row that cannot be read is reported as such and never stops the rest.

    The exact comparisons share ``seconds`` (each at most exact.BUDGET): the work is bounded whatever the file.
    """
    out = []
    spent = 0.0
    for row in rows:
        if row.problem is not None:
            v = Verdict(row.target, "unreadable", None, row.problem.message(net.language), "")
        else:
            read = read_answer(net, row.target, row.answer)
            if isinstance(read, Verdict):
                v = read
            else:
                grader = grader_of(net)  # derived once, before the clock starts
                start = time.monotonic()
                v = grader.compare(*read, budget=max(0.0, min(BUDGET, seconds - spent)))
                spent += time.monotonic() - start
        out.append(Graded(row, v))
    return tuple(out)


def as_json(net: Network, graded: Iterable[Graded], *, reveal: bool = False) -> str:
    """SPEC §8's list: each verdict's object with the row's id first."""
    doc = [{"id": g.row.id, **g.verdict.as_dict(reveal=reveal)} for g in graded]
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""a cell starting with one of these is a formula to a spreadsheet (=HYPERLINK(…), =cmd|…, +SUM(1), @SUM(1))"""


def _cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: printable, and a leading formula character quoted with '."""
    return ("'" if text.startswith(FORMULA_START) else "") + shown(text)


def as_csv(net: Network, graded: Iterable[Graded], *, reveal: bool = False) -> str:
    """id, target, answer, verdict, mistake, text (and expected): every cell safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "target", "answer", "verdict", "mistake", "text"] + (["expected"] if reveal else []))
    for g in graded:
        v = g.verdict
        cells = [g.row.id, v.target, g.row.answer, v.verdict, v.mistake or "", v.text]
        cells += [v.expected] if reveal else []
        writer.writerow([_cell(c) for c in cells])
    return out.getvalue()


def as_text(net: Network, graded: Iterable[Graded], *, reveal: bool = False) -> str:
    """One line per answer, tab-separated, every field printable."""
    return "".join("\t".join(shown(f) for f in (g.row.id, g.verdict.target, g.verdict.verdict, g.verdict.mistake or "",
                                                  g.verdict.text, *([g.verdict.expected] if reveal else []))) + "\n"
                   for g in graded)


def as_document(fmt: str) -> Callable[..., str]:
    """The report in one of the document formats: its Document (derive.document.report) printed in ``fmt``."""
    def write(net: Network, graded: Iterable[Graded], *, reveal: bool = True, **settings: str) -> str:
        from ..document.report import Report
        from ..render import render

        return render(Report(net, tuple(graded), reveal), fmt, **settings)
    return write


DOCUMENTS = ("markdown", "html", "latex")
"""the report's document formats (printed by derive.render); json, csv and text are lists of verdicts"""

FORMATS: Mapping[str, Callable[..., str]] = {"json": as_json, "csv": as_csv, "text": as_text,
                                              **{fmt: as_document(fmt) for fmt in DOCUMENTS}}
"""format name -> renderer(net, graded, reveal=…)"""
