"""LaTeX of one expression in a notation profile: SymPy's LatexPrinter with derive's symbol names."""

from __future__ import annotations

import re
from typing import Any

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import precedence_traditional

from derive.model.notation import PROFILES, Profile, parse_name

_FUNCTION = re.compile(r"g('?)(?:\[([a-z_]+)\])?")
"""the symbol of an activation function (derivation.g_of) or its derivative (g_prime_of)"""
CONSTANTS = frozenset({"lambda", "alpha", "m"})
"""quantities written before the others in a product, as scalars are: (λ/m) Θ, α D, (1/m) Σ"""


class MathPrinter(LatexPrinter):
    """Prints quantities (a[2][1], Theta[1][2][0], …) in the profile's symbols, sums in the order built."""

    printmethod = "_latex"

    def __init__(self, profile: Profile, settings: dict[str, Any] | None = None, *,
                 cases: tuple[str, str] = ("if", "otherwise")) -> None:
        super().__init__({"order": "none", "mul_symbol": None, **(settings or {})})
        self.profile = profile
        self.cases = cases
        """the words of a cases block in the document's language ("if", "otherwise")"""

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        function = _FUNCTION.fullmatch(expr.name)
        if function is not None:  # g, g' or the function of one activation: g[tanh] (\tanh under nielsen)
            return self.profile.function_latex(function.group(2)) + function.group(1)
        named = self.profile.latex(expr.name)
        return named if named is not None else super()._print_Symbol(expr, style)

    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol, style: str = "plain") -> str:
        named = self.profile.latex(expr.name)
        return named if named is not None else super()._print_MatrixSymbol(expr)

    def doprint(self, expr: sp.Basic) -> str:
        return inner_solidus(flatten_parens(super().doprint(expr)))

    def _print_MatMul(self, expr: sp.MatMul) -> str:
        """SymPy's, without its question whether a minus sign can be taken out when the first factor is no number
        (``Mul.could_extract_minus_sign`` is then False, but asking negates and rebuilds the whole product)."""
        if expr.args[0].is_Number:
            return str(super()._print_MatMul(expr))
        parens = precedence_traditional(expr)
        return " ".join(self._print(x) if isinstance(x, sp.Mul) and not isinstance(x, sp.MatMul)
                        else self.parenthesize(x, parens, False) for x in expr.args)

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        """Terms in the order built; a term printed with a leading minus joins with − instead of + −."""
        out = ""
        for n, term in enumerate(self._as_ordered_terms(expr, order=order)):
            text = self._print(term)
            if isinstance(term, sp.Add):
                text = self._add_parens(text)
            if n == 0:
                out = text
            elif text.startswith("-"):
                out += " - " + text[1:].lstrip()
            else:
                out += " + " + text
        return out

    def _print_Mul(self, expr: sp.Mul) -> str:
        """Scalars first, as a lecturer writes them: \\frac{\\lambda}{m} \\Theta, \\alpha D, \\frac{1}{m} \\sum."""
        scalars = [f for f in expr.args if _is_scalar(f)]
        rest = [f for f in expr.args if not _is_scalar(f)]
        leading = any(f.free_symbols for f in scalars) or any(f.has(sp.Sum) for f in rest)
        if not scalars or not rest or not leading:
            return super()._print_Mul(expr)
        coeff = sp.Mul(*scalars)
        body = self._print(sp.Mul(*rest))
        if isinstance(sp.Mul(*rest), sp.Add):
            body = self._add_parens(body)
        if coeff == -1:
            return "- " + body
        return "%s %s" % (super()._print(coeff), body)

    def _print_Sum(self, expr: sp.Sum) -> str:
        """One \\sum per index, outermost first, the summand in brackets when it is a sum."""
        signs = "".join(r"\sum_{%s=%s}^{%s} " % tuple(map(self._print, lim)) for lim in reversed(expr.limits))
        body = self._print(expr.function)
        if isinstance(expr.function, sp.Add):
            body = r"\left[%s\right]" % body
        return signs + body

    def _print_Heaviside(self, expr: sp.Heaviside, exp: str | None = None) -> str:
        """The step function as lecturers write it: 1 where the argument is positive."""
        text = r"\mathbf{1}[%s > 0]" % self._print(expr.args[0])
        return text if exp is None else r"(%s)^{%s}" % (text, exp)

    def _print_Derivative(self, expr: sp.Derivative) -> str:
        (var, count), = expr.variable_count
        inner = self._print(expr.expr)
        if isinstance(expr.expr, sp.Add | sp.Mul) or expr.expr.is_Function is False:
            inner = self._add_parens(inner)
        return r"\frac{\partial}{\partial %s} %s" % (self._print(var), inner)

    def _print_Transpose(self, expr: Any) -> str:
        return r"%s^{\mathsf{T}}" % self.bracket(expr.arg)

    def _print_log(self, expr: sp.log, exp: str | None = None) -> str:
        """\\log a for a quantity, \\log(1 - a) otherwise, as the slides write it."""
        (arg,) = expr.args
        text = r"\log %s" % self._print(arg) if isinstance(arg, sp.Symbol) else r"\log%s" % self.bracket(arg)
        return text if exp is None else r"\left(%s\right)^{%s}" % (text, exp)

    def _print_Pow(self, expr: sp.Pow) -> str:
        base, power = expr.args
        if isinstance(base, sp.Symbol) and power.is_Integer and power > 1 and self.profile.latex(base.name):
            return r"%s^{%s}" % (self.bracket(base), self._print(power))
        return super()._print_Pow(expr)

    def _add_parens(self, s: str) -> str:
        return r"\left(%s\right)" % s if _tall(s) else "(%s)" % s

    def _add_parens_lspace(self, s: str) -> str:
        return r"\left( %s\right)" % s if _tall(s) else "(%s)" % s

    def bracket(self, expr: sp.Basic) -> str:
        """expr in parentheses, plain ones unless it holds something tall (a fraction, a sum, a power)."""
        if isinstance(expr, sp.Symbol | sp.MatrixSymbol) and "^" not in self._print(expr) and "_" not in \
                self._print(expr):
            return self._print(expr)
        return self._add_parens(self._print(expr))

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        rows = []
        before: list[sp.Basic] = []
        for value, cond in expr.args:
            if cond is sp.true:  # "otherwise" written as what it means: none of the conditions above
                cond = sp.And(*(sp.Not(c) for c in before))
            before.append(cond)
            when = r"\text{%s}" % self.cases[1] if cond is sp.true else self._print(cond)
            # the space after the word is math's own (\ ): a space inside \text after a CJK character is dropped
            # by xeCJK (若j), one outside the text is set in every language
            rows.append(r"%s & \text{%s}\ %s" % (self._print(value), self.cases[0], when))
        return r"\begin{cases} %s \end{cases}" % r" \\ ".join(rows)


def flatten_parens(tex: str) -> str:
    """\\left( … \\right) around something flat becomes plain ( … ): SymPy stretches every bracket."""
    out: list[str] = []
    stack: list[int] = []
    i = 0
    while i < len(tex):
        if tex.startswith(r"\left(", i):
            stack.append(len(out))
            out.append(r"\left(")
            i += 6
        elif tex.startswith(r"\right)", i) and stack:
            start = stack.pop()
            inner = "".join(out[start + 1:])
            if not _tall(inner):
                out[start] = "("
                out.append(")")
            else:
                out.append(r"\right)")
            i += 7
        else:
            out.append(tex[i])
            i += 1
    return "".join(out)


def _group(tex: str, start: int) -> int:
    """The index just past the brace group opening at ``start``."""
    depth = 0
    for n in range(start, len(tex)):
        depth += {"{": 1, "}": -1}.get(tex[n], 0)
        if depth == 0:
            return n + 1
    raise ValueError(f"unbalanced braces in {tex!r}")


def _frac(tex: str, at: int) -> tuple[str, str, int]:
    """numerator, denominator and the end of the \\frac starting at ``at``."""
    mid = _group(tex, at + 5)
    end = _group(tex, mid)
    return tex[at + 6:mid - 1], tex[mid + 1:end - 1], end


_FLAT = re.compile(r"(?:\\partial )?[^\s+\-]+|\\partial \S+")
"""a part of a fraction written with a solidus without brackets: one symbol, or ∂ of one symbol"""


def inner_solidus(tex: str) -> str:
    """A fraction inside a fraction's numerator or denominator written with a solidus (∂E/∂z, (a − y)/(a(1 − a))):
    a \\frac within a \\frac would be set in script size."""
    out, pos = [], 0
    while (at := tex.find(r"\frac{", pos)) >= 0:
        num, den, end = _frac(tex, at)
        out.append(tex[pos:at] + r"\frac{%s}{%s}" % (_solidus(num), _solidus(den)))
        pos = end
    return "".join(out) + tex[pos:]


def _solidus(tex: str) -> str:
    out, pos = [], 0
    while (at := tex.find(r"\frac{", pos)) >= 0:
        num, den, end = _frac(tex, at)
        num, den = (_solidus(p) for p in (num, den))
        out.append(tex[pos:at] + "/".join(p if _FLAT.fullmatch(p) else "(%s)" % p for p in (num, den)))
        pos = end
    return "".join(out) + tex[pos:]


def _tall(tex: str) -> bool:
    """Whether tex holds something taller than a line (a fraction, a sum, a brace, an exponential)."""
    return any(cmd in tex for cmd in (r"\frac", r"\sum", r"\underbrace", r"\begin", "e^{"))


def _is_scalar(factor: sp.Basic) -> bool:
    if factor.is_number:
        return True
    base = factor.as_base_exp()[0]
    parsed = parse_name(base.name) if isinstance(base, sp.Symbol) else None
    return parsed is not None and parsed[0] in CONSTANTS


def latex(expr: sp.Basic, notation: str = "ng") -> str:
    """expr as LaTeX in the named notation profile."""
    return MathPrinter(PROFILES[notation]).doprint(expr)
