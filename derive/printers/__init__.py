"""Renderers over one Derivation: one module per format, found through this table."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..errors import InputError

if TYPE_CHECKING:
    from ..steps import Derivation

FORMATS: dict[str, str] = {
    "json": "derive.printers.json",
    "latex": "derive.printers.latex",
    "mathml": "derive.printers.mathml",
    "html": "derive.printers.html",
    "markdown": "derive.printers.markdown",
    "beamer": "derive.printers.beamer",
}


def takes_body(fmt: str) -> bool:
    """Whether the printer of ``fmt`` has a ``body`` option (a parameter of its render, or a declared setting)."""
    import inspect

    module = importlib.import_module(FORMATS[fmt])
    settings = getattr(getattr(module, "Options", None), "__dataclass_fields__", {})
    return "body" in inspect.signature(module.render).parameters or "body" in settings


def render(derivation: Derivation, fmt: str, **options: Any) -> str:
    """The derivation as a document in ``fmt`` (one of FORMATS)."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; allowed: {' | '.join(FORMATS)}")
    module = importlib.import_module(FORMATS[fmt])
    return module.render(derivation, **options)
