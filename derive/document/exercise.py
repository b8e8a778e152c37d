"""The slides' last exercise: the squared error instead of the cross-entropy, answered by the engine.

The answer is the engine's own derivation for the network with ``loss = squared_error`` (δ^(L) and
∂J/∂Θ^(L−1)_ij with every step), followed by two sections built from that derivation and the cross-entropy
one: what changes down the recursion (the hidden errors keep their form — the two derivations are compared
step by step — and the new δ^(L) is substituted into them), and the two output errors side by side, their
ratio computed by SymPy, and what that ratio does when the output saturates.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import sympy as sp

from derive.engine.backprop import backprop
from derive.engine.calculus import tidy
from derive.engine.derivation import Chain, Checker, Derivation, Section, Step, section
from derive.engine.expressions import Frac, Partial
from derive.errors import CheckError, InputError
from derive.model.activations import ACTIVATIONS
from derive.model.losses import LOSSES
from derive.model.network import Network
from derive.model.notation import parse_name, q


class CostOf(sp.Symbol):
    """The cost under one loss where two are compared: the document's own J (C under nielsen) with the loss's
    initials, J_SE and J_CE. Everywhere else the squared-error cost is plain J, as in every other product."""

    def __new__(cls, initials: str) -> CostOf:
        return super().__new__(cls, f"J_{initials}")  # type: ignore[no-any-return]

    def _latex(self, printer: Any) -> str:
        return r"%s_{\mathrm{%s}}" % (printer._print(q("J")), self.name[2:])


J_SE, J_CE = CostOf("SE"), CostOf("CE")
SUM_INDICES = ("k", "n", "p", "r", "t", "u", "v")
"""summation indices for the nested sums of the substituted recursion, outermost first"""


def squared_error(net: Network) -> Derivation:
    """The exercise for ``net`` (its loss replaced by the squared error): derivation, recursion, comparison."""
    sq = net.replace(loss="squared_error")
    d_sq = backprop(sq)
    try:
        ce: Network | None = net.replace(loss="cross_entropy")
    except InputError:
        ce = None  # the output's range does not suit cross-entropy (linear, tanh, relu): nothing to compare
    d_ce = backprop(ce) if ce is not None else None
    sections = [_question(sq), _solution(), *d_sq.sections, *_recursion(sq, d_sq, d_ce)]
    if d_ce is not None and ACTIVATIONS[sq.output].elementwise:
        sections.append(_comparison(sq, d_sq, d_ce))
    return Derivation(sq, tuple(sections), d_sq.results)


EXERCISES: dict[str, Callable[[Network], Derivation]] = {"squared-error": squared_error}
"""exercise name (as on the command line) → the function that answers it for a network"""


def _question(net: Network) -> Section:
    """J = ½ Σ_k (a^(L)_k − y_k)², the loss as the registry defines it, summed over the output units."""
    L, k = net.L, sp.Symbol("k")
    g = ACTIVATIONS[net.output]
    term = LOSSES["squared_error"].term(q("a", L, k), q("y", k), g)
    step = Step("exercise.question", q("J"), sp.Sum(term, (k, 1, q("K"))), "definition", "exercise_question",
                (("layer", L), ("prev", L - 1)))
    return Section("exercise_question", (step,), (("layer", L),))


def _solution() -> Section:
    """The heading of the answer: the engine's derivation for the squared error follows."""
    return Section("exercise_solution", (), ())


# --- what changes down the recursion ---------------------------------------------------------------------

def _rename(expr: sp.Basic, mapping: dict[str, str]) -> sp.Basic:
    """Every index letter in every quantity name renamed at once (δ[4][k] with k → n is δ[4][n])."""
    changes = {}
    for s in expr.free_symbols | {a for a in expr.atoms(sp.Symbol)}:
        if s.name in mapping:
            changes[s] = sp.Symbol(mapping[s.name])
            continue
        parsed = parse_name(s.name)
        if parsed and parsed[1]:
            changes[s] = q(parsed[0], *(mapping.get(i, i) for i in parsed[1]))
    return expr.xreplace(changes)


def _element(d: Derivation, layer: int) -> sp.Expr:
    """The last element form of δ^(l)_i (summed over k) in the derivation's hidden-delta section."""
    steps = [s for s in d.section(f"hidden_delta{layer}").steps if ".element." in s.id]
    return steps[-1].rhs


def _same_form(d_sq: Derivation, d_ce: Derivation | None, layer: int) -> None:
    """The hidden-delta section of both derivations, compared step by step: the recursion ignores the loss."""
    if d_ce is None:
        return
    ours, theirs = (d.section(f"hidden_delta{layer}").steps for d in (d_sq, d_ce))
    if [(s.rule, s.lhs, s.rhs) for s in ours] != [(s.rule, s.lhs, s.rhs) for s in theirs]:
        raise CheckError(f"exercise_recursion.{layer}", "the hidden errors differ between the two losses")


def _recursion(net: Network, d_sq: Derivation, d_ce: Derivation | None) -> list[Section]:
    """δ^(l)_i for l = L−1 … 2: the same form as before, then with the squared-error δ^(L) substituted."""
    L = net.L
    if L < 3:
        return []
    ck = Checker()
    a, y = sp.symbols("a y")
    plain = d_sq.results.output_delta
    coupled = d_sq.results.output_delta_layer is not None

    def full(layer: int, unit: str, depth: int) -> sp.Expr:
        """δ^(layer)_unit with every deeper error substituted, down to the squared-error δ^(L)."""
        if layer == L:
            return plain.xreplace({a: q("a", L, unit), y: q("y", unit)})
        index = SUM_INDICES[depth]
        expr = _rename(_element(d_sq, layer), {"i": unit, "k": index})
        inner = full(layer + 1, index, depth + 1)
        ck.define(q("delta", layer + 1, index), inner)
        return expr.xreplace({q("delta", layer + 1, index): inner})

    chains = []
    for layer in range(L - 1, 1, -1):
        _same_form(d_sq, d_ce, layer)
        element = _element(d_sq, layer)
        ck.define(q("delta", layer, "i"), element)
        chain = Chain(ck, f"exercise_recursion.delta{layer}", q("delta", layer, "i"))
        # said once, for the first layer the recursion reaches: the same sentence for each layer adds nothing
        chain.then("same_form", element, note="same_form" if layer == L - 1 else None, next=layer + 1, last=L)
        if not coupled and len(SUM_INDICES) > L - layer:
            chain.then("substitute", full(layer, "i", 0), note="recursion_substitute", last=L)
        chains.append(chain)
    return [section("exercise_recursion", *chains, layer=L)]


# --- the comparison --------------------------------------------------------------------------------------

def _last(d: Derivation, prefix: str) -> sp.Expr:
    """The last right-hand side of the chain whose step ids start with prefix."""
    return [s.rhs for s in d.steps if s.id.startswith(prefix)][-1]


def _comparison(net: Network, d_sq: Derivation, d_ce: Derivation) -> Section:
    """The two output errors side by side, their ratio, and the ratio where the output saturates."""
    L = net.L
    g = ACTIVATIONS[net.output]
    assert g.unit is not None
    a, y, z = q("a", L), q("y"), q("z", L)
    plain_a, plain_y, plain_z = sp.symbols("a y z")
    back = {plain_a: a, plain_y: y, plain_z: z}
    delta_sq, delta_ce = (d.results.output_delta.xreplace(back) for d in (d_sq, d_ce))
    low, high = g.range
    ck = Checker(domain={y: (0.05, 0.95), a: (max(low, -5) + 0.05, min(high, 5) - 0.05)})
    ck.define(J_SE, LOSSES["squared_error"].term(a, y, g))
    ck.define(J_CE, LOSSES["cross_entropy"].term(a, y, g))
    ck.define(a, g.unit(z))

    # one equation each: a row of two fractions would set both in a matrix
    pair_sq = Chain(ck, "exercise_comparison.pair_sq", Partial(J_SE, z))
    pair_sq.then("side_by_side", delta_sq, note="side_by_side")
    pair_ce = Chain(ck, "exercise_comparison.pair_ce", Partial(J_CE, z))
    pair_ce.then("side_by_side", delta_ce, note="side_by_side")

    ratio = tidy(sp.cancel(delta_sq / delta_ce))
    errors = Chain(ck, "exercise_comparison.ratio", Frac(Partial(J_SE, z), Partial(J_CE, z)))
    errors.then("substitute", Frac(delta_sq, delta_ce))
    errors.then("cancel", ratio)
    errors.then("activation_identity", Partial(a, z), note="error_ratio")

    loss_sq = _last(d_sq, "output_delta.loss")
    loss_ce = _last(d_ce, "output_delta.loss")
    losses = Chain(ck, "exercise_comparison.loss", Frac(Partial(J_SE, a), Partial(J_CE, a)))
    losses.then("substitute", Frac(loss_sq, loss_ce))
    losses.then("cancel", tidy(sp.cancel(loss_sq / loss_ce)), note="loss_ratio")

    steps: list[Chain] = [pair_sq, pair_ce, errors, losses]
    ends = [(end, "+" if end == low else "-") for end in (low, high) if abs(end) != float("inf")]
    limits = []
    for n, (end, side) in enumerate(ends, start=1):
        point = sp.nsimplify(end)
        limits.append((Chain(ck, f"exercise_comparison.limit{n}", sp.Limit(ratio, a, point, side)), point,
                       sp.limit(ratio, a, point, side)))
    same = len({value for _, _, value in limits}) == 1
    for n, (c, point, value) in enumerate(limits, start=1):
        if same and len(limits) == 2:  # both ends in one sentence, on the second limit: said once
            c.then("limit", value, note="saturation_both" if n == 2 else None, low=_number(limits[0][1]),
                   high=_number(point), value=_number(value))
        else:
            c.then("limit", value, note="saturation", point=_number(point), value=_number(value))
        steps.append(c)
    top = _maximum(ratio, a, low, high)
    if top is not None:
        point, value = top
        c = Chain(ck, "exercise_comparison.maximum", sp.Subs(ratio, a, decimal(point)))
        c.then("maximum", decimal(value), note="factor_maximum", point=_number(point), value=_number(value))
        steps.append(c)
    if ends and len(ends) == 2:
        wrong_a = sp.nsimplify(low + (high - low) / 100)
        wrong_y = sp.nsimplify(high)
        for name, delta in (("sq", delta_sq), ("ce", delta_ce)):
            c = Chain(ck, f"exercise_comparison.saturated_{name}",
                      sp.Subs(delta, (a, y), (decimal(wrong_a), decimal(wrong_y))))
            c.then("evaluate", decimal(delta.xreplace({a: wrong_a, y: wrong_y})),
                   note="saturated_output" if name == "ce" else None, a=_number(wrong_a), y=_number(wrong_y))
            steps.append(c)
    return section("exercise_comparison", *steps, layer=L)


def decimal(value: sp.Expr) -> sp.Expr:
    """A rational number as the page writes a number: a decimal (0.009801, never 9801/1000000)."""
    from derive.document.worked_example import Num

    return Num(value) if isinstance(value, sp.Rational) and not isinstance(value, sp.Integer) else value


def _number(value: sp.Expr) -> str:
    """A number in a sentence, as a decimal when it is one."""
    from derive.document.worked_example import Num

    return Num(value).number_str() if isinstance(value, sp.Rational) else sp.sstr(value)


def _maximum(f: sp.Expr, a: sp.Symbol, low: float, high: float) -> tuple[sp.Expr, sp.Expr] | None:
    """The interior point of (low, high) where f′ = 0 and f is largest there, if SymPy finds one."""
    try:
        points = [p for p in sp.solve(sp.diff(f, a), a) if p.is_real and low < p < high]
    except NotImplementedError:
        return None
    if not points:
        return None
    best = max(points, key=lambda p: f.subs(a, p))
    return best, sp.simplify(f.subs(a, best))


def exercise(name: str, net: Network) -> Derivation:
    """The exercise called ``name`` (see EXERCISES) for ``net``."""
    if name not in EXERCISES:
        raise InputError(f"unknown exercise {name!r}; allowed: {' | '.join(EXERCISES)}")
    return EXERCISES[name](net)


def parse_layers(text: str) -> list[int]:
    """'3,5,5,4' → [3, 5, 5, 4] (validated again by Network)."""
    if not re.fullmatch(r"\s*\d{1,6}(\s*,\s*\d{1,6})+\s*", text):
        raise InputError(f"--layers {text}: expected whole numbers separated by commas, e.g. 3,5,5,4")
    return [int(n) for n in text.split(",")]
