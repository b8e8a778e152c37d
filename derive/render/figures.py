"""Figures drawn per format: TikZ for LaTeX and Beamer, inline SVG for HTML, from one table of kinds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..document import Figure
from ..errors import NotSupportedError


def _network_tikz(subject: Any) -> str:
    from derive.render.network_diagram import network_tikz

    return network_tikz(subject)


def _network_svg(subject: Any) -> str:
    from derive.render.network_diagram import network_svg

    return network_svg(subject)


def _graph_tikz(subject: Any) -> str:
    from .graph import tikz

    return tikz(subject)


def _graph_svg(subject: Any) -> str:
    from .graph import svg

    return svg(subject)


def _graph_mermaid(subject: Any) -> str:
    from .graph import mermaid

    return mermaid(subject)


def _layered(name: str) -> Callable[[Any], str]:
    def draw(subject: Any) -> str:
        from . import layered_figures

        return str(getattr(layered_figures, name)(subject))
    return draw


def _unrolled(name: str) -> Callable[[Any], str]:
    def draw(subject: Any) -> str:
        from . import unrolled

        return str(getattr(unrolled, name)(subject))
    return draw


DRAWINGS: dict[str, dict[str, Callable[[Any], str]]] = {
    "tikz": {"network": _network_tikz, "graph": _graph_tikz, "layers": _layered("layers_tikz"),
             "flipped_kernel": _layered("kernel_tikz"), "unrolled": _unrolled("tikz")},
    "svg": {"network": _network_svg, "graph": _graph_svg, "layers": _layered("layers_svg"),
            "flipped_kernel": _layered("kernel_svg"), "unrolled": _unrolled("svg")},
    "mermaid": {"graph": _graph_mermaid, "layers": _layered("layers_mermaid")},
}
"""how each kind of figure is drawn in each drawing language"""


def draw(language: str, figure: Figure) -> str:
    try:
        return DRAWINGS[language][figure.kind](figure.subject)
    except KeyError:
        raise NotSupportedError(f"no {language} drawing of a {figure.kind!r} figure") from None


def has(language: str, figure: Figure) -> bool:
    return figure.kind in DRAWINGS[language]


def tikz(figure: Figure) -> str:
    return draw("tikz", figure)


def svg(figure: Figure) -> str:
    return draw("svg", figure)
