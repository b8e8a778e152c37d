"""derive grade NET.toml --target NAME --answer "EXPR" | --answers FILE.csv [--format F] [--reveal]
[--language L] [--notation N] [--title T] [--author A] [--date D]

One answer: exit 0 correct, 1 wrong, 2 unreadable (one line on stderr). A class file (columns
id,target,answer): every row is graded and reported in input order; an unreadable row says so and
never stops the rest; the exit code is 0 unless the file itself cannot be read (2). The verdicts are
worded in the language and notation given (the network file's by default); the report as a document
(markdown, html, latex) takes a title, an author and a date.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from typing import Any, TextIO, TypeVar

from . import add_document_options, document_settings

LISTS = ("text", "json", "csv")
DOCUMENTS = ("markdown", "html", "latex")
FORMATS = LISTS + DOCUMENTS
T = TypeVar("T")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("network", metavar="NET.toml", help="the network description (SPEC §2)")
    p.add_argument("--target", metavar="NAME",
                   help="delta[l][i], dTheta[l][i][j], D[l][i][j], output_delta or hidden_derivative")
    p.add_argument("--answer", metavar="EXPR", help='the formula to grade, e.g. "(a[3][1]-y[1])*a[3][1]*(1-a[3][1])" '
                   '(one that starts with a minus sign: --answer="-…")')
    p.add_argument("--answers", metavar="FILE.csv", help="grade a class: a CSV file with columns id,target,answer")
    p.add_argument("--format", "-f", choices=FORMATS, help="text or json (one answer; default text), "
                   "json or csv (a class file; default csv); markdown, html or latex: the report as a document")
    p.add_argument("--reveal", action="store_true", help="include the expected result (LaTeX)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    add_document_options(p)


def run(args: argparse.Namespace) -> int:
    from derive.errors import InputError
    from derive.model.network import Network

    if (args.answers is None) == (args.answer is None):
        raise InputError("give either --target NAME --answer EXPR, or --answers FILE.csv")
    if args.answer is not None and args.target is None:
        raise InputError("--answer needs --target NAME (delta[l][i], dTheta[l][i][j], D[l][i][j], output_delta, "
                         "hidden_derivative)")
    if args.answers is not None and args.target is not None:
        raise InputError("--target belongs to --answer; a class file names the target in its column 'target'")
    from derive.document.derivation import presentation

    net = presentation(Network.from_toml(args.network), language=args.language, notation=args.notation)
    if args.answers is not None:
        return _class(net, args)
    return _one(net, args)


def _one(net: Any, args: argparse.Namespace) -> int:
    from derive.grading import grade
    from derive.io.output import emit

    verdict = grade(net, args.target, args.answer)
    fmt = args.format or "text"
    if fmt == "json":
        text = json.dumps(verdict.as_dict(reveal=args.reveal), ensure_ascii=False) + "\n"
    elif fmt == "csv" or fmt in DOCUMENTS:  # a class of one
        from derive.grading.classfile import Row
        from derive.grading.report import FORMATS as REPORTS
        from derive.grading.report import Graded

        text = REPORTS[fmt](net, (Graded(Row("", args.target, args.answer), verdict),), reveal=args.reveal,
                            **_settings(fmt, args))
    else:
        text = verdict.text + (f"\nexpected: {verdict.expected}" if args.reveal and verdict.expected else "") + "\n"
    if verdict.verdict == "unreadable":  # exit 2: one line, nothing written (no report either)
        from derive.cli import say

        say(f"derive: error: {verdict.target}: {verdict.text}")
        return verdict.exit_code
    emit(text, args.output, inputs=[args.network])
    return verdict.exit_code


def _class(net: Any, args: argparse.Namespace) -> int:
    from derive.grading.classfile import read_rows
    from derive.grading.report import FORMATS as REPORTS
    from derive.grading.report import grade_rows
    from derive.io.output import emit
    from derive.model.network import read_text

    rows = read_rows(args.answers, read_text(args.answers))
    graded = grade_rows(net, _progress(rows, len(rows)))
    fmt = args.format or "csv"
    text = REPORTS[fmt](net, graded, reveal=args.reveal, **_settings(fmt, args))
    emit(text, args.output, inputs=[args.network, args.answers])
    return 0


def _settings(fmt: str, args: argparse.Namespace) -> dict[str, Any]:
    """The title, author and date of a report printed as a document (the words were chosen when grading)."""
    given = document_settings(args)
    return {k: v for k, v in given.items() if k in ("title", "author", "date")} if fmt in DOCUMENTS else {}


def _progress(items: Sequence[T], total: int, stream: TextIO | None = None) -> Iterator[T]:
    """The items, with a one-line progress bar on stderr when stderr is a terminal."""
    stream = stream or sys.stderr
    show = stream.isatty() and total > 1
    for n, item in enumerate(items, start=1):
        yield item
        if show and (n == total or n % 10 == 0):
            filled = 30 * n // total
            stream.write(f"\rgrading [{'#' * filled}{'.' * (30 - filled)}] {n}/{total}")
            if n == total:
                stream.write("\n")
            stream.flush()
