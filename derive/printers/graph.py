"""Documents of a computation graph: a table, a picture (TikZ / inline SVG / Mermaid), the reverse-mode steps
and the nudge check, in every format. Formulas are LaTeX from ``tex.latex``; MathML comes from latex2mathml.

User-supplied names reach a document only through ``name_latex`` (LaTeX), ``html.escape`` (HTML, SVG) or as
JSON strings; the parser already restricts them to letters, digits and single underscores.
"""

from __future__ import annotations

import html
import json as _json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy as sp
from latex2mathml.converter import convert

from ..errors import InputError
from ..graph import Graph
from ..render.tex import latex
from ..text import catalogue

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


@dataclass(frozen=True)
class Parts:
    """The LaTeX pieces every format assembles: one source of truth for what a graph document says."""

    title: str
    rows: list[tuple[str, str, str, str]]
    """(name, definition, value, ∂J/∂name) per input and node, all LaTeX"""
    steps: list[str]
    """reverse mode, one LaTeX equation per node and input, right to left"""
    nudges: list[tuple[str, str, str]]
    counts: str
    words: dict[str, str]
    quotient: str
    """(J(v + ε) − J(v))/ε in the output's name"""


def parts(g: Graph, language: str = "en") -> Parts:
    words = catalogue(language).table["graph"]
    symbols = {sp.Symbol(n): sp.Symbol(name_latex(n)) for n in (*g.program.inputs, *(x.name for x in g.program.nodes))}
    out = g.program.output
    J = name_latex(out)

    def formula(expr: sp.Basic) -> str:
        return latex(expr.xreplace(symbols))

    def partial(f: str, x: str) -> str:
        return r"\frac{\partial %s}{\partial %s}" % (name_latex(f), name_latex(x))

    rows = [(name_latex(n), r"\text{%s}" % words["input"], number_latex(g.values[n]), number_latex(g.gradients[n]))
            for n in g.program.inputs]
    rows += [(name_latex(n.name), formula(n.expr), number_latex(g.values[n.name]), number_latex(g.gradients[n.name]))
             for n in g.program.nodes]
    steps = [r"%s = 1" % partial(out, out)]
    for step in g.steps:
        chain = " + ".join(partial(t.child, step.name) + " " + partial(out, t.child) for t in step.terms)
        local = " + ".join(r"%s \cdot %s" % (_paren(formula(t.local), t.local), _paren(number_latex(t.upstream)))
                           for t in step.terms)
        numbers = " + ".join(r"%s \cdot %s" % (_paren(number_latex(t.local_value)), _paren(number_latex(t.upstream)))
                             for t in step.terms)
        sides = [partial(out, step.name)] + ([chain, local, numbers] if step.terms else []) + [number_latex(step.value)]
        steps.append(" = ".join(dict.fromkeys(sides)))
    nudges = [(name_latex(n.name), number_latex(n.derivative), number_latex(n.quotient)) for n in g.nudges]
    c = g.counts
    counts = words["counts"].format(**c)
    title = words["title"].format(output=out)
    quotient = r"\frac{%s(v+\varepsilon) - %s(v)}{\varepsilon}" % (J, J)
    return Parts(title, rows, steps, nudges, counts, dict(words), quotient)


def _paren(text: str, expr: sp.Basic | None = None) -> str:
    """Parentheses around a factor that is negative or a sum."""
    return r"\left(%s\right)" % text if text.startswith("-") or isinstance(expr, sp.Add) else text


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


# --- formats

def render_json(g: Graph, language: str = "en") -> str:
    p = g.program
    doc = {
        "program": [{"name": n.name, "expr": sp.sstr(n.expr), "line": n.line, "parents": list(n.parents)}
                    for n in p.nodes],
        "inputs": list(p.inputs),
        "output": p.output,
        "at": dict(g.at),
        "values": dict(g.values),
        "gradients": dict(g.gradients),
        "nudge": {n.name: n.quotient for n in g.nudges},
        "epsilon": g.nudges[0].epsilon if g.nudges else None,
        "steps": [{"node": s.name, "value": s.value,
                   "terms": [{"child": t.child, "local": sp.sstr(t.local), "local_value": t.local_value,
                              "upstream": t.upstream} for t in s.terms]} for s in g.steps],
        "counts": g.counts,
    }
    return _json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


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


def render_latex(g: Graph, language: str = "en", body: bool = False) -> str:
    P = parts(g, language)
    w = P.words
    out = [r"\section*{%s}" % _tex_text(P.title), _tex_text(w["legend"]), "", r"\begin{center}", tikz(g),
           r"\end{center}", "", r"\begin{center}\begin{tabular}{llll}",
           r"%s & %s & %s & %s \\ \hline" % tuple(_tex_text(w[k]) for k in ("node", "definition", "value", "gradient"))]
    out += [r"$%s$ & $%s$ & $%s$ & $%s$ \\" % row for row in P.rows]
    out += [r"\end{tabular}\end{center}", "", r"\subsection*{%s}" % _tex_text(w["reverse"])]
    out += [r"\[ %s \]" % s for s in P.steps]
    out += [r"\subsection*{%s}" % _tex_text(w["nudge"]), _tex_text(w["nudge_text"]),
            r"\begin{center}\begin{tabular}{lll}",
            r"%s & %s & $%s$ \\ \hline" % (_tex_text(w["input"]), _tex_text(w["exact"]), P.quotient)]
    out += [r"$%s$ & $%s$ & $%s$ \\" % row for row in P.nudges]
    out += [r"\end{tabular}\end{center}", "", _tex_text(P.counts)]
    text = "\n".join(out) + "\n"
    if body:
        return text
    pre = r"\usepackage{ctex}" + "\n" if language == "zh" else ""
    return ("\\documentclass{article}\n\\usepackage[margin=2cm]{geometry}\n\\usepackage{amsmath,amssymb}\n"
            "\\usepackage{tikz}\n" + pre + "\\begin{document}\n" + text + "\\end{document}\n")


def _tex_text(text: str) -> str:
    """Catalogue words in LaTeX: special characters escaped (the words contain no mathematics)."""
    table = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
             "%": r"\%", "_": r"\_", "^": r"\^{}", "~": r"\~{}", "ε": r"$\varepsilon$", "∂": r"$\partial$",
             "·": r"$\cdot$", "×": r"$\times$"}
    return "".join(table.get(c, c) for c in text)


def mathml(tex: str, display: str = "inline") -> str:
    return convert(tex, display=display)


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
        e = html.escape
        out += [f'<circle cx="{x}" cy="{y}" r="{r}" fill="white" stroke="black"/>',
                f'<text x="{x}" y="{y + 5}" text-anchor="middle" font-style="italic">{e(name)}</text>',
                f'<text x="{x}" y="{y - r - 6}" text-anchor="middle" fill="#1f4fbf">'
                f'{e(number_text(g.values[name]))}</text>',
                f'<text x="{x}" y="{y + r + 16}" text-anchor="middle" fill="#a02020">'
                f'{e(number_text(g.gradients[name]))}</text>']
    out.append("</svg>")
    return "\n".join(out)


def _html_body(g: Graph, language: str) -> str:
    P = parts(g, language)
    w, e = P.words, html.escape
    out = [f"<h1>{e(P.title)}</h1>", f"<p>{e(w['legend'])}</p>", f"<figure>{svg(g)}</figure>", "<table>",
           "<tr>" + "".join(f"<th>{e(w[k])}</th>" for k in ("node", "definition", "value", "gradient")) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{mathml(c)}</td>" for c in row) + "</tr>" for row in P.rows]
    out += ["</table>", f"<h2>{e(w['reverse'])}</h2>"]
    out += [f"<p>{mathml(s, 'block')}</p>" for s in P.steps]
    out += [f"<h2>{e(w['nudge'])}</h2>", f"<p>{e(w['nudge_text'])}</p>", "<table>",
            f"<tr><th>{e(w['input'])}</th><th>{e(w['exact'])}</th><th>"
            + mathml(P.quotient) + "</th></tr>"]
    out += ["<tr>" + "".join(f"<td>{mathml(c)}</td>" for c in row) + "</tr>" for row in P.nudges]
    out += ["</table>", f"<p>{e(P.counts)}</p>"]
    return "\n".join(out)


def render_html(g: Graph, language: str = "en") -> str:
    P = parts(g, language)
    return ("<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n"
            "<style>body{font-family:serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
            "td,th{border:1px solid #999;padding:.3em .6em}</style>\n</head>\n<body>\n%s\n</body>\n</html>\n"
            % (language, html.escape(P.title), _html_body(g, language)))


def render_mathml(g: Graph, language: str = "en") -> str:
    return '<div class="derive-graph">\n%s\n</div>\n' % _html_body(g, language)


def render_markdown(g: Graph, language: str = "en") -> str:
    P = parts(g, language)
    w = P.words
    place = layout(g)
    ids = {name: f"n{k}" for k, name in enumerate(place)}
    mermaid = ["```mermaid", "graph LR"]
    mermaid += [f'  {ids[n]}(["{n}<br/>{number_text(g.values[n])} / {number_text(g.gradients[n])}"])' for n in place]
    mermaid += [f"  {ids[a]} --> {ids[b]}" for a, b in edges(g)]
    mermaid.append("```")
    out = [f"# {P.title}", "", w["legend"], "", *mermaid, "",
           "| " + " | ".join(w[k] for k in ("node", "definition", "value", "gradient")) + " |", "|---|---|---|---|"]
    out += ["| " + " | ".join(f"${c}$" for c in row) + " |" for row in P.rows]
    out += ["", f"## {w['reverse']}", ""]
    for s in P.steps:
        out += ["$$", s, "$$", ""]
    out += [f"## {w['nudge']}", "", w["nudge_text"], "",
            f"| {w['input']} | {w['exact']} | ${P.quotient}$ |", "|---|---|---|"]
    out += ["| " + " | ".join(f"${c}$" for c in row) + " |" for row in P.nudges]
    out += ["", P.counts, ""]
    return "\n".join(out)


RENDERERS: dict[str, Callable[..., str]] = {
    "json": render_json, "latex": render_latex, "html": render_html, "markdown": render_markdown,
    "mathml": render_mathml,
}


def render(g: Graph, fmt: str, **options: Any) -> str:
    if fmt not in RENDERERS:
        raise InputError(f"unknown format {fmt!r}; allowed: {' | '.join(RENDERERS)}")
    return RENDERERS[fmt](g, **options)
