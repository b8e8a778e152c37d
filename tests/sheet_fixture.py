"""Small sheets for testing the quiz writers before (and apart from) the variant drawing of `derive sheet`:
two-decimal parameters and data drawn from a seed, the numbers computed with derive.lambdify."""

from __future__ import annotations

import numpy as np

import derive
from derive.model.network import Network
from derive.sheet.formulas import formula_questions
from derive.sheet.model import Numerical, Sheet, Variant

NETWORKS = {
    "sigmoid-squared": dict(layers=[2, 2, 2], activation="sigmoid", output="sigmoid", loss="squared_error",
                            reduction="mean", **{"lambda": 0.1}),
    "tanh-softmax": dict(layers=[2, 2, 2], activation="tanh", output="softmax", loss="cross_entropy"),
    "linear-tanh": dict(layers=[2, 2, 2], activation="linear", output="tanh", loss="squared_error",
                        reduction="sum"),
    "relu-nielsen": dict(layers=[2, 2, 1], activation="relu", output="sigmoid", loss="cross_entropy",
                         notation="nielsen", **{"lambda": 0.5}),
}


def network(name: str) -> Network:
    return Network.from_dict(NETWORKS[name])


def _round(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return np.round(rng.uniform(-1, 1, size=shape), 2)


def small_sheet(name: str = "sigmoid-squared", language: str = "en", *, variants: int = 2, seed: int = 7,
                decimals: int = 3) -> Sheet:
    """A sheet of ``variants`` variants: a[L][k] of the first example, J and every D as numerical questions."""
    net = network(name)
    fn = derive.lambdify(net)
    rng = np.random.default_rng(seed)
    out = []
    sizes = net.layers
    for number in range(1, variants + 1):
        thetas = [_round(rng, (sizes[l + 1], sizes[l] + 1)) for l in range(len(sizes) - 1)]
        X = _round(rng, (2, sizes[0]))
        Y = np.round(rng.uniform(0, 1, size=(2, sizes[-1])), 2)
        if net.output == "softmax":
            Y = np.eye(sizes[-1])[[0, 1]]
        A, _ = fn.forward(thetas, X)
        questions = [Numerical(f"a[{net.L}][{k}]", f"Compute a[{net.L}][{k}] for the first example (*x* = [1]).",
                               float(A[-1][0][k - 1]), decimals) for k in range(1, sizes[-1] + 1)]
        questions.append(Numerical("J", "Compute J.", float(fn.cost(thetas, X, Y)), decimals))
        for layer, D in enumerate(fn.gradients(thetas, X, Y), start=1):
            for (i, j), value in np.ndenumerate(D):
                questions.append(Numerical(f"D[{layer}][{i + 1}][{j}]", f"Compute D[{layer}][{i + 1}][{j}].",
                                           float(value), decimals))
        out.append(Variant(number, {"Theta": [t.tolist() for t in thetas]}, X.tolist(), Y.tolist(),
                           tuple(questions)))
    return Sheet(net, language, seed, tuple(out), formula_questions(net, language))
