"""An exercise sheet's variant as Documents (SPEC §10): the student's sheet (the network, the numbers given with
the key's learning rate, the questions, each quantity in mathematics) and the answer key (the worked example exactly
as ``derive example`` builds it, which states the same numbers first, the numerical answers as checked claims and
the expected formulas as mathematics). Nothing here computes a number:
the values come from the Sheet, the worked example from derive.document.worked_example; the LaTeX of every formula from
``MathPrinter`` in the sheet's notation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import sympy as sp

from derive.catalogue import Catalogue, catalogue
from derive.document.claims import index, symbol
from derive.engine.derivation import Derivation
from derive.model.network import Network
from derive.model.notation import PROFILES, q

from ..render.tex import MathPrinter
from ..sheet.model import Formula, Sheet, Variant
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


def given(net: Network, v: Variant, rate: float | None = None) -> Section:
    """The parameters (Θ^(l) with its bias column, or w^l and b^l apart, as the notation writes them), the input x
    and the target y of the variant, and the learning rate α of the key's descent step (when given)."""
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
    if rate is not None:
        equations.append(_equation("sheet.rate", printer.doprint(q("alpha")),
                                   printer.doprint(_matrix([[rate]])[0, 0])))
    heading = words.word("sheet", "given" if rate is None else "given_rate")
    return Section("sheet_given", paragraph(heading), (EquationGroup(tuple(equations)),))


def _quantity(net: Network, name: str, printer: MathPrinter) -> Math:
    kind, idx = index(net, name)
    return Math(printer.doprint(symbol(kind + "".join(f"[{i}]" for i in idx))))


def target_tex(sheet: Sheet, f: Formula, printer: MathPrinter, *, inline: bool = False) -> str:
    """The quantity a formula question asks for, in mathematics: δ^(l)_i, ∂J/∂Θ^(l)_ij (with a solidus in a
    sentence), D^(l)_ij."""
    from ..grading.targets import parse_target

    target = parse_target(sheet.net, f.target)
    if target.kind.name == "dTheta":
        J, weight = printer.doprint(q("J")), printer.doprint(q("Theta", *target.index))
        return (r"\partial %s/\partial %s" if inline else r"\frac{\partial %s}{\partial %s}") % (J, weight)
    return str(printer.doprint(q(target.kind.name, *target.index)))


def _meaning(sheet: Sheet, f: Formula, printer: MathPrinter, words: Catalogue) -> list[Any]:
    """What the target is, in words, its weight (if any) in mathematics."""
    from ..grading.targets import parse_target

    target = parse_target(sheet.net, f.target)
    kind, index = target.kind.name, target.index
    if kind == "delta":
        return list(paragraph(words.word("quiz", "meaning_delta", layer=index[0], unit=index[1])).runs)
    return _filled(words.word("quiz", f"meaning_{kind}", weight=_SLOT % "weight"),
                   {"weight": Math(printer.doprint(q("Theta", *index)))})


_SLOT = "\x00%s\x00"
"""a placeholder in a catalogue sentence for a run made apart (a code name, a formula)"""


def _filled(sentence: str, runs: dict[str, Any]) -> list[Any]:
    """A catalogue sentence whose placeholders (``_SLOT``) are the given runs, the rest as ``paragraph`` reads it."""
    out: list[Any] = []
    for n, piece in enumerate(sentence.split("\x00")):
        if n % 2:
            out.append(runs[piece])
        elif piece:
            out.extend(paragraph(piece).runs)
    return out


def _codes(names: Sequence[str], between: str) -> Paragraph:
    """Names to be typed, each as code, the separator as text (a line breaks between two names, not inside one)."""
    runs: list[Any] = []
    for n, name in enumerate(names):
        runs += [Text(between)] if n else []
        runs.append(Code(name))
    return Paragraph(tuple(runs))


def _flat(runs: Sequence[Any]) -> list[Any]:
    """Runs with the runs of any paragraph among them in its place."""
    return [r for run in runs for r in (run.runs if isinstance(run, Paragraph) else (run,))]


def questions(sheet: Sheet, net: Network, v: Variant) -> tuple[Section, ...]:
    """The numerical questions as a table to fill in (each quantity in mathematics: a number is written, not typed),
    then the formula questions: the names and functions an answer is typed in said once, then each quantity in
    mathematics, what it is, and the §8 target it is answered as."""
    from ..grading.language import function_names
    from ..grading.names import Vocabulary

    printer, words = _printer(net), catalogue(net.language)
    header = tuple(paragraph(words.word("sheet", c)) for c in ("column_number", "column_quantity", "column_answer"))
    rows = tuple((Paragraph((Text(str(n)),)), Paragraph((_quantity(net, a.name, printer),)),
                  Paragraph((Text(BLANK),)))
                 for n, a in enumerate(v.questions, start=1))
    out = [Section("sheet_questions", paragraph(words.word("sheet", "questions")), (Table(header, rows),))]
    if sheet.formulas:
        first = len(v.questions) + 1
        how = words.word("sheet", "formulas_how", allowed=_SLOT % "allowed", functions=_SLOT % "functions")
        intro = Paragraph(tuple(_flat(_filled(how, {"allowed": _codes(Vocabulary(sheet.net).allowed.split(", "), ", "),
                                              "functions": _codes(function_names(), " ")}))))
        blocks = [intro]
        for n, f in enumerate(sheet.formulas, start=first):
            asked = words.word("sheet", "formula_question", quantity=_SLOT % "quantity", meaning=_SLOT % "meaning",
                               name=_SLOT % "name")
            runs = _filled(asked, {"quantity": Math(target_tex(sheet, f, printer, inline=True)), "name": Code(f.target),
                                   "meaning": Paragraph(tuple(_meaning(sheet, f, printer, words)))})
            blocks.append(Paragraph((Text(f"{n}. "), *_flat(runs))))
        out.append(Section("sheet_formulas", paragraph(words.word("sheet", "formulas")), tuple(blocks)))
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


def sheet_document(sheet: Sheet, v: Variant, *, rate: float | None = None, notation: str | None = None,
                   title: str | None = None, author: str = "", date: str = "") -> Document:
    """The student's sheet of variant ``v``: the network drawn, the numbers given (with ``rate``, the learning rate
    of the key's descent step, so that the key starts from nothing the sheet did not give), the questions."""
    net = presentation(sheet.net, language=sheet.language, notation=notation)
    words = catalogue(net.language)
    return Document(_meta(words, "title", net, v, title, author, date), _intro(words, sheet, v, net),
                    (given(net, v, rate), *questions(sheet, net, v)), Figure("network", net))


def display(expr: sp.Expr, printer: MathPrinter) -> sp.Expr:
    """A wide product with its widest sum first, so that a long formula breaks inside that sum (LatexPrinter.pieces)."""
    from ..render.latex import WRAP, width

    if not isinstance(expr, sp.Mul) or width(str(printer.doprint(expr))) <= WRAP:
        return expr
    sums = sorted((a for a in expr.args if isinstance(a, sp.Add)), key=lambda a: -len(a.args))
    if not sums:
        return expr
    rest = [a for a in expr.args if a is not sums[0]]
    return sp.Mul(sums[0], *rest, evaluate=False)


def expected_formulas(sheet: Sheet, net: Network) -> Section:
    """The formula questions' expected formulas in mathematics: each §8 answer read back with the answer parser
    and printed by the notation's MathPrinter (a long one breaks inside its sum)."""
    from ..grading.language import parse
    from ..grading.names import Vocabulary
    from .derivation import _terms

    printer, words = _printer(net), catalogue(net.language)
    vocabulary = Vocabulary(sheet.net)
    equations = []
    for f in sheet.formulas:
        expr = display(parse(f.expected, vocabulary).sympy(), printer)
        terms = _terms(expr, printer)  # a few formulas: split now
        equations.append(Equation(target_tex(sheet, f, printer),
                                  (Line(f"sheet.formula.{f.target}", "=", printer.doprint(expr), terms, "expected",
                                        Paragraph(())),)))
    return Section("sheet_formulas", paragraph(words.word("sheet", "formulas")), (EquationGroup(tuple(equations)),))


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
    sections = list(worked.sections)  # the worked example states the given numbers (and α) first
    if sheet.formulas:
        sections.append(expected_formulas(sheet, net))
    return replace(worked, meta=meta, intro=_intro(words, sheet, v, net), sections=tuple(sections))
