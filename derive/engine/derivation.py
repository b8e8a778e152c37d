"""The Derivation: an immutable sequence of checked steps, grouped in sections, plus its results.

Steps are built through a ``Chain``: every new right-hand side is checked equal to the one before
(symbolically, and numerically at random points) by the ``Checker`` before it is kept. A check that
fails raises ``CheckError`` naming the step; nothing unchecked is ever emitted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
import re
import sys
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sympy as sp
from sympy.core.function import AppliedUndef

from derive.engine.expressions import Partial
from derive.errors import CheckError
from derive.io.output import append_to_cache, cache_folder

if TYPE_CHECKING:
    from derive.model.network import Network


@dataclass(frozen=True)
class Step:
    """lhs = rhs, obtained from the previous step by ``rule`` (a rule id of the catalogue)."""

    id: str
    lhs: sp.Basic
    rhs: sp.Basic
    rule: str
    note: str | None = None
    """catalogue key of an explanation beyond the rule's name"""
    args: tuple[tuple[str, Any], ...] = ()
    """values the note's text refers to (layer numbers, names)"""
    form: str | None = None
    """None for a step every notation shows; otherwise the bias convention whose documents show it
    (``bias_unit`` or ``bias_vector``, see notation.Profile.form): the same mathematics written both ways"""


@dataclass(frozen=True)
class Section:
    id: str
    steps: tuple[Step, ...]
    args: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Results:
    """The one-unit results of SPEC §3, in the symbols a, y, z (a = the unit's activation, y its target)."""

    output_delta: sp.Expr
    hidden_derivative: sp.Expr | None
    gradient: sp.Expr
    hidden_derivatives: tuple[sp.Expr, ...] = ()
    """g′ for every hidden layer 2 … L−1, in a or z"""
    output_delta_layer: tuple[sp.Expr, ...] | None = None
    """δ^(L)_1 … δ^(L)_K in a[L][k], y[k] when the output activation couples its units (softmax)"""


@dataclass(frozen=True)
class Derivation:
    network: Network
    sections: tuple[Section, ...]
    results: Results

    def section(self, id: str) -> Section:
        for s in self.sections:
            if s.id == id:
                return s
        raise KeyError(f"no section {id!r}; sections: {', '.join(s.id for s in self.sections)}")

    @property
    def steps(self) -> tuple[Step, ...]:
        """The steps as the network's notation writes them (the other bias convention's steps left out)."""
        from derive.model.notation import PROFILES

        profile = PROFILES[self.network.notation]
        return tuple(step for s in self.sections for step in s.steps if profile.shows(step.form))

    # Jupyter: a Derivation shows itself as the document it is
    def _repr_markdown_(self) -> str:
        from derive.render import render

        return render(self, "markdown")

    def _repr_html_(self) -> str:
        """A fragment for a notebook's output cell (a <div> of MathML), never a whole page with <html><head>."""
        from derive.render import render

        return render(self, "mathml")

    def _repr_latex_(self) -> str:
        from derive.render import document
        from derive.render.markdown import math

        return math(document(self))


@dataclass
class Checker:
    """Checks that two sides are equal, given what every named quantity stands for.

    ``definitions`` maps a quantity to its expression in the quantities it is computed from (a to g(z),
    J to the loss in a); ``domain`` gives sampling intervals for the free symbols; ``assume`` holds
    substitutions a step may rely on (e.g. Σ y_k = 1 for one-hot targets).
    """

    definitions: dict[sp.Basic, sp.Basic] = field(default_factory=dict)
    domain: dict[sp.Symbol, tuple[float, float]] = field(default_factory=dict)
    assume: dict[sp.Symbol, sp.Expr] = field(default_factory=dict)
    points: int = 5
    symbolic: bool = True
    _memo: tuple[Any, ...] | None = field(default=None, init=False, repr=False, compare=False)
    """the definitions in canonical names, as last computed for ``equal``'s key (with the items they were of)"""

    def define(self, quantity: sp.Basic, value: sp.Basic) -> None:
        self.definitions[quantity] = value

    def value(self, expr: sp.Basic, *, keep: frozenset[sp.Basic] = frozenset()) -> sp.Basic:
        """expr with every partial taken, every display node evaluated and every quantity expanded (but those in
        ``keep``, left as free symbols)."""
        definitions = {k: v for k, v in self.definitions.items() if k not in keep} if keep else self.definitions
        for _ in range(64):
            new = expr.replace(lambda e: isinstance(e, Partial), self._partial).doit()
            if new.free_symbols & definitions.keys():
                new = new.xreplace(definitions)
            if isinstance(new, sp.MatrixExpr) and not isinstance(new, sp.MatrixBase):
                new = new.as_explicit()
            if new == expr:
                break
            expr = new
        return expr.xreplace(self.assume)

    def _partial(self, p: Partial) -> sp.Expr:
        """∂f/∂x: f's definition expanded until x appears in it, then differentiated by SymPy."""
        if p in self.definitions:
            return self.definitions[p]
        if p.f not in self.definitions:
            raise CheckError("?", f"{p.f} has no definition to differentiate")
        expr = self.definitions[p.f]
        for _ in range(64):
            expr = expr.replace(lambda e: isinstance(e, Partial), self._partial)
            if expr.has(p.x):
                break
            new = expr.xreplace(self.definitions)
            if new == expr:
                break
            expr = new
        return sp.diff(expr, p.x)

    def equal(self, step: str, left: sp.Basic, right: sp.Basic) -> None:
        """Check left = right (numerically at ``points`` random points, and by a symbolic proof unless
        ``symbolic`` is off); raise CheckError naming ``step`` otherwise.

        A check passed once is not redone in the same process when it comes again up to a shift of the layer
        numbers (``_renaming``): the same identity on layer 3 as on layer 2, or in another network with the
        same activation and loss. The key is the whole check — both sides, every definition, the sampling
        domain and the assumptions, renamed by one bijection — so a step that differs in anything but the
        layer numbering is checked afresh; a failed check is never remembered. The same keys, as digests, are
        kept on disk (``PROVEN_BEFORE``), so that a fresh process does not prove again what an earlier one proved.
        """
        key = self._key(step, left, right)
        if key is not None and (key in _PROVEN or PROVEN_BEFORE.holds(key)):
            _PROVEN[key] = None
            return
        if not self._for_any(step, left, right):
            self._full(step, left, right)
        if key is not None:
            if len(_PROVEN) >= MAX_PROVEN:
                _PROVEN.clear()
            _PROVEN[key] = None
            PROVEN_BEFORE.add(key)

    def _for_any(self, step: str, left: sp.Basic, right: sp.Basic) -> bool:
        """Whether left = right holds whatever values the quantities defined through an arbitrary function (the
        δ^(l+1)_k = ∂F/∂z^(l+1)_k of an arbitrary loss) take — which proves it for their defined values too —
        shown by the cheap proofs at once; False (and the full check follows) when that cannot be shown."""
        keep = frozenset(k for k, v in self.definitions.items() if isinstance(k, sp.Symbol) and v.has(AppliedUndef))
        if not keep or not self.symbolic:
            return False
        diff = self.value(left, keep=keep) - self.value(right, keep=keep)
        if not (diff.free_symbols & keep):
            return False  # nothing was kept: the full check is the same check
        items = list(diff) if isinstance(diff, sp.MatrixBase) else [diff]
        try:
            for item in items:
                self._numeric(step, item)
        except CheckError:
            return False
        return all(is_zero(item, cheap=True) for item in items)

    def _full(self, step: str, left: sp.Basic, right: sp.Basic) -> None:
        diff = self.value(left) - self.value(right)
        items = list(diff) if isinstance(diff, sp.MatrixBase) else [diff]
        for item in items:
            self._numeric(step, item)
            if self.symbolic and not is_zero(item):
                raise CheckError(step, f"SymPy cannot show {left} = {right} (difference {item})")

    def _key(self, step: str, left: sp.Basic, right: sp.Basic) -> tuple[Any, ...] | None:
        """The check in canonical symbols (see ``_renaming``), or None when caching is off."""
        if not _CACHING.get():
            return None
        items = tuple(self.definitions.items())
        memo = self._memo
        if memo is None or len(memo[0]) != len(items) or not all(
                a is c and b is d for (a, b), (c, d) in zip(memo[0], items, strict=True)):
            symbols = _indexed([*self.definitions, *self.definitions.values()])
            base = min((n for _, _, n, _ in symbols), default=None)
            rename = _renaming(symbols, base)
            try:
                canonical = frozenset((_apply(k, rename), _apply(v, rename)) for k, v in items)
                hash(canonical)
            except TypeError:  # a mutable matrix in the check: checked every time
                return None
            memo = self._memo = (items, base, rename, canonical)
        _, base, rename, definitions = memo
        extra = _indexed([left, right, *self.domain, *self.assume, *self.assume.values()])
        if base is None:  # nothing defined: the sides alone fix the shift
            base = min((n for _, _, n, _ in extra), default=None)
        rename = {**rename, **_renaming(extra, base)}
        try:
            domain = frozenset((_apply(k, rename), v) for k, v in self.domain.items())
            assume = frozenset((_apply(k, rename), _apply(v, rename)) for k, v in self.assume.items())
            # without a symbolic proof the evidence is the sampled points, which the step's name seeds: no sharing
            key = (type(self), _apply(left, rename), _apply(right, rename), definitions, domain, assume, self.points,
                   self.symbolic, None if self.symbolic else step)
            hash(key)
        except TypeError:
            return None
        return key

    def _numeric(self, step: str, diff: sp.Expr) -> None:
        rng = random.Random(zlib.crc32(step.encode()))
        diff = _concrete(diff)
        symbols = sorted(diff.free_symbols, key=str)
        for _ in range(self.points):
            # 30-digit Floats: evaluated as the tree is rebuilt, faster than from Python floats and exact enough
            point = {s: sp.Float(rng.uniform(*self.domain.get(s, (-1.5, 1.5))), 30) for s in symbols}
            point = {**point, **{s: v.xreplace(point) for s, v in self.assume.items() if s in point}}
            value = complex(diff.xreplace(point).evalf(30))
            if abs(value) > 1e-12:
                raise CheckError(step, f"the sides differ by {value.real:.3g} at {point}")


MAX_PROVEN = 4096
"""checks remembered as passed (``Checker.equal``); the memory is emptied when it is full"""
_PROVEN: dict[tuple[Any, ...], None] = {}
_CACHING: ContextVar[bool] = ContextVar("caching", default=True)


MAX_STORED = 100_000
"""digests of passed checks kept on disk (``ProvenBefore``); the file starts afresh beyond this many"""


class ProvenBefore:
    """Checks passed in earlier processes, kept on disk as digests of their keys (``Checker._key``: both sides,
    every definition, the domain and the assumptions, renamed by one bijection) — the same check, proven before.

    The file's name carries a fingerprint of SymPy's version and of the code that gives a check its meaning
    (this module, the expression nodes, the activation and loss registries), so that changed code starts a new
    file. A check mentioning a function class from outside SymPy and derive is never taken from disk. The folder
    is ``$DERIVE_CACHE``, or ``$XDG_CACHE_HOME/derive`` (``~/.cache/derive``); ``DERIVE_CACHE=off`` turns the
    disk off. Nothing but digests is written there, and a folder that cannot be written is silently not used."""

    def __init__(self) -> None:
        self._digests: dict[Path, set[str]] = {}
        self._full = False

    def _file(self) -> Path | None:
        folder = cache_folder()
        return None if folder is None else folder / f"checks-{_fingerprint()}.txt"

    def _known(self, path: Path) -> set[str]:
        if path not in self._digests:
            try:
                lines = path.read_text(encoding="ascii").split()
            except (OSError, UnicodeDecodeError):
                lines = []
            self._digests[path] = set(lines)
            self._full = len(lines) >= MAX_STORED
        return self._digests[path]

    def holds(self, key: tuple[Any, ...]) -> bool:
        if not _CACHING.get():
            return False
        path = self._file()
        if path is None:
            return False
        known = self._known(path)
        return bool(known) and (digest := _digest(key)) is not None and digest in known

    def add(self, key: tuple[Any, ...]) -> None:
        path = self._file()
        digest = None if path is None else _digest(key)
        if path is None or digest is None or digest in self._known(path):
            return
        if self._full:
            self._digests[path], self._full = set(), False
        self._known(path).add(digest)
        append_to_cache(path, digest, stale="checks-*.txt", start_afresh=len(self._known(path)) == 1 and path.exists())


PROVEN_BEFORE = ProvenBefore()


@cache
def _fingerprint() -> str:
    from derive.engine import expressions
    from derive.model import activations, losses

    h = hashlib.sha256(sp.__version__.encode())
    for module in (sys.modules[__name__], expressions, activations, losses):
        h.update(Path(module.__file__ or "").read_bytes())
    return h.hexdigest()[:16]


def _digest(key: tuple[Any, ...]) -> str | None:
    """The key as a digest, the same in every process; None when it names a function class from outside SymPy
    and derive (whose meaning the fingerprint does not cover)."""
    def text(part: Any) -> str:
        if isinstance(part, frozenset):
            return "{" + ",".join(sorted(text(p) for p in part)) + "}"
        if isinstance(part, tuple):
            return "(" + ",".join(text(p) for p in part) + ")"
        if isinstance(part, type):
            return f"{part.__module__}.{part.__qualname__}"
        if isinstance(part, sp.Basic):
            return _node_digest(part).hex()
        return repr(part)

    try:
        return hashlib.sha256(text(key).encode()).hexdigest()[:40]
    except _Foreign:
        return None


class _Foreign(Exception):
    pass


@lru_cache(maxsize=16384)
def _node_digest(expr: sp.Basic) -> bytes:
    """A digest naming ``expr`` exactly, the same in every process: its class and its arguments' digests (an
    expression is its class applied to its arguments); a symbol by its class, name and assumptions, a number by
    its value. Raises _Foreign for a function class from outside SymPy and derive. Remembered per node: a
    checker's definitions come in every one of its checks, and subexpressions recur."""
    cls = type(expr)
    if isinstance(expr, sp.Symbol) and not isinstance(expr, sp.Dummy):
        written = f"{_class_name(cls)}:{expr.name}:{sorted(expr.assumptions0.items())}"
    elif isinstance(expr, sp.Integer):
        written = f"Integer:{expr.p}"
    elif isinstance(expr, sp.Rational):
        written = f"Rational:{expr.p}/{expr.q}"
    elif not expr.args:
        written = f"{_class_name(cls)}:{sp.srepr(expr)}"
    else:
        if isinstance(expr, AppliedUndef):
            head = f"Function:{cls.__name__}:{sorted(getattr(cls, '_kwargs', {}).items())}"
        elif isinstance(expr, sp.Function) and not cls.__module__.startswith(("sympy.", "derive.")):
            raise _Foreign
        else:
            head = _class_name(cls)
        parts = [head]
        for arg in expr.args:
            parts.append(_node_digest(arg).hex() if isinstance(arg, sp.Basic) else repr(arg))
        written = "(".join(parts)
    return hashlib.blake2b(written.encode(), digest_size=16).digest()


def _class_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


@contextmanager
def fresh_checks() -> Iterator[None]:
    """Within the block every check is done in full, none taken from the checks passed before (for tests and
    benchmarks that measure or exercise the checks themselves)."""
    token = _CACHING.set(False)
    try:
        yield
    finally:
        _CACHING.reset(token)


_INDEXED = re.compile(r"^([^[\]]+)\[(-?\d+)\](.*)$")


def _indexed(parts: Sequence[sp.Basic]) -> list[tuple[sp.Symbol, str, int, str]]:
    """The symbols in ``parts`` whose first index is a number: (symbol, name, number, the rest of the name)."""
    found = []
    for s in set().union(*(part.free_symbols for part in parts)) if parts else ():
        if type(s) is sp.Symbol:
            m = _INDEXED.match(s.name)
            if m is not None:
                found.append((s, m.group(1), int(m.group(2)), m.group(3)))
    return found


def _renaming(symbols: list[tuple[sp.Symbol, str, int, str]], base: int | None) -> dict[sp.Symbol, sp.Symbol]:
    """The canonical names of a check's quantities: every symbol whose first index is a number n (z[3][1],
    Theta[2][1][0], s[4]) gets the same name with n − b, for one b per check (the smallest such number in its
    definitions, or in its sides when nothing is defined). That is one bijection on the names (n ↦ n − b,
    other names kept), applied to every side, definition and assumption of the check, so the check holds after
    it if and only if it held before; the same identity on layer 3 as on layer 2 then has the same key.
    Assumptions on the symbols (commutativity) are kept."""
    if not base:
        return {}
    return {s: sp.Symbol(f"{name}[{n - base}]{rest}", **s.assumptions0) for s, name, n, rest in symbols}


def _apply(expr: sp.Basic, rename: dict[sp.Symbol, sp.Symbol]) -> sp.Basic:
    return expr.xreplace(rename) if rename else expr


def _concrete(expr: sp.Expr) -> sp.Expr:
    """expr with every undefined function (an arbitrary loss F) replaced by one fixed smooth function, so
    that it can be evaluated at numbers; the symbolic check still proves the identity for every F."""
    undefined = {f.func for f in expr.atoms(AppliedUndef)}
    if not undefined:
        return expr
    for f in undefined:
        expr = expr.replace(f, lambda *xs: sp.Add(*(sp.sin((n + 1) * x) for n, x in enumerate(xs)))
                            + sp.Add(*xs) ** 2 / 2)
    return expr.doit()


MAX_DENOMINATORS = 3
"""``is_zero`` multiplies out at most this many distinct denominators before it cancels by gcds instead"""


def is_zero(expr: sp.Expr, *, cheap: bool = False) -> bool:
    """Whether SymPy can show expr == 0: the cheap normal forms first (expand; with fractions, the numerator
    over the product of the denominators, expanded; then cancel over a common denominator), simplify only when
    they cannot tell, then again with hyperbolics written as exponentials. ``cheap``: the normal forms only."""
    if expr == 0:
        return True
    denominators = {p.base for p in expr.atoms(sp.Pow) if p.exp.is_negative and p.base.free_symbols}
    # fractions in symbols: expanding alone cannot cancel them; a few denominators are multiplied out at once
    first = [sp.expand] if not denominators else [_numerator] if len(denominators) <= MAX_DENOMINATORS else []
    for proof in (*first, _over_common_denominator, *(() if cheap else (sp.simplify,))):
        if proof(expr) == 0:
            return True
    return not cheap and sp.simplify(expr.rewrite(sp.exp)) == 0


def _numerator(expr: sp.Expr) -> sp.Expr:
    """expr's numerator over the product of its denominators, multiplied out: zero exactly when expr is."""
    return sp.expand(expr.as_numer_denom()[0])


def _over_common_denominator(expr: sp.Expr) -> sp.Expr:
    return sp.cancel(sp.together(expr))


_CHECKING: ContextVar[bool] = ContextVar("checking", default=True)


@contextmanager
def unchecked() -> Iterator[None]:
    """Within the block chains are built without their checks. Only for computing a derivation's results by the
    same code the checked derivation runs (``derivation.results``); the steps so built are never shown."""
    token = _CHECKING.set(False)
    try:
        yield
    finally:
        _CHECKING.reset(token)


class Chain:
    """lhs = rhs₁ = rhs₂ = … where each rhs is checked against the previous one as it is added.

    A chain written for any unit (a Σ up to s_{l+1}, a vector form) is checked through ``instances``: the
    same chain on concrete units, each new side of every instance checked against that instance's last.
    """

    def __init__(self, checker: Checker, id: str, lhs: sp.Basic, *, instances: Sequence[sp.Basic] = ()) -> None:
        self.checker, self.id, self.lhs = checker, id, lhs
        self.steps: list[Step] = []
        self._instances = tuple(instances)

    @property
    def last(self) -> sp.Basic:
        return self.steps[-1].rhs if self.steps else self.lhs

    def then(self, rule: str, rhs: sp.Basic, *, note: str | None = None, instances: Sequence[sp.Basic] = (),
             **args: Any) -> Chain:
        """Add ``= rhs`` by ``rule``; equal forms are skipped, unequal ones raise CheckError."""
        if self.steps and rhs == self.last:
            return self
        step_id = f"{self.id}.{len(self.steps) + 1}"
        if len(instances) != len(self._instances):
            raise TypeError(f"step {step_id}: {len(self._instances)} instances to check, {len(instances)} given")
        checking = _CHECKING.get()
        if self._instances:
            for old, new in zip(self._instances, instances, strict=True):
                if checking:
                    self.checker.equal(step_id, old, new)
            self._instances = tuple(instances)
        elif checking:
            self.checker.equal(step_id, self.last, rhs)
        self.steps.append(Step(step_id, self.lhs, rhs, rule, note, tuple(args.items())))
        return self


def section(id: str, *chains: Chain | Step | list[Step], **args: Any) -> Section:
    steps: list[Step] = []
    for c in chains:
        steps.extend(c.steps if isinstance(c, Chain) else c if isinstance(c, list) else [c])
    return Section(id, tuple(steps), tuple(args.items()))


def in_form(chain: Chain, form: str) -> list[Step]:
    """The chain's steps, marked as shown only by profiles of the bias convention ``form``."""
    return [dataclasses.replace(step, form=form) for step in chain.steps]


def definition(id: str, lhs: sp.Basic, rhs: sp.Basic, *, note: str | None = None, form: str | None = None,
               **args: Any) -> Step:
    """A step that defines a quantity (nothing to check)."""
    return Step(id, lhs, rhs, "definition", note, tuple(args.items()), form)

