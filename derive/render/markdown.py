"""A Document as Markdown: headings, and per equation group a ``$$`` block (aligned, the rule in words beside
each step) that GitHub and Jupyter (MathJax) both render; inline mathematics as ``$…$``. ``math(doc)`` is the
formulas alone, for ``_repr_latex_``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from ..document import (
    Code,
    Document,
    Equation,
    EquationGroup,
    Figure,
    Link,
    Math,
    Notes,
    Paragraph,
    Section,
    Table,
    Text,
    Verdict,
)
from .printer import Printer

RELATIONS: dict[str, str] = {"=": "=", ":=": r"\mathrel{:=}"}

_TEXT_SAFE: dict[int, str | None] = {ord(c): r for c, r in {"{": "(", "}": ")", "\\": None, "$": None, "&": "+",
                                                          "#": None, "%": None, "^": None, "_": " "}.items()}
"""characters that would end or escape \\text{…}, and what they become"""


def block(equations: Sequence[Equation], *, words: bool = True) -> str:
    """One ``$$ \\begin{aligned} … \\end{aligned} $$`` block; no row starts with + or − (Markdown lists)."""
    groups = []
    for eq in equations:
        rows = []
        for n, line in enumerate(eq.lines):
            said = _text(_plain(line.words)) if words else ""
            if words and eq.tag and n == len(eq.lines) - 1:
                said += " (%s)" % _text(eq.tag)
            rule = r" && \text{%s}" % said if said.strip() else ""
            rows.append("%s &%s %s%s" % (eq.lhs if n == 0 else "", RELATIONS[line.relation], line.rhs, rule))
        groups.append(" \\\\\n".join(rows))
    return "$$\n\\begin{aligned}\n%s\n\\end{aligned}\n$$" % " \\\\[6pt]\n".join(groups)


def _plain(p: Paragraph) -> str:
    return "".join(r.text if isinstance(r, Text | Code | Link) else "✓✗"[not r.holds] if isinstance(r, Verdict)
                   else "$%s$" % r.tex for r in p.runs)


def _text(words: str) -> str:
    """Words inside \\text{…}, without the characters that would end or escape it (inline math kept)."""
    pieces = words.split("$")
    return "".join(p.translate(_TEXT_SAFE) if n % 2 == 0 else "$%s$" % p for n, p in enumerate(pieces))


class MarkdownPrinter(Printer):
    format = "markdown"
    _default_settings: ClassVar[dict[str, Any]] = {}

    def _print_Document(self, doc: Document) -> str:
        out = [f"# {_escape(doc.meta.title)}", ""]
        out += [f"*{_escape(x)}*\n" for x in (doc.meta.author, doc.meta.date) if x]
        out += [self.runs(doc.intro), ""]
        if doc.figure is not None and (figure := self._print(doc.figure)):
            out += [figure]
        out += [self._print(s) for s in doc.sections]
        return "\n".join(out)

    def _print_Section(self, section: Section) -> str:
        heading = [f"## {self.runs(section.heading)}", ""] if section.heading.runs else []
        return "\n".join([*heading, *(self._print(b) for b in section.blocks)])

    def _print_EquationGroup(self, group: EquationGroup) -> str:
        return block(group.equations) + "\n" if group.equations else ""

    def _print_Notes(self, notes: Notes) -> str:
        return "\n".join(f"- {self.runs(p)}" for p in notes.paragraphs) + "\n"

    def _print_Paragraph(self, p: Paragraph) -> str:
        return self.runs(p) + "\n"

    in_table = False
    """within a table a bar would end the cell: none is written"""

    def _print_Table(self, table: Table) -> str:
        self.in_table = True
        try:
            head = "| " + " | ".join(self.runs(c) for c in table.header) + " |"
            rule = "|" + "---|" * len(table.header)
            rows = ["| " + " | ".join(self.runs(c) for c in row) + " |" for row in table.rows]
        finally:
            self.in_table = False
        return "\n".join([head, rule, *rows]) + "\n"

    def _print_Figure(self, figure: Figure) -> str:
        from . import figures

        return figures.draw("mermaid", figure) + "\n" if figures.has("mermaid", figure) else ""

    def _print_Text(self, run: Text) -> str:
        return _escape(run.text)

    def _print_Math(self, run: Math) -> str:
        return "$%s$" % (run.tex.replace("|", "\\vert ") if self.in_table else run.tex)

    def _print_Code(self, run: Code) -> str:
        """A code span (which shows HTML as text); no backtick or table bar can end it."""
        return "`%s`" % run.text.replace("`", "'").replace("|", "\\|") if run.text else ""

    def _print_Link(self, run: Link) -> str:
        return "[%s](%s)" % (_escape(run.text), run.href.replace(")", "%29").replace(" ", "%20"))

    def _print_Verdict(self, run: Verdict) -> str:
        return "✓" if run.holds else "✗"


def _escape(text: str) -> str:
    """Plain text in Markdown: the characters that would start emphasis, code or a link escaped."""
    return "".join("\\" + c if c in "\\`*_<>$|" else c for c in text).replace("](", "]\\(")


def math(doc: Document) -> str:
    """The equations alone, one ``$$`` block per section (what Jupyter's LaTeX display expects)."""
    return "\n".join(block(s.equations, words=False) for s in doc.sections if not s.repeats) + "\n"


PRINTER = MarkdownPrinter
