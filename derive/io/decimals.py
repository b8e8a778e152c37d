"""Reading a decimal number a user wrote: ASCII digits only, bounded in digits and in exponent.

Python's ``float()`` and ``Decimal()`` accept Unicode digits ("٠.٦٥", fullwidth "０.５"), exponents such as
``1e-999999999`` (whose exact value is a billion-digit rational) and any number of digits (past Python's
int-to-string limit). Every number derive reads from a claim, a ``--at`` value or a parameter file goes
through ``read_decimal`` first, so what reaches SymPy, Decimal arithmetic and the documents is a number a
double can hold, written in the digits a document can print.
"""

from __future__ import annotations

import re
from decimal import Context, Decimal, InvalidOperation, localcontext

from derive.errors import InputError

SYNTAX = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,6})?", re.ASCII)
"""a decimal in ASCII digits: 2, -0.5, .5, 1e-3 (no spaces, no underscores, no Unicode digits)"""
MAX_DIGITS = 400
"""significant digits of one number (a double needs 17; 400 reach the last digit of its smallest value)"""
MAX_CHARS = MAX_DIGITS + 20
MIN_EXPONENT = -324
MAX_EXPONENT = 308
"""the decimal exponent of a nonzero number lies in a double's range: about 5e-324 … 1.8e308"""

LIMITS = (f"an ASCII decimal such as 2, -0.5 or 1e-3, at most {MAX_DIGITS} digits, zero or between "
          f"1e{MIN_EXPONENT} and 1e{MAX_EXPONENT} in size")
"""what ``read_decimal`` allows, for error messages and the README"""


class NumberError(InputError):
    """A number derive does not read; ``reason`` says why in a few words (not a number, out of range, …)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def read_decimal(text: str, what: str) -> Decimal:
    """The exact decimal ``text`` spells, or an InputError naming ``what`` and what is allowed."""
    shown = text if len(text) <= 40 else text[:37] + "..."
    if len(text) > MAX_CHARS or not SYNTAX.fullmatch(text):
        raise NumberError(f"{what}: {shown!r} is not a decimal number (or not a number in ASCII digits); "
                          f"expected {LIMITS}", "not a number")
    mantissa = text.lower().partition("e")[0].lstrip("+-").replace(".", "").lstrip("0")
    if len(mantissa) > MAX_DIGITS:
        raise NumberError(f"{what}: {shown!r} has more than {MAX_DIGITS} digits; expected {LIMITS}",
                          f"more than {MAX_DIGITS} digits")
    try:
        with localcontext(Context(prec=MAX_DIGITS + 10)):
            value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only what Decimal reads
        raise NumberError(f"{what}: {shown!r} is not a number; expected {LIMITS}", "not a number") from None
    if value and (not MIN_EXPONENT <= value.adjusted() <= MAX_EXPONENT or abs(float(value)) == float("inf")):
        raise NumberError(f"{what}: {shown!r} is out of range; expected {LIMITS}", "out of range")
    return value
