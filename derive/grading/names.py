"""The names an answer may use (SPEC §8), with the layers and units the network gives each of them.

A name is a quantity kind and its integer indices, written as in derive/model/notation.py: ``a[3][1]``,
``Theta[1][2][0]``, ``lambda``. Whether an index exists depends on the network; a name that does not
exist is refused with the range that does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from derive.model.network import Network
from derive.model.notation import PROFILES, Alias

from .errors import Unreadable

Range = tuple[int, int]


@dataclass(frozen=True)
class Kind:
    """One kind of quantity: its layer range and, per layer, the range of each further index."""

    name: str
    example: str
    layers: Range | None
    """layers the kind exists in, or None for a kind without a layer index (y, x, lambda, m)"""
    units: Callable[[Network, int], tuple[Range, ...]]
    """the ranges of the remaining indices, given the network and the layer (0 when there is none)"""

    @property
    def arity(self) -> int:
        return self.example.count("[")


def _size(net: Network, layer: int) -> int:
    return net.layers[layer - 1]


def kinds(net: Network) -> dict[str, Kind]:
    L = net.L
    # a^(l)_0 = 1 is the bias unit of every layer but the last; x_0 = a^(1)_0 likewise
    return {
        "a": Kind("a", "a[l][i]", (1, L), lambda n, l: ((0 if l < n.L else 1, _size(n, l)),)),
        "z": Kind("z", "z[l][i]", (2, L), lambda n, l: ((1, _size(n, l)),)),
        "delta": Kind("delta", "delta[l][i]", (2, L), lambda n, l: ((1, _size(n, l)),)),
        "Theta": Kind("Theta", "Theta[l][i][j]", (1, L - 1),
                      lambda n, l: ((1, _size(n, l + 1)), (0, _size(n, l)))),
        "Delta": Kind("Delta", "Delta[l][i][j]", (1, L - 1),
                      lambda n, l: ((1, _size(n, l + 1)), (0, _size(n, l)))),
        "y": Kind("y", "y[k]", None, lambda n, l: ((1, n.layers[-1]),)),
        "x": Kind("x", "x[j]", None, lambda n, l: ((0, n.layers[0]),)),
        "lambda": Kind("lambda", "lambda", None, lambda n, l: ()),
        "m": Kind("m", "m", None, lambda n, l: ()),
    }


def written_kind(net: Network, alias: Alias, base: Kind) -> Kind:
    """``base`` as a profile writes it: its layers numbered as written (w^l is Θ^(l−1)), the fixed last index
    (b's column 0) left out, and no index 0 where the profile has no bias unit (nielsen: units from 1)."""
    by = alias.shift
    layers = None if base.layers is None else (base.layers[0] - by, base.layers[1] - by)
    apart = PROFILES[net.notation].form == "bias_vector"

    def units(n: Network, layer: int) -> tuple[Range, ...]:
        ranges = base.units(n, layer + by if base.layers is not None else layer)
        if alias.last is not None:
            ranges = ranges[:-1]
        return tuple((max(low, 1), high) if apart else (low, high) for low, high in ranges)
    return Kind(alias.form.split("[")[0], alias.form, layers, units)


def profile_kinds(net: Network) -> dict[str, tuple[Kind, Alias]]:
    """The answer names of the network's notation: written name -> (its Kind as written, the quantity it is)."""
    table = kinds(net)
    own = PROFILES[net.notation].names
    if not own:
        return {k: (kind, Alias(k, kind.example)) for k, kind in table.items()}
    return {k: (written_kind(net, alias, table[alias.kind]), alias) for k, alias in own.items() if alias.kind in table}


ONE_UNIT = ("a", "y", "z")
"""the names of the one-unit targets (output_delta, hidden_derivative)"""


@dataclass(frozen=True)
class Vocabulary:
    """Checks a name against the network; ``one_unit`` vocabularies know only a, y and z."""

    network: Network
    one_unit: bool = False

    @property
    def allowed(self) -> str:
        if self.one_unit:
            return ", ".join(ONE_UNIT)
        return ", ".join(k.example for k, _ in profile_kinds(self.network).values())

    def check(self, kind: str, index: tuple[int, ...]) -> str:
        """The canonical name of ``kind[index…]``; Unreadable naming the problem and the allowed range."""
        if self.one_unit:
            if kind not in ONE_UNIT or index:
                raise Unreadable("one_unit_name", name=_written(kind, index), allowed=self.allowed)
            return kind
        table = profile_kinds(self.network)
        if kind not in table:
            raise Unreadable("unknown_name", name=kind, allowed=self.allowed)
        name = _written(kind, index)
        written, alias = table[kind]
        check_index(self.network, written, name, index)
        return alias.kind + "".join(f"[{i}]" for i in alias.canonical(tuple(map(str, index))))


def check_index(net: Network, kind: Kind, name: str, index: tuple[int, ...]) -> None:
    """Unreadable unless ``index`` has the kind's number of indices, each within the network's range."""
    if len(index) != kind.arity:
        raise Unreadable("index_count", name=name, count=kind.arity, example=kind.example)
    layer, units = 0, index
    if kind.layers is not None:
        layer, units = index[0], index[1:]
        low, high = kind.layers
        if not low <= layer <= high:
            raise Unreadable("no_layer", name=name, layer=layer, example=kind.example, low=low, high=high)
    for unit, (low, high) in zip(units, kind.units(net, layer)):
        if not low <= unit <= high:
            raise Unreadable("no_unit", name=name, unit=unit, low=low, high=high)


def _written(kind: str, index: tuple[int, ...]) -> str:
    return kind + "".join(f"[{i}]" for i in index)
