"""Checking the numbers of a worked example (SPEC §6): each claim against the lambdified engine's value.

Names: ``a[l][i]``, ``z[l][i]``, ``delta[l][i]`` (units 1-based, the first example), ``J``, ``D[l][i][j]``
(j = 0 the bias column). A claim holds when it agrees with the computed value to the digits it shows: within
half a unit of its last shown digit (0.62 holds against 0.6236336, 0.63 does not). A claim given as a string
keeps its digits ("0.50" shows two); a JSON number is read by its shortest repr (0.5 shows one).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Context, Decimal, localcontext
from typing import Any

import sympy as sp

from .errors import InputError
from .network import Network
from .notation import parse_name, q
from .numbers import read_decimal
from .steps import Section, Step

MAX_CLAIMS = 1_000
"""claims in one file (a worked example states tens of numbers)"""
MAX_PLACES = 400
"""a claim shows at most this many decimal places (a double's smallest is about 1e-324)"""
MAX_NAME = 40
DOUBLE_DIGITS = 15
"""significant digits every double holds exactly; a claim showing more is judged against the exact value"""


@dataclass(frozen=True)
class Quantity:
    """How to find one kind of named number in the engine's ``backward()`` output, and its allowed indices."""

    indices: Callable[[Network], list[tuple[int, int]]]
    """(low, high) per index, inclusive"""
    value: Callable[[dict[str, Any], tuple[int, ...]], float]
    form: str
    exact: Callable[[Any, tuple[int, ...]], sp.Rational | None] = lambda e, ix: None
    """the value in exact arithmetic from a ``derive.example.Exact``, where it is rational"""


QUANTITIES: Mapping[str, Quantity] = {
    "a": Quantity(lambda n: [(1, n.L), (1, max(n.layers))], lambda o, ix: o["activations"][ix[0] - 1][0][ix[1] - 1],
                  "a[l][i]", lambda e, ix: e.a[ix[0] - 1][ix[1] - 1]),
    "z": Quantity(lambda n: [(2, n.L), (1, max(n.layers))], lambda o, ix: o["z"][ix[0] - 2][0][ix[1] - 1], "z[l][i]",
                  lambda e, ix: e.z[ix[0] - 2][ix[1] - 1]),
    "delta": Quantity(lambda n: [(2, n.L), (1, max(n.layers))], lambda o, ix: o["deltas"][ix[0] - 2][0][ix[1] - 1],
                      "delta[l][i]", lambda e, ix: e.deltas[ix[0] - 2][ix[1] - 1]),
    "J": Quantity(lambda n: [], lambda o, ix: o["cost"], "J", lambda e, ix: e.cost),
    "D": Quantity(lambda n: [(1, n.L - 1), (1, max(n.layers)), (0, max(n.layers))],
                  lambda o, ix: o["gradients"][ix[0] - 1][ix[1] - 1][ix[2]], "D[l][i][j]",
                  lambda e, ix: e.gradients[ix[0] - 1][ix[1] - 1, ix[2]] if e.gradients else None),
}
"""every name a claim may use; the unit ranges are narrowed per layer by ``_check_range``"""


@dataclass(frozen=True)
class Claim:
    """One row of the report: the name, the number as claimed, the engine's value and the verdict."""

    name: str
    claimed: str
    computed: float
    holds: bool
    exact: sp.Rational | None = None
    """the exact value it was judged against, when the claim shows more digits than a double holds"""

    @property
    def rounded(self) -> str:
        """The computed value to the digits the claim shows (what the claim should have said)."""
        shown = Decimal(self.claimed).as_tuple().exponent
        assert isinstance(shown, int)
        exponent: int = shown
        with localcontext(Context(prec=MAX_PLACES + 800)):  # room for every digit down to the claim's last
            if self.exact is not None:
                value = Decimal(int(self.exact.p)) / Decimal(int(self.exact.q))
            else:  # a double's digits only: no zeros padded beyond what it holds
                value = Decimal(repr(self.computed))
                if value:
                    exponent = max(exponent, value.adjusted() - 16)
            return str(value.quantize(Decimal(1).scaleb(exponent)))


def claimed_text(value: Any, name: str, source: str) -> str:
    """The claim's digits: a string as written, a JSON number by its shortest repr (ASCII digits only)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InputError(f"{source}: claim {name!r}: expected a number or a string of digits, got {value!r}")
    text = value.strip(" ") if isinstance(value, str) else repr(value)
    number = read_decimal(text, f"{source}: claim {name!r}")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_PLACES:
        raise InputError(f"{source}: claim {name!r}: {text!r} shows more than {MAX_PLACES} decimal places")
    return text


def significant(claimed: str) -> int:
    """How many significant digits a claim shows (0.0500 shows three)."""
    return len(Decimal(claimed).as_tuple().digits)


def holds(claimed: str, computed: float, exact: sp.Rational | None = None) -> bool:
    """Whether the claim agrees with the value within half a unit of its last digit.

    Against ``exact`` (a rational) the comparison is exact. Against the engine's double it allows for the
    double's own rounding: a relative 1e-12, and at least two units in its last place.
    """
    c = Decimal(claimed)
    exponent = c.as_tuple().exponent
    assert isinstance(exponent, int)
    if exact is not None:
        half = sp.Rational(5) * sp.Rational(10) ** (exponent - 1)
        return bool(abs(sp.Rational(claimed) - exact) <= half)
    with localcontext(Context(prec=MAX_PLACES + 800)):
        half = Decimal(5).scaleb(exponent - 1)
        ulps = 2 * Decimal(math.ulp(computed))
        return abs(Decimal(computed) - c) <= max(half * (1 + Decimal("1e-12")), half + ulps)


def index(net: Network, name: str, source: str = "claims") -> tuple[str, tuple[int, ...]]:
    """(kind, indices) of a claim name, every unknown name or out-of-range index an InputError naming the range."""
    allowed = ", ".join(qq.form for qq in QUANTITIES.values())
    if len(name) > MAX_NAME or not name.isascii() or not name.isprintable() or any(c.isspace() for c in name):
        shown = name if len(name) <= MAX_NAME else name[:MAX_NAME] + "..."
        raise InputError(f"{source}: unknown name {shown!r}; names are written without spaces, in at most "
                         f"{MAX_NAME} ASCII characters; allowed names: {allowed}")
    parsed = parse_name(name)
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


def check(net: Network, computed: dict[str, Any], claims: Mapping[str, Any], *, source: str = "claims",
          exact: Callable[[], Any] | None = None) -> list[Claim]:
    """Every claim against ``computed`` (the output of ``NumericFunctions.backward``), in the file's order.

    A claim showing more significant digits than a double holds is judged against the exact value where the
    quantity is rational (``exact`` gives the ``derive.example.Exact`` of the problem; it is computed only then).
    """
    if not isinstance(claims, dict) or not claims:
        raise InputError(f"{source}: 'claims' must be a non-empty object of name: number")
    if len(claims) > MAX_CLAIMS:
        raise InputError(f"{source}: {len(claims)} claims; at most {MAX_CLAIMS}")
    rows = []
    seen: dict[tuple[str, tuple[int, ...]], str] = {}
    exact_values, computed_exact = None, False
    for name, value in claims.items():
        kind, idx = index(net, name, source)
        if (kind, idx) in seen:
            raise InputError(f"{source}: claims {seen[kind, idx]!r} and {name!r} name the same quantity; "
                             "claim each quantity once")
        seen[kind, idx] = name
        text = claimed_text(value, name, source)
        number = float(QUANTITIES[kind].value(computed, idx))
        known = None
        if significant(text) > DOUBLE_DIGITS and exact is not None:
            if not computed_exact:
                exact_values, computed_exact = exact(), True
            value = QUANTITIES[kind].exact(exact_values, idx) if exact_values is not None else None
            known = value if isinstance(value, sp.Rational) else None  # only a rational value is exact
        rows.append(Claim(name, text, number, holds(text, number, known), known))
    return rows


def symbol(name: str) -> sp.Symbol:
    """The quantity's symbol (a[2][1] → a^(2)_1), as the notation profiles print it."""
    parsed = parse_name(name)
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
