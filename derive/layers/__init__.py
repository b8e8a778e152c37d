"""Layered networks (SPEC §9): an ``input`` shape and a list of ``[[layer]]`` tables.

``description`` validates the file (no SymPy, no NumPy); ``registry`` holds one entry per layer kind
(its keys, shapes, element-wise SymPy forward, the lecturer's backward form and the NumPy batch code);
``derivation`` derives every layer's backward rule by the chain rule and proves the lecturer's form;
``numeric`` computes cost and gradients over a batch.
"""

from __future__ import annotations

from typing import Any

from derive.model.network import is_layered

from .description import LayeredNetwork

__all__ = ["LayeredNetwork", "is_layered", "load_network"]


def load_network(path: str) -> Any:
    """A §2 ``Network`` or a §9 ``LayeredNetwork``, whichever the TOML file describes."""
    from derive.model.network import Network, read_toml

    spec = read_toml(path)
    if is_layered(spec):
        return LayeredNetwork.from_dict(spec, source=str(path))
    return Network.from_dict(spec, source=str(path))
