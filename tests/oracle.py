"""An independent reference: a plain numpy forward pass and central finite differences of its cost.

It shares nothing with derive's symbolic side: the activations and losses are written out here.
"""

from __future__ import annotations

import numpy as np

ACT = {
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0),
    "softmax": lambda z: np.exp(z - z.max(axis=1, keepdims=True)) / np.exp(z - z.max(axis=1, keepdims=True)).sum(
        axis=1, keepdims=True),
}


def cost(spec: dict, Ts: list, X: np.ndarray, Y: np.ndarray) -> float:
    L = spec["layers"]
    hidden = spec.get("activation", "sigmoid")
    hidden = hidden if isinstance(hidden, list) else [hidden] * (len(L) - 2)
    out = spec.get("output", "sigmoid")
    A = np.asarray(X, float)
    for n, T in enumerate(Ts):
        g = out if n == len(Ts) - 1 else hidden[n]
        Z = np.hstack([np.ones((len(A), 1)), A]) @ np.asarray(T).T
        A = ACT[g](Z)
    Y = np.asarray(Y, float)
    # the logs are taken of z, not of a: log(1 − a) of an a rounded near 1 would swamp the differences
    if spec.get("loss", "cross_entropy") == "squared_error":
        per = 0.5 * np.sum((A - Y) ** 2)
    elif out == "softmax":
        top = Z.max(axis=1, keepdims=True)
        log_a = Z - top - np.log(np.exp(Z - top).sum(axis=1, keepdims=True))
        per = -np.sum(Y * log_a)
    else:
        per = np.sum(Y * np.logaddexp(0, -Z) + (1 - Y) * np.logaddexp(0, Z))
    reg = spec.get("lambda", 0.0) / 2 * sum(np.sum(np.asarray(T)[:, 1:] ** 2) for T in Ts)
    m = len(X)
    return (per + reg) / m if spec.get("reduction", "mean") == "mean" else per + reg


def numgrad(spec: dict, Ts: list, X: np.ndarray, Y: np.ndarray, eps: float = 1e-6) -> list[np.ndarray]:
    Ts = [np.array(T, float) for T in Ts]
    grads = []
    for T in Ts:
        G = np.zeros_like(T)
        for i in np.ndindex(T.shape):
            old = T[i]
            T[i] = old + eps
            up = cost(spec, Ts, X, Y)
            T[i] = old - eps
            down = cost(spec, Ts, X, Y)
            T[i] = old
            G[i] = (up - down) / (2 * eps)
        grads.append(G)
    return grads


def problem(spec: dict, m: int = 4, seed: int = 0) -> tuple[list, np.ndarray, np.ndarray]:
    """Random Θs, X and targets that fit the spec's loss and output."""
    rng = np.random.default_rng(seed)
    L = spec["layers"]
    Ts = [rng.normal(scale=0.8, size=(L[i + 1], L[i] + 1)) for i in range(len(L) - 1)]
    X = rng.normal(size=(m, L[0]))
    out = spec.get("output", "sigmoid")
    if out == "softmax":
        Y = np.eye(L[-1])[rng.integers(0, L[-1], size=m)]
    elif spec.get("loss", "cross_entropy") == "cross_entropy":
        Y = rng.uniform(0, 1, size=(m, L[-1]))
    else:
        Y = rng.normal(size=(m, L[-1]))
    return Ts, X, Y
