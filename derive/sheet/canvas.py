"""The sheet's numerical questions as a QTI package for Canvas (SPEC §10), written by text2qti.

text2qti reads a quiz as Markdown-like text (``1.  question`` then ``=   value +- margin``) and writes the QTI
zip; derive writes only that text. Three things are made to fit:
- the prompts are plain text: every character Markdown (or text2qti's ``$…$`` LaTeX) would read is escaped;
- text2qti writes the accepted range with 4 decimals and refuses a bound within 0.0001 of zero: a question asking
  more than 4 decimals is refused (NotSupportedError), and a bound within 0.0001 of zero is moved out to ±0.0001
  (the range is then at most 0.0002 wider; Canvas accepts every number the question's tolerance accepts);
- text2qti's identifiers are hashes of the text (the same text gives the same ids), but its zip entries carry the
  time of writing: the package is written again with every entry dated 1980-01-01, so that the same sheet gives
  the same bytes.
"""

from __future__ import annotations

import io
import re
import zipfile

from derive.catalogue import catalogue

from ..errors import NotSupportedError
from .model import Numerical, Sheet

MAX_DECIMALS = 4
"""text2qti writes the bounds of an accepted range with 4 decimals"""

SMALLEST = 1e-4
"""text2qti refuses a bound nearer to zero than this"""

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
"""the date of every entry of the package (the earliest a zip can hold)"""

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!$|~])")
"""characters Markdown or text2qti may read as markup: escaped with a backslash"""


def escape(text: str) -> str:
    """Plain text as text2qti Markdown that shows exactly that text."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(_MARKDOWN.sub(r"\\\1", text).split())


def answer(question: Numerical) -> str:
    """The ``=`` line's value: ``value +- tolerance``, or ``[low, high]`` when a bound nears zero."""
    if question.decimals > MAX_DECIMALS:
        raise NotSupportedError(f"{question.name} asks {question.decimals} decimals; the Canvas quiz (text2qti) "
                                f"carries at most {MAX_DECIMALS}: ask fewer digits")
    low, high = question.value - question.tolerance, question.value + question.tolerance
    if abs(low) >= SMALLEST and abs(high) >= SMALLEST:
        return f"{question.value!r} +- {question.tolerance!r}"
    if abs(low) < SMALLEST:
        low = -SMALLEST
    if abs(high) < SMALLEST:
        high = SMALLEST
    return f"[{low!r}, {high!r}]"


def quiz_text(sheet: Sheet) -> str:
    """The text2qti quiz: every variant's numerical questions, each titled with its variant and claim name."""
    words = catalogue(sheet.language)
    lines = [f"Quiz title: derive sheet {sheet.seed}", ""]
    number = 0
    for variant in sheet.variants:
        label = words.word("quiz", "variant", number=variant.number)
        for question in variant.questions:
            number += 1
            # the variant is named in the text too: text2qti refuses two questions with the same text
            lines += [f"Title: {label}: {question.name}", "Points: 1",
                      f"{number}.  {escape(f'{label}: {question.prompt}')}", f"=   {answer(question)}", ""]
    return "\n".join(lines)


def canvas_zip(sheet: Sheet) -> bytes:
    """The QTI package (zip) of the sheet's numerical questions, byte-identical for the same sheet."""
    from text2qti.config import Config
    from text2qti.qti import QTI
    from text2qti.quiz import Quiz

    package = QTI(Quiz(quiz_text(sheet), config=Config(), source_name="derive sheet")).zip_bytes()
    return _dated(package)


def _dated(package: bytes) -> bytes:
    """``package`` with its entries in the same order and contents, each dated ZIP_DATE."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o40755 << 16 | 0x10 if info.is_dir() else 0o644 << 16
            target.writestr(entry, source.read(info.filename))
    return out.getvalue()
