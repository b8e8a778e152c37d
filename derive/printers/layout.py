"""The page every document printer shares: a derivation as parts (sections) of equations, each equation
one quantity followed by its derived right-hand sides, each side with its rule in words.

Consecutive steps with the same left-hand side form one equation (lhs = rhs₁ = rhs₂ = …), as on the
slides. Nothing is derived here: the LaTeX of each side comes from ``MathPrinter``, the words from the
catalogue of the network's language, in the wording of its notation profile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp

from ..notation import PROFILES, section_title, word
from ..steps import Derivation, Step
from ..text import Catalogue, catalogue
from .tex import MathPrinter

ASSIGNMENTS = frozenset({"accumulate", "gradient_descent"})
"""rules whose step updates a quantity in place: written := rather than ="""


@dataclass(frozen=True)
class Line:
    """``relation rhs`` of one step; ``terms`` holds the rhs split at its top-level + and − signs."""

    step: str
    relation: str
    rhs: str
    terms: tuple[str, ...]
    rule: str
    words: str
    note: str | None


@dataclass(frozen=True)
class Equation:
    lhs: str
    lines: tuple[Line, ...]

    @property
    def id(self) -> str:
        return self.lines[0].step


@dataclass(frozen=True)
class Part:
    id: str
    heading: str
    equations: tuple[Equation, ...]

    @property
    def notes(self) -> tuple[str, ...]:
        """The explanations of the part's steps, each once, in order."""
        return tuple(dict.fromkeys(line.note for eq in self.equations for line in eq.lines if line.note))


@dataclass(frozen=True)
class Document:
    language: str
    title: str
    network: str
    parts: tuple[Part, ...]

    @property
    def equations(self) -> tuple[Equation, ...]:
        return tuple(eq for part in self.parts for eq in part.equations)


def document(d: Derivation) -> Document:
    """The derivation laid out as parts of equations, in the network's language and notation."""
    net = d.network
    words = catalogue(net.language)
    profile = PROFILES[net.notation]
    printer = MathPrinter(profile)
    parts = []
    for section in d.sections:
        equations: list[Equation] = []
        for step in section.steps:
            if not profile.shows(step.form):
                continue
            line = _line(step, printer, net.notation, words)
            lhs = printer.doprint(step.lhs)
            if equations and equations[-1].lhs == lhs and line.relation == "=":
                equations[-1] = Equation(lhs, (*equations[-1].lines, line))
            else:
                equations.append(Equation(lhs, (line,)))
        parts.append(Part(section.id, section_title(net.notation, words, section), tuple(equations)))
    spec = net.to_dict()
    listed = spec.get("activation", net.activations)  # a layered network (SPEC §9) lists no single activation
    hidden = listed if isinstance(listed, str) else ", ".join(listed)
    summary = words.word("document", "network", layers=", ".join(map(str, net.layers)), activation=hidden,
                         output=net.output, loss=net.loss, reduction=net.reduction, lam=_number(net.lam))
    return Document(net.language, words.word("document", "title"), summary, tuple(parts))


SUMMARY_OF = ("output_delta", "hidden_delta", "gradient", "regularized", "update")
"""the parts whose results the summary repeats, by id without the layer number"""


def summary(doc: Document) -> Part:
    """The results on one page, as the slides gather them: each part's last line under its left side."""
    words = catalogue(doc.language)
    equations = []
    for part in doc.parts:
        if re.sub(r"\d+$", "", part.id) not in SUMMARY_OF:
            continue
        whole = part.id in ("regularized", "update")
        vectors = [eq for eq in part.equations if eq.lines[0].rule == "vectorize"]  # ∂J/∂b and ∂J/∂w apart
        for eq in part.equations if whole else vectors or part.equations[-1:]:
            last = eq.lines[-1]
            equations.append(Equation(eq.lhs, (Line(last.step, last.relation, last.rhs, last.terms, last.rule,
                                                    "", None),)))
    return Part("summary", words.word("document", "summary"), tuple(equations))


def with_summary(doc: Document) -> tuple[Part, ...]:
    """The document's parts, then the summary when there is something to gather."""
    gathered = summary(doc)
    return (*doc.parts, gathered) if gathered.equations else doc.parts


def _line(step: Step, printer: MathPrinter, notation: str, words: Catalogue) -> Line:
    rhs = step.rhs
    terms = _terms(rhs, printer)
    note = word(notation, words, "notes", step.note, **dict(step.args)) if step.note else None
    note = note or None  # a profile may have nothing to add where another explains (an empty note)
    return Line(step.id, ":=" if step.rule in ASSIGNMENTS else "=", printer.doprint(rhs), terms, step.rule,
                word(notation, words, "rules", step.rule, **dict(step.args)), note)


def _terms(expr: sp.Basic, printer: MathPrinter) -> tuple[str, ...]:
    """The top-level terms of a sum, each with its sign as printed (``+ t`` or ``- t``); one term otherwise."""
    if not isinstance(expr, sp.Add):
        return (printer.doprint(expr),)
    out = []
    for n, term in enumerate(expr.args):
        text = printer.doprint(term)
        if isinstance(term, sp.Add):
            text = r"\left(%s\right)" % text
        if n and not text.startswith("-"):
            text = "+ " + text
        out.append(text)
    return tuple(out)


def width(tex: str) -> int:
    """A rough count of the symbols a formula shows (commands, braces and scripts' markup left out)."""
    tex = re.sub(r"\\(left|right|cdot|frac|partial|underbrace|substack|text)\b", " ", tex)
    tex = re.sub(r"\\[A-Za-z]+", "x", tex)
    return len(re.sub(r"[{}^_\s]", "", tex))


def _number(value: float) -> str:
    return f"{value:g}"
