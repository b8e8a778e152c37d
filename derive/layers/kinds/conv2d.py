"""conv2d: z[o,i,j] = b[o] + Σ_{c,u,v} K[o,c,u,v] · x[c, i·s + u − p, j·s + v − p] (zero outside), as
``torch.nn.functional.conv2d`` computes it (a cross-correlation), then a = g(z)."""

from __future__ import annotations

from typing import Any

from ..registry import Config, Key, LayerKind, Shape, ShapeError, register
from . import dilate, np, pad, sp, windows, zeros


def _output(shape: Shape, cfg: Config) -> Shape:
    if len(shape) != 3:
        raise ShapeError(f"its input has shape {'×'.join(map(str, shape))}; conv2d needs an image [C, H, W]")
    c, h, w = shape
    k, s, p = cfg["kernel"], cfg["stride"], cfg["padding"]
    if p >= k:
        raise ShapeError(f"padding {p} is not smaller than the kernel {k}; allowed: padding from 0 to {k - 1}")
    hp, wp = h + 2 * p, w + 2 * p
    if k > hp or k > wp:
        raise ShapeError(f"kernel {k} is larger than the padded input {hp}×{wp}; allowed: kernel at most "
                         f"{min(hp, wp)}, or more padding")
    for name, size in (("height", hp), ("width", wp)):
        if (size - k) % s:
            fits = [t for t in range(1, size - k + 2) if (hp - k) % t == 0 and (wp - k) % t == 0]
            raise ShapeError(f"stride {s} does not fit the padded {name} {size}: ({size} − kernel {k}) is not a "
                             f"multiple of {s}; allowed strides: {', '.join(map(str, fits))}")
    return (cfg["channels"], (hp - k) // s + 1, (wp - k) // s + 1)


def _parameters(shape: Shape, cfg: Config) -> dict[str, Shape]:
    k = cfg["kernel"]
    return {"K": (cfg["channels"], shape[0], k, k), "b": (cfg["channels"],)}


def definition(x: Any, P: dict[str, Any], cfg: Config) -> Any:
    K, b = P["K"], P["b"]
    s, p = cfg["stride"], cfg["padding"]
    m, c_in, h, w = x.shape
    c_out, _, k, _ = K.shape
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    out = np.empty((m, c_out, ho, wo), dtype=object)
    for e, o, i, j in np.ndindex(m, c_out, ho, wo):
        terms = [K[o, c, u, v] * x[e, c, i * s + u - p, j * s + v - p]
                 for c in range(c_in) for u in range(k) for v in range(k)
                 if 0 <= i * s + u - p < h and 0 <= j * s + v - p < w]
        out[e, o, i, j] = sp.Add(*terms) + b[o]
    return out


def forward(X: Any, P: dict[str, Any], cfg: Config) -> tuple[Any, Any]:
    """im2col: every window of the padded batch as one row (m·Ho·Wo rows of C·k·k), then one BLAS product."""
    K, s = P["K"], cfg["stride"]
    c_out, c_in, k, _ = K.shape
    Xp = pad(X, cfg["padding"])
    view = windows(Xp, k)[:, :, ::s, ::s]                            # m, C, Ho, Wo, k, k (no copy)
    m, _, ho, wo = view.shape[:4]
    cols = np.ascontiguousarray(view.transpose(0, 2, 3, 1, 4, 5)).reshape(m * ho * wo, c_in * k * k)
    Z = (cols @ K.reshape(c_out, -1).T).reshape(m, ho, wo, c_out).transpose(0, 3, 1, 2) + P["b"][:, None, None]
    return Z, (cols, Xp.shape)


def backward(dZ: Any, cache: Any, P: dict[str, Any], cfg: Config, *, inputs: bool = True) -> tuple[Any, dict[str, Any]]:
    """The lecturer's form, with δ dilated by the stride:
    ∂J/∂K = the valid cross-correlation of the (padded) input with δ: Σ over examples and positions of δ times
    the input window it saw (the im2col rows of the forward pass); ∂J/∂b = Σ δ;
    ∂J/∂x = the full convolution of δ with K: δ padded by k − 1 on every side, cross-correlated with the
    kernel rotated by 180° (a sum over the k² kernel offsets), its padding then cut off."""
    K, s, p = P["K"], cfg["stride"], cfg["padding"]
    c_out, c_in, k, _ = K.shape
    cols, padded = cache
    m = dZ.shape[0]
    rows = dZ.transpose(1, 0, 2, 3).reshape(c_out, -1)               # O, m·Ho·Wo
    grads = {"K": (rows @ cols).reshape(K.shape), "b": dZ.sum(axis=(0, 2, 3))}
    if not inputs:  # the first layer: nothing to pass back
        return None, grads
    # the full convolution of the dilated δ with K, i.e. δ padded by k − 1 correlated with the kernel rotated
    # by 180°: dXp[c, i, j] = Σ_{o,u,v} δ[o, i − u, j − v] · K[o, c, u, v]. Summed from the kernel's side (each
    # weight K[:, :, u, v] times δ, shifted by (u, v)), one BLAS product gives every weight's share at once.
    D = dilate(dZ, s)
    hd, wd = D.shape[-2:]
    hp, wp = padded[-2:]
    shares = (D.transpose(0, 2, 3, 1).reshape(-1, c_out) @ K.reshape(c_out, -1)).reshape(m, hd, wd, c_in, k, k)
    dXp = zeros((m, c_in, hp, wp), dZ)
    for u in range(k):
        for v in range(k):
            dXp[:, :, u: u + hd, v: v + wd] += shares[..., u, v].transpose(0, 3, 1, 2)
    return dXp[:, :, p: hp - p, p: wp - p], grads


def _instance(shape: Shape, cfg: Config) -> tuple[Shape, dict[str, Any], int]:
    """Two input and two output channels at most, kernel at most 3, stride at most 2, padding below the
    kernel, and an input just large enough for a 2 × 2 output."""
    k = min(cfg["kernel"], 3)
    s, p = min(cfg["stride"], 2), min(cfg["padding"], k - 1)
    h = max(k - 2 * p + s, 1)
    while (h + 2 * p - k) % s or h + 2 * p < k:
        h += 1
    small = {**cfg, "channels": min(cfg["channels"], 2), "kernel": k, "stride": s, "padding": p}
    return (min(shape[0], 2), h, h), small, 1


def pattern(name: str, x: Any, P: dict[str, Any], delta: Any, cfg: Config, e: tuple[int, ...]) -> Any:
    """The index pattern of ∂J/∂(name)[e] a lecturer writes, on the concrete instance (example 0):
    ∂J/∂x[c,i,j] = Σ_{o,p,q} δ[o,p,q] K[o, c, i + P − s·p, j + P − s·q] (terms with the kernel index outside
    0 … k − 1 left out); ∂J/∂K[o,c,u,v] = Σ_{p,q} δ[o,p,q] x[c, s·p + u − P, s·q + v − P] (x = 0 outside);
    ∂J/∂b[o] = Σ_{p,q} δ[o,p,q]."""
    K, s, p = P["K"], cfg["stride"], cfg["padding"]
    c_out, _, k, _ = K.shape
    _, _, ho, wo = delta.shape
    h, w = x.shape[-2:]
    if name == "a":
        _, c, i, j = e
        return sp.Add(*(delta[0, o, a, b] * K[o, c, i + p - s * a, j + p - s * b]
                        for o in range(c_out) for a in range(ho) for b in range(wo)
                        if 0 <= i + p - s * a < k and 0 <= j + p - s * b < k))
    if name == "K":
        o, c, u, v = e
        return sp.Add(*(delta[0, o, a, b] * x[0, c, s * a + u - p, s * b + v - p]
                        for a in range(ho) for b in range(wo) if 0 <= s * a + u - p < h and 0 <= s * b + v - p < w))
    (o,) = e
    return sp.Add(*(delta[0, o, a, b] for a in range(ho) for b in range(wo)))


def pattern_display(name: str, layer: int, cfg: Config) -> Any:
    """The same patterns for any element, as a lecturer writes them (indices from 0)."""
    from ..display import indexed

    s, p = cfg["stride"], cfg["padding"]
    o, c, i, j, a, b, u, v = sp.symbols("o c i j p q u v")
    delta, K, x = indexed("delta", layer + 1), indexed("K", layer), indexed("a", layer)
    C, H, W = sp.symbols("C_out H_out W_out")
    if name == "a":
        return sp.Sum(delta[o, a, b] * K[o, c, i + p - s * a, j + p - s * b], (b, 0, W - 1), (a, 0, H - 1),
                      (o, 0, C - 1))
    if name == "K":
        return sp.Sum(delta[o, a, b] * x[c, s * a + u - p, s * b + v - p], (b, 0, W - 1), (a, 0, H - 1))
    return sp.Sum(delta[o, a, b], (b, 0, W - 1), (a, 0, H - 1))


register(LayerKind("conv2d", {"channels": Key("int", None, 1, 1024), "kernel": Key("int", None, 1, 64),
                              "stride": Key("int", 1, 1, 64), "padding": Key("int", 0, 0, 64),
                              "activation": Key("activation", "linear")},
                   _output, _parameters, definition, forward, backward, _instance, weights=("K",),
                   extra={"pattern": pattern, "pattern_display": pattern_display}))
