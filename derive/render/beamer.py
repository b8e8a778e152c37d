"""A Document as a Beamer slide deck: one idea per frame, each step revealed on its own overlay.

The deck opens with a title and the network diagram; then every section follows. A section of one-line
definitions (the forward pass, the update, the summary) is one frame, split after ``LINES_PER_FRAME``
rows; a section of derivations gets one frame per equation (lhs = rhs₁ = rhs₂ = …), a long one split over
frames of ``LINES_PER_FRAME`` steps. ``handout=True`` prints the deck without overlays
(``\\documentclass[handout]{beamer}``). English decks compile with pdflatex, Chinese ones with xelatex.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar

from derive.catalogue import catalogue

from ..document import (
    Document,
    Equation,
    EquationGroup,
    Figure,
    Line,
    Notes,
    Paragraph,
    Section,
    Table,
)
from .latex import LatexPrinter, engine, escape

CLASSES: dict[str, str] = {
    "pdflatex": "\\documentclass[11pt,aspectratio=169%s]{beamer}\n"
                "\\usepackage[T1]{fontenc}\n"
                "\\usepackage[utf8]{inputenc}\n"
                "\\usepackage{lmodern}\n",
    "xelatex": "\\documentclass[11pt,aspectratio=169%s,UTF8]{ctexbeamer}\n",
}
PREAMBLE = ("\\usepackage{amsmath,amssymb}\n"
            "\\usepackage{pifont}\n"
            "\\usepackage{tikz}\n"
            "\\usepackage{adjustbox}\n"
            "\\usepackage{varwidth}\n"
            "\\setbeamertemplate{navigation symbols}{}\n"
            "\\usefonttheme[onlymath]{serif}\n"
            "\\setbeamercovered{invisible}\n")

LINES_PER_FRAME = 5
"""at most this many rows of a derivation on a frame"""

PACKED = re.compile(r"(layer|activation_delta)\d+")
"""the sections of a layered network (SPEC §9) whose short equations share frames"""

PACKED_LINES = 5
"""at most this many rows on a frame of such a section"""

NOTE_CHARS = 100
"""about this many Latin characters fill a line of a frame's \\small notes"""

NOTE_LINE = 0.065
"""the height of a line of \\small notes, as a fraction of a frame's text height (with a little to spare)"""

ROW_HEIGHT = 0.13
"""the height of a row of displayed mathematics with a fraction in it, as a fraction of a frame's text height"""
SHORT_NOTES = 2
"""notes of at most this many lines leave the mathematics its full height"""


ALGORITHM_LINES = 7
"""at most this many lines of the algorithm on a frame"""

LABEL_WIDTH = "0.3\\linewidth"
"""the rule in words beside a step wraps within this width, a short one takes its own (varwidth): a long rule
never shrinks the frame's mathematics, and the words stay \\small"""


class BeamerPrinter(LatexPrinter):
    format = "beamer"
    _default_settings: ClassVar[dict[str, Any]] = {"body": False, "diagram": True, "handout": False}

    def _print_Document(self, doc: Document) -> str:
        frames = ["\\begin{frame}\n\\titlepage\n\\end{frame}\n"]
        if self.settings["diagram"] and doc.figure is not None:
            frames.append(self.frame(self.network_title(doc),
                                     "\\centering\n\\adjustbox{height=0.78\\textheight, max width=\\linewidth}{%%\n"
                                     "%s}\n" % self._print(doc.figure)))
        self.language = doc.language
        self.words = catalogue(doc.language)
        for section in doc.sections:
            frames.extend(self.section_frames(section))
        frames.extend(self.algorithm_frames(doc))
        body = "\n".join(frames)
        if self.settings["body"]:
            return body
        meta = doc.meta
        options = ",handout" if self.settings["handout"] else ""
        return (CLASSES[engine(doc.language)] % options + PREAMBLE
                + "\\title{%s}\n\\subtitle{%s}\n\\author{%s}\n\\date{%s}\n"
                % (escape(meta.short or meta.title), escape(meta.subtitle), escape(meta.author), escape(meta.date))
                + "\\begin{document}\n" + body + "\\end{document}\n")

    @staticmethod
    def network_title(doc: Document) -> str:
        return catalogue(doc.language).word("beamer", "network")

    def continued(self, heading: str) -> str:
        return self.words.word("beamer", "continued", title=heading)

    def frame(self, title: str, content: str) -> str:
        return "\\begin{frame}{%s}\n%s\\end{frame}\n" % (title, content)

    def section_frames(self, section: Section) -> list[str]:
        """One frame for a section of one-line definitions; one per equation (or piece of one) otherwise."""
        heading = self.runs(section.short or section.heading)  # the shapes a long heading names are on the frame
        later = self.continued(heading)
        equations = section.equations
        other = [b for b in section.blocks if not isinstance(b, EquationGroup | Notes)]
        if PACKED.fullmatch(section.id) and other and all(isinstance(b, Paragraph) for b in other):
            return self.packed_frames(heading, later, equations, tuple(b for b in other if isinstance(b, Paragraph)))
        if other:  # a table, a paragraph: one frame of their own, before the equations
            # a table keeps its natural width (up to twice the frame's), then the box shrinks it to the frame;
            # words are set at the frame's width
            box = "varwidth" if all(isinstance(b, Table) for b in other) else "minipage"
            width = "2\\linewidth" if box == "varwidth" else "\\linewidth"
            frames = [self.frame(heading, "\\centering\n\\adjustbox{max width=\\linewidth, max totalheight=0.8"
                                          "\\textheight}{\\begin{%s}{%s}\n%s\\end{%s}}\n"
                                 % (box, width, "".join(LatexPrinter._print(self, b) for b in other), box))]
            return frames + (self.section_frames(replace(section, blocks=tuple(b for b in section.blocks
                                                                               if b not in other)))
                             if equations else [])
        if all(len(eq.lines) == 1 for eq in equations):
            defined = [(eq.lhs, eq.lines[0], eq.tag) for eq in equations]
            return [self.frame(heading if start == 0 else later,
                               self.align(defined[start:start + LINES_PER_FRAME], section.notes if start == 0 else ()))
                    for start in range(0, len(defined), LINES_PER_FRAME)]
        if PACKED.fullmatch(section.id):
            return self.packed_frames(heading, later, equations)
        frames = []
        goal = self.goal(equations)
        reminder = "\\framesubtitle{\\small %s$\\displaystyle %s = %s$}\n" % (
            escape(self.settable(self.words.word("beamer", "goal"))), goal.lhs, goal.lines[0].rhs)
        for eq in equations:
            for start in range(0, len(eq.lines), LINES_PER_FRAME):
                chunk = eq.lines[start:start + LINES_PER_FRAME]
                first = eq.lhs if start == 0 else self.continued_lhs(eq, start)
                last = start + LINES_PER_FRAME >= len(eq.lines)
                rows: list[tuple[str, Line, str | None]] = [(first, chunk[0], None)]
                rows += [("", line, None) for line in chunk[1:]]
                if last:
                    rows[-1] = (rows[-1][0], rows[-1][1], eq.tag)
                notes = tuple(dict.fromkeys(line.note for line in chunk if line.note))
                if frames:  # the others recall the goal (not where it is itself shown from its start)
                    recalled = "" if eq is goal and start == 0 else reminder
                    frames.append(self.frame(later, recalled + self.align(rows, notes)))
                else:
                    frames.append(self.frame(heading, self.align(rows, notes)))
        return frames

    @staticmethod
    def goal(equations: Sequence[Equation]) -> Equation:
        """The quantity a section derives, as its definition: the error δ = ∂J/∂z when the section defines one
        (the output error's section derives ∂J/∂a and ∂a/∂z on the way), otherwise its first equation."""
        return next((eq for eq in equations if eq.lines[0].rule == "definition_delta"), equations[0])

    def packed_frames(self, heading: str, later: str, equations: Sequence[Equation],
                      lead: Sequence[Paragraph] = ()) -> list[str]:
        """A layer's rules (SPEC §9), its short equations together: the equations of one quantity (∂J/∂K: the
        chain rule for one element, then the lecturer's form of the whole) stay on one frame, and a frame takes
        such groups while they fit in ``PACKED_LINES`` rows and, at ``ROW_HEIGHT`` a row, in the height its
        notes leave (long notes take a group to the next frame rather than shrink the mathematics); a longer
        group is split as in ``section_frames``. ``lead`` (the shapes) is the first frame's subtitle, ``later``
        the title of the frames after it."""
        groups: dict[str, list[tuple[str, Line, str | None]]] = {}
        for eq in equations:
            rows = groups.setdefault(".".join(eq.id.split(".")[:2]), [])
            rows += [(eq.lhs if n == 0 else "", line, eq.tag if n == len(eq.lines) - 1 else None)
                     for n, line in enumerate(eq.lines)]
        pages: list[list[tuple[str, Line, str | None]]] = [[]]

        def fits(rows: list[tuple[str, Line, str | None]]) -> bool:
            notes = [line.note for _, line, _ in rows if line.note]
            above = lead if len(pages) == 1 else ()
            return len(rows) <= PACKED_LINES and len(rows) * ROW_HEIGHT <= self.room((*dict.fromkeys(notes), *above))

        for rows in groups.values():
            if pages[-1] and not fits(pages[-1] + rows):
                pages.append([])
            while len(rows) > PACKED_LINES:
                pages[-1] = rows[:PACKED_LINES]
                lhs = next(r[0] for r in reversed(rows[:PACKED_LINES]) if r[0])
                first = rows[PACKED_LINES]
                rows = [(first[0] or "%s = %s" % (lhs, rows[PACKED_LINES - 1][1].rhs), first[1], first[2]),
                        *rows[PACKED_LINES + 1:]]
                pages.append([])
            pages[-1].extend(rows)
        frames = []
        for n, rows in enumerate(p for p in pages if p):
            notes = tuple(dict.fromkeys(line.note for _, line, _ in rows if line.note))
            subtitle = "" if n else "".join("\\framesubtitle{\\small %s}\n" % self.runs(p) for p in lead)
            frames.append(self.frame(later if n else heading, subtitle + self.align(rows, notes)))
        return frames

    @staticmethod
    def continued_lhs(eq: Equation, start: int) -> str:
        """The left side of a continued equation: lhs = (the last side shown before)."""
        return "%s = %s" % (eq.lhs, eq.lines[start - 1].rhs)

    def align(self, rows: Sequence[tuple[str, Line, str | None]], notes: Any = ()) -> str:
        """lhs &= rhs & words, row n shown from overlay n on (every row at once in a handout)."""
        out = []
        for n, (lhs, line, tag) in enumerate(rows, start=1):
            relation = "\\mathrel{:=}" if line.relation == ":=" else "="
            words = self.kept(line.words)
            label = ("\\begin{varwidth}[c]{%s}\\raggedright\\small\\itshape %s\\end{varwidth}" % (LABEL_WIDTH, words)
                     if words else "")
            if tag:
                label += "\\quad(%s)" % escape(tag)
            label = "&&%s" % self.overlay(n, "\\text{\\small %s}" % label) if label else ""
            first, *more = self.pieces(line)
            out.append("%s &%s%s" % (self.overlay(n, lhs), self.overlay(n, "{}%s %s" % (relation, first)), label))
            out += ["&%s" % self.overlay(n, "\\quad %s" % piece) for piece in more]
        math = ("\\adjustbox{max width=\\linewidth, max totalheight=%.3g\\textheight}{$\\displaystyle"
                "\\begin{aligned}\n%s\n\\end{aligned}$}\n"
                % (self.room(notes), " \\\\[0.8ex]\n".join(out)))
        if notes:
            math += "\\par\\vspace{1.5ex plus 1fill}\n{\\small\n%s\n}\n" % "\n".join(  # never touching the mathematics
                "%s\\par" % self.kept(p) for p in notes)
        return "\\centering\n" + math

    @staticmethod
    def room(notes: Sequence[Paragraph]) -> float:
        """The height (a fraction of the text height) the mathematics may take above the frame's notes: 0.72,
        less ``NOTE_LINE`` for every line the notes take beyond ``SHORT_NOTES`` (estimated from their length,
        a Chinese character as wide as two Latin ones), so that long notes never push the frame off its page."""
        from ..document.words import plain

        lines = sum(-(-sum(2 if ord(c) > 0x2E80 else 1 for c in plain(p)) // NOTE_CHARS) for p in notes)
        return min(0.72, 0.72 - NOTE_LINE * (lines - SHORT_NOTES))

    def algorithm_frames(self, doc: Document) -> list[str]:
        """The reference's loop over the examples, its lines the document's own results: Δ := 0; for each
        example the forward pass, the output error, the hidden errors, the accumulation; then the gradient and
        the update. None for a document without an output error and an update."""
        from derive.model.notation import PROFILES

        from ..document.derivation import kind, summary

        parts: dict[str, list[Section]] = {kind(s.id): [] for s in doc.sections}
        for s in doc.sections:
            parts[kind(s.id)].append(s)
        if not parts.get("output_delta") or not parts.get("update") or not parts.get("forward"):
            return []
        words = self.words

        def results(k: str) -> list[Equation]:
            return [eq for s in parts.get(k, ()) for eq in summary([s], words).equations]

        def line(eq: Equation) -> str:
            relation = "\\mathrel{:=}" if eq.lines[-1].relation == ":=" else "="
            return "$\\displaystyle %s %s %s$" % (eq.lhs, relation, eq.lines[-1].rhs)

        def said(key: str) -> str:
            return escape(self.settable(words.word("beamer", key)))

        regularized = [eq for s in parts.get("regularized", ()) for eq in s.equations]
        accumulated = [eq for eq in regularized if eq.lines[0].relation == ":="]
        forward = [eq for s in parts["forward"] for eq in s.equations]
        count = PROFILES[doc.data.get("network", {}).get("notation", "ng")].templates["m"][0]
        rows: list[tuple[int, str]] = []
        if accumulated:
            rows.append((0, "%s%s%s" % (said("initialize"), ", ".join("$%s \\mathrel{:=} 0$" % eq.lhs
                                                                      for eq in accumulated), said("every_layer"))))
        rows.append((0, "%s$i = 1, \\dots, %s$%s" % (said("loop"), count, said("loop_end"))))
        rows.append((1, "%s; %s%s" % (line(forward[0]), said("forward"),
                                      ", ".join("$%s$" % eq.lhs for eq in forward[1:]))))
        rows += [(1, line(eq)) for eq in results("output_delta") + results("hidden_delta")]
        rows += [(1, line(eq)) for eq in accumulated]
        after = [(0, said("after"))]
        after += [(1, line(eq)) for eq in regularized if eq not in accumulated]
        after += [(1, line(eq)) for eq in results("update")]
        title = said("algorithm")
        frames: list[str] = []
        chunks = [part[start:start + ALGORITHM_LINES] for part in (rows, after)  # the loop, then what follows it
                  for start in range(0, len(part), ALGORITHM_LINES)]
        for chunk in chunks:
            body = "".join("\\hspace*{%.1fem}%s\\par\\smallskip\n" % (2.0 * depth, text) for depth, text in chunk)
            frames.append(self.frame(self.continued(title) if frames else title,
                                     "\\adjustbox{max width=\\linewidth, max totalheight=0.8\\textheight}{"
                                     "\\begin{minipage}{\\linewidth}\n%s\\end{minipage}}\n" % body))
        return frames

    def overlay(self, n: int, content: str) -> str:
        return content if self.settings["handout"] else "\\uncover<%d->{%s}" % (n, content)

    def _print_Figure(self, figure: Figure) -> str:
        from . import figures

        if figure.kind == "layers":  # a slide is wide and short: three layers a row keep the words legible
            from .layered_figures import layers_tikz

            return layers_tikz(figure.subject, per_row=3)
        if figure.caption is None:
            return figures.tikz(figure)
        return "{\\centering\n%s\\par}\n\\medskip\n{\\small %s\\par}\n" % (figures.tikz(figure),
                                                                           self.runs(figure.caption))


PRINTER = BeamerPrinter
