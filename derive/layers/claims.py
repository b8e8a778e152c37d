"""Claims about a layered network (SPEC §9 with §6's judging): the names, their indices, and the verdicts.

Names (layers as in the derivation: a^(1) is the input x, [[layer]] l maps a^(l) to z^(l+1) and a^(l+1)):
- ``a[l][…]``  a^(l), l = 1 … N+1, example 1, one index per axis of one example's tensor (``a[2][c][i][j]`` for an
  image, ``a[5][i]`` for a vector);
- ``z[l][…]``  z^(l), l = 2 … N+1: [[layer]] l−1's output before its activation (the same as a^(l) without one);
- ``delta[l][…]``  δ^(l) = ∂J/∂z^(l) of example 1, l = 2 … N+1, with J the sum of the examples' losses (one
  example's own error unless batch normalization couples the examples);
- ``J``  the cost;
- ``d<P>[l][…]``  ∂J/∂P of [[layer]] l's parameter P (SPEC §9's names: ``dK[l][o][c][u][v]``, ``db[l][o]``,
  ``dW[l][i][j]``, ``dgamma[l][i]``, ``dbeta[l][i]``), over the whole batch, as ``derive numeric`` prints it.
Every index after the layer counts from 1. A claim holds as in §6: within half a unit of its last shown digit;
one showing more than 15 significant digits is judged against the exact value where that is rational.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import sympy as sp

from derive.document.claims import DOUBLE_DIGITS, MAX_CLAIMS, MAX_NAME, Claim, claimed_text, holds, significant
from derive.model.notation import parse_name

from ..errors import InputError
from .description import LayeredNetwork

LETTERS = {"K": "ocuv", "W": "ij"}
"""the index letters a parameter's form shows; others i, j, k, … by axis"""


def _letters(name: str, ndim: int) -> str:
    own = LETTERS.get(name, "")
    return own if len(own) == ndim else "ijkl"[:ndim] if ndim <= 4 else "i" * ndim


def _image(shape: tuple[int, ...]) -> str:
    return {1: "i", 3: "cij"}.get(len(shape), "ijkl"[:len(shape)])


def forms(net: LayeredNetwork) -> dict[str, str]:
    """Every name a claim may use on this network, with its indices as a form."""
    out = {"a": "a[l][…]", "z": "z[l][…]", "delta": "delta[l][…]", "J": "J"}
    for layer in net.stack:
        for name, shape in layer.parameters:
            out.setdefault("d" + name, f"d{name}[l]" + "".join(f"[{c}]" for c in _letters(name, len(shape))))
    return out


def _shape(net: LayeredNetwork, kind: str, layer: int) -> tuple[int, ...] | None:
    """The shape a name's indices run over at this layer, or None when the layer has no such quantity."""
    N = len(net.stack)
    if kind == "a":
        return None if not 1 <= layer <= N + 1 else net.input if layer == 1 else net.stack[layer - 2].output
    if kind in ("z", "delta"):
        return net.stack[layer - 2].output if 2 <= layer <= N + 1 else None
    if 1 <= layer <= N:
        return dict(net.stack[layer - 1].parameters).get(kind[1:])
    return None


def _layers(net: LayeredNetwork, kind: str) -> list[int]:
    return [n for n in range(1, len(net.stack) + 2) if _shape(net, kind, n) is not None]


def _written(kind: str, layer: int, shape: tuple[int, ...]) -> str:
    letters = _image(shape) if kind in ("a", "z", "delta") else _letters(kind[1:], len(shape))
    return f"{kind}[{layer}]" + "".join(f"[{c}]" for c in letters)


def index(net: LayeredNetwork, name: str, source: str = "claims") -> tuple[str, tuple[int, ...]]:
    """(kind, (layer, 0-based indices…)) of a claim's name; any problem one InputError line saying what is allowed."""
    table = forms(net)
    allowed = ", ".join(table.values())
    if len(name) > MAX_NAME or not name.isascii() or not name.isprintable() or any(c.isspace() for c in name):
        shown = name if len(name) <= MAX_NAME else name[:MAX_NAME] + "..."
        raise InputError(f"{source}: unknown name {shown!r}; names are written without spaces, in at most "
                         f"{MAX_NAME} ASCII characters; allowed names: {allowed}")
    parsed = parse_name(name)
    if parsed is None or parsed[0] not in table:
        raise InputError(f"{source}: unknown name {name!r}; allowed names: {allowed}")
    kind, raw = parsed
    if kind == "J":
        if raw:
            raise InputError(f"{source}: {name!r}: J takes no indices")
        return "J", ()
    if not raw or not all(re.fullmatch(r"\d{1,6}", r) for r in raw):
        raise InputError(f"{source}: {name!r} needs whole-number indices: {table[kind]}")
    layer = int(raw[0])
    shape = _shape(net, kind, layer)
    if shape is None:
        layers = _layers(net, kind)
        what = (f"layer {layer} ({net.stack[layer - 1].kind}) has no parameter {kind[1:]}"
                if kind.startswith("d") and 1 <= layer <= len(net.stack) else f"layer {layer} is out of range")
        raise InputError(f"{source}: {name!r}: {what}; {kind} names layers {', '.join(map(str, layers))}")
    written = _written(kind, layer, shape)
    if len(raw) - 1 != len(shape):
        raise InputError(f"{source}: {name!r}: {kind}[{layer}] has shape {' × '.join(map(str, shape))}, so it takes "
                         f"{len(shape)} indices after the layer: {written}")
    idx = tuple(int(r) for r in raw[1:])
    if not all(1 <= i <= n for i, n in zip(idx, shape)):
        ranges = ", ".join(f"{c} = 1 … {n}" for c, n in zip(written.split("[")[2:], shape))
        raise InputError(f"{source}: {name!r} is out of range: {kind}[{layer}] has shape "
                         f"{' × '.join(map(str, shape))} ({ranges.replace(']', '')})")
    return kind, (layer, *(i - 1 for i in idx))


def value(out: Mapping[str, Any], kind: str, idx: tuple[int, ...]) -> Any:
    """The quantity in a trace (``LayeredFunctions.backward(trace=True)``'s, or ``derive.layers.exact``'s)."""
    if kind == "J":
        return out["cost"]
    layer, *rest = idx
    if kind == "a":
        array = out["a"][layer - 1]
        return None if array is None else array[(0, *rest)]
    if kind in ("z", "delta"):
        array = out["z" if kind == "z" else "deltas"][layer - 2]
        return None if array is None else array[(0, *rest)]
    return out["gradients"][layer - 1][kind[1:]][tuple(rest)]


def check(net: LayeredNetwork, computed: Mapping[str, Any], claims: Mapping[str, Any], *, source: str = "claims",
          exact: Callable[[], Any] | None = None) -> list[Claim]:
    """Every claim against the engine's trace, in the file's order; a claim showing more digits than a double
    holds is judged against the exact value where it is rational (``exact`` computes the exact trace)."""
    if not isinstance(claims, dict) or not claims:
        raise InputError(f"{source}: 'claims' must be a non-empty object of name: number")
    if len(claims) > MAX_CLAIMS:
        raise InputError(f"{source}: {len(claims)} claims; at most {MAX_CLAIMS}")
    rows: list[Claim] = []
    seen: dict[tuple[str, tuple[int, ...]], str] = {}
    for name, claimed in claims.items():
        kind, idx = index(net, name, source)
        if (kind, idx) in seen:
            raise InputError(f"{source}: claims {seen[kind, idx]!r} and {name!r} name the same quantity; "
                             "claim each quantity once")
        seen[kind, idx] = name
        text = claimed_text(claimed, name, source)
        number = float(value(computed, kind, idx))
        known = None
        if significant(text) > DOUBLE_DIGITS and exact is not None:
            tr = exact()
            v = value(tr, kind, idx) if tr is not None else None
            known = v if isinstance(v, sp.Rational) else None
        quantity = kind if not idx else kind + f"[{idx[0]}]" + "".join(f"[{i + 1}]" for i in idx[1:])
        rows.append(Claim(name, text, number, holds(text, number, known), quantity, known))
    return rows


def symbol(quantity: str) -> sp.Expr:
    """The quantity as the worked example writes it: a^(2)_{1,3,3}, δ^(5)_{2}, ∂J/∂K^(1)_{1,1,2,3}, J."""
    from derive.engine.expressions import Partial
    from derive.model.notation import q

    from .display import indexed

    parsed = parse_name(quantity)
    assert parsed is not None
    kind, raw = parsed
    if not raw:
        return q(kind)
    layer, idx = int(raw[0]), tuple(int(r) for r in raw[1:])
    if kind in ("a", "z", "delta"):
        return indexed(kind, layer)[idx]
    return Partial(q("J"), indexed(kind[1:], layer)[idx])


def section(rows: list[Claim]) -> Any:
    """The claims as a document section (as ``derive.document.claims.section``), in the worked example's symbols."""
    from derive.document.claims import signed
    from derive.document.worked_example import Num
    from derive.engine.derivation import Section, Step

    steps = tuple(
        Step(f"claims.{k}", symbol(c.quantity or c.name), Num(sp.Rational(c.claimed)),
             "claim_holds" if c.holds else "claim_wrong", None,
             (("claimed", signed(c.claimed)), ("computed", signed(f"{c.computed:.10g}"))))
        for k, c in enumerate(rows, start=1))
    return Section("claims", steps)
