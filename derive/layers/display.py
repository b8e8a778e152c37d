"""Display nodes for layered derivations: an operation a lecturer names (cross-correlation, rotation by
180°, dilation by the stride, reshaping) shown by name, standing for the array code that computes it.

Like derive.engine.expressions, each node prints itself and carries no value of its own: the chain's checks
compare the concrete instances, never the display.
"""

from __future__ import annotations

from typing import Any

import sympy as sp


def _arg(printer: Any, a: Any) -> str:
    return printer._print(a)


def _group(printer: Any, a: Any) -> str:
    """An argument that a postfix or a product follows: a bare tensor as it is, anything else in parentheses."""
    text = printer._print(a)
    return text if isinstance(a, TensorName) else r"\left(%s\right)" % text


def _size(printer: Any, a: Any) -> str:
    return str(a) if isinstance(a, sp.Integer | int) else printer._print(a)


FORMS: dict[str, Any] = {
    # the δ passed back by a convolution: δ (dilated, padded by k − 1) cross-correlated with the kernel rotated by
    # 180° (which is the full convolution of δ with K), the forward pass's padding then cropped; ∂J/∂K: the
    # (padded) input cross-correlated with δ. ⋆ is one operation throughout: (A ⋆ B)_{i,j} = Σ_{u,v} A_{i+u,j+v} B_{u,v}
    "corr": lambda p, a, b: r"%s \star %s" % (_arg(p, a), _arg(p, b)),
    "rot180": lambda p, k: r"\operatorname{rot}_{180^{\circ}}\left(%s\right)" % _arg(p, k),
    "pad": lambda p, a, n: (_arg(p, a) if n == 0 else r"\operatorname{pad}_{%s}\left(%s\right)" % (_size(p, n),
                                                                                                 _arg(p, a))),
    "crop": lambda p, a, n: (_arg(p, a) if n == 0 else r"\operatorname{crop}_{%s}\left(%s\right)" % (_size(p, n),
                                                                                                   _arg(p, a))),
    "dilate": lambda p, d, s: r"\operatorname{dilate}_{%s}\left(%s\right)" % (_size(p, s), _arg(p, d)),
    "sum_pq": lambda p, d, o: r"\sum_{p,\,q} %s_{%s,p,q}" % (_arg(p, d), _arg(p, o)),
    "sum_k": lambda p, body, k: r"\sum_{%s} %s" % (_arg(p, k), _arg(p, body)),
    "at": lambda p, x, *idx: r"\left(%s\right)_{%s}" % (_arg(p, x), ",".join(_arg(p, i) for i in idx)),
    "transpose": lambda p, a: r"%s^{\mathsf{T}}" % (r"\left(%s\right)" % _arg(p, a)),
    "dJ": lambda p, a: r"\frac{\partial J}{\partial %s}" % _arg(p, a),
    "reshape": lambda p, d, shape: r"\operatorname{reshape}\left(%s,\ %s\right)" % (
        _arg(p, d), str(shape).replace(" × ", r" \times ").replace("×", r"\times")),
    "route_to_max": lambda p, d, s: r"\mathbf{1}_{\max} \circ \operatorname{up}_{%s}\left(%s\right)" % (
        _size(p, s), _arg(p, d)),
    "spread": lambda p, d, s: r"\frac{1}{%d} \operatorname{up}_{%s}\left(%s\right)" % (int(s) ** 2, _size(p, s),
                                                                                     _arg(p, d)),
    "upsample": lambda p, d, s: r"\operatorname{up}_{%s}\left(%s\right)" % (_size(p, s), _arg(p, d)),
    "sum": lambda p, a: r"\sum %s" % _group(p, a),
    "sum_t": lambda p, a: r"\sum_{t=1}^{T} %s_{t}" % _arg(p, a),  # over the time steps: row t of a sequence's δ
    "sumsq": lambda p, a: r"\left\lVert %s\right\rVert^{2}" % _arg(p, a),
}
"""how a lecturer writes each named operation (LaTeX); one not listed prints as \\operatorname{name}(…)"""


class Operation(sp.Expr):
    """name(arg₁, arg₂, …) in the lecturer's notation (``FORMS``), \\operatorname{name}(…) otherwise."""

    def __new__(cls, name: str, *args: Any) -> Operation:
        return sp.Expr.__new__(cls, sp.Symbol(name), *args)

    @property
    def name(self) -> str:
        return str(self.args[0])

    def _latex(self, printer: Any) -> str:
        args = self.args[1:]
        if self.name in FORMS:
            return FORMS[self.name](printer, *args)
        inner = ", ".join(printer._print(a) for a in args)
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


class Label(sp.Symbol):
    """A symbol of the display only, written as given (C_out − 1 as the upper end of a sum)."""

    def __new__(cls, name: str, tex: str) -> Label:
        obj = sp.Symbol.__new__(cls, name)
        obj.tex = tex
        return obj

    def __getnewargs_ex__(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (self.name, self.tex), {}

    def _latex(self, printer: Any) -> str:
        return self.tex


class Element(sp.IndexedBase):
    """The elements of a layer's tensor, printed letter^(layer)_{indices} (no braces around the base)."""

    def _latex(self, printer: Any) -> str:
        letter, layer = str(self.label).split("^")
        return r"%s^{%s}" % (printer._print(sp.Symbol(letter)), layer)

    def __getitem__(self, indices: Any, **kw_args: Any) -> sp.Indexed:
        item = super().__getitem__(indices, **kw_args)
        return ElementOf(*item.args)


class ElementOf(sp.Indexed):
    """One element: letter^(layer)_{i,j}, the layer above and the indices below the same letter."""

    def _latex(self, printer: Any) -> str:
        base = printer._print(self.base)
        if "_" in str(self.base.label).split("^")[0]:  # a letter with its own subscript: (W_q^(1))_{i,j}, the
            base = "(%s)" % base  # indices clear of the letter's own q and layer
        return "%s_{%s}" % (base, ",".join(printer._print(i) for i in self.indices))


def indexed(letter: str, layer: int) -> sp.IndexedBase:
    """The tensor's elements, shown letter^(layer)_{indices}."""
    return Element(sp.Symbol(f"{letter}^({layer})"))


def last(name: str) -> sp.Expr:
    """name − 1 as the upper end of a sum over 0 … name − 1 (C_out − 1, not −1 + C_out)."""
    base, _, sub = name.partition("_")
    tex = "%s_{\\mathrm{%s}} - 1" % (base, sub) if sub else "%s - 1" % base
    return Label(f"{name}-1", tex)


class Timed(sp.Expr):
    """A recurrent layer's quantity at time step t (or t ± 1, or T): head^(layer)_t, e.g. δh^(1)_{t+1}. ``head`` is
    LaTeX (``\\delta h``, ``\\bar{\\imath}``)."""

    def __new__(cls, head: str, layer: int, t: Any) -> Timed:
        return sp.Expr.__new__(cls, sp.Symbol(head), sp.Integer(layer), sp.Integer(t) if isinstance(t, int) else t)

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
        return r"\left(%s\right)^{\mathsf{T}}" % printer._print(self.args[0])

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


_FUNCTIONS = {"relu": r"\operatorname{ReLU}", "softmax": r"\operatorname{softmax}", "sigmoid": r"\sigma",
              "tanh": r"\tanh", "linear": r"\operatorname{id}"}


def activation(name: str, prime: bool = False) -> Label:
    """The activation function of a layer by its own name (ReLU(z), softmax(z), σ(z)), or its derivative: a network
    with two activations never writes both as g."""
    tex = _FUNCTIONS.get(name, r"\operatorname{%s}" % name)
    return Label(f"{name}'" if prime else name, tex + ("'" if prime else ""))
