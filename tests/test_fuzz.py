"""A fuzz run of every reader, for a fixed budget: derandomized hypothesis, about 300 inputs per reader.

The invariant is the command line's contract: exit 0 or 2 — never 3 (an internal error), never a
traceback, one line on stderr when refused, nothing on stdout then. Inputs are built from fragments of
the formats (TOML keys and values, JSON numbers and NaN/Infinity, graph grammar and Python that is not
in it, CSV quoting) mixed with arbitrary text, so that most of them are nearly valid. The number of
inputs tried is written to the artifacts folder (fuzz-counts.json) and printed at the end of the module.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import derive.engine.numeric
from derive import cli
from derive.errors import InputError
from derive.model.network import Network, read_json, read_toml

BUDGET = int(os.environ.get("DERIVE_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=BUDGET, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large, HealthCheck.filter_too_much])
TRIED: Counter[str] = Counter()
OUTCOMES: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def report_counts(request: pytest.FixtureRequest):
    yield
    folder = Path(os.environ.get("DERIVE_ARTIFACTS", Path(__file__).parent.parent / "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"inputs_tried": dict(TRIED), "total": sum(TRIED.values()), "outcomes": dict(OUTCOMES),
           "tracebacks": OUTCOMES["traceback"], "internal_errors": sum(v for k, v in OUTCOMES.items() if "exit 3" in k)}
    (folder / "fuzz-counts.json").write_text(json.dumps(doc, indent=2) + "\n")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    line = (f"fuzz: {doc['total']} inputs tried ({', '.join(f'{k} {v}' for k, v in TRIED.items())}); "
            f"{doc['tracebacks']} tracebacks, {doc['internal_errors']} internal errors")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None:
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            reporter.ensure_newline()
            reporter.write_line(line)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module", autouse=True)
def cached_lambdify():
    """lambdify once per network, so that the budget goes to the readers rather than to SymPy."""
    real = derive.engine.numeric.lambdify
    cached = lru_cache(maxsize=64)(lambda net, max_units=None: real(net, max_units=max_units))
    derive.engine.numeric.lambdify = lambda net, *, max_units=None: cached(net, max_units)
    yield
    derive.engine.numeric.lambdify = real


def run(argv: list[str], reader: str) -> tuple[int, str, str]:
    """derive.cli.main with captured streams, checked against the contract."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as e:  # argparse
            code = int(e.code or 0)
    TRIED[reader] += 1
    OUTCOMES[f"{reader} exit {code}"] += 1
    o, e = out.getvalue(), err.getvalue()
    if "Traceback" in e:
        OUTCOMES["traceback"] += 1
    assert "Traceback" not in e
    assert code in (0, 1, 2), f"exit {code}: {e}"
    if code == 2:
        assert o == "" and e.count("\n") == 1 and e.startswith("derive: error:"), (o, e)
    return code, o, e


# --- text strategies built from fragments of each format

def mixed(fragments: list[str], *, joiner: str = "\n") -> st.SearchStrategy[str]:
    """Lines that are mostly fragments of the format, some arbitrary text, in any order."""
    piece = st.one_of(st.sampled_from(fragments), st.sampled_from(fragments), st.text(max_size=30))
    return st.lists(piece, max_size=8).map(joiner.join)


TOML_FRAGMENTS = [
    "layers = [2, 3, 1]", "layers = [2, 1]", "layers = [3]", "layers = []", "layers = [0, 1]", "layers = [2, -1]",
    "layers = [2.5, 1]", "layers = ['2', 1]", "layers = [true, 1]", "layers = [2, 100001]", "layers = 3",
    "layers = [2, [3], 1]", "layers = [1e3, 1]", "layers = [" + "1, " * 40 + "1]", "layers = [2, 99999999999999999999]",
    "activation = 'tanh'", "activation = 'relu'", "activation = 'softmax'", "activation = ['tanh']",
    "activation = ['linear', 'relu', 'tanh']", "activation = 3", "activation = ''", "output = 'softmax'",
    "output = 'linear'", "output = 'tanh'", "output = 'relu'", "output = 'nope'", "loss = 'squared_error'",
    "loss = 'cross_entropy'", "loss = 'hinge'", "reduction = 'sum'", "reduction = 'max'", "lambda = 0.5",
    "lambda = -1", "lambda = nan", "lambda = inf", "lambda = -inf", "lambda = 1e308", "lambda = true",
    "lambda = 99999999999999999999999", "notation = 'nielsen'", "notation = 'x'", "language = 'zh'",
    "language = 'fr'", "[layers]", "[[layers]]", "x = 1", "'layers' = [2, 1]", "layers.a = 1", "= 1", "layers = [",
    "lambda = 0x10", "lambda = 1_000", "lambda = 2024-01-01", "layers = [2, 1] # comment", "\ufeff", "\x00", "\\",
    "\"\"\"", "layers = [2, 1]\nlayers = [2, 1]",
]

def toml_value(v: object) -> str:
    return json.dumps(v) if not isinstance(v, float) or v == v and abs(v) != float("inf") else str(v).lower()


SPEC_VALUES = {
    "activation": st.sampled_from(["sigmoid", "tanh", "relu", "linear", "softmax", "swish", ["tanh"], ["relu", "tanh"],
                                   3]),
    "output": st.sampled_from(["sigmoid", "softmax", "linear", "tanh", "relu", "x"]),
    "loss": st.sampled_from(["cross_entropy", "squared_error", "hinge"]),
    "reduction": st.sampled_from(["mean", "sum", "median"]),
    "lambda": st.one_of(st.floats(0, 10), st.sampled_from([-1.0, float("nan"), float("inf"), 1e308, 0]), st.booleans()),
    "notation": st.sampled_from(["ng", "nielsen", "bishop"]),
    "language": st.sampled_from(["en", "zh", "de"]),
    "extra": st.integers(),
}
TOML_SPECS = st.builds(
    lambda layers, rest: "\n".join([f"layers = {toml_value(layers)}"] + [f"{k} = {toml_value(v)}" for k, v in rest]),
    st.lists(st.integers(-1, 6), min_size=0, max_size=5),
    st.lists(st.sampled_from(sorted(SPEC_VALUES)).flatmap(lambda k: st.tuples(st.just(k), SPEC_VALUES[k])),
             max_size=4, unique_by=lambda kv: kv[0]))

NUMBERS = st.one_of(st.integers(-10**30, 10**30), st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from([0, 1, -1, 0.5, 1e308, -1e308, 5e-324]))
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=5)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["Theta", "X", "Y", "claims",
                                                                                          "J", "a[2][1]", "x"]),
                                                                         inner, max_size=3)),
    max_leaves=20)


def matrix(rows: int, cols: int, numbers: st.SearchStrategy = NUMBERS) -> st.SearchStrategy[list]:
    return st.lists(st.lists(numbers, min_size=cols, max_size=cols), min_size=rows, max_size=rows)


def mutate(text: str, cut: int, insert: str) -> str:
    """A JSON text with some characters replaced: near-valid input."""
    at = cut % (len(text) + 1)
    return text[:at] + insert + text[at + len(insert):]


JSON_BITS = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "9" * 400, "null", "true", "[", "]", "{", "}",
                             ",", "\"", "\\u0000", "", "[[[[[[[[", "1e-400", "-0", "0x10", "\x00", "\ud800"])


@st.composite
def numeric_files(draw: st.DrawFn) -> tuple[str, str]:
    """(params, data) texts for layers [2, 3, 1]: well-shaped, wrongly shaped, mutated or arbitrary JSON."""
    kind = draw(st.sampled_from(["valid", "valid", "extreme", "mutated", "arbitrary"]))
    numbers = NUMBERS if kind == "extreme" else st.floats(-5, 5)
    params = {"Theta": [draw(matrix(3, 3, numbers)), draw(matrix(1, 4, numbers))]}
    m = draw(st.integers(1 if kind == "valid" else 0, 3))
    targets = st.sampled_from([0, 1, 0.5, 2, -1]) if kind == "extreme" else st.floats(0, 1)
    data = {"X": draw(matrix(m, 2, numbers)), "Y": draw(matrix(m, 1, targets))}
    texts = [json.dumps(params), json.dumps(data)]
    if kind == "mutated":
        which = draw(st.integers(0, 1))
        texts[which] = mutate(texts[which], draw(st.integers(0, 500)), draw(JSON_BITS))
    elif kind == "arbitrary":
        which = draw(st.integers(0, 1))
        texts[which] = draw(st.one_of(JSON_VALUES.map(json.dumps), st.text(max_size=40)))
    return texts[0], texts[1]


PROGRAM_FRAGMENTS = [
    "c = w * x", "a = c + b", "d = a - y", "J = d**2 / 2", "J = sigmoid(w * x + b)", "J = exp(w)", "J = log(w)",
    "J = tanh(w) * relu(x)", "J = -w", "J = w / 0", "J = w ** 2 ** 3", "J = (w + x) * (w - x)", "J = 2.5e3 * w",
    "J = w ** -1", "J = log(0 * w)", "J = exp(1000 * w)", "J = w.real", "J = __import__('os')", "import os",
    "J = (lambda: w)()", "J = [w for w in x]", "J = w if x else b", "J = max(w, x)", "J = w; x = 1", "w = w + 1",
    "J = w @ x", "J = w // x", "J = w % x", "J = 'w'", "J = w[0]", "J = sigmoid(w, x)", "J = sigmoid()",
    "1 = w", "J == w", "J = ", "= w", "J = (((((w)))))", "J = " + "w ** " * 120 + "w", "J = w\\", "\tJ = w",
    "J = \u03bb",
    "J = w  # comment", "J = 1e999 * w", "J = nan * w",
]


PROGRAMS = [
    ("c = w * x\na = c + b\nd = a - y\nJ = d**2 / 2\n", ["w=2", "b=8", "x=-2", "y=2"]),
    ("z = w * x + b\nJ = sigmoid(z)\n", ["w=0.5", "x=1", "b=-1"]),
    ("h = tanh(w * x)\nq = relu(h - b)\nJ = exp(-q) + log(1 + q)\n", ["w=1", "x=0.3", "b=0.1"]),
    ("u = w ** 3 / x\nJ = -u * u\n", ["w=1.5", "x=2"]),
]


@st.composite
def graph_inputs(draw: st.DrawFn) -> tuple[str, list[str]]:
    if draw(st.booleans()):
        program, at = draw(st.sampled_from(PROGRAMS))
        lines = program.splitlines()
        if draw(st.booleans()):
            lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(PROGRAM_FRAGMENTS)))
        if draw(st.booleans()):
            at = [a.split("=")[0] + "=" + draw(st.sampled_from(["-3", "0", "1e-300", "1e300", "0.001", "700"]))
                  for a in at]
        return "\n".join(lines) + "\n", at
    program = draw(mixed(PROGRAM_FRAGMENTS))
    names = draw(st.lists(st.sampled_from(["w", "x", "b", "y", "c", "J", "zz", "", "w=", "__class__"]), max_size=5))
    values = draw(st.lists(st.sampled_from(["2", "-0.5", "1e-3", "0", "nan", "inf", "1e999", "abc", "1/2", ""]),
                           min_size=len(names), max_size=len(names)))
    return program, [f"{n}={v}" for n, v in zip(names, values)]


ANSWER_FRAGMENTS = ["a[3][1]", "y[1]", "z[3][1]", "delta[3][1]", "Theta[2][1][1]", "Delta[1][1][0]", "lambda", "m",
                    "a", "y", "z", "x[1]", "(", ")", "+", "-", "*", "/", "^", "**", "sigmoid(", "exp(", "log(",
                    "sqrt(", "tanh(", "1", "0.5", "1e999", "2", "__import__", ".", "[", "]", "a[9][9]", "a[0][1]",
                    "lambda:", "for", "if", ",", "'", "=", "@", "open(", "a[3][1]**99", " "]


def fragments_joined(fragments: list[str]) -> st.SearchStrategy[str]:
    return st.lists(st.one_of(st.sampled_from(fragments), st.text(max_size=3)), max_size=14).map("".join)


# --- the readers


@FUZZ
@given(text=st.one_of(mixed(TOML_FRAGMENTS), TOML_SPECS, TOML_SPECS))
def test_network_reader(text: str, folder: Path) -> None:
    """Network.from_toml: a Network or one InputError line, for any text."""
    path = folder / "net.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    TRIED["network (TOML)"] += 1
    try:
        net = Network.from_toml(path)
    except InputError as e:
        assert "\n" not in str(e) and str(e).startswith(str(path))
        OUTCOMES["network refused"] += 1
        return
    OUTCOMES["network read"] += 1
    assert Network.from_dict(net.to_dict()) == net


@FUZZ
@given(data=st.binary(max_size=200))
def test_text_and_json_readers_on_bytes(data: bytes, folder: Path) -> None:
    """Arbitrary bytes (binary, broken UTF-8, NUL) into the TOML and JSON readers: a value or InputError."""
    path = folder / "blob"
    path.write_bytes(data)
    TRIED["bytes (TOML and JSON)"] += 1
    for reader in (read_toml, read_json):
        try:
            reader(path)
        except InputError as e:
            assert "\n" not in str(e)


@FUZZ
@given(files=numeric_files())
def test_numeric_command(files: tuple[str, str], folder: Path) -> None:
    """derive numeric with fuzzed parameter and data files: exit 0 with strict JSON, or exit 2."""
    (folder / "n.toml").write_text("layers = [2, 3, 1]\n")
    (folder / "p.json").write_text(files[0], encoding="utf-8", errors="surrogatepass")
    (folder / "d.json").write_text(files[1], encoding="utf-8", errors="surrogatepass")
    code, out, _ = run(["numeric", str(folder / "n.toml"), "--params", str(folder / "p.json"), "--data",
                        str(folder / "d.json")], "numeric (JSON)")
    if code == 0:
        json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} in the output"))


CLAIM_NAMES = ["J", "a[2][1]", "a[3][1]", "z[2][3]", "delta[3][1]", "D[1][2][0]", "D[2][1][3]", "a[9][1]", "a[2][0]",
               "D[1][9][9]", "x", "a[2]", "a[2][1][1]", "a [2][1]", "J ", "", "__class__", "a[-1][1]"]
CLAIM_VALUES = st.one_of(NUMBERS, st.none(), st.booleans(), st.sampled_from(["0.62", "0.6236336", "1e-3", "-0",
                                                                            "nan", "inf", "1e999", "abc", "", " 1",
                                                                            "0x1", "1_0", "٣"]),
                         st.lists(NUMBERS, max_size=2))


@FUZZ
@given(claims=st.one_of(st.dictionaries(st.sampled_from(CLAIM_NAMES), CLAIM_VALUES, max_size=4).map(
    lambda c: json.dumps({"claims": c})), JSON_VALUES.map(json.dumps), st.text(max_size=30)))
def test_check_command_claims(claims: str, folder: Path) -> None:
    """derive check with fuzzed claims: exit 0 (all hold), 1 (a wrong claim) or 2 — never 3."""
    (folder / "n.toml").write_text("layers = [2, 3, 1]\n")
    (folder / "p.json").write_text(json.dumps({"Theta": [[[0.1, 0.2, 0.3]] * 3, [[0.1, 0.2, 0.3, 0.4]]]}))
    (folder / "d.json").write_text(json.dumps({"X": [[1.0, 2.0]], "Y": [[1.0]]}))
    (folder / "c.json").write_text(claims, encoding="utf-8", errors="surrogatepass")
    run(["check", str(folder / "n.toml"), "--params", str(folder / "p.json"), "--data", str(folder / "d.json"),
         "--claims", str(folder / "c.json")], "claims (JSON)")


@FUZZ
@given(case=graph_inputs(), fmt=st.sampled_from(["json", "json", "latex", "html", "markdown", "mathml"]))
def test_graph_command(case: tuple[str, list[str]], fmt: str, folder: Path) -> None:
    """derive graph with fuzzed programs and --at values, in every format: exit 0 or 2, the program never run."""
    program, at = case
    (folder / "g.txt").write_text(program, encoding="utf-8", errors="surrogatepass")
    code, _, _ = run(["graph", str(folder / "g.txt"), "--format", fmt, "--at", *at], "graph program")
    assert code in (0, 2)


@FUZZ
@given(answer=fragments_joined(ANSWER_FRAGMENTS),
       target=st.sampled_from(["delta[3][1]", "delta[2][2]", "dTheta[2][1][2]", "D[1][2][1]", "output_delta",
                               "hidden_derivative", "delta[9][1]", "x", ""]))
def test_answer_reader(answer: str, target: str) -> None:
    """The grading language: any answer and target is read or refused as unreadable, never raises."""
    from derive.grading.grader import Verdict, read_answer

    TRIED["grade answer"] += 1
    read = read_answer(_grading_net(), target, answer)
    assert isinstance(read, Verdict | tuple)
    if isinstance(read, Verdict):
        assert read.verdict == "unreadable" and read.text and "\n" not in read.text


@lru_cache(maxsize=1)
def _grading_net() -> Network:
    return Network.from_dict({"layers": [2, 2, 1], "loss": "squared_error"})


@FUZZ
@given(text=mixed(["id,target,answer", "s1,delta[3][1],a[3][1] - y[1]", 's2,"delta[3][1]","a, b"', "s3,x", ",,,",
                   '"unterminated', "s4,delta[3][1],__import__('os')", "\ufeffid,target,answer", "id;target;answer",
                   '"a""b",delta[3][1],1', "\r\n", "s5,output_delta,a - y"]))
def test_class_file_reader(text: str) -> None:
    """A class CSV: rows (each unreadable one kept with its problem) or one InputError line."""
    from derive.grading.classfile import read_rows

    TRIED["class file (CSV)"] += 1
    try:
        rows = read_rows("class.csv", text)
    except InputError as e:
        assert "\n" not in str(e)
        return
    assert all(isinstance(r.id, str) for r in rows)
