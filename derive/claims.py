"""Checking the numbers of a worked example (SPEC §6): each claim against the lambdified engine's value.

Names: ``a[l][i]``, ``z[l][i]``, ``delta[l][i]`` (units 1-based, the first example), ``J``, ``D[l][i][j]``
(j = 0 the bias column); a notation profile with names of its own is written in those (nielsen: ``C``,
``a[l][j]``, ``z[l][j]``, ``delta[l][j]``, ``w[l][j][k]``, ``b[l][j]``, ``dw[l][j][k]``, ``db[l][j]``, with w^l
feeding layer l), and only in those. A claim holds when it agrees with the computed value to the digits it shows: within
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
from .notation import PROFILES, Alias, parse_name, q
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
    "Theta": Quantity(lambda n: [(1, n.L - 1), (1, max(n.layers)), (0, max(n.layers))],
                      lambda o, ix: o["parameters"][ix[0] - 1][ix[1] - 1][ix[2]], "Theta[l][i][j]"),
}
"""every quantity a claim may name; the unit ranges are narrowed per layer by ``_check_range``"""
PLAIN = ("a", "z", "delta", "J", "D")
"""the names of a profile without names of its own: the quantities themselves"""


def names(net: Network) -> dict[str, Alias]:
    """The claim names of the network's notation, each as the quantity it means."""
    own = PROFILES[net.notation].names
    if not own:
        return {k: Alias(k, QUANTITIES[k].form) for k in PLAIN}
    return {k: alias for k, alias in own.items() if alias.kind in QUANTITIES}


@dataclass(frozen=True)
class Claim:
    """One row of the report: the name, the number as claimed, the engine's value and the verdict."""

    name: str
    claimed: str
    computed: float
    holds: bool
    quantity: str = ""
    """the quantity's own name (Theta[1][2][0] for b[2][2] under nielsen); empty: ``name``"""

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
    """(kind, indices) of the quantity a claim name means, every unknown name or out-of-range index an
    InputError naming the range (in the names and layer numbers of the network's notation)."""
    parsed = parse_name(name.replace(" ", ""))
    table = names(net)
    allowed = ", ".join(alias.form for alias in table.values())
    if parsed is None or parsed[0] not in table:
        raise InputError(f"{source}: unknown name {name!r}; allowed names: {allowed}")
    written, raw = parsed
    alias = table[written]
    count = alias.form.count("[")
    if len(raw) != count or not all(re.fullmatch(r"\d{1,6}", r) for r in raw):
        raise InputError(f"{source}: {name!r} needs {count} whole-number indices: {alias.form}")
    idx = tuple(int(r) for r in alias.canonical(raw))
    bias_apart = any(a.kind == alias.kind and a.last is not None for a in table.values())
    _check_range(net, alias, idx, name, source, bias_apart)
    return alias.kind, idx


def _check_range(net: Network, alias: Alias, idx: tuple[int, ...], name: str, source: str,
                 bias_apart: bool) -> None:
    """The quantity's indices within the network; the message in the written name's layer numbers."""
    kind = alias.kind
    if not idx:
        return
    layer = idx[0]
    low, high = QUANTITIES[kind].indices(net)[0]
    if not low <= layer <= high:
        raise InputError(f"{source}: {name!r}: layer {layer - alias.shift} is out of range; {alias.form} has "
                         f"layers {low - alias.shift} … {high - alias.shift}")
    if kind in ("D", "Theta"):
        rows, cols = net.layers[layer], net.layers[layer - 1]
        first = 1 if bias_apart else 0  # a profile that names the bias apart has no column 0 of weights
        if alias.last is not None:
            if not 1 <= idx[1] <= rows:
                raise InputError(f"{source}: {name!r}: {alias.form} has j = 1 … {rows} in layer {layer - alias.shift}")
        elif not 1 <= idx[1] <= rows or not first <= idx[2] <= cols:
            written = f"{kind}[{layer}]" if not alias.shift else f"{alias.form.split('[')[0]}[{layer - alias.shift}]"
            rows_, cols_ = ("i", "j") if not bias_apart else ("j", "k")
            extra = " (j = 0 the bias)" if not bias_apart else ""
            raise InputError(f"{source}: {name!r}: {written} has {rows_} = 1 … {rows} and {cols_} = {first} … {cols}"
                             f"{extra}")
        return
    units = net.layers[layer - 1]
    if not 1 <= idx[1] <= units:
        raise InputError(f"{source}: {name!r}: layer {layer} has units 1 … {units}")


def check(net: Network, computed: dict[str, Any], claims: Mapping[str, Any], *, source: str = "claims",
          params: Any = None) -> list[Claim]:
    """Every claim against ``computed`` (the output of ``NumericFunctions.backward``), in the file's order;
    ``params`` (the Θ matrices) for claims that name a parameter (w, b under nielsen)."""
    if not isinstance(claims, dict) or not claims:
        raise InputError(f"{source}: 'claims' must be a non-empty object of name: number")
    if len(claims) > MAX_CLAIMS:
        raise InputError(f"{source}: {len(claims)} claims; at most {MAX_CLAIMS}")
    rows = []
    for name, value in claims.items():
        kind, idx = index(net, name, source)
        text = claimed_text(value, name, source)
        if kind == "Theta" and params is None:
            raise InputError(f"{source}: claim {name!r} names a parameter; check it with the parameters given")
        number = float(QUANTITIES[kind].value({**computed, "parameters": params}, idx))
        quantity = kind + "".join(f"[{i}]" for i in idx)
        rows.append(Claim(name, text, number, holds(text, number), quantity))
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
        Step(f"claims.{k}", symbol(c.quantity or c.name), Num(sp.Rational(c.claimed)),
             "claim_holds" if c.holds else "claim_wrong", "claim",
             (("claimed", c.claimed), ("computed", f"{c.computed:.10g}")))
        for k, c in enumerate(rows, start=1))
    return Section("claims", steps)
