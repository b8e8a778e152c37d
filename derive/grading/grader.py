"""Grading: an answer compared with the derived result, and with every registered mistake.

The network is derived once (``grader_of`` caches it); for each target the expected result and each
mistake's wrong results are built once and evaluated at the shared random draws. An answer is parsed
and evaluated at the same draws (cheap, no SymPy); when its values agree with the expected ones it is
also compared symbolically, and it is correct only if SymPy does not show a difference. Otherwise the
first mistake whose values it matches names it.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
import sympy as sp

from ..derivation import backprop
from ..errors import NotSupportedError
from ..network import Network
from ..notation import word
from ..numeric import NumericFunctions
from ..render.tex import latex
from ..text import catalogue
from .draws import Draws, draw
from .errors import Unreadable
from .language import Formula, parse
from .mistakes import MISTAKES
from .names import Vocabulary
from .symbolic import Reducer, equal
from .targets import DERIVED, Model, NotApplicable, Target, parse_target

RTOL = 1e-8
"""values agree when they differ by less than this, relative to the expected values' size"""

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
        self.words = catalogue(net.language)
        self._symbolic: dict[tuple[str, sp.Expr], bool | None] = {}

    @cached_property
    def reducer(self) -> Reducer:
        return Reducer(self.model)

    def grade(self, target: str, answer: str) -> Verdict:
        """The verdict on ``answer`` for ``target`` (both as written by the student or lecturer)."""
        read = read_answer(self.network, target, answer)
        if isinstance(read, Verdict):
            return read
        return self.compare(*read)

    def compare(self, target: str, formula: Formula) -> Verdict:
        """The verdict on a parsed answer for a (readable) target."""
        key = self.key(target)
        name = key.target.name
        values = formula.evaluate(self._values(key), self.draws.points)
        if _agree(values, key.values) and self._symbolically_equal(key, formula) is not False:
            return Verdict(name, "correct", None, self.words.word("grading", "correct", target=name), key.latex)
        for mistake, wrong in key.mistakes:
            if _agree(values, wrong):
                explanation = word(self.network.notation, self.words, "mistakes", mistake)
                text = self.words.word("grading", "mistake", explanation=explanation, mistake=mistake)
                return Verdict(name, "wrong", mistake, text, key.latex)
        return Verdict(name, "wrong", None, self.words.word("grading", "wrong", target=name), key.latex)

    def _values(self, key: Key) -> Any:
        if not key.target.alias:
            return self.draws
        return _Aliased(self.draws, key.target.alias)

    def _symbolically_equal(self, key: Key, formula: Formula) -> bool | None:
        answer = formula.sympy().xreplace({sp.Symbol(k): sp.Symbol(v) for k, v in key.target.alias.items()})
        cache_key = (key.target.name, answer)
        if cache_key not in self._symbolic:
            self._symbolic[cache_key] = equal(self.reducer(answer), self._reduced(key.target.name))
        return self._symbolic[cache_key]

    @lru_cache(maxsize=256)  # noqa: B019 — as key()
    def _reduced(self, target: str) -> sp.Expr:
        """The expected result of ``target`` in the network's independent quantities."""
        return self.reducer(self.key(target).expected)

    @lru_cache(maxsize=256)  # noqa: B019 — one Grader per network lives as long as its cache
    def key(self, target: str) -> Key:
        """The Key of ``target``: expected result, mistakes and the LaTeX, built once."""
        t = parse_target(self.network, target)
        expected = t.build(self.model)
        values = self._evaluate(t, expected)
        found: list[tuple[str, np.ndarray]] = []
        for mistake in MISTAKES.values():
            for variant in mistake.variants:
                recipe = variant(DERIVED)
                for expand in (False, True):
                    try:
                        wrong = self._evaluate(t, t.build(self.model, recipe, expand=expand))
                    except NotApplicable:
                        continue
                    if not _agree(wrong, values) and not any(_agree(wrong, w) for _, w in found):
                        found.append((mistake.id, wrong))
        shown = latex(t.display(expected), self.network.notation)
        return Key(t, expected, values, tuple(found), shown)

    def _evaluate(self, target: Target, expr: sp.Expr) -> np.ndarray:
        """A derived expression (in network names) at the draws."""
        with np.errstate(all="ignore"):
            out = _numeric(expr, self.draws)
        return np.broadcast_to(np.asarray(out, dtype=float), (self.draws.points,))


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
        return Verdict(name or str(target), "unreadable", None, e.message(net.language), "")


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
