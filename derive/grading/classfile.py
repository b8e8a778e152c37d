"""A class file (columns id,target,answer): read into rows; a row of the wrong shape keeps its problem."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from ..errors import InputError
from .errors import Unreadable

COLUMNS = ("id", "target", "answer")
MAX_ROWS = 5_000
"""answers graded in one run (each takes milliseconds to tens of them: a run stays within about a minute)"""


@dataclass(frozen=True)
class Row:
    id: str
    target: str
    answer: str
    problem: Unreadable | None = None
    """why the row itself cannot be graded (it is reported as unreadable)"""


def read_rows(source: str, text: str) -> tuple[Row, ...]:
    """The data rows of a class file's ``text`` (``source`` names it in errors); InputError if it is not one."""
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))
    try:
        records = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), strict=True))
    except csv.Error as e:
        raise InputError(f"{source}: not a valid CSV file ({e})") from None
    finally:
        csv.field_size_limit(limit)
    records = [r for r in records if any(field.strip() for field in r)]
    if not records or tuple(f.strip().lower() for f in records[0]) != COLUMNS:
        got = ",".join(records[0]) if records else "nothing"
        raise InputError(f"{source}: the first row must name the columns {','.join(COLUMNS)}; got {got[:80]}")
    if len(records) - 1 > MAX_ROWS:
        raise InputError(f"{source}: {len(records) - 1} answers; at most {MAX_ROWS:,} are graded in one run "
                         f"(split the file)")
    rows = []
    for n, record in enumerate(records[1:], start=2):
        if len(record) == len(COLUMNS):
            rows.append(Row(record[0], record[1], record[2]))
        else:
            rows.append(Row(record[0] if record else f"row {n}", record[1] if len(record) > 1 else "", "",
                            Unreadable("row_fields", count=len(record))))
    return tuple(rows)
