"""A computation graph (derive.graph) as a Document: the drawing, a table of every node's definition, value and
derivative, the reverse-mode steps (each ∂J/∂node = chain = local × upstream = numbers = value, aligned on =),
the nudge check and the count of work. Names become LaTeX only through ``name_latex``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy as sp

from ..errors import InputError
from ..graph import Graph
from ..network import LANGUAGES
from ..render.graph import name_latex, number_latex
from ..render.tex import latex
from ..text import catalogue
from . import Document, Equation, EquationGroup, Figure, Line, Math, Meta, Paragraph, Section, Table
from .words import paragraph

EMPTY = Paragraph(())


def _math(tex: str) -> Paragraph:
    return Paragraph((Math(tex),))


def _paren(text: str, expr: sp.Basic | None = None) -> str:
    """Parentheses around a factor that is negative or a sum."""
    return r"\left(%s\right)" % text if text.startswith("-") or isinstance(expr, sp.Add) else text


def build(g: Graph, *, language: str | None = None, notation: str | None = None, title: str | None = None,
          author: str = "", date: str = "", sections: Sequence[str] | None = None) -> Document:
    """The graph's document in ``language`` (notation and sections do not apply to a graph)."""
    language = language or "en"
    if language not in LANGUAGES:
        raise InputError(f"language {language!r}: allowed: {' | '.join(LANGUAGES)}")
    w = catalogue(language).table["graph"]
    program = g.program
    names = (*program.inputs, *(n.name for n in program.nodes))
    symbols = {sp.Symbol(n): sp.Symbol(name_latex(n)) for n in names}
    out = program.output

    def formula(expr: sp.Basic) -> str:
        return latex(expr.xreplace(symbols))

    def partial(f: str, x: str) -> str:
        return r"\frac{\partial %s}{\partial %s}" % (name_latex(f), name_latex(x))

    header = tuple(paragraph(w[k]) for k in ("node", "definition", "value", "gradient"))
    rows = [(_math(name_latex(n)), paragraph(w["input"]), _math(number_latex(g.values[n])),
             _math(number_latex(g.gradients[n]))) for n in program.inputs]
    rows += [(_math(name_latex(n.name)), _math(formula(n.expr)), _math(number_latex(g.values[n.name])),
              _math(number_latex(g.gradients[n.name]))) for n in program.nodes]
    values = Section("values", paragraph(w["values"]), (Table(header, tuple(rows)),))

    groups = [EquationGroup((Equation(partial(out, out), (_line(out, "1"),)),))]
    for step in g.steps:
        chain = " + ".join(partial(t.child, step.name) + " " + partial(out, t.child) for t in step.terms)
        local = " + ".join(r"%s \cdot %s" % (_paren(formula(t.local), t.local), _paren(number_latex(t.upstream)))
                           for t in step.terms)
        numbers = " + ".join(r"%s \cdot %s" % (_paren(number_latex(t.local_value)), _paren(number_latex(t.upstream)))
                             for t in step.terms)
        sides = ([chain, local, numbers] if step.terms else []) + [number_latex(step.value)]
        lines = tuple(_line(step.name, side) for side in dict.fromkeys(sides))
        groups.append(EquationGroup((Equation(partial(out, step.name), lines),)))
    reverse = Section("reverse", paragraph(w["reverse"]), tuple(groups))

    J = name_latex(out)
    quotient = r"\frac{%s(v+\varepsilon) - %s(v)}{\varepsilon}" % (J, J)
    nudges = tuple((_math(name_latex(n.name)), _math(number_latex(n.derivative)), _math(number_latex(n.quotient)))
                   for n in g.nudges)
    nudge = Section("nudge", paragraph(w["nudge"]), (
        paragraph(w["nudge_text"]), Table((paragraph(w["input"]), paragraph(w["exact"]), _math(quotient)), nudges),
        paragraph(w["counts"].format(**g.counts))))
    meta = Meta(title if title is not None else w["title"].format(output=out), language, author, date)
    return Document(meta, paragraph(w["legend"]), (values, reverse, nudge), Figure("graph", g), {"json": as_json(g)})


def _line(name: str, rhs: str) -> Line:
    return Line(name, "=", rhs, (rhs,), "reverse_mode", EMPTY)


def as_json(g: Graph) -> dict[str, Any]:
    """The graph's JSON form: the program, the values, the derivatives, every step and the nudge check."""
    p = g.program
    return {
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
