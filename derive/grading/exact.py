"""Exact consistent draws, and an answer's exact value at them: the test that decides "correct" (SPEC §8).

At each point every name has an exact value (a SymPy number, never a float): x, the weights Θ_ij (j ≥ 1),
y, Δ and m are random rationals; each unit's z is chosen so that its activation is rational where the
activation allows it (z = log u for the sigmoid, tanh and softmax, whose values at log u are rational in u;
a rational z otherwise), and the bias weight Θ_i0 = z_i − Σ_j Θ_ij a_j makes the forward pass hold exactly.
δ follows from the derived recursion, in exact arithmetic. Values are computed on demand, so that a name
nobody uses costs nothing.

An answer is correct only when its difference from the derived result is exactly zero at every point.
The work is bounded: the answer is first approximated in floating point (a part that is not finite leaves
it undecided), functions are applied exactly only to small arguments made of rationals, their logs, exps and
roots (SymPy's evaluation of nested transcendental numbers has no bound), numbers larger than MAX_BITS and
evaluations longer than the per-answer budget leave the comparison undecided, and undecided is never correct.
"""

from __future__ import annotations

import cmath
import hashlib
import time
from collections.abc import Callable, Mapping
from fractions import Fraction
from functools import cache, partial
from typing import Any

import numpy as np
import sympy as sp

from derive.model.activations import ACTIVATIONS, Activation
from derive.model.losses import LOSSES
from derive.model.notation import parse_name

from .language import ELEMENTARY, Binary, Call, Name, Node, Num, Unary, function
from .targets import DERIVED, Model, error

POINTS = 8
"""exact points every answer that agrees numerically is compared at; the odd ones are wide (below)"""
WIDE = 10
"""at a wide point values are scaled by 2^k, k uniform in 0 … WIDE (weights, inputs, z reach ±1024, spread
log-uniformly) and activations come within about 2^−WIDE of their bounds, so that an answer that is right only
in a region (|x − 2| for 2 − x, say) is likely to be caught"""
MAX_BITS = 20_000
"""the largest rational (numerator and denominator bits) an exact evaluation may build"""
BUDGET = 2.0
"""seconds one answer's exact comparison may take (checked as it runs, in any thread)"""
MAX_RESIDUE_OPS = 200
"""a difference left with transcendental terms is expanded (logs split) only up to this size"""
DENOMINATOR = 1000
"""random rationals are multiples of 1/DENOMINATOR"""


class Undecided(Exception):
    """The exact comparison could not be carried out within its bounds (never counts as equal)."""


def _rng(seed: int, point: int, name: str) -> int:
    """A reproducible 64-bit random number for one name at one point."""
    return int.from_bytes(hashlib.blake2b(f"{seed}:{point}:{name}".encode(), digest_size=8).digest(), "big")


def _uniform(seed: int, point: int, name: str, low: Fraction, high: Fraction) -> sp.Rational:
    """A random multiple of 1/DENOMINATOR strictly inside (low, high)."""
    lo, hi = int(low * DENOMINATOR) + 1, int(high * DENOMINATOR) - 1
    n = lo + _rng(seed, point, name) % max(hi - lo + 1, 1)
    return sp.Rational(n, DENOMINATOR)


def exp_form(f: Callable[[sp.Expr], sp.Expr]) -> Callable[[sp.Expr], sp.Expr]:
    """``f`` rewritten in exp (tanh z = (e^z − e^−z)/(e^z + e^−z)), so that at z = log u SymPy's own
    evaluation gives the rational value."""
    z = sp.Symbol("z")
    body = f(z).rewrite(sp.exp)
    return lambda v: body.xreplace({z: v})


def _number(v: Any) -> sp.Expr:
    """A SymPy number (an activation of plain Python numbers may give an int)."""
    return v if isinstance(v, sp.Basic) else sp.Rational(v)


@cache
def _log_mode(activation: str, units: int) -> bool:
    """Whether the activation's values at z = log u are rational for rational u (sigmoid, tanh, softmax)."""
    g = ACTIVATIONS[activation]
    for sample in ((sp.Rational(3, 7), sp.Rational(5, 2), sp.Rational(1, 3)), (sp.Rational(9, 4),) * 3):
        zs = [sp.log(u) for u in sample[:units]]
        values = [exp_form(g.unit)(z) for z in zs] if g.unit is not None else list(g.apply(zs))
        if not all(_number(v).is_Rational for v in values):
            return False
    return True


class ExactPoints:
    """Exact consistent values of every name of one network at POINTS points, computed on demand."""

    def __init__(self, model: Model, seed: int, points: int = POINTS) -> None:
        self.model, self.net, self.seed, self.points = model, model.net, seed, points
        self._values: list[dict[str, sp.Expr]] = [{} for _ in range(points)]
        self._layers: dict[tuple[int, int], tuple[tuple[sp.Expr, ...], tuple[sp.Expr, ...]]] = {}

    def value(self, point: int, name: str) -> sp.Expr:
        cache = self._values[point]
        if name not in cache:
            cache[name] = self._define(point, name)
        return cache[name]

    def environment(self, point: int) -> _Environment:
        return _Environment(self, point)

    # --- definitions ------------------------------------------------------------------------------------
    def _random(self, point: int, name: str, low: float = -1.0, high: float = 1.0) -> sp.Rational:
        """Uniform in (low, high); at a wide point, divided by a random 1 … 1/WIDE as well (heavy tails)."""
        v = _uniform(self.seed, point, name, Fraction(low), Fraction(high))
        return v * 2 ** (_rng(self.seed, point, "scale:" + name) % (WIDE + 1)) if point % 2 else v

    def _ratio(self, point: int, name: str) -> sp.Rational:
        """A positive rational u (z = log u): in (1/4, 4), or at a wide point (1/2, 1) × 2^k, |k| ≤ WIDE."""
        if point % 2 == 0:
            return _uniform(self.seed, point, name, Fraction(1, 4), Fraction(4))
        u = _uniform(self.seed, point, name, Fraction(1, 2), Fraction(1))
        return u * sp.Integer(2) ** (_rng(self.seed, point, "scale:" + name) % (2 * WIDE + 1) - WIDE)

    def _inside(self, point: int, name: str, low: float, high: float) -> sp.Rational:
        """Uniform inside (low, high), away from the ends by a tenth of the width (1/1000 at a wide point)."""
        margin = (high - low) * (0.001 if point % 2 else 0.1)
        return _uniform(self.seed, point, name, Fraction(low + margin), Fraction(high - margin))

    def _layer(self, point: int, layer: int) -> tuple[tuple[sp.Expr, ...], tuple[sp.Expr, ...]]:
        """(z, a) of every unit of ``layer`` ≥ 2 at ``point``."""
        key = (point, layer)
        if key not in self._layers:
            n, g = self.net.layers[layer - 1], ACTIVATIONS[self.net.activation(layer)]
            if _log_mode(g.name, n):
                zs = tuple(sp.log(self._ratio(point, f"u[{layer}][{i}]")) for i in range(1, n + 1))
                values = [exp_form(g.unit)(z) for z in zs] if g.unit is not None else list(g.apply(zs))
            else:
                zs = tuple(self._nonzero(point, f"z[{layer}][{i}]") for i in range(1, n + 1))
                values = list(g.apply(zs))
            self._layers[key] = zs, tuple(_number(v) for v in values)
        return self._layers[key]

    def _nonzero(self, point: int, name: str) -> sp.Rational:
        """A random z away from 0 (where ReLU and its kin have their kink)."""
        v = self._random(point, name, -2.0, 2.0)
        return v if abs(v) >= sp.Rational(1, 20) else v + sp.Rational(1, 4)

    def _targets(self, point: int) -> tuple[sp.Rational, ...]:
        K = self.net.layers[-1]
        g, loss = ACTIVATIONS[self.net.output], LOSSES[self.net.loss]
        if g.sums_to_one:
            r = [self._inside(point, f"r[{k}]", 0.0, 1.0) for k in range(1, K + 1)]
            return tuple(v / sum(r) for v in r)
        low, high = loss.targets or (max(g.range[0], -1.0), min(g.range[1], 1.0))
        return tuple(self._inside(point, f"y[{k}]", low, high) for k in range(1, K + 1))

    def _define(self, point: int, name: str) -> sp.Expr:
        net = self.net
        if name == "lambda":
            return self.model.lam
        if name == "m":
            return sp.Integer(3 + _rng(self.seed, point, "m") % 38)
        parsed = parse_name(name)
        if parsed is None:
            raise KeyError(name)
        kind, idx = parsed
        index = tuple(int(i) for i in idx)
        if kind == "x":
            return sp.Integer(1) if index == (0,) else self._random(point, name)
        if kind == "y":
            return self._targets(point)[index[0] - 1]
        if kind == "a":
            layer, unit = index
            if unit == 0:
                return sp.Integer(1)
            return self.value(point, f"x[{unit}]") if layer == 1 else self._layer(point, layer)[1][unit - 1]
        if kind == "z":
            layer, unit = index
            return self._layer(point, layer)[0][unit - 1]
        if kind == "Theta":
            layer, i, j = index
            if j > 0:
                return self._random(point, name)
            rest = sp.Add(*(self.value(point, f"Theta[{layer}][{i}][{k}]") * self.value(point, f"a[{layer}][{k}]")
                            for k in range(1, net.layers[layer - 1] + 1)))
            return self._layer(point, layer + 1)[0][i - 1] - rest
        if kind == "Delta":
            return self._random(point, name)
        if kind == "delta":
            layer, unit = index
            expr = self.model.output_delta(unit) if layer == net.L else error(self.model, DERIVED, layer, unit,
                                                                               expand=False)
            return substitute(expr, self.environment(point))
        raise KeyError(name)


class _Environment:
    """The exact values at one point, as a mapping name -> value."""

    def __init__(self, points: ExactPoints, point: int) -> None:
        self.points, self.point = points, point

    def __getitem__(self, name: str) -> sp.Expr:
        return self.points.value(self.point, name)


def substitute(expr: sp.Expr, values: Any, overrides: Mapping[str, sp.Expr] | None = None) -> sp.Expr:
    """A derived expression's exact value: each symbol replaced by its value (``overrides`` first)."""
    overrides = overrides or {}
    subs = {s: overrides[s.name] if s.name in overrides else values[s.name] for s in expr.free_symbols}
    return expr.xreplace(subs)


# --- an answer, exactly ---------------------------------------------------------------------------------------
@cache
def _exact_activation(activation: Activation) -> Callable[[sp.Expr], sp.Expr]:
    return exp_form(activation.unit)  # type: ignore[arg-type]


def exact_function(name: str) -> Callable[[sp.Expr], sp.Expr]:
    """One of the answer language's functions in exact arithmetic (an activation in exp, so that log u
    evaluates)."""
    return ELEMENTARY[name][1] if name in ELEMENTARY else _exact_activation(ACTIVATIONS[name])


def _bits(v: sp.Expr) -> int:
    if v.is_Rational:
        return int(v.p).bit_length() + int(v.q).bit_length()
    return 0


class Clock:
    """The per-answer budget: time spent on the answer itself (the network's own values, computed once and
    shared by every answer, are not counted), checked as the evaluation runs, in any thread."""

    def __init__(self, budget: float) -> None:
        self.deadline = time.monotonic() + budget

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise Undecided("time")

    def excluding(self, compute: Callable[[], sp.Expr]) -> sp.Expr:
        start = time.monotonic()
        try:
            return compute()
        finally:
            self.deadline += time.monotonic() - start


MAX_ARGUMENT_OPS = 60
"""the largest argument (in SymPy operations) a function of an answer is applied to exactly"""


def _simple(v: sp.Expr) -> bool:
    """Whether exp, log, sqrt … may be applied to ``v`` exactly: a rational, or a small expression whose every
    exp and log is of a rational and every root of a rational. SymPy's own evaluation of a function checks its
    argument's sign and parts, which for nested transcendental numbers grows without bound."""
    if v.is_Rational:
        return True
    if sp.count_ops(v) > MAX_ARGUMENT_OPS:
        return False
    return (all(f.args[0].is_Rational for f in v.atoms(sp.exp, sp.log))
            and all(p.base.is_Rational for p in v.atoms(sp.Pow) if not p.exp.is_Integer))


def evaluate(node: Node, values: Any, clock: Clock) -> sp.Expr:
    """The answer tree's exact value; Undecided beyond MAX_BITS or the clock's budget."""
    clock.check()
    match node:
        case Num(value):
            return sp.Rational(value.numerator, value.denominator)
        case Name(name):
            return clock.excluding(lambda: values[name])
        case Unary(op, arg):
            out = evaluate(arg, values, clock)
            return -out if op == "-" else out
        case Binary(op, left, right):
            u, v = evaluate(left, values, clock), evaluate(right, values, clock)
            if op == "**" and v.is_Integer and u.is_Rational and abs(int(v)) * _bits(u) > MAX_BITS:
                raise Undecided("size")
            if op == "**" and not v.is_Integer and not (_simple(u) and _simple(v)):
                raise Undecided("depth")
            out = {"+": lambda: u + v, "-": lambda: u - v, "*": lambda: u * v, "/": lambda: u / v,
                   "**": lambda: u**v}[op]()
        case Call(name, arg):
            inner = evaluate(arg, values, clock)
            if inner.is_Rational and _bits(inner) > MAX_BITS:
                raise Undecided("size")
            if not _simple(inner):
                raise Undecided("depth")
            out = exact_function(name)(inner)
        case _:
            raise TypeError(f"not an answer node: {node!r}")
    if _bits(out) > MAX_BITS:
        raise Undecided("size")
    return out


_APPROX_ELEMENTARY: Mapping[str, Callable[[complex], complex]] = {
    "exp": cmath.exp, "log": cmath.log, "sqrt": cmath.sqrt}


@cache
def _approximate_activation(activation: Activation) -> Callable[[complex], complex]:
    """The activation in complex floating point, written as its exact form is (in exp); an activation that
    has no complex form (relu's max) is applied to real arguments only, by its NumPy function."""
    z = sp.Symbol("z")
    form = sp.lambdify([z], exp_form(activation.unit)(z), "cmath")  # type: ignore[arg-type]
    try:
        complex(form(complex(0.5, 0.5)))
        return form  # type: ignore[no-any-return]
    except (NameError, TypeError):
        pass
    real = function(activation.name)[0]

    def on_reals(x: complex) -> complex:
        if x.imag != 0:
            raise ValueError("a complex argument")
        with np.errstate(all="ignore"):
            return complex(float(real(x.real)))

    return on_reals


def approximate_function(name: str) -> Callable[[complex], complex]:
    """One of the answer language's functions in complex floating point."""
    return _APPROX_ELEMENTARY[name] if name in _APPROX_ELEMENTARY else _approximate_activation(ACTIVATIONS[name])


_APPROX_BINARY: Mapping[str, Callable[[complex, complex], complex]] = {
    "+": lambda u, v: u + v, "-": lambda u, v: u - v, "*": lambda u, v: u * v, "/": lambda u, v: u / v,
    "**": lambda u, v: u**v}


def approximate(node: Node, values: Any) -> complex:
    """The answer's value in complex floating point; Undecided where any part of it is not finite.

    Run before the exact evaluation: every exact number SymPy is then asked to evaluate is of moderate size
    (e^(e^(10^9)) would take SymPy's evalf forever), which bounds its work."""
    try:
        match node:
            case Num(value):
                out = complex(float(value))
            case Name(name):
                v = values[name]
                out = complex(float(v)) if v.is_Rational else complex(v.evalf(17))
            case Unary(op, arg):
                out = -approximate(arg, values) if op == "-" else approximate(arg, values)
            case Binary(op, left, right):
                out = _APPROX_BINARY[op](approximate(left, values), approximate(right, values))
            case Call(name, arg):
                out = approximate_function(name)(approximate(arg, values))
            case _:
                raise TypeError(f"not an answer node: {node!r}")
    except (OverflowError, ZeroDivisionError, ValueError):
        raise Undecided("range") from None
    if not cmath.isfinite(out) or abs(out) > 1e300:
        raise Undecided("range")
    return out


def is_zero(diff: sp.Expr) -> bool | None:
    """True when the exact difference is zero (as SymPy evaluates it, or once its logarithms are split),
    False when it is shown non-zero (a rational, not finite, or evaluated to full accuracy away from zero), None
    when neither can be shown."""
    if diff == 0:
        return True
    if diff.is_Rational or diff.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return False
    if sp.count_ops(diff) > MAX_RESIDUE_OPS:
        return None
    try:
        split = sp.expand_log(diff, force=True)
    except (TypeError, ValueError, RecursionError):  # pragma: no cover - SymPy internals
        return None
    if split == 0:
        return True
    if split.is_Rational:
        return False
    try:  # evalf's strict mode either reaches the accuracy asked for or raises: a non-zero value is one
        value = split.evalf(30, strict=True, maxn=300)
    except (sp.core.evalf.PrecisionExhausted, TypeError, ValueError, ArithmeticError, RecursionError):
        return None
    return False if value.is_Number and value != 0 else None


def equal_everywhere(node: Node, expected: Callable[[int], sp.Expr], points: ExactPoints,
                     alias: Mapping[str, str], budget: float = BUDGET) -> bool | None:
    """True when the answer equals the expected value exactly at every point, False when it differs at one,
    None when that could not be decided within the bounds (which is never equal)."""
    clock = Clock(budget)
    undecided = False
    for p in range(points.points):
        env = points.environment(p)
        values = _Aliased(env, alias) if alias else env
        try:
            clock.check()
            clock.excluding(partial(approximate, node, values))  # names' values computed here, not counted
            diff = evaluate(node, values, clock) - clock.excluding(partial(expected, p))
        except (Undecided, KeyError):  # KeyError: a name with no exact value here (never taken as equal)
            return None
        except (ArithmeticError, TypeError, ValueError, RecursionError, NotImplementedError):
            return None  # SymPy could not carry the arithmetic out: undecided, never equal
        zero = is_zero(diff)
        if zero is False:
            return False
        undecided = undecided or zero is None
    return None if undecided else True


class _Aliased:
    def __init__(self, values: Any, alias: Mapping[str, str]) -> None:
        self.values, self.alias = values, alias

    def __getitem__(self, name: str) -> sp.Expr:
        return self.values[self.alias.get(name, name)]


