"""dense: a = g(W x + b), W of shape units × n_in, b of shape units; on a sequence [T, n] (after a recurrent
layer that returns the sequence) the same W and b at every time step: a_t = g(W x_t + b)."""

from __future__ import annotations

from typing import Any

from ..registry import Config, Key, LayerKind, Shape, ShapeError, register
from . import np, sp


def _output(shape: Shape, cfg: Config) -> Shape:
    if len(shape) not in (1, 2):
        raise ShapeError(f"its input has shape {'×'.join(map(str, shape))}; dense needs a vector [n] or a "
                         "sequence [T, n]: put a flatten layer before it")
    return (*shape[:-1], cfg["units"])


def _parameters(shape: Shape, cfg: Config) -> dict[str, Shape]:
    return {"W": (cfg["units"], shape[-1]), "b": (cfg["units"],)}


def definition(x: Any, P: dict[str, Any], cfg: Config) -> Any:
    """z[e, (t,) i] = Σ_j W[i, j] x[e, (t,) j] + b[i], at every time step of a sequence."""
    n = x.shape[-1]
    W, b = P["W"], P["b"]
    out = np.empty((*x.shape[:-1], W.shape[0]), dtype=object)
    for lead in np.ndindex(*x.shape[:-1]):
        for i in range(W.shape[0]):
            out[(*lead, i)] = sp.Add(*(W[i, j] * x[(*lead, j)] for j in range(n))) + b[i]
    return out


def forward(X: Any, P: dict[str, Any], cfg: Config) -> tuple[Any, Any]:
    return X @ P["W"].T + P["b"], X


def backward(dZ: Any, X: Any, P: dict[str, Any], cfg: Config) -> tuple[Any, dict[str, Any]]:
    """∂J/∂x = Wᵀδ, ∂J/∂W = δ xᵀ, ∂J/∂b = δ, summed over the examples (and the time steps of a sequence)."""
    rows, inputs = dZ.reshape(-1, dZ.shape[-1]), X.reshape(-1, X.shape[-1])
    return dZ @ P["W"], {"W": rows.T @ inputs, "b": rows.sum(axis=0)}


def _instance(shape: Shape, cfg: Config) -> tuple[Shape, dict[str, Any], int]:
    small = (min(shape[0], 2), min(shape[1], 2)) if len(shape) == 2 else (min(shape[0], 3),)
    return small, {**cfg, "units": min(cfg["units"], 2)}, 1


register(LayerKind("dense", {"units": Key("int", None, 1, 4096), "activation": Key("activation", "linear")},
                   _output, _parameters, definition, forward, backward, _instance, weights=("W",)))
