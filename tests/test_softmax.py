"""Softmax with any number of outputs K ≥ 2: δ^(L) = a − y for a generic unit, the Jacobian in the form
lecturers write, the vector form, the results strings, and numbers against finite differences.

The class of problem behind these tests: a layer-coupled output derived for one concrete unit (and only
collapsing to a − y when a heuristic found the reduced form shorter) was right for K = 3 and wrong-looking for
K = 2. Every K is derived the same way here, so every K is tested the same way.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

import derive
from derive.errors import InputError
from derive.model.activations import ACTIVATIONS, Activation, register
from derive.model.notation import q
from derive.render import document
from derive.render.json import as_dict
from derive.render.tex import latex

from .oracle import cost, numgrad, problem

a, y = sp.symbols("a y")
i, k = sp.symbols("i k")


def _derive(K: int, **spec: object) -> derive.Derivation:
    return derive.backprop(derive.Network.from_dict({"layers": [2, 3, K], "output": "softmax", **spec}))


def _chain(d: derive.Derivation, name: str) -> list:
    return [s for s in d.section("output_delta").steps if s.id.startswith(f"output_delta.{name}.")]


@pytest.mark.parametrize("K", [2, 3, 4])
def test_output_error_is_a_minus_y_for_every_K(K):
    d = _derive(K)
    r = as_dict(document(d))["results"]
    assert sp.sympify(r["output_delta"]) == a - y          # the JSON string SymPy reads back
    assert d.results.output_delta == a - y
    L = 3
    assert d.results.output_delta_layer == tuple(q("a", L, u) - q("y", u) for u in range(1, K + 1))


@pytest.mark.parametrize("K", [2, 3, 4])
def test_the_jacobian_in_the_lecture_form(K):
    d = _derive(K)
    jac = _chain(d, "activation")
    assert jac[0].lhs.f == q("a", 3, i) and jac[0].lhs.x == q("z", 3, k)   # ∂a_i/∂z_k for generic units
    last = jac[-1].rhs
    want = q("a", 3, i) * (sp.KroneckerDelta(i, k) - q("a", 3, k))
    assert sp.expand(last.doit() - want) == 0
    assert latex(last, "ng") == r"a^{(3)}_{i} (\mathbf{1}[i = k] - a^{(3)}_{k})"
    assert "activation_identity" in [s.rule for s in jac]
    # independently: the form at concrete units against a finite-difference Jacobian of softmax
    rng = np.random.default_rng(K)
    zs = rng.normal(size=K)

    def softmax(v: np.ndarray) -> np.ndarray:
        e = np.exp(v - v.max())
        return e / e.sum()

    A, eps = softmax(zs), 1e-6
    for u in range(1, K + 1):
        for v in range(1, K + 1):
            step = np.zeros(K)
            step[v - 1] = eps
            numeric = (softmax(zs + step)[u - 1] - softmax(zs - step)[u - 1]) / (2 * eps)
            at = last.xreplace({q("a", 3, i): A[u - 1], q("a", 3, k): A[v - 1], i: u, k: v})
            assert float(at) == pytest.approx(numeric, abs=1e-8)


@pytest.mark.parametrize("K", [2, 3, 4])
def test_the_output_error_is_derived_for_a_generic_unit(K):
    d = _derive(K)
    steps = d.section("output_delta").steps
    delta = _chain(d, "chain")
    assert delta[0].lhs == q("delta", 3, i)
    assert delta[-1].rhs == q("a", 3, i) - q("y", i)
    # the assumption Σ y = 1 is stated in the step that uses it
    used = [s for s in delta if s.rule == "targets_sum_to_one"]
    assert len(used) == 1 and used[0].note == "targets_sum_to_one"
    words = derive.catalogue.catalogue("en").explain(used[0])
    assert "sum to 1" in words
    # no step is about unit 1 only: every left side is generic (i, k) or the whole layer
    concrete = [s.id for s in steps if re.search(r"\]\[\d+\]|y\[\d+\]", str(s.lhs))]
    assert concrete == []
    vector = _chain(d, "vector")
    assert [latex(s.lhs, "ng") + " = " + latex(s.rhs, "ng") for s in vector] == [r"\delta^{(3)} = a^{(3)} - y"]


def test_the_steps_read_back_as_sympy():
    """Every step's ``sympy`` string is readable by SymPy (the indicator is written KroneckerDelta)."""
    for step in as_dict(document(_derive(2)))["steps"]:
        if step["section"] == "output_delta":
            sp.sympify(step["sympy"].replace("[", "_").replace("]", ""))


@pytest.mark.parametrize("spec", [
    {"layers": [2, 3, 2], "activation": "tanh", "output": "softmax"},
    {"layers": [3, 2], "output": "softmax", "reduction": "sum", "lambda": 0.4},
    {"layers": [2, 2, 2, 2], "activation": ["relu", "sigmoid"], "output": "softmax", "lambda": 0.1},
    {"layers": [2, 3, 2], "output": "softmax", "loss": "squared_error"},
])
def test_two_outputs_match_finite_differences(spec):
    Ts, X, Y = problem(spec, m=5, seed=7)
    Y = np.column_stack([np.linspace(0.1, 0.9, 5), 1 - np.linspace(0.1, 0.9, 5)])  # soft targets summing to 1
    fn = derive.lambdify(derive.Network.from_dict(spec))
    assert fn.cost(Ts, X, Y) == pytest.approx(cost(spec, Ts, X, Y), rel=1e-10)
    for got, want in zip(fn.gradients(Ts, X, Y), numgrad(spec, Ts, X, Y), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-7, rtol=1e-6)
    e = derive.elementwise(derive.Network.from_dict(spec))
    want = fn.gradients(Ts, X[:1], Y[:1])
    for got, ref in zip(e.evaluate(Ts, X[0], Y[0]), want, strict=True):
        np.testing.assert_allclose(np.array(got), ref, atol=1e-12, rtol=1e-10)


def test_softmax_with_squared_error_is_derived_generically():
    """Without Σ y_k to collapse, δ_i = a_i((a_i − y_i) − Σ_k a_k(a_k − y_k)), the sum over the layer kept."""
    d = _derive(3, loss="squared_error")
    assert "targets_sum_to_one" not in [s.rule for s in d.steps]
    a_ = [q("a", 3, n) for n in (1, 2, 3)]
    y_ = [q("y", n) for n in (1, 2, 3)]
    for u, got in enumerate(d.results.output_delta_layer):
        want = a_[u] * ((a_[u] - y_[u]) - sum(a_[n] * (a_[n] - y_[n]) for n in range(3)))
        assert sp.expand(got - want) == 0


@pytest.mark.parametrize("layers", [[2, 1], [3, 4, 1]])
def test_softmax_with_one_output_is_refused(layers, tmp_path):
    with pytest.raises(InputError, match="needs at least 2 output units") as info:
        derive.Network.from_dict({"layers": layers, "output": "softmax"})
    assert "output = sigmoid" in str(info.value)
    (tmp_path / "net.toml").write_text(f"layers = {layers}\noutput = 'softmax'\n")
    (tmp_path / "p.json").write_text(json.dumps({"Theta": [[[0.0] * (n + 1)] * m for n, m in zip(layers, layers[1:])]}))
    (tmp_path / "d.json").write_text(json.dumps({"X": [[0.5] * layers[0]], "Y": [[1.0]]}))
    for args in (["numeric", str(tmp_path / "net.toml"), "--params", str(tmp_path / "p.json"), "--data",
                  str(tmp_path / "d.json")], ["derivation", str(tmp_path / "net.toml")]):
        r = subprocess.run([sys.executable, "-c", "import sys; from derive.cli import main; sys.exit(main())", *args],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 2, r.stderr
        assert r.stdout == "" and len(r.stderr.strip().splitlines()) == 1
        assert "at least 2 output units" in r.stderr


def test_a_new_coupled_activation_is_one_entry():
    """A softmax with temperature ½ (exp(2 z_i)/Σ exp(2 z_j)): its Jacobian 2a_i(1[i = k] − a_k) and
    δ = 2(a − y) follow from the entry alone."""
    register(Activation("softmax_half", (0.0, 1.0), hidden=False, sums_to_one=True,
                        layer=lambda z, u, n: sp.exp(2 * z[u]) / sp.Sum(sp.exp(2 * z[sp.Symbol("j")]),
                                                                         (sp.Symbol("j"), 1, n))))
    try:
        d = derive.backprop(derive.Network.from_dict({"layers": [2, 2], "output": "softmax_half"}))
        assert sp.expand(d.results.output_delta - 2 * (a - y)) == 0
        last = _chain(d, "activation")[-1].rhs
        assert sp.expand(last.doit() - 2 * q("a", 2, i) * (sp.KroneckerDelta(i, k) - q("a", 2, k))) == 0
    finally:
        ACTIVATIONS.pop("softmax_half")


def test_forward_pass_says_softmax_acts_on_the_whole_layer():
    """A coupled activation is not described as applied to each weighted sum (its notes come from the registry)."""
    from derive.render import render

    net = derive.Network.from_dict({"layers": [2, 3, 2], "activation": "tanh", "output": "softmax"})
    for language, whole, each in (("en", "as a whole", "Layer 3 applies softmax to each"),
                                  ("zh", "整个加权和向量", "第 3 层对每个加权和应用 softmax")):
        text = render(derive.backprop(net), "markdown", language=language)
        assert whole in text and each not in text


def test_the_generic_chains_are_derived_once_and_checked_by_every_network(monkeypatch):
    from derive.engine import coupled_output
    from derive.errors import CheckError

    _derive(3)
    from derive.model.losses import LOSSES

    (recipes, result) = coupled_output._generic(LOSSES["cross_entropy"], ACTIVATIONS["softmax"])
    calls = coupled_output._generic.cache_info().hits
    _derive(4)
    assert coupled_output._generic.cache_info().hits == calls + 1  # the same chains, not derived again

    # a wrong generic step is caught by the next network's own instances, the checks passed before remembered
    delta = recipes[-1]
    rule, rhs, note, args = delta.steps[-1]
    wrong = coupled_output._Recipe(delta.id, delta.lhs, delta.names, delta.units,
                                   [*delta.steps[:-1], (rule, 2 * rhs, note, args)])
    monkeypatch.setattr(coupled_output, "_generic", lambda loss, g: ((*recipes[:-1], wrong), 2 * result))
    with pytest.raises(CheckError, match="output_delta.chain"):
        _derive(5)


@pytest.mark.parametrize("body", [
    sp.KroneckerDelta(1, k) * sp.IndexedBase("a")[k],
    sp.IndexedBase("y")[k] * sp.log(sp.IndexedBase("a")[k]),
    sp.Sum(sp.KroneckerDelta(i, k) * i, (i, 1, 3)),
    sp.Integer(1),
])
def test_a_sum_over_concrete_units_is_written_out_as_doit_gives_it(body):
    from derive.engine.coupled_output import _written_out

    for upper in (1, 2, 4):
        s = sp.Sum(body, (k, 1, upper))
        assert sp.expand(_written_out(s).doit() - s.doit()) == 0
    symbolic = sp.Sum(body, (k, 1, sp.Symbol("K")))
    assert _written_out(symbolic) == symbolic.doit()


def test_a_loss_registered_again_under_its_name_is_derived_afresh(monkeypatch):
    from derive.model.losses import LOSSES, Loss

    before = _derive(3, loss="squared_error").results.output_delta
    doubled = Loss("squared_error", lambda a, y, g: (a - y) ** 2, outputs=LOSSES["squared_error"].outputs,
                   targets=LOSSES["squared_error"].targets)
    monkeypatch.setitem(LOSSES, "squared_error", doubled)
    after = _derive(3, loss="squared_error").results.output_delta
    assert sp.simplify(after - 2 * before) == 0
