"""Catalogue sentences as paragraphs: the stretches of mathematics in them (Greek letters, operators, scripts
and the letters carrying them) become ``Math`` runs, so that no format sets mathematics as upright text."""

from __future__ import annotations

import re

from . import Code, Link, Math, Paragraph, Run, Text, Verdict

MATH_CHARS: dict[str, str] = {
    "δ": r"\delta ", "Θ": r"\Theta ", "Δ": r"\Delta ", "λ": r"\lambda ", "α": r"\alpha ", "σ": r"\sigma ",
    "η": r"\eta ", "ε": r"\varepsilon ", "θ": r"\theta ", "Σ": r"\sum ", "∂": r"\partial ", "∇": r"\nabla ",
    "≠": r"\neq ", "≥": r"\geq ", "≤": r"\leq ", "∘": r"\circ ", "·": r"\cdot ", "×": r"\times ", "−": "-",
    "′": "'", "₀": "_0", "ᵀ": r"^{\mathsf{T}}", "²": "^2", "→": r"\to ",
    "γ": r"\gamma ", "β": r"\beta ", "μ": r"\mu ", "√": r"\surd ",
}
ITALIC: dict[str, str] = {**{chr(0x1D44E + n): chr(ord("a") + n) for n in range(26) if n != 7},
                          "ℎ": "h", **{chr(0x1D434 + n): chr(ord("A") + n) for n in range(26)}}
"""mathematical italic letters (𝑎, 𝑚, 𝑗 …): how a catalogue writes a letter that is mathematics (𝑚 examples,
𝑗 ≠ 0), which a plain Latin letter cannot say (a is also the article); plain text shows them in italics"""
MATH_CHARS.update({**ITALIC, "𝟏": r"\mathbf{1}", "½": r"\tfrac{1}{2}"})
LETTERS = "".join(ITALIC) + "δΘΔλασηεθγβμ"
"""letters that are only ever mathematics"""

LABELS = frozenset({"in", "out", "ih", "hh", "max", "min"})
"""subscripts that are words, not indices (𝑛_in, 𝑏_ih, 𝐶_out): set upright, as the equations set them; a pair of
index letters (Θ_ij) stays italic"""

MARKS: dict[str, bool] = {"✓": True, "✗": False}
"""verdict marks: each format draws a check mark or a cross mark (never a times sign)"""

OPERATOR_NAMES = frozenset({"tanh", "exp", "log", "sin", "cos"})
"""function names LaTeX sets as operators (\\tanh); another word is an \\operatorname, a letter stays a letter"""
FUNCTION_WORDS = (*sorted(OPERATOR_NAMES), "rowsum", "softmax", "ReLU")
"""function names a catalogue writes inside a formula — tanh′ = 1 − tanh², rowsum(𝑃), softmax(𝑆): set as
operators with the formula (a word alone, "the softmax", stays a word)"""
_FUNCTION = r"(?<![A-Za-z])(?:%s)(?=[′²(])" % "|".join(FUNCTION_WORDS)
_SCRIPT = r"\^\([^)]*\)|\^\{[^}]*\}|\^[A-Za-z0-9+]+"
_CJK = "\u2e80"
"""what every CJK character is read as while the stretches of mathematics are found (``_masked``): one character
excluded from groups costs the patterns far less to compile than the range of them all"""
_GROUP = r"\((?:[^()%s]|\((?:[^()%s]|\([^()%s]*\))*\))*\)" % (_CJK, _CJK, _CJK)
"""a parenthesised group of mathematics, two levels of nesting: (z), (Θ^(l)), (∂J/∂P − rowsum(δ^(l) ∘ O)); no
CJK text"""
_INNER = r"(?:[^()%s]|\((?:[^()%s]|\([^()%s]*\))*\))" % (_CJK, _CJK, _CJK)
_WORD = r"(?<![A-Za-z])(?!(?:%s)(?![A-Za-z]))[A-Za-z]{2}" % "|".join(FUNCTION_WORDS)
_MATH_GROUP = r"\((?!%s*?%s)%s*[%s]%s*\)" % (_INNER, _WORD, _INNER, LETTERS, _INNER)
"""a parenthesised formula: (λ/2𝑚), (𝑥, 𝑦), (𝑎 → 0), (∂𝐽/∂𝑃 − rowsum(δ ∘ 𝑂)) — a math letter inside, no
word but a function's name"""
_TOKEN = r"(?:𝟏\[[^\]]*\]|%s|%s|∂[A-Za-z%s]|%s(?=[ᵀ²^])|[%s]|%s|[A-Za-z](?=[₀ᵀ²^′])|\d+(?=[%s]))" % (
    _FUNCTION, _MATH_GROUP, LETTERS, _GROUP, "".join(MATH_CHARS), _SCRIPT, LETTERS)
_RUN = re.compile(r"%s(?:%s|_[A-Za-z0-9]+|_\([^()]*\)|/(?=%s)|(?<=[′A-Za-z)%s])%s)*" % (_TOKEN, _TOKEN, _TOKEN, LETTERS,
                                                                            _GROUP))
"""a stretch of math: symbols, scripts and the letters carrying them (∂b^3 is one stretch, never $…$$…$; a
subscript of more than a letter in parentheses, ℎ_(t−1), is set as ℎ_{t−1}), a
quotient ∂J/∂a, a group raised to a power (Θ^(l))ᵀ, and the argument of a function g′(z)"""
_BETWEEN = re.compile(r" (?:[=·∘×+−] )?")
"""what joins two stretches into one formula: a space, or a binary operator between spaces"""
_PRODUCT = re.compile(r"(?<![A-Za-z])([a-z%s])\(1 ?[−-] ?\1\)" % LETTERS)
"""a(1 − a): the sigmoid's derivative written in a sentence, one formula"""


def paragraph(words: str) -> Paragraph:
    """A catalogue sentence as words, inline mathematics and verdict marks."""
    runs: list[Run] = []
    for piece in re.split("([%s])" % "".join(MARKS), words):
        if piece in MARKS:
            runs.append(Verdict(MARKS[piece]))
        elif piece:
            runs.extend(_runs(piece))
    return Paragraph(tuple(runs))


def _masked(words: str) -> str:
    """``words`` with every CJK character (U+2E80 to U+FFFF) as ``_CJK``, each in its place."""
    return "".join(_CJK if "\u2e80" <= c <= "\uffff" else c for c in words)


def _runs(words: str) -> list[Run]:
    out: list[Run] = []
    pos = 0
    masked = _masked(words)
    spans = sorted([(m.start(), m.end()) for m in _PRODUCT.finditer(masked)]
                   + [(m.start(), m.end()) for m in _RUN.finditer(masked)])
    for start, end in spans:
        if start < pos:  # inside a product already taken
            continue
        if start > pos:
            out.append(Text(words[pos:start]))
        if out and isinstance(out[-1], Text) and len(out) > 1 and isinstance(out[-2], Math) \
                and _BETWEEN.fullmatch(out[-1].text):
            joined = out[-1].text
            out.pop()
            previous = out.pop()
            assert isinstance(previous, Math)
            out.append(Math(previous.tex + " " + math(joined.strip()) + " " + math(words[start:end])))
        elif start == pos and out and isinstance(out[-1], Math):
            out[-1] = Math(out[-1].tex + " " + math(words[start:end]))
        else:
            out.append(Math(math(words[start:end])))
        pos = end
    if pos < len(words):
        out.append(Text(words[pos:]))
    return _numbers(out)


_OPERATOR = re.compile(r"^( ?[=<>≠≤≥→−+/] ?)(-?\d+(?:\.\d+)?(?:/\d+)?)(?![\d.]*[A-Za-z])")
"""a relation or operator and a number after a formula: 𝑎 = 0.5, 𝑗 ≠ 0 (one formula with it)"""
_AFTER = re.compile(r"^( ?)(-?\d+(?:\.\d+)?)(?![\d.]*[A-Za-z])")
_ENDS_IN_OPERATOR = re.compile(r"(?:\\neq|\\to|\\leq|\\geq|[=<>+\-/])\s*$")


_FUNCTION_NAME = re.compile(r"[A-Za-z]+|\d+(?:\.\d+)?")


def _numbers(runs: list[Run]) -> list[Run]:
    """Numbers that a formula's relation or operator binds, taken into the formula, and a function's name between
    a relation and its argument (𝑎 = tanh(𝑧)); formulas that then meet are one formula."""
    out: list[Run] = []
    for run in _bound(runs):
        if isinstance(run, Math) and out and isinstance(out[-1], Math):
            out[-1] = Math(out[-1].tex + run.tex)
        elif isinstance(run, Math) and len(out) > 1 and isinstance(out[-1], Text) and not out[-1].text.strip() \
                and isinstance(out[-2], Math) and (_STARTS_WITH_OPERATOR.match(run.tex)
                                                   or _ENDS_IN_OPERATOR.search(out[-2].tex)):
            out.pop()  # 𝑎 = 1 − 𝑏: a formula and the operator that continues it, one formula
            before = out.pop()
            assert isinstance(before, Math)
            out.append(Math(before.tex + " " + run.tex))
        else:
            out.append(run)
    return out


_STARTS_WITH_OPERATOR = re.compile(r"^\s*(?:[=<>+\-/]|\\(?:neq|to|leq|geq|times|cdot|circ)(?![A-Za-z]))")


def _name(word: str) -> str:
    if word in OPERATOR_NAMES:
        return "\\" + word + " "
    return r"\operatorname{%s}" % word if len(word) > 1 and not word[0].isdigit() else word


_CALLED = re.compile(r"^( ?[=<>≠≤≥→−+] ?)?([A-Za-z]+|\d+(?:\.\d+)?)$")
"""a relation and a function's name (or a number) before its argument in parentheses: 𝑎 = tanh(𝑧)"""


def _bound(runs: list[Run]) -> list[Run]:
    out: list[Run] = []
    for n, run in enumerate(runs):
        previous = out[-1] if out else None
        if not isinstance(run, Text) or not isinstance(previous, Math):
            out.append(run)
            continue
        follows = runs[n + 1] if n + 1 < len(runs) else None
        called = _CALLED.match(run.text)
        if called and isinstance(follows, Math) and follows.tex.startswith("(") \
                and (called.group(1) or _ENDS_IN_OPERATOR.search(previous.tex)):
            relation = math(called.group(1).strip()) if called.group(1) else ""
            out[-1] = Math(" ".join(filter(None, (previous.tex, relation, _name(called.group(2))))))
            continue
        m = (_AFTER if _ENDS_IN_OPERATOR.search(previous.tex) else _OPERATOR).match(run.text)
        if m:
            out[-1] = Math(previous.tex + " " + math(m.group(1).strip()) + " " + m.group(2)
                           if m.group(1).strip() else previous.tex + " " + m.group(2))
            rest = run.text[m.end():]
            if rest:
                out.append(Text(rest))
            continue
        out.append(run)
    return out


def math(run: str) -> str:
    """A stretch of catalogue mathematics as LaTeX."""
    run = re.sub(r"\^\(([^)]*)\)", r"^{(\1)}", run)
    run = re.sub(r"\^([A-Za-z0-9+]+)", r"^{\1}", run)
    run = re.sub(r"_\(([^()]*)\)", r"_{\1}", run)
    run = re.sub(r"_([A-Za-z0-9]+)", lambda m: r"_{\mathrm{%s}}" % m.group(1) if m.group(1) in LABELS
                 else "_{%s}" % m.group(1), run)
    tex = re.sub(r" (?=[\^_'])", "", "".join(MATH_CHARS.get(c, c) for c in run)).strip()
    tex = _NAMES.sub(lambda m: _name(m.group(0)), tex)
    return _ROOT.sub(r"\\sqrt{\1}", tex)


_NAMES = re.compile(r"(?<![A-Za-z\\{])(?:%s)(?![A-Za-z])" % "|".join(FUNCTION_WORDS))
_ROOT = re.compile(r"\\surd\s*([A-Za-z](?:_\{[^}]*\})?)")
"""√ before one letter (with its subscript): the root drawn over it, √𝑑_k as \\sqrt{d_k}"""


def plain(p: Paragraph) -> str:
    """The paragraph's words as one plain string (headings of a table of contents, the JSON text)."""
    return "".join(r.text if isinstance(r, Text | Code | Link) else r.tex if isinstance(r, Math) else "✓✗"[not r.holds]
                   for r in p.runs)
