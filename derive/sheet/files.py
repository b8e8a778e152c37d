"""Every file of a sheet folder (SPEC §10), by name, made in memory before anything is written.

``writers()`` is the table of the files written once per sheet: each a file name and the function that turns
the Sheet into its text or bytes (adding a format is one row). The files of each variant (``sheet-K.tex``,
``key-K.tex``, ``variant-K.json``) are made here from the variant and its worked example.

Each variant's key is the worked example of ``derive example``
(derive.document.worked_example.worked_example), built from the
network's one derivation and numeric functions; many variants are worked out in parallel processes where the
system can fork, the files always in variant order, so the same seed gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from derive.engine.derivation import Derivation
from derive.io.cores import usable_cores

from ..errors import InputError
from .model import Sheet, Variant
from .variants import Engine

RATES = (0.5, 0.1, 0.02)
"""learning rates of the key's descent step, the first that lowers the cost"""
PARALLEL_FROM = 16
"""variants from which the keys are worked out in parallel processes"""
MAX_WORKERS = 8
"""processes at most, whatever the machine's cores"""


def writers() -> list[tuple[str, Callable[[Sheet], str | bytes]]]:
    """The files written once per sheet, in order: file name, function(sheet) -> its text or bytes."""
    from .answers import answers_csv
    from .canvas import canvas_zip
    from .gift import quiz_gift
    from .moodle import quiz_xml

    return [("answers.csv", answers_csv), ("quiz.gift", quiz_gift), ("quiz.xml", quiz_xml),
            ("quiz-canvas.zip", canvas_zip)]


def worked(engine: Engine, v: Variant) -> tuple[Derivation, float]:
    """The variant's worked example, with its questions' values as claims checked against the engine, and the
    learning rate of its descent step (which the sheet gives too)."""
    from derive.document.claims import check, section
    from derive.document.worked_example import problem, with_claims, worked_example

    from .gift import rounded

    thetas = v.parameters["Theta"]
    p = problem(thetas, v.X, v.Y)
    for n, rate in enumerate(RATES):
        try:
            d = worked_example(engine.net, p, rate=rate, derivation=engine.derivation, functions=engine.functions)
            break
        except InputError:
            if n == len(RATES) - 1:
                raise
    computed = engine.functions.backward(thetas, v.X, v.Y)
    rows = check(engine.net, computed, {q.name: rounded(q) for q in v.questions}, params=thetas,
                 source=f"variant {v.number}")
    return with_claims(d, section(rows)), rate


def variant_files(sheet: Sheet, engine: Engine, v: Variant, settings: dict[str, Any]) -> dict[str, bytes]:
    """sheet-K.tex, key-K.tex and variant-K.json of one variant."""
    from ..document.sheet import key_document, sheet_document
    from ..render import render

    k = v.number
    data = {"Theta": v.parameters["Theta"], "X": v.X, "Y": v.Y}
    example, rate = worked(engine, v)
    return {f"sheet-{k}.tex": render(sheet_document(sheet, v, rate=rate, **settings), "latex").encode("utf-8"),
            f"key-{k}.tex": render(key_document(sheet, v, example, **settings), "latex").encode("utf-8"),
            f"variant-{k}.json": (json.dumps(data) + "\n").encode("utf-8")}


_shared: tuple[Sheet, Engine, dict[str, Any]] | None = None
"""what a forked worker inherits: the sheet, the engine and the document settings"""


def _one(number: int) -> dict[str, bytes]:
    assert _shared is not None
    sheet, engine, settings = _shared
    return variant_files(sheet, engine, sheet.variants[number - 1], settings)


def _each(sheet: Sheet, engine: Engine, settings: dict[str, Any]) -> Iterator[dict[str, bytes]]:
    """Each variant's files, in order: in forked processes for many variants, here otherwise."""
    global _shared
    numbers = [v.number for v in sheet.variants]
    workers = min(usable_cores(), MAX_WORKERS)
    if len(numbers) < PARALLEL_FROM or workers < 2 or "fork" not in _start_methods():
        yield from (variant_files(sheet, engine, v, settings) for v in sheet.variants)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    engine.derivation, engine.functions  # derived once, here, before the workers fork  # noqa: B018
    _shared = (sheet, engine, settings)
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            yield from pool.map(_one, numbers, chunksize=max(1, len(numbers) // (4 * workers)))
    finally:
        _shared = None


def _start_methods() -> Sequence[str]:
    import multiprocessing

    return multiprocessing.get_all_start_methods()


def sheet_files(sheet: Sheet, *, engine: Engine | None = None, notation: str | None = None,
                title: str | None = None, author: str = "", date: str = "") -> dict[str, bytes]:
    """Every file of the sheet folder by name (the manifest aside)."""
    from derive.io.progress import track

    engine = engine or Engine(sheet.net)
    settings = {"notation": notation, "title": title, "author": author, "date": date}
    files: dict[str, bytes] = {}
    for made in track(_each(sheet, engine, settings), "sheet", total=len(sheet.variants)):
        files.update(made)
    for name, write in writers():
        out = write(sheet)
        files[name] = out.encode("utf-8") if isinstance(out, str) else out
    return files
