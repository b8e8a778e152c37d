"""The activation registry: each activation is defined once, symbolically; everything else follows.

An entry gives g for one unit (``unit``) or, for activations that couple a layer's units such as
softmax, for the whole layer (``layer``). Its derivative, the identity that writes g' in terms of
a = g(z), the derivation steps and the numeric functions are all derived from that definition.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from derive.model.lazy_import import LazyModule

if TYPE_CHECKING:
    import sympy as sp
else:
    sp = LazyModule("sympy")  # imported when a definition is first built


@dataclass(frozen=True)
class Activation:
    name: str
    range: tuple[float, float]
    unit: Callable[[sp.Expr], sp.Expr] | None = None
    layer: Callable[[sp.IndexedBase, sp.Expr, sp.Expr], sp.Expr] | None = None
    """for an activation that couples a layer's units: output i of a layer of n units whose weighted sums are
    z[1] … z[n] (z an IndexedBase; i and n may be symbols, so that a generic unit can be derived)"""
    hidden: bool = True
    sums_to_one: bool = False

    def __post_init__(self) -> None:
        if (self.unit is None) == (self.layer is None):
            raise TypeError(f"activation {self.name!r}: give exactly one of unit= or layer=")

    @property
    def elementwise(self) -> bool:
        return self.unit is not None

    def apply(self, zs: Sequence[sp.Expr]) -> tuple[sp.Expr, ...]:
        """g applied to a layer's pre-activations."""
        if self.unit is not None:
            return tuple(self.unit(z) for z in zs)
        assert self.layer is not None
        z, n = sp.IndexedBase("z"), len(zs)
        values = {z[k]: zk for k, zk in enumerate(zs, start=1)}
        return tuple(self.layer(z, k, n).doit().xreplace(values) for k in range(1, n + 1))

    def within(self, low: float, high: float) -> bool:
        """Whether every output of g lies in the interval [low, high]."""
        return low <= self.range[0] and self.range[1] <= high


def _softmax(z: sp.IndexedBase, i: sp.Expr, n: sp.Expr) -> sp.Expr:
    j = sp.Symbol("j")
    return sp.exp(z[i]) / sp.Sum(sp.exp(z[j]), (j, 1, n))


@cache
def relu_function() -> type:
    """ReLU as a SymPy function: max(0, z), whose derivative is 1[z > 0] with the value 0 at z = 0 (as PyTorch
    computes it). ``sp.Max(0, z)`` would differentiate to SymPy's Heaviside(z), which is ½ at 0.

    Made on first use, so that naming the registry does not import SymPy."""

    class ReLU(sp.Function):
        nargs = 1

        def __new__(cls, x: Any, **options: Any) -> Any:
            if not isinstance(x, sp.Basic):
                x = sp.Float(x) if isinstance(x, float) else sp.Integer(x)
            if x.is_number or x.is_nonnegative or x.is_nonpositive:  # a number, or a known sign: max(0, x) decides
                return sp.Max(0, x)
            return super().__new__(cls, x, **options)

        def fdiff(self, argindex: int = 1) -> Any:
            return sp.Heaviside(self.args[0], 0)

        def _eval_rewrite_as_Max(self, x: Any, **kwargs: Any) -> Any:
            return sp.Max(0, x)

        def _eval_is_nonnegative(self) -> bool:
            return True

        def _eval_is_real(self) -> bool | None:
            return self.args[0].is_real

        def _latex(self, printer: Any, exp: str | None = None) -> str:
            text = printer._print(sp.Max(0, self.args[0], evaluate=False))
            return text if exp is None else r"\left(%s\right)^{%s}" % (text, exp)

        def _sympystr(self, printer: Any) -> str:
            return f"Max(0, {printer._print(self.args[0])})"

        def _numpycode(self, printer: Any) -> str:
            return f"{printer._module_format(printer._module + '.maximum')}(0, {printer._print(self.args[0])})"

    return ReLU


ACTIVATIONS: dict[str, Activation] = {}


def register(activation: Activation) -> Activation:
    """Add an activation to the registry (replacing one of the same name)."""
    ACTIVATIONS[activation.name] = activation
    return activation


register(Activation("sigmoid", (0.0, 1.0), unit=lambda z: 1 / (1 + sp.exp(-z))))
register(Activation("tanh", (-1.0, 1.0), unit=lambda z: sp.tanh(z)))
register(Activation("relu", (0.0, math.inf), unit=lambda z: relu_function()(z)))
register(Activation("linear", (-math.inf, math.inf), unit=lambda z: z))
register(Activation("softmax", (0.0, 1.0), layer=_softmax, hidden=False, sums_to_one=True))
