"""Notation profiles: how each named quantity is written. A profile is data; results never depend on it.

Quantities are SymPy symbols named as in the answer language of SPEC §8 — ``a[2][1]``, ``z[4]``,
``delta[3][k]``, ``Theta[1][2][0]``, ``y[1]``, ``x[2]``, ``J`` — so one name means the same thing in a
derivation, a student's answer and a claim. A name without its unit index is the layer's vector (or
one generic unit of it, in the one-unit derivations).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from derive.catalogue import Catalogue
    from derive.engine.derivation import Section, Step

_NAME = re.compile(r"^([A-Za-z]+)((?:\[[^\[\]]+\])*)$")


def parse_name(name: str) -> tuple[str, tuple[str, ...]] | None:
    """('a', ('2', '1')) for 'a[2][1]'; None for a name outside the scheme."""
    m = _NAME.match(name)
    if not m:
        return None
    return m.group(1), tuple(re.findall(r"\[([^\[\]]+)\]", m.group(2)))


@dataclass(frozen=True)
class Profile:
    """Symbol templates by quantity kind. ``{l}`` is the layer, ``{i}``, ``{j}`` the unit indices."""

    name: str
    templates: Mapping[str, tuple[str, str]]
    """kind -> (vector or generic-unit form, element form)"""
    function: str
    """the letter of the activation function (g or σ)"""
    wording: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """catalogue group -> the group holding this profile's own wording of some of its keys (see ``word``)"""
    shifted: frozenset[str] = frozenset()
    """kinds numbered by the layer they feed rather than the layer they leave (Nielsen: Θ^(l) is w^{l+1})"""
    bias: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """kind -> the element template of its column 0, when the profile names the bias apart (Nielsen's b)"""
    functions: Mapping[str, tuple[str, str]] | None = None
    """activation -> (LaTeX, plain text) of its function symbol; None writes ``function`` for every activation,
    and an activation missing from the table is written by its own name (\\operatorname{name})"""
    form: str = "bias_unit"
    """which of a derivation's alternative steps the profile shows: ``bias_unit`` (a unit a_0 = 1 and a
    column 0 of weights) or ``bias_vector`` (weights and a separate bias vector)"""
    targets: Mapping[str, Alias] = field(default_factory=lambda: MappingProxyType({}))
    """the grading targets (derive grade --target) by the names this profile writes them in; empty: SPEC §8's"""
    names: Mapping[str, Alias] = field(default_factory=lambda: MappingProxyType({}))
    """the names claims and answers are written in -> the quantity each means (see ``Alias``); empty: the
    quantity names themselves"""

    def function_latex(self, activation: str | None) -> str:
        """The activation's function symbol in LaTeX: g in every activation, or σ, \\tanh, ReLU by name."""
        if self.functions is None or activation is None:
            return self.function
        found = self.functions.get(activation)
        return found[0] if found else r"\operatorname{%s}" % activation

    def function_text(self, activation: str | None) -> str:
        """The same symbol as plain text (for the catalogue's words)."""
        if self.functions is None or activation is None:
            return "σ" if self.function == r"\sigma" else self.function
        found = self.functions.get(activation)
        return found[1] if found else activation

    def written(self, name: str) -> str:
        """A quantity's name as this profile's claims and answers write it (nielsen: Theta[1][2][0] is b[2][2],
        D[l][i][j] is dw[l+1][i][j], J is C); a name the profile has no word for, unchanged."""
        parsed = parse_name(name)
        if parsed is None or not self.names:
            return name
        kind, idx = parsed
        matching = sorted((alias.last is None, key, alias) for key, alias in self.names.items() if alias.kind == kind)
        for _, key, alias in matching:
            if alias.form.count("[") + (alias.last is not None) == len(idx):
                got = alias.written(idx)
                if got is not None:
                    return key + "".join(f"[{i}]" for i in got)
        if kind in self.shifted and idx:  # a whole layer's matrix or vector: Theta[1] is w[2], b[1] is b[2]
            letter = next((key for _, key, alias in matching if alias.last is None), kind)
            return letter + f"[{shift(idx[0], 1)}]" + "".join(f"[{i}]" for i in idx[1:])
        return name

    def shows(self, form: str | None) -> bool:
        """Whether a step of this form (None: every profile's) belongs in this profile's documents."""
        return form is None or form == self.form

    def latex(self, name: str) -> str | None:
        parsed = parse_name(name)
        if parsed is None or parsed[0] not in self.templates:
            return None
        kind, idx = parsed
        vector, element = self.templates[kind]
        layered = "{l}" in vector
        layer = idx[0] if layered and idx else ""
        units = idx[1:] if layered else idx
        if layered and not idx:
            return vector.replace("^{{({l})}}", "").replace("^{{{l}}}", "").format(l="")
        if kind in self.shifted:
            layer = shift(layer, 1)
        if not units:
            return vector.format(l=layer)
        if kind in self.bias and len(units) == 2 and units[1] == "0":
            return self.bias[kind].format(l=layer, i=units[0])
        sub = "".join(units) if all(len(u) == 1 for u in units) else ",".join(units)
        return element.format(l=layer, i=sub)


def shift(layer: str, by: int) -> str:
    """A layer index moved by ``by``: '2' → '3', 'l' → 'l+1', 'l-1' → 'l'."""
    if re.fullmatch(r"-?\d+", layer):
        return str(int(layer) + by)
    m = re.fullmatch(r"([A-Za-z]+)([+-]\d+)?", layer)
    if m is None:
        return f"{layer}{by:+d}"
    total = int(m.group(2) or 0) + by
    return m.group(1) + (f"{total:+d}" if total else "")


@dataclass(frozen=True)
class Alias:
    """A name of a profile's claims and answers, as the quantity it means: ``w[l][j][k]`` under nielsen is
    ``Theta[l-1][j][k]`` (``kind`` Theta, ``shift`` −1), ``b[l][j]`` is ``Theta[l-1][j][0]`` (``last`` "0")."""

    kind: str
    form: str
    """the name as written with its indices, e.g. w[l][j][k]"""
    shift: int = 0
    """added to the layer index (the first) to give the quantity's layer"""
    last: str | None = None
    """an index appended after the written ones"""

    def canonical(self, index: tuple[str, ...]) -> tuple[str, ...]:
        """The quantity's indices for the written ones (the layer shifted, the fixed index appended)."""
        if index and self.shift:
            index = (shift(index[0], self.shift), *index[1:])
        return (*index, self.last) if self.last is not None else index

    def written(self, index: tuple[str, ...]) -> tuple[str, ...] | None:
        """The written indices for the quantity's, or None when this name does not cover them."""
        if self.last is not None:
            if not index or index[-1] != self.last:
                return None
            index = index[:-1]
        if index and self.shift:
            index = (shift(index[0], -self.shift), *index[1:])
        return index


NG = Profile(
    "ng",
    MappingProxyType({
        "a": ("a^{{({l})}}", "a^{{({l})}}_{{{i}}}"),
        "z": ("z^{{({l})}}", "z^{{({l})}}_{{{i}}}"),
        "delta": (r"\delta^{{({l})}}", r"\delta^{{({l})}}_{{{i}}}"),
        "Theta": (r"\Theta^{{({l})}}", r"\Theta^{{({l})}}_{{{i}}}"),
        "Delta": (r"\Delta^{{({l})}}", r"\Delta^{{({l})}}_{{{i}}}"),
        "D": ("D^{{({l})}}", "D^{{({l})}}_{{{i}}}"),
        "x": ("x", "x_{{{i}}}"),
        "y": ("y", "y_{{{i}}}"),
        "J": ("J", "J"),
        "lambda": (r"\lambda", r"\lambda"),
        "alpha": (r"\alpha", r"\alpha"),
        "m": ("m", "m"),
        "s": ("s_{{{l}}}", "s_{{{l}}}"),
        "b": ("b^{{({l})}}", "b^{{({l})}}_{{{i}}}"),  # never in ng's own steps (they keep the bias in Θ)
    }),
    "g",
)

NIELSEN = Profile(
    "nielsen",
    MappingProxyType({
        "a": ("a^{{{l}}}", "a^{{{l}}}_{{{i}}}"),
        "z": ("z^{{{l}}}", "z^{{{l}}}_{{{i}}}"),
        "delta": (r"\delta^{{{l}}}", r"\delta^{{{l}}}_{{{i}}}"),
        "Theta": ("w^{{{l}}}", "w^{{{l}}}_{{{i}}}"),
        "Delta": (r"\Delta w^{{{l}}}", r"\Delta w^{{{l}}}_{{{i}}}"),
        "D": (r"\nabla_{{w^{{{l}}}}} C", r"\frac{{\partial C}}{{\partial w^{{{l}}}_{{{i}}}}}"),
        "x": ("x", "x_{{{i}}}"),
        "y": ("y", "y_{{{i}}}"),
        "J": ("C", "C"),
        "lambda": (r"\lambda", r"\lambda"),
        "alpha": (r"\eta", r"\eta"),
        "m": ("n", "n"),
        "s": ("n_{{{l}}}", "n_{{{l}}}"),
        "b": ("b^{{{l}}}", "b^{{{l}}}_{{{i}}}"),
    }),
    r"\sigma",
    MappingProxyType({"sections": "nielsen_sections", "notes": "nielsen_notes", "rules": "nielsen_rules",
                      "mistakes": "nielsen_mistakes"}),
    shifted=frozenset({"Theta", "Delta", "D", "b"}),
    bias=MappingProxyType({"Theta": "b^{{{l}}}_{{{i}}}", "Delta": r"\Delta b^{{{l}}}_{{{i}}}",
                           "D": r"\frac{{\partial C}}{{\partial b^{{{l}}}_{{{i}}}}}"}),
    functions=MappingProxyType({"sigmoid": (r"\sigma", "σ"), "tanh": (r"\tanh", "tanh"),
                                "relu": (r"\operatorname{ReLU}", "ReLU"), "linear": (r"\operatorname{id}", "id"),
                                "softmax": (r"\operatorname{softmax}", "softmax")}),
    form="bias_vector",
    names=MappingProxyType({
        "C": Alias("J", "C"),
        "a": Alias("a", "a[l][j]"),
        "z": Alias("z", "z[l][j]"),
        "delta": Alias("delta", "delta[l][j]"),
        "w": Alias("Theta", "w[l][j][k]", -1),
        "b": Alias("Theta", "b[l][j]", -1, "0"),
        "dw": Alias("D", "dw[l][j][k]", -1),
        "db": Alias("D", "db[l][j]", -1, "0"),
        "y": Alias("y", "y[j]"),
        "x": Alias("x", "x[k]"),
        "lambda": Alias("lambda", "lambda"),
        "n": Alias("m", "n"),
        "eta": Alias("alpha", "eta"),
        "Deltaw": Alias("Delta", "Deltaw[l][j][k]", -1),
        "Deltab": Alias("Delta", "Deltab[l][j]", -1, "0"),
    }),
    targets=MappingProxyType({
        "delta": Alias("delta", "delta[l][j]"),
        "dw": Alias("dTheta", "dw[l][j][k]", -1),
        "db": Alias("dTheta", "db[l][j]", -1, "0"),
        "Dw": Alias("D", "Dw[l][j][k]", -1),
        "Db": Alias("D", "Db[l][j]", -1, "0"),
        "output_delta": Alias("output_delta", "output_delta"),
        "hidden_derivative": Alias("hidden_derivative", "hidden_derivative"),
    }),
)

PROFILES: Mapping[str, Profile] = MappingProxyType({"ng": NG, "nielsen": NIELSEN})


def q(kind: str, *index: object) -> Any:
    """The symbol of a named quantity: q('a', 2, 1) is a[2][1], a_1^(2)."""
    import sympy as sp

    return sp.Symbol(kind + "".join(f"[{i}]" for i in index))


def text_args(args: Mapping[str, Any] | tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """The values a text may refer to: a step's or section's args, ``next`` = layer + 1 (the layer a
    weight matrix feeds, for profiles that number weights so) and ``function``, the symbol of the step's
    activation (g by default; ``word`` writes the profile's). Catalogue.word translates registry names."""
    out = dict(args)
    if isinstance(out.get("layer"), int):
        out.setdefault("next", out["layer"] + 1)
    out.setdefault("function", NG.function_text(out.get("activation")))
    return out


def word(profile: str | Profile, words: Catalogue, group: str, key: str, **args: Any) -> str:
    """The catalogue's text for group.key, in the profile's own wording where it has one."""
    prof = PROFILES[profile] if isinstance(profile, str) else profile
    own = prof.wording.get(group)
    if own is not None and key in words.table.get(own, {}):
        group = own
    values = text_args(args)
    values["function"] = prof.function_text(values.get("activation"))
    return words.word(group, key, **values)


def section_title(profile: str | Profile, words: Catalogue, section: Section, group: str = "sections") -> str:
    """A section's heading: <group>.<id without its layer number>, e.g. "BP1: …" under nielsen."""
    return word(profile, words, group, _kind(section), **dict(section.args))


def short_title(profile: str | Profile, words: Catalogue, section: Section) -> str | None:
    """A section's shorter heading, for slides (short_sections.<kind>), or None where it has none."""
    has = _kind(section) in words.table.get("short_sections", {})
    return section_title(profile, words, section, "short_sections") if has else None


def _kind(section: Section) -> str:
    return re.sub(r"\d+$", "", section.id)


def step_text(profile: str | Profile, words: Catalogue, step: Step) -> str:
    """A step's explanation: the rule's name, then its note (in the profile's wording) if it has one."""
    text = word(profile, words, "rules", step.rule, **dict(step.args))
    note = word(profile, words, "notes", step.note, **dict(step.args)) if step.note else ""
    return text + ": " + note if note else text
