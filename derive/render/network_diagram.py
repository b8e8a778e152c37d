"""The network drawn as the slides draw it: layers left to right, the bias unit +1 on top of every layer but
the last, the weight matrix (Θ^(l), or w^(l+1) in the nielsen profile) over the connections between two
layers, the layer names underneath. One layout, two drawings: TikZ for LaTeX documents, SVG for HTML.

A layer wider than ``MAX_UNITS`` is drawn with its first units, a vertical ellipsis and its last unit.
Symbols come from the network's notation profile, words from the catalogue of its language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

from derive.catalogue import catalogue
from derive.errors import NotSupportedError
from derive.model.network import Network
from derive.model.notation import PROFILES, q
from derive.render.latex import escape as tex_escape
from derive.render.tex import latex

MAX_UNITS = 6
"""at most this many slots drawn per layer (units and the ellipsis; the bias unit comes on top)"""


@dataclass(frozen=True)
class Slot:
    """One drawn place in a layer: a unit (``index`` ≥ 1), the bias unit (0) or the ellipsis (None)."""

    layer: int
    index: int | None
    row: float
    """vertical position, 0 at the top, in unit spacings"""

    @property
    def kind(self) -> str:
        return "dots" if self.index is None else "bias" if self.index == 0 else "unit"


@dataclass(frozen=True)
class Layout:
    """Where everything goes, in abstract units (one column per layer, one row per unit)."""

    net: Network
    columns: tuple[tuple[Slot, ...], ...]
    rows: float

    def edges(self) -> list[tuple[Slot, Slot]]:
        """Every drawn unit or bias of layer l to every drawn unit of layer l + 1 (never to a bias)."""
        out: list[tuple[Slot, Slot]] = []
        for left, right in zip(self.columns, self.columns[1:]):
            for a in left:
                out.extend((a, b) for b in right if a.kind != "dots" and b.kind == "unit")
        return out


def layout(net: Network) -> Layout:
    """The drawn slots of every layer, each column centred vertically."""
    columns = []
    for layer, size in enumerate(net.layers, start=1):
        shown: list[int | None] = list(range(1, size + 1))
        if size > MAX_UNITS:
            shown = [*range(1, MAX_UNITS - 1), None, size]
        if layer < net.L and PROFILES[net.notation].form == "bias_unit":  # a separate bias b^l is not a unit
            shown.insert(0, 0)
        columns.append(shown)
    tallest = max(len(c) for c in columns)
    placed = tuple(
        tuple(Slot(layer, index, (tallest - len(c)) / 2 + n) for n, index in enumerate(c))
        for layer, c in enumerate(columns, start=1)
    )
    return Layout(net, placed, float(tallest))


def unit_label(net: Network, slot: Slot) -> str:
    """The LaTeX inside a drawn unit: +1 for the bias, x_i for the input, a_i^(l) beyond it."""
    if slot.kind == "bias":
        return "+1"
    if slot.kind == "dots":
        return r"\vdots"
    symbol = q("x", slot.index) if slot.layer == 1 else q("a", slot.layer, slot.index)
    return latex(symbol, net.notation)


def weight_label(net: Network, layer: int) -> str:
    """The LaTeX of the weight matrix between ``layer`` and the next, in the network's notation."""
    return latex(q("Theta", layer), net.notation)


def layer_name(net: Network, layer: int) -> str:
    return catalogue(net.language).word("diagram", "layer", layer=layer)


# --- TikZ --------------------------------------------------------------------------------------------

TIKZ_SCALE = {"x": 2.4, "y": 0.95}
"""centimetres between two layers and between two units"""

def quoteattr(value: str) -> str:
    """An XML attribute's value, quoted and escaped."""
    return '"%s"' % escape(value, quote=True)


def network_tikz(net: Network) -> str:
    """A ``tikzpicture`` of the network (needs ``\\usepackage{tikz}``; Chinese names need xelatex + ctex)."""
    lay = layout(net)
    dx, dy = TIKZ_SCALE["x"], TIKZ_SCALE["y"]

    def at(s: Slot) -> str:
        return f"({(s.layer - 1) * dx:.2f},{-s.row * dy:.2f})"

    def name(s: Slot) -> str:
        return f"n{s.layer}-{'d' if s.index is None else s.index}"

    lines = [
        r"\begin{tikzpicture}[",
        r"  unit/.style={circle, draw, thick, minimum size=8.5mm, inner sep=0pt, font=\scriptsize},",
        r"  bias/.style={unit, fill=black!10},",
        r"  dots/.style={inner sep=0pt, font=\large},",
        r"  edge/.style={-latex, gray!70, line width=0.35pt, shorten >=0.5pt}]",
    ]
    for column in lay.columns:
        for s in column:
            lines.append(rf"\node[{s.kind}] ({name(s)}) at {at(s)} {{${unit_label(net, s)}$}};")
    for a, b in lay.edges():
        lines.append(rf"\draw[edge] ({name(a)}) -- ({name(b)});")
    top, bottom = 0.75 * dy, -(lay.rows - 1) * dy - 0.6 * dy
    for layer in range(1, net.L):
        lines.append(rf"\node[font=\small, anchor=south] at ({(layer - 0.5) * dx:.2f},{top:.2f}) "
                     rf"{{${weight_label(net, layer)}$}};")
    for layer in range(1, net.L + 1):
        lines.append(rf"\node[font=\small, anchor=north] at ({(layer - 1) * dx:.2f},{bottom:.2f}) "
                     rf"{{{tex_escape(layer_name(net, layer))}}};")
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines) + "\n"


# --- SVG ---------------------------------------------------------------------------------------------

SVG_SCALE = {"x": 150, "y": 54, "r": 19, "margin": 40, "top": 46, "bottom": 44}
"""pixels: between layers, between units, a unit's radius, the margins"""

_GREEK = {r"\Theta": "Θ", r"\theta": "θ", r"\delta": "δ", r"\Delta": "Δ", r"\sigma": "σ", r"\alpha": "α",
          r"\eta": "η", r"\lambda": "λ", r"\vdots": "⋮", r"\nabla": "∇", r"\partial": "∂"}
_SYMBOL = re.compile(r"^(\\[A-Za-z]+ ?[A-Za-z]?|[A-Za-z+]+|\+1)(?:\^\{([^{}]*)\})?(?:_\{([^{}]*)\})?$")


SCRIPT_WIDTH = 0.55
"""an estimate of a character's advance, in font sizes (to centre a label with scripts)"""


def svg_symbol(tex: str) -> tuple[str, str, str]:
    """(base, superscript, subscript) of a profile's symbol, in Unicode: '\\Theta^{(1)}' -> ('Θ', '(1)', '')."""
    m = _SYMBOL.match(tex.strip())
    if m is None:
        raise NotSupportedError(f"the diagram cannot write the symbol {tex!r} as SVG text")
    base = m.group(1)
    for macro, char in _GREEK.items():
        base = re.sub(re.escape(macro) + r"(?![A-Za-z])\s*", char, base)
    if "\\" in base:
        raise NotSupportedError(f"the diagram cannot write the symbol {tex!r} as SVG text")
    return base, m.group(2) or "", m.group(3) or ""


def _svg_text(tex: str, x: float, y: float, size: int, **attributes: str) -> str:
    """A <text> with the symbol's scripts stacked: the base ends, and the superscript and the subscript both
    begin, at one x (each script is a new text chunk anchored there), so that a^(2)_1 has its subscript under
    its superscript. The whole is centred on ``x`` by an estimate of the widths (only the centring is estimated;
    base and scripts meet exactly)."""
    base, sup, sub = svg_symbol(tex)
    extra = "".join(f" {k.replace('_', '-')}={quoteattr(v)}" for k, v in attributes.items())
    small = round(size * 0.68)
    italic = base.isascii() and base.isalpha()
    scripts = max(len(sup), len(sub)) * small * SCRIPT_WIDTH
    join = x + (len(base) * size * SCRIPT_WIDTH - scripts) / 2 if sup or sub else x
    anchor = f' x="{join:.1f}" text-anchor="end"' if sup or sub else ""
    style = ' font-style="italic"' if italic else ""
    parts = [f"<tspan{anchor}{style}>{escape(base)}</tspan>"]
    if sup:
        parts.append(f'<tspan x="{join:.1f}" text-anchor="start" dy="{-0.45 * size:.1f}" '
                     f'font-size="{small}">{escape(sup)}</tspan>')
    if sub:
        parts.append(f'<tspan x="{join:.1f}" text-anchor="start" dy="{(0.75 if sup else 0.3) * size:.1f}" '
                     f'font-size="{small}">{escape(sub)}</tspan>')
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="middle" '
            f'dominant-baseline="central"{extra}>{"".join(parts)}</text>')


def network_svg(net: Network) -> str:
    """An inline ``<svg>`` element of the network (well-formed XML; every text escaped)."""
    lay = layout(net)
    sc = SVG_SCALE
    width = 2 * sc["margin"] + (net.L - 1) * sc["x"]
    height = sc["top"] + sc["bottom"] + (lay.rows - 1) * sc["y"] + 2 * sc["r"]
    words = catalogue(net.language)
    title = words.word("diagram", "title", layers=", ".join(map(str, net.layers)))

    def xy(s: Slot) -> tuple[float, float]:
        return sc["margin"] + (s.layer - 1) * sc["x"], sc["top"] + sc["r"] + s.row * sc["y"]

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="derive-network" width="{width}" height="{height:.0f}" '
        f'viewBox="0 0 {width} {height:.0f}" role="img" aria-label={quoteattr(title)} '
        f'font-family="Latin Modern Roman, CMU Serif, Times New Roman, serif">',
        f"<title>{escape(title)}</title>",
        '<defs><marker id="derive-arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="5" markerHeight="5" '
        'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#999"/></marker></defs>',
        '<g stroke="#aaa" stroke-width="0.8" marker-end="url(#derive-arrow)">',
    ]
    for a, b in lay.edges():
        (x1, y1), (x2, y2) = xy(a), xy(b)
        length = ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5
        ux, uy = (x2 - x1) / length, (y2 - y1) / length
        r = sc["r"]
        out.append(f'<line x1="{x1 + ux * r:.1f}" y1="{y1 + uy * r:.1f}" '
                   f'x2="{x2 - ux * (r + 1):.1f}" y2="{y2 - uy * (r + 1):.1f}"/>')
    out.append("</g>")
    for column in lay.columns:
        for s in column:
            x, y = xy(s)
            if s.kind == "dots":
                more = net.layers[s.layer - 1] - (MAX_UNITS - 1)
                out.append(f"<g><title>{escape(words.word('diagram', 'more', count=more))}</title>"
                           + _svg_text(r"\vdots", x, y, 22, fill="#333") + "</g>")
                continue
            fill = "#e6e6e6" if s.kind == "bias" else "#ffffff"
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{sc["r"]}" fill="{fill}" stroke="#222" '
                       f'stroke-width="1.4"><title>{escape(_slot_title(net, s))}</title></circle>')
            label = unit_label(net, s)
            out.append(_svg_text(label, x, y, 13 if len("".join(svg_symbol(label))) <= 5 else 11, fill="#111"))
    for layer in range(1, net.L):
        x = sc["margin"] + (layer - 0.5) * sc["x"]
        out.append(_svg_text(weight_label(net, layer), x, sc["top"] / 2, 16, fill="#1f4e9a"))
    for layer in range(1, net.L + 1):
        x = sc["margin"] + (layer - 1) * sc["x"]
        out.append(f'<text x="{x:.1f}" y="{height - sc["bottom"] / 2:.1f}" font-size="14" text-anchor="middle" '
                   f'dominant-baseline="central" fill="#111">{escape(layer_name(net, layer))}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _slot_title(net: Network, s: Slot) -> str:
    """A tooltip: the layer's name, and 'bias unit' for +1."""
    words = catalogue(net.language)
    name = layer_name(net, s.layer)
    return f"{name}: {words.word('diagram', 'bias')}" if s.kind == "bias" else name
