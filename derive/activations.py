"""The activation registry: each activation is defined once, symbolically; everything else follows.

An entry gives g for one unit (``unit``) or, for activations that couple a layer's units such as
softmax, for the whole layer (``layer``). Its derivative, the identity that writes g' in terms of
a = g(z), the derivation steps and the numeric functions are all derived from that definition.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .lazy import LazyModule

if TYPE_CHECKING:
    import sympy as sp
else:
    sp = LazyModule("sympy")  # imported when a definition is first built


@dataclass(frozen=True)
class Activation:
    name: str
    range: tuple[float, float]
    unit: Callable[[sp.Expr], sp.Expr] | None = None
    layer: Callable[[Sequence[sp.Expr]], tuple[sp.Expr, ...]] | None = None
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
        return tuple(self.layer(zs))

    def within(self, low: float, high: float) -> bool:
        """Whether every output of g lies in the interval [low, high]."""
        return low <= self.range[0] and self.range[1] <= high


def _softmax(zs: Sequence[sp.Expr]) -> tuple[sp.Expr, ...]:
    total = sp.Add(*(sp.exp(z) for z in zs))
    return tuple(sp.exp(z) / total for z in zs)


ACTIVATIONS: dict[str, Activation] = {}


def register(activation: Activation) -> Activation:
    """Add an activation to the registry (replacing one of the same name)."""
    ACTIVATIONS[activation.name] = activation
    return activation


register(Activation("sigmoid", (0.0, 1.0), unit=lambda z: 1 / (1 + sp.exp(-z))))
register(Activation("tanh", (-1.0, 1.0), unit=lambda z: sp.tanh(z)))
register(Activation("relu", (0.0, math.inf), unit=lambda z: sp.Max(0, z)))
register(Activation("linear", (-math.inf, math.inf), unit=lambda z: z))
register(Activation("softmax", (0.0, 1.0), layer=_softmax, hidden=False, sums_to_one=True))
