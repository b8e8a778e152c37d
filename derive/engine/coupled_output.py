"""The output error of an activation that couples its layer (softmax), derived for a generic unit.

The derivation works on SymPy's indexed symbols: the loss Σ_j loss(a_j, y_j), the activation's definition of
output i in z_1 … z_K (``Activation.layer``), differentiated by SymPy with symbolic units i, k and a symbolic
layer size K. Each chain is checked through concrete instances — the same expressions with the units and K
replaced by numbers — against the definitions of the network's own output layer, and the vector form is
checked unit by unit against δ_k = ∂J/∂z_k for every unit of the layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import sympy as sp

from derive.engine.calculus import indexed_identity, tidy
from derive.engine.derivation import Chain, Checker, Section, section
from derive.engine.expressions import Indicator, Partial, Product, hadamard_form
from derive.model.activations import Activation
from derive.model.losses import LOSSES, Loss
from derive.model.network import Network
from derive.model.notation import q

J = q("J")
I, K_, S_ = sp.symbols("i k j")
"""the generic units: i the unit whose error is derived, k the unit summed over; j the loss's own sum index"""
SIZE = q("K")
A, Z, Y = (sp.IndexedBase(n) for n in ("a", "z", "y"))
_P, _N = sp.symbols("_P _N", integer=True, nonnegative=True)


def within_layer(expr: sp.Expr) -> sp.Expr:
    """expr with every condition on the units that holds inside the layer (1 ≤ k ≤ K) taken as true, so that
    the Piecewise SymPy leaves after summing an indicator collapses to its first branch."""
    def decide(rel: sp.Basic) -> sp.Basic:
        units = rel.free_symbols - {SIZE}
        if len(units) != 1:
            return rel
        (unit,) = units
        value = rel.xreplace({unit: 1 + _P}).xreplace({SIZE: 1 + _P + _N})
        return value if value in (sp.true, sp.false) else rel

    return expr.replace(lambda e: isinstance(e, sp.core.relational.Relational), decide)


def _sum_indicators(expr: sp.Expr) -> sp.Expr:
    """Every Σ holding an indicator evaluated: the indicator keeps the one term it selects."""
    return within_layer(expr.replace(lambda e: isinstance(e, sp.Sum) and e.has(sp.KroneckerDelta),
                                     lambda e: e.doit()))


class _Layer:
    """The output layer L of K units: display names, and concrete instances of generic expressions."""

    def __init__(self, net: Network) -> None:
        self.L, self.K = net.L, net.layers[-1]

    def named(self, expr: sp.Basic) -> sp.Basic:
        """expr in the notation's quantities: a[i] → a[L][i], y[k] → y[k], KroneckerDelta → 1[i = k]."""
        def name(e: sp.Indexed) -> sp.Symbol:
            base, (unit,) = e.base.name, e.indices
            return q("y", unit) if base == "y" else q(base, self.L, unit)

        expr = expr.replace(lambda e: isinstance(e, sp.Indexed), name)
        expr = expr.replace(lambda e: type(e) is sp.KroneckerDelta, lambda e: Indicator(*e.args))
        # the indicator first, as lecturers write it: a_i(1[i = k] − a_k)
        return expr.replace(lambda e: isinstance(e, sp.Add) and e.has(Indicator),
                            lambda e: sp.Add(*sorted(e.args, key=lambda t: not t.has(Indicator)), evaluate=False))

    def at(self, expr: sp.Basic, **units: int) -> sp.Basic:
        """The instance of a generic expression at concrete units (i=1, k=2) in this layer of K units: every Σ
        over the units written out, every indicator decided."""
        concrete = expr.xreplace({**{sp.Symbol(n): v for n, v in units.items()}, SIZE: self.K})
        concrete = concrete.replace(lambda e: isinstance(e, sp.Sum), _written_out)
        return self.named(concrete)


def _written_out(s: sp.Sum) -> sp.Expr:
    """A Σ over concrete bounds as the sum of its terms (what ``doit`` gives, without its search for a closed
    form); any other Σ by ``doit``."""
    if not all(lo.is_Integer and hi.is_Integer and hi - lo < 10_000 for _, lo, hi in s.limits):
        return s.doit()
    terms = [s.function]
    for var, lo, hi in s.limits:
        terms = [t.xreplace({var: sp.Integer(v)}) for t in terms for v in range(int(lo), int(hi) + 1)]
    return sp.Add(*terms)


def output_delta(net: Network, g: Activation, ck: Checker) -> tuple[Section, tuple[sp.Expr, tuple[sp.Expr, ...]]]:
    """δ^(L)_i for a generic unit i of a layer-coupled output, its Jacobian ∂a_i/∂z_k, and the vector form;
    returns the section and (δ in the one-unit symbols a, y, z; δ_1 … δ_K in a[L][k], y[k]).

    The generic chains (``_generic``) depend only on the loss and the activation and are derived once per
    process; every network checks them again through its own instances."""
    layer = _Layer(net)
    L, K = layer.L, layer.K
    loss = LOSSES[net.loss]

    # the network's own output layer, for the concrete instances
    zs = [q("z", L, k) for k in range(1, K + 1)]
    As = [q("a", L, k) for k in range(1, K + 1)]
    ys = [q("y", k) for k in range(1, K + 1)]
    for y in ys:
        ck.domain[y] = (0.05, 0.95)
    for a_k, v in zip(As, g.apply(zs)):
        ck.define(a_k, v)
    ck.define(J, loss.example(tuple(As), tuple(ys), g))
    for k in range(1, K + 1):
        ck.define(q("delta", L, k), Partial(J, zs[k - 1]))

    recipes, result = _generic(loss, g)
    chains = []
    for recipe in recipes:
        chain = _Generic(layer, ck, recipe.id, recipe.lhs, recipe.names, recipe.units)
        for rule, rhs, note, args in recipe.steps:
            if rule == "targets_sum_to_one":
                # the targets a sum-to-one output is compared with are a distribution too (one-hot)
                ck.assume.update({ys[-1]: 1 - sp.Add(*ys[:-1])})
            chain.then(rule, rhs, note=note, **dict(args))
        chains.append(chain.chain)
    plain = {A[I]: sp.Symbol("a"), Y[I]: sp.Symbol("y"), Z[I]: sp.Symbol("z")}
    per_unit = tuple(layer.at(result, i=k) for k in range(1, K + 1))
    if not (result.xreplace(plain).atoms(sp.Indexed) or result.has(sp.Sum)):
        vector = Chain(ck, "output_delta.vector", q("delta", L),
                       instances=[sp.ImmutableMatrix([q("delta", L, k) for k in range(1, K + 1)])])
        vectors = {A[I]: q("a", L), Y[I]: q("y"), Z[I]: q("z", L)}
        vector.then("vectorize", hadamard_form(result.xreplace(vectors)), instances=[sp.ImmutableMatrix(per_unit)])
        chains.append(vector)
    one_unit = layer.named(result.xreplace(plain))
    return section("output_delta", *chains, layer=L), (one_unit, per_unit)


@dataclass
class _Recipe:
    """A chain over generic units as SymPy derived it: its left side, the units it is instanced at, and each
    step's rule, right side, note and rule arguments (a step equal to the one before is left out)."""

    id: str
    lhs: sp.Expr
    names: str
    units: Sequence[tuple[int, ...]]
    steps: list[tuple[str, sp.Expr, str | None, tuple[tuple[str, object], ...]]] = field(default_factory=list)

    @property
    def last(self) -> sp.Expr:
        return self.steps[-1][1] if self.steps else self.lhs

    def then(self, rule: str, rhs: sp.Expr, *, note: str | None = None, **args: object) -> None:
        if rhs != self.last:
            self.steps.append((rule, rhs, note, tuple(args.items())))


@lru_cache(maxsize=32)
def _generic(loss: Loss, g: Activation) -> tuple[tuple[_Recipe, ...], sp.Expr]:
    """The chains of δ_i for a generic unit i of a layer of SIZE units — ∂J/∂a_k, ∂a_i/∂z_k and δ_i by the
    chain rule — and δ_i itself: the same for every network with this loss and output activation (the registry
    entries themselves: one registered again under its name is derived afresh)."""
    definition = g.layer
    assert definition is not None

    def value(unit: sp.Expr) -> sp.Expr:
        return definition(Z, unit, SIZE)

    pairs = [(1, 1), (1, 2), (2, 1)]   # a diagonal and both off-diagonal entries
    units = [(1,), (2,)]

    # ∂J/∂a_k: the loss is a sum over the units, and only its k-th term holds a_k
    example = sp.Sum(loss.term(A[S_], Y[S_], g), (S_, 1, SIZE))
    dJda = _Recipe("output_delta.loss", Partial(J, A[K_]), "k", units)
    dJda.then("definition_loss", sp.Derivative(example, A[K_]), loss=loss.name)
    dJda.then("derivative_log" if example.has(sp.log) else "derivative_sum", sp.diff(example, A[K_]))
    dJda.then("indicator_sum", _sum_indicators(dJda.last))
    dJda.then("simplify", tidy(dJda.last))

    # ∂a_i/∂z_k: SymPy's derivative of the definition, then the same in the outputs themselves
    jac = _Recipe("output_delta.activation", Partial(A[I], Z[K_]), "ik", pairs)
    jac.then("definition_activation", sp.Derivative(value(I), Z[K_]), activation=g.name)
    jac.then("derivative_quotient", sp.diff(value(I), Z[K_]))
    jac.then("indicator_sum", _sum_indicators(jac.last))
    found = indexed_identity(jac.last, {A[I]: value(I), A[K_]: value(K_)}, (I, K_), SIZE)
    if found is not None:
        jac.then("activation_identity", found, activation=g.name)
        jac.then("simplify", tidy(found))

    # δ_i = Σ_k ∂J/∂a_k · ∂a_k/∂z_i
    swap = {I: K_, K_: I}
    delta = _Recipe("output_delta.chain", sp.Indexed(sp.IndexedBase("delta"), I), "i", units)
    delta.then("definition_delta", Partial(J, Z[I]), note="one_example")
    delta.then("chain_rule_layer", sp.Sum(Product(Partial(J, A[K_]), Partial(A[K_], Z[I])), (K_, 1, SIZE)))
    summand = Product(dJda.last, jac.last.xreplace(swap))
    delta.then("substitute", sp.Sum(summand, (K_, 1, SIZE)))
    delta.then("cancel", sp.Sum(tidy(summand.doit()), (K_, 1, SIZE)))
    delta.then("expand", _split(sp.expand(summand.doit())))
    delta.then("indicator_sum", _sum_indicators(delta.last))
    total = sp.Sum(Y[K_], (K_, 1, SIZE))
    if g.sums_to_one and delta.last.has(total):
        delta.then("targets_sum_to_one", delta.last.xreplace({total: sp.Integer(1)}), note="targets_sum_to_one")
    result = delta.last
    if sp.count_ops(tidy(result)) < sp.count_ops(result):
        result = tidy(result)
        delta.then("simplify", result)
    return (dJda, jac, delta), result


def _split(expr: sp.Expr) -> sp.Expr:
    """Σ_k of a sum written as a sum of Σ_k, each with the factors that do not depend on k in front."""
    terms = []
    for term in sp.Add.make_args(expr):
        outside, inside = term.as_independent(K_, as_Add=False)
        terms.append(outside * sp.Sum(inside, (K_, 1, SIZE)) if inside != 1 else term * SIZE)
    return sp.Add(*terms)


class _Generic:
    """A chain over generic units: each side kept in indexed form (for SymPy), shown in the notation's names,
    and checked through its instances at concrete units."""

    def __init__(self, layer: _Layer, ck: Checker, id: str, lhs: sp.Expr, names: str,
                 instances: Sequence[tuple[int, ...]]) -> None:
        self.layer, self.names, self.units = layer, names, list(instances)
        self.chain = Chain(ck, id, layer.named(lhs), instances=[self._at(lhs, u) for u in self.units])
        self.last: sp.Expr = lhs

    def _at(self, expr: sp.Expr, units: tuple[int, ...]) -> sp.Basic:
        return self.layer.at(expr, **dict(zip(self.names, units)))

    def then(self, rule: str, rhs: sp.Expr, *, note: str | None = None, **args: object) -> None:
        if rhs == self.last:
            return
        self.chain.then(rule, self.layer.named(rhs), note=note, instances=[self._at(rhs, u) for u in self.units],
                        **args)
        self.last = rhs

