"""Drawing a sheet's variants from a seed (SPEC §10): two-decimal parameters, inputs and targets a student can
compute with by hand, the numerical questions of each, and the check of every value before a file is written.

The network is derived and lambdified once (``Engine``); each variant is only numbers. A variant's questions
are claims of SPEC §6 (``a[2][1]``, ``delta[3][1]``, ``J``, ``D[1][1][2]``, in the notation's own names), and
every value asked is checked with ``derive check``'s own judgement (``derive.document.claims.check``) before the sheet
exists: the value rounded to the digits asked must hold as a claim against the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from derive.catalogue import catalogue
from derive.model.activations import ACTIVATIONS
from derive.model.losses import LOSSES
from derive.model.network import Network
from derive.model.notation import PROFILES

from ..errors import CheckError, InputError
from .limits import MAX_NUMBERS, MAX_SEED, MAX_VARIANTS
from .model import Formula, Numerical, Sheet, Variant

DECIMALS = 4
"""the digits after the point a numerical question asks for"""
SCALE = 100
"""values are whole hundredths: two decimals"""
PARAMETERS = (-1.0, 1.0)
INPUTS = (-1.0, 1.0)
"""the ranges parameters and inputs are drawn from (both ends included, in hundredths)"""


@dataclass(frozen=True)
class Engine:
    """What every variant of one network shares: its derivation and its numeric functions, made once."""

    net: Network

    @cached_property
    def derivation(self) -> Any:
        from derive.engine.backprop import backprop

        return backprop(self.net.replace(language="en", notation="ng"))

    @cached_property
    def functions(self) -> Any:
        from derive.engine.numeric import lambdify

        return lambdify(self.net)


def check_request(net: Network, count: int, seed: int) -> None:
    """Refuse a sheet that cannot be made, before any work: the bounds of README "Errors and limits"."""
    from derive.document.worked_example import MAX_UNITS_SHOWN

    if not 1 <= count <= MAX_VARIANTS:
        raise InputError(f"--variants {count}: choose from 1 to {MAX_VARIANTS} variants")
    if not 0 <= seed <= MAX_SEED:
        raise InputError(f"--seed {seed}: choose a whole number from 0 to {MAX_SEED}")
    if max(net.layers) > MAX_UNITS_SHOWN:
        raise InputError(f"a layer of {max(net.layers)} units is too large for a worked key; at most {MAX_UNITS_SHOWN}")
    if net.weight_count * count > MAX_NUMBERS:
        raise InputError(f"{count} variants of a network of {net.weight_count} weights are "
                         f"{net.weight_count * count:,} numbers to work out; at most {MAX_NUMBERS:,} "
                         f"(use fewer variants, at most {max(1, MAX_NUMBERS // net.weight_count)})")


def hundredths(rng: np.random.Generator, low: float, high: float, shape: tuple[int, ...]) -> list:
    """Values of two decimals drawn uniformly from low … high (both included), as Python floats (never −0.0)."""
    whole = rng.integers(round(low * SCALE), round(high * SCALE), size=shape, endpoint=True)
    return (whole / SCALE + 0.0).tolist()


def targets(net: Network, rng: np.random.Generator) -> list[float]:
    """One target row the loss accepts: one-hot for an output that sums to one (softmax), labels 0 or 1 for the
    cross-entropy of independent outputs, else two-decimal values inside the output's range (within −1 … 1)."""
    K = net.layers[-1]
    g, loss = ACTIVATIONS[net.output], LOSSES[net.loss]
    if g.sums_to_one:
        return np.eye(K)[int(rng.integers(K))].tolist()  # type: ignore[no-any-return]
    if loss.targets is not None:
        return rng.integers(0, 2, size=K).astype(float).tolist()  # type: ignore[no-any-return]
    low, high = max(g.range[0], -1.0), min(g.range[1], 1.0)
    step = 1 / SCALE
    return hundredths(rng, low + 5 * step, high - 5 * step, (K,))  # strictly inside an open range


def questions(net: Network) -> tuple[str, ...]:
    """The quantities asked in every variant, as SPEC §6 claim names of the ng profile: an activation of the first
    hidden layer and of the output, the cost, the output error, an error one layer down, and a weight's gradient
    in the first and in the last matrix (a bias's gradient would repeat an error)."""
    L = net.L
    names = ["a[2][1]", f"a[{L}][1]", "J", f"delta[{L}][1]"]
    if L > 2:
        names.append(f"delta[{L - 1}][1]")
    names += ["D[1][1][1]", f"D[{L - 1}][1][1]"]
    return tuple(dict.fromkeys(names))


def prompt(name: str, language: str, decimals: int) -> str:
    """The question in words, the quantity named as the sheet's notation writes it."""
    return catalogue(language).word("sheet", "numerical", name=name, decimals=decimals)


def variant(engine: Engine, number: int, rng: np.random.Generator, language: str, *,
            decimals: int = DECIMALS) -> Variant:
    """The next variant drawn from ``rng``, its questions' values computed by the engine and checked."""
    from derive.document.claims import QUANTITIES, check, index

    net = engine.net
    thetas = [hundredths(rng, *PARAMETERS, (net.layers[n + 1], net.layers[n] + 1)) for n in range(net.L - 1)]
    X = [hundredths(rng, *INPUTS, (net.layers[0],))]
    Y = [targets(net, rng)]
    computed = engine.functions.backward(thetas, X, Y)
    profile = PROFILES[net.notation]
    asked = []
    claims = {}
    for canonical in questions(net):
        name = profile.written(canonical)
        kind, idx = index(net, name)
        value = float(QUANTITIES[kind].value({**computed, "parameters": thetas}, idx))
        if not np.isfinite(value):
            raise CheckError(f"variant {number}: {name}", f"the engine's value {value!r} is not finite")
        claims[name] = f"{value:.{decimals}f}"
        asked.append(Numerical(name, prompt(name, language, decimals), value, decimals))
    wrong = [c for c in check(net, computed, claims, source=f"variant {number}", params=thetas) if not c.holds]
    if wrong:
        raise CheckError(f"variant {number}: {wrong[0].name}",
                         f"{wrong[0].claimed} does not hold against the engine's {wrong[0].computed!r}")
    return Variant(number, {"Theta": thetas}, X, Y, tuple(asked))


def make_sheet(net: Network, *, count: int, seed: int, language: str | None = None,
               decimals: int = DECIMALS, engine: Engine | None = None,
               formulas: tuple[Formula, ...] | None = None) -> Sheet:
    """The sheet: ``count`` variants drawn from ``seed`` (one numpy Generator, variant after variant), every
    question's value checked, and the formula questions shared by every variant."""
    from .formulas import formula_questions

    check_request(net, count, seed)
    language = language or net.language
    engine = engine or Engine(net)
    rng = np.random.default_rng(seed)
    variants = tuple(variant(engine, k, rng, language, decimals=decimals) for k in range(1, count + 1))
    if formulas is None:
        formulas = tuple(formula_questions(net, language))
    return Sheet(net, language, seed, variants, formulas)
