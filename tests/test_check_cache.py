"""Checks passed once are remembered (up to the layer numbering), and a wrong step is still caught."""

from __future__ import annotations

import pytest
import sympy as sp

import derive
import derive.engine.backprop as bp
from derive.engine import derivation as steps
from derive.engine.expressions import Partial
from derive.errors import CheckError
from derive.model.activations import ACTIVATIONS
from derive.model.notation import q


def _recursion(layer: int, theta_layer: int | None = None, transposed: bool = False) -> tuple[sp.Expr, sp.Expr]:
    """δ^(l)_1 and Σ_k δ^(l+1)_k Θ^(l)_k1 · a(1 − a) — with Θ of another layer, or transposed, when asked."""
    t = layer if theta_layer is None else theta_layer
    a = q("a", layer, 1)
    theta = (lambda k: q("Theta", t, 1, k)) if transposed else (lambda k: q("Theta", t, k, 1))
    return Partial(bp.J, q("z", layer, 1)), sum(q("delta", layer + 1, k) * theta(k) for k in (1, 2)) * a * (1 - a)


def _no_proofs(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(expr: sp.Expr) -> bool:
        raise AssertionError("a remembered check was proven again")

    monkeypatch.setattr(steps, "is_zero", refuse)


def test_a_check_proven_on_one_layer_is_not_redone_on_another(monkeypatch):
    left, right = _recursion(2)
    bp._arbitrary_loss(2, 2, 2, ACTIVATIONS["sigmoid"]).equal("layer 2", left, right)
    _no_proofs(monkeypatch)
    for layer in (3, 7):
        left, right = _recursion(layer)
        bp._arbitrary_loss(layer, 2, 2, ACTIVATIONS["sigmoid"]).equal(f"layer {layer}", left, right)


@pytest.mark.parametrize("wrong", ["transposed", "other layer", "other activation"])
def test_a_wrong_step_is_caught_with_the_right_one_remembered(wrong):
    for layer in (2, 3):  # the right step proven (and remembered) on both layers first
        bp._arbitrary_loss(layer, 2, 2, ACTIVATIONS["sigmoid"]).equal("right", *_recursion(layer))
    act = "tanh" if wrong == "other activation" else "sigmoid"
    ck = bp._arbitrary_loss(3, 2, 2, ACTIVATIONS[act])
    left, right = _recursion(3, theta_layer=2 if wrong == "other layer" else None, transposed=wrong == "transposed")
    with pytest.raises(CheckError, match="wrong"):
        ck.equal("wrong", left, right)
    with pytest.raises(CheckError):  # and again: a failure is not remembered
        ck.equal("wrong", left, right)


def test_the_renaming_is_one_bijection_keeping_assumptions():
    names = [sp.Symbol("Theta[3]", commutative=False), q("z", 3, 1), q("z", 4, 1), q("a", 3, 0), q("y", 1),
             q("delta", 5, 2), sp.Symbol("xi1"), q("Theta", "l-1", 1, 2), sp.Symbol("g'[sigmoid]")]
    found = steps._indexed([sp.Add(*names[1:], evaluate=False), names[0]])
    rename = steps._renaming(found, 3)
    assert len(set(rename.values())) == len(rename) == 6
    assert not set(rename.values()) & (set(names) - set(rename))
    assert rename[q("z", 3, 1)] == q("z", 0, 1) and rename[q("delta", 5, 2)] == q("delta", 2, 2)
    assert rename[q("y", 1)] == q("y", -2)
    assert rename[names[0]].is_commutative is False
    assert steps._renaming(found, 0) == {}


def test_wrong_hidden_identity_is_caught_after_the_right_network_was_derived(monkeypatch):
    net = derive.Network.from_dict({"layers": [3, 4, 4, 2], "activation": "tanh"})
    right = bp.backprop(net)
    real = bp.unit_derivative

    def wrong(name, z, a):
        d = real(name, z, a)
        return bp.UnitDerivative(d.in_z, 2 * d.in_a) if name == "tanh" and d.in_a is not None else d

    monkeypatch.setattr(bp, "unit_derivative", wrong)
    with pytest.raises(CheckError, match="hidden_delta"):
        bp.backprop(net)
    monkeypatch.setattr(bp, "unit_derivative", real)
    assert bp.backprop(net) == right


def test_a_wrong_output_step_is_caught_with_warm_caches(monkeypatch):
    net = derive.Network.from_dict({"layers": [2, 2]})
    bp.backprop(net)
    monkeypatch.setattr(bp, "tidy", lambda e: sp.Integer(2) * sp.sympify(e).doit())
    with pytest.raises(CheckError, match="output_delta"):
        bp.backprop(net)


@pytest.mark.parametrize("spec", [
    {"layers": [3, 5, 5, 4]},
    {"layers": [2, 3, 1], "activation": "relu", "output": "linear", "loss": "squared_error"},
    {"layers": [2, 2, 2], "output": "softmax"},
    {"layers": [2, 1, 3, 2], "activation": ["tanh", "relu"], "lambda": 1, "reduction": "sum"},
])
def test_remembered_checks_give_the_same_derivation(spec):
    net = derive.Network.from_dict(spec)
    with steps.fresh_checks():
        full = bp.backprop(net)
    assert bp.backprop(net) == full == bp.backprop(net)


def test_fresh_checks_prove_everything(monkeypatch):
    net = derive.Network.from_dict({"layers": [2, 2]})
    bp.backprop(net)
    calls = []
    real = steps.Checker.value
    monkeypatch.setattr(steps.Checker, "value", lambda self, e, **kw: calls.append(e) or real(self, e, **kw))
    bp.backprop(net)
    remembered = len(calls)
    with steps.fresh_checks():
        bp.backprop(net)
    assert len(calls) - remembered > remembered


@pytest.mark.parametrize(("fmt", "absent"), [("latex", ["numpy", "jinja2", "latex2mathml"]),
                                             ("json", ["numpy", "jinja2", "latex2mathml"]),
                                             ("html", ["numpy"])])
def test_the_derivation_path_imports_only_what_it_needs(fmt, absent, tmp_path):
    import subprocess
    import sys

    code = ("import sys\nfrom derive.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in {absent!r} if m in sys.modules), 'sympy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, "derivation", "--preset", "ng-4-layer", "-f", fmt, "-o",
                           str(tmp_path / f"out.{fmt}")], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.stdout.strip().splitlines()[-1] == "[] True", done.stdout + done.stderr
    assert (tmp_path / f"out.{fmt}").stat().st_size > 1000


def test_a_step_is_proven_for_any_loss_derivative_first_and_through_its_definition_otherwise(monkeypatch):
    """The activation identity holds whatever δ^(l+1) is (proven with the δs free); the chain rule only through
    δ's definition as ∂F/∂z (proven in full); a wrong index fails both ways and is caught."""
    ck = bp._arbitrary_loss(2, 2, 2, ACTIVATIONS["sigmoid"])
    a, z = q("a", 2, 1), q("z", 2, 1)
    sums = sum(q("delta", 3, k) * q("Theta", 2, k, 1) for k in (1, 2))
    prime = sp.exp(-z) / (1 + sp.exp(-z)) ** 2
    full = []
    real = steps.Checker._full
    monkeypatch.setattr(steps.Checker, "_full", lambda self, *args: full.append(args[0]) or real(self, *args))
    with steps.fresh_checks():
        ck.equal("identity", sums * prime, sums * a * (1 - a))
        assert full == []
        chain = sum(Partial(bp.J, q("z", 3, k)) * Partial(q("z", 3, k), a) for k in (1, 2)) * Partial(a, z)
        ck.equal("chain", Partial(bp.J, z), chain)
        assert full == ["chain"]
        with pytest.raises(CheckError):
            ck.equal("wrong", sums * prime, sum(q("delta", 3, k) * q("Theta", 2, 1, k) for k in (1, 2)) * a * (1 - a))


# --- checks proven in an earlier process (steps.ProvenBefore) ---------------------------------------------------
_RUN = """
import sys
import derive
from derive.engine import derivation as steps
from derive.engine.backprop import backprop
net = derive.Network.from_dict({"layers": [3, 5, 5, 4]})
if sys.argv[1] == "nothing again":
    def refuse(expr, **kw):
        raise AssertionError("proven again")
    steps.is_zero = refuse
from derive.render import render
print(render(backprop(net), "latex"))
"""


def _run(folder, mode: str, seed: str) -> str:
    import os
    import subprocess
    import sys

    env = {**os.environ, "DERIVE_CACHE": str(folder), "PYTHONHASHSEED": seed}
    done = subprocess.run([sys.executable, "-c", _RUN, mode], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_fresh_process_does_not_prove_again_what_an_earlier_one_proved(tmp_path):
    first = _run(tmp_path, "prove", "1")
    (stored,) = tmp_path.glob("checks-*.txt")
    assert len(stored.read_text().split()) > 10
    assert _run(tmp_path, "nothing again", "2") == first  # another hash seed: the digests do not depend on it


def test_a_wrong_step_is_caught_with_the_checks_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("DERIVE_CACHE", str(tmp_path))
    monkeypatch.setattr(steps, "_PROVEN", {})
    net = derive.Network.from_dict({"layers": [2, 2]})
    bp.backprop(net)
    assert list(tmp_path.glob("checks-*.txt"))
    monkeypatch.setattr(steps, "_PROVEN", {})  # only the disk remembers now
    monkeypatch.setattr(bp, "tidy", lambda e: sp.Integer(2) * sp.sympify(e).doit())
    with pytest.raises(CheckError, match="output_delta"):
        bp.backprop(net)


def test_the_disk_can_be_turned_off_and_damaged(tmp_path, monkeypatch):
    monkeypatch.setattr(steps, "_PROVEN", {})
    monkeypatch.setenv("DERIVE_CACHE", "off")
    net = derive.Network.from_dict({"layers": [2, 2]})
    right = bp.backprop(net)
    monkeypatch.setattr(steps, "_PROVEN", {})
    folder = tmp_path / "damaged"
    folder.mkdir()
    monkeypatch.setenv("DERIVE_CACHE", str(folder))
    (folder / f"checks-{steps._fingerprint()}.txt").write_bytes(b"\xff\xfe not digests\n")
    assert bp.backprop(net) == right
    monkeypatch.setattr(steps, "_PROVEN", {})
    monkeypatch.setenv("DERIVE_CACHE", str(tmp_path / "a file"))
    (tmp_path / "a file").write_text("")  # not a folder: nothing can be kept, nothing fails
    assert bp.backprop(net) == right


_x, _y = sp.symbols("x y")
DIFFERENT = [  # pairs a check key must tell apart
    (_x, sp.Symbol("x", positive=True)),
    (_x, sp.Dummy("x")),
    (sp.Function("f")(_x), sp.Function("f", real=True)(_x)),
    (sp.Function("f")(_x), sp.Function("g")(_x)),
    (sp.Pow(_x, _y), sp.Pow(_y, _x)),
    (sp.Integer(2), sp.Rational(4, 2) + sp.Rational(1, 3)),
    (sp.Rational(1, 2), sp.Float(0.5)),
    (sp.Float(0.5, 15), sp.Float(0.5, 30)),
    (sp.sin(_x), sp.cos(_x)),
    (sp.Derivative(sp.Function("f")(_x), _x), sp.Derivative(sp.Function("f")(_x), (_x, 2))),
    (sp.ImmutableMatrix([[_x, _y]]), sp.ImmutableMatrix([[_x], [_y]])),
    (Partial(_x, _y), Partial(_y, _x)),
    (sp.Add(_x, _y * 2, evaluate=False), sp.Add(_x * 2, _y, evaluate=False)),
]


@pytest.mark.parametrize(("one", "other"), DIFFERENT, ids=lambda e: sp.srepr(e)[:40])
def test_a_check_key_names_its_expressions_exactly(one, other):
    assert steps._digest((one,)) is not None
    assert steps._digest((one,)) != steps._digest((other,))
    assert steps._digest((one,)) == steps._digest((sp.sympify(one),))


def test_a_function_from_outside_sympy_and_derive_is_never_taken_from_disk():
    class Outside(sp.Function):
        pass

    Outside.__module__ = "elsewhere"
    assert steps._digest((Outside(_x) + 1,)) is None
    assert steps._digest((sp.Function("f")(_x) + 1,)) is not None
