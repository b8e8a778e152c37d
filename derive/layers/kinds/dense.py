"""dense: a = g(W x + b), W of shape units × n_in, b of shape units."""

from __future__ import annotations

from typing import Any

from ..registry import Config, Key, LayerKind, Shape, ShapeError, register
from . import np, sp


def _output(shape: Shape, cfg: Config) -> Shape:
    if len(shape) != 1:
        raise ShapeError(f"its input has shape {'×'.join(map(str, shape))}; dense needs a vector [n]: "
                         "put a flatten layer before it")
    return (cfg["units"],)


def _parameters(shape: Shape, cfg: Config) -> dict[str, Shape]:
    return {"W": (cfg["units"], shape[0]), "b": (cfg["units"],)}


def definition(x: Any, P: dict[str, Any], cfg: Config) -> Any:
    m, n = x.shape
    W, b = P["W"], P["b"]
    out = np.empty((m, W.shape[0]), dtype=object)
    for e in range(m):
        for i in range(W.shape[0]):
            out[e, i] = sp.Add(*(W[i, j] * x[e, j] for j in range(n))) + b[i]
    return out


def forward(X: Any, P: dict[str, Any], cfg: Config) -> tuple[Any, Any]:
    return X @ P["W"].T + P["b"], X


def backward(dZ: Any, X: Any, P: dict[str, Any], cfg: Config) -> tuple[Any, dict[str, Any]]:
    """∂J/∂x = Wᵀδ, ∂J/∂W = δ xᵀ, ∂J/∂b = δ, summed over the examples (rows)."""
    return dZ @ P["W"], {"W": dZ.T @ X, "b": dZ.sum(axis=0)}


def _instance(shape: Shape, cfg: Config) -> tuple[Shape, dict[str, Any], int]:
    return (min(shape[0], 3),), {**cfg, "units": min(cfg["units"], 2)}, 1


register(LayerKind("dense", {"units": Key("int", None, 1, 4096), "activation": Key("activation", "linear")},
                   _output, _parameters, definition, forward, backward, _instance, weights=("W",)))
