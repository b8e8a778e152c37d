"""The functions an answer may call come from the activation registry (plus exp, log, sqrt): every elementwise
activation is parsed, evaluated numerically, approximated and evaluated exactly as its registry definition
says, and graded correct where it is the right answer and wrong where it is not (SPEC §8, issue 14).

The reference is the registry's own SymPy definition evaluated by SymPy at each point (mpmath), not the
lambdified or exp-rewritten functions the grader uses.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest
import sympy as sp

from derive import Network
from derive.grading import grader
from derive.grading.exact import Clock, approximate, evaluate
from derive.grading.language import ELEMENTARY, function_names, parse
from derive.grading.names import Vocabulary
from derive.model.activations import ACTIVATIONS, Activation, register

ELEMENTWISE = [name for name, a in ACTIVATIONS.items() if a.elementwise]
POINTS = [sp.Rational(-7, 4), sp.Rational(-1, 3), sp.Integer(0), sp.Rational(2, 5), sp.Rational(9, 2)]
"""exact arguments; each activation is also evaluated at log(u) for some of them (below)"""


def _net(activation: str) -> Network:
    return Network.from_dict({"layers": [2, 3, 2], "activation": activation, "output": "sigmoid",
                              "loss": "cross_entropy"})


def _reference(activation: str, z: sp.Expr) -> sp.Expr:
    unit = ACTIVATIONS[activation].unit
    assert unit is not None
    return unit(z)


def test_the_answer_functions_are_the_registry_and_the_elementary_ones() -> None:
    assert set(function_names()) == set(ELEMENTARY) | set(ELEMENTWISE)
    assert {"exp", "log", "sqrt", "sigmoid", "tanh", "relu", "linear"} <= set(function_names())
    assert "softmax" not in function_names()  # couples a layer's units: not a function of one argument


@pytest.mark.parametrize("activation", ELEMENTWISE)
def test_an_activation_evaluates_as_its_definition(activation: str) -> None:
    formula = parse(f"{activation}(z[2][1])", Vocabulary(_net(activation)))
    (name,) = formula.names
    arguments = [*POINTS, sp.log(sp.Rational(3, 7)), sp.log(sp.Rational(5, 2))]
    expected = [_reference(activation, z) for z in arguments]
    floats = np.array([float(z.evalf(30)) for z in arguments])
    numeric = formula.evaluate({name: floats}, len(arguments))
    np.testing.assert_allclose(numeric, [float(e.evalf(30)) for e in expected], rtol=1e-12, atol=1e-15)
    for z, e, n in zip(arguments, expected, numeric, strict=True):
        exact = evaluate(formula.root, {name: z}, Clock(5.0))
        assert sp.simplify((exact - e).rewrite(sp.exp)) == 0, (activation, z, exact, e)
        assert math.isclose(approximate(formula.root, {name: z}).real, n, rel_tol=1e-12, abs_tol=1e-15)
    if activation not in ("relu",):  # the symbolic form is the definition itself
        assert sp.simplify(formula.sympy() - _reference(activation, sp.Symbol(name))) == 0


@pytest.mark.parametrize("activation", ELEMENTWISE)
def test_an_activation_is_graded(activation: str) -> None:
    """∂J/∂Θ^(2)_11 = δ^(3)_1 a^(2)_1 with a^(2)_1 = g(z^(2)_1): right written with g, wrong with g of another
    argument."""
    net = _net(activation)
    right = grader.grade(net, "dTheta[2][1][1]", f"delta[3][1]*{activation}(z[2][1])")
    assert right.verdict == "correct", right
    for answer in (f"delta[3][1]*{activation}(z[2][1] + 1)", f"delta[3][1]*{activation}(2*z[2][2])",
                   f"{activation}(z[2][1])*a[2][1]"):
        wrong = grader.grade(net, "dTheta[2][1][1]", answer)
        assert wrong.verdict == "wrong", (answer, wrong)


@pytest.fixture
def isru() -> Iterator[str]:
    """the inverse square root unit z/√(1 + z²), an activation the registry does not have"""
    register(Activation("isru", (-1.0, 1.0), unit=lambda z: z / sp.sqrt(1 + z**2)))
    try:
        yield "isru"
    finally:
        del ACTIVATIONS["isru"]


def test_registering_an_activation_makes_it_an_answer_function(isru: str) -> None:
    assert isru in function_names()
    net = _net(isru)
    verdict = grader.grade(net, "dTheta[2][1][1]", "delta[3][1]*z[2][1]/sqrt(1 + z[2][1]^2)")
    assert verdict.verdict == "correct", verdict
    assert grader.grade(net, "dTheta[2][1][1]", "delta[3][1]*isru(z[2][1])").verdict == "correct"
    assert grader.grade(net, "dTheta[2][1][1]", "delta[3][1]*isru(-z[2][1])").verdict == "wrong"
    assert grader.grade(net, "dTheta[2][1][1]", "delta[3][1]*tanh(z[2][1])").verdict == "wrong"


def test_an_unknown_function_names_the_registry() -> None:
    verdict = grader.grade(_net("sigmoid"), "dTheta[2][1][1]", "delta[3][1]*softsign(z[2][1])")
    assert verdict.verdict == "unreadable"
    for name in function_names():
        assert name in verdict.text
