"""Computation graphs (SPEC §5): a program of scalar assignments, parsed (never run), differentiated in reverse.

Pipeline: ``parse`` (Python's ``ast`` under a strict whitelist, with size and depth limits checked before and
while parsing) → ``build`` (one SymPy expression per assignment, in its parents' symbols, built unevaluated so
no constant is folded) → ``evaluate`` (forward values, then ∂J/∂v right to left: for every node and input the
sum over its children of local derivative × upstream derivative, each local derivative by ``sympy.diff``) and
the ε-nudge check per input. Numbers are computed with mpmath at 30 digits by a small table-driven evaluator,
so a hostile ``2**10**10**10`` costs nothing.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import mpmath
import sympy as sp

from derive.errors import InputError
from derive.io.decimals import LIMITS, NumberError, read_decimal
from derive.model.activations import ACTIVATIONS, relu_function

MAX_CHARS = 20_000
MAX_ASSIGNMENTS = 200
MAX_OPERATORS_PER_LINE = 100
"""operators, calls and parentheses in one line; checked on the text before ``ast.parse`` sees it"""
MAX_DEPTH = 100
MAX_NAME = 32
MAX_EXACT_DIGITS = 2_000
"""digits of the exact numbers SymPy may form from one assignment (a power of a number is expanded exactly)"""
EPSILON = Decimal("0.001")
DIGITS = 30

MAX_NODES = 400
"""nodes after a program is broken into one node per operation"""

BUILT_IN: dict[str, Callable[[sp.Expr], sp.Expr]] = {
    "exp": lambda x: sp.exp(x, evaluate=False),
    "log": lambda x: sp.log(x, evaluate=False),
}


def functions() -> dict[str, Callable[[sp.Expr], sp.Expr]]:
    """The functions a program may call, each a SymPy definition: exp, log and every elementwise activation of
    the registry (derive.model.activations) as it stands now, so that registering an activation makes it callable."""
    return {**BUILT_IN, **{name: a.unit for name, a in ACTIVATIONS.items() if a.unit is not None}}


def allowed() -> str:
    return ("assignments NAME = expression, one per line, with + - * / ** unary -, numbers, names "
            f"and {' '.join(functions())} of one argument")

BINARY: dict[type, Callable[[sp.Expr, sp.Expr], sp.Expr]] = {
    ast.Add: lambda a, b: sp.Add(a, b, evaluate=False),
    ast.Sub: lambda a, b: sp.Add(a, sp.Mul(-1, b, evaluate=False), evaluate=False),
    ast.Mult: lambda a, b: sp.Mul(a, b, evaluate=False),
    ast.Div: lambda a, b: sp.Mul(a, sp.Pow(b, -1, evaluate=False), evaluate=False),
    ast.Pow: lambda a, b: sp.Pow(a, b, evaluate=False),
}

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class Node:
    """One assignment: ``name = expr``, with expr in the symbols of ``parents`` (inputs or earlier nodes)."""

    name: str
    expr: sp.Expr
    parents: tuple[str, ...]
    line: int
    generated: bool = False
    """a node the parser made for an operation nested inside an assignment (its name is generated)"""
    shown: sp.Expr | None = None
    """the operation as it is drawn: each activation kept as a call (sigmoid(z), drawn σ(z)), not expanded"""


@dataclass(frozen=True)
class Program:
    nodes: tuple[Node, ...]
    inputs: tuple[str, ...]
    """names used but never assigned, in order of first use"""

    @property
    def output(self) -> str:
        return self.nodes[-1].name

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def children(self, name: str) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if name in n.parents)


@dataclass(frozen=True)
class Term:
    """local × upstream for one child c of v: ∂c/∂v (a formula and its value) times ∂J/∂c."""

    child: str
    local: sp.Expr
    local_value: float
    upstream: float
    simple: sp.Expr | None = None
    """the local derivative written in the child's own name when SymPy proves it so (∂a/∂z = a(1 − a) for
    a = sigmoid(z)); None when there is no such form"""


@dataclass(frozen=True)
class GradientStep:
    """∂J/∂name = Σ terms = value (reverse mode, right to left)."""

    name: str
    terms: tuple[Term, ...]
    value: float
    symbolic: sp.Expr | None = None
    """∂J/∂name as one formula in the program's names, when the product of local derivatives simplifies (for
    logistic regression ∂J/∂z = a − y); None when it does not or the program is too large to try"""


@dataclass(frozen=True)
class Nudge:
    """(J(v + ε) − J(v))/ε beside the exact ∂J/∂v."""

    name: str
    epsilon: float
    nudged: float
    quotient: float
    derivative: float


@dataclass(frozen=True)
class Graph:
    program: Program
    at: Mapping[str, str]
    """the input values as given"""
    values: Mapping[str, float]
    gradients: Mapping[str, float]
    steps: tuple[GradientStep, ...]
    nudges: tuple[Nudge, ...]
    data: tuple[str, ...] = ()
    """inputs marked as data (--data): no derivative, no nudge; the others are parameters"""

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(n for n in self.program.inputs if n not in self.data)

    @property
    def counts(self) -> dict[str, int]:
        """Derivative steps of one reverse pass (n + p) against node evaluations of nudging each parameter (n·p)."""
        n, p = len(self.program.nodes), len(self.parameters)
        return {"nodes": n, "inputs": p, "reverse_mode": n + p, "nudging": n * p}


# --- parsing -------------------------------------------------------------------------------------------

def parse(text: str, *, source: str = "program") -> Program:
    """The program as graph nodes; anything outside the whitelist is an InputError naming its line."""
    _precheck(text, source)
    try:
        tree = ast.parse(text, mode="exec")
    except SyntaxError as e:
        raise InputError(f"{source}: line {e.lineno}: not a valid assignment ({e.msg}); allowed: {allowed()}") from None
    except (RecursionError, MemoryError, ValueError):
        raise InputError(f"{source}: too deeply nested; allowed: {allowed()}") from None
    if not tree.body:
        raise InputError(f"{source}: no assignments; allowed: {allowed()}")
    if len(tree.body) > MAX_ASSIGNMENTS:
        raise InputError(f"{source}: {len(tree.body)} statements; at most {MAX_ASSIGNMENTS} are allowed")
    nodes: list[Node] = []
    inputs: list[str] = []
    assigned: set[str] = set()
    taken = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    pieces: list[tuple[ast.stmt, str, ast.expr, bool]] = []
    for stmt in tree.body:
        name, value = _assignment(stmt, source)
        splitter = _Splitter(taken)
        top = splitter.operand(value, 0, top=True)
        pieces += [(stmt, n, e, True) for n, e in splitter.pieces] + [(stmt, name, top, False)]
        if len(pieces) > MAX_NODES:
            raise InputError(f"{source}: line {stmt.lineno}: more than {MAX_NODES} operations; "
                             f"at most {MAX_NODES} nodes are allowed")
    for stmt, name, value, generated in pieces:
        builder = _Builder(source, stmt.lineno)
        expr = builder.build(value, 0)
        _bounded(expr, source, stmt.lineno)
        shown = _Builder(source, stmt.lineno, display=True).build(value, 0)
        for used in builder.names:
            if used == name:
                raise InputError(f"{source}: line {stmt.lineno}: {name!r} is used in its own definition; "
                                 "each name is assigned once, from earlier names and inputs")
            if used not in assigned and used not in inputs:
                if any(used == s.targets[0].id for s in tree.body if isinstance(s, ast.Assign)
                       and isinstance(s.targets[0], ast.Name)):
                    raise InputError(f"{source}: line {stmt.lineno}: {used!r} is used before it is assigned")
                inputs.append(used)
        if name in assigned or name in inputs:
            raise InputError(f"{source}: line {stmt.lineno}: {name!r} is assigned twice; each name once")
        assigned.add(name)
        nodes.append(Node(name, expr, tuple(builder.names), stmt.lineno, generated, shown))
    return Program(tuple(nodes), tuple(inputs))


class _Splitter:
    """One node per operation, as a lecturer draws the chain: ``J = (w*x + b - y)**2/2`` becomes
    ``u1 = w*x``, ``u2 = u1 + b``, ``u3 = u2 - y``, ``J = u3**2/2``.

    An operation whose two operands both hold names gets each operand that is not a bare name as its own node;
    a function's argument that is not a bare name is its own node; an operation with one side a number (``d**2``,
    ``d/2``, ``-d``) stays with its operand unless that operand combines several names or is such an operation
    itself. Generated names are u1, u2, … skipping every name the program uses.
    """

    def __init__(self, taken: set[str]) -> None:
        self.taken = taken
        self.pieces: list[tuple[str, ast.expr]] = []

    def lift(self, node: ast.expr) -> ast.expr:
        if isinstance(node, ast.Name | ast.Constant) or not _has_name(node):  # numbers alone stay in place
            return node
        k = 1
        while f"u{k}" in self.taken:
            k += 1
        name = f"u{k}"
        self.taken.add(name)
        self.pieces.append((name, node))
        return ast.copy_location(ast.Name(id=name, ctx=ast.Load()), node)

    def operand(self, node: ast.expr, depth: int, top: bool = False) -> ast.expr:
        """node with its nested operations lifted into pieces (deeper than MAX_DEPTH is left to _Builder)."""
        if depth > MAX_DEPTH:
            return node
        if isinstance(node, ast.BinOp):
            left, right = self.operand(node.left, depth + 1), self.operand(node.right, depth + 1)
            if _has_name(left) and _has_name(right):
                left, right = self.lift(left), self.lift(right)
            else:
                left = left if _single(left) else self.lift(left)
                right = right if _single(right) else self.lift(right)
            return ast.copy_location(ast.BinOp(left=left, op=node.op, right=right), node)
        if isinstance(node, ast.UnaryOp):
            inner = self.operand(node.operand, depth + 1)
            inner = inner if _single(inner) else self.lift(inner)
            return ast.copy_location(ast.UnaryOp(op=node.op, operand=inner), node)
        if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
            arg = self.lift(self.operand(node.args[0], depth + 1))
            return ast.copy_location(ast.Call(func=node.func, args=[arg], keywords=[]), node)
        return node


def _has_name(node: ast.expr) -> bool:
    return any(isinstance(n, ast.Name) for n in ast.walk(node))


def _single(node: ast.expr) -> bool:
    """A name, a number, or one name under operations with numbers only (d**2, -d, 3*d): kept in place."""
    if isinstance(node, ast.Name | ast.Constant) or not _has_name(node):
        return True
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.operand, ast.Name | ast.Constant)
    if isinstance(node, ast.BinOp):
        sides = (node.left, node.right)
        return all(isinstance(x, ast.Name) or not _has_name(x) for x in sides) and sum(map(_has_name, sides)) <= 1
    if isinstance(node, ast.Call):
        return True
    return False


def _precheck(text: str, source: str) -> None:
    """Bounds checked on the text itself, so that the parser never meets a pathological input."""
    if len(text) > MAX_CHARS:
        raise InputError(f"{source}: {len(text)} characters; at most {MAX_CHARS} are allowed")
    if "\0" in text:
        raise InputError(f"{source}: contains a NUL character; expected text")
    for number, line in enumerate(text.splitlines(), start=1):
        ops = sum(line.count(c) for c in "+-*/(")
        if ops > MAX_OPERATORS_PER_LINE:
            raise InputError(f"{source}: line {number}: {ops} operators; at most {MAX_OPERATORS_PER_LINE} per line "
                             "(split it into several assignments)")


def _bounded(expr: sp.Expr, source: str, line: int) -> None:
    """Refuse an assignment whose numbers SymPy would expand beyond MAX_EXACT_DIGITS when it differentiates."""
    try:
        digits = exact_digits(expr)
    except InputError as e:
        raise InputError(f"{source}: line {line}: {e}") from None
    if digits > MAX_EXACT_DIGITS:
        raise InputError(f"{source}: line {line}: its numbers would take about {digits:.3g} digits to hold exactly "
                         f"(powers and products of numbers are formed exactly); at most {MAX_EXACT_DIGITS} are allowed")


def exact_digits(expr: sp.Basic) -> float:
    """An upper estimate of the digits of the exact numbers SymPy may form from expr while differentiating it.

    A number counts its digits, a name none; a power multiplies its base's count by the size of a constant
    exponent (SymPy writes (2x)^n as 2^n x^n and folds a number to a number); everything else adds its parts.
    """
    if isinstance(expr, sp.Rational):
        return len(str(abs(int(expr.p)))) + len(str(int(expr.q)))
    if not expr.args:
        return 0
    if isinstance(expr, sp.Pow):
        base, exponent = expr.args
        size = exact_digits(exponent)
        if exponent.free_symbols:
            return exact_digits(base) + size
        with mpmath.workdps(DIGITS):
            value = abs(numeric(exponent, {}))
        if not mpmath.isfinite(value):
            raise InputError("an exponent is not a finite number")
        return exact_digits(base) * max(1.0, float(min(value, mpmath.mpf(10) ** 300))) + size
    return sum(exact_digits(a) for a in expr.args)


def _assignment(stmt: ast.stmt, source: str) -> tuple[str, ast.expr]:
    if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
        what = type(stmt).__name__.lower()
        raise InputError(f"{source}: line {stmt.lineno}: {what} statement is not allowed; allowed: {allowed()}")
    return _name(stmt.targets[0].id, source, stmt.lineno), stmt.value


def _name(name: str, source: str, line: int) -> str:
    if not _IDENTIFIER.match(name) or len(name) > MAX_NAME or name.startswith("_") or "__" in name:
        raise InputError(f"{source}: line {line}: name {name!r} is not allowed; names are letters, digits and "
                         f"single underscores, starting with a letter, at most {MAX_NAME} characters")
    if name in functions():
        raise InputError(f"{source}: line {line}: {name!r} is a function name and cannot be a variable")
    return name


class _Builder:
    """AST expression → unevaluated SymPy expression, by a table of allowed node types."""

    def __init__(self, source: str, line: int, *, display: bool = False) -> None:
        self.source, self.line = source, line
        self.names: list[str] = []
        self.display = display
        """build each activation as an undefined function of its name (for drawing), not its definition"""

    def refuse(self, what: str) -> InputError:
        return InputError(f"{self.source}: line {self.line}: {what} is not allowed; allowed: {allowed()}")

    def build(self, node: ast.expr, depth: int) -> sp.Expr:
        if depth > MAX_DEPTH:
            raise InputError(f"{self.source}: line {self.line}: nested deeper than {MAX_DEPTH}; "
                             "split it into several assignments")
        handler = self.HANDLERS.get(type(node))
        if handler is None:
            raise self.refuse(_describe(node))
        return handler(self, node, depth + 1)

    def _binop(self, node: ast.BinOp, depth: int) -> sp.Expr:
        op = BINARY.get(type(node.op))
        if op is None:
            raise self.refuse(f"the operator {type(node.op).__name__}")
        return op(self.build(node.left, depth), self.build(node.right, depth))

    def _unary(self, node: ast.UnaryOp, depth: int) -> sp.Expr:
        if not isinstance(node.op, ast.USub):
            raise self.refuse(f"the unary operator {type(node.op).__name__}")
        operand = self.build(node.operand, depth)
        # a name or a number is negated plainly (-x); anything larger keeps its unevaluated form
        return -operand if isinstance(operand, sp.Symbol | sp.Number) else sp.Mul(-1, operand, evaluate=False)

    def _constant(self, node: ast.Constant, depth: int) -> sp.Expr:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.refuse(f"the constant {type(value).__name__}")
        text = repr(value)
        if not _NUMBER.match(text) or len(text) > 40:
            raise self.refuse(f"the number {text[:20]}")
        return sp.Rational(text) if isinstance(value, float) else sp.Integer(value)

    def _name_node(self, node: ast.Name, depth: int) -> sp.Expr:
        name = _name(node.id, self.source, self.line)
        if name not in self.names:
            self.names.append(name)
        return sp.Symbol(name)

    def _call(self, node: ast.Call, depth: int) -> sp.Expr:
        table = functions()
        if not isinstance(node.func, ast.Name) or node.func.id not in table:
            what = repr(node.func.id) if isinstance(node.func, ast.Name) else _describe(node.func)
            raise self.refuse(f"calling {what}")
        if len(node.args) != 1 or node.keywords or isinstance(node.args[0], ast.Starred):
            raise self.refuse(f"{node.func.id} with other than one positional argument")
        arg = self.build(node.args[0], depth)
        if self.display and node.func.id in ACTIVATIONS:
            return sp.Function(node.func.id)(arg)
        return table[node.func.id](arg)

    HANDLERS: dict[type, Callable[[_Builder, Any, int], sp.Expr]] = {
        ast.BinOp: _binop, ast.UnaryOp: _unary, ast.Constant: _constant, ast.Name: _name_node, ast.Call: _call,
    }


def _describe(node: ast.AST) -> str:
    names = {ast.Attribute: "attribute access", ast.Subscript: "subscripting", ast.Lambda: "lambda",
             ast.ListComp: "a comprehension", ast.GeneratorExp: "a comprehension", ast.DictComp: "a comprehension",
             ast.SetComp: "a comprehension", ast.Compare: "a comparison", ast.BoolOp: "and/or",
             ast.IfExp: "a conditional expression", ast.NamedExpr: "the := operator", ast.JoinedStr: "a string"}
    return names.get(type(node), type(node).__name__.lower())


# --- numbers -------------------------------------------------------------------------------------------

def parse_value(text: str, name: str) -> Decimal:
    """A decimal number as given on the command line (exact)."""
    shown = text if len(text) <= 40 else text[:37] + "..."
    try:
        value = read_decimal(text.strip(), f"--at {name}")
    except NumberError as e:
        raise InputError(f"--at {name}={shown}: {e.reason}; expected {LIMITS}") from None
    if value and abs(value.adjusted()) > 300:
        raise InputError(f"--at {name}: out of range; give a number between 1e-300 and 1e300 in size, or 0")
    return value


def _mpf(value: Decimal | sp.Number) -> mpmath.mpf:
    return mpmath.mpf(str(value))


MAX_MAGNITUDE = 10_000
"""|log| of any intermediate value; beyond it a number is refused as overflowing before mpmath computes it"""


def _power(base: mpmath.mpf, exponent: mpmath.mpf) -> mpmath.mpf:
    if base != 0 and abs(exponent) * abs(mpmath.log(abs(base))) > MAX_MAGNITUDE:
        raise InputError("a power overflows at these inputs; choose other --at values")
    return mpmath.power(base, exponent)


def _exp(x: mpmath.mpf) -> mpmath.mpf:
    if abs(x) > MAX_MAGNITUDE:
        raise InputError("exp overflows at these inputs; choose other --at values")
    return mpmath.exp(x)


EVALUATORS: dict[type, Callable[..., mpmath.mpf]] = {
    sp.Add: lambda *xs: mpmath.fsum(xs),
    sp.Mul: lambda *xs: mpmath.fprod(xs),
    sp.Pow: _power,
    sp.exp: _exp,
    sp.log: lambda x: mpmath.log(x) if x > 0 else mpmath.nan,
    sp.tanh: mpmath.tanh,
    sp.Max: lambda *xs: max(xs),
    sp.Min: lambda *xs: min(xs),
    relu_function(): lambda x: max(x, mpmath.mpf(0)),
    # a step's value at its jump is its second argument: 0 for ReLU's derivative (relu_function), as PyTorch has it
    sp.Heaviside: lambda x, h0: mpmath.mpf(1) if x > 0 else (mpmath.mpf(0) if x < 0 else h0),
}
"""mpmath for each SymPy node a program's expressions or their derivatives can contain"""


def numeric(expr: sp.Basic, env: Mapping[sp.Symbol, mpmath.mpf]) -> mpmath.mpf:
    """expr at env, by mpmath (never by SymPy's own evaluation, which may fold huge exact powers)."""
    if isinstance(expr, sp.Symbol):
        return env[expr]
    if isinstance(expr, sp.Number | sp.NumberSymbol):
        if isinstance(expr, sp.Integer):
            return mpmath.mpf(int(expr))
        return mpmath.mpf(sp.Float(expr, DIGITS + 5)._mpf_)
    f = EVALUATORS.get(type(expr))
    if f is None:
        raise InputError(f"cannot evaluate {type(expr).__name__} in a computation graph")
    try:
        return f(*(numeric(a, env) for a in expr.args))
    except ZeroDivisionError:
        raise InputError("a division by zero at these inputs; choose other --at values") from None


def _real(value: mpmath.mpf, what: str) -> float:
    if not isinstance(value, mpmath.mpf) or not mpmath.isfinite(value):
        raise InputError(f"{what} is not a finite real number at these inputs; choose other --at values")
    out = float(value)
    if out in (float("inf"), float("-inf")):
        raise InputError(f"{what} overflows at these inputs; choose other --at values")
    return out


# --- forward and reverse -------------------------------------------------------------------------------

def evaluate(program: Program, at: Mapping[str, str], data: Sequence[str] = ()) -> Graph:
    """Forward values, reverse-mode gradients (one step per node and parameter) and the nudge check per parameter;
    the inputs named in ``data`` get neither."""
    for name in data:
        if name not in program.inputs:
            raise InputError(f"--data: {name[:40]!r} is not an input of the program; "
                             f"the inputs are {', '.join(program.inputs)}")
    missing = [n for n in program.inputs if n not in at]
    unknown = [n for n in at if n not in program.inputs]
    if missing:
        raise InputError(f"--at: no value for input {missing[0]!r}; the inputs are {', '.join(program.inputs)}")
    if unknown:
        which = "a computed node" if any(n.name == unknown[0] for n in program.nodes) else "not in the program"
        raise InputError(f"--at: {unknown[0]!r} is {which}; the inputs are {', '.join(program.inputs)}")
    exact = {n: parse_value(at[n], n) for n in program.inputs}
    with mpmath.workdps(DIGITS):
        env = _forward(program, {n: _mpf(v) for n, v in exact.items()})
        values = {name: _real(v, f"the value of {name}") for name, v in env.items()}
        grads, steps = _reverse(program, env, tuple(data))
        gradients = {name: _real(g, f"the derivative ∂{program.output}/∂{name}") for name, g in grads.items()}
        nudges = []
        eps = _mpf(EPSILON)
        for name in program.inputs:
            if name in data:
                continue
            moved = {**{n: env[n] for n in program.inputs}, name: env[name] + eps}
            nudged = _forward(program, moved)[program.output]
            quotient = (nudged - env[program.output]) / eps
            nudges.append(Nudge(name, float(EPSILON), _real(nudged, f"J at {name} + ε"),
                                _real(quotient, f"the nudge quotient for {name}"), gradients[name]))
    return Graph(program, dict(at), values, gradients, tuple(steps), tuple(nudges), tuple(data))


def _forward(program: Program, inputs: Mapping[str, mpmath.mpf]) -> dict[str, mpmath.mpf]:
    env: dict[str, mpmath.mpf] = dict(inputs)
    for node in program.nodes:
        try:
            env[node.name] = numeric(node.expr, {sp.Symbol(n): env[n] for n in node.parents})
        except InputError as e:
            raise InputError(f"line {node.line} ({node.name}): {e}") from None
    return env


def local_derivative(node: Node, parent: str) -> sp.Expr:
    """∂node/∂parent as SymPy derives it from the node's expression."""
    return sp.diff(node.expr, sp.Symbol(parent))


def data_only(program: Program, data: Sequence[str]) -> set[str]:
    """The data inputs and the nodes computed from data alone (1 − y): no derivative is taken of them."""
    fixed = set(data)
    for node in program.nodes[:-1]:
        if node.parents and all(p in fixed for p in node.parents):
            fixed.add(node.name)
    return fixed


def in_own_name(node: Node, parent: str, local: sp.Expr) -> sp.Expr | None:
    """∂node/∂parent written in the node's own name, proven (calculus.polynomial_identity), when the node is a
    function of that one parent and the form is shorter: ∂a/∂z = a(1 − a) for a = sigmoid(z)."""
    from derive.engine.calculus import polynomial_identity

    z = sp.Symbol(parent)
    if node.parents != (parent,) or node.expr.is_polynomial(z) or not local.free_symbols:
        return None
    form = polynomial_identity(local, node.expr, z, sp.Symbol(node.name))
    return form if form is not None and sp.count_ops(form) < sp.count_ops(local) else None


MAX_SYMBOLIC_NODES = 40
"""programs up to this many nodes get the symbolic ∂J/∂v (GradientStep.symbolic); larger ones only numbers"""
MAX_SYMBOLIC_OPS = 200


def _reverse(program: Program, env: Mapping[str, mpmath.mpf],
             data: tuple[str, ...] = ()) -> tuple[dict[str, mpmath.mpf], list[GradientStep]]:
    """∂J/∂v for v right to left: Σ over the children c of v of ∂c/∂v · ∂J/∂c (data inputs skipped)."""
    out = program.output
    grads: dict[str, mpmath.mpf] = {out: mpmath.mpf(1)}
    symbolic: dict[str, sp.Expr | None] = {out: sp.Integer(1)}
    trying = len(program.nodes) <= MAX_SYMBOLIC_NODES
    steps: list[GradientStep] = []
    fixed = data_only(program, data)
    order = [n for n in [n.name for n in reversed(program.nodes[:-1])] + list(reversed(program.inputs))
             if n not in fixed]
    for name in order:
        terms, total = [], mpmath.mpf(0)
        products: list[sp.Expr] | None = [] if trying else None
        for child in program.children(name):
            local = local_derivative(child, name)
            local_value = numeric(local, {sp.Symbol(n): env[n] for n in child.parents})
            total += local_value * grads[child.name]
            simple = in_own_name(child, name, local) if trying else None
            terms.append(Term(child.name, local, _real(local_value, f"∂{child.name}/∂{name}"),
                              _real(grads[child.name], f"∂{out}/∂{child.name}"), simple))
            upstream = symbolic.get(child.name)
            if products is not None and upstream is not None:
                products.append((simple if simple is not None else local) * upstream)
            else:
                products = None
        grads[name] = total
        symbolic[name] = _simplified(program, sp.Add(*products)) if products is not None else None
        stated = symbolic[name]
        product = sp.Add(*((t.simple if t.simple is not None else t.local) for t in terms))
        if stated is not None and (stated.is_number or stated == product or len(terms) == 1 and terms[0].child == out):
            stated = None
        steps.append(GradientStep(name, tuple(terms), _real(total, f"∂{out}/∂{name}"), stated))
    return grads, steps


def _simplified(program: Program, expr: sp.Expr) -> sp.Expr | None:
    """expr with the generated nodes written out and the fractions cancelled, or None when too large."""
    for node in reversed(program.nodes):
        if node.generated:
            expr = expr.xreplace({sp.Symbol(node.name): node.expr})
    if sp.count_ops(expr) > MAX_SYMBOLIC_OPS or expr.has(sp.Heaviside):
        return None
    from derive.engine.calculus import tidy

    return tidy(expr)


def graph(text: str, at: Mapping[str, str], *, source: str = "program", data: Sequence[str] = ()) -> Graph:
    """parse, then evaluate: the whole computation graph of a program at the given inputs (``data``: the inputs
    that are data, without derivatives)."""
    return evaluate(parse(text, source=source), at, data)
