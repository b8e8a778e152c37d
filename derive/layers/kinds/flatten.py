"""flatten: C × H × W → C·H·W, row-major (no parameters)."""

from __future__ import annotations

import math
from typing import Any

from ..registry import Config, LayerKind, Shape, ShapeError, register
from . import np


def _output(shape: Shape, cfg: Config) -> Shape:
    if len(shape) == 1:
        raise ShapeError(f"its input [{shape[0]}] is already a vector; remove the flatten layer")
    return (math.prod(shape),)


def definition(x: Any, P: dict[str, Any], cfg: Config) -> Any:
    m = x.shape[0]
    out = np.empty((m, math.prod(x.shape[1:])), dtype=object)
    for e in range(m):
        for n, idx in enumerate(np.ndindex(*x.shape[1:])):
            out[e, n] = x[(e, *idx)]
    return out


def forward(X: Any, P: dict[str, Any], cfg: Config) -> tuple[Any, Any]:
    return X.reshape(X.shape[0], -1), X.shape


def backward(dZ: Any, shape: Any, P: dict[str, Any], cfg: Config) -> tuple[Any, dict[str, Any]]:
    """δ is passed back unflattened: element n of the vector is element (c, i, j) of the image."""
    return dZ.reshape(shape), {}


def _instance(shape: Shape, cfg: Config) -> tuple[Shape, dict[str, Any], int]:
    return tuple(min(n, 2) for n in shape), dict(cfg), 1


register(LayerKind("flatten", {}, _output, lambda shape, cfg: {}, definition, forward, backward, _instance))
