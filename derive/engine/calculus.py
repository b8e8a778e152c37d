"""Differentiation shown the way a lecturer does it, and the algebra that turns one form into the next.

Every function here returns SymPy expressions; none decides what a result should be. The stages of
``explain_derivative`` apply the textbook rules (sum, constant factor, product, chain rule with the
derivatives of log, exp and powers) one level at a time, leaving the inner derivatives visible.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence

import sympy as sp

from derive.engine.derivation import is_zero
from derive.engine.expressions import Frac, Product, rebuild


def _mul(*factors: sp.Expr) -> sp.Expr:
    """The factors as a Product shown with dots in the order the rule produced them (ones left out)."""
    kept = [f for f in factors if f != 1]
    if not kept:
        return sp.Integer(1)
    return kept[0] if len(kept) == 1 else Product(*kept)


def chain_rule_level(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """d expr/dx with the outer rule applied and each inner derivative left as an unevaluated Derivative."""
    if not expr.has(x):
        return sp.Integer(0)
    if expr == x:
        return sp.Integer(1)
    if isinstance(expr, sp.Add):
        terms = [chain_rule_level(t, x) for t in expr.args if t.has(x)]
        return terms[0] if len(terms) == 1 else sp.Add(*terms, evaluate=False)
    if isinstance(expr, sp.Mul):
        const = [f for f in expr.args if not f.has(x)]
        var = [f for f in expr.args if f.has(x)]
        if len(var) == 1:
            return _mul(*const, chain_rule_level(var[0], x))
        terms = [_mul(*const, *var[:i], chain_rule_level(f, x), *var[i + 1:]) for i, f in enumerate(var)]
        return sp.Add(*terms, evaluate=False)
    inner = _inner(expr)
    if inner is None:
        return sp.Derivative(expr, x).doit()
    u = sp.Dummy("u")
    outer = expr.xreplace({inner: u})
    coeff, rest = sp.diff(outer, u).as_coeff_Mul()  # 2·(a − y), not SymPy's distributed 2a − 2y
    outer_d = _mul(coeff, rest.xreplace({u: inner}))
    inner_d = sp.Integer(1) if inner == x else _visible(inner, x)
    return _mul(outer_d, inner_d)


def _inner(expr: sp.Expr) -> sp.Expr | None:
    """The argument the chain rule passes through, for log, exp, powers and other one-argument functions."""
    if isinstance(expr, sp.Pow) and not expr.exp.has(*expr.base.free_symbols - {sp.S.Exp1}):
        return expr.base
    if isinstance(expr, sp.Function) and len(expr.args) == 1:
        return expr.args[0]
    return None


def _visible(inner: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """The inner derivative: a plain number or symbol when trivial, otherwise an unevaluated Derivative."""
    d = sp.diff(inner, x)
    return d if d.is_number else sp.Derivative(inner, x)


def evaluate_inner(expr: sp.Expr) -> sp.Expr:
    """Evaluate the unevaluated Derivatives left by ``chain_rule_level``, keeping the products as they stand."""
    return rebuild(expr)


def explain_derivative(expr: sp.Expr, x: sp.Symbol) -> list[tuple[str, sp.Expr]]:
    """The stages of d expr/dx as (rule, expression): the rules applied, inner derivatives, the plain result."""
    stages: list[tuple[str, sp.Expr]] = []
    first = chain_rule_level(expr, x)
    stages.append((_rule_of(expr), first))
    if first.has(sp.Derivative):
        stages.append(("inner_derivative", evaluate_inner(first)))
    stages.append(("simplify", termwise(stages[-1][1], sp.diff(expr, x))))
    return _distinct(stages)


def termwise(expr: sp.Expr, plain: sp.Expr) -> sp.Expr:
    """Each term of a sum tidied on its own, in the order written (−y/a + (1 − y)/(1 − a)); ``plain`` otherwise."""
    if not isinstance(expr, sp.Add):
        return plain
    return sp.Add(*(tidy(t) for t in expr.args), evaluate=False)


def _rule_of(expr: sp.Expr) -> str:
    if expr.has(sp.log):
        return "derivative_log"
    if isinstance(expr, sp.Pow) or expr.has(sp.exp):
        return "chain_rule"
    if isinstance(expr, sp.Function | sp.Max | sp.Min):
        return "derivative_function"
    return "derivative_sum"


def _distinct(stages: list[tuple[str, sp.Expr]]) -> list[tuple[str, sp.Expr]]:
    out: list[tuple[str, sp.Expr]] = []
    for rule, e in stages:
        if not out or out[-1][1] != e:
            out.append((rule, e))
    return out


def over_common_denominator(expr: sp.Expr) -> Frac | None:
    """A sum of fractions written over the product of its denominators, numerator expanded term by term
    and not yet collected (−y + ya + a − ay), as a student writes it; None when expr is no such sum."""
    if not isinstance(expr, sp.Add):
        return None
    parts = [sp.fraction(sp.together(t)) for t in expr.args]
    dens = [d for _, d in parts if d != 1]
    if not dens:
        return None
    common = sp.Mul(*dict.fromkeys(dens))
    pieces: list[sp.Expr] = []
    for num, den in parts:
        scaled = sp.expand(num * sp.cancel(common / den))
        pieces.extend(sp.Add.make_args(scaled))
    return Frac(sp.Add(*pieces, evaluate=False), common)


def tidy(expr: sp.Expr) -> sp.Expr:
    """The form a lecturer writes: factored, with (1 − a) rather than −(a − 1) and a − y rather than y − a;
    a product of sums only is multiplied out when that is shorter (1 − a² rather than (1 − a)(1 + a))."""
    f = sp.factor(sp.cancel(expr.doit()))
    num, den = sp.fraction(f)
    sign_n, num = _normal_factors(num)
    sign_d, den = _normal_factors(den)
    if den == 1 and all(isinstance(x, sp.Add) for x in sp.Mul.make_args(num)) and len(sp.Mul.make_args(num)) > 1:
        expanded = sp.expand(sign_n * num)
        if len(sp.Add.make_args(expanded)) <= 2:
            return expanded
    return sign_n * sign_d * num / den


def _normal_factors(expr: sp.Expr) -> tuple[int, sp.Expr]:
    """(sign, product) with every sum factor oriented: constant term positive, else first symbol positive."""
    coeff, factors = expr.as_coeff_mul()
    sign = 1 if coeff >= 0 else -1
    out = []
    for f in factors:
        base, power = f.as_base_exp()
        if isinstance(base, sp.Add) and _leading_negative(base):
            base = sp.expand(-base)
            if power.is_integer and power % 2:
                sign = -sign
        out.append(base**power)
    return sign, sp.Mul(abs(coeff), *out)


def _leading_negative(expr: sp.Add) -> bool:
    const, rest = expr.as_independent(*expr.free_symbols)
    if const != 0:
        return bool(const < 0)
    first = sorted(rest.free_symbols, key=str)[0]
    return bool(rest.coeff(first).could_extract_minus_sign())


def polynomial_identity(derivative: sp.Expr, function: sp.Expr, z: sp.Symbol, a: sp.Symbol,
                        *, degree: int = 3) -> sp.Expr | None:
    """Find p with derivative(z) = p(function(z)), proven symbolically, or None when there is none.

    Candidates come from a least-squares fit at sample points (coefficients read as small rationals);
    a candidate is returned only once ``simplify(derivative − p(function)) == 0`` proves it.
    """
    import mpmath  # SymPy's own arbitrary-precision library: a 16 × 4 fit needs no NumPy import

    if derivative.has(sp.Heaviside, sp.DiracDelta, sp.Piecewise, sp.sign):
        return None
    rng = random.Random(0)
    points = [rng.uniform(-2, 2) for _ in range(4 * (degree + 1))]
    try:
        rows = [[float(function.subs(z, p)) ** n for n in range(degree + 1)] for p in points]
        rhs = [float(derivative.subs(z, p)) for p in points]
    except (TypeError, ValueError):
        return None
    try:
        coeffs, _ = mpmath.qr_solve(mpmath.matrix(rows), mpmath.matrix(rhs))
    except ZeroDivisionError:  # the samples do not determine a polynomial
        return None
    poly = sp.Add(*(sp.nsimplify(round(float(c), 9), rational=True) * a**n for n, c in enumerate(coeffs)))
    if not is_zero(derivative - poly.subs(a, function)):
        return None
    return tidy(poly)


def layer_identity(derivative: sp.Expr, outputs: Sequence[sp.Expr], zs: Sequence[sp.Symbol],
                   names: Sequence[sp.Symbol], *, terms: int = 3) -> sp.Expr | None:
    """Find the sparsest quadratic p in the layer's outputs with derivative = p(outputs), proven, or None.

    The outputs may be dependent (softmax's sum to one), so the fewest monomials that fit are sought,
    at sample points first and then by a symbolic proof.
    """
    import numpy as np

    monomials = [sp.Integer(1), *names, *(u * v for u, v in itertools.combinations_with_replacement(names, 2))]
    rng = np.random.default_rng(0)
    points = rng.uniform(-2, 2, size=(4 * terms + 8, len(zs)))
    out_f = sp.lambdify(list(zs), list(outputs), "numpy")
    mono_f = sp.lambdify(list(names), monomials, "numpy")
    d_f = sp.lambdify(list(zs), derivative, "numpy")
    values = np.array([out_f(*p) for p in points], dtype=float)
    V = np.array([np.broadcast_to(np.array(mono_f(*v), dtype=float), len(monomials)) for v in values])
    target = np.array([float(d_f(*p)) for p in points])
    for size in range(1, terms + 1):
        for subset in itertools.combinations(range(len(monomials)), size):
            cols = V[:, subset]
            coeffs, *_ = np.linalg.lstsq(cols, target, rcond=None)
            if np.max(np.abs(cols @ coeffs - target)) > 1e-9:
                continue
            poly = sp.Add(*(sp.nsimplify(round(float(c), 9), rational=True) * monomials[m]
                            for c, m in zip(coeffs, subset)))
            if is_zero(derivative - poly.subs(dict(zip(names, outputs)))):
                return tidy(poly)
    return None


def indexed_identity(derivative: sp.Expr, outputs: Mapping[sp.Indexed, sp.Expr], indices: Sequence[sp.Symbol],
                     size: sp.Symbol, *, terms: int = 3) -> sp.Expr | None:
    """Find the sparsest p with derivative = p, p quadratic in the named outputs of generic units (``outputs``
    maps a[i], a[k] to their definitions in z[1] … z[size]) times 1 or the indicator 1[i = k], or None.

    Candidates are fitted at concrete units (every assignment of 1 and 2 to the indices, in a layer of three)
    and then proven symbolically for the generic units and layer size.
    """
    import numpy as np

    names = list(outputs)
    indicator = [sp.Integer(1), *([sp.KroneckerDelta(*indices)] if len(indices) == 2 else [])]
    powers = [sp.Integer(1), *names, *(u * v for u, v in itertools.combinations_with_replacement(names, 2))]
    monomials = [p * d for d in indicator for p in powers]
    rng = np.random.default_rng(0)
    rows, target = [], []
    for units in itertools.product((1, 2), repeat=len(indices)):
        at = {**dict(zip(indices, units)), size: 3}
        for _ in range(4):
            point: dict[sp.Basic, sp.Basic] = {}

            def number(e: sp.Expr) -> float:
                e = e.xreplace(at).doit()
                for atom in e.atoms(sp.Indexed):
                    point.setdefault(atom, sp.Float(rng.uniform(-2, 2)))
                return float(e.xreplace(point))

            values = {n.xreplace(at): number(v) for n, v in outputs.items()}
            target.append(number(derivative))
            rows.append([float(m.xreplace(at).xreplace(values)) for m in monomials])
    V, t = np.array(rows), np.array(target)
    for count in range(1, terms + 1):
        for subset in itertools.combinations(range(len(monomials)), count):
            cols = V[:, subset]
            coeffs, *_ = np.linalg.lstsq(cols, t, rcond=None)
            if np.max(np.abs(cols @ coeffs - t)) > 1e-9:
                continue
            poly = sp.Add(*(sp.nsimplify(round(float(c), 9), rational=True) * monomials[m]
                            for c, m in zip(coeffs, subset)))
            if is_zero(sp.expand(derivative - poly.xreplace(outputs))):
                return poly
    return None
