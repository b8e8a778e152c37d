"""A module imported on first use, so that naming SymPy in a registry does not import it.

``derive --help`` and a bad network description never build an expression; they should not wait for
SymPy's import (most of a second). The registries hold their definitions as functions that reach SymPy
through this proxy only when called.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module ``name``; the first attribute looked up imports it."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}{' (imported)' if self._module else ''}>"
