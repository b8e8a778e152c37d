"""A derivation as a Beamer slide deck: one idea per frame, each step revealed on its own overlay.

The deck opens with a title and the network diagram; then every section of the derivation follows. A
section of one-line definitions (the forward pass, the update) is one frame; a section of derivations gets
one frame per equation (lhs = rhs₁ = rhs₂ = …), a long one split over frames of ``LINES_PER_FRAME``
steps. Each step appears with its rule in words; each note appears with the step that needs it. A summary
frame gathers the results. English decks compile with pdflatex, Chinese ones (ctexbeamer) with xelatex.
Formulas come from the shared layout (``MathPrinter``), words from the catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..diagram import network_tikz
from ..errors import NotSupportedError
from ..notation import PROFILES
from ..steps import Derivation
from ..text import catalogue
from .latex import engine, text
from .layout import Equation, Line, Part, document
from .tex import MathPrinter

CLASSES: dict[str, str] = {
    "pdflatex": "\\documentclass[11pt,aspectratio=169]{beamer}\n"
                "\\usepackage[T1]{fontenc}\n"
                "\\usepackage[utf8]{inputenc}\n"
                "\\usepackage{lmodern}\n",
    "xelatex": "\\documentclass[11pt,aspectratio=169,UTF8]{ctexbeamer}\n",
}
PREAMBLE = ("\\usepackage{amsmath,amssymb}\n"
            "\\usepackage{tikz}\n"
            "\\usepackage{adjustbox}\n"
            "\\setbeamertemplate{navigation symbols}{}\n"
            "\\usefonttheme[onlymath]{serif}\n"
            "\\setbeamercovered{invisible}\n")

LINES_PER_FRAME = 5
"""at most this many steps of one equation on a frame"""

SUMMARY = ("output_delta", "hidden_delta", "gradient", "regularized")
"""sections whose last step the summary frame repeats (the first of each kind)"""


@dataclass(frozen=True)
class Options:
    """Settings of the deck, declared once; unknown keys are refused."""

    body: bool = False
    """only the frames, without preamble and document environment"""
    diagram: bool = True
    """a frame with the network drawn"""


def render(d: Derivation, **options: Any) -> str:
    """The derivation as a Beamer document (or only its frames with ``body=True``)."""
    unknown = sorted(set(options) - set(Options.__dataclass_fields__))
    if unknown:
        raise NotSupportedError(f"beamer: unknown option {unknown[0]!r}; allowed: "
                                f"{', '.join(Options.__dataclass_fields__)}")
    opts = Options(**options)
    net, words, doc = d.network, catalogue(d.network.language), document(d)
    frames = ["\\begin{frame}\n\\titlepage\n\\end{frame}\n"]
    if opts.diagram:
        frames.append(_frame(words.word("beamer", "network"),
                             "\\centering\n\\adjustbox{height=0.78\\textheight, max width=\\linewidth}{%%\n"
                             "%s}\n" % network_tikz(net)))
    for part in doc.parts:
        frames.extend(_part_frames(part))
    frames.append(_summary(d, words.word("beamer", "summary")))
    body = "\n".join(frames)
    if opts.body:
        return body
    subtitle = words.word("beamer", "subtitle", layers="–".join(map(str, net.layers)), output=net.output,
                          loss=net.loss)
    return (CLASSES[engine(d)] + PREAMBLE
            + "\\title{%s}\n\\subtitle{%s}\n\\date{}\n" % (text(words.word("beamer", "title")), text(subtitle))
            + "\\begin{document}\n" + body + "\\end{document}\n")


def _frame(title: str, content: str) -> str:
    return "\\begin{frame}{%s}\n%s\\end{frame}\n" % (text(title), content)


def _part_frames(part: Part) -> list[str]:
    """One frame for a section of one-line definitions; one per equation (or piece of one) otherwise."""
    if all(len(eq.lines) == 1 for eq in part.equations):
        return [_frame(part.heading, _align([(eq.lhs, eq.lines[0]) for eq in part.equations]))]
    frames = []
    for eq in part.equations:
        for start in range(0, len(eq.lines), LINES_PER_FRAME):
            chunk = eq.lines[start:start + LINES_PER_FRAME]
            first = eq.lhs if start == 0 else _continued(eq, start)
            rows = [(first, chunk[0])] + [("", line) for line in chunk[1:]]
            frames.append(_frame(part.heading, _align(rows)))
    return frames


def _continued(eq: Equation, start: int) -> str:
    """The left side of a continued equation: lhs = (the last side shown before)."""
    return "%s = %s" % (eq.lhs, eq.lines[start - 1].rhs)


def _align(rows: list[tuple[str, Line]]) -> str:
    """lhs &= rhs & words, row n shown from overlay n on; the notes of a row below, with it."""
    out = []
    for n, (lhs, line) in enumerate(rows, start=1):
        relation = "\\mathrel{:=}" if line.relation == ":=" else "="
        out.append("\\uncover<%d->{%s} &\\uncover<%d->{{}%s %s} &&\\uncover<%d->{\\text{\\footnotesize\\itshape %s}}"
                   % (n, lhs, n, relation, line.rhs, n, text(line.words)))
    notes = ["\\uncover<%d->{%s}\\par" % (n, text(line.note)) for n, (_, line) in enumerate(rows, start=1)
             if line.note]
    math = ("\\adjustbox{max width=\\linewidth}{$\\displaystyle\\begin{aligned}\n%s\n\\end{aligned}$}\n"
            % " \\\\[0.8ex]\n".join(out))
    if notes:
        math += "\\vfill\n{\\small\n%s\n}\n" % "\n".join(dict.fromkeys(notes))
    return "\\centering\n" + math


def _summary(d: Derivation, title: str) -> str:
    """The last step of the first section of each kind in ``SUMMARY``, one per overlay."""
    profile = PROFILES[d.network.notation]
    printer = MathPrinter(profile)
    rows, seen = [], set()
    for section in d.sections:
        kind = section.id.rstrip("0123456789")
        shown = [step for step in section.steps if profile.shows(step.form)]
        if kind in SUMMARY and kind not in seen and shown:
            seen.add(kind)
            step = shown[-1]
            rows.append((printer.doprint(step.lhs), printer.doprint(step.rhs)))
    out = ["\\uncover<%d->{%s} &\\uncover<%d->{{}= %s}" % (n, lhs, n, rhs)
           for n, (lhs, rhs) in enumerate(rows, start=1)]
    return _frame(title, "\\centering\n\\adjustbox{max width=\\linewidth}{$\\displaystyle\\begin{aligned}\n%s\n"
                         "\\end{aligned}$}\n" % " \\\\[1.2ex]\n".join(out))
