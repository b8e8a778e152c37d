"""Random consistent values of every answer name: x, Θ and y drawn, everything else propagated.

Each point is one network with its own weights and example: a and z come from the forward pass, δ from
the derived backward pass (derive.numeric), so ``a[3][1]`` and ``sigmoid(z[3][1])`` have the same value
and ``delta[2][1]`` is what the recursion gives. Δ and m (a training set's quantities) are drawn too; λ is
the network's. Weights are small, so that no activation is saturated.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..activations import ACTIVATIONS
from ..losses import LOSSES
from ..network import Network
from ..notation import parse_name
from ..numeric import NumericFunctions

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
        if kind in self.plain:
            return self.plain[kind][(slice(None), *index)]
        if kind in self.layered and index:
            return self.layered[kind][index[0] - 1][(slice(None), *index[1:])]
        raise KeyError(name)


def seed_of(net: Network) -> int:
    """A seed fixed by the network, so that a verdict never depends on the run."""
    return zlib.crc32(repr(sorted(net.to_dict().items())).encode())


def draw(net: Network, fn: NumericFunctions, *, points: int = POINTS, seed: int | None = None) -> Draws:
    """``points`` consistent draws of every name of ``net``, propagated by the numeric functions ``fn``."""
    rng = np.random.default_rng(seed_of(net) if seed is None else seed)
    L = net.layers
    per_point = []
    for _ in range(points):
        thetas = [rng.uniform(-1, 1, (n_out, n_in + 1)) * WEIGHT_SCALE / np.sqrt(n_in + 1)
                  for n_in, n_out in zip(L, L[1:])]
        x = rng.uniform(-1, 1, (1, L[0]))
        y = _targets(net, rng)[None, :]
        out = fn.backward(thetas, x, y)
        big_deltas = [rng.uniform(-1, 1, T.shape) for T in thetas]
        per_point.append((thetas, x, y, out, big_deltas))

    def stack(get: Callable[[Any], np.ndarray]) -> np.ndarray:
        return np.stack([get(p) for p in per_point])

    ones = np.ones((points, 1))
    zeros = np.zeros((points, 1))
    layered = {
        "a": tuple(np.hstack([ones, stack(lambda p, n=n: p[3]["activations"][n][0])]) for n in range(len(L))),
        "z": (np.hstack([zeros, np.zeros((points, L[0]))]),
              *(np.hstack([zeros, stack(lambda p, n=n: p[3]["z"][n][0])]) for n in range(len(L) - 1))),
        "delta": (np.hstack([zeros, np.zeros((points, L[0]))]),
                  *(np.hstack([zeros, stack(lambda p, n=n: p[3]["deltas"][n][0])]) for n in range(len(L) - 1))),
        "Theta": tuple(stack(lambda p, n=n: _bias_row(p[0][n])) for n in range(len(L) - 1)),
        "Delta": tuple(stack(lambda p, n=n: _bias_row(p[4][n])) for n in range(len(L) - 1)),
    }
    plain = {
        "x": np.hstack([ones, stack(lambda p: p[1][0])]),
        "y": np.hstack([zeros, stack(lambda p: p[2][0])]),
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
