"""Numbers in, numbers out: what derive reads is bounded and ASCII, what it shows is exact where it says so,
and every number in a document compiles and reads back as the value shown.

Independent references: Python's ``fractions`` for exact values, mpmath at 50 digits for the ``sympy`` field of
every substitution step (read by a small whitelist evaluator over ``ast`` written here, never by eval), the
real pdflatex/xelatex for documents, an XML parser for MathML.
"""

from __future__ import annotations

import ast
import json
import re
import time
import xml.etree.ElementTree as ET
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import mpmath
import pytest
import sympy as sp

import derive
from derive import cli
from derive.document.claims import MAX_CLAIMS
from derive.document.worked_example import MAX_EXACT_DIGITS, Num, problem, worked_example
from derive.engine.computation_graph import MAX_EXACT_DIGITS as GRAPH_DIGITS
from derive.engine.computation_graph import exact_digits, parse
from derive.errors import InputError
from derive.io.decimals import MAX_DIGITS, read_decimal
from derive.render import render
from derive.render.latex import engine
from derive.render.tex import latex

from .test_documents import compile_tex

# --- reading numbers -----------------------------------------------------------------------------------

UNICODE_DIGITS = ["٠.٦٥", "０.５", "५", "0.٥", "１e3", "𝟎.𝟓", "²", "½", "0,5", "1_000", " 1", "1e", "e5", "+-1", "0x10",
                  "inf", "nan", "1e1000000"]


@pytest.mark.parametrize("text", UNICODE_DIGITS)
def test_only_ascii_decimals_are_read(text):
    with pytest.raises(InputError, match="ASCII"):
        read_decimal(text, "x")


@pytest.mark.parametrize(("text", "value"), [
    ("0.5", "0.5"), ("-2", "-2"), (".5", "0.5"), ("5.", "5"), ("1e-3", "0.001"), ("5e-324", "5E-324"),
    ("1.7e308", "1.7E+308"), ("0e-999", "0"), ("0." + "1" * MAX_DIGITS, "0." + "1" * MAX_DIGITS),
])
def test_accepted_numbers_are_exact(text, value):
    assert read_decimal(text, "x") == Decimal(value)


@pytest.mark.parametrize("text", ["1e-325", "9e308", "1e309", "-1e-999", "0." + "1" * (MAX_DIGITS + 1),
                                  "1" * 5000, "0." + "1" * 100_000])
def test_sizes_beyond_a_double_or_the_digit_bound_are_refused(text):
    started = time.perf_counter()
    with pytest.raises(InputError):
        read_decimal(text, "x")
    assert time.perf_counter() - started < 0.5


# --- every reader refuses the same numbers, exit 2, one line, quickly ------------------------------------

NET = 'layers = [2, 2, 1]\nloss = "squared_error"\n'
THETAS = [[[0.5, 0.05, 0.1], [0.2, -0.3, 0.4]], [[0.1, 0.6, -0.7]]]


def _files(folder: Path, *, params: str | None = None, data: str | None = None, claims: Any = None,
           program: str = "J = w * x\n") -> None:
    (folder / "net.toml").write_text(NET)
    (folder / "p.json").write_text(params or json.dumps({"Theta": THETAS}))
    (folder / "d.json").write_text(data or json.dumps({"X": [[0.02, 0.04]], "Y": [[1]]}))
    (folder / "c.json").write_text(claims if isinstance(claims, str) else json.dumps({"claims": claims or {"J": 1}}))
    (folder / "g.txt").write_text(program)


CHECK = ["check", "net.toml", "--params", "p.json", "--data", "d.json", "--claims", "c.json"]
EXAMPLE = ["example", "net.toml", "--params", "p.json", "--data", "d.json"]
LONG = "0." + "3" * 100_000

CASES = [
    # (id, argv, files, fragment of the one error line)
    ("graph constant power", ["graph", "g.txt", "--at", "x=1"],
     {"program": "J = 1.0000000000000002 ** 1000000000000000 * x\n"}, "digits to hold exactly"),
    ("graph power of a power", ["graph", "g.txt", "--at", "x=1"],
     {"program": "J = x ** 1.0000000000000002 ** 1000000000000000\n"}, "digits to hold exactly"),
    ("graph power of a product", ["graph", "g.txt", "--at", "x=1"], {"program": "J = (2 * x) ** 10000000000\n"},
     "digits to hold exactly"),
    ("graph nested powers", ["graph", "g.txt", "--at", "x=1"], {"program": "J = (2 ** 1000) ** 1000 * x\n"},
     "digits to hold exactly"),
    ("graph many big numbers", ["graph", "g.txt", "--at", "x=1"],
     {"program": "J = " + " * ".join(["1e300"] * 8) + " * x\n"}, "digits to hold exactly"),
    ("graph huge exponent", ["graph", "g.txt", "--at", "x=1"], {"program": "J = x ** 3 ** 3 ** 3 ** 3\n"},
     "overflows"),
    ("--at Arabic digits", ["graph", "g.txt", "--at", "w=٠.٦٥", "x=1"], {}, "--at w=٠.٦٥: not a number"),
    ("--at fullwidth digits", ["graph", "g.txt", "--at", "w=０.５", "x=1"], {}, "not a number"),
    ("--at 100,000 digits", ["graph", "g.txt", "--at", f"w={LONG}", "x=1"], {}, "--at w=0.333"),
    ("--at tiny exponent", ["graph", "g.txt", "--at", "w=1e-999999999", "x=1"], {}, "not a number"),
    ("--at beyond a double", ["graph", "g.txt", "--at", "w=1e999", "x=1"], {}, "out of range"),
    ("example tiny exponent", EXAMPLE, {"data": '{"X": [[1e-999999999, 0.5]], "Y": [[1]]}'}, "1e-999999999"),
    ("example below a double", EXAMPLE, {"data": '{"X": [[1e-400, 0.5]], "Y": [[1]]}'}, "out of range"),
    ("example too many digits", EXAMPLE, {"params": json.dumps({"Theta": THETAS}).replace("0.05", "0." + "5" * 500)},
     "digits"),
    ("claim huge exponent", CHECK, {"claims": {"J": "1e999999999"}}, "claim 'J'"),
    ("claim beyond a double", CHECK, {"claims": {"J": "1e999999"}}, "out of range"),
    ("claim as a huge number", CHECK, {"claims": '{"claims": {"J": 1e999999}}'}, "J"),
    ("claim Arabic digits", CHECK, {"claims": {"J": "٠.٦٥"}}, "ASCII"),
    ("claim fullwidth digits", CHECK, {"claims": {"J": "０.５"}}, "ASCII"),
    ("claim 100,000 digits", CHECK, {"claims": {"J": LONG}}, "digits"),
    ("claim name with a space", CHECK, {"claims": {"J ": 0.1}}, "without spaces"),
    ("claim names with spaces", CHECK, {"claims": {"J": 0.1, "J ": 0.1, "J  ": 0.1}}, "without spaces"),
    ("claim name with a tab", CHECK, {"claims": {"a[2]\t[1]": 0.1}}, "without spaces"),
    ("claim name in Unicode digits", CHECK, {"claims": {"a[٢][1]": 0.1}}, "unknown name"),
    ("claim given twice", CHECK, {"claims": '{"claims": {"J": 0.0434, "J": 5}}'}, "'J' is given twice"),
    ("claim named twice", CHECK, {"claims": {"a[2][1]": 0.62, "a[2][01]": 0.5}}, "the same quantity"),
    ("too many claims", CHECK, {"claims": {f"a[2][{i}]": 0.5 for i in range(1, MAX_CLAIMS + 2)}}, "at most"),
    ("claims in an example", EXAMPLE + ["--claims", "c.json"], {"claims": '{"claims": {"J": 1, "J": 2}}'},
     "given twice"),
]


@pytest.mark.parametrize(("argv", "files", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_numbers_exit_2_with_one_line_quickly(argv, files, fragment, tmp_path, monkeypatch, capsys):
    _files(tmp_path, **files)
    monkeypatch.chdir(tmp_path)
    started = time.perf_counter()
    code = cli.main([*argv, "-o", "out.txt"] if argv[0] != "check" else argv)
    elapsed = time.perf_counter() - started
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == "" and not (tmp_path / "out.txt").exists()
    assert err.count("\n") == 1 and len(err) < 400, err
    assert fragment in err, err
    assert elapsed < 15, f"{elapsed:.1f} s"


@pytest.mark.parametrize("program", [
    "J = 1.0000000000000002 ** 1000000000000000 * x", "J = x ** 1.0000000000000002 ** 1000000000000000",
    "J = (x + 1) ** 1000000000000", "J = exp(2 ** 100000 * x)", "J = (3 * x) ** (2 ** 60)",
    "J = 1.5 ** 0.5 ** 2 * x", "J = (1e300 * x) ** 7", "J = x ** 1e300",
])
def test_every_graph_program_is_bounded_before_sympy_differentiates_it(program):
    """A program is refused at parse time, or its derivatives stay within the digit bound (time as a witness)."""
    started = time.perf_counter()
    try:
        parsed = parse(program)
    except InputError:
        assert time.perf_counter() - started < 2
        return
    for node in parsed.nodes:
        for parent in node.parents:
            derivative = sp.diff(node.expr, sp.Symbol(parent))
            sizes = [len(str(abs(a.p))) + len(str(a.q)) for a in derivative.atoms(sp.Rational)]
            assert max(sizes, default=0) <= GRAPH_DIGITS
    assert time.perf_counter() - started < 5


def test_the_digit_estimate_counts_what_sympy_expands():
    x = sp.Symbol("x")
    unevaluated = sp.Pow(sp.Rational(3, 2), 100, evaluate=False)
    assert exact_digits(unevaluated) >= len(str(3 ** 100)) + len(str(2 ** 100))
    assert exact_digits(sp.Pow(x, 10 ** 9, evaluate=False)) < 20
    assert exact_digits(sp.Pow(sp.Mul(2, x, evaluate=False), 10 ** 9, evaluate=False)) >= 10 ** 8


# --- claims judged on the decimal they state --------------------------------------------------------------

Z_EXACT = {"Theta": [[[0.1, 0.25, 0.0]], [[0.0, 1.0]]]}
"""z[2][1] = 0.1 + 0.25 · 1.17 = 157/400 exactly; the double computes 0.39249999999999996"""


@pytest.mark.parametrize(("claimed", "verdict"), [
    ("0.3925", 0), ("0.39250000000000000", 0), ("0.392500000000000000000000000000", 0),
    ("0.39249999999999996", 1), ("0.39250000000000001", 1), ("0.391", 1), ("0.39", 0),
])
def test_claims_beyond_a_double_are_judged_against_the_exact_value(claimed, verdict, tmp_path, monkeypatch, capsys):
    (tmp_path / "net.toml").write_text('layers = [2, 1, 1]\noutput = "linear"\nactivation = "linear"\n'
                                       'loss = "squared_error"\n')
    (tmp_path / "p.json").write_text(json.dumps(Z_EXACT))
    (tmp_path / "d.json").write_text(json.dumps({"X": [[1.17, 5]], "Y": [[0]]}))
    (tmp_path / "c.json").write_text(json.dumps({"claims": {"z[2][1]": claimed}}))
    assert Fraction("0.1") + Fraction("0.25") * Fraction("1.17") == Fraction(157, 400)
    monkeypatch.chdir(tmp_path)
    assert cli.main(CHECK) == verdict, capsys.readouterr()


# --- Num: what a number looks like on the page and in the sympy field ---------------------------------------

R = sp.Rational


@pytest.mark.parametrize(("value", "digits", "tex", "text"), [
    (R("0.5"), 0, "0.5", "0.5"), (R(-1, 3), 0, r"-\frac{1}{3}", "-1/3"), (R(0), 0, "0", "0"),
    (R("2.7755575615628914e-17"), 7, r"2.775558 \times 10^{-17}", "2.775558e-17"),
    (R("1e-300"), 0, r"1 \times 10^{-300}", "1e-300"), (R("5e-324"), 0, r"5 \times 10^{-324}", "5e-324"),
    (R("-0.76159415595576"), 7, "-0.7615942", "-0.7615942"),
    (R("123456789012345678901234567890.0123"), 0, r"1.234567890123456789012345678900123 \times 10^{29}",
     "1.234567890123456789012345678900123e29"),
    (R("0.1234567890123456789012345678901234567"), 0, "0.1234567890123456789012345678901234567",
     "0.1234567890123456789012345678901234567"),
])
def test_numbers_are_written_exactly_or_rounded_as_they_say(value, digits, tex, text):
    n = Num(value, digits)
    assert latex(n) == tex and sp.sstr(n) == text
    read = Fraction(text)
    assert read == Fraction(int(value.p), int(value.q)) if not digits else \
        abs(read - Fraction(int(value.p), int(value.q))) <= abs(read) * Fraction(1, 10 ** (digits - 1))


@pytest.mark.parametrize("value", [R("2.776e-17"), R("-0.7615942"), R(-1, 3), R(1, 3), R("1e-300"), R(0), R(5, 2)])
@pytest.mark.parametrize("digits", [0, 7])
def test_a_number_raised_to_a_power_is_bracketed(value, digits):
    """LaTeX: no double superscript, a negative base in parentheses; sympy field: reads back as the value."""
    n = Num(value, digits)
    tex = latex(1 - n ** 2)
    assert "}^{" not in tex.replace(r"\right)^{", ""), tex
    if value < 0:
        assert re.search(r"\((\\left\()?-", tex), tex
    shown = Fraction(sp.sstr(n))
    assert evaluate(sp.sstr(1 - n ** 2)) == pytest.approx(float(1 - shown ** 2), rel=1e-12, abs=1e-300)


# --- worked examples in every configuration a course uses ------------------------------------------------

def _sigmoid_zero_thetas() -> list:
    return [[[0, 0, 0], [0, 0, 0]], [[0, 0, 0]]]


CONFIGS: dict[str, tuple[dict, list, list, list]] = {
    # name: (network, thetas, X, Y)
    "tanh at a rounded zero": ({"layers": [2, 2, 1], "activation": "tanh"},
                               [[[0.3, -0.1, -0.2], [0.5, 1, -1]], [[0, 1, 1]]], [[1, 1]], [[1]]),
    "tanh at tiny z": ({"layers": [2, 2, 1], "activation": "tanh", "loss": "squared_error"},
                       [[[0, 1, 0], [0.5, 1, -1]], [[0, 1, 1]]], [[1e-300, 0.5]], [[0.25]]),
    "exact zeros": ({"layers": [2, 2, 1]}, _sigmoid_zero_thetas(), [[0, 0]], [[1]]),
    "tiny inputs": ({"layers": [2, 2, 1], "loss": "squared_error"}, THETAS, [[1e-300, 5e-324]], [[1]]),
    "tiny weights": ({"layers": [2, 2, 2], "activation": "tanh", "output": "softmax"},
                     [[[5e-324, 1e-300, 0], [0, 0, 0]], [[0, 1e-300, 0], [0, 0, 5e-324]]], [[0.5, 0.25]], [[1, 0]]),
    "relu at 0": ({"layers": [2, 2, 1], "activation": "relu", "output": "linear", "loss": "squared_error"},
                  [[[0, 1, -1], [0.5, 1, 1]], [[0.25, 1, -2]]], [[0.5, 0.5]], [[1]]),
    "lambda": ({"layers": [2, 2, 1], "lambda": 0.1}, THETAS, [[0.02, 0.04]], [[1]]),
    "lambda exact": ({"layers": [2, 2, 1], "output": "linear", "activation": "linear", "loss": "squared_error",
                      "lambda": 0.5, "reduction": "sum"}, THETAS, [[0.02, 0.04]], [[1]]),
    "one unit": ({"layers": [1, 1], "activation": "tanh", "output": "tanh", "loss": "squared_error"},
                 [[[0, 0]]], [[0]], [[0.5]]),
    "softmax K=2 nielsen": ({"layers": [2, 2, 2], "output": "softmax", "notation": "nielsen", "lambda": 0.2},
                            THETAS[:1] + [[[0.1, 0.6, -0.7], [0, 0, 0]]], [[0.02, 0.04]], [[0, 1]]),
    "saturated": ({"layers": [1, 1]}, [[[-800, 0]]], [[0]], [[1]]),
    "negative output": ({"layers": [1, 2, 1], "activation": "tanh", "output": "linear", "loss": "squared_error"},
                        [[[-0.5, 1], [0.25, -1]], [[-0.5, 1, -2]]], [[0.25]], [[1]]),
    "zh tanh zeros": ({"layers": [2, 2, 1], "activation": "tanh", "language": "zh", "lambda": 0.1},
                      [[[0.3, -0.1, -0.2], [0, 0, 0]], [[0, 1, 1]]], [[1, 1]], [[1]]),
}


def example(name: str, **options: Any) -> derive.Derivation:
    spec, thetas, X, Y = CONFIGS[name]
    return worked_example(derive.Network.from_dict(spec), problem(thetas, X, Y), **options)


FUNCTIONS = {"tanh": mpmath.tanh, "exp": mpmath.exp, "log": lambda x: mpmath.log(x) if x else -mpmath.inf,
             "Max": max, "Min": min,
             "Heaviside": lambda x, h0=mpmath.mpf("0.5"): mpmath.mpf(1) if x > 0 else (0 if x < 0 else h0)}


def evaluate(text: str) -> mpmath.mpf:
    """A sympy field's value at 50 digits: numbers, + - * / **, and the functions above only (no eval)."""
    def value(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return value(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return mpmath.mpf(ast.get_source_segment(text, node) or repr(node.value))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            return -value(node.operand) if isinstance(node.op, ast.USub) else value(node.operand)
        if isinstance(node, ast.BinOp):
            a, b = value(node.left), value(node.right)
            ops = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b, ast.Div: lambda: a / b,
                   ast.Pow: lambda: a ** b}
            return ops[type(node.op)]()
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS:
            return FUNCTIONS[node.func.id](*(value(a) for a in node.args))
        raise AssertionError(f"not a number expression: {ast.dump(node)[:80]} in {text}")
    with mpmath.workdps(50):
        return value(ast.parse(text, mode="eval"))


@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_substitution_reads_back_as_the_value_shown(name):
    d = example(name, digits=12)
    steps = json.loads(render(d, "json"))["steps"]
    pairs = 0
    for step, nxt in zip(steps, steps[1:]):
        if step["rule"] != "substitute_numbers" or nxt["rule"] != "evaluate" or "update" in step["id"]:
            continue
        written, shown = evaluate(step["sympy"]), evaluate(nxt["sympy"])
        assert mpmath.isfinite(written), step
        assert abs(written - shown) <= mpmath.mpf("1e-9") * (1 + abs(shown)), (step["id"], step["sympy"], nxt["sympy"])
        pairs += 1
    assert pairs >= 3


def test_the_cost_equation_shows_the_penalty_its_value_includes():
    d = example("lambda")
    tex = render(d, "latex")
    cost = d.section("example_cost").steps
    assert len(cost) == 2
    assert "0.05" in latex(cost[0].rhs) and "(-0.3)^{2}" in latex(cost[0].rhs) and "0.5^{2}" not in latex(cost[0].rhs)
    assert r"\cdot ((0.05)^{2}" in tex or "0.05^{2}" in tex  # the weights squared, the bias 0.5 is not


def test_exact_zeros_stay_exact_downstream():
    d = example("tanh at a rounded zero")
    shown = {(s.id, latex(s.rhs)) for s in d.steps}
    assert ("example.forward2_1.a2", "0") in shown  # tanh of the exact 0 is exactly 0, not 2.8e-17
    assert ("example.gradient2_1_1.2", "0") in shown  # δ · a with a = 0
    assert not any(r"\times 10^{-17}" in tex for _, tex in shown)


def test_exact_means_exact_beyond_28_digits():
    weight = "0.1234567890123456789012345678901234"
    d = worked_example(derive.Network.from_dict(CONFIGS["lambda exact"][0]),
                       problem([[[weight, 1, 0], [0, 0, 0]], [[0, 1, 0]]], [["1.5", 0]], [[1]]), rate=0.01)
    exact = Fraction(weight) + Fraction("1.5")
    z = next(s for s in d.steps if s.id == "example.forward2_1.z2")
    assert Fraction(latex(z.rhs)) == exact and latex(z.rhs) == "1.6234567890123456789012345678901234"
    assert len(str(exact.numerator)) <= MAX_EXACT_DIGITS


def test_a_saturated_output_does_not_write_log_0():
    d = example("saturated")
    tex = render(d, "latex")
    assert r"\log(0)" not in tex and r"\log 0" not in tex
    assert float(sp.Rational(sp.sstr(d.section("example_cost").steps[-1].rhs))) == pytest.approx(800, rel=1e-6)


def test_a_network_at_its_minimum_is_told_so(tmp_path, monkeypatch, capsys):
    spec = {"layers": [1, 1], "output": "linear", "loss": "squared_error"}
    d = worked_example(derive.Network.from_dict(spec), problem([[[0.5, 1]]], [[0.25]], [[0.75]]))
    last = d.section("example_update").steps[-1]
    assert last.note == "cost_unchanged" and latex(last.rhs) == "0"
    assert "smaller learning rate" not in render(d, "latex")


@pytest.mark.pdflatex
@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_configuration_compiles_and_its_mathml_is_well_formed(name, tmp_path):
    d = example(name)
    compile_tex(render(d, "latex"), engine(d.network.language), tmp_path)
    html = render(d, "html")
    maths = re.findall(r"<math\b.*?</math>", html, flags=re.S)
    assert maths
    for m in maths:
        root = ET.fromstring(m)
        assert not any("\\" in (e.text or "") for e in root.iter()), m[:200]
        assert not root.findall(".//{http://www.w3.org/1998/Math/MathML}merror")


def test_an_irrational_value_is_rounded_from_the_exact_inputs_not_from_a_cancelled_double():
    """z = 0.5 + 1e-300 − 0.5 is 1e-300 exactly (the double gives 0); tanh of it is about 1e-300, not 0."""
    d = example("tanh at tiny z")
    shown = {s.id: s for s in d.steps}
    assert latex(shown["example.forward2_2.z2"].rhs) == r"1 \times 10^{-300}"
    a = shown["example.forward2_2.a2"]
    assert latex(a.rhs) == r"1 \times 10^{-300}" and a.note == "rounded_value"
    assert mpmath.tanh(mpmath.mpf("1e-300")) == pytest.approx(1e-300, rel=1e-12)


def test_nothing_close_to_a_rational_is_called_exact():
    d = example("tanh at tiny z")
    for s in d.steps:
        if s.note == "exact_value":
            assert not isinstance(s.rhs, Num) or s.rhs.digits == 0
    a = next(s for s in d.steps if s.id == "example.forward2_1.a2")
    assert a.note == "rounded_value"  # tanh(1e-300) is not the rational 1e-300 (nor 0)
