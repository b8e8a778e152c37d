"""batchnorm and layernorm: y = γ ∘ x̂ + β with x̂ = (x − μ)/√(σ² + ε), the mean μ and the biased variance
σ² taken over the examples (and H, W for images) for batch norm in training mode, over one example's
features (one time step's, for a sequence [T, n]) for layer norm."""

from __future__ import annotations

import math
from typing import Any

from ..registry import Config, Key, LayerKind, Shape, ShapeError, register
from . import np, sp, sqrt


def _axes(ndim: int, kind: str) -> tuple[int, ...]:
    """The axes the statistics run over, for a batch of ndim axes (examples first)."""
    if kind == "layernorm":
        return (ndim - 1,)
    return (0,) if ndim == 2 else (0, 1) if ndim == 3 else (0, 2, 3)


def _broadcast(v: Any, ndim: int) -> Any:
    """γ or β (one per feature, or per channel of an image) shaped to multiply a batch (m × n, m × T × n for a
    sequence, m × C × H × W for images)."""
    return v if ndim <= 3 else v[:, None, None]


def _count(shape: tuple[int, ...], axes: tuple[int, ...]) -> int:
    return math.prod(shape[a] for a in axes)


def _eps(cfg: Config, symbolic: bool) -> Any:
    return sp.Float(cfg["eps"]) if symbolic and isinstance(cfg["eps"], float) else cfg["eps"]


def _make(kind: str) -> tuple[Any, Any, Any]:
    def definition(x: Any, P: dict[str, Any], cfg: Config) -> Any:
        axes = _axes(x.ndim, kind)
        n = _count(x.shape, axes)
        out = np.empty(x.shape, dtype=object)
        for idx in np.ndindex(*x.shape):
            group = [x[j] for j in np.ndindex(*x.shape) if all(j[a] == idx[a] for a in range(x.ndim) if a not in axes)]
            mu = sp.Add(*group) / n
            var = sp.Add(*((g - mu) ** 2 for g in group)) / n
            feature = idx[-1] if x.ndim == 3 else idx[1]  # per feature (of a time step), or per channel of an image
            out[idx] = P["gamma"][feature] * (x[idx] - mu) / sp.sqrt(var + _eps(cfg, True)) + P["beta"][feature]
        return out

    def forward(X: Any, P: dict[str, Any], cfg: Config) -> tuple[Any, Any]:
        axes = _axes(X.ndim, kind)
        n = _count(X.shape, axes)
        mu = X.sum(axis=axes, keepdims=True) / n
        centred = X - mu
        sigma = sqrt((centred * centred).sum(axis=axes, keepdims=True) / n + _eps(cfg, X.dtype == object))
        xhat = centred / sigma
        return _broadcast(P["gamma"], X.ndim) * xhat + _broadcast(P["beta"], X.ndim), (xhat, sigma)

    def backward(dY: Any, cache: Any, P: dict[str, Any], cfg: Config) -> tuple[Any, dict[str, Any]]:
        """The three-term formula: ∂J/∂x_i = 1/(n σ̂) · [n g_i − Σ_j g_j − x̂_i Σ_j g_j x̂_j] with g = γ ∘ ∂J/∂y
        (γ factors out when it is the same over the group, as in batch norm); ∂J/∂γ = Σ ∂J/∂y ∘ x̂,
        ∂J/∂β = Σ ∂J/∂y over everything but the feature."""
        xhat, sigma = cache
        axes = _axes(dY.ndim, kind)
        n = _count(dY.shape, axes)
        g = dY * _broadcast(P["gamma"], dY.ndim)
        dX = (n * g - g.sum(axis=axes, keepdims=True) - xhat * (g * xhat).sum(axis=axes, keepdims=True)) / (n * sigma)
        keep = _axes(dY.ndim, "batchnorm")  # γ and β are per feature (per channel for images)
        return dX, {"gamma": (dY * xhat).sum(axis=keep), "beta": dY.sum(axis=keep)}

    return definition, forward, backward


def _batch_output(shape: Shape, cfg: Config) -> Shape:
    if len(shape) == 2:
        raise ShapeError(f"its input is a sequence {'×'.join(map(str, shape))}; batchnorm takes a vector [n] or "
                         "an image [C, H, W]: use layernorm, which normalizes each time step's features")
    return shape


def _layer_output(shape: Shape, cfg: Config) -> Shape:
    if len(shape) not in (1, 2):
        raise ShapeError(f"its input has shape {'×'.join(map(str, shape))}; layernorm normalizes a vector of "
                         "features [n] (or each time step's, of a sequence [T, n]): put a flatten layer before it")
    return shape


def _parameters(shape: Shape, cfg: Config) -> dict[str, Shape]:
    return {"gamma": (shape[-1],), "beta": (shape[-1],)} if len(shape) == 2 else {"gamma": (shape[0],),
                                                                                  "beta": (shape[0],)}


def _batch_instance(shape: Shape, cfg: Config) -> tuple[Shape, dict[str, Any], int]:
    small = (1,) if len(shape) == 1 else (1, 1, 2)
    return small, {**cfg, "eps": sp.Symbol("epsilon", positive=True)}, 3 if len(shape) == 1 else 2


def _layer_instance(shape: Shape, cfg: Config) -> tuple[Shape, dict[str, Any], int]:
    small = (min(shape[0], 2), min(shape[1], 2)) if len(shape) == 2 else (min(shape[0], 3),)
    return small, {**cfg, "eps": sp.Symbol("epsilon", positive=True)}, 1


def forward_steps(layer: Any) -> list[Any]:
    """Batch norm's forward pass for feature (channel) j over the batch, each quantity defined before the backward
    rule uses it: the batch's mean μ_j and biased variance σ²_j, σ̂_j = √(σ²_j + ε), x̂ and the output."""
    from derive.engine.derivation import definition as define

    from ..display import Label, indexed

    n = layer.index
    i, j = sp.symbols("i j")
    size = Label("mHW", "m H W") if len(layer.input) == 3 else Label("m", "m")
    a, out = indexed("a", n)[i, j], indexed("a", n + 1)[i, j]
    mu, sigma, xhat = indexed("mu", n)[j], indexed("sigmahat", n)[j], indexed("xhat", n)[i, j]
    var = Label(f"var{n}", r"\left(\sigma^{(%d)}_{j}\right)^{2}" % n)  # σ², not a script on a script
    centred = sp.Add(a, -mu, evaluate=False)
    forms = [("mu", mu, sp.Sum(a, (i, 1, size)) / size),
             ("var", var, sp.Sum(centred ** 2, (i, 1, size)) / size),
             ("sigma", sigma, sp.sqrt(sp.Add(var, sp.Symbol("varepsilon"), evaluate=False))),
             ("xhat", xhat, centred / sigma),
             ("out", out, indexed("gamma", n)[j] * xhat + indexed("beta", n)[j])]
    note = "batchnorm_forward_image" if len(layer.input) == 3 else "batchnorm_forward"
    return [define(f"forward.norm{n}.{name}", lhs, rhs, note=note if k == 0 else None, layer=n,
                   eps=("%.12f" % layer.config["eps"]).rstrip("0").rstrip("."))
            for k, (name, lhs, rhs) in enumerate(forms)]


_EPS = {"eps": Key("float", 1e-5, 0, 1.0)}
register(LayerKind("batchnorm", _EPS, _batch_output, _parameters, *_make("batchnorm"), _batch_instance,
                   couples_examples=True, extra={"forward": forward_steps}))
register(LayerKind("layernorm", _EPS, _layer_output, _parameters, *_make("layernorm"), _layer_instance))
