"""The figure of a recurrent layer unrolled through time (TikZ and SVG): inputs x_1 … x_T below, the states
h_0 … h_T in a row joined by W, each x_t feeding h_t through U, and the outputs the layer returns above (every
h_t for ``returns = "sequence"``, h_T alone for ``"last"``). Long sequences show the first two and the last
step with dots between."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

from derive.catalogue import catalogue

SHOWN = 5
"""sequences longer than this show steps 1, 2, …, T"""


def _recurrent(net: Any) -> Any:
    return next(layer for layer in net.stack if layer.kind in ("rnn", "lstm"))


def _steps(T: int) -> list[str | None]:
    """The step labels drawn, None for the dots."""
    if T <= SHOWN:
        return [str(t) for t in range(1, T + 1)]
    return ["1", "2", None, "T"]


def _columns(net: Any) -> tuple[Any, list[str | None], bool]:
    layer = _recurrent(net)
    return layer, _steps(layer.input[0]), layer.config["returns"] == "sequence"


def tikz(net: Any) -> str:
    layer, steps, every = _columns(net)
    n, dx = layer.index, 1.9
    out = [r"\begin{tikzpicture}[",
           r"  state/.style={circle, draw, thick, minimum size=9mm, inner sep=0pt, font=\small},",
           r"  data/.style={rectangle, draw, minimum size=7mm, inner sep=1pt, font=\small},",
           r"  edge/.style={-latex, line width=0.5pt}, lab/.style={font=\scriptsize, midway}]",
           rf"\node[state, dashed] (h0) at (0,0) {{$h^{{({n})}}_{{0}}$}};"]
    previous = "h0"
    for k, t in enumerate(steps, start=1):
        x = k * dx
        if t is None:
            out.append(rf"\node (h{k}) at ({x:.2f},0) {{$\cdots$}};")
            out.append(rf"\draw[edge] ({previous}) -- node[lab, above] {{$W$}} (h{k});")
            previous = f"h{k}"
            continue
        out.append(rf"\node[state] (h{k}) at ({x:.2f},0) {{$h^{{({n})}}_{{{t}}}$}};")
        out.append(rf"\node[data] (x{k}) at ({x:.2f},-1.8) {{$x_{{{t}}}$}};")
        out.append(rf"\draw[edge] (x{k}) -- node[lab, right] {{$U$}} (h{k});")
        out.append(rf"\draw[edge] ({previous}) -- node[lab, above] {{$W$}} (h{k});")
        if every or k == len(steps):
            out.append(rf"\node[data] (y{k}) at ({x:.2f},1.8) {{$a^{{({n + 1})}}_{{{t}}}$}};")
            out.append(rf"\draw[edge] (h{k}) -- (y{k});")
            out.append(rf"\draw[edge, red!70!black, dashed] (y{k}.east) to[bend left=30] "
                       rf"node[lab, right] {{$\delta^{{({n + 1})}}_{{{t}}}$}} (h{k}.north east);")
        previous = f"h{k}"
    out.append(r"\end{tikzpicture}")
    return "\n".join(out)


def _scripts(sub: str, sup: str, size: int) -> str:
    """A superscript then a subscript, placed by explicit offsets (dy accumulates, baseline-shift does not
    render the same everywhere)."""
    up = f'<tspan dy="-6" font-size="{size}">{escape(sup)}</tspan>' if sup else ""
    return up + f'<tspan dy="{10 if sup else 4}" font-size="{size}">{escape(sub)}</tspan>'


def svg(net: Any) -> str:
    layer, steps, every = _columns(net)
    n, dx, r = layer.index, 110, 20
    width, height = (len(steps) + 1) * dx + 40, 230
    title = catalogue(net.language).word("diagram", "unrolled", layer=n, kind=layer.kind, steps=layer.input[0])
    ys = {"y": 35, "h": 115, "x": 195}

    def label(x: float, y: float, base: str, sub: str, sup: str = "") -> str:
        return (f'<text x="{x}" y="{y + 5}" text-anchor="middle" font-size="15" font-style="italic">'
                f'{escape(base)}{_scripts(sub, sup and f"({sup})", 10)}</text>')

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="derive-unrolled" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label={quoteattr(title)} '
           'font-family="Latin Modern Roman, CMU Serif, Times New Roman, serif">',
           f"<title>{escape(title)}</title>",
           '<defs><marker id="derive-unrolled-arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="6" '
           'markerHeight="6" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker></defs>']
    edges, nodes = [], []
    x0 = 40
    nodes.append(f'<circle cx="{x0}" cy="{ys["h"]}" r="{r}" fill="white" stroke="#333" stroke-dasharray="4 3"/>')
    nodes.append(label(x0, ys["h"], "h", "0", str(n)))
    previous = x0
    for k, t in enumerate(steps, start=1):
        x = x0 + k * dx
        edges.append(f'<line x1="{previous + r}" y1="{ys["h"]}" x2="{x - r - 2}" y2="{ys["h"]}"/>')
        edges.append(f'<text x="{(previous + x) / 2}" y="{ys["h"] - 6}" text-anchor="middle" font-size="12" '
                     'font-style="italic" stroke="none" fill="#333">W</text>')
        previous = x
        if t is None:
            nodes.append(f'<text x="{x}" y="{ys["h"] + 5}" text-anchor="middle" font-size="18">⋯</text>')
            continue
        nodes.append(f'<circle cx="{x}" cy="{ys["h"]}" r="{r}" fill="white" stroke="#333" stroke-width="1.5"/>')
        nodes.append(label(x, ys["h"], "h", t, str(n)))
        nodes.append(f'<rect x="{x - 16}" y="{ys["x"] - 14}" width="32" height="28" fill="white" stroke="#333"/>')
        nodes.append(label(x, ys["x"], "x", t))
        edges.append(f'<line x1="{x}" y1="{ys["x"] - 14}" x2="{x}" y2="{ys["h"] + r + 2}"/>')
        edges.append(f'<text x="{x + 6}" y="{(ys["x"] + ys["h"]) / 2 + 4}" font-size="12" font-style="italic" '
                     'stroke="none" fill="#333">U</text>')
        if every or k == len(steps):
            nodes.append(f'<rect x="{x - 22}" y="{ys["y"] - 14}" width="44" height="28" fill="white" stroke="#333"/>')
            nodes.append(label(x, ys["y"], "a", t, str(n + 1)))
            edges.append(f'<line x1="{x}" y1="{ys["h"] - r}" x2="{x}" y2="{ys["y"] + 16}"/>')
            edges.append(f'<path d="M{x + 22},{ys["y"] + 4} C{x + 45},{ys["y"] + 20} {x + 40},{ys["h"] - 30} '
                         f'{x + 15},{ys["h"] - r + 4}" fill="none" stroke="#a33" stroke-dasharray="4 3"/>')
            nodes.append(f'<text x="{x + 44}" y="{(ys["y"] + ys["h"]) / 2 + 2}" font-size="12" fill="#a33" '
                         f'font-style="italic">δ{_scripts(t, f"({n + 1})", 9)}</text>')
    out += ['<g stroke="#555" stroke-width="1" marker-end="url(#derive-unrolled-arrow)">', *edges, "</g>", *nodes,
            "</svg>"]
    return "".join(out)
