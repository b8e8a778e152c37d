"""The figures of a layered network (SPEC §9), in TikZ and in SVG from one geometry:
- ``layers``: the network as boxes left to right (each layer's kind, parameters and activation), the arrows
  between them labelled with the tensor passed on and its shape; more than ``PER_ROW`` layers wrap to a new row;
- ``flipped_kernel``: a convolution layer's kernel, the kernel rotated by 180°, and δ of the layer's output
  padded with k − 1 zeros (dilated by the stride) with the rotated kernel's first window on it: the full
  convolution that passes δ back. Every size comes from the layer itself.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

PER_ROW = 4
"""layers on one row of the network diagram"""
BOX_W, BOX_H, PITCH, ROW = 2.6, 1.5, 4.0, 3.0
"""cm: a layer's box, the distance between boxes, between rows"""
LEAD = 0.6
"""cm: the first arrow's extra length (the input's shape under it)"""
PX = 38.0
"""SVG pixels per cm"""
WIDTH = 16.0
"""cm: the widest a figure may be (an A4 page's text, a slide once scaled)"""
FONT = "Latin Modern Roman, CMU Serif, Times New Roman, serif"

# --- pieces of text: (kind, text) with kind 'm' (a math letter, italic), 't' (upright), 'sub', 'sup' ----------

Piece = tuple[str, str]


def _tex(pieces: list[Piece]) -> str:
    out = ""
    for kind, text in pieces:
        out += {"m": text, "t": r"\text{%s}" % text, "sub": "_{%s}" % text, "sup": "^{%s}" % text,
                "x": r"\times "}[kind] if kind != "raw" else text
    return "$%s$" % out


def _svg(pieces: list[Piece], x: float, y: float, size: float, anchor: str = "middle", **attributes: str) -> str:
    small = round(size * 0.7, 1)
    out = []
    shift = 0.0
    for kind, text in pieces:
        if kind in ("sub", "sup"):
            want = 0.3 * size if kind == "sub" else -0.4 * size
            out.append(f'<tspan dy="{want - shift:.1f}" font-size="{small}">{escape(_plain(text))}</tspan>')
            shift = want
        else:
            style = ' font-style="italic"' if kind == "m" and text.isalpha() and text.isascii() else ""
            text = "×" if kind == "x" else _plain(text)
            out.append(f'<tspan dy="{-shift:.1f}"{style}>{escape(text)}</tspan>')
            shift = 0.0
    extra = "".join(f" {k.replace('_', '-')}={quoteattr(v)}" for k, v in attributes.items())
    return (f'<text x="{x * PX:.1f}" y="{y * PX:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'dominant-baseline="central"{extra}>{"".join(out)}</text>')


_UNICODE = {"{:}\\,": ": ", r"\delta": "δ", r"\gamma": "γ", r"\beta": "β", r"\mathbb{R}": "ℝ", r"\in": "∈",
            r"\times": "×", r"\circ": "°", r"\operatorname{rot}": "rot", "{": "", "}": "", r"\,": " ", "\\": ""}


def _plain(text: str) -> str:
    for macro, char in _UNICODE.items():
        text = text.replace(macro, char)
    return text


def _shape(shape: tuple[int, ...]) -> list[Piece]:
    out: list[Piece] = []
    for n, d in enumerate(shape):
        out += [("x", "")] if n else []
        out.append(("m", str(d)))
    return out


def _member(letter: str, layer: int, shape: tuple[int, ...]) -> list[Piece]:
    """letter^(layer): 2 × 1 × 3 × 3"""
    return [("m", _letter(letter)), ("sup", "(%d)" % layer), ("m", "{:}\\,"), *_shape(shape)]


def _letter(name: str) -> str:
    return {"gamma": r"\gamma", "beta": r"\beta", "delta": r"\delta"}.get(name, name)


# --- the network diagram ---------------------------------------------------------------------------------------

def _boxes(net: Any, per_row: int) -> list[dict[str, Any]]:
    """Each layer's box: its place (cm), its lines of text, and the tensor arriving at it."""
    boxes = []
    for n, layer in enumerate(net.stack):
        row, col = divmod(n, per_row)
        x, y = (col + 1) * PITCH + LEAD, row * ROW
        cfg = layer.config
        head = {"conv2d": f"conv2d {cfg.get('kernel')}×{cfg.get('kernel')}", "dense": f"dense {cfg.get('units')}",
                "maxpool": f"maxpool {cfg.get('size')}×{cfg.get('size')}",
                "meanpool": f"meanpool {cfg.get('size')}×{cfg.get('size')}"}.get(layer.kind, layer.kind)
        lines: list[list[Piece]] = [[("t", head)]]
        for name, shape in layer.parameters:
            if name in ("K", "W"):
                lines.append(_member(name, layer.index, shape))
        if layer.kind == "conv2d" and (cfg.get("stride", 1) != 1 or cfg.get("padding", 0)):
            lines.append([("t", f"stride {cfg.get('stride', 1)}, padding {cfg.get('padding', 0)}")])
        if layer.activation and layer.activation != "linear":
            lines.append([("t", {"relu": "ReLU"}.get(layer.activation, layer.activation))])
        boxes.append({"x": x, "y": y, "lines": lines, "layer": layer})
    return boxes


def _size(net: Any, per_row: int) -> tuple[float, float]:
    count = len(net.stack)
    across = min(count, per_row)
    rows = (count + per_row - 1) // per_row
    return (across + 1) * PITCH - 0.6 + LEAD, (rows - 1) * ROW + BOX_H + 1.6


def layers_tikz(net: Any, per_row: int = PER_ROW) -> str:
    width, _ = _size(net, per_row)
    scale = min(1.0, WIDTH / width)
    out = [r"\begin{tikzpicture}[scale=%.3f, every node/.style={transform shape}, >=stealth," % scale,
           r"  layer/.style={draw, thick, rounded corners=2pt, fill=blue!6, minimum width=%.1fcm, "
           r"minimum height=%.1fcm, text width=%.1fcm, align=center, font=\small, inner sep=2pt},"
           % (BOX_W, BOX_H, BOX_W - 0.1),
           r"  tensor/.style={font=\small, inner sep=1pt}, dims/.style={font=\scriptsize, inner sep=1pt}]"]
    boxes = _boxes(net, per_row)
    for n, b in enumerate(boxes):
        text = r"\\ ".join(r"{\footnotesize %s}" % _tex(line) if line[0][0] != "t" or len(line) > 1 else
                           (r"\textbf{%s}" if i == 0 else r"{\footnotesize %s}") % line[0][1].replace("×", r"$\times$")
                           for i, line in enumerate(b["lines"]))
        out.append(r"\node[layer] (L%d) at (%.2f,%.2f) {%s};" % (n, b["x"], -b["y"], text))
    out.append(r"\node[tensor] (IN) at (%.2f,%.2f) {$x$};" % (0.4, -boxes[0]["y"]))
    prev = "IN"
    for n, b in enumerate(boxes):
        layer = b["layer"]
        label, shape = _tex([("m", "a"), ("sup", "(%d)" % layer.index)]), _tex(_shape(layer.input))
        if n and n % per_row == 0:  # back to the start of the next row
            mid = -(b["y"] - ROW / 2)
            start = PITCH + LEAD - BOX_W / 2 - 1.2
            out.append(r"\draw[->, thick] (%s.south) |- (%.2f,%.2f) |- (L%d.west);" % (prev, start, mid, n))
            out.append(r"\node[tensor, anchor=south west] at (%.2f,%.2f) {%s};" % (start + 0.05, -b["y"], label))
            out.append(r"\node[dims, anchor=north west] at (%.2f,%.2f) {%s};" % (start + 0.05, -b["y"] - 0.05,
                                                                                  shape))
        else:
            out.append(r"\draw[->, thick] (%s.east) -- node[tensor, above] {%s} node[dims, below] {%s} (L%d.west);"
                       % (prev, label, shape, n))
        prev = "L%d" % n
    last = boxes[-1]["layer"]
    out.append(r"\node[tensor] (OUT) at (%.2f,%.2f) {$J$};" % (boxes[-1]["x"] + BOX_W / 2 + 1.5, -boxes[-1]["y"]))
    out.append(r"\draw[->, thick] (%s.east) -- node[tensor, above] {%s} node[dims, below] {%s} (OUT.west);"
               % (prev, _tex([("m", "a"), ("sup", "(%d)" % (last.index + 1))]), _tex(_shape(last.output))))
    out.append(r"\end{tikzpicture}")
    return "\n".join(out) + "\n"


def layers_svg(net: Any, per_row: int = PER_ROW) -> str:
    width, height = _size(net, per_row)
    width += 0.6
    boxes = _boxes(net, per_row)
    top = 0.8
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="derive-layers" width="{width * PX:.0f}" '
           f'height="{height * PX:.0f}" viewBox="0 0 {width * PX:.0f} {height * PX:.0f}" role="img" '
           f'aria-label="network" font-family="{FONT}">',
           '<defs><marker id="derive-layer-arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="6" '
           'markerHeight="6" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#222"/></marker></defs>']

    def arrow(points: list[tuple[float, float]]) -> str:
        path = " ".join(f"{'M' if i == 0 else 'L'}{x * PX:.1f},{y * PX:.1f}" for i, (x, y) in enumerate(points))
        return (f'<path d="{path}" fill="none" stroke="#222" stroke-width="1.5" '
                'marker-end="url(#derive-layer-arrow)"/>')

    def labels(x: float, y: float, layer_no: int, shape: tuple[int, ...], anchor: str = "middle") -> list[str]:
        return [_svg([("m", "a"), ("sup", "(%d)" % layer_no)], x, y - 0.32, 15, anchor, fill="#111"),
                _svg(_shape(shape), x, y + 0.32, 12, anchor, fill="#333")]

    prev_x, prev_y = 0.4, top + BOX_H / 2
    out.append(_svg([("m", "x")], prev_x, prev_y, 16, fill="#111"))
    prev_x += 0.25
    for n, b in enumerate(boxes):
        x, y = b["x"], b["y"] + top + BOX_H / 2
        layer = b["layer"]
        if n and n % per_row == 0:
            start = PITCH + LEAD - BOX_W / 2 - 1.2
            mid = y - ROW / 2
            out.append(arrow([(prev_x, prev_y + BOX_H / 2), (prev_x, mid), (start, mid), (start, y),
                              (x - BOX_W / 2, y)]))
            out += labels(start + 0.1, y, layer.index, layer.input, "start")
        else:
            out.append(arrow([(prev_x, prev_y), (x - BOX_W / 2, y)]))
            out += labels((prev_x + x - BOX_W / 2) / 2, y, layer.index, layer.input)
        out.append(f'<rect x="{(x - BOX_W / 2) * PX:.1f}" y="{(y - BOX_H / 2) * PX:.1f}" width="{BOX_W * PX:.1f}" '
                   f'height="{BOX_H * PX:.1f}" rx="4" fill="#eef2fb" stroke="#222" stroke-width="1.5"/>')
        count = len(b["lines"])
        for i, line in enumerate(b["lines"]):
            dy = (i - (count - 1) / 2) * 0.42
            out.append(_svg(line, x, y + dy, 14 if i == 0 else 12, fill="#111",
                            **({"font_weight": "bold"} if i == 0 else {})))
        prev_x, prev_y = x + BOX_W / 2, y
        if n % per_row == per_row - 1:
            prev_x = x  # the row's return leaves from the box's bottom
    last = boxes[-1]["layer"]
    end = boxes[-1]["x"] + BOX_W / 2 + 1.5
    y = boxes[-1]["y"] + top + BOX_H / 2
    out.append(arrow([(boxes[-1]["x"] + BOX_W / 2, y), (end - 0.2, y)]))
    out += labels((boxes[-1]["x"] + BOX_W / 2 + end - 0.2) / 2, y, last.index + 1, last.output)
    out.append(_svg([("m", "J")], end, y, 16, fill="#111"))
    out.append("</svg>")
    return "\n".join(out) + "\n"


# --- the flipped kernel -----------------------------------------------------------------------------------------

def _kernel_geometry(layer: Any) -> dict[str, Any]:
    cfg = layer.config
    k, s = cfg["kernel"], cfg.get("stride", 1)
    _, ho, wo = layer.output
    hd, wd = (ho - 1) * s + 1, (wo - 1) * s + 1
    big_h, big_w = hd + 2 * (k - 1), wd + 2 * (k - 1)
    cell = min(0.8, 2.6 / k)
    big = min(0.55, 6.0 / max(big_h, big_w))
    gap = 1.9
    x2 = k * cell + gap
    x3 = x2 + k * cell + gap
    return {"k": k, "s": s, "hd": hd, "wd": wd, "H": big_h, "W": big_w, "cell": cell, "big": big, "x1": 0.0,
            "x2": x2, "x3": x3, "width": x3 + big_w * big, "height": max(k * cell, big_h * big)}


def _kernel_cells(g: dict[str, Any], flipped: bool) -> list[tuple[int, int, list[Piece]]]:
    k = g["k"]
    out = []
    for r in range(k):
        for c in range(k):
            u, v = (k - 1 - r, k - 1 - c) if flipped else (r, c)
            out.append((r, c, [("m", "K"), ("sub", f"{u}{v}" if k <= 10 else f"{u},{v}")]))
    return out


def _delta_cells(g: dict[str, Any]) -> list[tuple[int, int, list[Piece] | None, bool]]:
    """Every cell of the padded (dilated) δ: its text (None when too small to write) and whether it is a zero."""
    k, s = g["k"], g["s"]
    out = []
    for r in range(g["H"]):
        for c in range(g["W"]):
            i, j = r - (k - 1), c - (k - 1)
            inside = 0 <= i < g["hd"] and 0 <= j < g["wd"] and i % s == 0 and j % s == 0
            text: list[Piece] | None = None
            if g["big"] >= 0.42:
                text = [("m", r"\delta"), ("sub", f"{i // s}{j // s}")] if inside else [("t", "0")]
            out.append((r, c, text, not inside))
    return out


def kernel_tikz(layer: Any) -> str:
    g = _kernel_geometry(layer)
    n, k, cell, big = layer.index, g["k"], g["cell"], g["big"]
    top = g["height"]
    lines = [r"\begin{tikzpicture}[>=stealth, font=\small]"]
    for x0, flipped in ((g["x1"], False), (g["x2"], True)):
        for r, c, text in _kernel_cells(g, flipped):
            x, y = x0 + c * cell, top - r * cell
            lines.append(r"\draw[fill=%s] (%.3f,%.3f) rectangle (%.3f,%.3f);"
                         % ("orange!25" if flipped else "blue!8", x, y, x + cell, y - cell))
            lines.append(r"\node[font=%s] at (%.3f,%.3f) {%s};" % (r"\scriptsize" if cell >= 0.7 else r"\tiny",
                                                                   x + cell / 2, y - cell / 2, _tex(text)))
    lines.append(r"\node[above] at (%.3f,%.3f) {$K^{(%d)}_{o,c}$};" % (k * cell / 2, top + 0.05, n))
    lines.append(r"\node[above] at (%.3f,%.3f) {$\operatorname{rot}_{180^{\circ}} K^{(%d)}_{o,c}$};"
                 % (g["x2"] + k * cell / 2, top + 0.05, n))
    lines.append(r"\draw[->, thick] (%.3f,%.3f) -- node[above, font=\scriptsize] {$180^{\circ}$} (%.3f,%.3f);"
                 % (k * cell + 0.3, top - k * cell / 2, g["x2"] - 0.3, top - k * cell / 2))
    for r, c, cell_text, zero in _delta_cells(g):
        x, y = g["x3"] + c * big, top - r * big
        lines.append(r"\draw[%s] (%.3f,%.3f) rectangle (%.3f,%.3f);"
                     % ("black!30, fill=black!4" if zero else "fill=green!12", x, y, x + big, y - big))
        if cell_text is not None:
            lines.append(r"\node[font=\tiny%s] at (%.3f,%.3f) {%s};" % (r", text=black!45" if zero else "",
                                                                       x + big / 2, y - big / 2, _tex(cell_text)))
    lines.append(r"\draw[very thick, orange!80!black] (%.3f,%.3f) rectangle (%.3f,%.3f);"
                 % (g["x3"], top, g["x3"] + k * big, top - k * big))
    lines.append(r"\node[above] at (%.3f,%.3f) {$\operatorname{pad}_{%d}(\delta^{(%d)}_{o})$};"
                 % (g["x3"] + g["W"] * big / 2, top + 0.05, k - 1, n + 1))
    lines.append(r"\draw[->, thick] (%.3f,%.3f) -- node[above, font=\scriptsize] {$\star$} (%.3f,%.3f);"
                 % (g["x2"] + k * cell + 0.3, top - k * cell / 2, g["x3"] - 0.3, top - k * cell / 2))
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines) + "\n"


def kernel_svg(layer: Any) -> str:
    g = _kernel_geometry(layer)
    n, k, cell, big = layer.index, g["k"], g["cell"], g["big"]
    pad, top = 0.3, 0.9
    width, height = g["width"] + 2 * pad, g["height"] + top + 0.3
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="derive-kernel" width="{width * PX:.0f}" '
           f'height="{height * PX:.0f}" viewBox="0 0 {width * PX:.0f} {height * PX:.0f}" role="img" '
           f'aria-label="flipped kernel" font-family="{FONT}">',
           '<defs><marker id="derive-kernel-arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="6" '
           'markerHeight="6" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#222"/></marker></defs>']

    def rect(x: float, y: float, w: float, h: float, fill: str, stroke: str = "#222", sw: float = 1.0) -> str:
        return (f'<rect x="{(x + pad) * PX:.1f}" y="{(y + top) * PX:.1f}" width="{w * PX:.1f}" height="{h * PX:.1f}" '
                f'fill="{fill}" stroke="{stroke}" stroke-width="{sw}"/>')

    for x0, flipped in ((g["x1"], False), (g["x2"], True)):
        for r, c, text in _kernel_cells(g, flipped):
            out.append(rect(x0 + c * cell, r * cell, cell, cell, "#fde3c8" if flipped else "#e8eefa"))
            out.append(_svg(text, x0 + c * cell + cell / 2 + pad, r * cell + cell / 2 + top,
                            12 if cell >= 0.7 else 9, fill="#111"))
    out.append(_svg([("m", "K"), ("sup", f"({n})"), ("sub", "o,c")], k * cell / 2 + pad, top - 0.4, 14))
    out.append(_svg([("t", "rot"), ("sub", "180°"), ("t", " "), ("m", "K"), ("sup", f"({n})"), ("sub", "o,c")],
                    g["x2"] + k * cell / 2 + pad, top - 0.4, 14))
    for x1, x2 in ((k * cell + 0.3, g["x2"] - 0.3), (g["x2"] + k * cell + 0.3, g["x3"] - 0.3)):
        y = (k * cell / 2 + top) * PX
        out.append(f'<path d="M{(x1 + pad) * PX:.1f},{y:.1f} L{(x2 + pad) * PX:.1f},{y:.1f}" stroke="#222" '
                   'stroke-width="1.5" marker-end="url(#derive-kernel-arrow)"/>')
    out.append(_svg([("t", "180°")], (k * cell + g["x2"]) / 2 + pad, k * cell / 2 + top - 0.3, 11))
    out.append(_svg([("t", "⋆")], (g["x2"] + k * cell + g["x3"]) / 2 + pad, k * cell / 2 + top - 0.3, 13))
    for r, c, cell_text, zero in _delta_cells(g):
        x, y = g["x3"] + c * big, r * big
        out.append(rect(x, y, big, big, "#f4f4f4" if zero else "#dff3e4", "#999" if zero else "#222", 0.8))
        if cell_text is not None:
            out.append(_svg(cell_text, x + big / 2 + pad, y + big / 2 + top, 8, fill="#888" if zero else "#111"))
    out.append(rect(g["x3"], 0, k * big, k * big, "none", "#c0600a", 2.5))
    out.append(_svg([("t", "pad"), ("sub", str(k - 1)), ("t", "("), ("m", "δ"), ("sup", f"({n + 1})"), ("sub", "o"),
                     ("t", ")")],
                    g["x3"] + g["W"] * big / 2 + pad, top - 0.4, 14))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def layers_mermaid(net: Any) -> str:
    """The network as a Mermaid flowchart for Markdown: a box per layer (its kind and weights), each arrow the
    tensor passed on with its shape."""
    out = ["```mermaid", "graph LR", '  x(["x"])']
    prev = "x"
    for n, b in enumerate(_boxes(net, len(net.stack))):
        layer = b["layer"]
        text = "<br/>".join(_plain("".join({"sup": "", "sub": ""}.get(kind, "") + (
            "×" if kind == "x" else text) for kind, text in line)) for line in b["lines"])
        out.append(f'  L{n}["{text}"]')
        out.append(f'  {prev} -->|"a({layer.index}): {"×".join(map(str, layer.input))}"| L{n}')
        prev = f"L{n}"
    last = net.stack[-1]
    out.append('  J(["J"])')
    out.append(f'  {prev} -->|"a({last.index + 1}): {"×".join(map(str, last.output))}"| J')
    out.append("```")
    return "\n".join(out)
