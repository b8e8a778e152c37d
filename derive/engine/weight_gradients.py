"""∂J/∂Θ^(l)_ij for every weight, element-wise, as SymPy expressions that share their subexpressions.

Backpropagation's point, made concrete: every delta is a symbol δ^(l)_i defined once from the layer
above, δ^(l)_i = (Σ_k Θ^(l)_ki δ^(l+1)_k) · g′(z^(l)_i), so each gradient is the one product
δ^(l+1)_i a^(l)_j (plus the penalty's derivative) and the whole set takes time linear in the number of
weights. The pieces come from the engine's derivation — the output error δ^(L), each hidden g′, the
gradient's form — and from the registry definitions; none is typed in. ``expand=True`` substitutes
every definition, giving each gradient in the inputs x, the targets y and the weights Θ alone (meant for
small networks: the expanded trees grow with the depth).

The cost is that of one example (m = 1): J = loss(a^(L), y) + (λ/2) Σ (Θ^(l)_ij)² over j ≥ 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import sympy as sp
from sympy.core.parameters import evaluate

from derive.model.activations import ACTIVATIONS, Activation
from derive.model.network import Network
from derive.model.notation import q

if TYPE_CHECKING:
    from derive.engine.derivation import Derivation

@dataclass(frozen=True)
class ElementwiseGradients:
    """The gradient of every weight, over a chain of definitions evaluated in order."""

    network: Network
    definitions: tuple[tuple[sp.Symbol, sp.Expr], ...]
    """(quantity, expression in x, y, Θ and quantities defined before it): a^(1) = x, then z and a layer
    by layer forward, then δ layer by layer backward — the shared subexpressions"""
    gradients: Mapping[sp.Symbol, sp.Expr]
    """Θ[l][i][j] → ∂J/∂Θ^(l)_ij, in the defined quantities (or in x, y, Θ alone when ``expanded``)"""
    expanded: bool = False

    def __getitem__(self, index: tuple[int, int, int]) -> sp.Expr:
        """The gradient of Θ^(l)_ij, indexed (l, i, j) as in the notation (j = 0 the bias)."""
        return self.gradients[q("Theta", *index)]

    def __len__(self) -> int:
        return len(self.gradients)

    def evaluate(self, thetas: Sequence[Any], x: Sequence[float], y: Sequence[float]) -> list[list[list[float]]]:
        """Every gradient at one example, by substituting numbers into the definitions in order
        (Θ^(l) as lists of rows, column 0 the bias); the result has the shapes of the Θs."""
        net = self.network
        point: dict[sp.Basic, sp.Basic] = {}
        for n, T in enumerate(thetas, start=1):
            for i, row in enumerate(T, start=1):
                for j, v in enumerate(row):
                    point[q("Theta", n, i, j)] = sp.Float(float(v))
        point.update({q("x", j): sp.Float(float(v)) for j, v in enumerate(x, start=1)})
        point.update({q("y", k): sp.Float(float(v)) for k, v in enumerate(y, start=1)})
        if not self.expanded:
            for quantity, expr in self.definitions:
                point[quantity] = expr.xreplace(point)
        return [[[float(self.gradients[q("Theta", n, i, j)].xreplace(point)) for j in range(s_in + 1)]
                 for i in range(1, s_out + 1)]
                for n, (s_in, s_out) in enumerate(zip(net.layers, net.layers[1:]), start=1)]


def elementwise(net: Network, *, expand: bool = False, derivation: Derivation | None = None) -> ElementwiseGradients:
    """∂J/∂Θ^(l)_ij for every weight of ``net``, the deltas shared as symbols (or, with ``expand``, substituted).

    The output error, the hidden g′ and the gradient's form are ``backprop(net).results``; pass
    ``derivation`` when it is already at hand (the derivation costs the same for any layer widths)."""
    if derivation is None:
        from derive.engine.backprop import backprop

        derivation = backprop(net)
    results = derivation.results
    a, y, z, delta = sp.Symbol("a"), sp.Symbol("y"), sp.Symbol("z"), sp.Symbol("delta")
    L, sizes, names = net.L, net.layers, _Names(net)
    definitions = _forward(net, names)

    # δ^(L): the derived output error, unit by unit (or the layer's own forms when g couples its units)
    if results.output_delta_layer is not None:
        definitions += [(names.delta[L][k], e) for k, e in enumerate(results.output_delta_layer, start=1)]
    else:
        definitions += [(names.delta[L][k], results.output_delta.xreplace({a: names.a[L][k], y: names.y[k],
                                                                           z: names.z[L][k]}))
                        for k in range(1, sizes[-1] + 1)]
    # δ^(l) from δ^(l+1): the element-wise chain rule over the units the unit feeds, times the derived g′
    for layer in range(L - 1, 1, -1):
        prime, theta, below = results.hidden_derivatives[layer - 2], names.theta[layer], names.delta[layer + 1]
        for i in range(1, sizes[layer - 1] + 1):
            back = sp.Add(*(_product(theta[k][i], below[k]) for k in range(1, sizes[layer] + 1)), evaluate=False)
            definitions.append((names.delta[layer][i],
                                back * prime.xreplace({a: names.a[layer][i], z: names.z[layer][i]})))
    # ∂J/∂Θ^(l)_ij: the derived gradient form δ^(l+1)_i a^(l)_j (a_0 = 1) plus the penalty's derivative
    w = sp.Symbol("theta")
    penalty = sp.diff(sp.Rational(repr(net.lam)) / 2 * w**2, w)
    gradients: dict[sp.Symbol, sp.Expr] = {}
    for layer in range(1, L):
        theta, acts = names.theta[layer], (sp.Integer(1), *names.a[layer][1:])
        for i in range(1, sizes[layer] + 1):
            d = names.delta[layer + 1][i]
            for j in range(sizes[layer - 1] + 1):
                unit = _substitute(results.gradient, {delta: d, a: acts[j]})
                gradients[theta[i][j]] = unit + _substitute(penalty, {w: theta[i][j]}) if j and penalty else unit
    if expand:
        values: dict[sp.Basic, sp.Basic] = {}
        for quantity, expr in definitions:
            values[quantity] = expr.xreplace(values)
        gradients = {t: g.xreplace(values) for t, g in gradients.items()}
    return ElementwiseGradients(net, tuple(definitions), MappingProxyType(gradients), expanded=expand)


class _Names:
    """Every quantity symbol of the network made once (``q``), indexed [layer][unit] (1-based) as in the notation."""

    def __init__(self, net: Network) -> None:
        s = (0, *net.layers)
        self.x = [None, *(q("x", j) for j in range(1, s[1] + 1))]
        self.y = [None, *(q("y", k) for k in range(1, s[-1] + 1))]
        self.a, self.z, self.delta = ([[None, *(q(kind, n, i) for i in range(1, s[n] + 1))] if n else []
                                       for n in range(net.L + 1)] for kind in ("a", "z", "delta"))
        self.theta = [[], *([[], *([q("Theta", n, i, j) for j in range(s[n] + 1)] for i in range(1, s[n + 1] + 1))]
                            for n in range(1, net.L))]


def _product(*factors: sp.Expr) -> sp.Expr:
    """The product of the factors, ones left out. Two distinct plain symbols are put in SymPy's canonical order
    (by name) directly, equal to ``sp.Mul(u, v)`` at a tenth of its cost — this runs once per weight."""
    kept = [f for f in factors if f is not sp.S.One]
    if len(kept) == 2 and all(type(f) is sp.Symbol for f in kept) and kept[0].name != kept[1].name:
        u, v = kept
        return sp.Mul._from_args((u, v) if u.name < v.name else (v, u), is_commutative=True)
    return sp.Mul(*kept)


def _substitute(form: sp.Expr, mapping: Mapping[sp.Basic, sp.Basic]) -> sp.Expr:
    """``form.xreplace(mapping)``, taking the fast product when the form is a product of plain symbols."""
    if isinstance(form, sp.Mul) and all(type(f) is sp.Symbol for f in form.args):
        return _product(*(mapping.get(f, f) for f in form.args))
    return form.xreplace(mapping)


def _forward(net: Network, names: _Names) -> list[tuple[sp.Symbol, sp.Expr]]:
    """a^(1) = x; z^(l+1)_i = Θ^(l)_i0 + Σ_j Θ^(l)_ij a^(l)_j; a^(l+1) = g(z^(l+1)) from the registry."""
    sizes = net.layers
    out: list[tuple[sp.Symbol, sp.Expr]] = [(names.a[1][j], names.x[j]) for j in range(1, sizes[0] + 1)]
    for layer in range(1, net.L):
        nxt, g = layer + 1, ACTIVATIONS[net.activation(layer + 1)]
        theta, acts, zs = names.theta[layer], names.a[layer], names.z[nxt][1:]
        for i, z_i in enumerate(zs, start=1):
            terms = (_product(theta[i][j], acts[j]) for j in range(1, sizes[layer - 1] + 1))
            out.append((z_i, sp.Add(theta[i][0], *terms, evaluate=False)))
        out.extend(zip(names.a[nxt][1:], _activations(g, zs)))
    return out


def _activations(g: Activation, zs: Sequence[sp.Symbol]) -> Sequence[sp.Expr]:
    """g over a layer. An element-wise g is built once, on a placeholder, and copied to each unit as it stands
    (building 1/(1 + exp(−z)) anew asks SymPy's assumptions the same questions again, ~5 ms a unit)."""
    if g.unit is None:
        return g.apply(zs)
    u = sp.Dummy("z")
    form = g.unit(u)
    with evaluate(False):
        return [form.xreplace({u: z}) for z in zs]


def naive_cost(net: Network) -> sp.Expr:
    """The cost of one example written out in x, y and Θ alone (no intermediate symbols): the expression
    whose term-by-term ``diff`` is the baseline backpropagation is measured against."""
    from derive.model.losses import LOSSES

    values: dict[sp.Basic, sp.Basic] = {}
    for quantity, expr in _forward(net, _Names(net)):
        values[quantity] = expr.xreplace(values)
    L, g = net.L, ACTIVATIONS[net.output]
    outputs = tuple(values[q("a", L, k)] for k in range(1, net.layers[-1] + 1))
    targets = tuple(q("y", k) for k in range(1, net.layers[-1] + 1))
    lam = sp.Rational(repr(net.lam))
    penalty = sp.Add(*(q("Theta", n, i, j) ** 2 for n, (s_in, s_out) in enumerate(zip(net.layers, net.layers[1:]), 1)
                       for i in range(1, s_out + 1) for j in range(1, s_in + 1)))
    return LOSSES[net.loss].example(outputs, targets, g) + lam / 2 * penalty
