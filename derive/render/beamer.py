"""A Document as a Beamer slide deck: one idea per frame, each step revealed on its own overlay.

The deck opens with a title and the network diagram; then every section follows. A section of one-line
definitions (the forward pass, the update, the summary) is one frame, split after ``LINES_PER_FRAME``
rows; a section of derivations gets one frame per equation (lhs = rhs₁ = rhs₂ = …), a long one split over
frames of ``LINES_PER_FRAME`` steps. ``handout=True`` prints the deck without overlays
(``\\documentclass[handout]{beamer}``). English decks compile with pdflatex, Chinese ones with xelatex.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from ..document import Document, Equation, EquationGroup, Figure, Line, Notes, Section
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
            "\\setbeamertemplate{navigation symbols}{}\n"
            "\\usefonttheme[onlymath]{serif}\n"
            "\\setbeamercovered{invisible}\n")

LINES_PER_FRAME = 5
"""at most this many rows of mathematics on a frame"""


class BeamerPrinter(LatexPrinter):
    format = "beamer"
    _default_settings: ClassVar[dict[str, Any]] = {"body": False, "diagram": True, "handout": False}

    def _print_Document(self, doc: Document) -> str:
        frames = ["\\begin{frame}\n\\titlepage\n\\end{frame}\n"]
        if self.settings["diagram"] and doc.figure is not None:
            frames.append(self.frame(self.network_title(doc),
                                     "\\centering\n\\adjustbox{height=0.78\\textheight, max width=\\linewidth}{%%\n"
                                     "%s}\n" % self._print(doc.figure)))
        for section in doc.sections:
            frames.extend(self.section_frames(section))
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
        from ..text import catalogue

        return catalogue(doc.language).word("beamer", "network")

    def frame(self, title: str, content: str) -> str:
        return "\\begin{frame}{%s}\n%s\\end{frame}\n" % (title, content)

    def section_frames(self, section: Section) -> list[str]:
        """One frame for a section of one-line definitions; one per equation (or piece of one) otherwise."""
        heading = self.runs(section.heading)
        equations = section.equations
        other = [b for b in section.blocks if not isinstance(b, EquationGroup | Notes)]
        if other:  # a table, a paragraph: one frame of their own, before the equations
            frames = [self.frame(heading, "\\centering\n\\adjustbox{max width=\\linewidth, max totalheight=0.8"
                                          "\\textheight}{\\begin{minipage}{\\linewidth}\n%s\\end{minipage}}\n"
                                 % "".join(LatexPrinter._print(self, b) for b in other))]
            return frames + (self.section_frames(Section(section.id, section.heading,
                                                         tuple(b for b in section.blocks if b not in other)))
                             if equations else [])
        if all(len(eq.lines) == 1 for eq in equations):
            defined = [(eq.lhs, eq.lines[0], eq.tag) for eq in equations]
            return [self.frame(heading, self.align(defined[start:start + LINES_PER_FRAME],
                                                   section.notes if start == 0 else ()))
                    for start in range(0, len(defined), LINES_PER_FRAME)]
        frames = []
        for eq in equations:
            for start in range(0, len(eq.lines), LINES_PER_FRAME):
                chunk = eq.lines[start:start + LINES_PER_FRAME]
                first = eq.lhs if start == 0 else self.continued(eq, start)
                last = start + LINES_PER_FRAME >= len(eq.lines)
                rows: list[tuple[str, Line, str | None]] = [(first, chunk[0], None)]
                rows += [("", line, None) for line in chunk[1:]]
                if last:
                    rows[-1] = (rows[-1][0], rows[-1][1], eq.tag)
                notes = tuple(dict.fromkeys(line.note for line in chunk if line.note))
                frames.append(self.frame(heading, self.align(rows, notes)))
        return frames

    @staticmethod
    def continued(eq: Equation, start: int) -> str:
        """The left side of a continued equation: lhs = (the last side shown before)."""
        return "%s = %s" % (eq.lhs, eq.lines[start - 1].rhs)

    def align(self, rows: Sequence[tuple[str, Line, str | None]], notes: Any = ()) -> str:
        """lhs &= rhs & words, row n shown from overlay n on (every row at once in a handout)."""
        out = []
        for n, (lhs, line, tag) in enumerate(rows, start=1):
            relation = "\\mathrel{:=}" if line.relation == ":=" else "="
            words = self.runs(line.words)
            if tag:
                words += "\\quad(%s)" % escape(tag)
            label = "&&%s" % self.overlay(n, "\\text{\\small\\itshape %s}" % words) if words else ""
            out.append("%s &%s%s" % (self.overlay(n, lhs), self.overlay(n, "{}%s %s" % (relation, line.rhs)), label))
        math = ("\\adjustbox{max width=\\linewidth}{$\\displaystyle\\begin{aligned}\n%s\n\\end{aligned}$}\n"
                % " \\\\[0.8ex]\n".join(out))
        if notes:
            math += "\\vfill\n{\\small\n%s\n}\n" % "\n".join("%s\\par" % self.runs(p) for p in notes)
        return "\\centering\n" + math

    def overlay(self, n: int, content: str) -> str:
        return content if self.settings["handout"] else "\\uncover<%d->{%s}" % (n, content)

    def _print_Figure(self, figure: Figure) -> str:
        from . import figures

        return figures.tikz(figure)


PRINTER = BeamerPrinter
