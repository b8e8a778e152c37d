"""derive sheet (SPEC §10): variants from a seed, every number against an independent reference, the quiz
file read by the real GIFT parser (gift-pegjs under Node), the sheets and keys compiled by the real TeX engines,
byte-identical for one seed, and bad input refused with nothing written."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from derive.cli import main
from derive.document.lecture_set import MANIFEST
from derive.model.network import Network
from derive.sheet import files as sheet_files_module
from derive.sheet.gift import escape, quiz_gift
from derive.sheet.model import Numerical, Sheet, Variant
from derive.sheet.variants import MAX_VARIANTS, Engine, make_sheet

from . import oracle
from .conftest import REQUIRE_TOOLS, need
from .test_documents import compile_tex

NODE = Path(__file__).parent / "node"
SLIDES = {"layers": [3, 5, 5, 4], "activation": "sigmoid", "output": "sigmoid", "loss": "cross_entropy"}
NETWORKS = {
    "slides": SLIDES,
    "softmax": {"layers": [2, 3, 3], "activation": "tanh", "output": "softmax", "lambda": 0.5},
    "squared": {"layers": [2, 2, 2], "loss": "squared_error", "reduction": "sum"},
    "tanh-out": {"layers": [2, 3, 1], "activation": "relu", "output": "tanh", "loss": "squared_error"},
    "linear": {"layers": [3, 2, 1], "output": "linear", "loss": "squared_error", "notation": "nielsen"},
}


def toml(spec: dict) -> str:
    return "".join(f"{k} = {json.dumps(v)}\n" for k, v in spec.items())


def call(argv: list[str]) -> int:
    """The command line's exit code (argparse's refusals exit through SystemExit)."""
    try:
        return main(argv)
    except SystemExit as e:
        return int(e.code or 0)


def run_sheet(tmp: Path, spec: dict, *args: str, out: str = "out") -> tuple[int, Path]:
    net = tmp / "net.toml"
    net.write_text(toml(spec), encoding="utf-8")
    return call(["sheet", str(net), *args, "--out", str(tmp / out)]), tmp / out


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A sheet folder per network (2 variants each; the slides' network 3)."""
    folders = {}
    for name, spec in NETWORKS.items():
        tmp = tmp_path_factory.mktemp(name)
        code, out = run_sheet(tmp, spec, "--variants", "3" if name == "slides" else "2", "--seed", "11")
        assert code == 0
        folders[name] = out
    return folders


NUMBER = re.compile(r"-?\d+\.\d+")
"""a numerical question's value in answers.csv; any other value is a formula question's expected formula"""


def rows(folder: Path) -> list[tuple[int, str, str]]:
    table = list(csv.reader(io.StringIO((folder / "answers.csv").read_text(encoding="utf-8"))))
    assert table[0] == ["variant", "question", "value"]
    return [(int(v), q, value) for v, q, value in table[1:]]


def answers(folder: Path) -> dict[tuple[int, str], str]:
    """The numerical rows of answers.csv: (variant, claim name) → the value as the key states it."""
    return {(k, q): value for k, q, value in rows(folder) if NUMBER.fullmatch(value)}


def formula_rows(folder: Path) -> list[tuple[int, str, str]]:
    """The formula rows of answers.csv: variant, §8 target, the expected formula in the §8 answer language."""
    return [(k, q, value) for k, q, value in rows(folder) if not NUMBER.fullmatch(value)]


def test_the_folder_holds_every_file_of_section_10(made):
    out = made["slides"]
    names = {p.name for p in out.iterdir()}
    for k in (1, 2, 3):
        assert {f"sheet-{k}.tex", f"key-{k}.tex", f"variant-{k}.json"} <= names
    assert {"answers.csv", "quiz.gift", "quiz.xml", "quiz-canvas.zip", MANIFEST} <= names
    assert "sheet-4.tex" not in names


@pytest.mark.parametrize("name", list(NETWORKS))
def test_numbers_are_two_decimals_and_targets_fit_the_loss(made, name):
    spec = NETWORKS[name]
    for path in sorted(made[name].glob("variant-*.json")):
        data = json.loads(path.read_text())
        assert set(data) == {"Theta", "X", "Y"}
        numbers = [v for T in data["Theta"] for row in T for v in row] + data["X"][0] + data["Y"][0]
        assert all(Decimal(repr(v)).as_tuple().exponent >= -2 for v in numbers), numbers
        assert all(-1 <= v <= 1 for v in numbers)
        y = np.array(data["Y"][0])
        if spec.get("output") == "softmax":
            assert sorted(y) == [0.0] * (len(y) - 1) + [1.0]
        elif spec.get("loss", "cross_entropy") == "cross_entropy":
            assert set(y) <= {0.0, 1.0}
        elif spec.get("output") == "tanh":
            assert np.all(np.abs(y) < 1)
        shapes = [np.array(T).shape for T in data["Theta"]]
        L = spec["layers"]
        assert shapes == [(L[n + 1], L[n] + 1) for n in range(len(L) - 1)]


def _reference(spec: dict, data: dict) -> dict[str, float]:
    """Every quantity a question may name, from the independent numpy forward pass and finite differences."""
    L = spec["layers"]
    X, Y = np.array(data["X"], float), np.array(data["Y"], float)
    values: dict[str, float] = {"J": oracle.cost(spec, data["Theta"], X, Y)}
    A = X
    hidden = spec.get("activation", "sigmoid")
    for n, T in enumerate(data["Theta"]):
        g = spec.get("output", "sigmoid") if n == len(L) - 2 else hidden
        A = oracle.ACT[g](np.hstack([np.ones((1, 1)), A]) @ np.array(T).T)
        for i, a in enumerate(A[0], start=1):
            values[f"a[{n + 2}][{i}]"] = float(a)
    for layer, G in enumerate(oracle.numgrad(spec, data["Theta"], X, Y), start=1):
        for (i, j), v in np.ndenumerate(G):
            values[f"D[{layer}][{i + 1}][{j}]"] = float(v)
    # δ^(l)_i = ∂J/∂z^(l)_i (one example, mean or sum alike): the bias column of the gradient, less no penalty
    for layer in range(2, len(L) + 1):
        for i in range(1, L[layer - 1] + 1):
            values[f"delta[{layer}][{i}]"] = values[f"D[{layer - 1}][{i}][0]"]
    return values


NIELSEN = {"C": "J"}


def _canonical(name: str) -> str:
    """A nielsen claim name as the quantity's ng name (C → J, dw[l][j][k] → D[l-1][j][k])."""
    if name in NIELSEN:
        return NIELSEN[name]
    if name.startswith("dw["):
        layer, rest = name[3:].split("]", 1)
        return f"D[{int(layer) - 1}]{rest}"
    return name


def _names(spec: dict, data: dict) -> dict[str, float]:
    """Every name of the §8 answer language, valued for the variant by the independent numpy pass (m = 1): a, z, x,
    y, the parameters (Theta, or nielsen's w and b), delta and Delta (one example's gradient without the penalty)
    from finite differences, lambda and m."""
    L = spec["layers"]
    nielsen = spec.get("notation") == "nielsen"
    values = {k: v for k, v in _reference(spec, data).items() if k.startswith("delta[")}
    x = data["X"][0]
    values.update({f"x[{j}]": v for j, v in enumerate(x, start=1)})
    values.update({f"a[1][{j}]": v for j, v in enumerate(x, start=1)})
    values.update({f"y[{k}]": v for k, v in enumerate(data["Y"][0], start=1)})
    A = np.array([x], float)
    hidden = spec.get("activation", "sigmoid")
    for n, T in enumerate(data["Theta"]):
        Z = np.hstack([np.ones((1, 1)), A]) @ np.array(T).T
        A = oracle.ACT[spec.get("output", "sigmoid") if n == len(L) - 2 else hidden](Z)
        for i, (z, a) in enumerate(zip(Z[0], A[0], strict=True), start=1):
            values[f"z[{n + 2}][{i}]"], values[f"a[{n + 2}][{i}]"] = float(z), float(a)
        for (i, j), v in np.ndenumerate(np.array(T)):
            if nielsen:
                values[f"w[{n + 2}][{i + 1}][{j}]" if j else f"b[{n + 2}][{i + 1}]"] = v
            else:
                values[f"Theta[{n + 1}][{i + 1}][{j}]"] = v
    unpenalized = oracle.numgrad({**spec, "lambda": 0.0}, data["Theta"], np.array(data["X"], float),
                                 np.array(data["Y"], float))
    for layer, G in enumerate(unpenalized, start=1):
        for (i, j), v in np.ndenumerate(G):
            values[f"Delta[{layer}][{i + 1}][{j}]"] = values[f"dTheta[{layer}][{i + 1}][{j}]"] = float(v)
    values.update({"lambda": float(spec.get("lambda", 0.0)), "m": 1.0})
    return values


_WORD = re.compile(r"[A-Za-z]+(?:\[\d+\])*(?!\w*\()")
"""a name of the answer language (a function is a word before its parenthesis)"""
FUNCTIONS = {"exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "tanh": sp.tanh,
             "sigmoid": sp.Lambda(sp.Symbol("t"), 1 / (1 + sp.exp(-sp.Symbol("t"))))}


def value_of(formula: str, names: dict[str, float]) -> float:
    """The formula's value with each name replaced by its number (a name the table lacks fails the test)."""
    table: dict[str, float] = {}

    def placeholder(match: re.Match) -> str:
        table[f"v{len(table)}"] = names[match.group()]
        return f"v{len(table) - 1}"

    expr = sp.parse_expr(_WORD.sub(placeholder, formula), local_dict={**FUNCTIONS, **{k: sp.Symbol(k) for k in table}})
    return float(expr.subs({sp.Symbol(k): sp.Float(v, 30) for k, v in table.items()}))


def _target(question: str) -> str:
    """A nielsen §8 target as its ng name (dw[l][j][k] → dTheta[l-1][j][k])."""
    if question.startswith("dw["):
        layer, rest = question[3:].split("]", 1)
        return f"dTheta[{int(layer) - 1}]{rest}"
    return question


@pytest.mark.parametrize("name", list(NETWORKS))
def test_every_answer_agrees_with_an_independent_forward_and_backward_pass(made, name):
    spec = NETWORKS[name]
    table = answers(made[name])
    assert table
    for (k, question), value in table.items():
        data = json.loads((made[name] / f"variant-{k}.json").read_text())
        reference = _reference(spec, data)[_canonical(question)]
        places = -Decimal(value).as_tuple().exponent
        assert places == 4, value
        assert abs(float(value) - reference) <= 0.5 * 10.0 ** -places + 1e-7, (k, question, value, reference)
    # the formula questions: the same targets in every variant, each expected formula worth, at the variant's
    # numbers, what the independent pass gives its target
    formulas = formula_rows(made[name])
    variants = sorted({k for k, _ in table})
    asked = [(q, f) for k, q, f in formulas if k == variants[0]]
    assert asked and [q for q, _ in asked][0] == f"delta[{len(spec['layers'])}][1]"
    assert formulas == [(k, q, f) for k in variants for q, f in asked]
    for k in variants:
        data = json.loads((made[name] / f"variant-{k}.json").read_text())
        reference, names = _reference(spec, data), _names(spec, data)
        for question, formula in asked:
            target = _target(question)
            expected = names[target] if target.startswith("dTheta[") else reference[target]
            assert value_of(formula, names) == pytest.approx(expected, abs=1e-6), (k, question, formula)


def test_the_answers_hold_as_claims_of_derive_check(made, tmp_path, capsys):
    out = made["slides"]
    table = answers(out)
    net = tmp_path / "net.toml"
    net.write_text(toml(SLIDES))
    for k in (1, 2, 3):
        variant = str(out / f"variant-{k}.json")  # parameters and data in one file, read as both
        claims = tmp_path / "c.json"
        claims.write_text(json.dumps({"claims": {q: v for (v_k, q), v in table.items() if v_k == k}}))
        assert main(["check", str(net), "--params", variant, "--data", variant, "--claims", str(claims)]) == 0
    capsys.readouterr()
    # the formula rows are answers the §8 grader itself calls correct for their targets
    formulas = formula_rows(out)
    assert {k for k, _, _ in formulas} == {1, 2, 3}
    graded = tmp_path / "formulas.csv"
    with graded.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("id", "target", "answer"),
                                 *((f"{k}-{n}", q, v) for n, (k, q, v) in enumerate(formulas))])
    assert main(["grade", str(net), "--answers", str(graded), "--format", "json"]) == 0
    verdicts = json.loads(capsys.readouterr().out)
    assert [(v["target"], v["verdict"]) for v in verdicts] == [(q, "correct") for _, q, _ in formulas]
    variant = str(out / "variant-1.json")
    assert main(["numeric", str(net), "--params", variant, "--data", variant]) == 0
    data = json.loads((out / "variant-1.json").read_text())
    computed = json.loads(capsys.readouterr().out)
    assert computed["cost"] == pytest.approx(oracle.cost(SLIDES, data["Theta"], np.array(data["X"]),
                                                         np.array(data["Y"])), rel=1e-12)


def parse_gift(path: Path) -> list[dict]:
    """quiz.gift as gift-pegjs reads it (Node and the package from tests/node; skipped without them unless
    DERIVE_REQUIRE_TOOLS=1)."""
    node = need("node")
    if not (NODE / "node_modules" / "gift-pegjs").is_dir():
        message = "gift-pegjs is not installed (npm ci --prefix tests/node)"
        if REQUIRE_TOOLS:
            pytest.fail(message + ", and DERIVE_REQUIRE_TOOLS=1 requires it")
        pytest.skip(message)
    run = subprocess.run([node, str(NODE / "gift.js"), str(path)], capture_output=True, text=True, timeout=120,
                         cwd=NODE)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout)


@pytest.mark.parametrize("name", ["slides", "linear"])
def test_the_gift_parser_reads_every_answer_and_tolerance_of_the_key(made, name):
    out = made[name]
    parsed = parse_gift(out / "quiz.gift")
    questions = [q for q in parsed if q["type"] == "Numerical"]
    categories = [q["title"] for q in parsed if q["type"] == "Category"]
    table = answers(out)  # the numerical rows: a formula question has no place in GIFT's numerical questions
    assert len(questions) == len(table) and formula_rows(out)
    assert len(categories) == len({k for k, _ in table})
    for q in questions:
        variant, _, question = q["title"].partition(": ")
        k = int(variant.split()[-1])
        assert q["choices"]["type"] == "range"
        assert q["choices"]["number"] == float(table[k, question])
        assert q["choices"]["range"] == pytest.approx(0.5e-4, rel=1e-12)
        assert question in q["stem"]["text"]
        # every number that rounds to the key's digits is accepted, its neighbours are not
        value = Decimal(table[k, question])
        low, high = q["choices"]["number"] - q["choices"]["range"], q["choices"]["number"] + q["choices"]["range"]
        assert low <= float(value - Decimal("0.00004")) and float(value + Decimal("0.00004")) <= high
        assert not low <= float(value + Decimal("0.0001")) <= high


def test_gift_special_characters_survive_the_parser(tmp_path):
    hostile = "a ~ b = c # d { e } f : g \\ h — δ"
    net = Network.from_dict({"layers": [1, 1]})
    question = Numerical("a[2][1]", hostile, -0.123456, 3)
    sheet = Sheet(net, "en", 1, (Variant(1, {"Theta": [[[0.1, 0.2]]]}, [[0.5]], [[1.0]], (question,)),), ())
    path = tmp_path / "q.gift"
    path.write_text(quiz_gift(sheet), encoding="utf-8")
    (parsed,) = [q for q in parse_gift(path) if q["type"] == "Numerical"]
    assert parsed["stem"]["text"] == hostile
    assert parsed["choices"] == {"type": "range", "number": -0.123, "range": pytest.approx(0.0005)}
    assert escape("x:{#1}") == "x\\:\\{\\#1\\}"


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_numbers(tmp_path):
    spec = NETWORKS["squared"]
    _, first = run_sheet(tmp_path, spec, "--variants", "2", "--seed", "5", out="a")
    _, again = run_sheet(tmp_path, spec, "--variants", "2", "--seed", "5", out="b")
    _, other = run_sheet(tmp_path, spec, "--variants", "2", "--seed", "6", out="c")
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    for n in names:
        assert (first / n).read_bytes() == (again / n).read_bytes(), n
    for k in (1, 2):
        assert (first / f"variant-{k}.json").read_bytes() != (other / f"variant-{k}.json").read_bytes()
    assert (first / "answers.csv").read_bytes() != (other / "answers.csv").read_bytes()


def test_parallel_and_serial_variants_are_the_same_bytes(monkeypatch):
    net = Network.from_dict(NETWORKS["squared"])
    engine = Engine(net)
    sheet = make_sheet(net, count=18, seed=2, engine=engine)
    monkeypatch.setattr(sheet_files_module, "usable_cores", lambda: 2)  # two workers, on any machine
    parallel = sheet_files_module.sheet_files(sheet, engine=engine)
    monkeypatch.setattr(sheet_files_module, "PARALLEL_FROM", 10_000)
    assert sheet_files_module.sheet_files(sheet, engine=engine) == parallel


def test_a_sheet_folder_is_replaced_by_derive_sheet_only(tmp_path, capsys):
    code, out = run_sheet(tmp_path, NETWORKS["squared"], "--variants", "1", "--seed", "1")
    assert code == 0
    code, out = run_sheet(tmp_path, NETWORKS["squared"], "--variants", "2", "--seed", "2")
    assert code == 0 and (out / "sheet-2.tex").exists()
    assert main(["lecture", "--out", str(out)]) == 2  # a sheet folder is not a lecture set
    assert "derive lecture replaces only" in capsys.readouterr().err
    assert (out / "sheet-2.tex").exists()


BAD = [
    (["--variants", "0", "--seed", "1"], "--variants 0"),
    (["--variants", str(MAX_VARIANTS + 1), "--seed", "1"], f"choose from 1 to {MAX_VARIANTS}"),
    (["--variants", "two", "--seed", "1"], "expected a whole number"),
    (["--variants", "2", "--seed", "1.5"], "expected a whole number"),
    (["--variants", "2", "--seed", "x"], "expected a whole number"),
    (["--variants", "2", "--seed", "-1"], "--seed -1"),
    (["--variants", "2", "--seed", str(2**64)], "--seed"),
]


@pytest.mark.parametrize(("args", "says"), BAD)
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, args, says):
    code, out = run_sheet(tmp_path, NETWORKS["squared"], *args)
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and says in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.toml"]


def test_a_folder_derive_sheet_did_not_write_is_refused_untouched(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, _ = run_sheet(tmp_path, NETWORKS["squared"], "--variants", "2", "--seed", "1")
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "notes.txt" in err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.toml", "out"]


def test_too_many_numbers_are_refused_before_any_work(tmp_path, capsys):
    code, _ = run_sheet(tmp_path, {"layers": [20, 20, 20]}, "--variants", str(MAX_VARIANTS), "--seed", "1")
    assert code == 2 and "numbers to work out" in capsys.readouterr().err


def test_a_layered_network_is_refused(tmp_path, capsys):
    net = tmp_path / "net.toml"
    net.write_text('input = [3]\n[[layer]]\nkind = "dense"\nunits = 2\n')
    assert main(["sheet", str(net), "--variants", "1", "--seed", "1", "--out", str(tmp_path / "o")]) == 2
    assert "layered" in capsys.readouterr().err


def _overfull(log: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith("Overfull")]


@pytest.mark.pdflatex
@pytest.mark.parametrize(("spec", "program"), [(SLIDES, "pdflatex"),
                                               ({**NETWORKS["softmax"], "language": "zh", "notation": "nielsen"},
                                                "xelatex")])
def test_sheets_and_keys_compile_without_overfull_boxes(tmp_path, spec, program, artifacts):
    need(program)
    code, out = run_sheet(tmp_path, spec, "--variants", "1", "--seed", "4")
    assert code == 0
    for name in ("sheet-1", "key-1"):
        pdf, log = compile_tex((out / f"{name}.tex").read_text(encoding="utf-8"), program, tmp_path, name)
        assert not _overfull(log), _overfull(log)
        shutil.copy(pdf, os.path.join(artifacts, f"sheet-{program}-{name}.pdf"))


@pytest.mark.pdflatex
def test_formula_questions_reach_the_sheet_the_key_and_the_answers(tmp_path):
    """Formula questions (derive.sheet.formulas) are printed on the sheet with their target, on the key with the
    expected formula (a long one wraps), and in answers.csv once per variant."""
    from derive.sheet.model import Formula, Mistake

    net = Network.from_dict(SLIDES)
    long = " + ".join(f"Theta[3][{k}][1]*delta[4][{k}]" for k in range(1, 5))
    formulas = (Formula("delta[4][1]", "Derive δ^(4)_1 for one example.", "a[4][1] - y[1]",
                        (Mistake("sign_flipped", "y[1] - a[4][1]", "the sign is flipped"),)),
                Formula("delta[3][1]", "Derive δ^(3)_1 for one example.", f"({long})*a[3][1]*(1 - a[3][1])", ()))
    sheet = make_sheet(net, count=2, seed=3, formulas=formulas)
    made = sheet_files_module.sheet_files(sheet)
    rows = list(csv.reader(io.StringIO(made["answers.csv"].decode())))
    assert [r for r in rows if r[1] == "delta[3][1]" and r[2].startswith("(")] == \
        [["1", "delta[3][1]", formulas[1].expected], ["2", "delta[3][1]", formulas[1].expected]]
    for name in ("sheet-1", "key-1"):
        source = made[f"{name}.tex"].decode()
        _, log = compile_tex(source, "pdflatex", tmp_path, name)
        assert not _overfull(log), _overfull(log)
    # the sheet asks in mathematics, names the target an answer is typed as, and lists the allowed names once
    student = made["sheet-1.tex"].decode().replace("\\allowbreak{}", "")
    derive_part = student[student.index("Derive"):]
    assert "${\\delta^{(4)}_{1}}$" in derive_part and "answer as \\texttt{delta[4][1]}" in derive_part
    assert student.count("\\texttt{Theta[l][i][j]}") == 1 and "sigmoid" in derive_part
    # the key prints the expected formulas as mathematics, the long one broken inside its sum
    key = made["key-1.tex"].decode()
    formulas_tex = key[key.index("\\section*{Derive}"):]
    assert "Theta[" not in formulas_tex and "\\texttt" not in formulas_tex
    assert "\\delta^{(4)}_{1} &= a^{(4)}_{1} - y_{1}" in formulas_tex
    assert "\\delta^{(3)}_{1} &= (\\Theta^{(3)}_{11} \\delta^{(4)}_{1}" in formulas_tex
    assert "+ \\Theta^{(3)}_{41} \\delta^{(4)}_{4}) a^{(3)}_{1} (1 - a^{(3)}_{1}) \\notag" in formulas_tex
    # what the key takes as given (the learning rate too), the sheet gives
    rate = re.search(r"\\alpha &= ([0-9.]+)", key)
    assert rate and f"\\alpha &= {rate.group(1)}" in student


def test_title_author_and_date_reach_every_sheet_and_key(tmp_path):
    code, out = run_sheet(tmp_path, NETWORKS["squared"], "--variants", "2", "--seed", "1", "--title", "Quiz 3 & more",
                          "--author", "Dr. Ng", "--date", "2026-12-02")
    assert code == 0
    for k in (1, 2):
        for kind in ("sheet", "key"):
            tex = (out / f"{kind}-{k}.tex").read_text(encoding="utf-8")
            assert f"Quiz 3 \\& more — {k}" in tex and "Dr. Ng" in tex and "2026-12-02" in tex
