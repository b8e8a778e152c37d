"""Grading: an answer compared with the derived result, and with every registered mistake.

The network is derived once (``grader_of`` caches it); for each target the expected result and each
mistake's wrong results are built once and evaluated at shared random draws (floating point). An answer
is parsed and evaluated at the same draws (cheap, no SymPy): when its values differ from the expected ones
it is wrong, and the first mistake whose values it matches names it. When they agree, the answer is correct
only if it is also exactly equal at every one of the exact draws (exact.py): no float tolerance, and an
undecided comparison is never correct. A mistake of form (a circular answer) is recognized first.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, fields, replace
from functools import cached_property, lru_cache
from itertools import combinations
from typing import Any

import numpy as np
import sympy as sp

from derive.catalogue import catalogue
from derive.engine.backprop import backprop
from derive.engine.numeric import NumericFunctions
from derive.model.network import Network
from derive.model.notation import parse_name, word

from ..errors import NotSupportedError
from ..render.tex import latex
from .draws import Draws, draw, seed_of
from .errors import Unreadable, shown
from .exact import BUDGET, ExactPoints, equal_everywhere, substitute
from .language import Formula, Node, parse
from .mistakes import MISTAKES
from .names import Vocabulary
from .targets import DERIVED, Model, NotApplicable, Recipe, Target, error, parse_target

RTOL = 1e-8
"""values agree numerically when they differ by less than this, relative to the expected values' size: enough
to rule an answer out, or to name its mistake; never enough to call it correct (that takes exact.py)"""

CLASS_SECONDS = 120.0
"""the exact comparisons of one class file share this many seconds (each answer has at most exact.BUDGET of
them): once they are spent, an answer that would need one is reported undecided, never correct"""

EXIT_CODES: Mapping[str, int] = {"correct": 0, "wrong": 1, "unreadable": 2}

MAX_UNITS, MAX_WEIGHTS = 100, 100_000
"""the largest network graded: a target's expression sums over the units of layers 2 … L (time grows
about with their square), and every weight is drawn at each point (memory grows with the weights)"""


@dataclass(frozen=True)
class Verdict:
    """The grade of one answer: verdict, the mistake's id (or None), the explanation, the expected LaTeX."""

    target: str
    verdict: str
    """correct | wrong | unreadable"""
    mistake: str | None
    text: str
    """in the network's language"""
    expected: str
    """the expected result as LaTeX ("" when the target itself could not be read)"""

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    def as_dict(self, *, reveal: bool = False) -> dict[str, Any]:
        """SPEC §8's JSON object; ``expected`` only when revealed."""
        d = asdict(self)
        if not reveal:
            del d["expected"]
        return d

    def _repr_markdown_(self) -> str:
        mistake = f" (`{self.mistake}`)" if self.mistake else ""
        expected = f"\n\n$${self.expected}$$" if self.expected else ""
        # the text may quote the student's: no raw HTML and no link in a notebook
        text = html.escape(self.text, quote=False).replace("](", "]\\(")
        return f"**{self.verdict}**{mistake} — {text}{expected}"


@dataclass(frozen=True)
class Key:
    """What a target's answers are graded against: the expected result and each mistake, evaluated."""

    target: Target
    expected: sp.Expr
    values: np.ndarray
    mistakes: tuple[tuple[str, np.ndarray], ...]
    """(mistake id, its values), in registry order, only those that differ from the expected values"""
    latex: str


class Grader:
    """Grades answers for one network: derives it once, keeps one Key per target."""

    def __init__(self, net: Network) -> None:
        units = sum(net.layers[1:])
        if units > MAX_UNITS or net.weight_count > MAX_WEIGHTS:
            raise NotSupportedError(
                f"the network has {units} units in layers 2 … L and {net.weight_count} weights; grading handles "
                f"at most {MAX_UNITS} and {MAX_WEIGHTS:,}: grade on a smaller network of the same kind")
        derivation = backprop(net)
        self.network = net
        self.model = Model(derivation)
        r = derivation.results
        self.draws: Draws = draw(net, NumericFunctions(net, output_delta=r.output_delta,
                                                       hidden_derivatives=r.hidden_derivatives,
                                                       output_delta_layer=r.output_delta_layer))
        self.exact = ExactPoints(self.model, seed_of(net))
        self.words = catalogue(net.language)
        self._exactly: dict[tuple[str, Node], bool] = {}
        self._expected: dict[tuple[str, int], sp.Expr] = {}
        self._keys: dict[str, Key] = {}
        self._lean_keys: dict[str, Key] = {}

    def grade(self, target: str, answer: str) -> Verdict:
        """The verdict on ``answer`` for ``target`` (both as written by the student or lecturer)."""
        read = read_answer(self.network, target, answer)
        if isinstance(read, Verdict):
            return read
        return self.compare(*read)

    def compare(self, target: str, formula: Formula, *, budget: float = BUDGET) -> Verdict:
        """The verdict on a parsed answer for a (readable) target; ``budget`` seconds for its exact comparison
        (with none left, the answer's mistake is not looked for either)."""
        key = self.key(target, mistakes=budget > 0)
        name = key.target.name
        for mistake in MISTAKES.values():
            if mistake.recognizes is not None and mistake.recognizes(key.target, formula.names):
                return self._mistaken(key, mistake.id)
        values = formula.evaluate(self._values(key), self.draws.points)
        if _agree(values, key.values):
            exactly = self._exactly_equal(key, formula, budget)
            if exactly:
                return Verdict(name, "correct", None, self.words.word("grading", "correct", target=name), key.latex)
            if exactly is None:
                return Verdict(name, "wrong", None, self.words.word("grading", "undecided", target=name), key.latex)
        for mistake_id, wrong in key.mistakes:
            if _agree(values, wrong):
                return self._mistaken(key, mistake_id)
        return Verdict(name, "wrong", None, self.words.word("grading", "wrong", target=name), key.latex)

    def _mistaken(self, key: Key, mistake: str) -> Verdict:
        explanation = word(self.network.notation, self.words, "mistakes", mistake)
        text = self.words.word("grading", "mistake", explanation=explanation, mistake=mistake)
        return Verdict(key.target.name, "wrong", mistake, text, key.latex)

    def _values(self, key: Key) -> Any:
        if not key.target.alias:
            return self.draws
        return _Aliased(self.draws, key.target.alias)

    def _exactly_equal(self, key: Key, formula: Formula, budget: float) -> bool | None:
        """Exactly equal to the expected result at every exact draw (None: undecided within the bounds);
        decided results are kept per target and answer tree."""
        cache_key = (key.target.name, formula.root)
        if cache_key in self._exactly:
            return self._exactly[cache_key]
        found = equal_everywhere(formula.root, lambda p: self._expected_at(key, p), self.exact, key.target.alias,
                                 budget)
        if found is not None:
            self._exactly[cache_key] = found
        return found

    def _expected_at(self, key: Key, point: int) -> sp.Expr:
        cache_key = (key.target.name, point)
        if cache_key not in self._expected:
            self._expected[cache_key] = substitute(key.expected, self.exact.environment(point))
        return self._expected[cache_key]

    def key(self, target: str, *, mistakes: bool = True) -> Key:
        """The Key of ``target``: expected result, mistakes and the LaTeX, built once (``mistakes=False``: a
        Key without the mistakes, cheap, for a class whose time is spent; a full Key is used when there is one).

        Each mistake is tried as defined and with only some of its changed pieces (an output mistake alone,
        say), and each both with the deeper errors as names and written out (the mistaken errors in their
        place, as an answer that expands δ^(L) inside a hidden δ has them)."""
        if target in self._keys:
            return self._keys[target]
        if not mistakes and target in self._lean_keys:
            return self._lean_keys[target]
        t = parse_target(self.network, target)
        expected = t.build(self.model)
        values = self._evaluate(expected, self.draws)
        found: list[tuple[str, np.ndarray]] = []
        for mistake, written in self._mistaken_recipes if mistakes else ():
            try:
                wrong_expr = t.build(self.model, written.recipe)
                candidates = [written.evaluate(wrong_expr)]
                if wrong_expr != expected:
                    candidates.insert(0, self._evaluate(wrong_expr, self.draws))
            except NotApplicable:
                continue
            for wrong in candidates:
                if not _agree(wrong, values) and not any(_agree(wrong, w) for _, w in found):
                    found.append((mistake, wrong))
        key = Key(t, expected, values, tuple(found), latex(t.display(expected), self.network.notation))
        (self._keys if mistakes else self._lean_keys)[target] = key
        return key

    @cached_property
    def _mistaken_recipes(self) -> tuple[tuple[str, _RecipeValues], ...]:
        """(mistake id, the draws under its recipe) for every variant and every part of it, in registry order."""
        return tuple((mistake.id, _RecipeValues(self, recipe)) for mistake in MISTAKES.values()
                     for variant in mistake.variants for _, recipe in _partial(variant(DERIVED)))

    def _evaluate(self, expr: sp.Expr, values: Any) -> np.ndarray:
        """A derived expression (in network names) at the draws."""
        with np.errstate(all="ignore"):
            out = _numeric(expr, values)
        return np.broadcast_to(np.asarray(out, dtype=float), (self.draws.points,))


PIECES = tuple(f.name for f in fields(Recipe))
"""the pieces a recipe is made of (output, prime, weight, regularized)"""


def _partial(recipe: Recipe) -> Iterator[tuple[tuple[str, ...], Recipe]]:
    """The recipe, then the derived recipe with only some of its changed pieces: (pieces, recipe)."""
    changed = [p for p in PIECES if getattr(recipe, p) is not getattr(DERIVED, p)]
    for size in range(len(changed), 0, -1):
        for subset in combinations(changed, size):
            yield subset, replace(DERIVED, **{p: getattr(recipe, p) for p in subset})


class _RecipeValues:
    """The draws, with every δ as ``recipe`` computes it (errors computed once each, layer by layer)."""

    def __init__(self, grader: Grader, recipe: Recipe) -> None:
        self.grader, self.recipe = grader, recipe
        self.deltas: dict[str, np.ndarray] = {}
        self.memo: dict[sp.Expr, np.ndarray] = {}

    def evaluate(self, expr: sp.Expr) -> np.ndarray:
        """``expr`` at these draws (kept: targets often share an expression, e.g. ∂/∂Θ_ij for each j)."""
        if expr not in self.memo:
            self.memo[expr] = self.grader._evaluate(expr, self)
        return self.memo[expr]

    def __getitem__(self, name: str) -> np.ndarray:
        parsed = parse_name(name)
        if parsed is None or parsed[0] != "delta":
            return self.grader.draws[name]
        if name not in self.deltas:
            layer, unit = (int(i) for i in parsed[1])
            model = self.grader.model
            expr = (self.recipe.output(model, unit) if layer == model.L
                    else error(model, self.recipe, layer, unit, expand=False))
            self.deltas[name] = self.grader._evaluate(expr, self)
        return self.deltas[name]


class _Aliased:
    """The draws, with a one-unit target's a, y, z standing for the network unit they name."""

    def __init__(self, draws: Draws, alias: Mapping[str, str]) -> None:
        self.draws, self.alias = draws, alias

    def __getitem__(self, name: str) -> np.ndarray:
        return self.draws[self.alias.get(name, name)]


NUMPY: Mapping[type, Any] = {
    sp.Add: lambda *xs: sum(xs[1:], xs[0]), sp.Mul: lambda *xs: np.prod(np.broadcast_arrays(*xs), axis=0),
    sp.Pow: np.power, sp.exp: np.exp, sp.log: np.log, sp.tanh: np.tanh, sp.Max: np.maximum, sp.Min: np.minimum,
    sp.Abs: np.abs, sp.Heaviside: lambda x, *h: np.heaviside(x, 0.5),
}
"""SymPy node type -> NumPy function, for evaluating derived expressions without generating code"""


def _numeric(expr: sp.Expr, values: Draws) -> Any:
    """``expr`` at every draw: a walk over the SymPy tree; anything not in NUMPY goes through lambdify."""
    if expr.is_Symbol:
        return values[expr.name]
    if expr.is_Number:
        return float(expr)
    f = NUMPY.get(type(expr))
    if f is not None:
        return f(*(_numeric(arg, values) for arg in expr.args))
    symbols = sorted(expr.free_symbols, key=str)
    return sp.lambdify(symbols, expr, modules="numpy", docstring_limit=0)(*(values[s.name] for s in symbols))


def _agree(values: np.ndarray, expected: np.ndarray) -> bool:
    """Equal at every draw, within RTOL of the expected values' size (NaN or infinity never agrees)."""
    if not (np.all(np.isfinite(values)) and np.all(np.isfinite(expected))):
        return False
    scale = np.abs(expected) + np.max(np.abs(expected)) + 1e-300
    return bool(np.all(np.abs(values - expected) <= RTOL * scale))


@lru_cache(maxsize=16)
def grader_of(net: Network) -> Grader:
    """The Grader of ``net``, derived once per process."""
    return Grader(net)


def read_answer(net: Network, target: str, answer: str) -> tuple[str, Formula] | Verdict:
    """(the target's name, the parsed answer), or the unreadable Verdict saying why; no derivation needed."""
    name = target.strip() if isinstance(target, str) else ""
    try:
        t = parse_target(net, name)
        return t.name, parse(answer, Vocabulary(net, one_unit=t.one_unit))
    except Unreadable as e:
        return Verdict(shown(name or str(target))[:200], "unreadable", None, e.message(net.language), "")


def grade(net: Network | Mapping[str, Any], target: str, answer: str) -> Verdict:
    """Grade ``answer`` (a formula of SPEC §8's language) for ``target`` of ``net``; never raises on the answer.

    An unreadable answer is reported without deriving anything (and so without the expected result).
    """
    if not isinstance(net, Network):
        net = Network.from_dict(net)
    read = read_answer(net, target, answer)
    if isinstance(read, Verdict):
        return read
    return grader_of(net).compare(*read)
