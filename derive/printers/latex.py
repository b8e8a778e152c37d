"""A derivation as a LaTeX document: one align* block per section, the rule in words beside each step.

English documents compile with pdflatex, Chinese ones (ctex) with xelatex: ``engine(d)`` names the
program. ``body=True`` gives only the sections, to paste into one's own notes (needs amsmath only).
"""

from __future__ import annotations

import re
from typing import Any

from ..diagram import network_tikz
from ..steps import Derivation
from .layout import Document, Equation, Line, Part, document, width, with_summary

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
          "\\usepackage{tikz}\n"
          "\\usepackage[margin=2cm]{geometry}\n"
          "\\allowdisplaybreaks\n"
          "\\setlength{\\parindent}{0pt}\n"
          "\\setlength{\\parskip}{0.4em}\n")

WRAP = 62
"""a right-hand side wider than this (in shown symbols) is broken at its top-level + and −"""

MATH_CHARS: dict[str, str] = {
    "δ": r"\delta ", "Θ": r"\Theta ", "Δ": r"\Delta ", "λ": r"\lambda ", "α": r"\alpha ", "σ": r"\sigma ",
    "η": r"\eta ", "ε": r"\varepsilon ", "θ": r"\theta ", "Σ": r"\Sigma ", "∂": r"\partial ", "∇": r"\nabla ",
    "≠": r"\neq ", "≥": r"\geq ", "≤": r"\leq ", "∘": r"\circ ", "·": r"\cdot ", "×": r"\times ", "−": "-",
    "′": "'", "₀": "_0", "ᵀ": "^{T}", "²": "^2", "→": r"\to ",
    "✓": r"\checkmark ", "✗": r"\times ",
    "γ": r"\gamma ", "β": r"\beta ", "μ": r"\mu ", "√": r"\surd ",
}
"""characters of the catalogue's plain text that LaTeX sets in math mode"""

_SCRIPT = r"\^\([^)]*\)|\^\{[^}]*\}|\^[A-Za-z0-9+]+"
_TOKEN = r"(?:[%s]|%s|[A-Za-z](?=[₀ᵀ²^]))" % ("".join(MATH_CHARS), _SCRIPT)
_RUN = re.compile(r"%s(?:%s|_[A-Za-z0-9]+)*" % (_TOKEN, _TOKEN))
"""a stretch of math: symbols, scripts and the letters carrying them (∂b^3 is one stretch, never $…$$…$)"""
_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#", "%": r"\%",
            "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def engine(d: Derivation) -> str:
    """The program that compiles ``d``'s document: pdflatex, or xelatex for Chinese."""
    return ENGINES[d.network.language]


def text(words: str) -> str:
    """Catalogue text as LaTeX: specials escaped, Greek letters, scripts and operators in math mode."""
    out, pos = [], 0
    for m in _RUN.finditer(words):
        out.append(_escape(words[pos:m.start()]))
        out.append("$%s$" % _math(m.group()))
        pos = m.end()
    out.append(_escape(words[pos:]))
    return "".join(out)


def _escape(plain: str) -> str:
    return "".join(_SPECIAL.get(c, c) for c in plain)


def _math(run: str) -> str:
    run = re.sub(r"\^\(([^)]*)\)", r"^{(\1)}", run)
    run = re.sub(r"\^([A-Za-z0-9+]+)", r"^{\1}", run)
    run = re.sub(r"_([A-Za-z0-9]+)", r"_{\1}", run)
    return re.sub(r" (?=[\^_'])", "", "".join(MATH_CHARS.get(c, c) for c in run)).strip()


def render(d: Derivation, *, body: bool = False, **options: Any) -> str:
    """The derivation as a standalone LaTeX document, or (``body=True``) its sections only."""
    doc = document(d)
    sections = "\n".join(_part(p) for p in with_summary(doc))
    if body:
        return sections
    return (PREAMBLES[engine(d)] + COMMON + "\\begin{document}\n"
            + "{\\LARGE\\bfseries %s\\par}\n\\medskip\n%s\n\n" % (text(doc.title), text(doc.network))
            + "\\begin{center}\n%s\n\\end{center}\n\n" % network_tikz(d.network)
            + sections + "\\end{document}\n")


def _part(part: Part) -> str:
    rows = " \\\\[1.2ex]\n".join(_equation(eq) for eq in part.equations)
    out = "\\section*{%s}\n\\begin{align*}\n%s\n\\end{align*}\n" % (text(part.heading), rows)
    if part.notes:
        out += "{\\small\n%s\n}\n" % "\n\n".join(text(n) for n in part.notes)
    return out + "\n"


def _equation(eq: Equation) -> str:
    rows = []
    for n, line in enumerate(eq.lines):
        rows.extend(_rows(eq.lhs if n == 0 else "", line))
    return " \\\\\n".join(rows)


def _rows(lhs: str, line: Line) -> list[str]:
    """``lhs &= rhs`` with the rule as a tag; a wide sum continues on further rows, one term each."""
    tag = " \\tag*{\\footnotesize\\itshape %s}" % text(line.words) if line.words else ""
    relation = "&%s " % ("\\mathrel{:=}" if line.relation == ":=" else "=")
    if width(line.rhs) <= WRAP or len(line.terms) == 1:
        return [lhs + " " + relation + line.rhs + tag]
    rows, current = [], ""
    for term in line.terms:
        if current and width(current + term) > WRAP:
            rows.append(current)
            current = ""
        current += (" " if current else "") + term
    rows.append(current)
    first = lhs + " " + relation + rows[0] + tag
    return [first, *("&\\quad " + r + " \\notag" for r in rows[1:])]


def standalone(d: Derivation) -> Document:
    """The laid-out document (for printers that want the same words)."""
    return document(d)
