"""derive check: claims to the digits they show, against an independent forward pass; bad names refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

import derive
from derive.cli import main
from derive.document.claims import check, claimed_text, holds, section
from derive.errors import InputError

from .oracle import ACT, cost

A = 0.6236336283  # g(0.505), the slides' a_1^(2)


@pytest.mark.parametrize(("claimed", "computed", "ok"), [
    ("0.62", A, True),
    ("0.63", A, False),
    ("0.6", A, True),
    ("0.7", A, False),
    ("0.6236336", A, True),
    ("0.6236337", A, False),
    ("0.624", A, True),
    ("0.623", A, False),
    ("1", A, True),
    ("6.24e-1", A, True),
    ("0.125", 0.125, True),
    ("0.12", 0.125, True),  # exactly half a unit away
    ("0.2", 0.125, False),
    ("-0.12", -0.125, True),
    ("0.12", -0.125, False),
])
def test_a_claim_holds_to_the_digits_it_shows(claimed, computed, ok):
    assert holds(claimed, computed) is ok


@pytest.mark.parametrize(("value", "text"), [("0.50", "0.50"), (0.5, "0.5"), (0.1 + 0.2, "0.30000000000000004"),
                                             (3, "3"), (" 0.62 ", "0.62")])
def test_strings_keep_their_digits_numbers_use_shortest_repr(value, text):
    assert claimed_text(value, "J", "c.json") == text


@pytest.mark.parametrize("value", [True, None, [1], "0.6.2", "abc", "nan", "inf", ""])
def test_a_claim_must_be_a_decimal(value):
    with pytest.raises(InputError):
        claimed_text(value, "J", "c.json")


SPEC = {"layers": [2, 2, 1], "loss": "squared_error"}
THETAS = [[[0.5, 0.05, 0.1], [0.2, -0.3, 0.4]], [[0.1, 0.6, -0.7]]]
X, Y = [[0.02, 0.04]], [[1.0]]


def _oracle():
    """a, z per layer for example 1, by the plain numpy forward pass of tests/oracle.py."""
    a, zs, acts = np.array(X[0]), [], [np.array(X[0])]
    for T in THETAS:
        z = np.asarray(T) @ np.concatenate([[1.0], a])
        a = ACT["sigmoid"](z)
        zs.append(z)
        acts.append(a)
    return acts, zs


@pytest.fixture
def files(tmp_path):
    (tmp_path / "net.toml").write_text('layers = [2, 2, 1]\nloss = "squared_error"\n')
    (tmp_path / "p.json").write_text(json.dumps({"Theta": THETAS}))
    (tmp_path / "d.json").write_text(json.dumps({"X": X, "Y": Y}))

    def run(claims, *extra):
        (tmp_path / "c.json").write_text(json.dumps({"claims": claims}))
        return main(["check", str(tmp_path / "net.toml"), "--params", str(tmp_path / "p.json"),
                     "--data", str(tmp_path / "d.json"), "--claims", str(tmp_path / "c.json"), *extra])
    return run


def test_right_claims_pass(files, capsys):
    acts, zs = _oracle()
    J = cost(SPEC, THETAS, np.array(X), np.array(Y))
    claims = {"a[2][1]": f"{acts[1][0]:.7f}", "z[2][1]": "0.505", "a[3][1]": f"{acts[2][0]:.5f}",
              "z[3][1]": round(float(zs[1][0]), 4), "J": f"{J:.6f}"}
    assert files(claims) == 0
    out = capsys.readouterr().out
    assert out.count("✓") == 5 and "✗" not in out


def test_rounded_claims_hold_and_wrong_ones_are_named(files, capsys):
    assert files({"a[2][1]": "0.62", "J": "0.2", "z[2][1]": "0.51"}) == 1
    captured = capsys.readouterr()
    wrong = [line for line in captured.out.splitlines() if line.startswith("✗")]
    assert len(wrong) == 1 and wrong[0].split()[1] == "J"
    assert "0.1143007" in wrong[0] and "0.1" in wrong[0]  # what is right, to the claim's digits
    assert "J" in captured.err


def test_json_report(files, capsys):
    assert files({"a[2][1]": "0.63", "D[1][2][0]": "0.0206"}, "--format", "json") == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["wrong"] == ["a[2][1]"]
    assert doc["claims"][0]["right"] == "0.62"
    assert doc["claims"][1]["holds"] is True


def test_gradient_claims_match_finite_differences(files, capsys):
    from .oracle import numgrad

    D = numgrad(SPEC, THETAS, np.array(X), np.array(Y))
    claims = {f"D[{l}][{i}][{j}]": f"{D[l - 1][i - 1, j]:.6e}" for l, i, j in [(1, 1, 0), (1, 2, 2), (2, 1, 1)]}
    assert files(claims) == 0, capsys.readouterr().out


@pytest.mark.parametrize(("name", "says"), [
    ("a[4][1]", "layers 1 … 3"), ("a[2][3]", "units 1 … 2"), ("a[2][0]", "units 1 … 2"),
    ("z[1][1]", "layers 2 … 3"), ("delta[1][1]", "layers 2 … 3"),
    ("D[3][1][0]", "layers 1 … 2"), ("D[1][1][3]", "j = 0 … 2"), ("D[2][2][0]", "i = 1 … 1"),
    ("J[1]", "indices"), ("a[2]", "indices"), ("Theta[1][1][1]", "allowed names"), ("b", "allowed names"),
    ("a[x][1]", "indices"),
])
def test_unknown_names_and_out_of_range_indices(files, capsys, name, says):
    assert files({name: "0.5"}) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1


def test_claims_section_marks_each_claim():
    net = derive.Network.from_dict(SPEC)
    out = derive.lambdify(net).backward(THETAS, X, Y)
    rows = check(net, out, {"a[2][1]": "0.62", "a[2][2]": "0.9"})
    s = section(rows)
    assert [st.rule for st in s.steps] == ["claim_holds", "claim_wrong"]
    assert dict(s.steps[1].args)["computed"].startswith("0.552")


def test_each_claim_line_names_its_quantity_and_the_computed_value_with_a_minus_sign():
    """The verdict stands beside its own quantity with the engine's value (no unlabelled list after the lines),
    a negative value with a minus sign rather than a hyphen."""
    from derive.document.claims import signed
    from derive.document.worked_example import with_claims
    from derive.engine.backprop import backprop
    from derive.render import render

    net = derive.Network.from_dict(SPEC)
    out = derive.lambdify(net).backward(THETAS, X, Y)
    delta = float(out["deltas"][-1][0][0])
    assert delta < 0  # a negative value, to be written with a minus sign
    rows = check(net, out, {"a[2][2]": "0.9", "delta[3][1]": f"{delta:.3f}"})
    s = section(rows)
    assert signed("-0.25") == "−0.25" and signed("0.25") == "0.25"
    assert all(st.note is None for st in s.steps)
    tex = render(with_claims(backprop(net), s), "latex")
    lines = [line for line in tex.splitlines() if "computed" in line]
    assert len(lines) == 2 and "claimed" not in tex
    assert lines[0].startswith("a^{(2)}_{2}") and "is wrong (computed 0.55" in lines[0]
    assert lines[1].startswith("\\delta^{(3)}_{1}") and "computed ${- 0." in lines[1]  # a sign, set as math
