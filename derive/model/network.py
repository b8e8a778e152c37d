"""The network description of SPEC §2: read, validated completely, immutable. Holds no SymPy."""

from __future__ import annotations

import json
import math
import os
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from derive.catalogue import LANGUAGES
from derive.errors import InputError
from derive.model.activations import ACTIVATIONS
from derive.model.losses import LOSSES
from derive.model.notation import PROFILES

REDUCTIONS = ("mean", "sum")
NOTATIONS = tuple(PROFILES)
"""the notation profiles (derive.model.notation)"""
MAX_LAYERS = 32
MAX_UNITS = 100_000

DEFAULTS: dict[str, Any] = {
    "activation": "sigmoid",
    "output": "sigmoid",
    "loss": "cross_entropy",
    "reduction": "mean",
    "lambda": 0.0,
    "notation": "ng",
    "language": "en",
}
KEYS = ("layers", *DEFAULTS)


@dataclass(frozen=True)
class Network:
    """A feed-forward network: units per layer (input first, bias not counted) and its training setup."""

    layers: tuple[int, ...]
    activations: tuple[str, ...]
    """one activation name per hidden layer (layers 2 … L−1)"""
    output: str = "sigmoid"
    loss: str = "cross_entropy"
    reduction: str = "mean"
    lam: float = 0.0
    notation: str = "ng"
    language: str = "en"

    @property
    def L(self) -> int:
        return len(self.layers)

    def activation(self, layer: int) -> str:
        """The activation of layer ``layer`` (2 … L, 1-based as in the notation)."""
        if not 2 <= layer <= self.L:
            raise IndexError(f"layer {layer} has no activation (layers 2 … {self.L})")
        return self.output if layer == self.L else self.activations[layer - 2]

    @property
    def weight_count(self) -> int:
        return sum((n_in + 1) * n_out for n_in, n_out in zip(self.layers, self.layers[1:]))

    def to_dict(self) -> dict[str, Any]:
        """The description in SPEC §2's keys (what ``from_dict`` reads back)."""
        d = asdict(self)
        hidden = d.pop("activations")
        d["layers"] = list(self.layers)
        d["activation"] = hidden[0] if len(set(hidden)) == 1 else list(hidden)
        if not hidden:
            d["activation"] = DEFAULTS["activation"]
        d["lambda"] = d.pop("lam")
        return {k: d[k] for k in KEYS}

    @classmethod
    def from_dict(cls, spec: Any, *, source: str = "network") -> Network:
        """Validate a description (the keys of SPEC §2) and build the network."""
        if not isinstance(spec, dict):
            raise InputError(f"{source}: expected a table of keys ({', '.join(KEYS)})")
        if "input" in spec or "layer" in spec:  # SPEC §9: only the commands that read derive.layers take one
            from derive.errors import NotSupportedError

            raise NotSupportedError(f"{source}: this is a layered network (SPEC §9); this command is not yet "
                                    "supported for layered networks (derive numeric and derive derivation are)")
        unknown = sorted((k for k in spec if k not in KEYS), key=str)
        if unknown:
            raise InputError(f"{source}: unknown key {show(unknown[0])}; allowed keys: {', '.join(KEYS)}")
        if "layers" not in spec:
            raise InputError(f"{source}: 'layers' is required, e.g. layers = [3, 5, 5, 4]")
        v = {**DEFAULTS, **spec}
        layers = _layers(v["layers"], source)
        hidden = _hidden(v["activation"], len(layers) - 2, source)
        output = _choice(v["output"], "output", list(ACTIVATIONS), source)
        loss = _choice(v["loss"], "loss", list(LOSSES), source)
        g, rule = ACTIVATIONS[output], LOSSES[loss]
        if rule.outputs and not g.within(*rule.outputs):
            fits = [n for n, a in ACTIVATIONS.items() if a.within(*rule.outputs)]
            raise InputError(
                f"{source}: loss {loss!r} needs outputs in ({rule.outputs[0]:g}, {rule.outputs[1]:g}) "
                f"but output {output!r} ranges over ({g.range[0]:g}, {g.range[1]:g}); "
                f"use output = {' | '.join(fits)} or loss = 'squared_error'"
            )
        if g.sums_to_one and layers[-1] < 2:
            singles = [n for n, a in ACTIVATIONS.items()
                       if not a.sums_to_one and (not rule.outputs or a.within(*rule.outputs))]
            raise InputError(
                f"{source}: output {output!r} needs at least 2 output units (with one its output is always 1); "
                f"got layers = {list(layers)}; use 2 or more output units or output = {' | '.join(singles)}")
        reduction = _choice(v["reduction"], "reduction", list(REDUCTIONS), source)
        lam = v["lambda"]
        if isinstance(lam, bool) or not isinstance(lam, int | float) or not _finite(lam) or lam < 0:
            raise InputError(f"{source}: 'lambda' must be a finite number >= 0, got {show(lam)}")
        notation = _choice(v["notation"], "notation", list(NOTATIONS), source)
        language = _choice(v["language"], "language", list(LANGUAGES), source)
        return cls(layers, hidden, output, loss, reduction, float(lam), notation, language)

    @classmethod
    def from_toml(cls, path: str | Path) -> Network:
        """Read and validate a TOML description file."""
        return cls.from_dict(read_toml(path), source=str(path))

    def replace(self, **changes: Any) -> Network:
        """A new network with some keys of SPEC §2 changed (validated again)."""
        return Network.from_dict({**self.to_dict(), **changes})


def is_layered(spec: Any) -> bool:
    """Whether a parsed description is a §9 layered network (it has ``input`` or ``[[layer]]``)."""
    return isinstance(spec, dict) and ("input" in spec or "layer" in spec)


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file, turning every way it can fail into one InputError line."""
    text = read_text(path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{path}: not valid TOML ({e})") from None
    except ValueError as e:  # e.g. an integer of thousands of digits
        raise InputError(f"{path}: not valid TOML ({str(e).split(';')[0]})") from None
    except RecursionError:
        raise InputError(f"{path}: not valid TOML (nested too deeply)") from None


def read_json(path: str | Path) -> Any:
    """Parse a JSON file of finite numbers, turning every way it can fail into one InputError line.

    NaN and Infinity literals are refused; integers too long for a float (and numbers like 1e999)
    become infinity, which the readers of numbers refuse as not finite.
    """
    text = read_text(path)
    try:
        return json.loads(text, parse_constant=_no_constant, parse_int=_int)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None
    except ValueError as e:
        raise InputError(f"{path}: {e}") from None
    except RecursionError:
        raise InputError(f"{path}: not valid JSON (nested too deeply)") from None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed; only finite numbers")


def _int(digits: str) -> int | float:
    return int(digits) if len(digits) <= 18 else float(digits)


def read_text(path: str | Path, *, limit: int = 10_000_000) -> str:
    """Read a UTF-8 text file, refusing what is missing, too large or binary (reads at most limit + 1 bytes)."""
    try:
        # opened without blocking, so that a named pipe nobody writes to reads as empty instead of hanging
        fd = os.open(Path(path), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            os.set_blocking(fd, True)
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a file") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None
    if len(data) > limit:
        raise InputError(f"{path}: larger than the {limit}-byte limit")
    if b"\0" in data:
        raise InputError(f"{path}: binary file, expected UTF-8 text")
    try:
        return data.decode("utf-8-sig")  # a byte-order mark (as some editors write) is not text
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None


def show(value: Any, width: int = 60) -> str:
    """``repr(value)`` cut to ``width`` characters, for one-line messages about arbitrary input."""
    try:
        text = repr(value)
    except ValueError:  # an int with more digits than Python converts to text
        return "a number too large"
    return text if len(text) <= width else text[: width - 1] + "…"


def _finite(x: int | float) -> bool:
    try:
        return math.isfinite(x)
    except OverflowError:  # an int too large for a float
        return False


def _layers(value: Any, source: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in value):
        raise InputError(f"{source}: 'layers' must be a list of whole numbers, got {show(value)}")
    if len(value) < 2:
        raise InputError(f"{source}: 'layers' needs at least two layers (input and output), got {show(value)}")
    if len(value) > MAX_LAYERS:
        raise InputError(f"{source}: 'layers' has {len(value)} layers; at most {MAX_LAYERS} are allowed")
    for n in value:
        if not 1 <= n <= MAX_UNITS:
            raise InputError(f"{source}: 'layers': every size must be from 1 to {MAX_UNITS}, got {show(n)}")
    return tuple(value)


def _hidden(value: Any, count: int, source: str) -> tuple[str, ...]:
    allowed = [n for n, a in ACTIVATIONS.items() if a.hidden]
    names = value if isinstance(value, list) else [value]
    if isinstance(value, list) and len(value) != count:
        raise InputError(f"{source}: 'activation' lists {len(value)} names but the network has {count} hidden layers")
    for name in names:
        if isinstance(name, str) and name in ACTIVATIONS and not ACTIVATIONS[name].hidden:
            raise InputError(f"{source}: {name!r} cannot be a hidden activation; allowed: {' | '.join(allowed)}")
        _choice(name, "activation", allowed, source)
    return tuple(names) if isinstance(value, list) else tuple(names) * count


def _choice(value: Any, key: str, allowed: list[str], source: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise InputError(f"{source}: {key!r} is {show(value)}; allowed: {' | '.join(allowed)}")
    return value
