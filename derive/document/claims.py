"""Checking the numbers of a worked example (SPEC §6): each claim against the lambdified engine's value.

Names: ``a[l][i]``, ``z[l][i]``, ``delta[l][i]`` (units 1-based, the first example), ``J``, ``D[l][i][j]``
(j = 0 the bias column); a notation profile with names of its own is written in those (nielsen: ``C``,
``a[l][j]``, ``z[l][j]``, ``delta[l][j]``, ``w[l][j][k]``, ``b[l][j]``, ``dw[l][j][k]``, ``db[l][j]``, with w^l
feeding layer l), and only in those. A claim holds when it agrees with the computed value to the digits it shows: within
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

from derive.engine.derivation import Section, Step
from derive.errors import InputError
from derive.io.decimals import read_decimal
from derive.model.network import Network
from derive.model.notation import PROFILES, Alias, parse_name, q

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
    """the value in exact arithmetic from a ``derive.document.worked_example.Exact``, where it is rational"""


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
    """(kind, indices) of the quantity a claim name means, every unknown name or out-of-range index an
    InputError naming the range (in the names and layer numbers of the network's notation)."""
    table = names(net)
    allowed = ", ".join(alias.form for alias in table.values())
    if len(name) > MAX_NAME or not name.isascii() or not name.isprintable() or any(c.isspace() for c in name):
        shown = name if len(name) <= MAX_NAME else name[:MAX_NAME] + "..."
        raise InputError(f"{source}: unknown name {shown!r}; names are written without spaces, in at most "
                         f"{MAX_NAME} ASCII characters; allowed names: {allowed}")
    parsed = parse_name(name)
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
          params: Any = None, exact: Callable[[], Any] | None = None) -> list[Claim]:
    """Every claim against ``computed`` (the output of ``NumericFunctions.backward``), in the file's order;
    ``params`` (the Θ matrices) for claims that name a parameter (w, b under nielsen).

    A claim showing more significant digits than a double holds is judged against the exact value where the
    quantity is rational (``exact`` gives the ``derive.document.worked_example.Exact`` of the problem; it is computed
    only then).
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
        if kind == "Theta" and params is None:
            raise InputError(f"{source}: claim {name!r} names a parameter; check it with the parameters given")
        number = float(QUANTITIES[kind].value({**computed, "parameters": params}, idx))
        quantity = kind + "".join(f"[{i}]" for i in idx)
        known = None
        if significant(text) > DOUBLE_DIGITS and exact is not None:
            if not computed_exact:
                exact_values, computed_exact = exact(), True
            value = QUANTITIES[kind].exact(exact_values, idx) if exact_values is not None else None
            known = value if isinstance(value, sp.Rational) else None  # only a rational value is exact
        rows.append(Claim(name, text, number, holds(text, number, known), quantity, known))
    return rows


def symbol(name: str) -> sp.Symbol:
    """The quantity's symbol (a[2][1] → a^(2)_1), as the notation profiles print it."""
    parsed = parse_name(name)
    assert parsed is not None
    return q(parsed[0], *parsed[1])


def signed(number: str) -> str:
    """A number as a sentence writes it: its sign a minus sign (−), not a hyphen."""
    return "−" + number[1:] if number.startswith("-") else number


def section(rows: list[Claim], symbol: Callable[[str], sp.Expr] = symbol) -> Section:
    """The claims as a document section: one step per claim, its verdict beside it with the computed value (each
    line says which quantity it is about); ``symbol`` writes a claim's name as the quantity's symbol (a layered
    network has its own)."""
    from derive.document.worked_example import Num

    steps = tuple(
        Step(f"claims.{k}", symbol(c.quantity or c.name), Num(sp.Rational(c.claimed)),
             "claim_holds" if c.holds else "claim_wrong", None,
             (("claimed", signed(c.claimed)), ("computed", signed(f"{c.computed:.10g}"))))
        for k, c in enumerate(rows, start=1))
    return Section("claims", steps)
