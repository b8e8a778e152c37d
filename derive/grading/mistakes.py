"""The registry of well-known mistakes (SPEC §8), each defined once as a change to the derivation.

A mistake is either a form of the answer (``recognizes``: the answer uses the quantity it is asked for)
or one or more ``variants``: functions that take the derived recipe and return it with one
piece changed (δ^(L), g′, the weight of the recursion, or the regularized gradient). The wrong answer
it produces for any target follows from building that target with the changed recipe; where the
change makes no difference (or no sense) for a target, the mistake does not apply to it. Its words are
the catalogue's ``mistakes.<id>`` in each language. Adding a mistake is adding one entry.
"""

from __future__ import annotations

from collections.abc import Callable, Set
from dataclasses import dataclass, replace

import sympy as sp

from derive.engine.backprop import LAM, M
from derive.model.notation import parse_name, q

from .targets import Model, NotApplicable, Recipe, Target

Variant = Callable[[Recipe], Recipe]


@dataclass(frozen=True)
class Mistake:
    id: str
    variants: tuple[Variant, ...] = ()
    """each returns the derived recipe with the mistaken piece in place of the derived one"""
    recognizes: Callable[[Target, Set[str]], bool] | None = None
    """a mistake of form: true when the answer's names (for the target) make it this mistake"""


MISTAKES: dict[str, Mistake] = {}


def register(mistake: Mistake) -> Mistake:
    """Add a mistake (replacing one with the same id); the order of registration is the order tried."""
    MISTAKES[mistake.id] = mistake
    return mistake


def _only_for_loss(loss: str, model: Model) -> None:
    if model.net.loss != loss:
        raise NotApplicable(f"only with the {loss} loss")


def _sigma_prime_kept(r: Recipe) -> Recipe:
    """δ^(L) multiplied by the output's g′ once more, as if the cross-entropy had not cancelled it."""
    def output(model: Model, i: int) -> sp.Expr:
        _only_for_loss("cross_entropy", model)
        return r.output(model, i) * model.output_prime(i)
    return replace(r, output=output)


def _activation_derivative_dropped(r: Recipe) -> Recipe:
    """δ^(L) = ∂loss/∂a alone, and g′ left out of the hidden recursion."""
    return replace(r, output=lambda model, i: model.loss_derivative(i), prime=lambda model, l, i: sp.Integer(1))


def _derivative_at_a(r: Recipe) -> Recipe:
    """g′ evaluated at the activation a instead of at z, at the output and in the recursion."""
    def output(model: Model, i: int) -> sp.Expr:
        L = model.L
        return model.loss_derivative(i) * model.output_prime(i, at=q("a", L, i))
    return replace(r, output=output, prime=lambda model, l, i: model.prime(l, i, at=q("a", l, i)))


def _scaled_output(factor: sp.Expr) -> Variant:
    """δ^(L) multiplied by ``factor`` (and with it every error propagated from it)."""
    return lambda r: replace(r, output=lambda model, i: factor * r.output(model, i))


def _weight(pick: Callable[[int, int, int], tuple[int, int, int]]) -> Variant:
    """The recursion with Θ^(l) indexed as ``pick(l, k, i)`` instead of Θ^(l)_ki."""
    def weight(model: Model, l: int, k: int, i: int) -> sp.Expr:
        index = pick(l, k, i)
        if not model.exists("Theta", *index):
            raise NotApplicable(f"Theta{list(index)} does not exist")
        return q("Theta", *index)
    return lambda r: replace(r, weight=weight)


def _regularized(change: Callable[[Model, sp.Expr], sp.Expr], *, penalized: bool | None = None) -> Variant:
    """D^(l)_ij with ``change`` applied to the derived expression (or to its penalized branch)."""
    def regularized(model: Model, l: int, i: int, j: int) -> sp.Expr:
        return change(model, model.regularized(l, i, j, penalized=penalized))
    return lambda r: replace(r, regularized=regularized)


def _accumulated_unscaled(d: sp.Expr) -> sp.Expr:
    """``d`` with Δ not divided by m (only the penalty keeps its 1/m); only where there is an m."""
    if not d.has(M):
        raise NotApplicable("no 1/m to miss")
    return d.xreplace({s: s * M for s in d.free_symbols if s.name.startswith("Delta[")})


def _circular(target: Target, names: Set[str]) -> bool:
    """The target's own name, or (for a target made of errors) a δ of its own or an earlier layer."""
    if target.name in names:
        return True
    if target.kind.errors_above is None:
        return False
    above = target.kind.errors_above(target.index)
    return any((p := parse_name(n)) is not None and p[0] == "delta" and int(p[1][0]) <= above for n in names)


for _mistake in (
    Mistake("circular", recognizes=_circular),
    Mistake("sigma_prime_with_cross_entropy", (_sigma_prime_kept,)),
    Mistake("missing_activation_derivative", (_activation_derivative_dropped,)),
    Mistake("derivative_at_a", (_derivative_at_a,)),
    Mistake("sign_flipped", (_scaled_output(sp.Integer(-1)),)),
    Mistake("factor_two", (_scaled_output(sp.Integer(2)), _scaled_output(sp.Rational(1, 2)))),
    Mistake("regularized_bias", (_regularized(lambda model, d: d, penalized=True),)),
    Mistake("lambda_scale", (_regularized(lambda model, d: d.xreplace({LAM: LAM * M})),
                             _regularized(lambda model, d: d.xreplace({LAM: LAM / 2})))),
    Mistake("missing_mean", (_regularized(lambda model, d: d.xreplace({M: sp.Integer(1)})),
                             _regularized(lambda model, d: _accumulated_unscaled(d)))),
    Mistake("bias_row_kept", (_weight(lambda l, k, i: (l, k, i - 1)),)),
    Mistake("missing_transpose", (_weight(lambda l, k, i: (l, i, k)),)),
):
    register(_mistake)
