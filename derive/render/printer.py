"""The base of every document printer: ``_print_<Node>`` methods found along the node type's MRO (as SymPy's
printing/printer.py), settings declared once in ``_default_settings``, unknown keys refused by name."""

from __future__ import annotations

from typing import Any, ClassVar

from ..errors import DeriveError, NotSupportedError


class UnknownSettingError(NotSupportedError):
    """A setting the printer does not declare."""


class NotPrintableError(DeriveError):
    """A node no ``_print_<Node>`` method of the printer handles."""


PRESENTATION: dict[str, Any] = {"language": None, "notation": None, "title": None, "author": "", "date": "",
                                "sections": None}
"""settings of every printer that choose what the document says (passed to the document's build)"""


class Printer:
    """Prints a Document (or any node of one) in one format."""

    format: ClassVar[str] = ""
    _default_settings: ClassVar[dict[str, Any]] = {}

    def __init__(self, **settings: Any) -> None:
        allowed = {**PRESENTATION, **self._default_settings}
        unknown = sorted(set(settings) - set(allowed))
        if unknown:
            raise UnknownSettingError(f"{self.format}: unknown option {unknown[0]!r}; allowed: "
                                      f"{', '.join(allowed)}")
        self.settings = {**allowed, **settings}

    def doprint(self, node: Any) -> str:
        return self._print(node)

    def _print(self, node: Any, **kwargs: Any) -> str:
        for cls in type(node).__mro__:
            method = getattr(self, f"_print_{cls.__name__}", None)
            if method is not None:
                return method(node, **kwargs)
        raise NotPrintableError(f"the {self.format} printer cannot print a {type(node).__name__}")

    def runs(self, paragraph: Any) -> str:
        """A paragraph's runs, each printed, joined."""
        return "".join(self._print(r) for r in paragraph.runs)
