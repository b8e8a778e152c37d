"""A worked example on a layered network (SPEC §9): the forward pass, the cost, the output error, every layer's
δ and parameter gradients, and one descent step, with numbers.

Every number is the engine's (``LayeredFunctions.backward(trace=True)``, the array code the derivation
proves). Each is checked against ``derive.layers.exact``: the same quantity computed again from the exact
decimals of the inputs by the element-wise definitions and ``sympy.diff`` (the chain rule itself); where
that is rational and short it is shown exactly, otherwise the engine's value to ``digits`` significant digits.
Tensor elements are numbered from 1, as the claims name them (``a[2][1][3][3]`` is a^(2) at channel 1, row 3,
column 3, of example 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy as sp

from derive.document.worked_example import NumberApplied, _Shown
from derive.engine.derivation import Derivation, Results, Section, Step
from derive.engine.expressions import Partial
from derive.model.activations import ACTIVATIONS
from derive.model.notation import q

from ..errors import InputError
from .description import LayeredNetwork
from .display import indexed

MAX_EXAMPLES = 8
"""examples in a worked example's batch"""
MAX_VALUES_SHOWN = 400
"""the values of one example over every layer (input included): each is a line of the document"""
MAX_PARAMETERS_SHOWN = 400
"""parameters: each gradient and each new value is a line of the document"""


def bounds(net: LayeredNetwork, m: int, network: str = "network", data: str = "data") -> None:
    """Refuse a network or batch too large for a readable example, in one line naming the file and the bound."""
    values = math.prod(net.input) + sum(math.prod(layer.output) for layer in net.stack)
    if values > MAX_VALUES_SHOWN:
        raise InputError(f"{network}: the network's layers hold {values} values per example; a worked example "
                         f"shows at most {MAX_VALUES_SHOWN} (use derive numeric for larger networks)")
    if net.parameter_count > MAX_PARAMETERS_SHOWN:
        raise InputError(f"{network}: the network's {net.parameter_count} parameters are too many to show every "
                         f"number; a worked example shows at most {MAX_PARAMETERS_SHOWN} (use derive numeric)")
    if m > MAX_EXAMPLES:
        raise InputError(f"{data}: {m} examples; a worked example takes at most {MAX_EXAMPLES} (use derive numeric)")


def _element(letter: str, layer: int, idx: tuple[int, ...]) -> sp.Expr:
    """letter^(layer) at the 1-based indices."""
    return indexed(letter, layer)[tuple(i + 1 for i in idx)]


def _exact(tr: dict | None, key: str, layer: int, idx: tuple[int, ...]) -> Any:
    if tr is None:
        return None
    arrays = tr[key][layer]
    return None if arrays is None else arrays[idx]


def worked_example(net: LayeredNetwork, fn: Any, params: Sequence[Any], X: Any, Y: Any, tr: dict | None, *,
                   rate: float = 0.5, digits: int = 7) -> Derivation:
    """The worked example as a Derivation (every printer renders it); ``tr`` is the exact trace or None."""
    if not 1 <= digits <= 15:
        raise InputError(f"--digits {digits}: choose from 1 to 15 significant digits")
    if not 0 < rate <= 100:
        raise InputError(f"--rate {rate}: the learning rate must be a positive number (at most 100)")
    out = fn.backward(params, X, Y, trace=True)
    shown = _Shown(digits)
    sections = [_input(net, out, tr, shown)]
    sections += [_forward(net, layer, out, tr, shown) for layer in net.stack]
    sections.append(_cost(out, tr, shown))
    sections.append(_output_delta(net, out, tr, shown))
    sections += [_backward(net, layer, out, tr, shown) for layer in reversed(net.stack)]
    sections.append(_update(net, fn, params, X, Y, out, rate, shown))
    results = Results(output_delta=sp.Integer(0), hidden_derivative=None, gradient=sp.Integer(0))
    return Derivation(net, tuple(s for s in sections if s.steps), results)  # type: ignore[arg-type]


def _value_step(sid: str, lhs: sp.Expr, num: Any, shown: _Shown) -> Step:
    return Step(sid, lhs, num, "evaluate", *shown.note(num))


def _input(net: LayeredNetwork, out: dict, tr: dict | None, shown: _Shown) -> Section:
    A = out["a"][0][0]
    steps = [Step(f"example.a1_{'_'.join(map(str, idx))}", _element("a", 1, idx),
                  shown(float(A[idx]), _exact(tr, "a", 0, (0, *idx)), f"a[1]{list(idx)}"), "substitute_numbers")
             for idx in np.ndindex(*A.shape)]
    return Section("example_input", tuple(steps), (("shape", " × ".join(map(str, net.input))),))


def _forward(net: LayeredNetwork, layer: Any, out: dict, tr: dict | None, shown: _Shown) -> Section:
    """Every element of example 1's output of the layer: z, then a = g(z) when an activation follows."""
    n = layer.index
    Z, A = out["z"][n - 1][0], out["a"][n][0]
    letter = "z" if layer.activation else "a"
    steps = []
    last = n == len(net.stack)
    z_nums = {idx: shown(float(Z[idx]), _exact(tr, "z", n - 1, (0, *idx)), f"{letter}[{n + 1}]{list(idx)}")
              for idx in np.ndindex(*Z.shape)}
    g = ACTIVATIONS[layer.activation] if layer.activation else None
    applied = g.apply([z_nums[idx] for idx in np.ndindex(*Z.shape)]) if g is not None and last else None
    for k, idx in enumerate(np.ndindex(*Z.shape)):
        sid = f"example.forward{n + 1}_{'_'.join(map(str, idx))}"
        steps.append(_value_step(sid + ".z", _element(letter, n + 1, idx), z_nums[idx], shown))
        if g is None:
            continue
        from derive.engine.backprop import g_of

        definition = applied[k] if applied is not None else g.apply([z_nums[idx]])[0]
        steps.append(Step(sid + ".a1", _element("a", n + 1, idx),
                          NumberApplied(g_of(layer.activation), z_nums[idx], definition),
                          "substitute_numbers", None, (("activation", layer.activation),)))
        a_num = shown(float(A[idx]), _exact(tr, "a", n, (0, *idx)), f"a[{n + 1}]{list(idx)}")
        steps.append(_value_step(sid + ".a2", _element("a", n + 1, idx), a_num, shown))
    return Section(f"example_layer{n}", tuple(steps), (("layer", n), ("kind", layer.kind),
                                                      ("shape", " × ".join(map(str, layer.output)))))


def _cost(out: dict, tr: dict | None, shown: _Shown) -> Section:
    value = shown(out["cost"], None if tr is None else tr["cost"], "J")
    return Section("example_cost", (Step("example.cost", q("J"), value, "evaluate", "example_cost"),))


def _output_delta(net: LayeredNetwork, out: dict, tr: dict | None, shown: _Shown) -> Section:
    N = len(net.stack)
    D = out["deltas"][N - 1][0]
    steps = tuple(_value_step(f"example.delta{N + 1}_{'_'.join(map(str, idx))}", _element("delta", N + 1, idx),
                              shown(float(D[idx]), _exact(tr, "deltas", N - 1, (0, *idx)),
                                    f"delta[{N + 1}]{list(idx)}"), shown)
                  for idx in np.ndindex(*D.shape))
    return Section("example_output_delta", steps, (("layer", N + 1),))


def _backward(net: LayeredNetwork, layer: Any, out: dict, tr: dict | None, shown: _Shown) -> Section:
    """δ of the layer's output (below the last layer), then ∂J/∂(each parameter), summed over the batch."""
    n = layer.index
    steps = []
    if n < len(net.stack):
        D = out["deltas"][n - 1][0]
        steps += [_value_step(f"example.delta{n + 1}_{'_'.join(map(str, idx))}", _element("delta", n + 1, idx),
                              shown(float(D[idx]), _exact(tr, "deltas", n - 1, (0, *idx)),
                                    f"delta[{n + 1}]{list(idx)}"), shown)
                  for idx in np.ndindex(*D.shape)]
    for name, shape in layer.parameters:
        G = out["gradients"][n - 1][name]
        for idx in np.ndindex(*shape):
            known = None if tr is None else tr["gradients"][n - 1][name][idx]
            num = shown(float(G[idx]), known, f"d{name}[{n}]{list(idx)}")
            steps.append(_value_step(f"example.gradient{n}.{name}_{'_'.join(map(str, idx))}",
                                     Partial(q("J"), _element(name, n, idx)), num, shown))
    title = "example_layer_backward" if layer.parameters else "example_layer_error"
    return Section(f"{title}{n}", tuple(steps), (("layer", n), ("kind", layer.kind)))


def _update(net: LayeredNetwork, fn: Any, params: Sequence[Any], X: Any, Y: Any, out: dict, rate: float,
            shown: _Shown) -> Section:
    """Every parameter θ ← θ − α ∂J/∂θ, and the cost before and after: the step must lower it (or the gradient
    is 0)."""
    P = fn._params(params)
    grads = out["gradients"]
    new = [{k: p[k] - rate * grads[i][k] for k in p} for i, p in enumerate(P)]
    before, after = out["cost"], fn.cost(new, X, Y)
    flat = not any(np.any(g) for layer in grads for g in layer.values())
    if not flat and after == before:
        raise InputError(f"--rate {rate}: the gradient is too small for one step to change the cost ({before:.6g}) "
                         "in double precision; there is no descent step to show at these parameters")
    if not flat and not after < before:
        raise InputError(f"--rate {rate}: one step does not lower the cost ({before:.6g} → {after:.6g}); "
                         "choose a smaller learning rate")
    theta = sp.Symbol("theta")
    steps = [Step("example.update.rule", theta, theta - q("alpha") * Partial(q("J"), theta), "gradient_descent",
                  "descent_step", (("rate", repr(rate)),))]
    for layer, p in zip(net.stack, new):
        for name, shape in layer.parameters:
            for idx in np.ndindex(*shape):
                steps.append(Step(f"example.update.{name}{layer.index}_{'_'.join(map(str, idx))}",
                                  _element(name, layer.index, idx),
                                  shown(float(p[name][idx]), None, f"{name}[{layer.index}]"), "gradient_descent"))
    b, a = shown(before, None, "J"), shown(after, None, "J after")
    steps.append(Step("example.update.cost", q("J"), a, "evaluate", "cost_unchanged" if flat else "cost_falls",
                      (("before", b.text()), ("after", a.text()))))
    return Section("example_update", tuple(steps))

