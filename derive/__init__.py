"""derive: backpropagation derivations, derived by SymPy, checked, and exported.

The pipeline, one folder a stage: ``model`` (a Network, validated; the activation and loss registries) ->
``engine`` (``backprop``: a Derivation whose every step is checked; ``lambdify``: its numbers) -> ``document``
(each product builds one Document) -> ``render`` (one printer per format); ``io`` writes files, ``cli`` connects
the stages. README, "Architecture", lists every module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from derive.model.network import Network

from .errors import CheckError, DeriveError, InputError, NotSupportedError

if TYPE_CHECKING:
    from derive.engine.backprop import backprop
    from derive.engine.numeric import lambdify

__all__ = ["Network", "backprop", "lambdify", "grade", "DeriveError", "InputError", "NotSupportedError", "CheckError"]

_LAZY = {"backprop": "derive.engine.backprop", "lambdify": "derive.engine.numeric",
         "Derivation": "derive.engine.derivation", "Step": "derive.engine.derivation", "grade": "derive.grading",
         "elementwise": "derive.engine.weight_gradients"}


def __getattr__(name: str) -> Any:
    """Import the heavy parts on first use, so that `derive --help` and bad-input errors stay fast."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'derive' has no attribute {name!r}")
