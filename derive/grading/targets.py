"""What each grading target means (SPEC §8), and its expected result, built from the derivation.

A result is assembled from the derivation's pieces by a ``Recipe``: δ^(L)_i (the derived output error),
g′ of a hidden unit (the derived hidden derivative), the weight Θ^(l)_ki that carries δ^(l+1)_k back to
unit i, and the regularized gradient D^(l)_ij (the derivation's regularization step). The derived
recipe gives the expected result; a mistake (mistakes.py) is the same recipe with one piece changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property

import sympy as sp

from derive.engine.backprop import LAM, unit_derivative
from derive.engine.calculus import layer_identity
from derive.engine.derivation import Derivation
from derive.model.activations import ACTIVATIONS
from derive.model.network import Network
from derive.model.notation import PROFILES, Alias, q

from .errors import Unreadable, shown
from .names import ONE_UNIT, Kind, check_index, kinds, written_kind


class NotApplicable(Exception):
    """A piece a recipe cannot build for this network or unit (a mistake that makes no sense here)."""


class Model:
    """The derived pieces of one network, in the quantity symbols of the answer language."""

    def __init__(self, derivation: Derivation) -> None:
        self.derivation = derivation
        self.net: Network = derivation.network
        self.results = derivation.results

    @property
    def L(self) -> int:
        return self.net.L

    def size(self, layer: int) -> int:
        return self.net.layers[layer - 1]

    @cached_property
    def _plain(self) -> tuple[sp.Symbol, sp.Symbol, sp.Symbol]:
        return sp.symbols("a y z")

    def _unit(self, expr: sp.Expr, layer: int, unit: int) -> sp.Expr:
        a, y, z = self._plain
        return expr.xreplace({a: q("a", layer, unit), y: q("y", unit), z: q("z", layer, unit)})

    def output_delta(self, unit: int) -> sp.Expr:
        """δ^(L)_unit as derived."""
        if self.results.output_delta_layer is not None:
            return self.results.output_delta_layer[unit - 1]
        return self._unit(self.results.output_delta, self.L, unit)

    def loss_derivative(self, unit: int) -> sp.Expr:
        """∂loss/∂a^(L)_unit: the last step of the derivation's loss chain (element-wise outputs only)."""
        steps = [s for s in self.derivation.section("output_delta").steps if s.id.startswith("output_delta.loss.")]
        if not steps:
            raise NotApplicable("the output layer's derivation has no separate loss derivative")
        L = self.L
        # the one-unit chain is written for a[L], y; a layer-coupled output's for a generic unit a[L][k], y[k]
        return steps[-1].rhs.xreplace({q("a", L): q("a", L, unit), q("y"): q("y", unit),
                                       q("a", L, "k"): q("a", L, unit), q("y", "k"): q("y", unit)})

    def output_prime(self, unit: int, *, at: sp.Expr | None = None) -> sp.Expr:
        """∂a^(L)_unit/∂z^(L)_unit: g′ of the output (its diagonal term for softmax), at z or at ``at``."""
        L, g = self.L, ACTIVATIONS[self.net.output]
        z, a = q("z", L, unit), q("a", L, unit)
        if g.elementwise:
            prime = unit_derivative(g.name, z, a)
            return prime.in_z.xreplace({z: at}) if at is not None else prime.best
        if at is not None:
            raise NotApplicable("softmax has no one-unit derivative to take at a")
        zs = [q("z", L, k) for k in range(1, self.size(L) + 1)]
        As = [q("a", L, k) for k in range(1, self.size(L) + 1)]
        values = g.apply(zs)
        d = sp.diff(values[unit - 1], zs[unit - 1])
        found = layer_identity(d, values, zs, As)
        return found if found is not None else d

    def prime(self, layer: int, unit: int, *, at: sp.Expr | None = None) -> sp.Expr:
        """g′(z^(layer)_unit) of a hidden unit as derived (in a where it can be), or at ``at``."""
        if at is None:
            return self._unit(self.results.hidden_derivatives[layer - 2], layer, unit)
        z, a = q("z"), q("a")
        return unit_derivative(self.net.activation(layer), z, a).in_z.xreplace({z: at})

    def regularized(self, layer: int, i: int, j: int, *, penalized: bool | None = None) -> sp.Expr:
        """D^(layer)_ij from the derivation's regularization step; ``penalized`` forces the branch with λ."""
        step = next(s for s in self.derivation.section("regularized").steps if s.id == "regularized.D")
        el, ii, jj = sp.symbols("l i j")
        rename = {q("Delta", el, ii, jj): q("Delta", layer, i, j), q("Theta", el, ii, jj): q("Theta", layer, i, j),
                  jj: sp.Integer(j)}
        if self.net.lam == 0:
            rename[LAM] = sp.Integer(0)
        rhs = step.rhs
        if penalized and isinstance(rhs, sp.Piecewise):
            rhs = next(value for value, _ in rhs.args if value.has(LAM))
        return rhs.xreplace(rename)

    def exists(self, kind: str, *index: int) -> bool:
        try:
            check_index(self.net, kinds(self.net)[kind], kind, index)
        except Unreadable:
            return False
        return True

    @property
    def lam(self) -> sp.Expr:
        """λ as an exact number (the network's value)."""
        return sp.Rational(Fraction(repr(self.net.lam)))


@dataclass(frozen=True)
class Recipe:
    """How each piece of a result is obtained. The derived recipe is ``DERIVED``; a mistake changes a piece."""

    output: Callable[[Model, int], sp.Expr] = Model.output_delta
    """δ^(L)_i"""
    prime: Callable[[Model, int, int], sp.Expr] = Model.prime
    """g′(z^(l)_i) of a hidden unit"""
    weight: Callable[[Model, int, int, int], sp.Expr] = lambda model, l, k, i: q("Theta", l, k, i)
    """the weight that carries δ^(l+1)_k back to unit i of layer l: Θ^(l)_ki"""
    regularized: Callable[[Model, int, int, int], sp.Expr] = Model.regularized
    """D^(l)_ij"""


DERIVED = Recipe()


def error(model: Model, recipe: Recipe, layer: int, unit: int, *, expand: bool) -> sp.Expr:
    """δ^(layer)_unit by ``recipe``: deeper errors as names, or (``expand``) built by the recipe too."""
    if layer == model.L:
        return recipe.output(model, unit)
    deeper = [error(model, recipe, layer + 1, k, expand=True) if expand else q("delta", layer + 1, k)
              for k in range(1, model.size(layer + 1) + 1)]
    back = sp.Add(*(recipe.weight(model, layer, k, unit) * d for k, d in enumerate(deeper, start=1)))
    return back * recipe.prime(model, layer, unit)


# --- the targets ------------------------------------------------------------------------------------------
Builder = Callable[[Model, Recipe, tuple[int, ...], bool], sp.Expr]


def _delta(model: Model, recipe: Recipe, index: tuple[int, ...], expand: bool) -> sp.Expr:
    layer, unit = index
    return error(model, recipe, layer, unit, expand=expand)


def _d_theta(model: Model, recipe: Recipe, index: tuple[int, ...], expand: bool) -> sp.Expr:
    layer, i, j = index
    below = sp.Integer(1) if j == 0 else q("a", layer, j)
    return error(model, recipe, layer + 1, i, expand=expand) * below


def _d(model: Model, recipe: Recipe, index: tuple[int, ...], expand: bool) -> sp.Expr:
    return recipe.regularized(model, *index)


def _output_delta(model: Model, recipe: Recipe, index: tuple[int, ...], expand: bool) -> sp.Expr:
    return recipe.output(model, 1)


def _hidden_derivative(model: Model, recipe: Recipe, index: tuple[int, ...], expand: bool) -> sp.Expr:
    return recipe.prime(model, model.L - 1, 1)


@dataclass(frozen=True)
class TargetKind:
    name: str
    example: str
    ranges: str | None
    """the name kind (names.py) whose index ranges the target's indices have, None for a one-unit target"""
    build: Builder
    errors_above: Callable[[tuple[int, ...]], int] | None = None
    """an answer may use only the errors δ of layers above this one (None: the target is not made of errors);
    a δ of this layer or an earlier one is computed from the target itself, which makes the answer circular"""


TARGETS: dict[str, TargetKind] = {t.name: t for t in (
    TargetKind("delta", "delta[l][i]", "delta", _delta, errors_above=lambda index: index[0]),
    TargetKind("dTheta", "dTheta[l][i][j]", "Theta", _d_theta, errors_above=lambda index: index[0]),
    TargetKind("D", "D[l][i][j]", "Theta", _d),
    TargetKind("output_delta", "output_delta", None, _output_delta),
    TargetKind("hidden_derivative", "hidden_derivative", None, _hidden_derivative),
)}

_TARGET = re.compile(r"\s*([A-Za-z_]+)((?:\[\s*\d{1,9}\s*\])*)\s*", re.ASCII)


@dataclass(frozen=True)
class Target:
    """A parsed target: its kind and indices; one-unit targets say which network unit a, y and z are."""

    name: str
    kind: TargetKind
    index: tuple[int, ...]
    alias: Mapping[str, str] = field(default_factory=dict)
    """one-unit name -> network name (empty for the other targets)"""

    @property
    def one_unit(self) -> bool:
        return self.kind.ranges is None

    def build(self, model: Model, recipe: Recipe = DERIVED, *, expand: bool = False) -> sp.Expr:
        """The result by ``recipe``, in network names (a one-unit target's unit is a named unit)."""
        return self.kind.build(model, recipe, self.index, expand)

    def display(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` in the names the answer is written in (a, y, z for a one-unit target)."""
        return expr.xreplace({sp.Symbol(v): sp.Symbol(k) for k, v in self.alias.items()})


def target_names(net: Network) -> dict[str, Alias]:
    """The targets by the names the network's notation writes them in, each as the target it is."""
    own = PROFILES[net.notation].targets
    return dict(own) if own else {k: Alias(k, t.example) for k, t in TARGETS.items()}


def parse_target(net: Network, text: str) -> Target:
    """The target named ``text`` for ``net``; Unreadable naming the allowed targets and ranges otherwise."""
    table = target_names(net)
    allowed = ", ".join(alias.form for alias in table.values())
    m = _TARGET.fullmatch(text or "")
    if not m or m.group(1) not in table:
        raise Unreadable("unknown_target", name=shown((text or "")[:40]), allowed=allowed)
    alias = table[m.group(1)]
    kind = TARGETS[alias.kind]
    index = tuple(int(i) for i in re.findall(r"[0-9]+", m.group(2)))
    name = m.group(1) + "".join(f"[{i}]" for i in index)
    if kind.ranges is not None:
        ranges: Kind = kinds(net)[kind.ranges]
        written = written_kind(net, alias, Kind(kind.name, kind.example, ranges.layers, ranges.units))
        check_index(net, written, name, index)
        return Target(name, kind, tuple(int(i) for i in alias.canonical(tuple(map(str, index)))))
    if index:
        raise Unreadable("index_count", name=name, count=0, example=kind.example)
    return Target(name, kind, (), _alias(net, kind.name))


def _alias(net: Network, kind: str) -> dict[str, str]:
    """Which unit a one-unit target's a, y, z stand for: output unit 1, or unit 1 of the last hidden layer."""
    L = net.L
    if kind == "hidden_derivative":
        if L < 3:
            raise Unreadable("no_hidden", name=kind)
        layer = L - 1
    else:
        layer = L
    names = {"a": f"a[{layer}][1]", "y": "y[1]", "z": f"z[{layer}][1]"}
    return {k: names[k] for k in ONE_UNIT}
