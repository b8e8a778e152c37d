"""maxpool and meanpool: non-overlapping size × size windows (window = stride = size), per channel.
Max pooling's tie rule is PyTorch's: the first maximum in row-major order."""

from __future__ import annotations

from typing import Any

from ..registry import Config, Key, LayerKind, Shape, ShapeError, register
from . import np, sp


def _output(shape: Shape, cfg: Config) -> Shape:
    if len(shape) != 3:
        raise ShapeError(f"its input has shape {'×'.join(map(str, shape))}; pooling needs an image [C, H, W]")
    c, h, w = shape
    s = cfg["size"]
    if h % s or w % s:
        fits = [d for d in range(1, min(h, w) + 1) if h % d == 0 and w % d == 0]
        raise ShapeError(f"window {s} does not divide the input {h}×{w}; allowed sizes: "
                         + ", ".join(map(str, fits)))
    return (c, h // s, w // s)


def _blocks(X: Any, s: int) -> Any:
    """m, C, H/s, W/s, s·s: every window's elements in row-major order on the last axis."""
    m, c, h, w = X.shape
    return X.reshape(m, c, h // s, s, w // s, s).transpose(0, 1, 2, 4, 3, 5).reshape(m, c, h // s, w // s, s * s)


def _unblocks(B: Any, s: int) -> Any:
    m, c, ho, wo, _ = B.shape
    return B.reshape(m, c, ho, wo, s, s).transpose(0, 1, 2, 4, 3, 5).reshape(m, c, ho * s, wo * s)


def _window_elements(x: Any, e: int, c: int, i: int, j: int, s: int) -> list[Any]:
    return [x[e, c, i * s + u, j * s + v] for u in range(s) for v in range(s)]


def max_definition(x: Any, P: dict[str, Any], cfg: Config) -> Any:
    s = cfg["size"]
    m, c, h, w = x.shape
    out = np.empty((m, c, h // s, w // s), dtype=object)
    for e, ch, i, j in np.ndindex(*out.shape):
        out[e, ch, i, j] = sp.Max(*_window_elements(x, e, ch, i, j, s))
    return out


def max_forward(X: Any, P: dict[str, Any], cfg: Config) -> tuple[Any, Any]:
    B = _blocks(X, cfg["size"])
    if B.dtype == object:  # SymPy elements: the maximum as an expression, the winner decided by the proof's cases
        return np.apply_along_axis(lambda w: sp.Max(*w), -1, B), B
    first = B.argmax(axis=-1)                              # the first maximum in row-major order
    return np.take_along_axis(B, first[..., None], axis=-1)[..., 0], first


def max_backward(dZ: Any, first: Any, P: dict[str, Any], cfg: Config) -> tuple[Any, dict[str, Any]]:
    """Each window's δ goes to the element that was its maximum; the others get 0."""
    s = cfg["size"]
    if dZ.dtype == object:  # 1[x_r is the window's maximum] = Π_{j ≠ r} 1[x_r > x_j]
        B = first
        mask = np.empty(B.shape, dtype=object)
        for idx in np.ndindex(*B.shape):
            *w, r = idx
            mask[idx] = sp.Mul(*(sp.Heaviside(B[idx] - B[(*w, j)]) for j in range(s * s) if j != r))
    else:
        mask = np.arange(s * s) == first[..., None]
    return _unblocks(mask * dZ[..., None], s), {}


def mean_definition(x: Any, P: dict[str, Any], cfg: Config) -> Any:
    s = cfg["size"]
    m, c, h, w = x.shape
    out = np.empty((m, c, h // s, w // s), dtype=object)
    for e, ch, i, j in np.ndindex(*out.shape):
        out[e, ch, i, j] = sp.Add(*_window_elements(x, e, ch, i, j, s)) / s**2
    return out


def mean_forward(X: Any, P: dict[str, Any], cfg: Config) -> tuple[Any, Any]:
    s = cfg["size"]
    return _blocks(X, s).sum(axis=-1) * (sp.Rational(1, s * s) if X.dtype == object else 1.0 / (s * s)), None


def mean_backward(dZ: Any, cache: Any, P: dict[str, Any], cfg: Config) -> tuple[Any, dict[str, Any]]:
    """Each window's δ is spread evenly: δ/size² to every element of the window."""
    s = cfg["size"]
    share = dZ * (sp.Rational(1, s * s) if dZ.dtype == object else 1.0 / (s * s))
    return share.repeat(s, axis=2).repeat(s, axis=3), {}


def _instance(shape: Shape, cfg: Config) -> tuple[Shape, dict[str, Any], int]:
    s = min(cfg["size"], 2)
    return (1, s, s), {**cfg, "size": s}, 1


_SIZE = {"size": Key("int", None, 1, 64)}


def _parameters(shape: Shape, cfg: Config) -> dict[str, Shape]:
    return {}


register(LayerKind("maxpool", _SIZE, _output, _parameters, max_definition, max_forward, max_backward, _instance))
register(LayerKind("meanpool", _SIZE, _output, _parameters, mean_definition, mean_forward, mean_backward, _instance))
