"""An exercise sheet's variant as Documents (SPEC §10): the student's sheet (the network, the numbers given, the
questions) and the answer key (the same numbers given, then the worked example exactly as ``derive example``
builds it, the numerical answers as checked claims and the expected formulas). Nothing here computes a number:
the values come from the Sheet, the worked example from derive.document.worked_example; the LaTeX of every formula from
``MathPrinter`` in the sheet's notation."""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from derive.catalogue import Catalogue, catalogue
from derive.document.claims import index, symbol
from derive.engine.derivation import Derivation
from derive.model.network import Network
from derive.model.notation import PROFILES, q

from ..render.tex import MathPrinter
from ..sheet.model import Sheet, Variant
from . import Code, Document, Equation, EquationGroup, Figure, Line, Math, Meta, Paragraph, Section, Table, Text
from .derivation import presentation
from .words import paragraph

BLANK = "_" * 24
"""the line a student writes an answer on"""


def _printer(net: Network) -> MathPrinter:
    words = catalogue(net.language)
    return MathPrinter(PROFILES[net.notation], cases=(words.word("math", "if"), words.word("math", "otherwise")))


def _matrix(rows: list[list[float]]) -> sp.ImmutableMatrix:
    """Numbers as drawn (two decimals), each the exact decimal it spells."""
    from derive.document.worked_example import Num

    return sp.ImmutableMatrix([[Num(sp.Rational(repr(v))) for v in row] for row in rows])


def _equation(step: str, lhs: str, rhs: str) -> Equation:
    return Equation(lhs, (Line(step, "=", rhs, (rhs,), "given", Paragraph(())),))


def given(net: Network, v: Variant) -> Section:
    """The parameters (Θ^(l) with its bias column, or w^l and b^l apart, as the notation writes them), the input x
    and the target y of the variant."""
    printer, words = _printer(net), catalogue(net.language)
    equations = []
    for layer, theta in enumerate(v.parameters["Theta"], start=1):
        if PROFILES[net.notation].form == "bias_unit":
            equations.append(_equation(f"sheet.theta{layer}", printer.doprint(q("Theta", layer)),
                                       printer.doprint(_matrix(theta))))
        else:
            equations.append(_equation(f"sheet.w{layer}", printer.doprint(q("Theta", layer)),
                                       printer.doprint(_matrix([row[1:] for row in theta]))))
            equations.append(_equation(f"sheet.b{layer}", printer.doprint(q("b", layer)),
                                       printer.doprint(_matrix([row[:1] for row in theta]))))
    equations.append(_equation("sheet.x", printer.doprint(q("x")), printer.doprint(_matrix([[x] for x in v.X[0]]))))
    equations.append(_equation("sheet.y", printer.doprint(q("y")), printer.doprint(_matrix([[y] for y in v.Y[0]]))))
    return Section("sheet_given", paragraph(words.word("sheet", "given")), (EquationGroup(tuple(equations)),))


def _quantity(net: Network, name: str, printer: MathPrinter) -> Math:
    kind, idx = index(net, name)
    return Math(printer.doprint(symbol(kind + "".join(f"[{i}]" for i in idx))))


def questions(sheet: Sheet, net: Network, v: Variant) -> tuple[Section, ...]:
    """The numerical questions as a table to fill in, then the formula questions, each with its §8 target."""
    printer, words = _printer(net), catalogue(net.language)
    header = tuple(paragraph(words.word("sheet", c)) for c in ("column_number", "column_quantity", "column_name",
                                                                 "column_answer"))
    rows = tuple((Paragraph((Text(str(n)),)), Paragraph((_quantity(net, a.name, printer),)),
                  Paragraph((Code(a.name),)), Paragraph((Text(BLANK),)))
                 for n, a in enumerate(v.questions, start=1))
    out = [Section("sheet_questions", paragraph(words.word("sheet", "questions")), (Table(header, rows),))]
    if sheet.formulas:
        first = len(v.questions) + 1
        blocks = tuple(Paragraph((Text(f"{n}. "), *paragraph(f.prompt).runs, Text(" ("), Code(f.target), Text(")")))
                       for n, f in enumerate(sheet.formulas, start=first))
        out.append(Section("sheet_formulas", paragraph(words.word("sheet", "formulas")), blocks))
    return tuple(out)


def _meta(words: Catalogue, key: str, net: Network, v: Variant, title: str | None, author: str, date: str) -> Meta:
    shown = title + " — " + str(v.number) if title else words.word("sheet", key, number=v.number)
    return Meta(shown, net.language, author, date)


def _intro(words: Catalogue, sheet: Sheet, v: Variant, net: Network) -> Paragraph:
    decimals = v.questions[0].decimals if v.questions else 0
    spec = net.to_dict()
    hidden = spec.get("activation", net.activations)
    network = words.word("document", "network", layers=", ".join(map(str, net.layers)),
                         activation=hidden if isinstance(hidden, str) else ", ".join(hidden), output=net.output,
                         loss=net.loss, reduction=net.reduction, lam=f"{net.lam:g}")
    return paragraph(words.word("sheet", "intro", number=v.number, seed=sheet.seed, decimals=decimals)
                     + " " + network)


def sheet_document(sheet: Sheet, v: Variant, *, notation: str | None = None, title: str | None = None,
                   author: str = "", date: str = "") -> Document:
    """The student's sheet of variant ``v``: the network drawn, the numbers given, the questions."""
    net = presentation(sheet.net, language=sheet.language, notation=notation)
    words = catalogue(net.language)
    return Document(_meta(words, "title", net, v, title, author, date), _intro(words, sheet, v, net),
                    (given(net, v), *questions(sheet, net, v)), Figure("network", net))


def key_document(sheet: Sheet, v: Variant, example: Derivation, *, notation: str | None = None,
                 title: str | None = None, author: str = "", date: str = "") -> Document:
    """The answer key of variant ``v``: the numbers given, the worked example (``example``, with the questions'
    values as checked claims) as ``derive example`` prints it, and the expected formulas."""
    from ..render import document

    net = presentation(sheet.net, language=sheet.language, notation=notation)
    words = catalogue(net.language)
    meta = _meta(words, "key_title", net, v, title, author, date)
    worked = document(example, language=net.language, notation=net.notation, title=meta.title, author=author,
                      date=date)
    sections = [given(net, v), *worked.sections]
    if sheet.formulas:  # paragraphs, not a table: a long formula wraps at its operators
        blocks = tuple(Paragraph((Code(f.target), Text(" = "), Code(f.expected))) for f in sheet.formulas)
        sections.append(Section("sheet_formulas", paragraph(words.word("sheet", "formulas")), blocks))
    return replace(worked, meta=meta, intro=_intro(words, sheet, v, net), sections=tuple(sections))
