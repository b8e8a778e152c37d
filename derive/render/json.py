"""The JSON form of a document (SPEC §3): steps with LaTeX sides, and the results SymPy reads back."""

from __future__ import annotations

import json as _json
from typing import Any, ClassVar

from ..document import Document
from .printer import Printer


def as_dict(doc: Document) -> dict[str, Any]:
    steps = [{"id": line.step, "section": section.id, "lhs": eq.lhs, "rhs": line.rhs, "rule": line.rule,
              "text": line.text, "sympy": line.sympy}
             for section in doc.sections if not section.repeats
             for eq in section.equations for line in eq.lines]
    return {"network": doc.data.get("network", {}), "steps": steps, "results": doc.data.get("results", {})}


class JsonPrinter(Printer):
    format = "json"
    _default_settings: ClassVar[dict[str, Any]] = {}

    def _print_Document(self, doc: Document) -> str:
        return _json.dumps(doc.data["json"] if "json" in doc.data else as_dict(doc), indent=2,
                           ensure_ascii=False) + "\n"


PRINTER = JsonPrinter
