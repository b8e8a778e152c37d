"""The sheet as Moodle XML (SPEC §10): every variant's numerical questions, and the formula questions as STACK
questions whose potential response tree has a node for the right answer and one per mistake that applies.

STACK compares with ``AlgEquiv`` in Maxima, which knows nothing of the network: ``a[3][1]`` and
``sigmoid(z[3][1])`` are different symbols to it. So the tree first writes the student's answer, and each
formula it is compared with, in the network's own definitions (the feedback variable ``sa``): every error δ as
derived, each activation a as g(z), the input layer's a as x and each bias unit as 1. A student may then answer
in a or in z, with δ of the next layer or written out, as derive's grader allows.
The Maxima text is printed from the §8 answer tree (language.py), the formulas read back with its parser.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from functools import cache

import sympy as sp
from sympy.printing.str import StrPrinter

from derive.catalogue import catalogue
from derive.model.activations import ACTIVATIONS
from derive.model.network import Network
from derive.model.notation import PROFILES, parse_name, q, word

from ..grading.grader import grader_of
from ..grading.language import Binary, Call, Name, Node, Num, Unary, function_names, parse
from ..grading.names import Vocabulary, profile_kinds
from ..grading.targets import DERIVED, error, parse_target
from .formulas import NotWritable, answer_text, written
from .model import Formula, Numerical, Sheet

STACK_VERSION = "2025030700"
"""the STACK release whose question format this follows (its sample questions)"""

MAXIMA_NAMES = {"lambda": "lam"}
"""answer-language names that Maxima (and STACK's input) reserve, and the name written instead"""

STACK_FUNCTIONS = frozenset({"exp", "log", "tanh", "sqrt"})
"""the answer language's functions that Maxima (and STACK) know by the same name; the others (sigmoid) are
written out as the activation registry defines them"""


class _MaximaPrinter(StrPrinter):
    """SymPy's plain text with Maxima's spelling of what the two spell differently."""

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        return super()._print_Pow(expr, rational).replace("**", "^")

    def _print_Max(self, expr: sp.Max) -> str:
        return "max(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Min(self, expr: sp.Min) -> str:
        return "min(" + ", ".join(self._print(a) for a in expr.args) + ")"


@cache
def function_definition(function: str) -> str:
    """An answer-language function Maxima does not know, as a Maxima expression in ``t`` (from the registry)."""
    t = sp.Symbol("t")
    unit = ACTIVATIONS[function].unit
    assert unit is not None, function
    return _MaximaPrinter().doprint(unit(t).rewrite(sp.Max))  # a function SymPy defines piecewise, in max/min


def maxima_call(function: str, arg: str) -> str:
    if function in STACK_FUNCTIONS:
        return f"{function}({arg})"
    return "(" + re.sub(r"\bt\b", f"({arg})", function_definition(function)) + ")"


# --- Maxima -----------------------------------------------------------------------------------------------
def maxima_name(net: Network, name: str) -> str:
    """A quantity (canonical name, as the answer parser gives it) as the student writes it in STACK."""
    parsed = parse_name(name)
    kind, index = parsed if parsed is not None else (name, ())
    shown = written(net, kind, tuple(int(i) for i in index))
    return MAXIMA_NAMES.get(shown, shown)


def maxima(node: Node, net: Network) -> str:
    """An answer tree in Maxima syntax, every operation in parentheses (so no precedence is left to chance)."""
    match node:
        case Num(value):
            return _number(value)
        case Name(name):
            return maxima_name(net, name)
        case Unary(op, arg):
            return f"({op}{maxima(arg, net)})"
        case Binary(op, left, right):
            return f"({maxima(left, net)}{'^' if op == '**' else op}{maxima(right, net)})"
        case Call(function, arg):
            return maxima_call(function, maxima(arg, net))
    raise TypeError(f"not an answer node: {node!r}")


def _number(value: Fraction) -> str:
    text = str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    return f"({text})" if value < 0 or value.denominator != 1 else text


def maxima_text(net: Network, formula: str) -> str:
    """A formula of the §8 answer language (as written in the network's notation) in Maxima syntax."""
    return maxima(parse(formula, Vocabulary(net)).root, net)


def allowed_words(net: Network) -> str:
    """STACK's ``allowwords``: the answer language's names (as written in Maxima) and its functions that STACK does
    not know (STACK refuses a student's word of more than two letters unless it is allowed)."""
    names = {MAXIMA_NAMES.get(name, name) for name in profile_kinds(net)}
    functions = {f for f in function_names() if f not in STACK_FUNCTIONS}
    return ", ".join(sorted(w for w in names | functions if len(w) > 2))


def definitions(net: Network) -> tuple[str, ...]:
    """The network's definitions as Maxima equations, in the order ``subst`` must apply them: each error δ as
    derived (lower layers first, so that the deeper errors they use are replaced next), then each activation a
    as g(z) (the output's only when it is unit by unit), the input layer's a as x, and every bias unit as 1.
    A definition the answer language cannot write (a ReLU's step) is left out: its name stays a name."""
    model = grader_of(net).model
    L = net.L
    out: list[str] = []

    def equation(name: sp.Symbol, expr: sp.Expr) -> None:
        try:
            out.append(f"{maxima_name(net, name.name)} = {maxima_text(net, answer_text(net, expr))}")
        except NotWritable:
            pass

    for layer in range(2, L + 1):
        for unit in range(1, net.layers[layer - 1] + 1):
            equation(q("delta", layer, unit), error(model, DERIVED, layer, unit, expand=False))
    z = sp.Symbol("z")
    for layer in range(2, L + 1):
        g = ACTIVATIONS[net.activation(layer)]
        if g.unit is None or not g.elementwise:
            continue
        for unit in range(1, net.layers[layer - 1] + 1):
            equation(q("a", layer, unit), g.unit(z).xreplace({z: q("z", layer, unit)}))
    for j in range(1, net.layers[0] + 1):
        out.append(f"{maxima_name(net, f'a[1][{j}]')} = {maxima_name(net, f'x[{j}]')}")
    if PROFILES[net.notation].form != "bias_vector":  # notations with a bias unit in every layer
        out.append(f"{maxima_name(net, 'x[0]')} = 1")
        out.extend(f"{maxima_name(net, f'a[{layer}][0]')} = 1" for layer in range(1, L))
    return tuple(out)


# --- XML --------------------------------------------------------------------------------------------------
def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    ET.SubElement(element, "text").text = text
    return element


def _value(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, tag).text = text


def _paragraph(text: str) -> str:
    return f"<p>{html.escape(text, quote=False)}</p>"


def _category(quiz: ET.Element, path: str) -> None:
    question = ET.SubElement(quiz, "question", type="category")
    _text(question, "category", f"$course$/top/{path}")


def numerical_question(quiz: ET.Element, name: str, question: Numerical) -> None:
    """A Moodle numerical question: the value, accepted within the question's tolerance."""
    element = ET.SubElement(quiz, "question", type="numerical")
    _text(element, "name", name)
    _text(element, "questiontext", _paragraph(question.prompt), format="html")
    _text(element, "generalfeedback", "", format="html")
    _value(element, "defaultgrade", "1")
    _value(element, "penalty", "0")
    _value(element, "hidden", "0")
    answer = _text(element, "answer", repr(question.value), fraction="100", format="moodle_auto_format")
    _text(answer, "feedback", "", format="html")
    _value(answer, "tolerance", repr(question.tolerance))
    _value(element, "unitgradingtype", "0")
    _value(element, "unitpenalty", "0")
    _value(element, "showunits", "3")
    _value(element, "unitsleft", "0")


def _node(prt: ET.Element, number: int, sans: str, tans: str, *, true: tuple[str, str, str],
          false: tuple[str, str]) -> None:
    """A PRT node: AlgEquiv of ``sans`` with ``tans``; ``true`` = (score, answer note, feedback), ``false`` =
    (next node, answer note)."""
    node = ET.SubElement(prt, "node")
    _value(node, "name", str(number))
    _value(node, "description", "")
    _value(node, "answertest", "AlgEquiv")
    _value(node, "sans", sans)
    _value(node, "tans", tans)
    _value(node, "testoptions", "")
    _value(node, "quiet", "0")
    score, note, feedback = true
    _value(node, "truescoremode", "=")
    _value(node, "truescore", score)
    _value(node, "truepenalty", "")
    _value(node, "truenextnode", "-1")
    _value(node, "trueanswernote", note)
    _text(node, "truefeedback", _paragraph(feedback) if feedback else "", format="html")
    next_node, false_note = false
    _value(node, "falsescoremode", "=")
    _value(node, "falsescore", "0")
    _value(node, "falsepenalty", "")
    _value(node, "falsenextnode", next_node)
    _value(node, "falseanswernote", false_note)
    _text(node, "falsefeedback", "", format="html")


def _note(number: int, outcome: str, mistake: str | None = None) -> str:
    return f"prt1-{number + 1}-{outcome}" + (f" {mistake}" if mistake else "")


@dataclass(frozen=True)
class StackParts:
    """What the STACK question of a formula is made of, in Maxima syntax."""

    ta: str
    """the teacher's answer"""
    defs: tuple[str, ...]
    """the network's definitions (``definitions``)"""
    wrong: tuple[str, ...]
    """each mistake node's expression"""

    @property
    def variables(self) -> str:
        """The question variables: sigmoid, the teacher's answer, the definitions, and the answer and each
        mistake written in them (``sta``, ``wrong1`` …), which the tree's nodes compare with."""
        return "\n".join([
            *(f"{f}(t) := {function_definition(f)};" for f in function_names() if f not in STACK_FUNCTIONS),
            f"ta: {self.ta};",
            f"defs: [{', '.join(self.defs)}];",
            "sta: subst(defs, ta);",
            *(f"wrong{k}: subst(defs, {w});" for k, w in enumerate(self.wrong, start=1)),
        ])


def stack_parts(net: Network, formula: Formula) -> StackParts:
    return StackParts(maxima_text(net, formula.expected), definitions(net),
                      tuple(maxima_text(net, m.expression) for m in formula.mistakes))


@dataclass(frozen=True)
class StackNode:
    """One node of the potential response tree: AlgEquiv(sans, tans) true gives ``score`` and ``feedback``."""

    sans: str
    tans: str
    score: str
    mistake: str | None
    feedback: str
    example: str
    """an answer that reaches this node's true branch (STACK's question test)"""


def circular_names(net: Network, formula: Formula) -> tuple[str, ...]:
    """The errors δ an answer to ``formula`` may not use (§8's circular mistake), as the student writes them:
    those of the target's layer and every earlier one (none for a target not made of errors)."""
    target = parse_target(net, formula.target)
    if target.kind.errors_above is None:
        return ()
    above = target.kind.errors_above(target.index)
    return tuple(maxima_name(net, f"delta[{layer}][{unit}]") for layer in range(2, above + 1)
                 for unit in range(1, net.layers[layer - 1] + 1))


def stack_nodes(net: Network, language: str, formula: Formula) -> tuple[StackNode, ...]:
    """The tree, node by node: an answer written with the errors it is asked for is circular (``circ`` is 1,
    before anything is substituted); then the right answer; then each mistake of the formula question."""
    parts = stack_parts(net, formula)
    nodes = []
    circular = circular_names(net, formula)
    if circular:
        words = catalogue(language)
        feedback = words.word("grading", "mistake", mistake="circular",
                              explanation=word(net.notation, words, "mistakes", "circular"))
        own = maxima_name(net, parse_target(net, formula.target).name)
        nodes.append(StackNode("circ", "1", "0", "circular", feedback, own if own in circular else circular[0]))
    nodes.append(StackNode("sa", "sta", "1", None, "", "ta"))
    nodes += [StackNode("sa", f"wrong{k}", "0", m.id, m.feedback, w)
              for k, (w, m) in enumerate(zip(parts.wrong, formula.mistakes), start=1)]
    return tuple(nodes)


def feedback_variables(net: Network, formula: Formula) -> str:
    """The student's answer in the network's definitions (``sa``), and whether it uses an error it may not."""
    circular = circular_names(net, formula)
    lines = ["sa: subst(defs, ans1);"]
    if circular:
        lines.append(f"circ: if freeof({', '.join(circular)}, ans1) then 0 else 1;")
    return "\n".join(lines)


def stack_question(quiz: ET.Element, net: Network, language: str, formula: Formula) -> None:
    """A STACK question: one algebraic input; node 0 tests the teacher's answer, node k the k-th mistake."""
    words = catalogue(language)
    parts = stack_parts(net, formula)
    element = ET.SubElement(quiz, "question", type="stack")
    _text(element, "name", formula.target)
    example = maxima_name(net, "Theta[1][1][0]")
    text = (_paragraph(formula.prompt) + _paragraph(words.word("quiz", "stack_syntax", example=example))
            + "<p>[[input:ans1]] [[validation:ans1]]</p>")
    _text(element, "questiontext", text, format="html")
    _text(element, "generalfeedback", _paragraph(f"{formula.target} = {formula.expected}"), format="html")
    _value(element, "defaultgrade", "1")
    _value(element, "penalty", "0.1")
    _value(element, "hidden", "0")
    _value(element, "idnumber", "")
    _text(element, "stackversion", STACK_VERSION)
    _text(element, "questionvariables", parts.variables)
    _text(element, "specificfeedback", "<p>[[feedback:prt1]]</p>", format="html")
    _text(element, "questionnote", f"{formula.target} = {parts.ta}", format="moodle_auto_format")
    _value(element, "questionsimplify", "1")
    _value(element, "assumepositive", "0")
    _value(element, "assumereal", "0")
    _text(element, "prtcorrect", _paragraph(words.word("grading", "correct", target=formula.target)), format="html")
    for tag in ("prtpartiallycorrect", "prtincorrect"):  # a mistake's node says what is wrong
        _text(element, tag, "", format="html")
    _value(element, "decimals", ".")
    _value(element, "multiplicationsign", "dot")
    _value(element, "sqrtsign", "1")
    _value(element, "complexno", "i")
    _value(element, "inversetrig", "cos-1")
    _value(element, "matrixparens", "[")
    _value(element, "variantsselectionseed", "")
    answer = ET.SubElement(element, "input")
    for tag, value in (("name", "ans1"), ("type", "algebraic"), ("tans", "ta"), ("boxsize", "60"),
                       ("strictsyntax", "1"), ("insertstars", "0"), ("syntaxhint", ""), ("syntaxattribute", "0"),
                       ("forbidwords", ""), ("allowwords", allowed_words(net)), ("forbidfloat", "0"),
                       ("requirelowestterms", "0"), ("checkanswertype", "0"), ("mustverify", "1"),
                       ("showvalidation", "1"), ("options", "")):
        _value(answer, tag, value)
    prt = ET.SubElement(element, "prt")
    _value(prt, "name", "prt1")
    _value(prt, "value", "1.0000000")
    _value(prt, "autosimplify", "1")
    _value(prt, "feedbackstyle", "1")
    _text(prt, "feedbackvariables", feedback_variables(net, formula))
    nodes = stack_nodes(net, language, formula)
    for k, node in enumerate(nodes):
        _node(prt, k, node.sans, node.tans, true=(node.score, _note(k, "T", node.mistake), node.feedback),
              false=(str(k + 1) if k + 1 < len(nodes) else "-1", _note(k, "F")))
    # STACK's own question tests: the teacher's answer scores 1, each mistake 0 with its node's note
    cases = [(node.example, f"{node.score}.0000000", _note(k, "T", node.mistake)) for k, node in enumerate(nodes)]
    for number, (value, score, note) in enumerate(cases, start=1):
        test = ET.SubElement(element, "qtest")
        _value(test, "testcase", str(number))
        _value(test, "description", "")
        given = ET.SubElement(test, "testinput")
        _value(given, "name", "ans1")
        _value(given, "value", value)
        expected = ET.SubElement(test, "expected")
        _value(expected, "name", "prt1")
        _value(expected, "expectedscore", score)
        _value(expected, "expectedpenalty", "0.0000000" if score == "1.0000000" else "0.1000000")
        _value(expected, "expectedanswernote", note)


def _numerical(sheet: Sheet) -> Iterator[tuple[int, str, Numerical]]:
    words = catalogue(sheet.language)
    for variant in sheet.variants:
        label = words.word("quiz", "variant", number=variant.number)
        for question in variant.questions:
            yield variant.number, f"{label}: {question.name}", question


def quiz_xml(sheet: Sheet) -> str:
    """The sheet's quiz as Moodle XML: one category per variant with its numerical questions, then a category
    of STACK formula questions. Deterministic: the same sheet gives the same text."""
    words = catalogue(sheet.language)
    root = ET.Element("quiz")
    top = f"derive sheet {sheet.seed}"
    current = None
    for number, name, question in _numerical(sheet):
        if number != current:
            _category(root, f"{top}/{words.word('quiz', 'variant', number=number)}")
            current = number
        numerical_question(root, name, question)
    if sheet.formulas:
        _category(root, f"{top}/{words.word('quiz', 'formula')}")
        for formula in sheet.formulas:
            stack_question(root, sheet.net, sheet.language, formula)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
