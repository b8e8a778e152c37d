"""A layered network's quantities computed again, independently of the array code, from the exact inputs.

The forward pass runs every layer's element-wise SymPy ``definition`` (the mathematics of SPEC §9, not the
NumPy ``forward``) on the parameters and data read as the exact decimals the JSON spells; the backward pass
differentiates those definitions by ``sympy.diff``: for a layer with output z and error δ = ∂J/∂z,
∂J/∂T_e = ∂/∂T_e Σ_k δ_k z_k(T) for its input and for each parameter (the chain rule itself, never the
lecturer's form the array code computes). A value stays rational where it is (weighted sums, ReLU, pooling,
squared error); the rest (exp, log, square roots) is carried to ``DIGITS`` digits. Where the derivative is not
defined (a max-pooling window whose maximum is tied, so that SymPy's derivative of Max meets Heaviside(0)),
the value is None: the engine's tie rule (SPEC §9) decides it, and it is shown as the engine's number.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

import numpy as np
import sympy as sp

from derive.io.decimals import read_decimal
from derive.model.activations import ACTIVATIONS
from derive.model.losses import LOSSES
from derive.model.network import read_text

from ..errors import InputError
from .description import LayeredNetwork
from .kinds import tensor
from .registry import KINDS

DIGITS = 40
"""digits of a value that is not rational"""


def value(expr: Any) -> sp.Number | None:
    """Rational as SymPy leaves it, else to DIGITS digits; None when not a finite real number."""
    expr = sp.Integer(0) + expr
    if isinstance(expr, sp.Rational):
        return expr
    number = expr.evalf(DIGITS)
    return number if isinstance(number, sp.Float) and number.is_finite else None


def _each(array: Any, f: Any) -> Any:
    out = np.empty(array.shape, dtype=object)
    for idx in np.ndindex(*array.shape):
        out[idx] = f(array[idx])
    return out


def _known(array: Any) -> bool:
    return array is not None and all(v is not None for v in array.ravel())


def read(params: str, data: str) -> tuple[list[dict[str, Any]], Any, Any]:
    """The parameters and data of the (already validated) files as object arrays of exact rationals."""
    def load(path: str) -> Any:
        return json.loads(read_text(path), parse_float=lambda t: read_decimal(t, path),
                          parse_int=lambda t: read_decimal(t, path))

    def exact(v: Any) -> Any:
        A = np.array(v, dtype=object)
        return _each(A, lambda d: sp.Rational(str(d)) if isinstance(d, Decimal) else sp.Integer(int(d)))

    p, d = load(params), load(data)
    return [{k: exact(v) for k, v in layer.items()} for layer in p["layers"]], exact(d["X"]), exact(d["Y"])


def _config(cfg: Any) -> dict[str, Any]:
    """The layer's keys with ε exact (the decimal it is written as), for the definitions."""
    return {k: sp.Rational(repr(v)) if k == "eps" else v for k, v in cfg.items()}


def _step(expr: sp.Expr) -> sp.Expr:
    """g′ with the SPEC's value at a kink: 1[x > 0] for Heaviside(x) (ReLU′(0) = 0)."""
    return expr.replace(sp.Heaviside, lambda x, *h: sp.Piecewise((1, x > 0), (0, True)))


def _order(symbol: sp.Symbol) -> tuple[int, ...]:
    """The indices of a tensor element named x[e,c,i,j] (row-major order within a window)."""
    return tuple(int(i) for i in symbol.name.split("[")[1].rstrip("]").split(","))


def _tie(arg: sp.Expr, point: dict[sp.Symbol, sp.Expr]) -> int:
    """Heaviside(x_r − max of the others) where it is 0 (x_r ties with a maximum): the derivative of Max is not
    defined there, and SPEC §9's rule decides: 1 when x_r is the first of the tied maxima in row-major order."""
    coefficients = arg.as_coefficients_dict()
    r = next(s for s, c in coefficients.items() if isinstance(s, sp.Symbol) and c > 0)
    others = [s for M in arg.atoms(sp.Max) for s in M.args if isinstance(s, sp.Symbol)]
    others += [s for s, c in coefficients.items() if isinstance(s, sp.Symbol) and c < 0]
    tied = [s for s in others if point[s] == point[r]]
    return int(all(_order(r) < _order(s) for s in tied))


def _derivative_at(expr: sp.Expr, point: dict[sp.Symbol, sp.Expr]) -> sp.Number | None:
    """expr at the point; a Heaviside whose argument is 0 there (a tied maximum) takes SPEC §9's tie rule."""
    ties = {}
    for h in expr.atoms(sp.Heaviside):
        at = sp.Integer(0) + h.args[0].xreplace(point)
        if at == 0:
            ties[h] = sp.Integer(_tie(h.args[0], point))
    return value(expr.xreplace(ties).xreplace(point))


def _chain(Z: Any, D: Any, T: Any, point: dict[sp.Symbol, sp.Expr]) -> Any:
    """∂J/∂T_e = Σ_k δ_k ∂z_k/∂T_e at the point, for every element of T (z_k the element-wise definitions in
    T's symbols). Each partial is taken with the other variables already at their values (the same partial
    derivative), except those equal to T_e there, which a tie rule needs by name."""
    terms: dict[sp.Symbol, list[int]] = {}
    flat_z, flat_d = Z.ravel(), D.ravel()
    for k, z in enumerate(flat_z):
        for sym in z.free_symbols:
            terms.setdefault(sym, []).append(k)
    out = np.empty(T.shape, dtype=object)
    for idx in np.ndindex(*T.shape):
        sym, total = T[idx], sp.Integer(0)
        for k in terms.get(sym, []):
            z = flat_z[k]
            fixed = {t: point[t] for t in z.free_symbols if t != sym and point[t] != point[sym]}
            partial = _derivative_at(sp.diff(z.xreplace(fixed), sym), point)
            if partial == 0:
                continue
            if partial is None or flat_d[k] is None or total is None:
                total = None
                continue
            total = total + flat_d[k] * partial
        out[idx] = None if total is None else value(total)
    return out


def trace(net: LayeredNetwork, P: list[dict[str, Any]], X: Any, Y: Any) -> dict[str, Any]:
    """a, z, deltas (∂J/∂z, J the sum of the examples' losses), cost and gradients, as object arrays of exact
    or DIGITS-digit numbers (None where unknown), shaped as ``LayeredFunctions.backward(trace=True)``'s."""
    from derive.engine.backprop import REDUCTIONS, unit_derivative

    m = X.shape[0]
    scale = REDUCTIONS[net.reduction](sp.Integer(m))
    lam = sp.Rational(repr(net.lam))
    last = len(net.stack)
    A: Any = X
    outs: list[Any] = [X]
    zs: list[Any] = []
    for layer, p in zip(net.stack, P):
        cfg = _config(layer.config)
        Z = _each(KINDS[layer.kind].definition(A, p, cfg), value) if _known(A) else None
        zs.append(Z)
        if Z is None or not layer.activation or layer.activation == "linear":
            A = Z
        elif layer.index < last:
            g = ACTIVATIONS[layer.activation].unit
            assert g is not None
            A = _each(Z, lambda v: value(g(v)) if v is not None else None)  # noqa: B023
        else:  # the output layer: its activation over one example's whole output (softmax couples them)
            g_out = ACTIVATIONS[net.output]
            A = np.array([[value(v) for v in g_out.apply(list(Z[e].ravel()))] for e in range(m)],
                         dtype=object).reshape(Z.shape)
        outs.append(A)
    # the output error: ∂(one example's loss)/∂z by sympy.diff of the loss of the output activation
    width = math.prod(net.output_shape)
    zsym = [sp.Symbol(f"zeta{k}") for k in range(width)]
    g_out = ACTIVATIONS[net.output]
    activated = g_out.apply(zsym) if net.stack[-1].activation else zsym
    deltas: list[Any] = [None] * last
    Z = zs[-1]
    data_terms = []
    D: Any = None
    if _known(Z) and _known(outs[-1]):
        D = np.empty((m, width), dtype=object)
        for e in range(m):
            y = list(Y[e].ravel())
            loss = sp.Add(*(LOSSES[net.loss].term(a, yk, g_out) for a, yk in zip(activated, y)))
            point = dict(zip(zsym, Z[e].ravel()))
            for k in range(width):
                D[e, k] = _derivative_at(sp.diff(loss, zsym[k]), point)
            data_terms.append(sp.Add(*(LOSSES[net.loss].term(a, yk, g_out) for a, yk in zip(outs[-1][e].ravel(), y))))
        D = D.reshape(Z.shape)
    cost = None
    if data_terms:
        penalty = sum((v ** 2 for layer, p in zip(net.stack, P) for w in KINDS[layer.kind].weights
                       for v in p[w].ravel()), sp.Integer(0))
        cost = value(scale * sp.Add(*data_terms) + lam * scale / 2 * penalty)
    grads: list[dict[str, Any]] = [{} for _ in net.stack]
    for layer, p in reversed(list(zip(net.stack, P))):
        n = layer.index
        if D is not None and layer.activation and layer.activation != "linear" and n < last:
            z, a = sp.symbols("z a")
            prime = _step(unit_derivative(layer.activation, z, a).in_z)
            Zl, through = zs[n - 1], np.empty(D.shape, dtype=object)
            for idx in np.ndindex(*D.shape):
                local = None if Zl[idx] is None else _derivative_at(prime, {z: Zl[idx]})
                through[idx] = (sp.Integer(0) if local == 0 else None if local is None or D[idx] is None
                                else value(D[idx] * local))
            D = through
        deltas[n - 1] = D
        known = _known(D) and _known(outs[n - 1])
        cfg = _config(layer.config)
        kind = KINDS[layer.kind]
        for name, shape in layer.parameters:
            if not known:
                grads[n - 1][name] = _each(np.empty(shape, dtype=object), lambda v: None)
                continue
            T = tensor(name, shape)
            Zs = kind.definition(outs[n - 1], {**p, name: T}, cfg)
            G = _chain(Zs, D, T, {T[idx]: p[name][idx] for idx in np.ndindex(*shape)})
            for idx in np.ndindex(*shape):
                extra = lam * p[name][idx] if name in kind.weights else 0
                G[idx] = None if G[idx] is None else value(scale * (G[idx] + extra))
            grads[n - 1][name] = G
        if n == 1:
            break
        if not known:
            D = None
            continue
        x = tensor("x", outs[n - 1].shape)
        D = _chain(kind.definition(x, p, cfg), D, x, {x[idx]: outs[n - 1][idx] for idx in np.ndindex(*x.shape)})
    return {"a": outs, "z": zs, "deltas": deltas, "cost": cost, "gradients": grads}


def read_or_none(net: LayeredNetwork, params: str, data: str) -> dict[str, Any] | None:
    """The exact trace of the files, or None when they hold numbers only a double reads (1e-999)."""
    try:
        P, X, Y = read(params, data)
    except InputError:
        return None
    return trace(net, P, X, Y)
