"""An independent reference for layered networks: a plain per-example, per-pixel forward pass written out
with loops (nothing shared with derive.layers), and central finite differences of its cost."""

from __future__ import annotations

from typing import Any

import numpy as np

ACT = {
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0),
}


def _conv(x: np.ndarray, K: np.ndarray, b: np.ndarray, stride: int, padding: int) -> np.ndarray:
    c_in, h, w = x.shape
    c_out, _, k, _ = K.shape
    xp = np.zeros((c_in, h + 2 * padding, w + 2 * padding))
    xp[:, padding: padding + h, padding: padding + w] = x
    ho, wo = (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1
    out = np.zeros((c_out, ho, wo))
    for o in range(c_out):
        for i in range(ho):
            for j in range(wo):
                out[o, i, j] = np.sum(K[o] * xp[:, i * stride: i * stride + k, j * stride: j * stride + k]) + b[o]
    return out


def _pool(x: np.ndarray, size: int, reduce: Any) -> np.ndarray:
    c, h, w = x.shape
    out = np.zeros((c, h // size, w // size))
    for ch in range(c):
        for i in range(h // size):
            for j in range(w // size):
                out[ch, i, j] = reduce(x[ch, i * size: (i + 1) * size, j * size: (j + 1) * size])
    return out


def _norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float, axes: tuple[int, ...]) -> np.ndarray:
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    shape = [1] * x.ndim
    shape[1] = -1
    return gamma.reshape(shape) * (x - mu) / np.sqrt(var + eps) + beta.reshape(shape)


def forward(layers: list[dict], params: list[dict], X: np.ndarray) -> np.ndarray:
    """The pre-activation output of the last layer for the whole batch (batch norm needs the batch)."""
    A = np.asarray(X, float)
    for n, (layer, p) in enumerate(zip(layers, params)):
        kind = layer["kind"]
        if kind == "conv2d":
            Z = np.array([_conv(a, p["K"], p["b"], layer.get("stride", 1), layer.get("padding", 0)) for a in A])
        elif kind == "dense":
            Z = np.array([p["W"] @ a + p["b"] for a in A])
        elif kind == "maxpool":
            Z = np.array([_pool(a, layer["size"], np.max) for a in A])
        elif kind == "meanpool":
            Z = np.array([_pool(a, layer["size"], np.mean) for a in A])
        elif kind == "flatten":
            Z = np.array([a.ravel() for a in A])
        elif kind == "batchnorm":
            Z = _norm(A, p["gamma"], p["beta"], layer.get("eps", 1e-5), (0,) if A.ndim == 2 else (0, 2, 3))
        elif kind == "layernorm":
            Z = _norm(A, p["gamma"], p["beta"], layer.get("eps", 1e-5), (1,))
        else:
            raise ValueError(kind)
        if n == len(layers) - 1:
            return Z
        A = ACT[layer.get("activation", "linear")](Z)
    raise ValueError("no layers")


def cost(spec: dict, params: list[dict], X: np.ndarray, Y: np.ndarray) -> float:
    layers = spec["layer"]
    Z = forward(layers, params, X).reshape(len(X), -1)
    Y = np.asarray(Y, float).reshape(len(X), -1)
    out = layers[-1].get("activation", "linear")
    if spec.get("loss", "cross_entropy") == "squared_error":
        A = Z if out == "softmax" else ACT[out](Z)
        if out == "softmax":
            A = np.exp(Z - Z.max(axis=1, keepdims=True))
            A /= A.sum(axis=1, keepdims=True)
        per = 0.5 * np.sum((A - Y) ** 2)
    elif out == "softmax":
        top = Z.max(axis=1, keepdims=True)
        per = -np.sum(Y * (Z - top - np.log(np.exp(Z - top).sum(axis=1, keepdims=True))))
    else:  # sigmoid
        per = np.sum(Y * np.logaddexp(0, -Z) + (1 - Y) * np.logaddexp(0, Z))
    weights = sum(np.sum(p[w] ** 2) for p in params for w in ("K", "W") if w in p)
    reg = spec.get("lambda", 0.0) / 2 * weights
    return (per + reg) / len(X) if spec.get("reduction", "mean") == "mean" else per + reg


def numgrad(spec: dict, params: list[dict], X: np.ndarray, Y: np.ndarray, eps: float = 1e-6) -> list[dict]:
    params = [{k: np.array(v, float) for k, v in p.items()} for p in params]
    grads = []
    for p in params:
        g = {}
        for name, v in p.items():
            G = np.zeros_like(v)
            for idx in np.ndindex(v.shape):
                old = v[idx]
                v[idx] = old + eps
                up = cost(spec, params, X, Y)
                v[idx] = old - eps
                down = cost(spec, params, X, Y)
                v[idx] = old
                G[idx] = (up - down) / (2 * eps)
            g[name] = G
        grads.append(g)
    return grads
