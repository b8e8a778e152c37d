"""A computation graph (derive.engine.computation_graph) as a Document: the drawing, a table of every node's
definition, value and derivative, the reverse-mode steps (each ∂J/∂node = chain = local × upstream = numbers =
value, aligned on =), the nudge check and the count of work. Names become LaTeX only through ``name_latex``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy as sp

from derive.catalogue import catalogue
from derive.engine.computation_graph import Graph, data_only
from derive.model.network import LANGUAGES

from ..errors import InputError
from ..render.graph import name_latex, number_latex
from ..render.tex import latex
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

    def local_of(child: str, v: str) -> str:
        """∂(the child's operation)/∂v: the local derivative, never the quantity being defined."""
        return r"\frac{\partial}{\partial %s}\left(%s\right)" % (name_latex(v), formula(program.node(child).expr))

    fixed = data_only(program, g.data)
    dash = EMPTY  # data have no derivative: the cell stays empty
    header = tuple(paragraph(w[k]) for k in ("node", "definition", "value", "gradient"))
    rows = [(_math(name_latex(n)), paragraph(w["data" if n in fixed else "input"]), _math(number_latex(g.values[n])),
             dash if n in fixed else _math(number_latex(g.gradients[n]))) for n in program.inputs]
    rows += [(_math(name_latex(n.name)), _math(formula(n.expr)), _math(number_latex(g.values[n.name])),
              dash if n.name in fixed else _math(number_latex(g.gradients[n.name]))) for n in program.nodes]
    values = Section("values", paragraph(w["values"]), (Table(header, tuple(rows)),))

    locals_: list[EquationGroup] = []
    for step in g.steps:
        for t in step.terms:  # the local derivatives that SymPy writes in the node's own name: a(1 − a), 1 − a²
            if t.simple is None:
                continue
            sides = [local_of(t.child, step.name), formula(t.local), formula(t.simple)]
            locals_.append(EquationGroup((Equation(partial(t.child, step.name),
                                                   tuple(_line(step.name, x) for x in dict.fromkeys(sides))),)))
    local = (Section("local", paragraph(w["local"]), tuple(locals_)),) if locals_ else ()

    groups = [EquationGroup((Equation(partial(out, out), (_line(out, "1"),)),))]
    for step in g.steps:
        chain = " + ".join(local_of(t.child, step.name) + r" \cdot " + partial(out, t.child) for t in step.terms)
        forms = [(t.simple if t.simple is not None else t.local) for t in step.terms]
        product = " + ".join(r"%s \cdot %s" % (_paren(formula(f), f), _paren(number_latex(t.upstream)))
                             for f, t in zip(forms, step.terms, strict=True))
        symbolic = [formula(step.symbolic)] if step.symbolic is not None else []
        numbers = " + ".join(r"%s \cdot %s" % (_paren(number_latex(t.local_value)), _paren(number_latex(t.upstream)))
                             for t in step.terms)
        sides = ([chain, *symbolic, product, numbers] if step.terms else []) + [number_latex(step.value)]
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
    return Document(meta, paragraph(w["legend"]), (values, *local, reverse, nudge), Figure("graph", g),
                    {"json": as_json(g)})


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
        "data": list(g.data),
        "values": dict(g.values),
        "gradients": dict(g.gradients),
        "nudge": {n.name: n.quotient for n in g.nudges},
        "epsilon": g.nudges[0].epsilon if g.nudges else None,
        "steps": [{"node": s.name, "value": s.value,
                   "symbolic": sp.sstr(s.symbolic) if s.symbolic is not None else None,
                   "terms": [{"child": t.child, "local": sp.sstr(t.local), "local_value": t.local_value,
                              "local_in_own_name": sp.sstr(t.simple) if t.simple is not None else None,
                              "upstream": t.upstream} for t in s.terms]} for s in g.steps],
        "counts": g.counts,
    }
