"""LaTeX of one expression in a notation profile: SymPy's LatexPrinter with derive's symbol names."""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.printing.latex import LatexPrinter

from ..notation import PROFILES, Profile


class MathPrinter(LatexPrinter):
    """Prints quantities (a[2][1], Theta[1][2][0], …) in the profile's symbols, sums in the order built."""

    printmethod = "_latex"

    def __init__(self, profile: Profile, settings: dict[str, Any] | None = None) -> None:
        super().__init__({"order": "none", "mul_symbol": None, **(settings or {})})
        self.profile = profile

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        if expr.name == "g":
            return self.profile.function
        if expr.name == "g'":
            return self.profile.function + "'"
        named = self.profile.latex(expr.name)
        return named if named is not None else super()._print_Symbol(expr, style)

    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol, style: str = "plain") -> str:
        named = self.profile.latex(expr.name)
        return named if named is not None else super()._print_MatrixSymbol(expr)

    def _print_Derivative(self, expr: sp.Derivative) -> str:
        (var, count), = expr.variable_count
        inner = self._print(expr.expr)
        if isinstance(expr.expr, sp.Add | sp.Mul) or expr.expr.is_Function is False:
            inner = r"\left(%s\right)" % inner
        return r"\frac{\partial}{\partial %s} %s" % (self._print(var), inner)

    def _print_Transpose(self, expr: Any) -> str:
        return r"\left(%s\right)^{T}" % self._print(expr.arg)

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        rows = []
        for value, cond in expr.args:
            when = r"\text{otherwise}" if cond is sp.true else self._print(cond)
            rows.append(r"%s & \text{if } %s" % (self._print(value), when))
        return r"\begin{cases} %s \end{cases}" % r" \\ ".join(rows)


def latex(expr: sp.Basic, notation: str = "ng") -> str:
    """expr as LaTeX in the named notation profile."""
    return MathPrinter(PROFILES[notation]).doprint(expr)
