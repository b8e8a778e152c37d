"""One printer per format over one Document: the formats are this table; ``render`` connects a product
(a Derivation, a Graph, a grading report — anything with a document builder) to a printer."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..errors import InputError

if TYPE_CHECKING:
    from ..document import Document
    from .printer import Printer

FORMATS: dict[str, str] = {
    "latex": "derive.render.latex",
    "beamer": "derive.render.beamer",
    "mathml": "derive.render.mathml",
    "html": "derive.render.html",
    "markdown": "derive.render.markdown",
    "json": "derive.render.json",
}
"""format name → the module whose PRINTER prints it"""

BUILDERS: dict[str, str] = {
    "Derivation": "derive.document.derivation",
    "Graph": "derive.document.graph",
    "Report": "derive.document.report",
}
"""a product's type name → the module whose ``build`` makes its Document"""


def printer_class(fmt: str) -> type[Printer]:
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; allowed: {' | '.join(FORMATS)}")
    return importlib.import_module(FORMATS[fmt]).PRINTER  # type: ignore[no-any-return]


def takes(fmt: str, setting: str) -> bool:
    """Whether the printer of ``fmt`` declares ``setting`` (e.g. ``body``, ``handout``)."""
    return setting in printer_class(fmt)._default_settings


def document(product: Any, **presentation: Any) -> Document:
    """The product's Document in the given language, notation, title, author, date and sections."""
    from ..document import Document

    if isinstance(product, Document):
        return product
    for cls in type(product).__mro__:
        if cls.__name__ in BUILDERS:
            return importlib.import_module(BUILDERS[cls.__name__]).build(product, **presentation)  # type: ignore
    raise InputError(f"no document is built from a {type(product).__name__}")


def render(product: Any, fmt: str, **settings: Any) -> str:
    """The product as a document in ``fmt`` (one of FORMATS), with the printer's settings."""
    return render_all(product, [fmt], **settings)[fmt]


def render_all(product: Any, formats: Iterable[str], **settings: Any) -> dict[str, str]:
    """The product in each of ``formats`` with the same settings: its Document is built once and printed by
    each format's printer (what ``render`` gives format by format)."""
    from .printer import PRESENTATION

    printers = {fmt: printer_class(fmt)(**settings) for fmt in formats}
    built: list[tuple[dict[str, Any], Document]] = []  # the presentation settings (lists among them) and their Document
    out = {}
    for fmt, printer in printers.items():
        given = {k: printer.settings[k] for k in PRESENTATION if printer.settings[k] not in (None, "")}
        doc = next((d for g, d in built if g == given), None)
        if doc is None:
            doc = document(product, **given)
            built.append((given, doc))
        out[fmt] = printer.doprint(doc)
    return out
