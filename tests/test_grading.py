"""Grading (SPEC §8): correct answers however written, every registered mistake named, hostile answers refused.

The correct answers are written out here by hand (the independent reference); the mistaken answers are
both written by hand and produced from the derivation by each registered mistake, printed as answers.
"""

from __future__ import annotations

import ast
import json
import pathlib
import subprocess
import sys
import time

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import derive
from derive.cli import main
from derive.grading import grader_of
from derive.grading.mistakes import MISTAKES
from derive.grading.targets import DERIVED, parse_target

ROOT = pathlib.Path(__file__).resolve().parent.parent

# --- the networks, and how a student may write each piece of their results --------------------------------
NETS = {
    "sigmoid_ce": {"layers": [2, 3, 2]},
    "softmax_ce": {"layers": [2, 3, 3], "output": "softmax", "lambda": 0.2},
    "sigmoid_se": {"layers": [2, 3, 2], "loss": "squared_error", "reduction": "sum"},
    "tanh_se": {"layers": [2, 3, 2], "activation": "tanh", "output": "tanh", "loss": "squared_error",
                "reduction": "sum", "lambda": 0.3},
    "four_layers": {"layers": [3, 4, 4, 2], "lambda": 0.5},
}

OUTPUT_FORMS = {  # δ^(L) of one output unit: {a}, {y}, {z} are that unit's names
    "sigmoid_ce": ["{a} - {y}", "sigmoid({z}) - {y}", "{a}*(1 - {y}) - {y}*(1 - {a})", "-({y} - {a})"],
    "softmax_ce": ["{a} - {y}", "exp({z})/(exp(z[3][1]) + exp(z[3][2]) + exp(z[3][3])) - {y}",
                   "{a}*(y[1] + y[2] + y[3]) - {y}", "{a}*(1 - {y}) - {y}*(1 - {a})", "-({y} - {a})"],
    "sigmoid_se": ["({a} - {y})*{a}*(1 - {a})", "({a} - {y})*sigmoid({z})*(1 - sigmoid({z}))",
                   "{a}^2 - {a}^3 - {a}*{y} + {a}^2*{y}", "({a} - {y})*exp(-{z})/(1 + exp(-{z}))**2"],
    "tanh_se": ["({a} - {y})*(1 - {a}^2)", "({a} - {y})*(1 - tanh({z})^2)", "({a} - {y})*(1 - {a})*(1 + {a})",
                "{a} - {a}^3 - {y} + {y}*{a}^2"],
    "four_layers": ["{a} - {y}", "sigmoid({z}) - {y}", "{a} - {y}*1"],
}
PRIME_FORMS = {  # g′ of a hidden unit: {a}, {z}
    "sigmoid": ["{a}*(1 - {a})", "sigmoid({z})*(1 - sigmoid({z}))", "({a} - {a}^2)", "exp(-{z})/(1 + exp(-{z}))^2"],
    "tanh": ["(1 - {a}^2)", "(1 - tanh({z})**2)", "(1 - {a})*(1 + {a})"],
}


def _net(key: str) -> derive.Network:
    return derive.Network.from_dict(NETS[key])


def _output(key: str, unit: int, form: int) -> str:
    L = len(NETS[key]["layers"])
    forms = OUTPUT_FORMS[key]
    return "(" + forms[form % len(forms)].format(a=f"a[{L}][{unit}]", y=f"y[{unit}]", z=f"z[{L}][{unit}]") + ")"


def _prime(key: str, layer: int, unit: int, form: int) -> str:
    forms = PRIME_FORMS[NETS[key].get("activation", "sigmoid")]
    return "(" + forms[form % len(forms)].format(a=f"a[{layer}][{unit}]", z=f"z[{layer}][{unit}]") + ")"


def _hidden(key: str, layer: int, unit: int) -> list[str]:
    """δ^(layer)_unit written four ways: the recursion factored, in z, with the sum multiplied out, and
    (below the output layer) with δ^(L) itself written in."""
    sizes = NETS[key]["layers"]
    ks = range(1, sizes[layer] + 1)
    back = " + ".join(f"Theta[{layer}][{k}][{unit}]*delta[{layer + 1}][{k}]" for k in ks)
    forms = [f"({back})*{_prime(key, layer, unit, 0)}",
             f"{_prime(key, layer, unit, 1)}*({back})",
             " + ".join(f"delta[{layer + 1}][{k}]*Theta[{layer}][{k}][{unit}]*{_prime(key, layer, unit, 2)}"
                        for k in ks)]
    if layer + 1 == len(sizes):
        outputs = " + ".join(f"Theta[{layer}][{k}][{unit}]*{_output(key, k, k)}" for k in ks)
        forms.append(f"({outputs})*{_prime(key, layer, unit, 3)}")
    return forms


def correct_answers(key: str) -> list[tuple[str, str]]:
    """(target, answer) pairs, at least three differently written answers for every target kind."""
    sizes = NETS[key]["layers"]
    L = len(sizes)
    lam = NETS[key].get("lambda", 0.0)
    mean = NETS[key].get("reduction", "mean") == "mean"
    out: list[tuple[str, str]] = []
    for unit in (1, sizes[-1]):
        out += [(f"delta[{L}][{unit}]", _output(key, unit, form)) for form in range(len(OUTPUT_FORMS[key]))]
    for layer in range(L - 1, 1, -1):
        out += [(f"delta[{layer}][2]", answer) for answer in _hidden(key, layer, 2)]
    # ∂loss/∂Θ for one example: the output layer's and the first layer's
    for j in (0, 2):
        a = "1" if j == 0 else f"a[{L - 1}][{j}]"
        out += [(f"dTheta[{L - 1}][1][{j}]", f"{_output(key, 1, form)}*{a}") for form in range(3)]
        out.append((f"dTheta[{L - 1}][1][{j}]", f"{a}*delta[{L}][1]"))
    out += [("dTheta[1][2][1]", "delta[2][2]*x[1]"), ("dTheta[1][2][1]", "a[1][1]*delta[2][2]")]
    out += [("dTheta[1][2][1]", f"({answer})*x[1]") for answer in _hidden(key, 2, 2)]
    # the regularized gradient, j ≠ 0 and j = 0
    scale = "/m" if mean else ""
    out += [("D[1][2][1]", f"Delta[1][2][1]{scale} + lambda*Theta[1][2][1]{scale}"),
            ("D[1][2][1]", f"(Delta[1][2][1] + lambda*Theta[1][2][1]){scale}"),
            ("D[1][2][1]", f"Delta[1][2][1]{scale} + {lam!r}*Theta[1][2][1]{scale}"),
            ("D[1][2][0]", f"Delta[1][2][0]{scale}"), ("D[1][2][0]", f"Delta[1][2][0]*{'m^-1' if mean else '1'}"),
            ("D[1][2][0]", f"(2*Delta[1][2][0] - Delta[1][2][0]){scale}")]
    # the one-unit forms
    out += [("output_delta", form.format(a="a", y="y", z="z")) for form in OUTPUT_FORMS[key]
            if "z[" not in form and "y[" not in form]
    if L > 2:
        forms = PRIME_FORMS[NETS[key].get("activation", "sigmoid")]
        out += [("hidden_derivative", form.format(a="a", z="z")) for form in forms]
    return out


CASES = [(key, target, answer) for key in NETS for target, answer in correct_answers(key)]


@pytest.mark.parametrize(("key", "target", "answer"), CASES, ids=[f"{k}-{t}-{n}" for n, (k, t, _) in enumerate(CASES)])
def test_a_correct_answer_is_accepted_however_written(key, target, answer):
    v = derive.grade(_net(key), target, answer)
    assert (v.verdict, v.mistake) == ("correct", None), (v.text, v.expected)


@pytest.mark.parametrize("key", NETS)
def test_every_target_kind_has_three_differently_written_correct_answers(key):
    kinds: dict[str, set[str]] = {}
    for target, answer in correct_answers(key):
        kinds.setdefault(parse_target(_net(key), target).kind.name, set()).add(answer)
    expected_kinds = {"delta", "dTheta", "D", "output_delta"} | ({"hidden_derivative"} if len(NETS[key]["layers"]) > 2
                                                                   else set())
    assert set(kinds) == expected_kinds
    assert all(len(answers) >= 3 for answers in kinds.values()), {k: len(v) for k, v in kinds.items()}


# --- mistakes -------------------------------------------------------------------------------------------
HANDWRITTEN_MISTAKES = [
    ("sigmoid_ce", "delta[3][1]", "(a[3][1] - y[1])*a[3][1]*(1 - a[3][1])", "sigma_prime_with_cross_entropy"),
    ("softmax_ce", "delta[3][2]", "(a[3][2] - y[2])*a[3][2]*(1 - a[3][2])", "sigma_prime_with_cross_entropy"),
    ("sigmoid_ce", "output_delta", "(a - y)*sigmoid(z)*(1 - sigmoid(z))", "sigma_prime_with_cross_entropy"),
    ("sigmoid_se", "delta[3][1]", "a[3][1] - y[1]", "missing_activation_derivative"),
    ("tanh_se", "output_delta", "a - y", "missing_activation_derivative"),
    ("sigmoid_se", "delta[2][1]", "Theta[2][1][1]*delta[3][1] + Theta[2][2][1]*delta[3][2]",
     "missing_activation_derivative"),
    ("sigmoid_se", "delta[3][1]", "(a[3][1] - y[1])*sigmoid(a[3][1])*(1 - sigmoid(a[3][1]))", "derivative_at_a"),
    ("tanh_se", "hidden_derivative", "1 - tanh(a)^2", "derivative_at_a"),
    ("sigmoid_ce", "delta[3][1]", "y[1] - a[3][1]", "sign_flipped"),
    ("tanh_se", "delta[3][2]", "(y[2] - a[3][2])*(1 - a[3][2]^2)", "sign_flipped"),
    ("sigmoid_se", "delta[3][1]", "2*(a[3][1] - y[1])*a[3][1]*(1 - a[3][1])", "factor_two"),
    ("tanh_se", "output_delta", "(a - y)*(1 - a^2)/2", "factor_two"),
    ("four_layers", "D[2][1][0]", "Delta[2][1][0]/m + lambda*Theta[2][1][0]/m", "regularized_bias"),
    ("four_layers", "D[2][1][3]", "Delta[2][1][3]/m + lambda*Theta[2][1][3]", "lambda_scale"),
    ("four_layers", "D[2][1][3]", "Delta[2][1][3]/m + lambda*Theta[2][1][3]/(2*m)", "lambda_scale"),
    ("tanh_se", "D[1][1][1]", "Delta[1][1][1] + lambda/2*Theta[1][1][1]", "lambda_scale"),
    ("four_layers", "D[2][1][3]", "Delta[2][1][3] + lambda*Theta[2][1][3]", "missing_mean"),
    ("four_layers", "D[1][2][0]", "Delta[1][2][0]", "missing_mean"),
    ("sigmoid_ce", "delta[2][1]", "(Theta[2][1][0]*delta[3][1] + Theta[2][2][0]*delta[3][2])*a[2][1]*(1 - a[2][1])",
     "bias_row_kept"),
    ("sigmoid_ce", "delta[2][2]", "(Theta[2][1][1]*delta[3][1] + Theta[2][2][1]*delta[3][2])*a[2][2]*(1 - a[2][2])",
     "bias_row_kept"),
    ("sigmoid_ce", "delta[2][1]", "(Theta[2][1][1]*delta[3][1] + Theta[2][1][2]*delta[3][2])*a[2][1]*(1 - a[2][1])",
     "missing_transpose"),
    ("sigmoid_ce", "delta[3][1]", "(a[3][1] - y[1])*a[3][1]", "wrong:None"),
    ("sigmoid_ce", "delta[2][1]", "delta[2][1]", "circular"),
    ("four_layers", "dTheta[2][1][1]", "delta[2][1]*a[2][1]", "circular"),
]


@pytest.mark.parametrize(("key", "target", "answer", "mistake"), HANDWRITTEN_MISTAKES,
                         ids=[f"{m}-{k}-{t}" for k, t, _, m in HANDWRITTEN_MISTAKES])
def test_a_classic_mistake_is_named(key, target, answer, mistake):
    v = derive.grade(_net(key), target, answer)
    want = None if mistake == "wrong:None" else mistake
    assert (v.verdict, v.mistake) == ("wrong", want), v.text
    assert v.text.startswith("Wrong")


def test_every_registered_mistake_has_a_handwritten_case():
    assert {m for *_, m in HANDWRITTEN_MISTAKES} - {"wrong:None"} == set(MISTAKES)


def _targets(key: str) -> list[str]:
    sizes = NETS[key]["layers"]
    L = len(sizes)
    names = [f"delta[{L}][1]", f"dTheta[{L - 1}][1][1]", "dTheta[1][1][0]", "D[1][1][1]", "D[1][1][0]",
             "output_delta"]
    if L > 2:
        names += [f"delta[{layer}][1]" for layer in range(2, L)] + ["hidden_derivative"]
    return names


def _derived_mistakes():
    """(net, target, mistake id, the wrong answer) for every variant of every mistake that applies, each
    built from the derivation by the registry and printed in the answer language."""
    for key in NETS:
        g = grader_of(_net(key))
        for target in _targets(key):
            t = parse_target(g.network, target)
            applicable = {mistake for mistake, _ in g.key(target).mistakes}
            for mistake in MISTAKES.values():
                if mistake.id not in applicable:
                    continue
                for variant in mistake.variants:
                    for expand in (False, True):
                        try:
                            wrong = t.display(t.build(g.model, variant(DERIVED), expand=expand))
                        except Exception:
                            continue
                        yield key, target, mistake.id, sp.sstr(wrong)


def test_every_registered_mistake_is_produced_from_the_derivation_and_recognized():
    seen: set[str] = set()
    for key, target, mistake, answer in _derived_mistakes():
        v = derive.grade(_net(key), target, answer)
        if v.verdict == "correct":  # this variant does not change this target (e.g. a named deeper δ)
            continue
        assert v.verdict == "wrong", (key, target, answer, v.text)
        assert v.mistake is not None, (key, target, mistake, answer)
        seen.add(v.mistake)
        if v.mistake != mistake:  # two mistakes may give the same wrong result; the first registered names it
            ids = list(MISTAKES)
            assert ids.index(v.mistake) < ids.index(mistake), (key, target, mistake, v.mistake, answer)
    assert seen == {m for m in MISTAKES if MISTAKES[m].variants}  # mistakes of form are not built from a recipe


def test_a_mistake_applies_only_where_it_changes_the_result():
    g = grader_of(_net("sigmoid_ce"))
    assert "sigma_prime_with_cross_entropy" in {m for m, _ in g.key("delta[3][1]").mistakes}
    assert "missing_activation_derivative" not in {m for m, _ in grader_of(derive.Network.from_dict(
        {"layers": [2, 2], "output": "linear", "loss": "squared_error"})).key("delta[2][1]").mistakes}
    no_lambda = {m for m, _ in g.key("D[1][1][1]").mistakes}
    assert not no_lambda & {"regularized_bias", "lambda_scale"}
    assert "missing_mean" in no_lambda
    summed = {m for m, _ in grader_of(_net("sigmoid_se")).key("D[1][1][1]").mistakes}
    assert "missing_mean" not in summed


def test_the_text_is_in_the_networks_language():
    net = derive.Network.from_dict({**NETS["sigmoid_ce"], "language": "zh"})
    wrong = derive.grade(net, "delta[3][1]", "y[1] - a[3][1]")
    assert wrong.mistake == "sign_flipped" and "符号" in wrong.text
    assert "正确" in derive.grade(net, "delta[3][1]", "a[3][1] - y[1]").text
    assert "不存在" in derive.grade(net, "delta[3][1]", "a[9][1]").text


def test_the_verdict_object():
    v = derive.grade(_net("sigmoid_se"), "delta[3][1]", "(a[3][1]-y[1])*a[3][1]*(1-a[3][1])")
    with pytest.raises(AttributeError):
        v.verdict = "wrong"  # type: ignore[misc]
    assert v.as_dict() == {"target": "delta[3][1]", "verdict": "correct", "mistake": None, "text": v.text}
    assert "expected" in v.as_dict(reveal=True)
    assert v.expected == derive.render.tex.latex(sp.sympify("a*(1 - a)*(a - y)").xreplace(
        {sp.Symbol("a"): sp.Symbol("a[3][1]"), sp.Symbol("y"): sp.Symbol("y[1]")}))
    md = v._repr_markdown_()
    assert md.startswith("**correct**") and "$$" in md
    assert derive.grade(NETS["sigmoid_se"], "delta[3][1]", "a[3][1]").verdict == "wrong"  # a dict works too


def test_the_package_is_not_shadowed_by_the_function():
    import importlib

    assert callable(derive.grade)
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("derive.grade")
    grading = importlib.import_module("derive.grading")
    modules = {p.stem for p in (ROOT / "derive" / "grading").glob("*.py")}
    assert not modules & set(grading.__all__)


def test_redundant_parentheses_are_fine():
    assert derive.grade(_net("sigmoid_ce"), "delta[3][1]", "(" * 90 + "a[3][1] - y[1]" + ")" * 90).verdict == "correct"


@pytest.mark.parametrize("answer", ["a[3][1] − y[1]", "a[3][1]\n  - y[1]", "(a[3][1] − y[1])·(a[3][1] + 1 − a[3][1])",
                                    "(a[3][1] - y[1]) × 1"])
def test_typography_pasted_from_notes_is_read(answer):
    assert derive.grade(_net("sigmoid_ce"), "delta[3][1]", answer).verdict == "correct"


def test_a_tiny_constant_added_is_not_correct():
    net = _net("sigmoid_ce")
    v = derive.grade(net, "delta[3][1]", "a[3][1] - y[1] + 1e-13")
    assert v.verdict == "wrong"


# --- the command line ------------------------------------------------------------------------------------
@pytest.fixture
def net_file(tmp_path):
    path = tmp_path / "net.toml"
    path.write_text('layers = [2, 3, 2]\nloss = "squared_error"\n', encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(("answer", "code", "verdict", "mistake"), [
    ("(a[3][1]-y[1])*a[3][1]*(1-a[3][1])", 0, "correct", None),
    ("a[3][1]-y[1]", 1, "wrong", "missing_activation_derivative"),
    ("a[3][1]", 1, "wrong", None),
])
def test_one_answer_json_and_exit_code(net_file, capsys, answer, code, verdict, mistake):
    rc = main(["grade", net_file, "--target", "delta[3][1]", "--answer", answer, "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == code
    assert out == {"target": "delta[3][1]", "verdict": verdict, "mistake": mistake, "text": out["text"]}


def test_reveal_adds_the_expected_latex(net_file, capsys):
    assert main(["grade", net_file, "--target", "delta[3][1]", "--answer", "a[3][1]", "--format", "json",
                 "--reveal"]) == 1
    assert "a^{(3)}_{1}" in json.loads(capsys.readouterr().out)["expected"]
    assert main(["grade", net_file, "--target", "delta[3][1]", "--answer", "a[3][1]", "--reveal"]) == 1
    assert "expected: " in capsys.readouterr().out


HOSTILE = [
    "a[3][1].real", "__import__('os').system('touch {flag}')", "open('{flag}', 'w')", "import os",
    "x = 1", "a[3][1]; import os", "lambda: 1", "[a[3][1]]", "a[3][1] if 1 else 2", "a[3][1] @ a[3][1]",
    "foo(a[3][1])", "exp(a[3][1], 2)", "exp(x=1)", "'abc'", "a[3][-1]", "a[3][1.5]", "a['3'][1]",
    "a[3][1][1]", "a[4][1]", "a[3][7]", "Theta[3][1][1]", "sigmoid", "q[1]", "(" * 300 + "a[3][1]" + ")" * 300,
    "exp(" * 150 + "a[3][1]" + ")" * 150, "-" * 3000 + "a[3][1]", "+".join(["a[3][1]"] * 500), "9**9**9**9",
    "a[3][1]**1000", "(a[3][1]**5)**5", "2**(9**9)", "10**400", "1e400", "a[3][1]" + "*a[3][1]" * 12000,
    "x" * 100_000, "\x00", "", "   ", "a[3][1] +", "a[3][1] // 2", "a[3][1] ^ ^ 2", "y[1] < 2", "1j",
]


@pytest.mark.parametrize("answer", HOSTILE, ids=[f"{n}-{a[:20]!r}" for n, a in enumerate(HOSTILE)])
def test_a_hostile_answer_is_refused_with_one_line(net_file, tmp_path, capsys, answer):
    flag = tmp_path / "ran"
    start = time.perf_counter()
    rc = main(["grade", net_file, "--target", "delta[3][1]", "--answer=" + answer.replace("{flag}", str(flag))])
    elapsed = time.perf_counter() - start
    captured = capsys.readouterr()
    assert rc == 2, captured
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, lines
    assert not flag.exists()
    assert elapsed < 1.0


def test_a_hostile_answer_runs_nothing_in_a_fresh_process(net_file, tmp_path):
    flag = tmp_path / "ran"
    r = subprocess.run([sys.executable, "-m", "derive.cli", "grade", net_file, "--target", "delta[3][1]",
                        "--answer", f"__import__('os').system('touch {flag}')"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr
    assert not flag.exists()


def test_the_grading_code_never_evaluates_text():
    for path in [*(ROOT / "derive" / "grading").glob("*.py"), ROOT / "derive" / "cli" / "commands" / "grade.py"]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [n.func for n in ast.walk(tree) if isinstance(n, ast.Call)]
        names = {f.id for f in calls if isinstance(f, ast.Name)}
        names |= {f.attr for f in calls if isinstance(f, ast.Attribute) and f.attr in ("sympify", "parse_expr")}
        assert not names & {"eval", "exec", "sympify", "parse_expr", "compile", "__import__"}, path


def test_a_bad_target_is_one_line(net_file, capsys):
    assert main(["grade", net_file, "--target", "delta[9][1]", "--answer", "a[3][1]"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "2 … 3" in err[0]
    assert main(["grade", net_file, "--target", "nabla", "--answer", "a[3][1]"]) == 2
    assert "allowed" in capsys.readouterr().err


CLASS = """id,target,answer
s1,delta[3][1],(a[3][1]-y[1])*a[3][1]*(1-a[3][1])
s2,delta[3][1],a[3][1]-y[1]
s3,delta[3][1],__import__('os')
s4,delta[2][1],(Theta[2][1][1]*delta[3][1]+Theta[2][2][1]*delta[3][2])*a[2][1]*(1-a[2][1])
s5,nabla[1],a
s6,delta[3][1]
s7,output_delta,"(a-y)*a*(1-a)"
s8,delta[3][1],""" + "a" * 100_000 + """
s9,delta[3][1],-(y[1]-a[3][1])*a[3][1]*(1-a[3][1])
"""


def _class_file(tmp_path, text=CLASS):
    path = tmp_path / "class.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_class_file_as_json(net_file, tmp_path, capsys):
    rc = main(["grade", net_file, "--answers", _class_file(tmp_path), "--format", "json"])
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert rc == 0 and captured.err == ""  # stderr is not a terminal: no progress bar
    assert [r["id"] for r in rows] == ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9"]
    assert [r["verdict"] for r in rows] == ["correct", "wrong", "unreadable", "correct", "unreadable",
                                            "unreadable", "correct", "unreadable", "correct"]
    assert "100000 characters" in rows[7]["text"]
    assert rows[1]["mistake"] == "missing_activation_derivative"
    assert all(set(r) == {"id", "target", "verdict", "mistake", "text"} for r in rows)


def test_a_class_file_as_csv_with_reveal(net_file, tmp_path, capsys):
    import csv
    import io

    assert main(["grade", net_file, "--answers", _class_file(tmp_path), "--reveal"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["id"] for r in rows] == ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9"]
    assert rows[0]["expected"].startswith("a^{(3)}")


def test_the_command_offers_every_report_format():
    from derive.cli.commands import grade
    from derive.grading.report import DOCUMENTS, FORMATS

    assert set(grade.FORMATS) == set(FORMATS) and grade.DOCUMENTS == DOCUMENTS


def test_the_verdicts_are_worded_in_the_language_and_notation_asked_for(net_file, capsys):
    answer = ["--target", "delta[3][1]", "--answer", "a[3][1]-y[1]"]
    assert main(["grade", net_file, *answer, "--language", "zh"]) == 1
    zh = capsys.readouterr().out
    assert zh.startswith("错误") and "漏掉了激活函数的导数" in zh
    assert main(["grade", net_file, *answer, "--notation", "nielsen", "--format", "json", "--reveal"]) == 1
    nielsen = json.loads(capsys.readouterr().out)
    assert main(["grade", net_file, *answer, "--format", "json", "--reveal"]) == 1
    ng = json.loads(capsys.readouterr().out)
    assert nielsen["mistake"] == ng["mistake"] == "missing_activation_derivative"
    assert nielsen["expected"] != ng["expected"] and "^{3}" in nielsen["expected"] and "^{(3)}" in ng["expected"]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_class_report_as_a_document_with_its_title(net_file, tmp_path, capsys, language):
    from html.parser import HTMLParser

    class Rows(HTMLParser):
        rows = 0

        def handle_starttag(self, tag, attrs):
            self.rows += tag == "tr"

    out = tmp_path / "report.html"
    assert main(["grade", net_file, "--answers", _class_file(tmp_path), "--format", "html", "--language", language,
                 "--title", "Quiz 3 & more", "--author", "T. Lee", "--date", "2026-12-03", "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    parser = Rows()
    parser.feed(page)
    assert "<title>Quiz 3 &amp; more</title>" in page and "T. Lee" in page and "2026-12-03" in page
    assert f'<html lang="{language}"' in page
    assert parser.rows == 1 + len(CLASS.strip().splitlines()) - 1  # the header and one row per answer
    assert ("正确" in page) == (language == "zh")
    assert main(["grade", net_file, "--target", "delta[3][1]", "--answer", "a[3][1]-y[1]", "--format", "markdown"]) == 1
    assert "| " in capsys.readouterr().out


@pytest.mark.parametrize("text", ["", "name,answer\nx,y\n", "id,target,answer\n\"unclosed\n"])
def test_a_bad_class_file_is_exit_2(net_file, tmp_path, capsys, text):
    out = tmp_path / "report.json"
    rc = main(["grade", net_file, "--answers", _class_file(tmp_path, text), "--format", "json", "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.splitlines()) == 1 and not out.exists()


def test_the_progress_bar_draws_on_a_terminal_only():
    import io

    from derive.cli.commands.grade import _progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    term, pipe = Terminal(), io.StringIO()
    assert list(_progress(list(range(20)), 20, term)) == list(range(20))  # type: ignore[arg-type]
    list(_progress(list(range(20)), 20, pipe))  # type: ignore[arg-type]
    assert "20/20" in term.getvalue() and pipe.getvalue() == ""


def test_the_example_class_file_grades(capsys):
    rc = main(["grade", str(ROOT / "examples" / "grade-net.toml"), "--answers", str(ROOT / "examples" / "class.csv"),
               "--format", "json"])
    rows = json.loads(capsys.readouterr().out)
    assert rc == 0 and {r["verdict"] for r in rows} == {"correct", "wrong", "unreadable"}


# --- the report of a class, and the lecture set's example class ----------------------------------------
def test_the_examples_are_the_lecture_sets_class():
    from derive.grading.example_class import CLASS, NETWORK

    assert (ROOT / "examples" / "class.csv").read_text(encoding="utf-8") == CLASS
    assert derive.Network.from_toml(ROOT / "examples" / "grade-net.toml") == derive.Network.from_dict(NETWORK)


@pytest.fixture(scope="module")
def report_files():
    from derive.grading.example_class import lecture_files

    return lecture_files()


def test_the_report_in_json_and_markdown(report_files):
    rows = json.loads(report_files[".json"])
    ids = [line.split(",", 1)[0] for line in (ROOT / "examples" / "class.csv").read_text().splitlines()[1:]]
    assert [r["id"] for r in rows] == ids
    assert {r["verdict"] for r in rows} == {"correct", "wrong", "unreadable"}
    assert all(r["expected"] for r in rows if r["verdict"] != "unreadable")
    table = [line for line in report_files[".md"].splitlines() if line.startswith("| ")]
    assert len(table) == len(ids) + 1 and all(line.count(" | ") >= 5 for line in table)


def test_the_report_page_has_one_formula_per_expected_result(report_files):
    from html.parser import HTMLParser

    class Cells(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tags: list[str] = []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)

    page = report_files[".html"]
    parser = Cells()
    parser.feed(page)
    rows = json.loads(report_files[".json"])
    assert page.count("<td><math") == sum(1 for r in rows if r["expected"])  # the verdicts' words hold math too
    assert parser.tags.count("tr") == len(rows) + 1


@pytest.mark.pdflatex
def test_the_report_compiles_with_pdflatex(report_files, tmp_path):
    from .conftest import need

    pdflatex = need("pdflatex")
    (tmp_path / "report.tex").write_text(report_files[".tex"], encoding="utf-8")
    r = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "report.tex"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:]
    assert (tmp_path / "report.pdf").stat().st_size > 10_000


# --- the parser never fails in any other way ------------------------------------------------------------
TOKENS = ["a[3][1]", "y[1]", "z[2][2]", "delta[3][2]", "Theta[2][1][0]", "lambda", "m", "x[1]", "2", "0.5", "1e3",
          "+", "-", "*", "/", "^", "**", "(", ")", "exp(", "log(", "sigmoid(", "tanh(", "sqrt(", "[", "]", ",", ".",
          " ", "import", "__", "'", "=", ";", "a", "q", "9**9", "lambda:"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=60), st.lists(st.sampled_from(TOKENS), max_size=30).map("".join)))
def test_any_text_is_a_formula_or_unreadable(text):
    from derive.grading.errors import Unreadable
    from derive.grading.language import parse
    from derive.grading.names import Vocabulary

    vocabulary = Vocabulary(_net("sigmoid_ce"))
    try:
        formula = parse(text, vocabulary)
    except Unreadable as e:
        assert "\n" not in str(e) and str(e)
        return
    draws = grader_of(_net("sigmoid_ce")).draws
    assert formula.evaluate(draws, draws.points).shape == (draws.points,)
