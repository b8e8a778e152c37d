"""The formula questions of a sheet: §8 targets, their derived answers and the mistakes that apply.

Everything comes from the grader's machinery: a target's expected result is ``Target.build`` with the derived
recipe, a mistake's wrong formula is the same target built with the mistake's recipe (mistakes.py), and a
mistake applies when the grader itself tells it apart from the right answer and names it (its ``Key``). The
formulas are written in the §8 answer language by ``answer_text`` and read back with the answer parser, so a
question is only asked when its answer can be written (a ReLU's step function cannot: such a target is left out).
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from sympy.printing.str import StrPrinter

from derive.catalogue import catalogue
from derive.model.network import Network
from derive.model.notation import PROFILES, parse_name, word

from ..grading.errors import Unreadable
from ..grading.grader import Grader, _agree, grader_of
from ..grading.language import function_names, parse
from ..grading.mistakes import MISTAKES
from ..grading.names import Vocabulary
from ..grading.targets import DERIVED, NotApplicable, parse_target, target_names
from .model import Formula, Mistake


def question_targets(net: Network) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """The §8 targets asked, as (kind, index): the output error, a hidden error (when there is a hidden layer
    between two others), a weight's gradient, and (with a penalty) the regularized gradient of a weight and of a bias,
    which the penalty leaves out."""
    L = net.L
    targets: list[tuple[str, tuple[int, ...]]] = [("delta", (L, 1))]
    if L >= 3:
        targets.append(("delta", (L - 1, 1)))
    targets.append(("dTheta", (L - 1, 1, 1)))
    if net.lam != 0:
        targets += [("D", (1, 1, 1)), ("D", (1, 1, 0))]
    return tuple(targets)


def written(net: Network, kind: str, index: tuple[int, ...], *, target: bool = False) -> str:
    """The name of quantity (or, with ``target``, target) ``kind[index…]`` as the network's notation writes it:
    ``Theta[1][2][0]`` is ``b[2][2]`` under nielsen."""
    profile = PROFILES[net.notation]
    table = target_names(net) if target else profile.names
    if table:
        # a name with a fixed last index (b for column 0) before the general one (w)
        for name, alias in sorted(table.items(), key=lambda item: item[1].last is None):
            if alias.kind != kind:
                continue
            shown = alias.written(tuple(str(i) for i in index))
            if shown is not None:
                return name + "".join(f"[{i}]" for i in shown)
    return kind + "".join(f"[{i}]" for i in index)


def written_symbol(net: Network, symbol: sp.Symbol) -> str:
    """A quantity symbol of a derived expression (``a[3][1]``, ``lambda``) as the notation writes it."""
    parsed = parse_name(symbol.name)
    if parsed is None:
        return written(net, symbol.name, ())
    kind, index = parsed
    return written(net, kind, tuple(int(i) for i in index))


class _AnswerPrinter(StrPrinter):
    """SymPy's str printer with quantity symbols in the notation's names (its ``**``, ``exp``, ``log``, ``tanh``
    and ``sqrt`` are the answer language's)."""

    def __init__(self, net: Network) -> None:
        super().__init__({"order": "none"})
        self.net = net

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return written_symbol(self.net, expr)


class NotWritable(Exception):
    """A derived expression that the §8 answer language cannot write (a step function, say)."""


def answer_text(net: Network, expr: sp.Expr) -> str:
    """``expr`` in the §8 answer language, checked by reading it back with the answer parser (and its value with
    the expression's); NotWritable when the language has no words for it."""
    text = _AnswerPrinter(net).doprint(expr)
    try:
        formula = parse(text, Vocabulary(net))
    except Unreadable as e:
        raise NotWritable(f"{text}: {e}") from None
    back = formula.sympy()
    if sp.simplify(back - expr) != 0:
        raise NotWritable(f"{text} does not read back as {expr}")
    return text


def _prompt(net: Network, language: str, kind: str, index: tuple[int, ...], name: str) -> str:
    words = catalogue(language)
    if kind == "delta":
        meaning = words.word("quiz", "meaning_delta", layer=index[0], unit=index[1])
    else:
        weight = written(net, "Theta", index)
        meaning = words.word("quiz", f"meaning_{kind}", weight=weight)
    return words.word("quiz", "formula_prompt", target=name, meaning=meaning, allowed=Vocabulary(net).allowed,
                      functions=" ".join(function_names()))


def formula_question(net: Network, language: str, kind: str, index: tuple[int, ...]) -> Formula:
    """The formula question on target ``kind[index…]``; NotWritable when its answer cannot be written."""
    grader: Grader = grader_of(net)
    name = written(net, kind, index, target=True)
    target = parse_target(net, name)
    key = grader.key(name)
    expected = answer_text(net, key.expected)
    words = catalogue(language)
    mistakes: list[Mistake] = []
    kept: list[np.ndarray] = []
    for mistake in MISTAKES.values():
        named = [values for mistake_id, values in key.mistakes if mistake_id == mistake.id]
        for variant in mistake.variants:
            recipe = variant(DERIVED)
            try:
                wrong = target.build(grader.model, recipe)
                if wrong == key.expected:  # the mistake is made below the deeper errors: write them out
                    wrong = target.build(grader.model, recipe, expand=True)
            except NotApplicable:
                continue
            values = grader._evaluate(wrong, grader.draws)
            # the grader must tell it from the right answer and name this mistake (not an earlier one) for it
            if _agree(values, key.values) or not any(_agree(values, v) for v in named):
                continue
            if any(_agree(values, v) for v in kept):
                continue
            try:
                text = answer_text(net, wrong)
            except NotWritable:
                continue
            kept.append(values)
            explanation = word(net.notation, words, "mistakes", mistake.id)
            feedback = words.word("grading", "mistake", explanation=explanation, mistake=mistake.id)
            mistakes.append(Mistake(mistake.id, text, feedback))
    return Formula(name, _prompt(net, language, kind, index, name), expected, tuple(mistakes))


def formula_questions(net: Network, language: str) -> tuple[Formula, ...]:
    """The formula questions for ``net`` in ``language`` (en or zh): one per target of ``question_targets``
    whose derived answer the §8 answer language can write."""
    out = []
    for kind, index in question_targets(net):
        try:
            out.append(formula_question(net, language, kind, index))
        except NotWritable:
            continue
    return tuple(out)
