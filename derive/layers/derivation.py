"""Backpropagation through a layered network, derived: every layer's backward rule from its forward
definition, by the chain rule, on small concrete shapes, then in the lecturer's form.

For each layer and each quantity T it differentiates (its input, each parameter), one chain
  ∂J/∂T_e = Σ_k ∂J/∂z_k · ∂z_k/∂T_e          (chain rule; J an undefined function F of the layer's outputs z)
          = Σ_k δ_k · ∂z_k/∂T_e               (the partials of the element-wise definition, by sympy.diff)
          = the lecturer's form                (the registry's backward array code, e.g. the flipped kernel)
is checked element by element for every element e of a small concrete instance of the layer, symbolically and
numerically at random points, before it is kept. Because J is an arbitrary F, what is proven holds for every
loss. The last layer's output error comes from the fully connected engine (softmax + cross-entropy: a − y).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from typing import Any

import numpy as np
import sympy as sp

from derive.engine.derivation import Chain, Checker, Derivation, Results, Section, Step, definition, section
from derive.engine.expressions import Applied, Frac, Hadamard, Partial, Product
from derive.model.activations import ACTIVATIONS
from derive.model.network import Network
from derive.model.notation import q

from ..errors import CheckError, NotSupportedError
from .description import Layer, LayeredNetwork
from .display import Label, Operation, TensorName, activation, indexed
from .kinds import tensor
from .registry import KINDS

J = q("J")
F = sp.Function("F")


class Cases(Checker):
    """A checker that proves each equality under every one of several orderings of the variables (max
    pooling: which element of a window is the largest). Numbers are drawn inside each case."""

    cases: list[dict[sp.Symbol, sp.Expr]]

    def value(self, expr: sp.Basic, *, keep: frozenset[sp.Basic] = frozenset()) -> sp.Basic:
        return super().value(expr, keep=keep).doit()  # the substituted Subs evaluated, so that equal sides look equal

    def equal(self, step: str, left: sp.Basic, right: sp.Basic) -> None:
        for assume in self.cases:
            self.assume = assume
            super().equal(step, left, right)


class Opaque(Checker):
    """A checker for the unrolled recurrences, where expanding nested exp and tanh blows up: the symbolic proof
    treats every applied function (exp, tanh, the loss's derivatives) as an opaque symbol and shows the
    difference is zero as a rational function of those symbols. That is sound — substituting the applications
    back is a homomorphism, so a zero stays zero — and fast, because both sides are built from the same
    applications; the numeric check at random points runs as usual."""

    def _for_any(self, step: str, left: sp.Basic, right: sp.Basic) -> bool:
        return False  # the full check below is as cheap

    def _full(self, step: str, left: sp.Basic, right: sp.Basic) -> None:
        from derive.engine.derivation import is_zero

        diff = self.value(left) - self.value(right)
        items = list(diff) if isinstance(diff, sp.MatrixBase) else [diff]
        for item in items:
            self._numeric(step, item)
            applied = item.atoms(sp.Function, sp.Subs, sp.Derivative)
            if self.symbolic and not is_zero(item.xreplace({f: sp.Dummy() for f in applied}), cheap=True):
                raise CheckError(step, f"SymPy cannot show {left} = {right} (difference {item})")


def backprop(net: LayeredNetwork, *, max_units: int = 10) -> Derivation:
    """The derivation for a layered network: forward definitions, the cost, the output error, then for every
    layer from the last to the first its error δ and its backward rule, each step checked."""
    sections: list[Section] = [_forward(net), _cost(net)]
    output, result = _output_delta(net, max_units)
    sections.append(output)
    for layer in reversed(net.stack):
        if activated(net, layer) and layer.index < len(net.stack):
            sections.append(_activation_delta(net, layer))
        sections.append(_layer_rule(net, layer))
    results = Results(output_delta=result, hidden_derivative=None, gradient=_one_weight(net.stack[-1]))
    return Derivation(net, tuple(sections), results)  # type: ignore[arg-type]


def symbol(kind: str, name: str) -> str:
    """The letter a parameter is written with (attention's Wq as W_q); its name in the JSON stays as it is."""
    return str(KINDS[kind].extra.get("symbols", {}).get(name, name))


def _italic(name: str) -> str:
    """A parameter's letter as the catalogue writes mathematics (W_q as 𝑊_q, b as 𝑏; Greek as it is)."""
    from derive.document.words import ITALIC

    if not re.fullmatch(r"[A-Za-z](_[A-Za-z0-9]+)?", name):  # gamma, beta: a word
        return name
    letters = {plain: italic for italic, plain in ITALIC.items()}
    return letters[name[0]] + name[1:]


def _one_weight(layer: Layer) -> sp.Expr:
    """∂J/∂(the first element of the last layer's first parameter), from its definition by sympy.diff, in the
    symbols ``delta`` (the layer's error) and the layer's input ``a`` (1 for a bias)."""
    kind = KINDS[layer.kind]
    shape, cfg, m = kind.instance(layer.input, layer.config)
    x = tensor("a", (m, *shape))
    params = {name: tensor(name, s) for name, s in kind.parameters(shape, cfg).items()}
    if not params:
        return sp.Integer(0)
    z = kind.definition(x, params, cfg).ravel()
    first = next(iter(params.values())).ravel()[0]
    deltas = tensor("delta", z.shape)
    derived = sp.Add(*(d * sp.diff(v, first) for d, v in zip(deltas, z)))
    return derived.xreplace({s: sp.Symbol(s.name.split("[")[0]) for s in derived.free_symbols})


def _shape(shape: tuple[int, ...]) -> str:
    return " × ".join(map(str, shape))


def activated(net: LayeredNetwork, layer: Layer) -> bool:
    """Whether the layer's output passes through an activation the derivation shows: any but a hidden layer's
    linear one, which changes nothing (its output is then a^(l+1) itself)."""
    return layer.activation is not None and (layer.activation != "linear" or layer.index == len(net.stack))


def _names(net: LayeredNetwork, layer: Layer) -> tuple[str, str]:
    """(the letter of the layer's output, of its error): z and δ = ∂J/∂z when an activation follows."""
    return ("z", "delta") if activated(net, layer) else ("a", "delta")


def _forward(net: LayeredNetwork) -> Section:
    steps: list[Step] = [definition("forward.input", TensorName("a", 1), q("x"), note="layer_input",
                                    shape=_shape(net.input))]
    for layer in net.stack:
        n = layer.index
        out, _ = _names(net, layer)
        params = [TensorName(symbol(layer.kind, name), n) for name, _ in layer.parameters]
        rhs = Operation(layer.kind, TensorName("a", n), *params)
        steps.append(definition(f"forward.{out}{n + 1}", TensorName(out, n + 1), rhs, note="layer_forward",
                                kind=layer.kind, layer=n, shape=_shape(layer.output),
                                parameters=", ".join(f"{_italic(symbol(layer.kind, p))} ({_shape(s)})"
                                                          for p, s in layer.parameters) or "—"))
        if "forward" in KINDS[layer.kind].extra:  # the quantities inside the layer (attention's Q, K, V, S, P)
            steps.extend(KINDS[layer.kind].extra["forward"](layer))
        if activated(net, layer) and layer.activation is not None:
            z = TensorName("z", n + 1)  # the activation by its name: ReLU(z), softmax(z), never g for both
            steps.append(definition(f"forward.a{n + 1}", TensorName("a", n + 1),
                                    Applied(activation(layer.activation), z, z),
                                    note="activation" if ACTIVATIONS[layer.activation].elementwise
                                    else "activation_layer", activation=layer.activation, layer=n))
    return section("forward", *steps)


def _cost(net: LayeredNetwork) -> Section:
    from derive.engine.backprop import REDUCTIONS
    from derive.model.losses import LOSSES

    k, i, t = sp.symbols("k i t")
    last = len(net.stack) + 1
    out = ACTIVATIONS[net.output]
    scale = REDUCTIONS[net.reduction](q("m"))
    if net.sequence_output:  # a sequence of outputs: the loss of every time step, summed over the T steps
        term = LOSSES[net.loss].term(q("a", last, t, k), q("y", t, k), out)
        per_example = sp.Sum(sp.Sum(term, (k, 1, net.output_shape[-1])), (t, 1, net.output_shape[0]))
    else:
        term = LOSSES[net.loss].term(q("a", last, k), q("y", k), out)
        per_example = sp.Sum(term, (k, 1, net.output_width))
    data = scale * sp.Sum(per_example, (i, 1, q("m")))
    weights = [TensorName(symbol(layer.kind, w), layer.index)
               for layer in net.stack for w in KINDS[layer.kind].weights]
    reg = q("lambda") * scale / 2 * sp.Add(*(Operation("sumsq", w) for w in weights)) if weights else 0
    note = "layered_cost_sequence" if net.sequence_output else "layered_cost"
    note += "_norm" if any(layer.kind in NORMS for layer in net.stack) else ""  # γ, β named only where they are
    steps: dict[str, Any] = {"steps": net.output_shape[0]} if net.sequence_output else {}  # T = 4 in the note
    return section("cost", definition("cost.J", J, sp.Add(data, reg, evaluate=False), note=note,
                                      loss=net.loss, reduction=net.reduction, **steps))


def _output_delta(net: LayeredNetwork, max_units: int) -> tuple[Section, sp.Expr]:
    """δ of the last layer by the fully connected engine (the same steps as SPEC §4), for its activation."""
    from derive.engine.backprop import _output_delta as fully_connected
    from derive.engine.backprop import _within_bounds

    width = net.output_width
    flat = Network(layers=(1,) * len(net.stack) + (width,), activations=("linear",) * (len(net.stack) - 1),
                   output=net.output, loss=net.loss, reduction=net.reduction)
    _within_bounds(flat, max_units)
    s, (result, _) = fully_connected(flat)
    if any(KINDS[layer.kind].couples_examples for layer in net.stack):  # J is then the batch's cost below that layer
        s = replace(s, steps=tuple(replace(step, note="one_example_coupled") if step.note == "one_example" else step
                                   for step in s.steps))
    return s, result


def _activation_delta(net: LayeredNetwork, layer: Layer) -> Section:
    """δ^(l+1) = ∂J/∂a^(l+1) ∘ g′(z^(l+1)), one unit by the chain rule, J an arbitrary F of the activations."""
    from derive.engine.backprop import unit_derivative

    n = layer.index + 1
    assert layer.activation is not None
    g = ACTIVATIONS[layer.activation]
    assert g.unit is not None
    z, a, d = q("z", n, 1), q("a", n, 1), q("delta", n, 1)
    prime = unit_derivative(layer.activation, q("z"), q("a")).in_z.xreplace({q("z"): z})
    ck = Checker()
    ck.define(a, g.unit(z))
    xi = sp.Symbol("xi")
    ck.define(J, F(g.unit(z)))  # J an arbitrary function of the activation, so the rule holds for every loss
    ck.define(d, Partial(J, z))
    ck.define(Partial(J, a), sp.Subs(sp.Derivative(F(xi), xi), xi, g.unit(z)))
    chain = Chain(ck, f"activation{n}.element", d)
    chain.then("definition_delta", Partial(J, z))
    chain.then("chain_rule", Product(Partial(J, a), Partial(a, z)))
    named = activation(layer.activation, prime=True)
    chain.then("substitute_partials", Product(Partial(J, a), Applied(named, z, prime)))
    vector = Step(f"activation{n}.vector", TensorName("delta", n),
                  Hadamard(Operation("dJ", TensorName("a", n)),
                           Applied(named, TensorName("z", n), TensorName("z", n))),
                  "vectorize", "activation_delta", (("layer", n), ("activation", layer.activation)))
    return section(f"activation_delta{n}", chain, vector, layer=n, activation=layer.activation)


def _layer_rule(net: LayeredNetwork, layer: Layer) -> Section:
    """The layer's backward rule for its input and every parameter, proven on a concrete instance."""
    kind = KINDS[layer.kind]
    n = layer.index
    shape, cfg, m = kind.instance(layer.input, layer.config)
    real = "through_time" in kind.extra  # the unrolled recurrences: real symbols keep SymPy's queries cheap
    x = tensor(f"a{n}", (m, *shape), real=real)
    params = {name: tensor(f"{name}{n}", s, real=real) for name, s in kind.parameters(shape, cfg).items()}
    z_def = kind.definition(x, params, cfg)
    z, cache = kind.forward(x, params, cfg)
    outputs = [sp.Symbol(f"z{n}[{i}]") for i in range(z_def.size)]
    deltas = tensor(f"delta{n + 1}", z_def.shape, real=real)
    dx, grads = kind.backward(deltas, cache, params, cfg)
    ck = _checker(layer, x, z_def, outputs, deltas)
    cases = _orderings(layer, x) if layer.kind == "maxpool" else None
    same = Chain(_plain(ck, cases), f"layer{n}.forward", Operation(layer.kind, TensorName("a", n)),
                 instances=list(z_def.ravel()))
    same.then("forward_code", TensorName(letter := _names(net, layer)[0], n + 1), instances=list(z.ravel()))
    chains: list[Chain] = [same]
    extra = kind.extra
    for name, T, z_alt, given in extra["landmarks"](x, params, cfg, n) if "landmarks" in extra else ():
        # an inner quantity (attention's V, P, S, Q, K): the output as a function of it, differentiated the same way
        alt = _checker(layer, x, z_alt, outputs, deltas)
        chains.extend(_target_chain(alt, None, layer, name, T, extra["landmark_form"](name, deltas, given, cfg),
                                    z_alt, outputs, deltas, letter, (x, params, cfg), given))
    if "through_time" in kind.extra:  # a recurrent layer: the errors of its states, as recursions over t
        chains.extend(_through_time(ck, layer, x, params, cfg, deltas, cache))
    targets = [("a", x, dx), *((name, params[name], grads[name]) for name in params)]
    if "landmarks" in extra:  # the input's error last, from the landmarks' errors
        targets = targets[1:] + targets[:1]
    for name, T, lecturer in targets:
        chains.extend(_target_chain(ck, cases, layer, name, T, lecturer, z_def, outputs, deltas, letter,
                                    (x, params, cfg)))
    return section(f"layer{n}", *chains, layer=n, kind=layer.kind, shape=_shape(layer.input),
                   out=_shape(layer.output))


def _checker(layer: Layer, x: Any, z_def: Any, outputs: list[sp.Symbol], deltas: Any) -> Checker:
    """J = F(the layer's outputs), each output its element-wise definition, δ_k = ∂F/∂(output k)."""
    ck = Opaque() if "through_time" in KINDS[layer.kind].extra else Checker()
    ck.domain.update({s: (0.01, 0.5) for s in z_def.ravel()[0].free_symbols if str(s) == "epsilon"})
    for out, value in zip(outputs, z_def.ravel()):
        ck.define(out, value)
    values = list(z_def.ravel())
    ck.define(J, F(*values))
    xs = sp.symbols(f"xi0:{len(values)}")
    at = dict(zip(xs, values))
    for k, out in enumerate(outputs):
        ck.define(Partial(J, out), deltas.ravel()[k])
        # ∂F/∂(argument k) at the outputs, in the very form sympy.diff gives it
        ck.define(deltas.ravel()[k], sp.Derivative(F(*xs), xs[k]).subs(at))
    return ck


def _plain(ck: Checker, cases: list[dict[sp.Symbol, sp.Expr]] | None = None) -> Checker:
    """The same checker with every δ_k a free symbol: past the chain rule, the steps are identities in δ.
    With ``cases``, every equality is proven in each case (see ``Cases``)."""
    plain: Checker = Cases() if cases else type(ck)()
    plain.domain = dict(ck.domain)
    plain.definitions = {k: v for k, v in ck.definitions.items() if k != J and not _is_delta(k)}
    if cases:
        assert isinstance(plain, Cases)
        plain.cases = cases
        plain.domain.update({t: (0.05, 1.5) for case in cases for v in case.values() for t in v.free_symbols
                             if t.name.startswith("t_")})
    return plain


def _is_delta(quantity: sp.Basic) -> bool:
    return isinstance(quantity, sp.Symbol) and quantity.name.startswith("delta")


def _orderings(layer: Layer, x: Any) -> list[dict[sp.Symbol, sp.Expr]]:
    """Every strict ordering of the window's elements, written as x = top − t₁ − … − t_r with every t > 0: the
    cases in which the derivative of max exists (ties have measure zero; numerically they go to the first
    maximum in row-major order, as in PyTorch)."""
    window = list(x.ravel())
    ts = sp.symbols(f"t_1:{len(window)}", positive=True)
    cases = []
    for order in itertools.permutations(window):
        cases.append({var: order[0] - sp.Add(*ts[: r + 1]) for r, var in enumerate(order[1:])})
    return cases


def _partials_times_deltas(T: Any, elements: list[tuple[int, ...]], z_def: Any, deltas: Any) -> dict[Any, sp.Expr]:
    """Σ_j δ_j ∂z_j/∂T[e] for every element e, by sympy.diff of each output's definition; an output that does not
    hold T[e] adds nothing and is not differentiated."""
    where = {T[e]: e for e in elements}
    terms: dict[Any, list[sp.Expr]] = {e: [] for e in elements}
    for delta, v in zip(deltas.ravel(), z_def.ravel()):
        for s in v.free_symbols & where.keys():
            terms[where[s]].append(delta * sp.diff(v, s))
    return {e: sp.Add(*terms[e]) for e in elements}


def _target_chain(ck: Checker, cases: list | None, layer: Layer, name: str, T: Any, lecturer: Any, z_def: Any,
                  outputs: list[sp.Symbol], deltas: Any, letter: str, instance: tuple[Any, Any, Any],
                  given: Any = None) -> list[Chain]:
    """Two chains for ∂J/∂T: the chain rule itself, checked literally (J = F(outputs), differentiated by SymPy)
    on a few elements; then, for every element, the partials of the definition against the lecturer's form."""
    n = layer.index
    elements = [e for e in np.ndindex(*T.shape) if isinstance(T[e], sp.Symbol)]  # not the masked (0) ones
    sample = list(dict.fromkeys([elements[0], elements[len(elements) // 2], elements[-1]]))
    base = indexed(symbol(layer.kind, name), n)
    names = KINDS[layer.kind].extra.get("indices", {}).get(name)
    # one example's element (no e), unless the kind names its own indices
    idx = sp.symbols(names)[: T.ndim] if names else _indices(layer.kind, name, T.ndim - 1 if name == "a" else T.ndim)
    subscripts = {symbol(layer.kind, p).partition("_")[2] for p, _ in layer.parameters}
    k = sp.Symbol("n" if "k" in subscripts else "k")  # Σ over the outputs by a letter no parameter carries (W_k)
    z_k, d_k = indexed(letter, n + 1)[k], indexed("delta", n + 1)[k]
    if layer.kind == "batchnorm":  # example i (r in the sums) and feature j: the batch's statistics couple examples
        i, j, k = sp.symbols("i j r")
        idx = (i, j) if name == "a" else (j,)
        z_k, d_k = indexed(letter, n + 1)[k, j], indexed("delta", n + 1)[k, j]
    element = base[idx] if len(idx) > 1 else base[idx[0]]
    derived = _partials_times_deltas(T, elements, z_def, deltas)
    def over_k(body: sp.Expr) -> sp.Expr:  # Σ over every element k of the layer's output
        return Operation("sum_k", body, k)
    rule = Chain(ck, f"layer{n}.{name}.element", Partial(J, element), instances=[Partial(J, T[e]) for e in sample])
    rule.then("chain_rule", over_k(Product(Partial(J, z_k), Partial(z_k, element))), instances=[
        sp.Add(*(Product(Partial(J, o), Partial(o, T[e])) for o in outputs)) for e in sample])
    rule.checker = _plain(ck)
    rule.then("definition_delta", over_k(Product(d_k, Partial(z_k, element))),
              instances=[derived[e] for e in sample])
    extra = KINDS[layer.kind].extra
    of = extra["lecturer_of"](name, n) if "lecturer_of" in extra else None  # a time step's form: ∂J/∂x_t
    whole = Partial(J, of if of is not None else element if "pattern" in extra or layer.kind == "batchnorm" else
                    _example_element(layer, name) if layer.kind in NORMS and name == "a" else
                    TensorName(symbol(layer.kind, name), n))
    form = Chain(_plain(ck, cases), f"layer{n}.{name}.tensor", whole, instances=[derived[e] for e in elements])
    shown = _lecturer_display(layer, name)
    if "pattern" in extra:  # the index pattern a lecturer writes, checked against every derived element
        form.then("index_pattern", extra["pattern_display"](name, n, layer.config), instances=[
            extra["pattern"](name, *instance[:2], deltas, instance[2], e) for e in elements])
        shown = shown if name == "b" else Operation("at", shown, *idx)  # the element (c, i, j) of the whole
    for step_rule, display, values in extra["steps"](name, layer, deltas, given) if "steps" in extra else ():
        form.then(step_rule, display, instances=[values[e] for e in elements])  # a lecturer's step on the way
    form.then("layer_rule", shown, note=_note(layer, name),
              instances=[lecturer[e] for e in elements], layer=n, next=n + 1, shape=_target_shape(layer, name),
              **{key: layer.config.get(key, 0) for key in ("kernel", "stride", "padding") if layer.kind == "conv2d"},
              **({"pad": layer.config["kernel"] - 1} if layer.kind == "conv2d" else {}))
    return [rule, form]


def _note(layer: Layer, name: str) -> str:
    """The note of a layer's rule: a convolution's says dilation by the stride and the padding only where the
    layer has them."""
    note = f"{layer.kind}_{name}"
    if _on_sequence(layer):
        note = f"dense_sequence_{name}"
    if layer.kind == "conv2d" and name in ("a", "K"):
        note += "_stride" if layer.config.get("stride", 1) > 1 else ""
        note += "_padding" if layer.config.get("padding", 0) > 0 else ""
    return note


def _on_sequence(layer: Layer) -> bool:
    """A dense layer applied at every time step of a sequence [T, n]: its rules are written with the steps as rows."""
    return layer.kind == "dense" and len(layer.input) == 2


def _target_shape(layer: Layer, name: str) -> str:
    """The shape of one example's ∂J/∂(name) in the layer as described (not the small instance)."""
    shapes = {"a": layer.input, **dict(layer.parameters)}
    if "shapes" in KINDS[layer.kind].extra:
        shapes.update(KINDS[layer.kind].extra["shapes"](layer.input, layer.config))
    return _shape(shapes[name])


NORMS = ("batchnorm", "layernorm")


def _indices(kind: str, name: str, count: int) -> tuple[sp.Symbol, ...]:
    """The indices a lecturer gives one element of a tensor: (c, i, j) of an image, j of a vector, (o, c, u, v) of
    a kernel, (i, j) of a weight matrix, i of a bias or of γ, β."""
    if name == "a":
        return sp.symbols("c i j")[3 - count:] if count > 1 else (sp.Symbol("j"),)
    if kind == "conv2d":
        return sp.symbols("o c u v")[:count]
    return sp.symbols("i j")[:count]


def _example_element(layer: Layer, name: str) -> Any:
    """The element of example i (batch norm: the statistics couple the examples) or feature i (layer norm)."""
    return indexed(name, layer.index)[sp.Symbol("i")]


def _three_terms(layer: Layer) -> sp.Expr:
    """The three-term formula for element i of the normalized group (the examples, for batch norm; one example's
    features, for layer norm): 1/(n σ̂) · [n g_i − Σ_j g_j − x̂_i Σ_j g_j x̂_j], g = γ ∘ ∂J/∂y (γ factored out
    when it is one number over the group, as in batch norm)."""
    n = layer.index
    i, j = sp.symbols("i j")
    size = _group_size(layer)
    delta, xhat, gamma = indexed("delta", n + 1), indexed("xhat", n), indexed("gamma", n)
    sigma: sp.Expr = TensorName("sigmahat", n)
    top: sp.Expr = sp.Integer(1)
    if layer.kind == "batchnorm":  # example i, summed over the batch's examples r, feature j throughout
        i, j, feature = sp.Symbol("i"), sp.Symbol("r"), sp.Symbol("j")
        delta, xhat = _of_feature(delta, feature), _of_feature(xhat, feature)
        sigma, top = indexed("sigmahat", n)[feature], gamma[feature]

    def g(k: sp.Symbol) -> sp.Expr:
        return sp.Mul(gamma[k], delta[k], evaluate=False) if layer.kind == "layernorm" else delta[k]

    def times(*factors: sp.Expr) -> sp.Expr:
        return sp.Mul(*factors, evaluate=False)

    over = (j, 1, size)
    bracket = sp.Add(times(size, g(i)), times(-1, sp.Sum(g(j), over)),
                     times(-1, xhat[i], sp.Sum(times(g(j), xhat[j]), over)), evaluate=False)
    return times(Frac(top, times(size, sigma)), bracket)


def _group_size(layer: Layer) -> Label:
    """How many values are normalized together: n features (layer norm), m examples, m H W for images."""
    return Label("n", "n") if layer.kind == "layernorm" else (
        Label("mHW", "m H W") if len(layer.input) == 3 else Label("m", "m"))


class _of_feature:
    """base[r] read as base[r, j]: an element of example r and the feature j fixed in batch norm's rule."""

    def __init__(self, base: sp.IndexedBase, feature: sp.Symbol) -> None:
        self.base, self.feature = base, feature

    def __getitem__(self, r: sp.Expr) -> sp.Expr:
        return self.base[r, self.feature]


def _batch_sums(layer: Layer, name: str) -> sp.Expr:
    """∂J/∂γ_j and ∂J/∂β_j of batch norm: sums over the batch's examples r of feature j."""
    n = layer.index
    r, j = sp.symbols("r j")
    delta, xhat = indexed("delta", n + 1)[r, j], indexed("xhat", n)[r, j]
    body = sp.Mul(delta, xhat, evaluate=False) if name == "gamma" else delta
    return sp.Sum(body, (r, 1, _group_size(layer)))
def _through_time(ck: Checker, layer: Layer, x: Any, params: dict[str, Any], cfg: Any, deltas: Any,
                  cache: Any) -> list[Chain]:
    """For each state s of a recurrent layer (h; for the LSTM also c and the gates' weighted sums): ∂J/∂s_t derived
    on the unrolled instance — a symbol ν added to s_t in the element-wise definition, every output
    differentiated by SymPy with respect to ν at ν = 0, Σ_k δ_k ∂z_k/∂ν — then proven equal, for every t and
    unit, to the recursion the backward code runs from t = T down to 1 (δh_t from δh_{t+1}, δc_t from δc_{t+1})."""
    kind = KINDS[layer.kind]
    n = layer.index
    trace: dict[str, Any] = {}
    kind.extra["trace"](deltas, cache, params, cfg, trace)
    derived: dict[str, Any] = {}
    chains = []
    for state, rows, lhs, rhs, note in kind.extra["through_time"](n, layer.config):
        values = trace[state]
        if state not in derived:
            nu = tensor(f"nu_{state}{n}", values.shape, real=True)
            outputs = kind.extra["nudged"](x, params, cfg, {state: nu}).ravel()
            zero = {v: 0 for v in nu.ravel()}
            derived[state] = {idx: sp.Add(*(d * sp.diff(o, nu[idx]) for d, o in zip(deltas.ravel(), outputs)))
                              .xreplace(zero) for idx in np.ndindex(*values.shape)}
        width = values.shape[-1] // (4 if rows else 1)
        elements = [idx for idx in np.ndindex(*values.shape) if rows is None or rows[0] <= idx[-1] // width < rows[1]]
        suffix = "" if rows is None else "ifgo"[rows[0]]
        chain = Chain(_plain(ck), f"layer{n}.{state}{suffix}.time", lhs,
                      instances=[derived[state][e] for e in elements])
        chain.then("through_time", rhs, note=note, instances=[values[e] for e in elements], layer=n, next=n + 1,
                   steps=values.shape[1])
        chains.append(chain)
    return chains


def _lecturer_display(layer: Layer, name: str) -> sp.Expr:
    """The lecturer's form of ∂J/∂(name) for the whole tensor, as named operations on whole tensors."""
    n, cfg = layer.index, layer.config
    if "lecturer" in KINDS[layer.kind].extra:  # a kind that states its own (the recurrent sums over t)
        return KINDS[layer.kind].extra["lecturer"](name, n, cfg)
    delta = TensorName("delta", n + 1)
    a = TensorName("a", n)
    stride = cfg.get("stride", 1)
    dilated = Operation("dilate", delta, stride) if stride > 1 else delta
    full = Operation("pad", dilated, cfg.get("kernel", 1) - 1)  # δ padded by k − 1: every window that meets it
    forms: dict[tuple[str, str], sp.Expr] = {
        ("conv2d", "a"): Operation("crop", Operation("corr", full, Operation("rot180", TensorName("K", n))),
                                   cfg.get("padding", 0)),
        ("conv2d", "K"): Operation("corr", Operation("pad", a, cfg.get("padding", 0)), dilated),
        ("conv2d", "b"): Operation("sum_pq", delta, sp.Symbol("o")),
        ("dense", "a"): Operation("transpose", TensorName("W", n)) * delta,
        ("dense", "W"): delta * Operation("transpose", a),
        ("dense", "b"): delta,
        ("flatten", "a"): Operation("reshape", delta, _shape(layer.input)),
        ("maxpool", "a"): Operation("route_to_max", delta, cfg.get("size", 1)),
        ("meanpool", "a"): Operation("spread", delta, cfg.get("size", 1)),  # δ/size² over each window
        ("batchnorm", "a"): _three_terms(layer),
        ("batchnorm", "gamma"): _batch_sums(layer, "gamma"),
        ("batchnorm", "beta"): _batch_sums(layer, "beta"),
        ("layernorm", "a"): _three_terms(layer),
        ("layernorm", "gamma"): Operation("sum", Hadamard(delta, TensorName("xhat", n))),
        ("layernorm", "beta"): Operation("sum", delta),
        **_attention_forms(n, delta),
    }
    if _on_sequence(layer):  # one row per time step, the same W and b at every step
        forms.update({("dense", "a"): delta * TensorName("W", n),
                      ("dense", "W"): Operation("transpose", delta) * a,
                      ("dense", "b"): Operation("sum_t", delta)})
    if (layer.kind, name) not in forms:
        raise NotSupportedError(f"layer {n} ({layer.kind}): no lecturer's form for ∂J/∂{name}")
    return forms[(layer.kind, name)]


def _attention_forms(n: int, delta: sp.Expr) -> dict[tuple[str, str], sp.Expr]:
    """Attention's landmarks as a lecturer writes them, δ = ∂J/∂O the error of the layer's output O."""
    Q, K, V, P, S, a = (TensorName(letter, n) for letter in ("Q", "K", "V", "P", "S", "a"))
    root = sp.sqrt(sp.Symbol("d_k", positive=True))
    dS = Partial(J, S)
    return {
        ("attention", "V"): Operation("transpose", P) * delta,
        ("attention", "P"): delta * Operation("transpose", V),
        ("attention", "S"): Hadamard(P, Partial(J, P) - Operation("rowsum", Hadamard(delta, TensorName("a", n + 1)))),
        ("attention", "Q"): Product(Frac(sp.Integer(1), root), dS * K),
        ("attention", "K"): Product(Frac(sp.Integer(1), root), Operation("transpose", dS) * Q),
        ("attention", "Wq"): Operation("transpose", a) * Partial(J, Q),  # W_q^(n), ∂J/∂W_q^(n) (symbol())
        ("attention", "Wk"): Operation("transpose", a) * Partial(J, K),
        ("attention", "Wv"): Operation("transpose", a) * Partial(J, V),
        ("attention", "a"): Partial(J, Q) * Operation("transpose", TensorName("W_q", n))
        + Partial(J, K) * Operation("transpose", TensorName("W_k", n))
        + Partial(J, V) * Operation("transpose", TensorName("W_v", n)),
    }
