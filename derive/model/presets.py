"""The classic networks of the reference material, by name: ``derive derivation --preset ng-4-layer``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from derive.errors import InputError

if TYPE_CHECKING:
    from derive.model.network import Network


@dataclass(frozen=True)
class Preset:
    spec: Mapping[str, Any]
    """the keys of SPEC §2"""
    about: str


PRESETS: Mapping[str, Preset] = MappingProxyType({
    "ng-4-layer": Preset({"layers": [3, 5, 5, 4], "activation": "sigmoid", "output": "sigmoid",
                          "loss": "cross_entropy"},
                         "the 4-layer network of the lecture slides: sigmoid units, cross-entropy"),
    "ng-4-layer-regularized": Preset({"layers": [3, 5, 5, 4], "loss": "cross_entropy", "lambda": 1.0},
                                     "the same with the L2 penalty λ = 1 (the slides' regularized D)"),
    "squared-error-exercise": Preset({"layers": [3, 5, 5, 4], "output": "sigmoid", "loss": "squared_error"},
                                     "the slides' exercise: the cross-entropy replaced by ½ Σ (a − y)²"),
    "xor-2-2-1": Preset({"layers": [2, 2, 1], "activation": "sigmoid", "output": "sigmoid",
                         "loss": "cross_entropy"},
                        "the smallest network that learns XOR"),
    "regression-2-3-1": Preset({"layers": [2, 3, 1], "activation": "sigmoid", "output": "linear",
                                "loss": "squared_error"},
                               "the textbook's regression network: sigmoid hidden units, a linear output, "
                               "squared error"),
    "softmax-4-5-3": Preset({"layers": [4, 5, 3], "activation": "tanh", "output": "softmax",
                             "loss": "cross_entropy"},
                            "a classifier with a softmax output over three classes"),
})


def preset(name: str, **changes: Any) -> Network:
    """The named network, with any keys of SPEC §2 changed (e.g. language="zh")."""
    from derive.model.network import Network

    if name not in PRESETS:
        raise InputError(f"--preset {name!r}: no such preset; allowed: {' | '.join(PRESETS)}")
    return Network.from_dict({**PRESETS[name].spec, **changes}, source=f"preset {name}")
