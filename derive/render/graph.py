"""The drawings of a computation graph (TikZ, inline SVG, Mermaid) and the LaTeX of its names and numbers.
The graph's document is built by derive.document.graph and printed by the one printer of each format.

User-supplied names reach a drawing only through ``name_latex`` (LaTeX), the HTML escape (SVG) or a quoted
Mermaid label; the parser already restricts them to letters, digits and single underscores.
"""

from __future__ import annotations

import re

from ..errors import InputError
from ..graph import Graph
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


# --- layout for the pictures: inputs in column 0, each node one column right of its latest parent

def layout(g: Graph) -> dict[str, tuple[int, int]]:
    """(column, row) per name: a node one column right of its latest parent, an input just left of its first use."""
    column: dict[str, int] = {n: 0 for n in g.program.inputs}
    for node in g.program.nodes:
        column[node.name] = 1 + max((column[p] for p in node.parents), default=0)
    for name in g.program.inputs:
        column[name] = max(0, min((column[c.name] for c in g.program.children(name)), default=1) - 1)
    rows: dict[int, int] = {}
    place = {}
    for name in (*(n.name for n in g.program.nodes), *g.program.inputs):
        col = column[name]
        place[name] = (col, rows.get(col, 0))
        rows[col] = rows.get(col, 0) + 1
    return place


def edges(g: Graph) -> list[tuple[str, str]]:
    return [(p, n.name) for n in g.program.nodes for p in n.parents]


def tikz(g: Graph) -> str:
    place = layout(g)
    ids = {name: f"n{k}" for k, name in enumerate(place)}
    lines = [r"\begin{tikzpicture}[>=stealth, every node/.style={font=\small}]"]
    for name, (col, row) in place.items():
        lines.append(r"\node[draw, circle, minimum size=9mm, "
                     r"label={[blue]above:$%s$}, label={[red!70!black]below:$%s$}] (%s) at (%.1f, %.1f) {$%s$};"
                     % (number_latex(g.values[name]), number_latex(g.gradients[name]), ids[name],
                        col * 2.8, -row * 2.0, name_latex(name)))
    for a, b in edges(g):
        lines.append(r"\draw[->] (%s) -- (%s);" % (ids[a], ids[b]))
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines)


def svg(g: Graph) -> str:
    place = layout(g)
    dx, dy, r = 150, 110, 24
    cols = max(c for c, _ in place.values()) + 1
    rows = max(rw for _, rw in place.values()) + 1
    pos = {n: (60 + c * dx, 50 + rw * dy) for n, (c, rw) in place.items()}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{cols * dx + 20}" height="{rows * dy + 20}" '
           f'role="img" font-family="sans-serif" font-size="13">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>']
    for a, b in edges(g):
        (x1, y1), (x2, y2) = pos[a], pos[b]
        length = max(((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5, 1)
        ux, uy = (x2 - x1) / length, (y2 - y1) / length
        out.append(f'<line x1="{x1 + ux * r:.1f}" y1="{y1 + uy * r:.1f}" x2="{x2 - ux * r:.1f}" y2="{y2 - uy * r:.1f}" '
                   'stroke="black" marker-end="url(#arrow)"/>')
    for name, (x, y) in pos.items():
        e = escape
        out += [f'<circle cx="{x}" cy="{y}" r="{r}" fill="white" stroke="black"/>',
                f'<text x="{x}" y="{y + 5}" text-anchor="middle" font-style="italic">{e(name)}</text>',
                f'<text x="{x}" y="{y - r - 6}" text-anchor="middle" fill="#1f4fbf">'
                f'{e(number_text(g.values[name]))}</text>',
                f'<text x="{x}" y="{y + r + 16}" text-anchor="middle" fill="#a02020">'
                f'{e(number_text(g.gradients[name]))}</text>']
    out.append("</svg>")
    return "\n".join(out)


def mermaid(g: Graph) -> str:
    """A Mermaid flowchart for Markdown: each node with its value / derivative."""
    place = layout(g)
    ids = {name: f"n{k}" for k, name in enumerate(place)}
    out = ["```mermaid", "graph LR"]
    out += [f'  {ids[n]}(["{n}<br/>{number_text(g.values[n])} / {number_text(g.gradients[n])}"])' for n in place]
    out += [f"  {ids[a]} --> {ids[b]}" for a, b in edges(g)]
    out.append("```")
    return "\n".join(out)
