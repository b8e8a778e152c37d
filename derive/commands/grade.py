"""derive grade NET.toml --target NAME --answer "EXPR" | --answers FILE.csv [--format text|json|csv] [--reveal]

One answer: exit 0 correct, 1 wrong, 2 unreadable (one line on stderr). A class file (columns
id,target,answer): every row is graded and reported in input order; an unreadable row says so and
never stops the rest; the exit code is 0 unless the file itself cannot be read (2).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

COLUMNS = ("id", "target", "answer")
FORMATS = ("text", "json", "csv")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("network", metavar="NET.toml", help="the network description (SPEC §2)")
    p.add_argument("--target", metavar="NAME",
                   help="delta[l][i], dTheta[l][i][j], D[l][i][j], output_delta or hidden_derivative")
    p.add_argument("--answer", metavar="EXPR", help='the formula to grade, e.g. "(a[3][1]-y[1])*a[3][1]*(1-a[3][1])"')
    p.add_argument("--answers", metavar="FILE.csv", help="grade a class: a CSV file with columns id,target,answer")
    p.add_argument("--format", "-f", choices=FORMATS, help="text or json (one answer; default text), "
                   "json or csv (a class file; default csv)")
    p.add_argument("--reveal", action="store_true", help="include the expected result (LaTeX)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")


def run(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..network import Network

    if (args.answers is None) == (args.answer is None):
        raise InputError("give either --target NAME --answer EXPR, or --answers FILE.csv")
    if args.answer is not None and args.target is None:
        raise InputError("--answer needs --target NAME (delta[l][i], dTheta[l][i][j], D[l][i][j], output_delta, "
                         "hidden_derivative)")
    if args.answers is not None and args.target is not None:
        raise InputError("--target belongs to --answer; a class file names the target in its column 'target'")
    net = Network.from_toml(args.network)
    if args.answers is not None:
        return _class(net, args)
    return _one(net, args)


def _one(net: Any, args: argparse.Namespace) -> int:
    from ..grading import grade
    from ..output import emit

    verdict = grade(net, args.target, args.answer)
    fmt = args.format or "text"
    if fmt == "json":
        text = json.dumps(verdict.as_dict(reveal=args.reveal), ensure_ascii=False) + "\n"
    elif fmt == "csv":
        text = _csv([("", verdict)], reveal=args.reveal)
    else:
        text = verdict.text + (f"\nexpected: {verdict.expected}" if args.reveal and verdict.expected else "") + "\n"
    if verdict.verdict == "unreadable":
        print(f"derive: error: {verdict.target}: {verdict.text}", file=sys.stderr)
        if fmt == "text":
            return verdict.exit_code
    emit(text, args.output, inputs=[args.network])
    return verdict.exit_code


def _class(net: Any, args: argparse.Namespace) -> int:
    from ..grading import Verdict, grader
    from ..network import read_text
    from ..output import emit

    rows = read_rows(args.answers, read_text(args.answers))
    g = grader(net)
    graded = []
    for row_id, target, answer, problem in _progress(rows, len(rows)):
        if problem is not None:
            graded.append((row_id, Verdict(target, "unreadable", None, problem.message(net.language), "")))
        else:
            graded.append((row_id, g.grade(target, answer)))
    fmt = args.format or "csv"
    if fmt == "json":
        doc = [{"id": row_id, **v.as_dict(reveal=args.reveal)} for row_id, v in graded]
        text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    elif fmt == "csv":
        text = _csv(graded, reveal=args.reveal)
    else:
        text = "".join(f"{row_id}\t{v.target}\t{v.verdict}\t{v.mistake or ''}\t{v.text}\n" for row_id, v in graded)
    emit(text, args.output, inputs=[args.network, args.answers])
    return 0


Row = tuple[str, str, str, Any]


def read_rows(path: str, text: str) -> list[Row]:
    """(id, target, answer, problem) per data row; a row of the wrong shape carries its problem instead."""
    from ..errors import InputError
    from ..grading.errors import Unreadable

    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))
    try:
        records = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), strict=True))
    except csv.Error as e:
        raise InputError(f"{path}: not a valid CSV file ({e})") from None
    finally:
        csv.field_size_limit(limit)
    records = [r for r in records if any(field.strip() for field in r)]
    if not records or tuple(f.strip().lower() for f in records[0]) != COLUMNS:
        got = ",".join(records[0]) if records else "nothing"
        raise InputError(f"{path}: the first row must name the columns {','.join(COLUMNS)}; got {got[:80]}")
    rows: list[Row] = []
    for n, record in enumerate(records[1:], start=2):
        if len(record) != len(COLUMNS):
            row_id = record[0] if record else f"row {n}"
            rows.append((row_id, record[1] if len(record) > 1 else "", "", Unreadable("row_fields",
                                                                                     count=len(record))))
            continue
        rows.append((record[0], record[1], record[2], None))
    return rows


def _csv(graded: Iterable[tuple[str, Any]], *, reveal: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["id", "target", "verdict", "mistake", "text"] + (["expected"] if reveal else [])
    writer.writerow(header)
    for row_id, v in graded:
        writer.writerow([row_id, v.target, v.verdict, v.mistake or "", v.text] + ([v.expected] if reveal else []))
    return out.getvalue()


def _progress(items: list[Row], total: int, stream: TextIO | None = None) -> Iterator[Row]:
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
