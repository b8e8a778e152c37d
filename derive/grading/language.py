"""The answer language of SPEC §8: parsed with Python's ``ast`` and a whitelist, never evaluated as code.

An answer becomes a small immutable tree (numbers, names, + - * / and powers, unary minus, and calls of
the elementary functions exp log sqrt and of every elementwise activation of the registry,
derive.model.activations). The tree is evaluated numerically with NumPy over many points at once, and turned
into SymPy only when a symbolic comparison needs it. The work is bounded: long texts, deep nesting and
large exponents are refused before anything is built.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Any

import numpy as np
import sympy as sp

from derive.model.activations import ACTIVATIONS, Activation

from .errors import Unreadable, Words
from .names import Vocabulary

MAX_LENGTH = 4000
"""characters in one answer"""
MAX_DEPTH = 120
"""levels of nesting in the parsed answer"""
MAX_EXPONENT = 10
"""the largest constant exponent, also when powers of powers combine ((a^5)^2 is a^10)"""
MAX_NUMBER = 1e12
"""the largest number written or computed from constants alone"""

_TYPOGRAPHY = str.maketrans({"^": "**", "−": "-", "×": "*", "·": "*", "⋅": "*"})
"""what an answer pasted from notes may contain, read as the operators it means (line breaks are spaces)"""
_LAMBDA = re.compile(r"\blambda\b")
_LAMBDA_NAME = "λ"
"""``lambda`` is a Python keyword: the answer's word is read as this identifier instead"""


# --- the tree ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Num:
    value: Fraction


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Unary:
    op: str
    arg: Node


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    function: str
    arg: Node


Node = Num | Name | Unary | Binary | Call


ELEMENTARY: Mapping[str, tuple[Callable[[Any], Any], Callable[[sp.Expr], sp.Expr]]] = {
    "exp": (np.exp, sp.exp), "log": (np.log, sp.log), "sqrt": (np.sqrt, sp.sqrt)}
"""the functions an answer may call besides the activations: name -> (NumPy function, SymPy function)"""


def function_names() -> tuple[str, ...]:
    """The functions an answer may call: the elementary ones and every elementwise activation of the registry
    as it stands now, so that registering an activation makes it an answer's function too."""
    return (*ELEMENTARY, *(name for name, a in ACTIVATIONS.items() if a.elementwise))


@cache
def _activation(activation: Activation) -> tuple[Callable[[Any], Any], Callable[[sp.Expr], sp.Expr]]:
    """An activation of the registry as (NumPy function, SymPy function), lambdified from its definition."""
    unit = activation.unit
    assert unit is not None
    z = sp.Symbol("z")
    return sp.lambdify([z], unit(z), "numpy"), unit


def function(name: str) -> tuple[Callable[[Any], Any], Callable[[sp.Expr], sp.Expr]]:
    """(NumPy function, SymPy function) of one of function_names()."""
    return ELEMENTARY[name] if name in ELEMENTARY else _activation(ACTIVATIONS[name])


BINARY: Mapping[type, str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
UNARY: Mapping[type, str] = {ast.USub: "-", ast.UAdd: "+"}

NUMPY_BINARY: Mapping[str, Callable[[Any, Any], Any]] = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "**": np.power}
SYMPY_BINARY: Mapping[str, Callable[[sp.Expr, sp.Expr], sp.Expr]] = {
    "+": lambda u, v: u + v, "-": lambda u, v: u - v, "*": lambda u, v: u * v, "/": lambda u, v: u / v,
    "**": lambda u, v: u**v}
UNARY_SIGN: Mapping[str, int] = {"-": -1, "+": 1}

NOT_ALLOWED: Mapping[type, str] = {
    ast.Attribute: "attribute", ast.Compare: "comparison", ast.BoolOp: "boolean", ast.IfExp: "conditional",
    ast.Lambda: "lambda", ast.List: "list", ast.Tuple: "tuple", ast.Dict: "dict", ast.Set: "set",
    ast.JoinedStr: "string", ast.Starred: "starred", ast.Slice: "slice", ast.NamedExpr: "assignment",
    ast.ListComp: "comprehension", ast.SetComp: "comprehension", ast.DictComp: "comprehension",
    ast.GeneratorExp: "comprehension", ast.Await: "async", ast.Yield: "async", ast.Call: "call",
}
"""what the user wrote, by node type: the catalogue's grading.construct_<name> (any other node: construct_other)"""


@dataclass(frozen=True)
class Formula:
    """A parsed answer: its text, its tree and the quantity names it uses."""

    text: str
    root: Node
    names: frozenset[str]

    def evaluate(self, values: Mapping[str, np.ndarray], points: int) -> np.ndarray:
        """The answer at every point at once (``values`` maps each name to an array over the points)."""
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(_numeric(self.root, values), dtype=float), (points,))

    def sympy(self) -> sp.Expr:
        """The answer as a SymPy expression in the quantity symbols (``lambda`` is the symbol lambda)."""
        return _symbolic(self.root)


def _numeric(node: Node, values: Mapping[str, np.ndarray]) -> Any:
    match node:
        case Num(value):
            return float(value)
        case Name(name):
            return values[name]
        case Unary(op, arg):
            return UNARY_SIGN[op] * _numeric(arg, values)
        case Binary(op, left, right):
            return NUMPY_BINARY[op](_numeric(left, values), _numeric(right, values))
        case Call(name, arg):
            return function(name)[0](_numeric(arg, values))
    raise TypeError(f"not an answer node: {node!r}")


def _symbolic(node: Node) -> sp.Expr:
    match node:
        case Num(value):
            return sp.Rational(value.numerator, value.denominator)
        case Name(name):
            return sp.Symbol(name)
        case Unary(op, arg):
            return UNARY_SIGN[op] * _symbolic(arg)
        case Binary(op, left, right):
            return SYMPY_BINARY[op](_symbolic(left), _symbolic(right))
        case Call(name, arg):
            return function(name)[1](_symbolic(arg))
    raise TypeError(f"not an answer node: {node!r}")


# --- parsing ----------------------------------------------------------------------------------------------
def parse(text: str, vocabulary: Vocabulary) -> Formula:
    """The answer ``text`` as a Formula, its names checked against ``vocabulary``; Unreadable otherwise."""
    allowed = vocabulary.allowed
    if not isinstance(text, str) or not text.strip():
        raise Unreadable("empty", allowed=allowed)
    if len(text) > MAX_LENGTH:
        raise Unreadable("too_long", length=len(text), limit=MAX_LENGTH)
    source = _LAMBDA.sub(_LAMBDA_NAME, " ".join(text.translate(_TYPOGRAPHY).split()))
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as e:
        if "nested" in (e.msg or ""):
            raise Unreadable("too_deep", limit=MAX_DEPTH) from None
        raise Unreadable("syntax", detail=e.msg or "invalid syntax", allowed=allowed) from None
    except (RecursionError, MemoryError):
        raise Unreadable("too_deep", limit=MAX_DEPTH) from None
    except ValueError as e:
        raise Unreadable("syntax", detail=str(e), allowed=allowed) from None
    _check_depth(tree)
    builder = _Builder(vocabulary)
    root = builder.node(tree.body)
    return Formula(text, root, frozenset(builder.names))


def _check_depth(tree: ast.AST) -> None:
    """Refuse trees nested deeper than MAX_DEPTH, walking without recursion."""
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise Unreadable("too_deep", limit=MAX_DEPTH)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


@dataclass(frozen=True)
class _Built:
    """A node with what the bounds need: its value when it is made of constants only, and its power."""

    node: Node
    constant: float | None = None
    power: float = 1.0
    """the combined constant exponent of a power of powers"""


class _Builder:
    """Turns whitelisted ``ast`` nodes into the answer tree; anything else is Unreadable."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self.names: set[str] = set()

    def node(self, node: ast.AST) -> Node:
        return self.build(node).node

    def build(self, node: ast.AST) -> _Built:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise Unreadable("not_allowed", what=_describe(node), allowed=self.vocabulary.allowed)
        return method(node)

    def _Constant(self, node: ast.Constant) -> _Built:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Unreadable("not_allowed", what=_describe(node), allowed=self.vocabulary.allowed)
        if not math.isfinite(value) or abs(value) > MAX_NUMBER:
            raise Unreadable("number", value=_short(node), limit=f"{MAX_NUMBER:g}")
        exact = Fraction(value) if isinstance(value, int) else Fraction(repr(value))
        return _Built(Num(exact), float(value))

    def _BinOp(self, node: ast.BinOp) -> _Built:
        op = BINARY.get(type(node.op))
        if op is None:
            raise Unreadable("not_allowed", what=Words("construct_operator", operator=_operator(node)),
                             allowed=self.vocabulary.allowed)
        left, right = self.build(node.left), self.build(node.right)
        tree = Binary(op, left.node, right.node)
        if op == "**":
            return self._power(tree, left, right)
        if left.constant is not None and right.constant is not None:
            return _Built(tree, self._fold(op, left.constant, right.constant))
        return _Built(tree)

    def _power(self, tree: Binary, base: _Built, exponent: _Built) -> _Built:
        if exponent.constant is None:
            return _Built(tree)
        power = base.power * exponent.constant
        if abs(exponent.constant) > MAX_EXPONENT or abs(power) > MAX_EXPONENT:
            raise Unreadable("exponent", value=f"{power:g}", limit=MAX_EXPONENT)
        constant = None
        if base.constant is not None:
            constant = self._fold("**", base.constant, exponent.constant)
        return _Built(tree, constant, power)

    def _fold(self, op: str, u: float, v: float) -> float:
        """The value of a constant sub-expression, refused when it grows beyond MAX_NUMBER."""
        try:
            with np.errstate(all="ignore"):
                value = complex(NUMPY_BINARY[op](np.complex128(u), np.complex128(v)))
        except (OverflowError, ZeroDivisionError):
            value = complex(math.nan)
        magnitude = abs(value)
        if magnitude > MAX_NUMBER:
            raise Unreadable("number", value=f"{magnitude:.3g}", limit=f"{MAX_NUMBER:g}")
        return value.real if math.isfinite(magnitude) else math.nan

    def _UnaryOp(self, node: ast.UnaryOp) -> _Built:
        op = UNARY.get(type(node.op))
        if op is None:
            raise Unreadable("not_allowed", what=Words("construct_operator", operator=_operator(node)),
                             allowed=self.vocabulary.allowed)
        arg = self.build(node.operand)
        constant = None if arg.constant is None else UNARY_SIGN[op] * arg.constant
        return _Built(Unary(op, arg.node), constant)

    def _Call(self, node: ast.Call) -> _Built:
        if not isinstance(node.func, ast.Name):
            raise Unreadable("not_allowed", what=_describe(node.func), allowed=self.vocabulary.allowed)
        name = node.func.id
        if name not in function_names():
            raise Unreadable("unknown_function", name=name, allowed=" ".join(function_names()))
        if len(node.args) != 1 or node.keywords or isinstance(node.args[0], ast.Starred):
            raise Unreadable("arity", name=name)
        return _Built(Call(name, self.node(node.args[0])))

    def _Name(self, node: ast.Name) -> _Built:
        return self._quantity(node.id, ())

    def _Subscript(self, node: ast.Subscript) -> _Built:
        index: list[int] = []
        current: ast.AST = node
        while isinstance(current, ast.Subscript):
            idx = current.slice
            if not (isinstance(idx, ast.Constant) and isinstance(idx.value, int) and not isinstance(idx.value, bool)):
                raise Unreadable("index_type", example="a[3][1]")
            index.insert(0, idx.value)
            current = current.value
        if not isinstance(current, ast.Name):
            raise Unreadable("not_allowed", what=_describe(current), allowed=self.vocabulary.allowed)
        return self._quantity(current.id, tuple(index))

    def _quantity(self, written: str, index: tuple[int, ...]) -> _Built:
        kind = "lambda" if written == _LAMBDA_NAME else written
        if kind in function_names():
            raise Unreadable("function_as_name", name=kind)
        name = self.vocabulary.check(kind, index)
        self.names.add(name)
        return _Built(Name(name))


def _operator(node: ast.BinOp | ast.UnaryOp) -> str:
    symbols = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|",
               ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>", ast.Invert: "~", ast.Not: "not"}
    return symbols.get(type(node.op), type(node.op).__name__)


def _describe(node: ast.AST) -> Words:
    """What ``node`` is, in the catalogue's words."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str | bytes):
            return Words("construct_string")
        return Words("construct_constant", value=_short(node))
    if type(node) in NOT_ALLOWED:
        return Words("construct_" + NOT_ALLOWED[type(node)])
    return Words("construct_other", name=type(node).__name__)


def _short(node: ast.Constant) -> str:
    text = repr(node.value)
    return text if len(text) <= 24 else text[:20] + "…"
