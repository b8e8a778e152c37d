"""Display nodes for layered derivations: an operation a lecturer names (full convolution, rotation by
180°, dilation by the stride, reshaping) shown by name, standing for the array code that computes it.

Like derive.expressions, each node prints itself and carries no value of its own: the chain's checks
compare the concrete instances, never the display.
"""

from __future__ import annotations

from typing import Any

import sympy as sp


class Operation(sp.Expr):
    """name(arg₁, arg₂, …) printed as \\operatorname{name}."""

    def __new__(cls, name: str, *args: Any) -> Operation:
        return sp.Expr.__new__(cls, sp.Symbol(name), *args)

    @property
    def name(self) -> str:
        return str(self.args[0])

    def _latex(self, printer: Any) -> str:
        inner = ", ".join(printer._print(a) for a in self.args[1:])
        return r"\operatorname{%s}\left(%s\right)" % (self.name.replace("_", r"\_"), inner)

    def _sympystr(self, printer: Any) -> str:
        return "%s(%s)" % (self.name, ", ".join(printer._print(a) for a in self.args[1:]))


class TensorName(sp.Symbol):
    """A whole tensor of a layer (a^(2), δ^(3), K^(1)), printed as its letter with the layer number."""

    def __new__(cls, letter: str, layer: int) -> TensorName:
        obj = sp.Symbol.__new__(cls, f"{letter}^({layer})", commutative=False)
        return obj

    def _latex(self, printer: Any) -> str:
        letter, layer = self.name.split("^")
        return r"%s^{%s}" % (printer._print(sp.Symbol(letter)), layer)


def indexed(letter: str, layer: int) -> sp.IndexedBase:
    """The tensor's elements, shown letter^(layer)_{indices}."""
    return sp.IndexedBase(sp.Symbol(f"{letter}^({layer})"))
