"""Checking the numbers of a worked example (SPEC §6): each claim against the lambdified engine's value.

Names: ``a[l][i]``, ``z[l][i]``, ``delta[l][i]`` (units 1-based, the first example), ``J``, ``D[l][i][j]``
(j = 0 the bias column). A claim holds when it agrees with the computed value to the digits it shows: within
half a unit of its last shown digit (0.62 holds against 0.6236336, 0.63 does not). A claim given as a string
keeps its digits ("0.50" shows two); a JSON number is read by its shortest repr (0.5 shows one).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation, localcontext
from typing import Any

import sympy as sp

from .errors import InputError
from .network import Network
from .notation import parse_name, q
from .steps import Section, Step

_DECIMAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
MAX_CLAIMS = 10_000
MAX_PLACES = 400
"""a claim shows at most this many decimal places (a double's smallest is about 1e-324)"""


@dataclass(frozen=True)
class Quantity:
    """How to find one kind of named number in the engine's ``backward()`` output, and its allowed indices."""

    indices: Callable[[Network], list[tuple[int, int]]]
    """(low, high) per index, inclusive"""
    value: Callable[[dict[str, Any], tuple[int, ...]], float]
    form: str


QUANTITIES: Mapping[str, Quantity] = {
    "a": Quantity(lambda n: [(1, n.L), (1, max(n.layers))], lambda o, ix: o["activations"][ix[0] - 1][0][ix[1] - 1],
                  "a[l][i]"),
    "z": Quantity(lambda n: [(2, n.L), (1, max(n.layers))], lambda o, ix: o["z"][ix[0] - 2][0][ix[1] - 1], "z[l][i]"),
    "delta": Quantity(lambda n: [(2, n.L), (1, max(n.layers))], lambda o, ix: o["deltas"][ix[0] - 2][0][ix[1] - 1],
                      "delta[l][i]"),
    "J": Quantity(lambda n: [], lambda o, ix: o["cost"], "J"),
    "D": Quantity(lambda n: [(1, n.L - 1), (1, max(n.layers)), (0, max(n.layers))],
                  lambda o, ix: o["gradients"][ix[0] - 1][ix[1] - 1][ix[2]], "D[l][i][j]"),
}
"""every name a claim may use; the unit ranges are narrowed per layer by ``_check_range``"""


@dataclass(frozen=True)
class Claim:
    """One row of the report: the name, the number as claimed, the engine's value and the verdict."""

    name: str
    claimed: str
    computed: float
    holds: bool

    @property
    def rounded(self) -> str:
        """The computed value to the digits the claim shows (what the claim should have said)."""
        exponent = Decimal(self.claimed).as_tuple().exponent
        assert isinstance(exponent, int)
        with localcontext(Context(prec=MAX_PLACES + 400)):  # room for every digit down to the claim's last
            return str(Decimal(repr(self.computed)).quantize(Decimal(1).scaleb(exponent)))


def claimed_text(value: Any, name: str, source: str) -> str:
    """The claim's digits: a string as written, a JSON number by its shortest repr."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InputError(f"{source}: claim {name!r}: expected a number or a string of digits, got {value!r}")
    text = value.strip() if isinstance(value, str) else repr(value)
    if not _DECIMAL.match(text):
        raise InputError(f"{source}: claim {name!r}: {text!r} is not a decimal number (e.g. 0.62 or \"0.6236336\")")
    try:
        exponent = Decimal(text).as_tuple().exponent
    except InvalidOperation:
        raise InputError(f"{source}: claim {name!r}: {text!r} is not a decimal number") from None
    if isinstance(exponent, int) and exponent < -MAX_PLACES:
        raise InputError(f"{source}: claim {name!r}: {text!r} shows more than {MAX_PLACES} decimal places")
    return text


def holds(claimed: str, computed: float) -> bool:
    """Whether computed agrees with claimed within half a unit of the claim's last digit."""
    c = Decimal(claimed)
    exponent = c.as_tuple().exponent
    assert isinstance(exponent, int)
    half = Decimal(5).scaleb(exponent - 1)
    return abs(Decimal(repr(computed)) - c) <= half * (1 + Decimal("1e-12"))


def index(net: Network, name: str, source: str = "claims") -> tuple[str, tuple[int, ...]]:
    """(kind, indices) of a claim name, every unknown name or out-of-range index an InputError naming the range."""
    parsed = parse_name(name.replace(" ", ""))
    allowed = ", ".join(qq.form for qq in QUANTITIES.values())
    if parsed is None or parsed[0] not in QUANTITIES:
        raise InputError(f"{source}: unknown name {name!r}; allowed names: {allowed}")
    kind, raw = parsed
    quantity = QUANTITIES[kind]
    ranges = quantity.indices(net)
    if len(raw) != len(ranges) or not all(re.fullmatch(r"\d{1,6}", r) for r in raw):
        raise InputError(f"{source}: {name!r} needs {len(ranges)} whole-number indices: {quantity.form}")
    idx = tuple(int(r) for r in raw)
    _check_range(net, kind, idx, name, source)
    return kind, idx


def _check_range(net: Network, kind: str, idx: tuple[int, ...], name: str, source: str) -> None:
    if not idx:
        return
    layer = idx[0]
    low, high = QUANTITIES[kind].indices(net)[0]
    if not low <= layer <= high:
        raise InputError(f"{source}: {name!r}: layer {layer} is out of range; {kind} has layers {low} … {high}")
    if kind == "D":
        rows, cols = net.layers[layer], net.layers[layer - 1]
        if not 1 <= idx[1] <= rows or not 0 <= idx[2] <= cols:
            raise InputError(f"{source}: {name!r}: D[{layer}] has i = 1 … {rows} and j = 0 … {cols} (j = 0 the bias)")
        return
    units = net.layers[layer - 1]
    if not 1 <= idx[1] <= units:
        raise InputError(f"{source}: {name!r}: layer {layer} has units 1 … {units}")


def check(net: Network, computed: dict[str, Any], claims: Mapping[str, Any], *, source: str = "claims") -> list[Claim]:
    """Every claim against ``computed`` (the output of ``NumericFunctions.backward``), in the file's order."""
    if not isinstance(claims, dict) or not claims:
        raise InputError(f"{source}: 'claims' must be a non-empty object of name: number")
    if len(claims) > MAX_CLAIMS:
        raise InputError(f"{source}: {len(claims)} claims; at most {MAX_CLAIMS}")
    rows = []
    for name, value in claims.items():
        kind, idx = index(net, name, source)
        text = claimed_text(value, name, source)
        number = float(QUANTITIES[kind].value(computed, idx))
        rows.append(Claim(name, text, number, holds(text, number)))
    return rows


def symbol(name: str) -> sp.Symbol:
    """The quantity's symbol (a[2][1] → a^(2)_1), as the notation profiles print it."""
    parsed = parse_name(name.replace(" ", ""))
    assert parsed is not None
    return q(parsed[0], *parsed[1])


def section(rows: list[Claim]) -> Section:
    """The claims as a document section: one step per claim, holds or wrong, with the computed value in its note."""
    from .example import Num

    steps = tuple(
        Step(f"claims.{k}", symbol(c.name), Num(sp.Rational(c.claimed)),
             "claim_holds" if c.holds else "claim_wrong", "claim",
             (("claimed", c.claimed), ("computed", f"{c.computed:.10g}")))
        for k, c in enumerate(rows, start=1))
    return Section("claims", steps)
