"""Symbolic equality of an answer and a result, where SymPy can show it within a size and time guard.

Both sides are first written in the quantities nothing else defines: each unit in its activation a where
g can be inverted (z = g⁻¹(a), found by SymPy) and in z otherwise (a = g(z)); a^(1) is x, a bias unit 1,
every δ its derived definition, λ the network's value, and with softmax the last target 1 − Σ the others.
Then the difference is simplified by ever stronger (and slower) means.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

import sympy as sp

from ..activations import ACTIVATIONS
from ..derivation import LAM
from ..notation import parse_name, q
from .targets import DERIVED, Model, error

MAX_OPS = 600
"""differences larger than this (in SymPy operations) are not simplified"""
SECONDS = 1.0
"""time allowed for one comparison (where a timer can interrupt it: the main thread)"""


class _Timeout(Exception):
    pass


@contextmanager
def time_limit(seconds: float) -> Iterator[bool]:
    """Interrupt the block after ``seconds`` with _Timeout; yields False where no timer is possible."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield False
        return

    def expire(signum: int, frame: object) -> None:
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_A, _Z = sp.symbols("a z")


@cache
def inverse(activation: str) -> sp.Expr | None:
    """z in terms of a = g(z), found by SymPy and kept only if it inverts g on sample points (else None).

    Where it exists, answers are compared in a: g(z), g′(z) and exp(−z) become rational in a, which SymPy
    cancels quickly and exactly.
    """
    g = ACTIVATIONS[activation]
    if g.unit is None:
        return None
    try:
        candidates = sp.solve(sp.Eq(_A, g.unit(_Z)), _Z)
    except (NotImplementedError, ValueError):
        return None
    for inv in candidates:
        back = sp.lambdify([_A], inv, "mpmath")
        forward = sp.lambdify([_Z], g.unit(_Z), "mpmath")
        try:
            if all(abs(complex(back(forward(z0))) - z0) < 1e-9 for z0 in SAMPLES):
                return inv
        except (TypeError, ValueError, ZeroDivisionError):
            continue
    return None


SAMPLES = (-1.7, -0.45, 0.3, 1.2)
"""points an inverse must hold at"""


class Reducer:
    """Writes an expression in the independent quantities of one network (a or z, Θ, x, y, Δ, m)."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self._cache: dict[sp.Symbol, sp.Expr | None] = {}

    def __call__(self, expr: sp.Expr) -> sp.Expr:
        for _ in range(self.model.L + 3):
            subs = {s: d for s in expr.free_symbols if (d := self.definition(s)) is not None}
            if not subs:
                break
            expr = expr.xreplace(subs)
        return expr

    def definition(self, symbol: sp.Symbol) -> sp.Expr | None:
        if symbol not in self._cache:
            self._cache[symbol] = self._define(symbol)
        return self._cache[symbol]

    def _define(self, symbol: sp.Symbol) -> sp.Expr | None:
        model, net = self.model, self.model.net
        if symbol == LAM:
            return model.lam
        parsed = parse_name(symbol.name)
        if parsed is None:
            return None
        kind, idx = parsed
        index = tuple(int(i) for i in idx) if all(i.isdigit() for i in idx) else None
        if index is None:
            return None
        if kind == "x" and index == (0,):
            return sp.Integer(1)
        if kind == "a":
            layer, unit = index
            if unit == 0:
                return sp.Integer(1)
            if layer == 1:
                return q("x", unit)
            g = ACTIVATIONS[net.activation(layer)]
            if g.elementwise and inverse(g.name) is not None:
                return None  # a is the independent quantity; z is written in it
            zs = [q("z", layer, k) for k in range(1, model.size(layer) + 1)]
            return g.apply(zs)[unit - 1]
        if kind == "z":
            layer, unit = index
            inv = inverse(net.activation(layer))
            return inv.xreplace({_A: q("a", layer, unit)}) if inv is not None else None
        if kind == "delta":
            return error(model, DERIVED, *index, expand=False)
        if kind == "y" and ACTIVATIONS[net.output].sums_to_one and index[0] == net.layers[-1] > 1:
            return 1 - sp.Add(*(q("y", k) for k in range(1, net.layers[-1])))
        return None


def _steps() -> tuple[Callable[[sp.Expr], sp.Expr], ...]:
    return (lambda d: sp.cancel(sp.together(d.rewrite(sp.exp))), sp.simplify)


def equal(left: sp.Expr, right: sp.Expr) -> bool | None:
    """True when SymPy shows left = right, False when the difference is a non-zero number, None otherwise."""
    diff = left - right
    if diff == 0:
        return True
    if diff.is_number:
        return _nonzero_number(diff)
    if sp.count_ops(diff) > MAX_OPS:
        return None
    try:
        with time_limit(SECONDS) as timed:
            for step in _steps() if timed else _steps()[:2]:
                diff = step(diff)
                if diff == 0:
                    return True
                if diff.is_number:
                    return _nonzero_number(diff)
    except _Timeout:
        return None
    return None


def _nonzero_number(diff: sp.Expr) -> bool | None:
    value = complex(diff.evalf(30))
    return False if abs(value) > 1e-25 else None
