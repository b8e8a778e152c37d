"""Numeric functions over a batch, made by SymPy's lambdify from the derived expressions.

The element-wise pieces — each layer's g, the derived output error δ^(L)(a, y, z), each hidden g′ in a
or z, and the loss written stably in z — are lambdified from the Derivation's results and registry
definitions; the vector recursion δ^(l) = (Θ^(l))ᵀδ^(l+1) ∘ g′(z^(l)) and D = scale·Δ + λ·scale·Θ (bias
column zero) carries them over a batch (rows = examples). ``source`` shows the generated code.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import PRECEDENCE

from derive.errors import InputError
from derive.io.progress import track
from derive.model.activations import ACTIVATIONS
from derive.model.losses import LOSSES
from derive.model.network import Network

if TYPE_CHECKING:
    from derive.layers import LayeredNetwork

Array = np.ndarray


class LogSumExp(sp.Function):
    """log(Σ exp(args)), printed for NumPy as a max-shifted sum so it never overflows."""

    def _numpycode(self, printer: Any) -> str:
        return "_lse(%s)" % ", ".join(printer._print(a) for a in self.args)


def _lse(*columns: Any) -> Any:
    top = np.maximum.reduce(np.broadcast_arrays(*columns)) if len(columns) > 1 else columns[0]
    return top + np.log(sum(np.exp(c - top) for c in columns))


def stable_log(arg: sp.Expr) -> sp.Expr:
    """log(arg) rewritten so that no exp overflows: log(Σ exp(u_k)) becomes LogSumExp(u_k)."""
    expr = sp.expand_log(sp.log(sp.together(arg)), force=True)

    def fold(e: sp.Expr) -> sp.Expr:
        inner = e.args[0]
        terms = sp.Add.make_args(inner)
        exps = []
        for t in terms:
            if t == 1:
                exps.append(sp.Integer(0))
            elif isinstance(t, sp.exp):
                exps.append(t.args[0])
            else:
                return e
        return LogSumExp(*exps) if len(exps) > 1 else e

    return expr.replace(lambda e: isinstance(e, sp.log) and isinstance(e.args[0], sp.Add), fold)


_MODULES = [{"_lse": _lse}, "numpy"]


class _Printer(NumPyPrinter):
    """NumPy code with reciprocals written as divisions: ``1/(1 + exp(-z))``, not ``(1 + exp(-z))**(-1.0)``
    (a float power is several times slower than a division over a whole batch)."""

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        if expr.exp.is_Integer and expr.exp < 0:
            base = self.parenthesize(expr.base, PRECEDENCE["Pow"])
            power = -expr.exp
            return f"1/{base}" if power == 1 else f"1/{base}**{power}"
        return super()._print_Pow(expr, rational=rational)


def _lambdify(args: Sequence[sp.Symbol], expr: Any) -> Callable[..., Any]:
    printer = _Printer({"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True,
                        "user_functions": {}})
    return sp.lambdify(args, expr, modules=_MODULES, printer=printer, cse=True, docstring_limit=0)


@dataclass(frozen=True)
class _Layer:
    activation: Callable[[Array], Array]
    prime: Callable[[Array, Array], Array] | None


class NumericFunctions:
    """forward, cost and gradients of one network over a batch X (m × s_1), Y (m × s_L)."""

    def __init__(self, net: Network, *, output_delta: sp.Expr, hidden_derivatives: Sequence[sp.Expr],
                 output_delta_layer: Sequence[sp.Expr] | None = None) -> None:
        self.network = net
        a, y, z = sp.symbols("a y z")
        self._layers: list[_Layer] = []
        self._pieces: list[tuple[str, Callable[..., Any]]] = []
        for layer in track(range(2, net.L + 1), "lambdify"):
            g = ACTIVATIONS[net.activation(layer)]
            if g.elementwise:
                assert g.unit is not None
                act = self._piece(f"g{layer}", [z], g.unit(z))
            else:
                act = self._layer_function(f"g{layer}", net.layers[layer - 1], g)
            prime = None
            if layer < net.L:
                prime = self._piece(f"g_prime{layer}", [a, z], hidden_derivatives[layer - 2])
            self._layers.append(_Layer(act, prime))
        if output_delta_layer is None:
            self._delta = self._piece("output_delta", [a, y, z], output_delta)
        else:
            K = net.layers[-1]
            names = [sp.Symbol(f"a[{net.L}][{k}]") for k in range(1, K + 1)]
            names += [sp.Symbol(f"y[{k}]") for k in range(1, K + 1)]
            plain = sp.symbols(f"a1:{K + 1}") + sp.symbols(f"y1:{K + 1}")
            exprs = [e.xreplace(dict(zip(names, plain))) for e in output_delta_layer]
            f = _lambdify(list(plain), exprs)
            self._pieces.append(("output_delta", f))
            self._delta = lambda A, Y, Z: np.column_stack(np.broadcast_arrays(*f(*A.T, *Y.T)))
        self._loss = self._loss_function(net)

    def _piece(self, name: str, args: list[sp.Symbol], expr: sp.Expr) -> Callable[..., Any]:
        f = _lambdify(args, expr)
        self._pieces.append((name, f))
        if expr.is_number:
            value = float(expr)
            return lambda *xs: np.full_like(xs[-1], value, dtype=float)
        return f

    def _layer_function(self, name: str, width: int, g: Any) -> Callable[[Array], Array]:
        zs = sp.symbols(f"z1:{width + 1}")
        stable = [sp.exp(stable_log(v)) for v in g.apply(zs)]
        f = _lambdify(zs, stable)
        self._pieces.append((name, f))
        return lambda Z: np.column_stack(np.broadcast_arrays(*f(*Z.T)))

    def _loss_function(self, net: Network) -> Callable[[Array, Array], Array]:
        """The per-example loss in z (not a), with every log in its overflow-free form."""
        g, loss = ACTIVATIONS[net.output], LOSSES[net.loss]
        width = net.layers[-1]
        if g.elementwise:
            assert g.unit is not None
            z, y = sp.symbols("z y")
            term = loss.term(g.unit(z), y, g).replace(sp.log, stable_log)
            f = self._piece("loss", [z, y], term)
            return lambda Z, Y: f(Z, Y).sum(axis=1)
        zs, ys = sp.symbols(f"z1:{width + 1}"), sp.symbols(f"y1:{width + 1}")
        term = loss.example(g.apply(zs), ys, g).replace(sp.log, stable_log)
        f = self._piece("loss", [*zs, *ys], term)
        return lambda Z, Y: f(*Z.T, *Y.T)

    @property
    def source(self) -> str:
        """The generated code of every lambdified piece, then the batch recursion that carries them, for reading."""
        pieces = "\n".join(f"# {name}\n{inspect.getsource(f)}" for name, f in self._pieces)
        methods = (NumericFunctions.forward, NumericFunctions.gradients, NumericFunctions._back,
                   NumericFunctions._gradient)
        batch = "\n".join(textwrap.dedent(inspect.getsource(m)) for m in methods)
        return f"{pieces}\n# the batch recursion over these pieces (rows = examples)\n{batch}"

    # --- the batch computations
    def forward(self, thetas: Sequence[Any], X: Any) -> tuple[list[Array], list[Array]]:
        """(activations a^(1) … a^(L), pre-activations z^(2) … z^(L)); rows are examples, no bias column."""
        Ts, A = self._thetas(thetas), self._matrix(X, "X", self.network.layers[0])
        acts, zs = [A], []
        with np.errstate(over="ignore"):
            for T, layer in zip(Ts, self._layers):
                Z = A @ T[:, 1:].T        # the bias column is added, not multiplied by a column of ones
                Z += T[:, 0]
                A = layer.activation(Z)
                zs.append(Z)
                acts.append(A)
        return acts, zs

    def cost(self, thetas: Sequence[Any], X: Any, Y: Any) -> float:
        Ts = self._thetas(thetas)
        _, zs = self.forward(Ts, X)
        Yv = self._targets(Y, zs[-1].shape[0])
        scale = self._scale(len(Yv))
        with np.errstate(over="ignore"):
            data = float(np.sum(self._loss(zs[-1], Yv)))
        penalty = sum(float(np.sum(T[:, 1:] ** 2)) for T in Ts)
        return scale * data + self.network.lam * scale / 2 * penalty

    def backward(self, thetas: Sequence[Any], X: Any, Y: Any) -> dict[str, Any]:
        """Everything ``derive numeric`` prints: cost, activations, z, deltas, gradients."""
        Ts = self._thetas(thetas)
        acts, zs = self.forward(Ts, X)
        Yv = self._targets(Y, acts[0].shape[0])
        with np.errstate(over="ignore"):
            delta = self._delta(acts[-1], Yv, zs[-1])
            deltas = [np.broadcast_to(delta, acts[-1].shape).astype(float)]
            for layer in range(len(Ts) - 1, 0, -1):
                deltas.insert(0, self._back(deltas[0], Ts[layer], acts[layer], zs[layer - 1], layer))
        scale = self._scale(len(Yv))
        grads = [self._gradient(T, A, D, scale) for T, A, D in zip(Ts, acts, deltas)]
        return {"cost": self.cost(Ts, acts[0], Yv), "activations": acts, "z": zs, "deltas": deltas,
                "gradients": grads}

    def gradients(self, thetas: Sequence[Any], X: Any, Y: Any) -> list[Array]:
        """D^(1) … D^(L−1), each the shape of its Θ."""
        Ts = self._thetas(thetas)
        acts, zs = self.forward(Ts, X)
        Yv = self._targets(Y, acts[0].shape[0])
        scale = self._scale(len(Yv))
        with np.errstate(over="ignore"):
            D = np.broadcast_to(self._delta(acts[-1], Yv, zs[-1]), acts[-1].shape)
            grads: list[Array] = []
            for layer in range(len(Ts) - 1, -1, -1):
                grads.append(self._gradient(Ts[layer], acts[layer], D, scale))
                if layer:
                    D = self._back(D, Ts[layer], acts[layer], zs[layer - 1], layer)
        return grads[::-1]

    def _back(self, D: Array, T: Array, A: Array, Z: Array, layer: int) -> Array:
        """δ^(l) = (Θ^(l))ᵀ δ^(l+1) ∘ g′(z^(l)) without the bias row, over the batch (rows = examples)."""
        prime = self._layers[layer - 1].prime
        assert prime is not None
        back = D @ T[:, 1:]
        back *= prime(A, Z)
        return back

    def _gradient(self, T: Array, A: Array, D: Array, scale: float) -> Array:
        """scale·Σ_i δ (1, a)ᵀ + λ·scale·Θ with the bias column not regularized, never building (1, a)."""
        G = np.empty_like(T)
        np.multiply(D.sum(axis=0), scale, out=G[:, 0])
        np.multiply(D.T @ A, scale, out=G[:, 1:])  # the product first: a strided ``out=`` would leave BLAS
        if self.network.lam:
            G[:, 1:] += (self.network.lam * scale) * T[:, 1:]
        return G

    # --- input checks
    def _scale(self, m: int) -> float:
        return 1.0 / m if self.network.reduction == "mean" else 1.0

    def _thetas(self, thetas: Sequence[Any]) -> list[Array]:
        L = self.network.layers
        if not isinstance(thetas, list | tuple) or len(thetas) != len(L) - 1:
            raise InputError(f"Theta: expected a list of {len(L) - 1} matrices (one per layer pair)")
        out = []
        for n, (T, s_in, s_out) in enumerate(zip(thetas, L, L[1:]), start=1):
            out.append(self._matrix(T, f"Theta[{n}]", s_in + 1, rows=s_out))
        return out

    def _matrix(self, value: Any, name: str, cols: int, *, rows: int | None = None) -> Array:
        try:
            M = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise InputError(f"{name}: expected a matrix of numbers") from None
        if M.ndim != 2 or M.shape[1] != cols or (rows is not None and M.shape[0] != rows) or M.shape[0] == 0:
            want = f"{rows if rows is not None else 'm'} x {cols}"
            raise InputError(f"{name}: shape {'x'.join(map(str, M.shape)) or 'scalar'} does not fit the network; "
                             f"expected {want}")
        if not np.isfinite(M.sum()) and not np.all(np.isfinite(M)):  # one pass unless something overflows
            raise InputError(f"{name}: contains NaN or infinity; only finite numbers are allowed")
        return M

    def _targets(self, Y: Any, m: int) -> Array:
        net = self.network
        Yv = self._matrix(Y, "Y", net.layers[-1])
        if len(Yv) != m:
            raise InputError(f"Y: {len(Yv)} rows but X has {m}; give one target row per example")
        loss, g = LOSSES[net.loss], ACTIVATIONS[net.output]
        if loss.targets and (Yv.min() < loss.targets[0] or Yv.max() > loss.targets[1]):
            raise InputError(f"Y: loss {net.loss!r} needs targets in [{loss.targets[0]:g}, {loss.targets[1]:g}]")
        if g.sums_to_one and not np.allclose(Yv.sum(axis=1), 1.0, atol=1e-9):
            raise InputError(f"Y: output {net.output!r} needs each target row to sum to 1 (e.g. one-hot)")
        return Yv


def lambdify(net: Network | LayeredNetwork, *, max_units: int | None = None) -> NumericFunctions:
    """Numeric functions for ``net`` built from its derivation's results (``derivation.results``: the same code as
    ``backprop`` without checking each step; ``max_units``: see ``backprop``)."""
    if not isinstance(net, Network):  # a layered network (SPEC §9)
        from derive.layers.numeric import lambdify as layered

        return layered(net, max_units=max_units)  # type: ignore[return-value]
    from derive.engine.backprop import results

    r = results(net) if max_units is None else results(net, max_units=max_units)
    return NumericFunctions(net, output_delta=r.output_delta, hidden_derivatives=r.hidden_derivatives,
                            output_delta_layer=r.output_delta_layer)
