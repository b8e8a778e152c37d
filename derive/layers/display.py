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


class Timed(sp.Expr):
    """A recurrent layer's quantity at time step t (or t ± 1, or T): head^(layer)_t, e.g. δh^(1)_{t+1}. ``head`` is
    LaTeX (``\\delta h``, ``\\bar{\\imath}``)."""

    def __new__(cls, head: str, layer: int, t: Any) -> Timed:
        return sp.Expr.__new__(cls, sp.Symbol(head), sp.Integer(layer), sp.sympify(t))

    is_commutative = False

    def _latex(self, printer: Any) -> str:
        head, layer, t = self.args
        return r"%s^{(%s)}_{%s}" % (head.name, layer, _step(t, printer))

    def _sympystr(self, printer: Any) -> str:
        head, layer, t = self.args
        return "%s^(%s)_%s" % (head.name.replace("\\", ""), layer, printer._print(t))


def _step(t: sp.Expr, printer: Any) -> str:
    """t + 1 and t − 1 written with t first (SymPy orders the constant first)."""
    if isinstance(t, sp.Add) and len(t.args) == 2 and t.args[0].is_Integer:
        k, var = t.args
        return "%s %s %s" % (printer._print(var), "+" if k > 0 else "-", abs(k))
    return printer._print(t)


class Transposed(sp.Expr):
    """(M)ᵀ of a whole tensor, printed with a superscript ⊤."""

    def __new__(cls, matrix: sp.Expr) -> Transposed:
        return sp.Expr.__new__(cls, matrix)

    is_commutative = False

    def _latex(self, printer: Any) -> str:
        return r"\left(%s\right)^{\top}" % printer._print(self.args[0])

    def _sympystr(self, printer: Any) -> str:
        return "transpose(%s)" % printer._print(self.args[0])


class Grouped(sp.Expr):
    """An expression in parentheses, as a factor: Wᵀ(δh ∘ g′)."""

    def __new__(cls, inner: sp.Expr) -> Grouped:
        return sp.Expr.__new__(cls, inner)

    is_commutative = False

    def _latex(self, printer: Any) -> str:
        return r"\left(%s\right)" % printer._print(self.args[0])

    def _sympystr(self, printer: Any) -> str:
        return "(%s)" % printer._print(self.args[0])
