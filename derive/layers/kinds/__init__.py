"""One module per family of layer kinds; each registers its entries in ``derive.layers.registry``.

The array code here runs unchanged over float arrays (the numbers) and over object arrays of SymPy
expressions (the proofs), so what is proven is what computes the numbers.
"""

from __future__ import annotations

from typing import Any

from derive.model.lazy_import import LazyModule

np: Any = LazyModule("numpy")
sp: Any = LazyModule("sympy")


def symbolic(array: Any) -> bool:
    return getattr(getattr(array, "dtype", None), "kind", "") == "O"


def sqrt(array: Any) -> Any:
    """Element-wise square root of floats, or of SymPy expressions (kept exact)."""
    if symbolic(array):
        return np.vectorize(sp.sqrt, otypes=[object])(array)
    return np.sqrt(array)


def zeros(shape: tuple[int, ...], like: Any) -> Any:
    return np.zeros(shape, dtype=object) if symbolic(like) else np.zeros(shape, dtype=like.dtype)


def dilate(array: Any, stride: int) -> Any:
    """(stride − 1) zeros between neighbours along the last two axes: how a strided layer's δ is passed on."""
    if stride == 1:
        return array
    *lead, h, w = array.shape
    out = zeros((*lead, (h - 1) * stride + 1, (w - 1) * stride + 1), array)
    out[..., ::stride, ::stride] = array
    return out


def pad(array: Any, p: int) -> Any:
    """p zeros on every side of the last two axes."""
    if p == 0:
        return array
    return np.pad(array, [(0, 0)] * (array.ndim - 2) + [(p, p), (p, p)])


def windows(array: Any, k: int, h: int | None = None) -> Any:
    """Every k × h window of the last two axes (a view: no copy), as two trailing axes."""
    from numpy.lib.stride_tricks import sliding_window_view

    return sliding_window_view(array, (k, h if h is not None else k), axis=(-2, -1))


def tensor(name: str, shape: tuple[int, ...], *, real: bool = False) -> Any:
    """An object array of SymPy symbols name[i,j,…] (0-based), for the proofs (plain symbols: SymPy
    differentiates through them many times faster than through Indexed objects). ``real``: symbols known to be
    real, which spares SymPy's real/imaginary queries inside nested exp and tanh (the unrolled recurrences)."""
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        out[idx] = sp.Symbol(f"{name}[{','.join(map(str, idx))}]", real=True) if real else \
            sp.Symbol(f"{name}[{','.join(map(str, idx))}]")
    return out

