"""A layer's quantities computed again, independently of the array code, from the exact inputs.

Each layer's element-wise SymPy ``definition`` (the mathematics of SPEC §9, not the NumPy ``forward``) is
written in symbols for its input and parameters and taken as the graph of its distinct subexpressions
(``_Graph``); the forward pass evaluates every node once at the exact decimals the JSON spells, and the
backward pass runs the chain rule itself backwards over the graph: for a layer with output z and error
δ = ∂J/∂z, ∂J/∂T_e = Σ_k δ_k ∂z_k/∂T_e, each node's partials in its children by ``sympy.diff`` (never the
lecturer's form the array code computes). A value stays rational where it is (weighted sums, ReLU, pooling,
squared error); the rest (exp, log, square roots) is carried to ``DIGITS`` digits. Where the derivative of
Max is not defined (a max-pooling window whose maximum is tied: Heaviside(0)), SPEC §9's rule (the first
maximum, in row-major order) is applied by name; a value that is not a finite number is None."""

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
        if len(h.args) > 1 and h.args[1] != sp.S.Half:
            continue  # a value at 0 of its own: ReLU′(0) = 0
        at = sp.Integer(0) + h.args[0].xreplace(point)
        if at == 0:
            ties[h] = sp.Integer(_tie(h.args[0], point))
    return value(expr.xreplace(ties).xreplace(point))


_UNKNOWN = object()
"""an adjoint that met an unknown value (None)"""


class _Graph:
    """A layer's element-wise definitions, written in symbols for its input and parameters, as the graph of
    their distinct subexpressions, each evaluated once at the point the files give (children first). A
    recurrent layer's output at step t holds its state at t − 1 several times over: evaluating or
    differentiating the expanded tree would repeat that work exponentially in the number of steps."""

    def __init__(self, Z: Any, point: dict[sp.Symbol, sp.Expr]) -> None:
        self.shape = Z.shape
        self.outputs = list(Z.ravel())
        self.vals: dict[Any, Any] = dict(point)
        self.order: list[Any] = []
        stack = [(o, False) for o in reversed(self.outputs)]
        while stack:
            node, ready = stack.pop()
            if node in self.vals:
                continue
            if not node.args:
                if isinstance(node, sp.Symbol):
                    raise AssertionError(f"{node} has no value")
                self.vals[node] = node
            elif ready:
                v = node.func(*(self.vals[c] for c in node.args))
                self.vals[node] = (sp.nan if (v := value(v)) is None else v) if isinstance(v, sp.Expr) else v
                self.order.append(node)
            else:
                stack.append((node, True))
                stack.extend((c, False) for c in node.args if c not in self.vals)
        self._partials: dict[tuple[Any, Any], Any] = {}

    def values(self) -> Any:
        """Each element's ``value`` at the point."""
        out = np.empty(len(self.outputs), dtype=object)
        for k, o in enumerate(self.outputs):
            out[k] = value(self.vals[o])
        return out.reshape(self.shape)

    def _local(self, node: Any) -> list[tuple[Any, Any]]:
        """(child, ∂node/∂child at the point) for each child the node is differentiable in: the node with
        each compound child replaced by a symbol ξ[k] (a symbol child stays itself), differentiated by
        ``sympy.diff`` (once per shape of node), and taken at the children's values."""
        children = [c for c in dict.fromkeys(node.args) if isinstance(c, sp.Expr) and not c.is_Number]
        variables = {c: c if isinstance(c, sp.Symbol) else sp.Symbol(f"ξ[{k}]", real=True)
                     for k, c in enumerate(children)}
        shaped = node.xreplace({c: v for c, v in variables.items() if c is not v})
        at = {v: self.vals[c] for c, v in variables.items()}
        out = []
        for c, v in variables.items():
            key = (shaped, v)
            if key not in self._partials:
                self._partials[key] = sp.diff(shaped, v)
            out.append((c, _derivative_at(self._partials[key], at)))
        return out

    def chain(self, D: Any) -> dict[Any, Any]:
        """∂J/∂s = Σ_k δ_k ∂z_k/∂s at the point for every symbol s the definitions are written in, by the chain
        rule itself run backwards over the graph: each subexpression's partials in its children, by
        ``sympy.diff``, taken at the point and multiplied into the adjoints from the outputs down to the input
        and parameters. A total that meets an unknown (None) term with a nonzero partial is None."""
        adjoint: dict[Any, Any] = {}

        def add(node: Any, term: Any) -> None:
            known = adjoint.get(node, sp.Integer(0))
            adjoint[node] = _UNKNOWN if term is _UNKNOWN or known is _UNKNOWN else value(known + term)

        for o, d in zip(self.outputs, D.ravel()):
            add(o, _UNKNOWN if d is None else d)
        for node in reversed(self.order):
            bar = adjoint.get(node, sp.Integer(0))
            if bar is not _UNKNOWN and bar == 0 or not isinstance(node, sp.Expr):
                continue
            for child, partial in self._local(node):
                if partial == 0:
                    continue
                add(child, _UNKNOWN if partial is None or bar is _UNKNOWN else bar * partial)
        return {k: None if v is _UNKNOWN else v for k, v in adjoint.items()}


def _gathered(adjoint: dict[sp.Symbol, Any], T: Any) -> Any:
    """The adjoints of T's symbols as an array shaped as T (0 for a symbol no output depends on)."""
    out = np.empty(T.shape, dtype=object)
    for idx in np.ndindex(*T.shape):
        total = adjoint.get(T[idx], sp.Integer(0))
        out[idx] = None if total is None else value(total)
    return out


def _layer(kind: Any, A: Any, p: dict[str, Any], cfg: Any) -> tuple[Any, dict[str, Any], _Graph]:
    """The layer's input and parameter symbols and its definitions' graph at the given values."""
    x = tensor("x", A.shape, real=True)
    T = {name: tensor(name, values.shape, real=True) for name, values in p.items()}
    point = {x[idx]: A[idx] for idx in np.ndindex(*A.shape)}
    for name, values in p.items():
        point.update({T[name][idx]: values[idx] for idx in np.ndindex(*values.shape)})
    with sp.evaluate(False):  # built as written: no simplification, no assumption queries on nested states
        Z = kind.definition(x, T, cfg)
    return x, T, _Graph(Z, point)


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
    graphs: list[Any] = []
    for layer, p in zip(net.stack, P):
        cfg = _config(layer.config)
        graphs.append(_layer(KINDS[layer.kind], A, p, cfg) if _known(A) else None)
        Z = graphs[-1][2].values() if graphs[-1] else None
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
        kind = KINDS[layer.kind]
        x, T, graph = graphs[n - 1] if known else (None, {}, None)
        adjoint = graph.chain(D) if known else {}
        for name, shape in layer.parameters:
            if not known:
                grads[n - 1][name] = _each(np.empty(shape, dtype=object), lambda v: None)
                continue
            G = _gathered(adjoint, T[name])
            for idx in np.ndindex(*shape):
                extra = lam * p[name][idx] if name in kind.weights else 0
                G[idx] = None if G[idx] is None else value(scale * (G[idx] + extra))
            grads[n - 1][name] = G
        if n == 1:
            break
        D = _gathered(adjoint, x) if known else None
    return {"a": outs, "z": zs, "deltas": deltas, "cost": cost, "gradients": grads}


def read_or_none(net: LayeredNetwork, params: str, data: str) -> dict[str, Any] | None:
    """The exact trace of the files, or None when they hold numbers only a double reads (1e-999)."""
    try:
        P, X, Y = read(params, data)
    except InputError:
        return None
    return trace(net, P, X, Y)
