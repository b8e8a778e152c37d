"""A sheet's numerical questions in Moodle's GIFT format (``quiz.gift``): one category per variant, one numerical
question per value asked, the answer the value rounded to the digits asked with a tolerance of half a unit in the
last digit, so that every number that rounds to the same digits is accepted.

GIFT gives ``~ = # { } :`` a meaning; in a question's title and text each is escaped with a backslash (and the
backslash itself), so that a prompt is never read as an answer.
"""

from __future__ import annotations

from decimal import Decimal

from derive.catalogue import catalogue

from .model import Numerical, Sheet

SPECIAL = "\\~=#{}:"
"""GIFT's special characters; each is written with a backslash before it"""


def escape(text: str) -> str:
    """Text as GIFT text: every special character escaped, one line."""
    return "".join("\\" + c if c in SPECIAL else c for c in " ".join(text.split()))


def rounded(q: Numerical) -> str:
    """The value as the key states it: rounded to the digits asked (never −0.0000)."""
    text = f"{q.value:.{q.decimals}f}"
    return text[1:] if Decimal(text) == 0 and text.startswith("-") else text


def tolerance(q: Numerical) -> str:
    """Half a unit in the last digit asked, written out (0.00005), never in exponent form."""
    return f"{Decimal(5).scaleb(-q.decimals - 1):f}"


def quiz_gift(sheet: Sheet) -> str:
    """The GIFT file of ``sheet``: ``$CATEGORY`` per variant, then ``::title::text{#value:tolerance}`` per question."""
    words = catalogue(sheet.language)
    out = [f"// derive sheet --variants {len(sheet.variants)} --seed {sheet.seed}", ""]
    for v in sheet.variants:
        out += [f"$CATEGORY: $course$/derive-sheet-{sheet.seed}/variant-{v.number}", ""]
        for q in v.questions:
            title = words.word("sheet", "numerical_title", number=v.number, name=q.name)
            out += [f"::{escape(title)}::{escape(q.prompt)}{{#{rounded(q)}:{tolerance(q)}}}", ""]
    return "\n".join(out)
