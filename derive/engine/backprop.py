"""Backpropagation, derived: from a Network to a checked Derivation.

Every right-hand side here comes from SymPy working on the registry definitions (the activation's g,
the loss's unit term); nothing is typed in as a result. The sections follow the slides: forward pass,
cost, output error δ^(L), the hidden recursion, the weight gradients, regularization and the update.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import sympy as sp

from derive.engine.calculus import explain_derivative, over_common_denominator, polynomial_identity, tidy
from derive.engine.derivation import (
    Chain,
    Checker,
    Derivation,
    Results,
    Section,
    Step,
    definition,
    in_form,
    section,
    unchecked,
)
from derive.engine.expressions import Applied, Hadamard, Partial, Product, Underbrace, hadamard_form
from derive.errors import NotSupportedError
from derive.io.progress import task
from derive.model.activations import ACTIVATIONS, Activation
from derive.model.losses import LOSSES
from derive.model.network import Network
from derive.model.notation import q

if TYPE_CHECKING:
    from derive.layers import LayeredNetwork

CHECK_UNITS = 4
LOSS_UNITS = 2
"""units per layer in the checks that hold for an arbitrary loss (every index pattern shows with two)"""
"""element-wise identities are checked on at most this many units per layer (they are structural)"""

MAX_COUPLED_UNITS = 10
"""an output that couples its units (softmax) is derived over all of them at once, at a cost growing faster
than their square: beyond this many (the ten digit classes) backprop refuses unless given a higher max_units"""

REDUCTIONS: dict[str, Callable[[sp.Symbol], sp.Expr]] = {"mean": lambda m: 1 / m, "sum": lambda m: sp.Integer(1)}
"""the factor each example's loss carries in J (SPEC §1)"""

G, G_PRIME = sp.Symbol("g"), sp.Symbol("g'")
UNIT, VECTOR = "bias_unit", "bias_vector"
"""the two ways of writing the bias (Step.form): a unit a_0 = 1 with Θ's column 0, or a separate vector b"""


def g_of(activation: str) -> sp.Symbol:
    """The function symbol of ``activation`` (g, or the activation's own, as the notation profile writes it)."""
    return sp.Symbol(f"g[{activation}]")


def g_prime_of(activation: str) -> sp.Symbol:
    """The symbol of the activation's derivative (g′, σ′, tanh′ …)."""
    return sp.Symbol(f"g'[{activation}]")
M, LAM, ALPHA = q("m"), q("lambda"), q("alpha")
J = q("J")


@dataclass(frozen=True)
class UnitDerivative:
    """g′ for one unit: the plain derivative in z and, where one exists, the proven form in a = g(z)."""

    in_z: sp.Expr
    in_a: sp.Expr | None

    @property
    def best(self) -> sp.Expr:
        return self.in_a if self.in_a is not None else self.in_z


def unit_derivative(name: str, z: sp.Symbol, a: sp.Symbol) -> UnitDerivative:
    """dg/dz for an element-wise activation, with the identity in a found and proven when there is one.

    Found and proven once per registry entry on two placeholder symbols (with z's and a's assumptions), then
    written in z and a: the same identity is not proven again for each layer or unit."""
    generic, z_, a_ = _generic_derivative(ACTIVATIONS[name], tuple(sorted(z.assumptions0.items())),
                                          tuple(sorted(a.assumptions0.items())))
    rename = {z_: z, a_: a}
    return UnitDerivative(generic.in_z.xreplace(rename),
                          None if generic.in_a is None else generic.in_a.xreplace(rename))


@lru_cache(maxsize=64)
def _generic_derivative(g: Activation, z_assumptions: tuple[tuple[str, bool], ...],
                        a_assumptions: tuple[tuple[str, bool], ...]) -> tuple[UnitDerivative, sp.Symbol, sp.Symbol]:
    """``unit_derivative`` on placeholders; keyed on the entry itself (a name registered anew is derived anew)."""
    assert g.unit is not None
    z, a = sp.Dummy("z", **dict(z_assumptions)), sp.Dummy("a", **dict(a_assumptions))
    value = g.unit(z)
    d = sp.diff(value, z)
    return UnitDerivative(d, polynomial_identity(d, value, z, a)), z, a


def backprop(net: Network | LayeredNetwork, *, max_units: int = MAX_COUPLED_UNITS) -> Derivation:
    """The full derivation for ``net``: every step derived by SymPy and checked before it is returned.

    ``max_units`` bounds the units of a layer-coupled output (softmax); element-wise layers of any size
    are derived in vector form, checked on a few units.
    """
    if not isinstance(net, Network):  # a layered network (SPEC §9)
        from derive.layers.derivation import backprop as layered

        return layered(net, max_units=max_units)
    _within_bounds(net, max_units)
    with task("derivation", total=net.L) as advance:  # a bar on a terminal once it runs over a second
        sections = [_forward(net), _cost(net)]
        output, (delta_result, delta_layer) = _output_delta(net)
        advance(note="output delta")
        sections.append(output)
        hidden = []
        for layer in range(net.L - 1, 1, -1):
            hidden.append(_hidden_delta(net, layer))
            advance(note=f"hidden delta {layer}")
        sections.extend(s for s, _ in hidden)
        sections.extend(_gradient(net, layer) for layer in range(net.L - 1, 0, -1))
        advance(note="gradients")
    sections.append(_regularized(net))
    sections.append(_update(net))
    primes = tuple(d for _, d in reversed(hidden))
    results = _results(delta_result, delta_layer, primes, sections)
    return Derivation(net, tuple(sections), results)


def results(net: Network, *, max_units: int = MAX_COUPLED_UNITS) -> Results:
    """``backprop(net).results``, computed by the same code without checking every step on the way: the output
    error's sections, each hidden g′ (``unit_derivative``, its identity proven as it is found) and the gradient's
    form. For the numeric functions, which tests compare with finite differences; a document needs ``backprop``.
    """
    _within_bounds(net, max_units)
    with unchecked():
        _, (delta_result, delta_layer) = _output_delta(net)
        primes = tuple(_hidden_derivative(net, layer) for layer in range(2, net.L))
        return _results(delta_result, delta_layer, primes, [_gradient(net, 1)])


def _results(delta: sp.Expr, layer: tuple[sp.Expr, ...] | None, primes: tuple[sp.Expr, ...],
             sections: list[Section]) -> Results:
    return Results(output_delta=delta, hidden_derivative=primes[-1] if primes else None,
                   gradient=_one_unit_gradient(sections), hidden_derivatives=primes, output_delta_layer=layer)


def _within_bounds(net: Network, max_units: int) -> None:
    K = net.layers[-1]
    if not ACTIVATIONS[net.output].elementwise and K > max_units:
        raise NotSupportedError(
            f"output {net.output!r} couples its {K} units, and deriving it takes time growing faster than "
            f"{K}²; at most {max_units} such units are derived (--max-units {max_units}); use fewer output "
            f"units or raise --max-units (expect minutes)")


def _forward(net: Network) -> Section:
    steps: list[Step] = [definition("forward.1", q("a", 1), q("x"), note="input_layer")]
    for layer in range(1, net.L):
        nxt = layer + 1
        theta = sp.Symbol(f"Theta[{layer}]", commutative=False)
        act = sp.Symbol(f"a[{layer}]", commutative=False)
        steps.append(definition(f"forward.z{nxt}", q("z", nxt), theta * act, note="add_bias", layer=layer, form=UNIT))
        steps.append(definition(f"forward.z{nxt}b", q("z", nxt),
                                sp.Add(theta * act, sp.Symbol(f"b[{layer}]"), evaluate=False), note="bias_vector",
                                layer=layer, next=nxt, form=VECTOR))
        whole = not ACTIVATIONS[net.activation(nxt)].elementwise  # softmax: the layer's vector at once
        steps.append(definition(f"forward.a{nxt}", q("a", nxt),
                                Applied(g_of(net.activation(nxt)), q("z", nxt), q("z", nxt)),
                                note="activation_layer" if whole else "activation", activation=net.activation(nxt),
                                layer=nxt))
    return section("forward", *steps)


def _cost(net: Network) -> Section:
    out = ACTIVATIONS[net.output]
    k, i, j, el = sp.symbols("k i j l")
    K, L = q("K"), net.L
    term = LOSSES[net.loss].term(q("a", L, k), q("y", k), out)
    scale = REDUCTIONS[net.reduction](M)
    data = scale * sp.Sum(sp.Sum(term, (k, 1, K)), (i, 1, M))
    reg = LAM * scale / 2 * sp.Sum(q("Theta", el, i, j) ** 2, (j, 1, q("s", el)), (i, 1, q("s", "l+1")), (el, 1, L - 1))
    # the same penalty over the weights w^l (l = 2 … L, Θ^(l−1) without its bias column) that feed each layer
    k_ = sp.Symbol("k")
    weights = LAM * scale / 2 * sp.Sum(q("Theta", "l-1", j, k_) ** 2, (k_, 1, q("s", "l-1")), (j, 1, q("s", el)),
                                       (el, 2, L))
    steps = [definition("cost.J", J, sp.Add(data, reg, evaluate=False), note="cost", loss=net.loss,
                        reduction=net.reduction, form=UNIT),
             definition("cost.C", J, sp.Add(data, weights, evaluate=False), note="cost", loss=net.loss,
                        reduction=net.reduction, form=VECTOR)]
    return section("cost", *steps)


def _output_delta(net: Network) -> tuple[Section, tuple[sp.Expr, tuple[sp.Expr, ...] | None]]:
    g = ACTIVATIONS[net.output]
    if g.elementwise:
        return _output_delta_unit(net, g)
    return _output_delta_layer(net, g)


def _unit_checker(net: Network) -> Checker:
    low, high = LOSSES[net.loss].targets or (-1.0, 1.0)
    y = q("y")
    return Checker(domain={y: (low + 0.05, high - 0.05)})


def _output_delta_unit(net: Network, g: Activation) -> tuple[Section, tuple[sp.Expr, None]]:
    """δ^(L) for one output unit of an element-wise activation: ∂J/∂a · ∂a/∂z, each derived in steps."""
    assert g.unit is not None
    L = net.L
    a, z, y, d = q("a", L), q("z", L), q("y"), q("delta", L)
    term = LOSSES[net.loss].term(a, y, g)
    ck = _unit_checker(net)
    ck.define(J, term)
    ck.define(a, g.unit(z))
    ck.define(d, Partial(J, z))

    delta = Chain(ck, "output_delta.chain", d)
    delta.then("definition_delta", Partial(J, z), note="one_example")
    delta.then("chain_rule", Product(Partial(J, a), Partial(a, z)))

    dJda = Chain(ck, "output_delta.loss", Partial(J, a))
    dJda.then("definition_loss", sp.Derivative(term, a), loss=net.loss)
    for rule, expr in explain_derivative(term, a):
        dJda.then(rule, expr)
    common = over_common_denominator(dJda.last)
    if common is not None:
        dJda.then("common_denominator", common)
    dJda.then("cancel", tidy(dJda.last))

    dadz = Chain(ck, "output_delta.activation", Partial(a, z))
    dadz.then("definition_activation", sp.Derivative(g.unit(z), z), activation=g.name)
    for rule, expr in explain_derivative(g.unit(z), z):
        dadz.then(rule, expr)
    prime = unit_derivative(g.name, z, a)
    dadz.then("simplify", prime.in_z)
    if prime.in_a is not None:
        dadz.then("activation_identity", prime.in_a.xreplace({a: Applied(g_of(g.name), z, g.unit(z))}),
                  activation=g.name)
        dadz.then("substitute_activation", prime.in_a, activation=g.name)

    result = tidy(dJda.last * dadz.last)
    product = Chain(ck, "output_delta.product", d)
    # δ^(L) names the whole output layer: a product of two of its vectors is element-wise (∘), never ·
    local = dadz.last.args if isinstance(dadz.last, sp.Mul) else (dadz.last,)
    product.then("substitute", Hadamard(dJda.last, *local) if dadz.last != 1 else Product(dJda.last, dadz.last))
    parts = (dJda.last, dadz.last)
    fractions = any(sp.fraction(sp.together(p))[1] != 1 for p in parts)
    if fractions or 1 in parts:  # something cancels; (a − y)·a(1 − a) is not reordered or refactored
        product.then("cancel" if fractions else "simplify", result)
    plain_a, plain_y, plain_z = sp.symbols("a y z")
    one_unit = result.xreplace({a: plain_a, y: plain_y, z: plain_z})
    return section("output_delta", delta, dJda, dadz, product, layer=L), (one_unit, None)


def _output_delta_layer(net: Network, g: Activation) -> tuple[Section, tuple[sp.Expr, tuple[sp.Expr, ...]]]:
    """δ^(L) for an activation that couples the layer (softmax), derived for a generic unit (see coupled.py)."""
    from derive.engine import coupled_output as coupled  # only a layer-coupled output needs it

    return coupled.output_delta(net, g, _unit_checker(net))


def _hidden_delta(net: Network, layer: int) -> tuple[Section, sp.Expr]:
    """δ^(l) from δ^(l+1): the element-wise chain rule, then the vector form, checked on concrete units."""
    nxt, act = layer + 1, net.activation(layer)
    i, k = sp.symbols("i k")
    n_here, n_next = (min(n, CHECK_UNITS) for n in (net.layers[layer - 1], net.layers[layer]))
    g = ACTIVATIONS[act]
    assert g.unit is not None
    prime = unit_derivative(act, q("z"), q("a"))

    def forms(i_: sp.Expr, ks: list | None) -> list[tuple[str, sp.Expr]]:
        """The chain for unit i_, summed over ks (concrete) or over k = 1 … s_{l+1} (ks None)."""
        z_i, a_i = q("z", layer, i_), q("a", layer, i_)

        def over(term: Callable[[sp.Expr], sp.Expr]) -> sp.Expr:
            if ks is None:
                return sp.Sum(term(k), (k, 1, q("s", nxt)))
            return sp.Add(*(term(kk) for kk in ks), evaluate=False)

        gp_z = Applied(g_prime_of(act), z_i, prime.in_z.xreplace({q("z"): z_i}))
        out = [
            ("definition_delta", Partial(J, z_i)),
            ("chain_rule", over(lambda kk: Product(Underbrace(Partial(J, q("z", nxt, kk)), q("delta", nxt, kk)),
                                                   Partial(q("z", nxt, kk), a_i), Partial(a_i, z_i)))),
            ("substitute_partials", over(lambda kk: Product(q("delta", nxt, kk), q("Theta", layer, kk, i_), gp_z))),
        ]
        if prime.in_a is not None:
            gp_a = prime.in_a.xreplace({q("a"): a_i})
            out.append(("activation_identity", Product(over(lambda kk: Product(q("delta", nxt, kk),
                                                                               q("Theta", layer, kk, i_))), gp_a)))
        return out

    n_loss = min(n_next, LOSS_UNITS)
    ck = _arbitrary_loss(layer, min(n_here, LOSS_UNITS), n_loss, g)
    for unit in range(1, n_here + 1):
        ck.define(q("delta", layer, unit), Partial(J, q("z", layer, unit)))
    element = Chain(ck, f"hidden_delta{layer}.element", q("delta", layer, i), instances=[q("delta", layer, 1)])
    for (rule, expr), (_, concrete) in zip(forms(i, None), forms(1, list(range(1, n_loss + 1))), strict=True):
        element.then(rule, expr, instances=[concrete])

    vector = _hidden_vector(net, layer, prime, n_here, n_next)
    return section(f"hidden_delta{layer}", element, vector, layer=layer, activation=act), _hidden_derivative(net, layer)


def _hidden_derivative(net: Network, layer: int) -> sp.Expr:
    """g′ of layer ``layer`` as the results give it: in a where an identity was proven, in z otherwise."""
    plain_a, plain_z = sp.symbols("a z")
    return unit_derivative(net.activation(layer), q("z"), q("a")).best.xreplace({q("a"): plain_a, q("z"): plain_z})


def _arbitrary_loss(layer: int, n_here: int, n_next: int, g: Activation | None) -> Checker:
    """A checker in which J is an arbitrary function F of layer l+1's weighted sums, so that what it proves
    about δ^(l) and ∂J/∂Θ^(l) holds for every loss. δ^(l+1)_k is ∂F/∂(its k-th argument); a^(l) = g(z^(l))
    when g is given, free symbols otherwise; a^(l)_0 = 1."""
    nxt = layer + 1
    ck = Checker()
    ck.define(q("a", layer, 0), sp.Integer(1))
    if g is not None:
        assert g.unit is not None
        for unit in range(1, n_here + 1):
            ck.define(q("a", layer, unit), g.unit(q("z", layer, unit)))
    for k in range(1, n_next + 1):
        ck.define(q("z", nxt, k), sp.Add(*(q("Theta", layer, k, j) * q("a", layer, j) for j in range(n_here + 1))))
    point = [ck.value(q("z", nxt, k)) for k in range(1, n_next + 1)]
    F, xs = sp.Function("F"), sp.symbols(f"xi1:{n_next + 1}")
    ck.define(J, F(*point))
    for k in range(1, n_next + 1):
        ck.define(Partial(J, q("z", nxt, k)), q("delta", nxt, k))
        ck.define(q("delta", nxt, k), sp.Subs(sp.Derivative(F(*xs), xs[k - 1]), xs, point))
    return ck


def _hidden_vector(net: Network, layer: int, prime: UnitDerivative, n_here: int, n_next: int) -> Chain:
    """δ^(l) = (Θ^(l))ᵀ δ^(l+1) ∘ g′(z^(l)) with Θ's bias column left out, proven on explicit matrices of the
    first units against the element-wise result, unit by unit."""
    nxt = layer + 1
    theta = sp.MatrixSymbol(f"Theta[{layer}]", net.layers[layer], net.layers[layer - 1])
    delta_next = sp.MatrixSymbol(f"delta[{nxt}]", net.layers[layer], 1)
    z, d = (sp.MatrixSymbol(f"{n}[{layer}]", net.layers[layer - 1], 1) for n in ("z", "delta"))
    explicit_theta = sp.ImmutableMatrix(n_next, n_here, lambda r, c: q("Theta", layer, r + 1, c + 1))
    explicit_dn = sp.ImmutableMatrix(n_next, 1, lambda r, c: q("delta", nxt, r + 1))
    gp = sp.ImmutableMatrix(n_here, 1, lambda r, c: prime.in_z.xreplace({q("z"): q("z", layer, r + 1)}))
    element_wise = sp.ImmutableMatrix(n_here, 1, lambda r, c: sp.Add(
        *(q("delta", nxt, k) * q("Theta", layer, k, r + 1) for k in range(1, n_next + 1))) * gp[r])
    vector = Chain(Checker(), f"hidden_delta{layer}.vector", d, instances=[element_wise])
    vector.then("vectorize", Hadamard(theta.T * delta_next, Applied(g_prime_of(net.activation(layer)), z, gp)),
                note="bias_row_dropped",
                instances=[Hadamard(explicit_theta.T * explicit_dn, gp)], layer=layer)
    if prime.in_a is not None:
        a_vec = sp.Symbol(f"a[{layer}]")
        g = ACTIVATIONS[net.activation(layer)]
        assert g.unit is not None  # hidden activations are element-wise
        explicit_a = sp.ImmutableMatrix(n_here, 1, lambda r, c: g.unit(q("z", layer, r + 1)))
        element_form = hadamard_form(prime.in_a.xreplace({q("a"): a_vec}))
        in_a = explicit_a.applyfunc(lambda v: prime.in_a.xreplace({q("a"): v}))
        vector.then("activation_identity", Hadamard(theta.T * delta_next, element_form),
                    instances=[Hadamard(explicit_theta.T * explicit_dn, in_a)], activation=net.activation(layer))
    return vector


def _gradient(net: Network, layer: int) -> Section:
    """∂J/∂Θ^(l)_ij = δ^(l+1)_i a^(l)_j (a_0 = 1), and its matrix form δ^(l+1) (a^(l))ᵀ."""
    nxt = layer + 1
    i, j = sp.symbols("i j")
    n_here = min(net.layers[layer - 1], CHECK_UNITS)

    def forms(i_: sp.Expr, j_: sp.Expr) -> list[tuple[str, sp.Expr]]:
        z_i = q("z", nxt, i_)
        return [
            ("chain_rule", Product(Underbrace(Partial(J, z_i), q("delta", nxt, i_)),
                                   Partial(z_i, q("Theta", layer, i_, j_)))),
            ("substitute_partials", Product(q("delta", nxt, i_), q("a", layer, j_))),
        ]

    ck = _arbitrary_loss(layer, min(n_here, LOSS_UNITS), 1, None)
    columns = (0, 1)  # the bias column (a_0 = 1) and a weight
    element = Chain(ck, f"gradient{layer}.element", Partial(J, q("Theta", layer, i, j)),
                    instances=[Partial(J, q("Theta", layer, 1, jj)) for jj in columns])
    concrete = [forms(1, jj) for jj in columns]
    for n, (rule, expr) in enumerate(forms(i, j)):
        element.then(rule, expr, instances=[steps[n][1] for steps in concrete])
    d = sp.MatrixSymbol(f"delta[{nxt}]", net.layers[layer], 1)
    a = sp.MatrixSymbol(f"a[{layer}]", net.layers[layer - 1] + 1, 1)
    vector = Step(f"gradient{layer}.vector", Partial(J, sp.MatrixSymbol(f"Theta[{layer}]", 1, 1)), d * a.T,
                  "vectorize", "bias_unit", (("layer", layer),), UNIT)
    bias, weight = _gradient_apart(net, layer, ck)
    a_only = sp.MatrixSymbol(f"a[{layer}]", net.layers[layer - 1], 1)
    args = (("layer", layer), ("next", nxt))
    vectors = [Step(f"gradient{layer}.bias_vector", Partial(J, sp.MatrixSymbol(f"b[{layer}]", net.layers[layer], 1)),
                    d, "vectorize", "bias_gradient", args, VECTOR),
               Step(f"gradient{layer}.weight_vector", Partial(J, sp.MatrixSymbol(f"Theta[{layer}]", 1, 1)),
                    d * a_only.T, "vectorize", "weight_gradient", args, VECTOR)]
    return section(f"gradient{layer}", in_form(element, UNIT), vector, in_form(bias, VECTOR),
                   in_form(weight, VECTOR), vectors, layer=layer)


def _gradient_apart(net: Network, layer: int, ck: Checker) -> tuple[Chain, Chain]:
    """∂J/∂b_j = δ_j (column 0 of Θ^(l), the bias) and ∂J/∂w_jk = a_k δ_j (a weight), each by the chain rule,
    in the indices of a separate bias vector: j a unit of layer l+1, k one of layer l (k ≥ 1)."""
    nxt = layer + 1
    j, k = sp.symbols("j k")

    def chain(name: str, column: Callable[[sp.Expr], sp.Expr], below: Callable[[sp.Expr], sp.Expr]) -> Chain:
        def forms(j_: sp.Expr, k_: sp.Expr) -> list[tuple[str, sp.Expr]]:
            z_j, weight = q("z", nxt, j_), q("Theta", layer, j_, column(k_))
            return [("chain_rule", Product(Underbrace(Partial(J, z_j), q("delta", nxt, j_)), Partial(z_j, weight))),
                    ("substitute_partials", Product(below(k_), q("delta", nxt, j_)))]

        c = Chain(ck, f"gradient{layer}.{name}", Partial(J, q("Theta", layer, j, column(k))),
                  instances=[Partial(J, q("Theta", layer, 1, column(sp.Integer(1))))])
        for (rule, expr), (_, concrete) in zip(forms(j, k), forms(sp.Integer(1), sp.Integer(1)), strict=True):
            c.then(rule, expr, instances=[concrete])
        return c

    bias = chain("bias", lambda k_: sp.Integer(0), lambda k_: sp.Integer(1))
    bias.then("simplify", q("delta", nxt, j), instances=[q("delta", nxt, 1)])
    weight = chain("weight", lambda k_: k_, lambda k_: q("a", layer, k_))
    return bias, weight


def _one_unit_gradient(sections: list[Section]) -> sp.Expr:
    """∂loss/∂Θ^(l)_ij as derived in the last gradient section, in the symbols delta (δ^(l+1)_i) and a (a^(l)_j)."""
    last = [s for s in sections if s.id.startswith("gradient")][-1].steps
    element = [step for step in last if step.id.split(".")[1] == "element"][-1].rhs.doit()
    return element.xreplace({s: sp.Symbol(str(s).split("[")[0]) for s in element.free_symbols})


def _regularized(net: Network) -> Section:
    """Δ accumulates δ(a)ᵀ over the examples; D adds the regularization's derivative, found by diff."""
    el, i, j = sp.symbols("l i j")
    scale = REDUCTIONS[net.reduction](M)
    theta_ij = q("Theta", el, i, j)
    # the penalty's derivative for one regularized weight, by SymPy: d/dΘ (λ·scale/2 · Θ²)
    reg_d = sp.diff(LAM * scale / 2 * theta_ij**2, theta_ij)
    d_big = q("Delta", el, i, j)
    a_vec = sp.MatrixSymbol("a[l]", 1, 1)
    big = sp.MatrixSymbol("Delta[l]", 1, 1)
    accumulate = Step("regularized.accumulate", big,
                      sp.MatAdd(big, sp.MatrixSymbol("delta[l+1]", 1, 1) * a_vec.T, evaluate=False), "accumulate",
                      "accumulate", (), UNIT)
    regularized = sp.Piecewise((scale * d_big + reg_d, sp.Ne(j, 0)), (scale * d_big, True))
    args = (("reduction", net.reduction),)
    step = Step("regularized.D", q("D", el, i, j), regularized, "regularization", "bias_not_regularized", args, UNIT)
    # the same with a separate bias: w^l_jk is Θ^(l−1)_jk (k ≥ 1), b^l_j is Θ^(l−1)_j0
    jj, k = sp.symbols("j k")
    w = q("Theta", "l-1", jj, k)
    dw, db = q("Delta", "l-1", jj, k), q("Delta", "l-1", jj, 0)
    apart = [
        Step("regularized.accumulate_w", dw, sp.Add(dw, Product(q("a", "l-1", k), q("delta", el, jj)),
                                                    evaluate=False), "accumulate", "accumulate", (), VECTOR),
        Step("regularized.accumulate_b", db, sp.Add(db, q("delta", el, jj), evaluate=False), "accumulate", None, (),
             VECTOR),
        Step("regularized.Dw", q("D", "l-1", jj, k), scale * dw + sp.diff(LAM * scale / 2 * w**2, w), "regularization",
             "weights_regularized", args, VECTOR),
        Step("regularized.Db", q("D", "l-1", jj, 0), scale * db, "regularization", "bias_not_regularized", args,
             VECTOR),
    ]
    return section("regularized", accumulate, step, apart)


def _update(net: Network) -> Section:
    el, i, j = sp.symbols("l i j")
    theta = q("Theta", el, i, j)
    jj, k = sp.symbols("j k")
    w, b = q("Theta", "l-1", jj, k), q("Theta", "l-1", jj, 0)
    return section("update", Step("update.theta", theta, theta - ALPHA * q("D", el, i, j), "gradient_descent",
                                  form=UNIT),
                   Step("update.w", w, w - ALPHA * q("D", "l-1", jj, k), "gradient_descent", form=VECTOR),
                   Step("update.b", b, b - ALPHA * q("D", "l-1", jj, 0), "gradient_descent", form=VECTOR))
