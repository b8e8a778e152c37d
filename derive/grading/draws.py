"""Random consistent values of every answer name: x, Θ and y drawn, everything else propagated.

Each point is one network with its own weights and example: a and z come from the forward pass, δ from
the derived backward pass (derive.engine.numeric), so ``a[3][1]`` and ``sigmoid(z[3][1])`` have the same value
and ``delta[2][1]`` is what the recursion gives. Δ and m (a training set's quantities) are drawn too; λ is
the network's. Weights are small, so that no activation is saturated.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from derive.engine.numeric import NumericFunctions
from derive.model.activations import ACTIVATIONS
from derive.model.losses import LOSSES
from derive.model.network import Network
from derive.model.notation import parse_name

POINTS = 12
"""points every answer is compared at"""
WEIGHT_SCALE = 1.5
"""weights are drawn from ±WEIGHT_SCALE/sqrt(fan-in), which keeps each z within a few units of 0"""
EXAMPLES = (3, 40)
"""the range m is drawn from"""


@dataclass(frozen=True)
class Draws:
    """name -> array of its value at each point; layered kinds are stored per layer, bias column first."""

    points: int
    layered: Mapping[str, tuple[np.ndarray, ...]]
    """kind -> per layer (index 0 is layer 1) an array points × (units + bias column) or points × rows × cols"""
    plain: Mapping[str, np.ndarray]
    """y and x (points × (units + 1)), lambda and m (points)"""

    def __getitem__(self, name: str) -> np.ndarray:
        parsed = parse_name(name)
        if parsed is None:
            raise KeyError(name)
        kind, idx = parsed
        index = tuple(int(i) for i in idx)
        everywhere: tuple[Any, ...] = (slice(None),)
        if kind in self.plain:
            return self.plain[kind][everywhere + index]
        if kind in self.layered and index:
            return self.layered[kind][index[0] - 1][everywhere + index[1:]]
        raise KeyError(name)


def seed_of(net: Network) -> int:
    """A seed fixed by the network, so that a verdict never depends on the run."""
    return zlib.crc32(repr(sorted(net.to_dict().items())).encode())


def draw(net: Network, fn: NumericFunctions, *, points: int = POINTS, seed: int | None = None) -> Draws:
    """``points`` consistent draws of every name of ``net``, propagated by the numeric functions ``fn``."""
    rng = np.random.default_rng(seed_of(net) if seed is None else seed)
    L = net.layers
    thetas, big_deltas, xs, ys, passes = [], [], [], [], []
    for _ in range(points):
        T = [rng.uniform(-1, 1, (n_out, n_in + 1)) * WEIGHT_SCALE / np.sqrt(n_in + 1) for n_in, n_out in zip(L, L[1:])]
        x, y = rng.uniform(-1, 1, (1, L[0])), _targets(net, rng)[None, :]
        passes.append(fn.backward(T, x, y))
        thetas.append(T)
        big_deltas.append([rng.uniform(-1, 1, M.shape) for M in T])
        xs.append(x[0])
        ys.append(y[0])

    def column(rows: list[np.ndarray], first: float) -> np.ndarray:
        """rows stacked over the points, with a first column (the bias unit, or an unused 0)."""
        return np.hstack([np.full((points, 1), first), np.stack(rows)])

    def per_layer(key: str, first: float) -> tuple[np.ndarray, ...]:
        return tuple(column([p[key][n][0] for p in passes], first) for n in range(len(passes[0][key])))

    unused = np.zeros((points, L[0] + 1))  # z and δ have no layer 1: index 0 is never read
    layered = {
        "a": per_layer("activations", 1.0),
        "z": (unused, *per_layer("z", 0.0)),
        "delta": (unused, *per_layer("deltas", 0.0)),
        "Theta": tuple(np.stack([_bias_row(T[n]) for T in thetas]) for n in range(len(L) - 1)),
        "Delta": tuple(np.stack([_bias_row(D[n]) for D in big_deltas]) for n in range(len(L) - 1)),
    }
    plain = {
        "x": column(xs, 1.0),
        "y": column(ys, 0.0),
        "lambda": np.full(points, net.lam),
        "m": rng.integers(*EXAMPLES, size=points).astype(float),
    }
    return Draws(points, layered, plain)


def _bias_row(matrix: np.ndarray) -> np.ndarray:
    """Θ with a row 0 prepended, so that Theta[l][i][j] indexes row i, column j directly (rows are 1-based)."""
    return np.vstack([np.zeros((1, matrix.shape[1])), matrix])


def _targets(net: Network, rng: np.random.Generator) -> np.ndarray:
    """Targets the loss accepts: inside the loss's interval (or the output's range), summing to one for softmax."""
    K = net.layers[-1]
    g, loss = ACTIVATIONS[net.output], LOSSES[net.loss]
    if g.sums_to_one:
        r = rng.uniform(0.2, 1.0, K)
        return r / r.sum()
    low, high = loss.targets or (max(g.range[0], -1.0), min(g.range[1], 1.0))
    margin = 0.1 * (high - low)
    return rng.uniform(low + margin, high - margin, K)
