"""The drawings of a computation graph (TikZ, inline SVG, Mermaid) and the LaTeX of its names and numbers.
The graph's document is built by derive.document.graph and printed by the one printer of each format.

User-supplied names reach a drawing only through ``name_latex`` (LaTeX), the HTML escape (SVG) or a quoted
Mermaid label; the parser already restricts them to letters, digits and single underscores.
"""

from __future__ import annotations

import re

from derive.engine.computation_graph import Graph

from ..errors import InputError
from .mathml import escape

GREEK = frozenset("alpha beta gamma delta epsilon zeta eta theta iota kappa mu nu xi pi rho sigma tau phi chi psi "
                  "omega Gamma Delta Theta Lambda Xi Pi Sigma Phi Psi Omega".split())


def name_latex(name: str) -> str:
    """x_1 and x1 → x_{1}, alpha → \\alpha, loss → \\mathrm{loss}: a name can never become a LaTeX command."""
    parts = [p for p in name.split("_") if p]

    def word(part: str) -> str:
        if part in GREEK:
            return "\\" + part
        if not part.isalnum() or not part.isascii():
            raise InputError(f"name {name!r}: only letters, digits and underscores are allowed")
        return part if len(part) == 1 else r"\mathrm{%s}" % part

    numbered = re.fullmatch(r"([A-Za-z]+)(\d+)", parts[0])
    if numbered and len(parts) == 1:  # w1 → w_{1}, as a lecturer writes it
        return "%s_{%s}" % (word(numbered.group(1)), numbered.group(2))
    head = word(parts[0])
    return head if len(parts) == 1 else "%s_{%s}" % (head, ",".join(word(p) for p in parts[1:]))


def number_latex(value: float) -> str:
    """A value to six significant digits, with powers of ten written as LaTeX."""
    text = f"{value:.6g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return r"%s \times 10^{%d}" % (mantissa, int(exponent))
    return text


def number_text(value: float) -> str:
    return f"{value:.6g}"


# --- layout for the pictures: layers by depth from the inputs, each node's values inside its own box, so that no
# edge runs through a label

def layout(g: Graph) -> dict[str, tuple[int, int]]:
    """(column, row) per name: a node one column right of its deepest parent, an input one column left of its
    first use; a node's row is the free row nearest the mean of its parents' rows (the main chain runs straight)."""
    program = g.program
    column: dict[str, int] = {}
    for node in program.nodes:
        column[node.name] = 1 + max((column.get(p, 0) for p in node.parents), default=0)
    for name in program.inputs:
        column[name] = max(0, min((column[c.name] for c in program.children(name)), default=1) - 1)
    used: dict[int, set[int]] = {}
    place: dict[str, tuple[int, int]] = {}

    def put(name: str, want: float) -> None:
        col = column[name]
        taken = used.setdefault(col, set())
        row = min((r for r in range(len(place) + 2) if r not in taken), key=lambda r: (abs(r - want), r))
        taken.add(row)
        place[name] = (col, row)

    for node in program.nodes:
        for p in node.parents:
            if p not in place:
                put(p, len(used.get(column[p], ())) if not place else min(r for _, r in place.values()))
        put(node.name, sum(place[p][1] for p in node.parents) / len(node.parents) if node.parents else 0)
    for name in program.inputs:  # an input no node uses cannot occur (inputs are the names used), kept for safety
        if name not in place:
            put(name, 0)
    return place


def edges(g: Graph) -> list[tuple[str, str]]:
    return [(p, n.name) for n in g.program.nodes for p in n.parents]


def route(place: dict[str, tuple[int, int]], a: str, b: str) -> list[tuple[float, float]]:
    """The bends of the edge a → b in (column, row) units, between its start on a's right side and its end on
    b's left side: straight along a row to the next column; otherwise down the gap right of a's column, along
    the channel between two rows next to b, and down the gap left of b's column: columns' gaps and rows'
    channels hold no box, so no edge runs through a node or its numbers."""
    (ca, ra), (cb, rb) = place[a], place[b]
    if ra == rb and cb == ca + 1:
        return []
    first, last = ca + 0.5, cb - 0.5
    if cb == ca + 1:
        return [(first, ra), (first, rb)]
    channel = rb + 0.5 if ra > rb else rb - 0.5
    return [(first, ra), (first, channel), (last, channel), (last, rb)]


def operation_latex(g: Graph, name: str) -> str:
    """'c = w x' for a computed node, the name alone for an input."""
    from sympy import Symbol

    from derive.model.activations import ACTIVATIONS
    from derive.model.notation import NIELSEN

    from .tex import latex

    if name in g.program.inputs:
        return name_latex(name)
    node = g.program.node(name)
    symbols = {Symbol(p): Symbol(name_latex(p)) for p in node.parents}
    text = latex((node.shown if node.shown is not None else node.expr).xreplace(symbols))
    for activation in ACTIVATIONS:  # an activation by its symbol: σ(z), ReLU(z)
        text = text.replace(r"\operatorname{%s}" % activation, NIELSEN.function_latex(activation))
    return "%s = %s" % (name_latex(name), text)


def operation_text(g: Graph, name: str) -> str:
    """The same in plain text for SVG and Mermaid: c = w·x, J = d^2/2."""
    from sympy import sstr

    from derive.model.activations import ACTIVATIONS
    from derive.model.notation import NIELSEN

    if name in g.program.inputs:
        return name
    node = g.program.node(name)
    text = sstr(node.shown if node.shown is not None else node.expr)
    text = text.replace("**", "^").replace("*", "·").replace("-", "−")
    for activation in ACTIVATIONS:
        text = re.sub(r"\b%s\(" % activation, NIELSEN.function_text(activation) + "(", text)
    return f"{name} = {text}"


def _derivative(g: Graph, name: str) -> float | None:
    return g.gradients.get(name)


TEXT_WIDTH_CM = 17.0
"""the width of an A4 page inside 2 cm margins"""
MAX_ACROSS = 5
"""layers drawn left to right up to this many; a deeper graph is drawn top to bottom, so that it fits A4"""


def _downward(place: dict[str, tuple[int, int]]) -> bool:
    return max(c for c, _ in place.values()) + 1 > MAX_ACROSS


def tikz(g: Graph) -> str:
    """Boxes of one width (the operation above, value and derivative below), layers left to right, or top to
    bottom for a deep graph; edges along the gaps (route)."""
    place = layout(g)
    down = _downward(place)
    ids = {name: f"n{k}" for k, name in enumerate(place)}
    width, step, across = 2.6, (1.55 if down else 3.3), (3.1 if down else 1.5)

    def at(layer: float, slot: float) -> str:
        return "(%.2f, %.2f)" % ((slot * across, -layer * step) if down else (layer * step, -slot * across))

    slots = max(r for _, r in place.values()) + 1
    wide = slots * across if down else len({c for c, _ in place.values()}) * step
    scale = min(1.0, TEXT_WIDTH_CM / wide)
    lines = [r"\begin{tikzpicture}[>=stealth, scale=%.3f, transform shape, every node/.style={font=\small}]" % scale]
    for name, (col, row) in place.items():
        gradient = _derivative(g, name)
        numbers = r"{\color{blue}$%s$}" % number_latex(g.values[name])
        if gradient is not None:
            numbers += r"\quad{\color{red!70!black}$%s$}" % number_latex(gradient)
        dashed = ", dashed" if gradient is None else ""
        lines.append(r"\node[draw, rounded corners=4pt, inner sep=2pt, minimum width=%.1fcm%s, align=center, "
                     r"fill=white] (%s) at %s {$%s$\\{\footnotesize %s}};"
                     % (width, dashed, ids[name], at(col, row), operation_latex(g, name), numbers))
    start, end = ("south", "north") if down else ("east", "west")
    for a, b in edges(g):
        bends = "".join(" -- " + at(x, y) for x, y in route(place, a, b))
        lines.append(r"\draw[->, rounded corners=2pt] (%s.%s)%s -- (%s.%s);" % (ids[a], start, bends, ids[b], end))
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines)


def svg(g: Graph) -> str:
    """The same layout as the TikZ drawing, in SVG."""
    place = layout(g)
    down = _downward(place)
    w, h = 150, 44
    step, across = (80, 175) if down else (185, 80)

    def at(layer: float, slot: float) -> tuple[float, float]:
        return (90 + slot * across, 40 + layer * step) if down else (90 + layer * step, 40 + slot * across)

    pos = {n: at(c, r) for n, (c, r) in place.items()}
    labels = {n: operation_text(g, n) for n in place}
    width = max(x for x, _ in pos.values()) + 90
    height = max(y for _, y in pos.values()) + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'role="img" font-family="sans-serif" font-size="13">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>']
    for a, b in edges(g):
        (x1, y1), (x2, y2) = pos[a], pos[b]
        bends = [at(c, r) for c, r in route(place, a, b)]
        first, last = ((x1, y1 + h / 2), (x2, y2 - h / 2)) if down else ((x1 + w / 2, y1), (x2 - w / 2, y2))
        text = " ".join(f"{x:.1f},{y:.1f}" for x, y in [first, *bends, last])
        out.append(f'<polyline points="{text}" fill="none" stroke="black" marker-end="url(#arrow)"/>')
    e = escape
    for name, (x, y) in pos.items():
        gradient = _derivative(g, name)
        dash = ' stroke-dasharray="4 3"' if gradient is None else ""
        out += [f'<rect x="{x - w / 2:.1f}" y="{y - h / 2}" width="{w}" height="{h}" rx="8" '
                f'fill="white" stroke="black"{dash}/>',
                f'<text x="{x}" y="{y - 4}" text-anchor="middle" font-style="italic">{e(labels[name])}</text>',
                f'<text x="{x}" y="{y + 14}" text-anchor="middle"><tspan fill="#1f4fbf">'
                f'{e(number_text(g.values[name]))}</tspan>'
                + (f'<tspan fill="#a02020" dx="10">{e(number_text(gradient))}</tspan>' if gradient is not None else "")
                + "</text>"]
    out.append("</svg>")
    return "\n".join(out)


def mermaid(g: Graph) -> str:
    """A Mermaid flowchart for Markdown: each node with its operation, value / derivative."""
    place = layout(g)
    ids = {name: f"n{k}" for k, name in enumerate(place)}
    out = ["```mermaid", "graph LR"]
    for n in place:
        gradient = _derivative(g, n)
        numbers = number_text(g.values[n]) + ("" if gradient is None else f" / {number_text(gradient)}")
        out.append(f'  {ids[n]}(["{operation_text(g, n)}<br/>{numbers}"])')
    out += [f"  {ids[a]} --> {ids[b]}" for a, b in edges(g)]
    out.append("```")
    return "\n".join(out)
