"""The layer registry: each kind of SPEC §9 is one ``LayerKind`` entry.

An entry states its keys, the shape it maps, its parameters, and three definitions over arrays whose
first axis is the batch (m examples):
- ``definition``: the forward pass element by element, in SymPy (the mathematics);
- ``forward``: the same pass as array code (NumPy over floats, or over SymPy objects for the proofs);
- ``backward``: the lecturer's form of the backward rule as array code (the flipped kernel, the routed
  maximum, the three-term batch-norm formula).
``derive.layers.derivation`` proves on small concrete shapes that ``forward`` equals ``definition`` and that
``backward`` equals what the chain rule derives from ``definition``; ``derive.layers.numeric`` then runs
the very same ``forward``/``backward`` over float batches. A new kind (rnn, lstm, attention) is one more
entry; its proofs, numbers and steps follow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from derive.model.activations import ACTIVATIONS

Shape = tuple[int, ...]
Config = Mapping[str, Any]


class ShapeError(ValueError):
    """A layer that does not fit its input; the description adds which layer."""


# --- sequences (SPEC §9: input [T, n]; a recurrent layer returns the sequence [T, u] or its last step [u])
RETURNS = ("sequence", "last")
"""what a recurrent layer's ``returns`` key allows"""


def is_sequence(shape: Shape) -> bool:
    """Whether one example's tensor is a sequence [T, n] (time steps first)."""
    return len(shape) == 2


def recurrent_output(shape: Shape, cfg: Config, kind: str) -> Shape:
    """The output of a recurrent layer on a sequence input: [T, units] or [units]."""
    if not is_sequence(shape):
        got = "×".join(map(str, shape))
        raise ShapeError(f"its input has shape {got}, not a sequence; {kind} needs a sequence [T, n]: give "
                         "input = [T, n], and put it before any layer that returns the last step only")
    units = cfg["units"]
    return (shape[0], units) if cfg["returns"] == "sequence" else (units,)


@dataclass(frozen=True)
class Key:
    """One key of a [[layer]] table: a whole number in [low, high], a positive number, true or false, an
    activation, or one of a few words (``choices``)."""

    type: str
    """'int', 'float', 'bool', 'activation' or 'choice'"""
    default: Any = None
    """None: the key is required"""
    low: float = 1
    high: float = 4096
    choices: tuple[str, ...] = ()
    """the words a 'choice' key allows"""

    def describe(self) -> str:
        if self.type == "choice":
            return " | ".join(self.choices)
        if self.type == "activation":
            return "an activation: " + " | ".join(ACTIVATIONS)
        if self.type == "bool":
            return "true or false"
        if self.type == "float":
            return f"a number greater than 0 and at most {self.high:g}"
        return f"a whole number from {self.low:g} to {self.high:g}"

    def problem(self, value: Any) -> str | None:
        """None when ``value`` is allowed, otherwise what is allowed."""
        if self.type == "choice":
            ok = isinstance(value, str) and value in self.choices
        elif self.type == "activation":
            ok = isinstance(value, str) and value in ACTIVATIONS
        elif self.type == "bool":
            ok = isinstance(value, bool)
        elif self.type == "float":
            ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= self.high
        else:
            ok = isinstance(value, int) and not isinstance(value, bool) and self.low <= value <= self.high
        return None if ok else "allowed: " + self.describe()


@dataclass(frozen=True)
class LayerKind:
    name: str
    keys: Mapping[str, Key]
    output: Callable[[Shape, Config], Shape]
    """the shape of one example's output, or ShapeError naming what does not fit and what would"""
    parameters: Callable[[Shape, Config], dict[str, Shape]]
    definition: Callable[..., Any]
    """(x, params, config) -> the pre-activation output, each element a SymPy expression"""
    forward: Callable[..., tuple[Any, Any]]
    """(X, params, config) -> (Z, cache), array code"""
    backward: Callable[..., tuple[Any, dict[str, Any]]]
    """(dZ, cache, params, config) -> (dX, {name: dparam}): the lecturer's form"""
    instance: Callable[[Shape, Config], tuple[Shape, dict[str, Any], int]]
    """a small concrete (input shape, config, examples) on which the backward rule is proven"""
    weights: tuple[str, ...] = ()
    """the parameters L2 regularization applies to (never biases, β or γ)"""
    couples_examples: bool = False
    """whether one example's output depends on the others (batch norm in training mode)"""
    activation_inside: bool = False
    """whether the kind applies its ``activation`` key itself (rnn: inside the recurrence), so that its output
    is already activated and no activation step follows it"""
    display: Callable[..., Any] | None = None
    """(layer number, config) -> the generic element-wise and lecturer forms shown in the derivation"""
    extra: Mapping[str, Any] = field(default_factory=dict)


KINDS: dict[str, LayerKind] = {}

LATER: tuple[str, ...] = ()
"""kinds of SPEC §9 not in this version: a description naming one is refused as not yet supported"""


def register(kind: LayerKind) -> LayerKind:
    """Add a layer kind to the registry (replacing one of the same name)."""
    KINDS[kind.name] = kind
    return kind


def _load() -> None:
    # each module registers its entries, in the order messages list the kinds
    from .kinds import dense  # noqa: F401, I001
    from .kinds import conv2d  # noqa: F401
    from .kinds import pooling  # noqa: F401
    from .kinds import flatten  # noqa: F401
    from .kinds import normalization  # noqa: F401
    from .kinds import attention  # noqa: F401
    from .kinds import recurrent  # noqa: F401


_load()
