"""A sheet's key in one file (``answers.csv``): columns ``variant,question,value``; a numerical question's value
rounded to the digits asked (a claim that ``derive check`` holds), a formula question's value the expected
formula in the §8 answer language, once per variant."""

from __future__ import annotations

import csv
import io

from .gift import rounded
from .model import Sheet

COLUMNS = ("variant", "question", "value")


def answers_csv(sheet: Sheet) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for v in sheet.variants:
        writer.writerows((v.number, q.name, rounded(q)) for q in v.questions)
        writer.writerows((v.number, f.target, f.expected) for f in sheet.formulas)
    return buffer.getvalue()
