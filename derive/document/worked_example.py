"""A worked numeric example: the forward pass, the errors, the gradients and one descent step, with numbers.

Every number is the engine's (``derive.engine.numeric.lambdify(net).backward``). Beside it, the same quantities are
computed again in exact arithmetic by SymPy from the parameters and data read as exact decimals (a JSON number
is the decimal it spells: 0.05 is 1/20): where that gives a rational number — a weighted sum always, an
activation when g maps rationals to rationals (linear, relu, sigmoid at 0), and everything built only from
such numbers — the document shows it exactly (as a terminating decimal, or a fraction) after checking that it
agrees with the engine; everything else is shown to ``digits`` significant digits.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Context, Decimal, localcontext
from functools import lru_cache
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.precedence import PRECEDENCE

from derive.engine.backprop import REDUCTIONS, UNIT, VECTOR, backprop, g_of
from derive.engine.derivation import Derivation, Section, Step
from derive.engine.expressions import Applied, Product
from derive.errors import CheckError, InputError
from derive.io.decimals import read_decimal
from derive.model.activations import ACTIVATIONS
from derive.model.losses import LOSSES
from derive.model.network import Network, read_text
from derive.model.notation import q

MAX_UNITS_SHOWN = 200
"""an example with more numbered steps than this per section is refused: it is not a lecture example"""
MAX_WEIGHTS_SHOWN = 2_000
"""every weight is substituted exactly: time grows with their number (2,000 take about ten seconds)"""


MAX_EXACT_DIGITS = 40
"""an exact value needing more digits than this (a fraction or a decimal) is shown rounded to --digits instead"""
PLAIN_EXPONENTS = range(-6, 16)
"""a decimal whose exponent lies outside is written as a power of ten (1.5 × 10^{-300}), not a row of zeros"""


class Num(sp.Expr):
    """A number as the page shows it: exact (digits = 0) or to ``digits`` significant digits.

    It prints itself in LaTeX and in SymPy's syntax with the precedence of what it prints (a negative number,
    a fraction, a power of ten), so the printers bracket it wherever that matters: ``(-0.76)^{2}``,
    ``(2.8 \\times 10^{-17})^{2}``, and a ``sympy`` field that reads back as the value shown.
    """

    def __new__(cls, value: sp.Expr, digits: int = 0, paren: bool = False) -> Num:
        return sp.Expr.__new__(cls, sp.nsimplify(value) if not isinstance(value, sp.Rational) else value,
                               sp.Integer(digits), sp.true if paren else sp.false)

    @property
    def value(self) -> sp.Rational:
        return self.args[0]

    @property
    def digits(self) -> int:
        return int(self.args[1])

    def doit(self, **hints: object) -> sp.Expr:
        return self.args[0]

    def parts(self) -> tuple[str, str, int | None, tuple[int, int] | None]:
        """(sign, digits with a point, power of ten or None, (numerator, denominator) of a fraction or None)."""
        return _parts(self.args[0], self.digits)

    def text(self) -> str:
        """The LaTeX of the number."""
        sign, digits, exponent, fraction = self.parts()
        if fraction is not None:
            return sign + r"\frac{%d}{%d}" % fraction
        return sign + digits + (r" \times 10^{%d}" % exponent if exponent is not None else "")

    def number_str(self) -> str:
        """The number in SymPy's (and Python's) syntax: 0.42, -2.776e-17, 1/3, -1/3."""
        sign, digits, exponent, fraction = self.parts()
        if fraction is not None:
            return "%s%d/%d" % (sign, *fraction)
        return sign + digits + ("e%d" % exponent if exponent is not None else "")

    @property
    def precedence(self) -> int:
        """A sign binds like a sum, a fraction or a power of ten like a product, a plain number is an atom."""
        sign, _, exponent, fraction = self.parts()
        if self.bracketed():  # already in its own parentheses
            return PRECEDENCE["Atom"]
        if sign:
            return PRECEDENCE["Add"]
        return PRECEDENCE["Mul"] if exponent is not None or fraction is not None else PRECEDENCE["Atom"]

    def _latex(self, printer: Any) -> str:
        text = self.text()
        return r"\left(%s\right)" % text if self.bracketed() else text

    def _sympystr(self, printer: Any) -> str:
        text = self.number_str()
        return "(%s)" % text if self.bracketed() else text

    def bracketed(self) -> bool:
        """Whether it prints in its own parentheses: asked to (a factor), and signed or a power of ten."""
        sign, _, exponent, _ = self.parts()
        return self.args[2] is sp.true and bool(sign or exponent is not None)


@lru_cache(maxsize=4096)
def _parts(value: sp.Rational, digits: int) -> tuple[str, str, int | None, tuple[int, int] | None]:
    """Num.parts, remembered: a page asks for the parts of each number many times (to print, to bracket it)."""
    if digits:
        with localcontext(Context(prec=digits + 20)):  # a Decimal: no underflow below a double's range
            text = f"{Decimal(int(value.p)) / Decimal(int(value.q)):.{digits}g}"
        mantissa, _, exponent = text.lower().partition("e")
        sign = "-" if mantissa.startswith("-") else ""
        if exponent:
            shown = mantissa.lstrip("-")
            shown = shown.rstrip("0").rstrip(".") if "." in shown else shown
            return sign, shown, int(exponent), None
        return sign, _plain(Decimal(mantissa.lstrip("-"))), None, None
    exact = terminating(value)
    sign = "-" if value < 0 else ""
    if exact is None:
        return sign, "", None, (abs(int(value.p)), int(value.q))
    exact = exact.copy_abs()  # abs() would round to the context's 28 digits
    if exact and exact.adjusted() not in PLAIN_EXPONENTS:
        figures = exact.as_tuple().digits
        mantissa = str(figures[0]) + ("." + "".join(map(str, figures[1:])) if len(figures) > 1 else "")
        return sign, mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa, exact.adjusted(), None
    return sign, _plain(exact), None, None


def terminating(value: sp.Rational) -> Decimal | None:
    """The exact decimal of a rational whose denominator has no prime factors but 2 and 5, else None."""
    p, q = int(value.p), int(value.q)
    twos = fives = 0
    rest = q
    while rest % 2 == 0:
        rest //= 2
        twos += 1
    while rest % 5 == 0:
        rest //= 5
        fives += 1
    if rest != 1:
        return None
    places = max(twos, fives)
    return Decimal(f"{p * 10 ** places // q}E-{places}")  # from text: exact, whatever the context's precision


class NumberApplied(Applied):
    """g(0.5) on the page; in SymPy's syntax the activation's definition at the number (tanh(0.5)), which evaluates."""

    def _sympystr(self, printer: Any) -> str:
        return printer._print(self.args[2])


def _plain(d: Decimal) -> str:
    """A decimal written out in full, without trailing zeros (no context: nothing is rounded)."""
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "0", "") else text


def exact_digits(value: sp.Rational) -> int:
    """How many digits showing ``value`` exactly takes (a terminating decimal's, or a fraction's two parts)."""
    exact = terminating(value)
    if exact is None:
        return len(str(abs(int(value.p)))) + len(str(int(value.q)))
    return len(exact.as_tuple().digits)


@dataclass(frozen=True)
class Problem:
    """Parameters and data as exact rationals (for display and the exact computation) and as floats."""

    thetas: tuple[sp.ImmutableMatrix, ...]
    X: sp.ImmutableMatrix
    Y: sp.ImmutableMatrix

    @property
    def floats(self) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        def f(M: sp.ImmutableMatrix) -> np.ndarray:
            return np.array(M.tolist(), dtype=float)
        return [f(T) for T in self.thetas], f(self.X), f(self.Y)


def problem(thetas: Sequence[Any], X: Any, Y: Any) -> Problem:
    """A problem from numbers or decimal strings in memory (each read as the exact decimal it spells)."""
    def matrix(M: Any) -> sp.ImmutableMatrix:
        return sp.ImmutableMatrix([[sp.Rational(str(read_decimal(str(v), "problem"))) for v in row] for row in M])
    return Problem(tuple(matrix(T) for T in thetas), matrix(X), matrix(Y))


def read_problem(params: str, data: str) -> Problem:
    """The two JSON files, every number kept as the exact decimal it spells."""
    def load(path: str, keys: tuple[str, ...]) -> dict[str, Any]:
        from derive.cli.commands.numeric import read_json

        read_json(path, keys)  # validation: keys, JSON, no NaN/Infinity, with its error messages

        def number(text: str) -> Decimal:  # ASCII, bounded digits, within a double's range (derive.io.decimals)
            return read_decimal(text, path)
        return json.loads(read_text(path), parse_float=number, parse_int=number)

    def matrix(value: Any, what: str) -> sp.ImmutableMatrix:
        if not isinstance(value, list) or not value or not all(isinstance(r, list) and r for r in value):
            raise InputError(f"{what}: expected a non-empty list of rows of numbers")
        if any(isinstance(v, bool) or not isinstance(v, Decimal) for r in value for v in r):
            raise InputError(f"{what}: expected numbers only")
        if len({len(r) for r in value}) != 1:
            raise InputError(f"{what}: rows of different lengths")
        return sp.ImmutableMatrix([[sp.Rational(str(v)) for v in r] for r in value])

    p = load(params, ("Theta",))
    d = load(data, ("X", "Y"))
    if not isinstance(p["Theta"], list):
        raise InputError(f"{params}: Theta must be a list of matrices")
    thetas = tuple(matrix(T, f"{params}: Theta[{n}]") for n, T in enumerate(p["Theta"], start=1))
    return Problem(thetas, matrix(d["X"], f"{data}: X"), matrix(d["Y"], f"{data}: Y"))


PRECISE_DIGITS = 40
"""digits of the values computed from the exact inputs where they are not rational (tanh, exp, log)"""


def _value(value: sp.Expr | int) -> sp.Number | None:
    """value as SymPy's own arithmetic leaves it when rational, else to PRECISE_DIGITS (None if not finite real).

    Never ``nsimplify``: it turns a number that is merely close to a rational (tanh(1e-300)) into one.
    """
    value = sp.Integer(0) + value
    if isinstance(value, sp.Rational):
        return value
    number = value.evalf(PRECISE_DIGITS)
    return number if isinstance(number, sp.Float) and number.is_finite else None


def _zero(value: sp.Number | None) -> bool:
    """An exact zero (a rational 0, not a value that happens to be close to it)."""
    return isinstance(value, sp.Rational) and value == 0


@dataclass(frozen=True)
class Exact:
    """The quantities of example 1 from the exact inputs: rational where they are, else to PRECISE_DIGITS."""

    a: list[list[sp.Number | None]]
    z: list[list[sp.Number | None]]
    deltas: list[list[sp.Number | None]]
    cost: sp.Number | None = None
    """J, when the data is this one example"""
    gradients: tuple[dict[tuple[int, int], sp.Number | None], ...] = ()
    """D^(l) entries by (i, j), 0-based, when the data is this one example"""


def exact_example(net: Network, d: Derivation, p: Problem) -> Exact:
    """Forward and backward pass of example 1 by SymPy from the exact inputs, following the derived results."""
    a_sym, y_sym, z_sym = sp.symbols("a y z")
    acts: list[list[sp.Number | None]] = [[_value(v) for v in p.X.row(0)]]
    zs: list[list[sp.Number | None]] = []
    for layer, T in enumerate(p.thetas, start=1):
        g = ACTIVATIONS[net.activation(layer + 1)]
        prev = acts[-1]
        z_row = [None if None in prev else
                 _value(T[i, 0] + sum(T[i, j + 1] * prev[j] for j in range(len(prev))))
                 for i in range(T.rows)]
        zs.append(z_row)
        if g.elementwise and None not in z_row:
            assert g.unit is not None
            acts.append([_value(g.unit(v)) for v in z_row])
        else:
            acts.append([None] * T.rows)
    L = net.L
    y = list(p.Y.row(0))
    deltas: list[list[sp.Number | None]] = []
    if d.results.output_delta_layer is None:
        out = []
        for k, (av, zv) in enumerate(zip(acts[-1], zs[-1])):
            ok = av is not None and zv is not None
            value = d.results.output_delta.xreplace({a_sym: av, y_sym: y[k], z_sym: zv}) if ok else None
            out.append(_value(value) if value is not None else None)
        deltas.append(out)
    else:
        deltas.append([None] * net.layers[-1])
    for layer in range(L - 1, 1, -1):
        T, nxt = p.thetas[layer - 1], deltas[0]
        prime = d.results.hidden_derivatives[layer - 2]
        row: list[sp.Number | None] = []
        for i in range(net.layers[layer - 1]):
            av, zv = acts[layer - 1][i], zs[layer - 2][i]
            local = None if av is None or zv is None else _value(prime.xreplace({a_sym: av,
                                                                                                z_sym: zv}))
            if _zero(local):  # an exact zero stays exact, whatever the errors coming back
                row.append(sp.Integer(0))
                continue
            if None in nxt or local is None:
                row.append(None)
                continue
            back = sum(T[k, i + 1] * nxt[k] for k in range(T.rows))
            row.append(_value(back * local))
        deltas.insert(0, row)
    if p.X.rows != 1:
        return Exact(acts, zs, deltas)
    return Exact(acts, zs, deltas, _exact_cost(net, p, acts[-1], y), _exact_gradients(net, p, acts, deltas))


def _exact_cost(net: Network, p: Problem, out: list[sp.Number | None],
                y: list[sp.Rational]) -> sp.Number | None:
    g = ACTIVATIONS[net.output]
    if None in out or not g.elementwise:
        return None
    scale, lam = REDUCTIONS[net.reduction](sp.Integer(1)), sp.Rational(repr(net.lam))
    data = sum((LOSSES[net.loss].term(av, yv, g) for av, yv in zip(out, y)), sp.Integer(0))
    penalty = sum((T[i, j] ** 2 for T in p.thetas for i in range(T.rows) for j in range(1, T.cols)), sp.Integer(0))
    return _value(scale * data + lam * scale / 2 * penalty)


def _exact_gradients(net: Network, p: Problem, acts: list, deltas: list) -> tuple[dict, ...]:
    scale, lam = REDUCTIONS[net.reduction](sp.Integer(1)), sp.Rational(repr(net.lam))
    out = []
    for layer, T in enumerate(p.thetas, start=1):
        entries: dict[tuple[int, int], sp.Number | None] = {}
        for i in range(T.rows):
            for j in range(T.cols):
                d, a = deltas[layer - 1][i], sp.Integer(1) if j == 0 else acts[layer - 1][j - 1]
                penalty = lam * scale * T[i, j] if j else 0
                if _zero(d) or _zero(a):  # an exact zero factor: the data term is exactly 0
                    entries[i, j] = _value(penalty)
                    continue
                entries[i, j] = None if d is None or a is None else _value(scale * d * a + penalty)
        out.append(entries)
    return tuple(out)


class _Shown:
    """Chooses, per quantity, the exact value (checked against the engine) or the engine's rounded one."""

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __call__(self, engine: float, exact: sp.Number | None, what: str, *, paren: bool = False) -> Num:
        """The exact value when it is known and short enough to show, else the engine's value rounded."""
        if exact is not None:
            if abs(float(exact) - engine) > 1e-9 * (1 + abs(engine)):
                raise CheckError(what, f"exact {exact} differs from the engine's {engine!r}")
            if isinstance(exact, sp.Rational) and exact_digits(exact) <= MAX_EXACT_DIGITS:
                return Num(exact, 0, paren)
            return Num(sp.Rational(str(exact)), self.digits, paren)  # the precise value, rounded only for the page
        return Num(sp.Rational(repr(float(engine))), self.digits, paren)

    @staticmethod
    def note(num: Num) -> tuple[str, tuple[tuple[str, Any], ...]]:
        digits = int(num.args[1])
        return ("rounded_value", (("digits", digits),)) if digits else ("exact_value", ())


def worked_example(net: Network, problem: Problem, *, rate: float = 0.5, digits: int = 7,
                   derivation: Derivation | None = None, functions: Any = None) -> Derivation:
    """The worked example as a Derivation (so every printer renders it), sections as on the slides.

    ``derivation`` (``backprop(net)``) and ``functions`` (``lambdify(net)``) may be given when many examples of one
    network are worked out (an exercise sheet's variants): the network is then derived once, not per example."""
    from derive.engine.numeric import lambdify

    if not 1 <= digits <= 15:
        raise InputError(f"--digits {digits}: choose from 1 to 15 significant digits")
    if not 0 < rate <= 100:
        raise InputError(f"--rate {rate}: the learning rate must be a positive number (at most 100)")
    if max(net.layers) > MAX_UNITS_SHOWN:
        raise InputError(f"a layer of {max(net.layers)} units is too large to show; at most {MAX_UNITS_SHOWN}")
    if net.weight_count > MAX_WEIGHTS_SHOWN:
        raise InputError(f"the network's {net.weight_count} weights are too many to show every number; "
                         f"at most {MAX_WEIGHTS_SHOWN}")
    d = derivation if derivation is not None else backprop(net)
    fn = functions if functions is not None else lambdify(net)
    thetas, X, Y = problem.floats
    out = fn.backward(thetas, X, Y)
    exact = exact_example(net, d, problem)
    shown = _Shown(digits)
    sections = [_forward(net, problem, out, exact, shown), _cost(net, problem, out, exact, shown),
                *_deltas(net, d, problem, out, exact, shown), *_gradients(net, problem, out, exact, shown),
                _update(net, fn, thetas, X, Y, out, rate, shown)]
    precision = tuple(dict.fromkeys((step.note, step.args) for section in sections for step in section.steps
                                    if step.note in PRECISION))
    return Derivation(net, (_given(net, problem, rate, precision), *sections), d.results)


PRECISION = ("exact_value", "rounded_value")
"""the notes saying how exactly the numbers are shown: stated once, with the given data"""


def _given(net: Network, p: Problem, rate: float, precision: Sequence[tuple[str, tuple]]) -> Section:
    """What the example starts from, stated first: the parameters, the example (x, y) and the learning rate,
    and (as the notes of its last lines) how exactly the numbers below are shown."""
    def column(values: Sequence[sp.Rational]) -> sp.Expr:
        """A vector as a column; one number as itself (y = 1, not a 1 × 1 matrix)."""
        return Num(values[0]) if len(values) == 1 else sp.ImmutableMatrix([[Num(v)] for v in values])

    steps = []
    for layer, T in enumerate(p.thetas, start=1):
        steps.append(Step(f"example.given.theta{layer}", q("Theta", layer), T.applyfunc(Num), "given", form=UNIT))
        steps.append(Step(f"example.given.w{layer}", q("Theta", layer), T[:, 1:].applyfunc(Num), "given",
                          form=VECTOR))
        steps.append(Step(f"example.given.b{layer}", q("b", layer), column(list(T[:, 0])), "given", form=VECTOR))
    if p.X.rows == 1:
        steps.append(Step("example.given.x", q("x"), column(list(p.X.row(0))), "given"))
        steps.append(Step("example.given.y", q("y"), column(list(p.Y.row(0))), "given"))
    else:  # one example a row
        steps.append(Step("example.given.X", sp.Symbol("X"), p.X.applyfunc(Num), "given"))
        steps.append(Step("example.given.Y", sp.Symbol("Y"), p.Y.applyfunc(Num), "given"))
    steps.append(Step("example.given.rate", q("alpha"), Num(sp.Rational(repr(rate))), "given"))
    for n, (note, args) in enumerate(reversed(precision), start=1):
        steps[-n] = dataclasses.replace(steps[-n], note=note, args=args)
    return Section("example_given", tuple(steps))


def _forward(net: Network, p: Problem, out: dict, exact: Exact, shown: _Shown) -> Section:
    """z^(l)_i = Θ_i0 + Σ_j Θ_ij a_j with the numbers, then a^(l)_i = g(z) with the number."""
    steps: list[Step] = []
    acts = [[shown(out["activations"][0][0][j], exact.a[0][j], f"a[1][{j + 1}]", paren=True)
             for j in range(net.layers[0])]]
    for j, num in enumerate(acts[0], start=1):
        steps.append(Step(f"example.a1_{j}", q("a", 1, j), num, "substitute_numbers"))
    for layer in range(2, net.L + 1):
        T = p.thetas[layer - 2]
        row = []
        z_nums = [shown(out["z"][layer - 2][0][i], exact.z[layer - 2][i], f"z[{layer}][{i + 1}]")
                  for i in range(net.layers[layer - 1])]
        values = ACTIVATIONS[net.activation(layer)].apply(z_nums)
        for i in range(1, net.layers[layer - 1] + 1):
            weights = [Num(T[i - 1, 0])] + [Product(Num(T[i - 1, j], paren=True), acts[-1][j - 1])
                                            for j in range(1, T.cols)]
            weighted = sp.Add(*weights, evaluate=False)
            z_num = z_nums[i - 1]
            a_num = shown(out["activations"][layer - 1][0][i - 1], exact.a[layer - 1][i - 1], f"a[{layer}][{i}]")
            sid = f"example.forward{layer}_{i}"
            steps.append(Step(sid + ".z1", q("z", layer, i), weighted, "substitute_numbers", "weighted_sum",
                              (("layer", layer), ("unit", i))))
            note, args = shown.note(z_num)
            steps.append(Step(sid + ".z2", q("z", layer, i), z_num, "evaluate", note, args))
            steps.append(Step(sid + ".a1", q("a", layer, i),
                              NumberApplied(g_of(net.activation(layer)), z_num, values[i - 1]),
                              "substitute_numbers", None, (("activation", net.activation(layer)),)))
            note, args = shown.note(a_num)
            steps.append(Step(sid + ".a2", q("a", layer, i), a_num, "evaluate", note, args))
            row.append(Num(a_num.value, int(a_num.args[1]), True))
        acts.append(row)
    return Section("example_forward", tuple(steps))


def _cost(net: Network, p: Problem, out: dict, exact: Exact, shown: _Shown) -> Section:
    """J with the loss of each output unit written out (one example), the penalty when λ > 0, then its value.

    The written-out form is left out when the numbers shown do not evaluate to a finite value (an output that
    rounds to exactly 0 or 1 inside a logarithm): the engine computes the cost from z, where it is finite.
    """
    m = p.X.rows
    J = q("J")
    steps = []
    if m == 1:
        g = ACTIVATIONS[net.output]
        As = [shown(v, exact.a[-1][k], f"a[{net.L}][{k + 1}]")  # bracketed by precedence where it needs it
              for k, v in enumerate(out["activations"][-1][0])]
        Ys = [Num(v, 0, True) for v in p.Y.row(0)]
        terms = [LOSSES[net.loss].term(a, y, g) for a, y in zip(As, Ys)] if g.elementwise else []
        if terms and net.lam:
            scale = REDUCTIONS[net.reduction](sp.Integer(1))
            squares = [sp.Pow(Num(T[i, j]), 2, evaluate=False)
                       for T in p.thetas for i in range(T.rows) for j in range(1, T.cols)]
            terms.append(Product(Num(sp.Rational(repr(net.lam)) * scale / 2), sp.Add(*squares, evaluate=False)))
        written = sp.Add(*terms, evaluate=False)
        if terms and sp.Add(*terms).doit().is_finite:
            steps.append(Step("example.cost.1", J, written, "substitute_numbers"))
    value = shown(out["cost"], exact.cost, "J")
    steps.append(Step("example.cost.2", J, value, "evaluate", "example_cost"))
    return Section("example_cost", tuple(steps))


def _deltas(net: Network, d: Derivation, p: Problem, out: dict, exact: Exact, shown: _Shown) -> list[Section]:
    """δ^(L) from the derived output error with the numbers put in, then each hidden δ from the recursion."""
    a_sym, y_sym, z_sym = sp.symbols("a y z")
    L = net.L
    sections = []
    steps = []
    for k in range(1, net.layers[-1] + 1):
        value = shown(out["deltas"][-1][0][k - 1], exact.deltas[-1][k - 1], f"delta[{L}][{k}]")
        if d.results.output_delta_layer is None:
            a_num = shown(out["activations"][-1][0][k - 1], exact.a[-1][k - 1], f"a[{L}][{k}]", paren=True)
            z_num = shown(out["z"][-1][0][k - 1], exact.z[-1][k - 1], f"z[{L}][{k}]", paren=True)
            with_numbers = d.results.output_delta.xreplace({a_sym: a_num, y_sym: Num(p.Y[0, k - 1], 0, True),
                                                            z_sym: z_num})
            steps.append(Step(f"example.delta{L}_{k}.1", q("delta", L, k), with_numbers, "substitute_numbers"))
        note, args = shown.note(value)
        steps.append(Step(f"example.delta{L}_{k}.2", q("delta", L, k), value, "evaluate", note, args))
    sections.append(Section("example_output_delta", tuple(steps), (("layer", L),)))
    for layer in range(L - 1, 1, -1):
        T = p.thetas[layer - 1]
        prime = d.results.hidden_derivatives[layer - 2]
        steps = []
        nxt = [shown(v, exact.deltas[layer - 1][k], f"delta[{layer + 1}][{k + 1}]", paren=True)
               for k, v in enumerate(out["deltas"][layer - 1][0])]
        for i in range(1, net.layers[layer - 1] + 1):
            back = sp.Add(*(Product(Num(T[k, i], paren=True), nxt[k]) for k in range(T.rows)), evaluate=False)
            a_num = shown(out["activations"][layer - 1][0][i - 1], exact.a[layer - 1][i - 1], f"a[{layer}][{i}]",
                          paren=True)
            z_num = shown(out["z"][layer - 2][0][i - 1], exact.z[layer - 2][i - 1], f"z[{layer}][{i}]", paren=True)
            local = prime.xreplace({a_sym: a_num, z_sym: z_num})
            value = shown(out["deltas"][layer - 2][0][i - 1], exact.deltas[layer - 2][i - 1], f"delta[{layer}][{i}]")
            steps.append(Step(f"example.delta{layer}_{i}.1", q("delta", layer, i), Product(back, local),
                              "substitute_numbers"))
            note, args = shown.note(value)
            steps.append(Step(f"example.delta{layer}_{i}.2", q("delta", layer, i), value, "evaluate", note, args))
        sections.append(Section(f"example_hidden_delta{layer}", tuple(steps), (("layer", layer),)))
    return sections


def _gradients(net: Network, p: Problem, out: dict, exact: Exact, shown: _Shown) -> list[Section]:
    """D^(l)_ij: for one example δ^(l+1)_i · a^(l)_j (+ λ Θ_ij) written out; always its value."""
    m = p.X.rows
    lam = sp.Rational(repr(net.lam))
    sections = []
    for layer in range(net.L - 1, 0, -1):
        G_l = out["gradients"][layer - 1]
        steps = []
        for i in range(G_l.shape[0]):
            for j in range(G_l.shape[1]):
                name = q("D", layer, i + 1, j)
                if m == 1 and REDUCTIONS[net.reduction](sp.Integer(1)) == 1:
                    delta = shown(out["deltas"][layer - 1][0][i], exact.deltas[layer - 1][i],
                                  f"delta[{layer + 1}][{i + 1}]", paren=True)
                    a = Num(1) if j == 0 else shown(out["activations"][layer - 1][0][j - 1],
                                                    exact.a[layer - 1][j - 1], f"a[{layer}][{j}]", paren=True)
                    sid = f"example.gradient{layer}_{i + 1}_{j}.1"
                    written: sp.Expr = Product(delta, a)
                    if net.lam and j:  # the penalty's share, λ Θ_ij (the bias column is not regularized)
                        written = sp.Add(written, Product(Num(lam), Num(p.thetas[layer - 1][i, j], paren=True)),
                                         evaluate=False)
                    if j == 0:  # the bias: δ times the bias unit a_0 = 1, or (a separate bias) δ itself
                        steps.append(Step(sid, name, written, "substitute_numbers", form=UNIT))
                        steps.append(Step(sid + "b", name, q("delta", layer + 1, i + 1), "substitute", "bias_gradient",
                                          (("layer", layer), ("next", layer + 1)), VECTOR))
                    else:
                        steps.append(Step(sid, name, written, "substitute_numbers"))
                known = exact.gradients[layer - 1][i, j] if exact.gradients else None
                value = shown(float(G_l[i, j]), known, f"D[{layer}][{i + 1}][{j}]")
                steps.append(Step(f"example.gradient{layer}_{i + 1}_{j}.2", name, value, "evaluate",
                                  *shown.note(value)))
        sections.append(Section(f"example_gradient{layer}", tuple(steps), (("layer", layer),)))
    return sections


def _update(net: Network, fn: Any, thetas: Sequence[np.ndarray], X: np.ndarray, Y: np.ndarray, out: dict,
            rate: float, shown: _Shown) -> Section:
    """Θ ← Θ − αD, and the cost before and after: the step must lower it, or leave it where the gradient is 0."""
    new = [T - rate * G_l for T, G_l in zip(thetas, out["gradients"])]
    before, after = out["cost"], fn.cost(new, X, Y)
    flat = not any(np.any(G_l) for G_l in out["gradients"])
    if not flat and after == before:
        raise InputError(f"--rate {rate}: the gradient is too small for one step to change the cost ({before:.6g}) "
                         "in double precision; there is no descent step to show at these parameters")
    if not flat and not after < before:
        raise InputError(f"--rate {rate}: one step does not lower the cost ({before:.6g} → {after:.6g}); "
                         "choose a smaller learning rate")
    el, i, j, k = sp.symbols("l i j k")
    theta, w, b = q("Theta", el, i, j), q("Theta", "l-1", j, k), q("Theta", "l-1", j, 0)
    args = (("rate", repr(rate)),)
    rules = (Step("example.update.rule", theta, theta - q("alpha") * q("D", el, i, j), "gradient_descent",
                  "descent_step", args, UNIT),
             Step("example.update.w", w, w - q("alpha") * q("D", "l-1", j, k), "gradient_descent", "descent_step",
                  args, VECTOR),
             Step("example.update.b", b, b - q("alpha") * q("D", "l-1", j, 0), "gradient_descent", "descent_step",
                  args, VECTOR))
    weights = [Step(f"example.update.new{layer}_{i + 1}_{j}", q("Theta", layer, i + 1, j),
                    shown(float(T[i, j]), None, f"Theta[{layer}][{i + 1}][{j}]"), "gradient_descent")
               for layer, T in enumerate(new, start=1) for i in range(T.shape[0]) for j in range(T.shape[1])]
    b, a = shown(before, None, "J"), shown(after, None, "J after")
    cost = Step("example.update.cost", q("J"), a, "evaluate", "cost_unchanged" if flat else "cost_falls",
                (("before", b.text()), ("after", a.text())))
    return Section("example_update", (*rules, *weights, cost))


def with_claims(d: Derivation, claims: Section) -> Derivation:
    """The example with a claims section appended (see derive.document.claims.section)."""
    return Derivation(d.network, (*d.sections, claims), d.results)
