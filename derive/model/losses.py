"""The loss registry: each loss is defined once, as one output unit's share of the per-example loss."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from derive.model.lazy_import import LazyModule

if TYPE_CHECKING:
    import sympy as sp
else:
    sp = LazyModule("sympy")  # imported when a definition is first built

from derive.model.activations import Activation


@dataclass(frozen=True)
class Loss:
    name: str
    term: Callable[[sp.Expr, sp.Expr, Activation], sp.Expr]
    """loss_k(a_k, y_k) for the output activation; the per-example loss is the sum over k."""
    outputs: tuple[float, float] | None = None
    """the interval the output activation's range must lie in, if the loss restricts it"""
    targets: tuple[float, float] | None = None
    """the interval every target must lie in, if the loss restricts it"""

    def example(self, outputs: tuple[sp.Expr, ...], targets: tuple[sp.Expr, ...], g: Activation) -> sp.Expr:
        """The loss of one example: the sum of the unit terms."""
        return sp.Add(*(self.term(a, y, g) for a, y in zip(outputs, targets, strict=True)))


def _cross_entropy(a: sp.Expr, y: sp.Expr, g: Activation) -> sp.Expr:
    # with outputs that sum to one (softmax) the (1 - y) log(1 - a) part is the other classes' share
    if g.sums_to_one:
        return -y * sp.log(a)
    return -(y * sp.log(a) + (1 - y) * sp.log(1 - a))


LOSSES: dict[str, Loss] = {}


def register(loss: Loss) -> Loss:
    """Add a loss to the registry (replacing one of the same name)."""
    LOSSES[loss.name] = loss
    return loss


register(Loss("cross_entropy", _cross_entropy, outputs=(0.0, 1.0), targets=(0.0, 1.0)))
register(Loss("squared_error", lambda a, y, g: sp.Rational(1, 2) * (a - y) ** 2))
