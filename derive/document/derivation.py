"""A Derivation (and the exercise, worked example and claims, which are Derivations too) as a Document.

Consecutive steps with the same left-hand side form one equation (lhs = rhs₁ = rhs₂ = …), as on the slides.
Nothing is derived here: the LaTeX of each side comes from ``MathPrinter`` in the chosen notation profile,
the words from the catalogue of the chosen language. Language and notation are settings of this build,
never read from the mathematics: one Derivation prints in every language and notation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import sympy as sp

from derive.catalogue import Catalogue, catalogue
from derive.engine.derivation import Derivation, Step
from derive.model.network import LANGUAGES, NOTATIONS, Network
from derive.model.notation import PROFILES, Profile, section_title, short_title, step_text, word

from ..errors import InputError
from ..render.tex import MathPrinter
from . import Document, Equation, EquationGroup, Figure, Line, Math, Meta, Notes, Paragraph, Run, Section, Text
from .sections import SECTIONS, selected
from .words import paragraph

ASSIGNMENTS = frozenset({"accumulate", "gradient_descent"})
"""rules whose step updates a quantity in place: written := rather than ="""

SUMMARY_OF = ("output_delta", "hidden_delta", "gradient", "regularized", "update")
"""the sections whose results the summary repeats, by kind"""

SUMMARY_STEPS: dict[str, tuple[tuple[str, ...], int]] = {
    "exercise_recursion": (("exercise_recursion.",), 1),
    "exercise_comparison": (("exercise_comparison.pair", "exercise_comparison.ratio",
                             "exercise_comparison.maximum"), 4),
}
"""an exercise's own results the summary repeats: its sections' equations whose steps' ids start so, at most so
many (the recursion's first: the deeper substitutions only nest it further, wider than a line)"""

TAGGED = ("output_delta", "hidden_delta", "gradient")
"""the kinds of section whose result is a main equation: tagged so that a lecturer can cite it"""

TAGS: dict[str, tuple[str, ...]] = {"nielsen": ("BP1", "BP2", "BP3", "BP4")}
"""a profile's own names of the main equations, in order; other profiles number them (1), (2), …"""

TITLES: dict[str, str] = {"exercise": "exercise_title", "example": "example_title"}
"""a product's own title (document.<key>), by the prefix of its sections' ids; the derivation's otherwise"""


def presentation(net: Network, *, language: str | None = None, notation: str | None = None) -> Network:
    """The network with the words and symbols to print it in (the file's own unless given): checked names."""
    if language is not None and language not in LANGUAGES:
        raise InputError(f"language {language!r}: allowed: {' | '.join(LANGUAGES)}")
    if notation is not None and notation not in NOTATIONS:
        raise InputError(f"notation {notation!r}: allowed: {' | '.join(NOTATIONS)}")
    return net.replace(language=language or net.language, notation=notation or net.notation)


def kind(section_id: str) -> str:
    return re.sub(r"\d+$", "", section_id)


def build(d: Derivation, *, language: str | None = None, notation: str | None = None, title: str | None = None,
          author: str = "", date: str = "", sections: Sequence[str] | None = None) -> Document:
    """The derivation as a Document in the given language and notation (the network file's by default)."""
    net = presentation(d.network, language=language, notation=notation)
    words = catalogue(net.language)
    profile = PROFILES[net.notation]
    printer = MathPrinter(profile, cases=(words.word("math", "if"), words.word("math", "otherwise")))
    wanted = selected(sections)
    layered = None if isinstance(d.network, Network) else d.network
    parts = []
    tags: list[str] = []
    stated: set[Paragraph] = set()
    for section in d.sections:
        equations: list[Equation] = []
        for step in section.steps:
            if not profile.shows(step.form):
                continue
            line = _line(step, printer, profile, words,
                         per_example(step, net) if kind(section.id) == "cost" else step)
            lhs = printer.doprint(step.lhs)
            if equations and equations[-1].lhs == lhs and line.relation == "=":
                equations[-1] = Equation(lhs, (*equations[-1].lines, line))
            else:
                equations.append(Equation(lhs, (line,)))
        equations = _tagged(section.id, equations, net.notation, tags)
        blocks: tuple[Any, ...] = _blocks(section.id, equations, stated)
        if section.id == "forward" and layered is None:  # a layered network's forward notes give its shapes
            blocks += (shapes(net, printer, words),)
        short = short_title(net.notation, words, section)
        parts.append(Section(section.id, paragraph(section_title(net.notation, words, section)), blocks,
                             short=paragraph(short) if short else None))
    gathered = summary(parts, words)  # of every result, whichever sections are printed
    if gathered.equations:
        parts.append(gathered)
    if wanted is not None:
        parts = [p for p in parts if kind(p.id) in wanted or kind(p.id) not in _KINDS]
    spec = net.to_dict()
    if layered is None:
        listed = spec.get("activation", net.activations)
        hidden = listed if isinstance(listed, str) else ", ".join(listed)
        intro = words.word("document", "network", layers=", ".join(map(str, net.layers)), activation=hidden,
                           output=net.output, loss=net.loss, reduction=net.reduction, lam=f"{net.lam:g}")
        subtitle = words.word("beamer", "subtitle", layers="–".join(map(str, net.layers)), output=net.output,
                              loss=net.loss)
    else:  # layered.finish writes a layered network's intro (its layers by kind and shape) and subtitle
        intro = subtitle = ""
    own = _title_key(d)
    meta = Meta(title if title is not None else words.word("document", own), net.language, author, date, subtitle,
                title if title is not None else deck_title(layered, words) if own == "title" else "")
    r = d.results
    data = {"network": spec, "results": {
        "output_delta": sp.sstr(r.output_delta),
        "hidden_derivative": None if r.hidden_derivative is None else sp.sstr(r.hidden_derivative),
        "gradient": sp.sstr(r.gradient)}}
    # the fully connected diagram draws a §2 network only: a layered one (SPEC §9) has its layers in the text
    doc = Document(meta, paragraph(intro), tuple(parts), Figure("network", net), data)
    if layered is not None:  # its own figures, shapes and summary (the fully connected diagram goes)
        from .layered import finish

        doc = finish(doc, layered, printer, words)
        if any(layer.kind in ("rnn", "lstm") for layer in layered.stack):  # the network unrolled through time
            doc = replace(doc, figure=Figure("unrolled", layered))
    return doc


INTERLEAVED = ("example_forward", "example_cost", "example_output_delta", "example_hidden_delta", "example_gradient",
               "example_update")
"""sections (by id prefix) whose notes stand with the equations they explain, not gathered after them: a
worked example's notes belong to each unit's numbers"""


def _blocks(section_id: str, equations: list[Equation], stated: set[Paragraph]) -> tuple[Any, ...]:
    """The section's equations and its notes, each note stated once in the whole document (``stated`` holds
    those already shown): after the equations, or, in an interleaved section, after the equation it explains."""
    def new(eqs: Sequence[Equation]) -> tuple[Paragraph, ...]:
        notes = tuple(p for p in dict.fromkeys(line.note for eq in eqs for line in eq.lines if line.note)
                      if p not in stated)
        stated.update(notes)
        return notes

    if not section_id.startswith(INTERLEAVED):
        notes = new(equations)
        return (EquationGroup(tuple(equations)),) + ((Notes(notes),) if notes else ())
    blocks: list[Any] = []
    run: list[Equation] = []
    for eq in equations:
        run.append(eq)
        notes = new([eq])
        if notes:
            blocks += [EquationGroup(tuple(run)), Notes(notes)]
            run = []
    if run or not blocks:
        blocks.append(EquationGroup(tuple(run)))
    return tuple(blocks)


_KINDS = frozenset(k for kinds in SECTIONS.values() for k in kinds)


def deck_title(layered: Any, words: Catalogue) -> str:
    """A deck's title page names its topic: the kinds of layer the derivation goes through (dense and flatten
    only when nothing else is there), or the fully connected network."""
    if layered is None:
        return words.word("beamer", "dense_title")
    table = words.table["beamer"]
    kinds = list(dict.fromkeys(layer.kind for layer in layered.stack if f"kind_{layer.kind}" in table))
    kinds = [k for k in kinds if k != "dense"] or kinds
    if not kinds:
        return words.word("beamer", "title")
    said = [words.word("beamer", f"kind_{k}") for k in kinds]
    joined = said[0] if len(said) == 1 else ", ".join(said[:-1]) + words.word("beamer", "and") + said[-1]
    return words.word("beamer", "layered_title", kinds=joined)


def _title_key(d: Derivation) -> str:
    first = d.sections[0].id if d.sections else ""
    return next((key for prefix, key in TITLES.items() if first.startswith(prefix + "_")), "title")


def summary(parts: Sequence[Section], words: Catalogue) -> Section:
    """The results on one page, as the slides gather them: each section's last line under its left side."""
    equations = []
    for part in parts:
        if kind(part.id) in SUMMARY_STEPS:
            prefixes, most = SUMMARY_STEPS[kind(part.id)]
            chosen = [eq for eq in part.equations if eq.id.startswith(prefixes)][:most]
        elif kind(part.id) in SUMMARY_OF:
            whole = part.id in ("regularized", "update")
            vectors = [eq for eq in part.equations if eq.lines[0].rule == "vectorize"]  # ∂J/∂b and ∂J/∂w apart
            chosen = list(part.equations if whole else vectors or part.equations[-1:])
        else:
            continue
        for eq in chosen:
            last = eq.lines[-1]
            equations.append(Equation(eq.lhs, (Line(last.step, last.relation, last.rhs, last.terms, last.rule,
                                                    Paragraph(()), None, last.text, last.sympy),), eq.tag))
    return Section("summary", paragraph(words.word("document", "summary")), (EquationGroup(tuple(equations)),),
                   repeats=True)


def _tagged(section_id: str, equations: list[Equation], notation: str, tags: list[str]) -> list[Equation]:
    """The section's main equations (its vectorized results, or its last equation) with their tags, each tag once
    in the document (``tags`` holds those given): numbered (1), (2), … in order, or the profile's own names
    (BP1 … BP4), which go to the first equation of each kind only (BP2 names the recursion, not each layer's)."""
    if kind(section_id) not in TAGGED or not equations:
        return equations
    main = [n for n, eq in enumerate(equations) if eq.lines[-1].rule == "vectorize" or eq.lines[0].rule == "vectorize"]
    main = main or [len(equations) - 1]
    first = sum(len(_MAIN[k]) for k in TAGGED[:TAGGED.index(kind(section_id))])
    names = TAGS.get(notation)
    out = list(equations)
    for offset, n in enumerate(main[:len(_MAIN[kind(section_id)])]):
        number = first + offset
        tag = (names[number] if number < len(names) else None) if names else str(len(tags) + 1)
        if tag is None or tag in tags:
            continue
        tags.append(tag)
        out[n] = replace(out[n], tag=tag)
    return out


_MAIN: dict[str, tuple[str, ...]] = {"output_delta": ("δ",), "hidden_delta": ("δ",), "gradient": ("b", "w")}
"""how many main equations each tagged kind holds at most (the gradient's bias and weights apart, or one)"""


def shapes(net: Network, printer: MathPrinter, words: Catalogue) -> Paragraph:
    """The shape of every parameter matrix: the general rule, then each layer's numbers."""
    from derive.model.notation import q

    real = r"\mathbb{R}"
    if PROFILES[net.notation].form == "bias_unit":
        general = [r"%s \in %s^{%s \times (%s + 1)}" % (printer.doprint(q("Theta", "l")), real,
                                                         printer.doprint(q("s", "l+1")), printer.doprint(q("s", "l")))]
        each = [r"%s \in %s^{%d \times %d}" % (printer.doprint(q("Theta", layer)), real, net.layers[layer],
                                                net.layers[layer - 1] + 1) for layer in range(1, net.L)]
    else:
        general = [r"%s \in %s^{%s \times %s}" % (printer.doprint(q("Theta", "l-1")), real,
                                                   printer.doprint(q("s", "l")), printer.doprint(q("s", "l-1"))),
                   r"%s \in %s^{%s}" % (printer.doprint(q("b", "l-1")), real, printer.doprint(q("s", "l")))]
        each = [r"%s \in %s^{%d \times %d}, \ %s \in %s^{%d}"
                % (printer.doprint(q("Theta", layer)), real, net.layers[layer], net.layers[layer - 1],
                   printer.doprint(q("b", layer)), real, net.layers[layer]) for layer in range(1, net.L)]
    runs: list[Run] = [Text(words.word("document", "shapes") + " ")]
    for n, tex in enumerate(general):
        runs += [Text(", ")] if n else []
        runs.append(Math(tex))
    runs.append(Text("; "))
    for n, tex in enumerate(each):
        runs += [Text("; ")] if n else []
        runs.append(Math(tex))
    runs.append(Text("."))
    return Paragraph(tuple(runs))


class Written(sp.Symbol):
    """A quantity written as given (LaTeX), where the printed form names more than the mathematics needs: the
    example index of a cost's terms, y^(i)_k, bound by the cost's Σ over i."""

    def __new__(cls, name: str, tex: str) -> Written:
        obj = super().__new__(cls, name)
        obj.tex = tex
        return obj

    def _latex(self, printer: Any) -> str:
        return self.tex



def per_example(step: Step, net: Network) -> Step:
    """A cost step as the slides write it: inside its Σ over the examples i, every target and output carries the
    example's index (y^(i)_k, a^(L)_k(x^(i))). Only the printed form changes; the step keeps its meaning."""
    i = sp.Symbol("i")
    printer = MathPrinter(PROFILES[net.notation])

    def indexed(term: sp.Sum) -> sp.Basic:
        if i not in {limit[0] for limit in term.limits}:
            return term
        mapping: dict[sp.Basic, sp.Basic] = {}
        for symbol in term.function.free_symbols:
            name = str(symbol)
            if name.startswith("y[") or name == "y":
                tex = printer.doprint(symbol)
                mapping[symbol] = Written(name, _example_index(tex))
            elif name.startswith(f"a[{net.L}]"):
                mapping[symbol] = Written(name, r"%s(x^{(i)})" % printer.doprint(symbol))
        return _in_place(term, mapping)

    rhs = step.rhs.replace(lambda e: isinstance(e, sp.Sum), indexed)
    return replace(step, rhs=rhs)


def _in_place(expr: sp.Basic, mapping: dict[sp.Basic, sp.Basic]) -> sp.Basic:
    """expr with the mapping's symbols replaced, every sum and product kept in the order it was built."""
    if expr in mapping:
        return mapping[expr]
    if not expr.args:
        return expr
    args = [_in_place(a, mapping) for a in expr.args]
    if all(new is old for new, old in zip(args, expr.args, strict=True)):
        return expr
    if isinstance(expr, sp.Add | sp.Mul | sp.Pow):
        return expr.func(*args, evaluate=False)
    return expr.func(*args)


def _example_index(tex: str) -> str:
    """y_{k} → y^{(i)}_{k}: the example's index as a superscript."""
    head, sep, tail = tex.partition("_")
    return "%s^{(i)}%s%s" % (head, sep, tail)


def _line(step: Step, printer: MathPrinter, profile: Profile, words: Catalogue, shown: Step) -> Line:
    """The line of one step; ``shown`` is the step as printed (the cost's with its example index)."""
    note = word(profile, words, "notes", step.note, **dict(step.args)) if step.note else ""
    return Line(step.id, ":=" if step.rule in ASSIGNMENTS else "=", printer.doprint(shown.rhs),
                lambda: _terms(shown.rhs, printer), step.rule,
                paragraph(word(profile, words, "rules", step.rule, **dict(step.args))),
                paragraph(note) if note else None,  # a profile may have nothing to add (an empty note)
                step_text(profile, words, step), lambda: written(sp.sstr(step.rhs), profile))


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


_NAME = re.compile(r"(?<![A-Za-z_'])[A-Za-z]+(?:\[[^\[\]]+\])*(?![A-Za-z_(])")
"""a quantity's name in SymPy's string of an expression (a word with its indices, not a function called)"""
_FUNCTION = re.compile(r"\bg('?)\[([a-z_]+)\]")
"""an activation's function symbol (derivation.g_of): g(z) in ng, sigmoid(z), tanh(z) … under nielsen"""


def written(text: str, profile: Profile) -> str:
    """SymPy's string with every quantity named as the profile writes it (w[2][1][1] rather than Theta[1][1][1])."""
    def one(name: str) -> str:
        new = profile.written(name)
        if new == name and name.startswith("d"):  # ∂J/∂Θ prints as dJ/dTheta[…]
            new = "d" + profile.written(name[1:])
        return new
    text = _FUNCTION.sub(lambda m: (m.group(2) if profile.functions else "g") + m.group(1), text)
    return _NAME.sub(lambda m: one(m.group()), text)
