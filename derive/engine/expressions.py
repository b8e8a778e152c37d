"""Display nodes for the steps: SymPy expressions that keep a form on the page and know their value.

Each node prints itself (``_latex``) and evaluates to plain SymPy with ``doit()``, so a step's check
compares values while the page shows the form a lecturer writes.
"""

from __future__ import annotations

import sympy as sp


class Partial(sp.Expr):
    """∂f/∂x for named quantities; its value comes from the definitions the checker holds."""

    def __new__(cls, f: sp.Expr, x: sp.Expr) -> Partial:
        return sp.Expr.__new__(cls, f, x)

    @property
    def f(self) -> sp.Expr:
        return self.args[0]

    @property
    def x(self) -> sp.Expr:
        return self.args[1]

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:
        return r"\frac{\partial %s}{\partial %s}" % (printer._print(self.f), printer._print(self.x))

    def _sympystr(self, printer: sp.printing.str.StrPrinter) -> str:
        return f"d{printer._print(self.f)}/d{printer._print(self.x)}"


class Indicator(sp.KroneckerDelta):
    """1[i = k]: SymPy's KroneckerDelta as lecturers write it (δ is taken: it is the error)."""

    def doit(self, **hints: object) -> sp.Expr:
        return sp.KroneckerDelta(*self.args)

    def _latex(self, printer: sp.printing.latex.LatexPrinter, exp: str | None = None) -> str:
        text = r"\mathbf{1}[%s = %s]" % (printer._print(self.args[0]), printer._print(self.args[1]))
        return text if exp is None else r"(%s)^{%s}" % (text, exp)

    def _sympystr(self, printer: sp.printing.str.StrPrinter) -> str:
        return "KroneckerDelta(%s, %s)" % (printer._print(self.args[0]), printer._print(self.args[1]))


class Frac(sp.Expr):
    """num/den kept as a fraction with its numerator uncollected (−y + ya + a − ay)."""

    def __new__(cls, num: sp.Expr, den: sp.Expr) -> Frac:
        return sp.Expr.__new__(cls, num, den)

    def doit(self, **hints: object) -> sp.Expr:
        num, den = (a.doit(**hints) for a in self.args)
        return num / den

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:
        return r"\frac{%s}{%s}" % (printer._print(self.args[0]), printer._print(self.args[1]))

    def _sympystr(self, printer: sp.printing.str.StrPrinter) -> str:
        return f"({printer._print(self.args[0])})/({printer._print(self.args[1])})"


class Underbrace(sp.Expr):
    """expr marked with a label beneath it (the δ factor inside a chain of partials)."""

    def __new__(cls, expr: sp.Expr, label: sp.Expr) -> Underbrace:
        return sp.Expr.__new__(cls, expr, label)

    def doit(self, **hints: object) -> sp.Expr:
        return self.args[0].doit(**hints)

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:
        return r"\underbrace{%s}_{%s}" % (printer._print(self.args[0]), printer._print(self.args[1]))

    def _sympystr(self, printer: sp.printing.str.StrPrinter) -> str:
        return printer._print(self.args[0])


class Product(sp.Expr):
    """A product shown factor by factor with explicit dots, in the order given (a leading −1 shows as a sign)."""

    def __new__(cls, *factors: sp.Expr) -> Product:
        return sp.Expr.__new__(cls, *factors)

    def doit(self, **hints: object) -> sp.Expr:
        return sp.Mul(*(f.doit(**hints) for f in self.args))

    def factors(self) -> list[sp.Expr]:
        """The factors with nested Products flattened."""
        out: list[sp.Expr] = []
        for f in self.args:
            out.extend(f.factors() if isinstance(f, Product) else [f])
        return out

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:
        factors = self.factors()
        sign = ""
        if len(factors) > 1 and factors[0] == -1:
            sign, factors = "-", factors[1:]
        parts = []
        for n, f in enumerate(factors):
            text = printer._print(f)
            if _needs_parentheses(f, first=n == 0 and not sign, last=n == len(factors) - 1):
                text = _parens(printer, text)
            parts.append(text)
        return sign + r" \cdot ".join(parts)

    def _sympystr(self, printer: sp.printing.str.StrPrinter) -> str:
        return "*".join(f"({printer._print(f)})" for f in self.args)


def _needs_parentheses(factor: sp.Expr, *, first: bool, last: bool) -> bool:
    """A sum, a negative factor after the first, or a Σ that more factors follow, is put in parentheses."""
    if isinstance(factor, sp.Add):
        return True
    if isinstance(factor, sp.Sum) and not last:
        return True
    return not first and factor.could_extract_minus_sign()


def _parens(printer: sp.printing.latex.LatexPrinter, text: str) -> str:
    """text in the printer's parentheses (plain ones around something flat)."""
    return printer._add_parens(text) if hasattr(printer, "_add_parens") else r"\left(%s\right)" % text


def rebuild(expr: sp.Expr) -> sp.Expr:
    """Evaluate the Derivatives inside expr while keeping every surrounding product and sum as written."""
    if isinstance(expr, sp.Derivative):
        return expr.doit()
    if not expr.args or isinstance(expr, sp.Symbol | sp.Number):
        return expr
    args = [rebuild(a) for a in expr.args]
    if isinstance(expr, sp.Add | sp.Mul | sp.Pow):
        return type(expr)(*args, evaluate=False)
    return expr.func(*args)


class Applied(sp.Expr):
    """f(arg) shown with a named function (g, g′, σ) and standing for ``value``."""

    def __new__(cls, name: sp.Symbol, arg: sp.Expr, value: sp.Expr) -> Applied:
        return sp.Expr.__new__(cls, name, arg, value)

    def doit(self, **hints: object) -> sp.Expr:
        return self.args[2].doit(**hints)

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:
        arg = printer.bracket(self.args[1]) if hasattr(printer, "bracket") else r"\left(%s\right)" % printer._print(
            self.args[1])
        return printer._print(self.args[0]) + arg

    def _sympystr(self, printer: sp.printing.str.StrPrinter) -> str:
        return f"{printer._print(self.args[0])}({printer._print(self.args[1])})"


class Hadamard(sp.Expr):
    """An element-wise product of vectors, shown with ∘."""

    def __new__(cls, *factors: sp.Expr) -> Hadamard:
        return sp.Expr.__new__(cls, *factors)

    def doit(self, **hints: object) -> sp.Expr:
        parts = [f.doit(**hints) for f in self.args]
        out = parts[0]
        for p in parts[1:]:
            out = out.multiply_elementwise(p) if isinstance(out, sp.MatrixBase) else out * p
        return out

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:
        parts = []
        for f in self.args:
            text = printer._print(f)
            parts.append(_parens(printer, text) if isinstance(f, sp.Add) else text)
        return r" \circ ".join(parts)

    def _sympystr(self, printer: sp.printing.str.StrPrinter) -> str:
        return " o ".join(f"({printer._print(f)})" for f in self.args)


def hadamard_form(expr: sp.Expr) -> sp.Expr:
    """A one-unit formula (a(1 − a)) read element-wise over a vector: products become ∘."""
    if isinstance(expr, sp.Mul) and len(expr.args) > 1:
        return Hadamard(*expr.args)
    return expr
