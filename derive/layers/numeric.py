"""Cost and gradients of a layered network over a batch, vectorized (no Python loop over examples or pixels).

Each layer runs its registry entry's ``forward``/``backward`` array code — the very code
``derive.layers.derivation`` proves equal, element by element, to the chain rule on the forward definition.
The element-wise activations and their derivatives are lambdified from the activation registry; the output
error δ and the overflow-free loss come from the fully connected engine (softmax + cross-entropy: a − y).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import numpy as np
import sympy as sp

from derive.model.activations import ACTIVATIONS
from derive.model.losses import LOSSES
from derive.model.network import Network, show

from ..errors import InputError
from .description import LayeredNetwork
from .registry import KINDS

Array = np.ndarray
Params = list[dict[str, Array]]


class Positive(sp.Function):
    """1[x > 0]: the step function with the value 0 at 0, printed for NumPy as one comparison (SymPy's own
    printing of Heaviside(x, 0) is a slower ``select``)."""

    def _numpycode(self, printer: Any) -> str:
        return "(%s > 0)*1.0" % printer._print(self.args[0])


@cache
def _activation(name: str) -> tuple[Callable[[Array], Array], Callable[[Array], Array]]:
    """(g, g′) over arrays for an element-wise activation, lambdified from its registry definition; g′ of ReLU
    at 0 is 0 (1[z > 0], SPEC §1)."""
    from derive.engine.backprop import unit_derivative
    from derive.engine.numeric import _lambdify

    z, a = sp.symbols("z a")
    g = ACTIVATIONS[name]
    assert g.unit is not None
    prime = unit_derivative(name, z, a).in_z.replace(sp.Heaviside, lambda x, *h0: Positive(x))
    if name == "linear":
        return (lambda Z: Z), np.ones_like
    f, fp = _lambdify([z], g.unit(z)), _lambdify([z], prime)
    if prime == Positive(z):  # g′ is the step 1[z > 0] (ReLU): a boolean mask, which δ times it reads as 0 or 1
        return (lambda Z: np.broadcast_to(f(Z), Z.shape)), (lambda Z: np.greater(Z, 0))
    return (lambda Z: np.broadcast_to(f(Z), Z.shape)), (lambda Z: np.broadcast_to(fp(Z), Z.shape))


class LayeredFunctions:
    """forward, cost and gradients of one layered network over a batch X (m × input), Y (m × output)."""

    def __init__(self, net: LayeredNetwork, *, max_units: int | None = None) -> None:
        from derive.engine.numeric import lambdify

        self.network = net
        width = self._width = net.output_width
        flat = Network(layers=(1, width), activations=(), output=net.output, loss=net.loss, reduction=net.reduction)
        head = lambdify(flat) if max_units is None else lambdify(flat, max_units=max_units)
        self._output = head._layers[0].activation   # g of the last layer (softmax over the whole layer)
        self._delta = head._delta                    # the derived δ of the last layer, in a, y, z
        self._loss = head._loss                      # the loss per example, in z, overflow-free
        self._hidden = {layer.index: _activation(layer.activation) for layer in net.stack[:-1]
                        if layer.activation and layer.activation != "linear"}

    # --- the batch computations
    def forward(self, params: Sequence[Any], X: Any) -> tuple[list[Array], list[Any]]:
        """(the output of every layer, after its activation, input first; the caches of the backward pass)."""
        P, A = self._params(params), self._batch(X, "X", self.network.input)
        outs, caches = [A], []
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for layer, p in zip(self.network.stack, P):
                Z, cache_ = KINDS[layer.kind].forward(A, p, layer.config)
                if layer.index == len(self.network.stack):
                    A = self._output(self._rows(Z)).reshape(Z.shape) if layer.activation else Z
                elif layer.index in self._hidden:
                    A = self._hidden[layer.index][0](Z)
                else:
                    A = Z
                caches.append((cache_, Z))
                outs.append(A)
        return outs, caches

    def cost(self, params: Sequence[Any], X: Any, Y: Any) -> float:
        P = self._params(params)
        outs, caches = self.forward(P, X)
        return self._cost(P, caches[-1][1], self._targets(Y, len(outs[0])))

    def _cost(self, P: Params, Z: Array, Yv: Array) -> float:
        scale = self._scale(len(Yv))
        with np.errstate(over="ignore"):
            data = float(np.sum(self._loss(self._rows(Z), self._rows(Yv))))  # summed over any time steps
        penalty = sum(float(np.sum(p[w] ** 2)) for layer, p in zip(self.network.stack, P)
                      for w in KINDS[layer.kind].weights)
        return scale * data + self.network.lam * scale / 2 * penalty

    def gradients(self, params: Sequence[Any], X: Any, Y: Any) -> list[dict[str, Array]]:
        """One dict per layer: ∂J/∂(each parameter), the shape of the parameter."""
        return self.backward(params, X, Y)["gradients"]

    def backward(self, params: Sequence[Any], X: Any, Y: Any, *, trace: bool = False) -> dict[str, Any]:
        """What ``derive numeric`` prints: the cost and the gradients. With ``trace``, also every layer's
        values over the batch, as the worked example and the claims name them: ``a`` (the input, then every
        layer's output after its activation), ``z`` (every layer's output before it) and ``deltas`` (∂J/∂z of
        every layer's output, with J the sum of the examples' losses: each example's own error when nothing
        couples the examples)."""
        net = self.network
        P = self._params(params)
        outs, caches = self.forward(P, X)
        Yv = self._targets(Y, len(outs[0]))
        scale = self._scale(len(Yv))
        Z = caches[-1][1]
        deltas: list[Array] = [np.empty(0)] * len(net.stack)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            flat = self._delta(self._rows(outs[-1]), self._rows(Yv), self._rows(Z))
            D = np.broadcast_to(flat, self._rows(Z).shape).reshape(Z.shape)  # per example; scaled at the end
            grads: list[dict[str, Array]] = [{} for _ in net.stack]
            for layer, p, (cache_, Zl) in reversed(list(zip(net.stack, P, caches))):
                if layer.index in self._hidden and layer.index < len(net.stack):
                    D = D * self._hidden[layer.index][1](Zl)
                if trace:
                    deltas[layer.index - 1] = np.asarray(D, dtype=float)
                kind = KINDS[layer.kind]
                # nothing to pass back from the first layer
                first = layer.index == 1 and layer.kind in ("conv2d", "attention")
                D_in, g = kind.backward(D, cache_, p, layer.config, **({"inputs": False} if first else {}))
                for w in kind.weights:
                    g[w] = g[w] + net.lam * p[w]
                grads[layer.index - 1] = {name: np.asarray(g[name], dtype=float) * scale
                                          for name, _ in layer.parameters}
                D = D_in
        out = {"cost": self._cost(P, Z, Yv), "gradients": grads}
        if trace:
            out.update(a=outs, z=[Zl for _, Zl in caches], deltas=deltas)
        return out

    def _rows(self, A: Array) -> Array:
        """One row per example, or, for a sequence output [T, K], one row per example and time step: the loss
        and a softmax act on each time step's K outputs, and the loss is summed over the time steps."""
        if self.network.sequence_output:
            return A.reshape(-1, A.shape[-1])
        return A.reshape(len(A), -1)

    # --- input checks
    def _scale(self, m: int) -> float:
        return 1.0 / m if self.network.reduction == "mean" else 1.0

    def _params(self, params: Sequence[Any]) -> Params:
        stack = self.network.stack
        if not isinstance(params, list | tuple) or len(params) != len(stack):
            raise InputError(f"layers: expected a list of {len(stack)} objects, one per [[layer]] (empty for a "
                             "layer without parameters)")
        out = []
        for layer, p in zip(stack, params):
            where = f"layers[{layer.index}] ({layer.kind})"
            names = [n for n, _ in layer.parameters]
            if not isinstance(p, dict):
                raise InputError(f"{where}: expected an object with keys {', '.join(names) or 'none ({})'}")
            extra = sorted(set(p) - set(names), key=str)
            missing = [n for n in names if n not in p]
            if extra or missing:
                what = f"unknown key {show(extra[0])}" if extra else f"missing key {missing[0]!r}"
                raise InputError(f"{where}: {what}; expected keys: {', '.join(names) or 'none ({})'}")
            out.append({n: self._array(p[n], f"{where}: {n}", s) for n, s in layer.parameters})
        return out

    def _array(self, value: Any, name: str, shape: tuple[int, ...]) -> Array:
        try:
            A = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise InputError(f"{name}: expected an array of numbers of shape {'×'.join(map(str, shape))}, "
                             "with every row the same length") from None
        if A.shape != shape:
            got = "×".join(map(str, A.shape)) or "a single number"
            raise InputError(f"{name}: shape {got} does not fit the network; expected {'×'.join(map(str, shape))}")
        if not np.all(np.isfinite(A)):
            raise InputError(f"{name}: contains NaN or infinity; only finite numbers are allowed")
        return A

    def _batch(self, value: Any, name: str, shape: tuple[int, ...]) -> Array:
        try:
            A = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise InputError(f"{name}: expected an array of numbers of shape m × {'×'.join(map(str, shape))}") \
                from None
        if A.ndim != len(shape) + 1 or A.shape[1:] != shape or len(A) == 0:
            got = "×".join(map(str, A.shape)) or "a single number"
            raise InputError(f"{name}: shape {got} does not fit the network; expected m × {'×'.join(map(str, shape))}"
                             " (one entry per example, m ≥ 1)")
        if not np.all(np.isfinite(A)):
            raise InputError(f"{name}: contains NaN or infinity; only finite numbers are allowed")
        if self.network.stack and any(KINDS[layer.kind].couples_examples for layer in self.network.stack) \
                and len(A) < 2:
            raise InputError(f"{name}: batch normalization needs at least 2 examples, got {len(A)}")
        return A

    def _targets(self, Y: Any, m: int) -> Array:
        net = self.network
        Yv = self._batch(Y, "Y", net.output_shape)
        if len(Yv) != m:
            raise InputError(f"Y: {len(Yv)} examples but X has {m}; give one target per example")
        loss, g = LOSSES[net.loss], ACTIVATIONS[net.output]
        if loss.targets and (Yv.min() < loss.targets[0] or Yv.max() > loss.targets[1]):
            raise InputError(f"Y: loss {net.loss!r} needs targets in [{loss.targets[0]:g}, {loss.targets[1]:g}]")
        if g.sums_to_one and not np.allclose(self._rows(Yv).sum(axis=1), 1.0, atol=1e-9):
            each = "each time step's targets" if net.sequence_output else "each target row"
            raise InputError(f"Y: output {net.output!r} needs {each} to sum to 1 (e.g. one-hot)")
        return Yv


def lambdify(net: LayeredNetwork, *, max_units: int | None = None) -> LayeredFunctions:
    return LayeredFunctions(net, max_units=max_units)
