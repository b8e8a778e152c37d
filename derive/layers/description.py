"""The layered-network description of SPEC §9: ``input`` and ``[[layer]]`` tables, read and validated
completely before anything is computed. Holds no SymPy and no NumPy.

Every refusal is one line naming the layer (``layer 2 (conv2d): …``), what is wrong and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from derive.model.activations import ACTIVATIONS
from derive.model.losses import LOSSES
from derive.model.network import LANGUAGES, NOTATIONS, REDUCTIONS, show

from ..errors import InputError
from .registry import KINDS, LATER, Shape, ShapeError, is_sequence

MAX_LAYERS = 32
"""at most this many [[layer]] tables"""
MAX_SIZE = 4096
"""the largest extent of any axis of a tensor (units, channels, height, width)"""
MAX_VALUES = 1_000_000
"""the most values one example's tensor may hold (C·H·W)"""
MAX_PARAMETERS = 10_000_000
"""the most parameters a whole network may have"""
MAX_STEPS = 1024
"""the most time steps T of a sequence input [T, n]"""

DEFAULTS: dict[str, Any] = {"loss": "cross_entropy", "reduction": "mean", "lambda": 0.0, "notation": "ng",
                            "language": "en"}
KEYS = ("input", "layer", *DEFAULTS)


@dataclass(frozen=True)
class Layer:
    """One [[layer]] table, validated: its kind, its keys (defaults filled in) and the shapes it maps."""

    index: int
    """1 for the first [[layer]] table"""
    kind: str
    options: tuple[tuple[str, Any], ...]
    input: Shape
    output: Shape
    parameters: tuple[tuple[str, Shape], ...]

    @property
    def config(self) -> Mapping[str, Any]:
        return dict(self.options)

    @property
    def activation(self) -> str | None:
        """The activation applied after the layer's linear part, if the kind has one."""
        if KINDS[self.kind].activation_inside:
            return None
        value = self.config.get("activation")
        return value if isinstance(value, str) else None

    @property
    def sequence(self) -> bool:
        """Whether the layer's output is a sequence [T, …] (time steps first)."""
        return is_sequence(self.output)

    @property
    def parameter_count(self) -> int:
        return sum(math.prod(shape) for _, shape in self.parameters)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **dict(self.options)}

    def __str__(self) -> str:
        return f"{self.kind} {'×'.join(map(str, self.output))}"


@dataclass(frozen=True)
class LayeredNetwork:
    """A network of §9 layers applied in order to an input of shape ``input`` (one example)."""

    input: Shape
    stack: tuple[Layer, ...]
    loss: str = "cross_entropy"
    reduction: str = "mean"
    lam: float = 0.0
    notation: str = "ng"
    language: str = "en"

    @property
    def output(self) -> str:
        """The activation of the last layer ('linear' when the last kind has none)."""
        return self.stack[-1].activation or "linear"

    @property
    def output_shape(self) -> Shape:
        return self.stack[-1].output

    @property
    def sequence_output(self) -> bool:
        """Whether the network's output is a sequence [T, K]: the loss is then summed over the time steps, and a
        softmax acts on each time step's K outputs."""
        return is_sequence(self.output_shape)

    @property
    def output_width(self) -> int:
        """The values one loss term covers: one time step's output for a sequence, the whole output otherwise."""
        return self.output_shape[-1] if self.sequence_output else math.prod(self.output_shape)

    @property
    def steps(self) -> int:
        """T, the time steps of a sequence input (1 for a vector or an image)."""
        return self.input[0] if is_sequence(self.input) else 1


    @property
    def layers(self) -> tuple[int, ...]:
        """Values per example of every tensor, input first (for the printers' summaries and diagrams)."""
        return (math.prod(self.input), *(math.prod(layer.output) for layer in self.stack))

    @property
    def L(self) -> int:
        return len(self.stack) + 1

    @property
    def activations(self) -> tuple[str, ...]:
        return tuple(layer.activation or "linear" for layer in self.stack[:-1])

    @property
    def parameter_count(self) -> int:
        return sum(layer.parameter_count for layer in self.stack)

    def to_dict(self) -> dict[str, Any]:
        """The description in SPEC §9's keys (what ``from_dict`` reads back)."""
        return {"input": list(self.input), "layer": [layer.to_dict() for layer in self.stack], "loss": self.loss,
                "reduction": self.reduction, "lambda": self.lam, "notation": self.notation,
                "language": self.language}

    def replace(self, **changes: Any) -> LayeredNetwork:
        """A new network with some keys of SPEC §9 changed (validated again)."""
        return LayeredNetwork.from_dict({**self.to_dict(), **changes})

    @classmethod
    def from_dict(cls, spec: Any, *, source: str = "network") -> LayeredNetwork:
        """Validate a §9 description and build the network."""
        if not isinstance(spec, dict):
            raise InputError(f"{source}: expected a table of keys ({', '.join(KEYS)})")
        if "layers" in spec:
            raise InputError(f"{source}: give either 'layers' (a fully connected network, SPEC §2) or 'input' with "
                             "[[layer]] tables (SPEC §9), not both")
        unknown = sorted((k for k in spec if k not in KEYS), key=str)
        if unknown:
            raise InputError(f"{source}: unknown key {show(unknown[0])}; allowed keys: {', '.join(KEYS)}")
        for key in ("input", "layer"):
            if key not in spec:
                raise InputError(f"{source}: {key!r} is required, e.g. input = [1, 6, 6] and [[layer]] tables")
        v = {**DEFAULTS, **spec}
        shape = _input(v["input"], source)
        tables = v["layer"]
        if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
            raise InputError(f"{source}: 'layer' must be a list of [[layer]] tables, got {show(tables)}")
        if len(tables) > MAX_LAYERS:
            raise InputError(f"{source}: {len(tables)} [[layer]] tables; at most {MAX_LAYERS} are allowed")
        stack: list[Layer] = []
        for n, table in enumerate(tables, start=1):
            layer = _layer(n, table, shape, last=n == len(tables), source=source)
            stack.append(layer)
            shape = layer.output
        total = sum(layer.parameter_count for layer in stack)
        if total > MAX_PARAMETERS:
            raise InputError(f"{source}: the network has {total:,} parameters; at most {MAX_PARAMETERS:,} are allowed")
        loss = _choice(v["loss"], "loss", list(LOSSES), source)
        out = stack[-1].activation or "linear"
        rule, g = LOSSES[loss], ACTIVATIONS[out]
        if rule.outputs and not g.within(*rule.outputs):
            fits = [name for name, a in ACTIVATIONS.items() if a.within(*rule.outputs)]
            last = stack[-1]
            raise InputError(
                f"{source}: layer {last.index} ({last.kind}): loss {loss!r} needs outputs in ({rule.outputs[0]:g}, "
                f"{rule.outputs[1]:g}) but the last layer's output is {out!r}; end with a dense or conv2d layer "
                f"whose activation is {' | '.join(fits)}, or use loss = 'squared_error'")
        reduction = _choice(v["reduction"], "reduction", list(REDUCTIONS), source)
        lam = v["lambda"]
        if isinstance(lam, bool) or not isinstance(lam, int | float) or not _finite(lam) or lam < 0:
            raise InputError(f"{source}: 'lambda' must be a finite number >= 0, got {show(lam)}")
        notation = _choice(v["notation"], "notation", list(NOTATIONS), source)
        language = _choice(v["language"], "language", list(LANGUAGES), source)
        return cls(shape_of(v["input"]), tuple(stack), loss, reduction, float(lam), notation, language)


def shape_of(value: list[int]) -> Shape:
    return tuple(value)


def _input(value: Any, source: str) -> Shape:
    if not isinstance(value, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in value):
        raise InputError(f"{source}: 'input' must be a list of whole numbers, [n], [T, n] or [C, H, W], "
                         f"got {show(value)}")
    if len(value) not in (1, 2, 3):
        raise InputError(f"{source}: 'input' must be [n] (a vector), [T, n] (a sequence) or [C, H, W] (an image), "
                         f"got {show(value)}")
    _sizes(value, f"{source}: 'input'")
    if len(value) == 2 and value[0] > MAX_STEPS:
        raise InputError(f"{source}: 'input' = {show(value)} has {value[0]} time steps; at most {MAX_STEPS} are "
                         "allowed")
    return tuple(value)


def _sizes(shape: Any, where: str) -> None:
    for n in shape:
        if not 1 <= n <= MAX_SIZE:
            raise InputError(f"{where}: every size must be from 1 to {MAX_SIZE}, got {show(n)}")
    if math.prod(shape) > MAX_VALUES:
        raise InputError(f"{where}: shape {'×'.join(map(str, shape))} holds {math.prod(shape):,} values per "
                         f"example; at most {MAX_VALUES:,} are allowed")


def _layer(n: int, table: dict[str, Any], shape: Shape, *, last: bool, source: str) -> Layer:
    kind = table.get("kind")
    allowed = " | ".join(KINDS)
    if "kind" not in table:
        raise InputError(f"{source}: layer {n}: 'kind' is required; allowed: {allowed}")
    if isinstance(kind, str) and kind in LATER:
        raise InputError(f"{source}: layer {n}: kind {kind!r} is not yet supported; allowed: {allowed}")
    if not isinstance(kind, str) or kind not in KINDS:
        raise InputError(f"{source}: layer {n}: unknown kind {show(kind)}; allowed: {allowed}")
    entry = KINDS[kind]
    where = f"{source}: layer {n} ({kind})"
    unknown = sorted((k for k in table if k != "kind" and k not in entry.keys), key=str)
    if unknown:
        keys = ", ".join(entry.keys) or "none besides 'kind'"
        raise InputError(f"{where}: unknown key {show(unknown[0])}; allowed keys: {keys}")
    options: dict[str, Any] = {}
    for name, key in entry.keys.items():
        if name not in table and key.default is None:
            raise InputError(f"{where}: {name!r} is required ({key.describe()})")
        value = table.get(name, key.default)
        problem = key.problem(value)
        if problem is not None:
            raise InputError(f"{where}: {name!r} is {show(value)}; {problem}")
        options[name] = value
    activation = options.get("activation")
    if isinstance(activation, str) and not ACTIVATIONS[activation].elementwise and entry.activation_inside:
        fits = [name for name, g in ACTIVATIONS.items() if g.elementwise]
        raise InputError(f"{where}: 'activation' is {activation!r}; allowed: {' | '.join(fits)} (one unit at a time)")
    if isinstance(activation, str) and not ACTIVATIONS[activation].elementwise:
        if not last or len(shape) != 1 and kind != "dense":
            raise InputError(f"{where}: activation {activation!r} couples a layer's units and is allowed only on "
                             "the last layer, a dense one")
    try:
        out = entry.output(shape, options)
        params = entry.parameters(shape, options)
    except ShapeError as e:
        raise InputError(f"{where}: {e}") from None
    _sizes(out, f"{where}: output")
    return Layer(n, kind, tuple(options.items()), shape, out, tuple(params.items()))


def _finite(x: int | float) -> bool:
    try:
        return math.isfinite(x)
    except OverflowError:
        return False


def _choice(value: Any, key: str, allowed: list[str], source: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise InputError(f"{source}: {key!r} is {show(value)}; allowed: {' | '.join(allowed)}")
    return value
