"""A Document as LaTeX: one align* block per equation group, the rule in words beside each step, tags on the
main equations. English documents compile with pdflatex, Chinese ones (ctex) with xelatex (``ENGINES``).
``body=True`` gives only the sections, to paste into one's own notes (needs amsmath, amssymb and pifont).

This module holds derive's one LaTeX escape table (``SPECIAL``); every LaTeX and Beamer document uses it.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from ..document import (
    Code,
    Document,
    Equation,
    EquationGroup,
    Figure,
    Line,
    Link,
    Math,
    Notes,
    Paragraph,
    Run,
    Section,
    Table,
    Text,
    Verdict,
)
from .printer import Printer

ENGINES: dict[str, str] = {"en": "pdflatex", "zh": "xelatex"}
"""the program each language's document is compiled with"""

PREAMBLES: dict[str, str] = {
    "pdflatex": "\\documentclass[11pt,a4paper]{article}\n"
                "\\usepackage[T1]{fontenc}\n"
                "\\usepackage[utf8]{inputenc}\n"
                "\\usepackage{lmodern}\n",
    "xelatex": "\\documentclass[11pt,a4paper,UTF8]{ctexart}\n",
}
COMMON = ("\\usepackage{amsmath,amssymb}\n"
          "\\usepackage{array,longtable}\n"
          "\\usepackage{pifont}\n"
          "\\usepackage{tikz}\n"
          "\\usepackage[margin=2cm]{geometry}\n"
          "\\allowdisplaybreaks\n"
          "\\setlength{\\parindent}{0pt}\n"
          "\\setlength{\\parskip}{0.4em}\n")

BREAKS_ANYWHERE = frozenset({"zh"})
"""languages whose lines may break between any two characters"""

KEPT = 4
"""the characters the last line of a note or a rule label keeps together in such a language"""
OPENING = "（「『《〈“‘【"
"""opening punctuation of Chinese text"""
SHORT_FORMULA = 24
"""the longest formula (characters of LaTeX) kept on that line with them"""

UNBROKEN = 30
"""the longest inline formula (characters of LaTeX) set as one unbreakable piece"""

SHAPE = re.compile(r"(?<=\()\d+(?:\s*\\times\s*\d+)+(?=\))")
"""a shape in parentheses inside a formula, (4 \\times 3)"""

WRAP = 62
"""a right-hand side wider than this (in shown symbols) is broken at its top-level + and −"""

SPECIAL: dict[str, str] = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
                           "%": r"\%", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
"""LaTeX's special characters in text, and how to write them"""

MARKS: dict[bool, str] = {True: r"\ding{51}", False: r"\ding{55}"}
"""a check mark and a cross mark (pifont), never a times sign"""

CODE_BREAKS = frozenset("+-*/^()[],_=|")
"""characters of code after which a line may break (code has no spaces to break at)"""

SETTABLE = "…–—‘’“”"
"""characters beyond Latin-1 that pdflatex's fonts set (besides the mathematics of document.words)"""

WIDE_TABLE = 4
"""a table of more columns than this wraps its cells (and breaks across pages)"""


def escape(plain: str) -> str:
    """Plain text as LaTeX text: every special character escaped."""
    return "".join(SPECIAL.get(c, c) for c in plain)


def settable(text: str, program: str) -> str:
    """``text`` with every character the program's fonts lack written as U+XXXX (pdflatex; xelatex sets all)."""
    if program != "pdflatex":
        return text
    return "".join(c if ord(c) <= 0xFF or c in SETTABLE else "U+%04X" % ord(c) for c in text)


def engine(language: str) -> str:
    """The program that compiles a document in ``language``: pdflatex, or xelatex for Chinese."""
    return ENGINES[language]


def width(tex: str) -> int:
    """A rough count of the symbols a formula shows (commands, braces and scripts' markup left out)."""
    import re

    tex = re.sub(r"\\(left|right|cdot|frac|partial|underbrace|substack|text)\b", " ", tex)
    tex = re.sub(r"\\[A-Za-z]+", "x", tex)
    return len(re.sub(r"[{}^_\s]", "", tex))


def title_block(doc: Document, printer: Printer) -> str:
    """Title, author and date as the article shows them."""
    meta = doc.meta
    out = "{\\LARGE\\bfseries %s\\par}\n" % escape(meta.title)
    if meta.author:
        out += "\\smallskip\n{\\large %s\\par}\n" % escape(meta.author)
    if meta.date:
        out += "\\smallskip\n{%s\\par}\n" % escape(meta.date)
    return out + "\\medskip\n%s\n\n" % printer.runs(doc.intro)


class LatexPrinter(Printer):
    format = "latex"
    _default_settings: ClassVar[dict[str, Any]] = {"body": False}

    language: str | None = None
    """the language of the document being printed (its engine decides which characters can be set)"""

    def _print_Document(self, doc: Document) -> str:
        self.language = doc.language
        sections = "\n".join(self._print(s) for s in doc.sections)
        if self.settings["body"]:
            return sections
        figure = "\\begin{center}\n%s\n\\end{center}\n\n" % self._print(doc.figure) if doc.figure else ""
        return (PREAMBLES[engine(doc.language)] + COMMON + "\\begin{document}\n" + title_block(doc, self)
                + figure + sections + "\\end{document}\n")

    def _print_Section(self, section: Section) -> str:
        heading = "\\section*{%s}\n" % self.runs(section.heading) if section.heading.runs else ""
        return "%s%s\n" % (heading, "".join(self._print(b) for b in section.blocks))

    def _print_EquationGroup(self, group: EquationGroup) -> str:
        rows = " \\\\[1.2ex]\n".join(self._print(eq) for eq in group.equations)
        return "\\begin{align*}\n%s\n\\end{align*}\n" % rows if rows else ""

    def _print_Equation(self, eq: Equation) -> str:
        rows = []
        for n, line in enumerate(eq.lines):
            rows.extend(self.rows(eq.lhs if n == 0 else "", line, eq.tag if n == len(eq.lines) - 1 else None))
        return " \\\\\n".join(rows)

    def rows(self, lhs: str, line: Line, tag: str | None = None) -> list[str]:
        """``lhs &= rhs`` with the rule beside it; a wide sum continues on further rows, one term each."""
        words = self.runs(line.words)
        if words:  # the rule in words, and the equation's tag after it
            label = " \\tag*{\\small\\itshape %s%s}" % (words, "\\quad(%s)" % escape(tag) if tag else "")
        else:
            label = " \\tag{%s}" % escape(tag) if tag else ""
        relation = "&%s " % ("\\mathrel{:=}" if line.relation == ":=" else "=")
        first, *more = self.pieces(line)
        return [lhs + " " + relation + first + label, *("&\\quad " + r + " \\notag" for r in more)]

    @staticmethod
    def pieces(line: Line) -> list[str]:
        """The right-hand side, broken at its top-level + and − when wider than ``WRAP`` shown symbols (a product
        with no top-level sum, at the + and − of the sum in its first brackets)."""
        if width(line.rhs) <= WRAP:
            return [line.rhs]
        terms = line.terms if len(line.terms) > 1 else inner_terms(line.rhs)
        if len(terms) == 1:
            return [line.rhs]
        rows, current = [], ""
        for term in terms:
            if current and width(current + term) > WRAP:
                rows.append(current)
                current = ""
            current += (" " if current else "") + term
        return [*rows, current]

    def _print_Notes(self, notes: Notes) -> str:
        return "{\\small\n%s\n}\n" % "\n\n".join(self.kept(p) for p in notes.paragraphs)

    def _print_Paragraph(self, p: Paragraph) -> str:
        return "\n" + self.kept(p) + "\n\n"

    def kept(self, p: Paragraph) -> str:
        """A note whose last ``KEPT`` characters stay on one line in a language that breaks between any two
        characters (Chinese): never a lone character wrapped onto a line of its own. A short formula among them
        (… 的 𝑚 个值 𝑟。) counts as one character and is kept with them."""
        runs = list(p.runs)
        if self.language not in BREAKS_ANYWHERE or not runs or not isinstance(runs[-1], Text):
            return self.runs(p)
        tail: list[Run] = []
        need = KEPT
        while runs and need > 0:
            run = runs.pop()
            if isinstance(run, Text) and len(run.text) > need:
                if run.text[-need] in OPENING and len(run.text) > need + 1:
                    need += 1  # never a box that starts with an opening bracket: xeCJK would narrow it
                runs.append(Text(run.text[:-need]))
                run = Text(run.text[-need:])
            elif not isinstance(run, Text) and not (isinstance(run, Math) and len(run.tex) <= SHORT_FORMULA):
                runs.append(run)
                break
            tail.insert(0, run)
            need -= len(run.text) if isinstance(run, Text) else 1
        return (self.runs(Paragraph(tuple(runs))) if runs else "") + "\\mbox{%s}" % self.runs(Paragraph(tuple(tail)))


    def _print_Table(self, table: Table) -> str:
        columns = len(table.header)
        head = " & ".join("\\textbf{%s}" % self.runs(c) for c in table.header)
        rows = "\n".join(" & ".join(self.runs(c) for c in row) + " \\\\" for row in table.rows)
        if columns <= WIDE_TABLE:
            return ("\\begin{center}\n\\begin{tabular}{%s}\n%s \\\\\n\\hline\n%s\n\\end{tabular}\n\\end{center}\n"
                    % ("l" * columns, head, rows))
        need = [_width(column) for column in zip(table.header, *table.rows)]
        spec = "".join(">{\\raggedright\\arraybackslash}p{%.3f\\dimexpr\\linewidth-%d\\tabcolsep\\relax}"
                       % (w / sum(need), 2 * columns) for w in need)
        return ("{\\small\n\\begin{longtable}{@{}%s@{}}\n%s \\\\\n\\hline\n\\endhead\n%s\n\\end{longtable}\n}\n"
                % (spec, head, rows))

    def _print_Figure(self, figure: Figure) -> str:
        from . import figures

        if figure.caption is None:
            return figures.tikz(figure)
        return "\\begin{center}\n%s\\end{center}\n{\\small %s\\par}\n\\medskip\n" % (figures.tikz(figure),
                                                                                self.runs(figure.caption))

    def _print_Text(self, run: Text) -> str:
        return escape(self.settable(run.text))

    def settable(self, text: str) -> str:
        return text if self.language is None else settable(text, engine(self.language))

    def _print_Code(self, run: Code) -> str:
        """Each character on its own: specials escaped, mathematics symbols in math, unsettable ones as U+XXXX."""
        from ..document.words import MATH_CHARS

        out = []
        for c in self.settable(run.text):
            out.append("$%s$" % MATH_CHARS[c].strip() if c in MATH_CHARS else escape(c))
            if c in CODE_BREAKS:  # a long answer or name wraps in a table cell instead of running over the next
                out.append("\\allowbreak{}")
        return "\\texttt{%s}" % "".join(out)

    def _print_Math(self, run: Math) -> str:
        """Inline mathematics; a short formula braced, so that a line never breaks inside it ("(4 ×" / "3)")."""
        if len(run.tex) <= UNBROKEN:
            return "${%s}$" % run.tex
        return "$%s$" % SHAPE.sub(r"{\g<0>}", run.tex)  # a long one breaks, never inside a shape 4 × 3

    def _print_Link(self, run: Link) -> str:
        return escape(self.settable(run.text))

    def _print_Verdict(self, run: Verdict) -> str:
        return MARKS[run.holds]


PRINTER = LatexPrinter


def inner_terms(tex: str) -> tuple[str, ...]:
    """``(t₁ + t₂ − t₃) \\cdot g`` split before the + and − of the first bracket's sum (one bracket deep), so that a
    wide product breaks inside its sum; brackets sized with \\left … \\right (which cannot span rows) are kept whole."""
    if "\\left" in tex or "\\right" in tex or not tex.startswith("("):
        return (tex,)
    cuts, depth = [], 0
    for n, c in enumerate(tex):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                break
        elif depth == 1 and c in "+-" and tex[n - 1:n] == " " and tex[n + 1:n + 2] == " ":
            cuts.append(n)
    bounds = [0, *cuts, len(tex)]
    return tuple(tex[a:b].strip() for a, b in zip(bounds, bounds[1:]))


def text(words: str) -> str:
    """A catalogue sentence as LaTeX: specials escaped, its mathematics in math mode."""
    from ..document.words import paragraph

    return LatexPrinter().runs(paragraph(words))


def _width(column: tuple[Paragraph, ...]) -> float:
    """A table column's share of the line: what its cells hold on average (in characters as set), but never less
    than its longest word that cannot break (a heading, a name) needs; capped, so prose columns wrap."""
    import re

    lengths, longest = [], 0
    for cell in column:
        visible = "".join(r.text if isinstance(r, Text | Code | Link) else r.tex if isinstance(r, Math) else "x"
                          for r in cell.runs)
        lengths.append(len(visible) * (0.6 if any(isinstance(r, Math) for r in cell.runs) else 1.0))
        words = re.split(r"[\s" + re.escape("".join(CODE_BREAKS)) + r"]+", visible)
        longest = max(longest, *(len(w) for w in words))
    return min(45.0, max(sum(lengths) / len(lengths), 2.2 * (longest + 1) + 4))  # the word and its break character
