"""A class graded, and its report as a document: JSON (SPEC §8's list), CSV, Markdown, HTML and LaTeX."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ..network import Network
from ..text import catalogue
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


def as_markdown(net: Network, graded: Iterable[Graded], *, reveal: bool = True) -> str:
    """A table: the answer as code, the verdict and mistake, the expected result as $…$ math."""
    title, intro, head = _words(net)
    lines = [f"# {title}", "", intro, "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for g in graded:
        v = g.verdict
        expected = f"${v.expected}$".replace("|", "\\|") if v.expected else ""
        cells = [_md(g.row.id), _md_code(v.target), _md_code(g.row.answer) if g.row.answer else "",
                 f"**{v.verdict}** {_md(v.text)}", f"`{v.mistake}`" if v.mistake else "", expected]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _line(text: str) -> str:
    """User text on one printable line (a blank line would end a LaTeX argument or a Markdown table, and a
    terminal escape must not reach a terminal)."""
    return shown(" ".join(text.split()))


def _md(text: str) -> str:
    """User text in a Markdown table cell: one line, no raw HTML, no table break, no link."""
    return html.escape(_line(text), quote=False).replace("|", "\\|").replace("](", "]\\(")


def _md_code(text: str) -> str:
    """User text as a code span in a table cell (a code span shows HTML as text)."""
    return "`" + _line(text).replace("`", "'").replace("|", "\\|") + "`"


def as_html(net: Network, graded: Iterable[Graded], *, reveal: bool = True) -> str:
    """A standalone page with the table; the expected results in MathML."""
    from ..render.html import style
    from ..render.mathml import fragment

    title, intro, head = _words(net)
    rows = []
    for g in graded:
        v = g.verdict
        cells = [html.escape(_line(g.row.id)), f"<code>{html.escape(_line(v.target))}</code>",
                 f"<code>{html.escape(_line(g.row.answer))}</code>",
                 f"<strong>{v.verdict}</strong> {html.escape(v.text)}",
                 f"<code>{v.mistake}</code>" if v.mistake else "",
                 fragment(v.expected, display="inline") if v.expected else ""]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    header = "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"
    return ("<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>%s</title>\n"
            "<style>\n%s</style>\n</head>\n<body>\n<h1>%s</h1>\n<p class=\"network\">%s</p>\n"
            "<table class=\"lecture\">\n%s\n%s\n</table>\n</body>\n</html>\n"
            % (net.language, html.escape(title), style(), html.escape(title), html.escape(intro), header,
               "\n".join(rows)))


def as_latex(net: Network, graded: Iterable[Graded], *, reveal: bool = True) -> str:
    """A standalone document (pdflatex, or xelatex for Chinese): one paragraph per answer."""
    from ..render.latex import COMMON, ENGINES, PREAMBLES, text

    title, intro, head = _words(net)
    engine = ENGINES[net.language]
    items = []
    for g in graded:
        v = g.verdict
        answer = "\\texttt{%s}" % _tex_user(g.row.answer, engine) if g.row.answer else ""
        mistake = " (\\texttt{%s})" % text(v.mistake) if v.mistake else ""
        expected = "\\\\\n%s: $%s$" % (text(head[5]), v.expected) if v.expected else ""
        items.append("\\item[%s] \\texttt{%s}: %s\\\\\n\\textbf{%s}%s %s%s"
                     % (_tex_user(g.row.id, engine), _tex_user(v.target, engine), answer, v.verdict, mistake,
                        _tex_words(v.text, engine), expected))
    return (PREAMBLES[ENGINES[net.language]] + COMMON + "\\begin{document}\n\\section*{%s}\n%s\n\n"
            "\\begin{description}\n%s\n\\end{description}\n\\end{document}\n"
            % (text(title), text(intro), "\n".join(items)))


_SCRIPT_BODY = re.compile(r"\^[({]([^)}]*)[)}]?")
_PLAIN_SCRIPT = re.compile(r"[\w+\-−=,.′' ]*")


SETTABLE = "…–—‘’“”"
"""characters beyond Latin-1 that pdflatex's fonts set (besides the math symbols of document.words)"""


def _settable(words: str, engine: str) -> str:
    """``words`` with every character the engine's fonts lack written as U+XXXX (pdflatex; xelatex sets all)."""
    from ..document.words import MATH_CHARS

    if engine != "pdflatex":
        return words
    return "".join(c if ord(c) <= 0xFF or c in MATH_CHARS or c in SETTABLE else "U+%04X" % ord(c) for c in words)


def _tex_user(words: str, engine: str) -> str:
    """Text a user wrote (an id, a target, an answer) as LaTeX: one line, every character escaped on its own
    (so that no ^(…) or ^{…} is ever set in math mode), characters the fonts lack as U+XXXX."""
    from ..render.latex import text

    return "".join(text(c) for c in _settable(_line(words), engine))


def _tex_words(words: str, engine: str) -> str:
    """A verdict's text: the catalogue's math (δ^(L), Θ^(l)ᵀ) where every script is plain; text that quotes
    something else in a script (a user's target in an error) is set as user text."""
    from ..render.latex import text

    if all(_PLAIN_SCRIPT.fullmatch(m.group(1)) for m in _SCRIPT_BODY.finditer(words)):
        return text(_settable(_line(words), engine))
    return _tex_user(words, engine)


def _words(net: Network) -> tuple[str, str, list[str]]:
    words = catalogue(net.language)
    intro = words.word("grading", "report_intro", layers=", ".join(map(str, net.layers)), output=net.output,
                       loss=net.loss)
    head = [words.word("grading", f"column_{c}") for c in ("id", "target", "answer", "verdict", "mistake",
                                                           "expected")]
    return words.word("grading", "report_title"), intro, head


FORMATS: Mapping[str, Callable[..., str]] = {"json": as_json, "csv": as_csv, "text": as_text,
                                              "markdown": as_markdown, "html": as_html, "latex": as_latex}
"""format name -> renderer(net, graded, reveal=…)"""
