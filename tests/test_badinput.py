"""The bad-input contract of every command: exit 2, one line on stderr naming the file and field, nothing on
stdout, no file written, no traceback; an unexpected failure is exit 3 with a hint to rerun with --debug.

Each case writes a set of good files, replaces some with bad ones, and runs the command in-process through
``derive.cli.main``; a sample also runs through the installed ``derive`` script to prove that no traceback
reaches the real stderr.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from derive import cli
from derive.errors import CheckError

NET = "layers = [2, 3, 1]\n"
THETA = [[[0.1, -0.2, 0.3]] * 3, [[0.2, 0.1, -0.1, 0.4]]]
GOOD: dict[str, str | bytes] = {
    "net.toml": NET,
    "p.json": json.dumps({"Theta": THETA}),
    "d.json": json.dumps({"X": [[0.5, -1.0], [1.0, 2.0]], "Y": [[1.0], [0.0]]}),
    "c.json": json.dumps({"claims": {"J": 0.5}}),
    "g.txt": "c = w * x\na = c + b\nd = a - y\nJ = d**2 / 2\n",
}
NUMERIC = ["numeric", "net.toml", "--params", "p.json", "--data", "d.json"]
CHECK = ["check", "net.toml", "--params", "p.json", "--data", "d.json", "--claims", "c.json"]
EXAMPLE = ["example", "net.toml", "--params", "p.json", "--data", "d.json"]
GRAPH = ["graph", "g.txt", "--at", "w=2", "b=8", "x=-2", "y=2"]
DERIVATION = ["derivation", "net.toml", "--format", "json"]
GRADE = ["grade", "net.toml", "--target", "delta[3][1]", "--answer", "a[3][1] - y[1]"]
CLASS = "id,target,answer\ns1,delta[3][1],a[3][1] - y[1]\n"


def theta(**where: object) -> str:
    """The good parameters with entries replaced: theta(**{"0,0,2": True}) sets Θ^(1)[0][2]."""
    T = json.loads(json.dumps(THETA))
    for key, value in where.items():
        n, r, c = map(int, key.split(","))
        T[n][r][c] = value
    return json.dumps({"Theta": T})


@dataclass(frozen=True)
class Case:
    id: str
    argv: list[str]
    fragment: str
    """a piece of the stderr line (case-sensitive)"""
    files: dict[str, str | bytes] = field(default_factory=dict)
    code: int = 2
    output: bool = True
    """append -o out.txt and check it is never written"""


def net(text: str) -> dict[str, str | bytes]:
    return {"net.toml": text}


CASES = [
    # --- the network description (every command that reads NET.toml goes through the same reader)
    Case("net missing", ["derivation", "nope.toml"], "nope.toml: no such file"),
    Case("net name with control characters", ["derivation", "a\x1b[31m\nb.toml"], "a\\x1b[31m b.toml: no such file"),
    Case("net is a directory", ["derivation", "folder"], "folder: is a directory", {"folder/x": ""}),
    Case("net binary", DERIVATION, "net.toml: binary file", net(b"layers = [2, 1]\0\1\2")),
    Case("net not utf-8", DERIVATION, "net.toml: not UTF-8", net(b"layers = [2, 1] # \xff\xfe")),
    Case("net invalid toml", DERIVATION, "net.toml: not valid TOML", net("layers = [2, 1\n")),
    Case("net nested too deeply", DERIVATION, "nested too deeply", net("layers = " + "[" * 50_000 + "]" * 50_000)),
    Case("net huge integer", DERIVATION, "net.toml: not valid TOML", net("layers = [2, " + "9" * 5000 + "]")),
    Case("net empty", DERIVATION, "'layers' is required", net("")),
    Case("one layer", DERIVATION, "at least two layers", net("layers = [3]\n")),
    Case("layers not a list", DERIVATION, "'layers' must be a list of whole numbers", net("layers = '3, 1'\n")),
    Case("layers of floats", DERIVATION, "'layers' must be a list of whole numbers", net("layers = [2.0, 1]\n")),
    Case("layers of booleans", DERIVATION, "'layers' must be a list of whole numbers", net("layers = [true, 1]\n")),
    Case("layers as tables", DERIVATION, "'layers' must be a list", net("[[layers]]\nn = 2\n")),
    Case("layer of size 0", DERIVATION, "'layers': every size must be from 1 to", net("layers = [2, 0]\n")),
    Case("layer too large", DERIVATION, "from 1 to 100000, got 1000000", net("layers = [2, 1000000]\n")),
    Case("layer 400 digits", DERIVATION, "'layers': every size must be from 1 to",
         net("layers = [2, " + "9" * 400 + "]\n")),
    Case("too many layers", DERIVATION, "at most 32", net(f"layers = {[1] * 33}\n")),
    Case("unknown key", DERIVATION, "unknown key 'hidden'; allowed keys: layers", net(NET + "hidden = 3\n")),
    Case("unknown activation", DERIVATION, "'activation' is 'swish2'; allowed: sigmoid",
         net(NET + "activation = 'swish2'\n")),
    Case("softmax hidden", DERIVATION, "'softmax' cannot be a hidden activation",
         net(NET + "activation = 'softmax'\n")),
    Case("activation list length", DERIVATION, "lists 2 names but the network has 1 hidden layers",
         net(NET + "activation = ['tanh', 'relu']\n")),
    Case("activation of wrong type", DERIVATION, "'activation' is 3", net(NET + "activation = 3\n")),
    Case("unknown output", DERIVATION, "'output' is 'sigmod'; allowed:", net(NET + "output = 'sigmod'\n")),
    Case("unknown loss", DERIVATION, "'loss' is 'hinge'; allowed: cross_entropy", net(NET + "loss = 'hinge'\n")),
    Case("cross-entropy on a linear output", DERIVATION, "needs outputs in (0, 1)", net(NET + "output = 'linear'\n")),
    Case("negative lambda", DERIVATION, "'lambda' must be a finite number >= 0, got -1", net(NET + "lambda = -1\n")),
    Case("lambda nan", DERIVATION, "'lambda' must be a finite number >= 0, got nan", net(NET + "lambda = nan\n")),
    Case("lambda inf", DERIVATION, "'lambda' must be a finite number >= 0, got inf", net(NET + "lambda = inf\n")),
    Case("lambda boolean", DERIVATION, "'lambda' must be a finite number", net(NET + "lambda = true\n")),
    Case("lambda text", DERIVATION, "'lambda' must be a finite number", net(NET + "lambda = '0.1'\n")),
    Case("lambda 400 digits", DERIVATION, "'lambda' must be a finite number", net(NET + "lambda = " + "9" * 400)),
    Case("unknown reduction", DERIVATION, "'reduction' is 'max'; allowed: mean | sum",
         net(NET + "reduction = 'max'\n")),
    Case("unknown notation", DERIVATION, "'notation' is 'bishop'", net(NET + "notation = 'bishop'\n")),
    Case("unknown language", DERIVATION, "'language' is 'fr'; allowed: en | zh", net(NET + "language = 'fr'\n")),
    Case("softmax too wide", DERIVATION, "--max-units", net("layers = [2, 500]\noutput = 'softmax'\n")),
    Case("unknown format", ["derivation", "net.toml", "--format", "pdf"], "invalid choice: 'pdf'"),
    Case("no command", [], "required: COMMAND", output=False),
    Case("unknown command", ["train"], "invalid choice: 'train'", output=False),
    # --- where the output goes
    Case("-o is the input", DERIVATION + ["-o", "net.toml"], "-o net.toml: is one of the input files", output=False),
    Case("-o into a missing folder", DERIVATION + ["-o", "nowhere/x.json"], "folder nowhere does not exist",
         output=False),
    Case("-o is a directory", DERIVATION + ["-o", "folder"], "-o folder: is a directory", {"folder/x": ""},
         output=False),
    Case("-o is the data file", NUMERIC + ["-o", "d.json"], "-o d.json: is one of the input files", output=False),
    # --- parameters and data (numeric; check and example read them through the same loader)
    Case("params missing", ["numeric", "net.toml", "--params", "nope.json", "--data", "d.json"],
         "nope.json: no such file"),
    Case("params flag missing", ["numeric", "net.toml", "--data", "d.json"], "--params"),
    Case("params invalid json", NUMERIC, "p.json: not valid JSON", {"p.json": '{"Theta": [1, 2'}),
    Case("params empty file", NUMERIC, "p.json: not valid JSON", {"p.json": ""}),
    Case("params NaN literal", NUMERIC, "p.json: NaN is not allowed", {"p.json": theta().replace("0.4", "NaN")}),
    Case("params Infinity literal", NUMERIC, "p.json: -Infinity is not allowed",
         {"p.json": theta().replace("0.4", "-Infinity")}),
    Case("params 1e999", NUMERIC, "p.json: Theta[2]: contains NaN or infinity",
         {"p.json": theta().replace("0.4", "1e999")}),
    Case("params 400-digit integer", NUMERIC, "p.json: Theta[2]: contains NaN or infinity",
         {"p.json": theta().replace("0.4", "9" * 400)}),
    Case("params deeply nested", NUMERIC, "p.json: not valid JSON (nested too deeply)",
         {"p.json": '{"Theta": ' + "[" * 100_000 + "]" * 100_000 + "}"}),
    Case("params not an object", NUMERIC, "p.json: expected an object with keys Theta", {"p.json": "[]"}),
    Case("params missing key", NUMERIC, "p.json: missing key 'Theta'", {"p.json": '{"theta": []}'}),
    Case("params unknown key", NUMERIC, "p.json: unknown key 'bias'", {"p.json": theta()[:-1] + ', "bias": 1}'}),
    Case("params too few matrices", NUMERIC, "p.json: Theta: expected a list of 2 matrices",
         {"p.json": json.dumps({"Theta": THETA[:1]})}),
    Case("params wrong shape", NUMERIC, "p.json: Theta[1]: shape 3x2 does not fit the network; expected 3 x 3",
         {"p.json": json.dumps({"Theta": [[[0.1, 0.2]] * 3, THETA[1]]})}),
    Case("params boolean entry", NUMERIC, "p.json: Theta[1]: row 1, column 3 is true; expected a number",
         {"p.json": theta(**{"0,0,2": True})}),
    Case("params null entry", NUMERIC, "p.json: Theta[1]: row 1, column 3 is null",
         {"p.json": theta(**{"0,0,2": None})}),
    Case("params text entry", NUMERIC, "p.json: Theta[2]: row 1, column 1 is '0.2'",
         {"p.json": theta(**{"1,0,0": "0.2"})}),
    Case("params matrix not a list", NUMERIC, "p.json: Theta[1]: expected a matrix",
         {"p.json": json.dumps({"Theta": [{"a": 1}, THETA[1]]})}),
    Case("params ragged rows", NUMERIC, "p.json: Theta[1]",
         {"p.json": json.dumps({"Theta": [[[0.1, 0.2, 0.3], [0.1], [0.1, 0.2, 0.3]], THETA[1]]})}),
    Case("data empty", NUMERIC, "d.json: X: shape 0 does not fit the network", {"d.json": '{"X": [], "Y": []}'}),
    Case("data X wrong width", NUMERIC, "d.json: X: shape 1x3 does not fit the network; expected m x 2",
         {"d.json": '{"X": [[1, 2, 3]], "Y": [[1]]}'}),
    Case("data Y rows differ", NUMERIC, "d.json: Y: 2 rows but X has 1",
         {"d.json": '{"X": [[1, 2]], "Y": [[1], [0]]}'}),
    Case("data Y a vector", NUMERIC, "d.json: Y: expected a matrix", {"d.json": '{"X": [[1, 2]], "Y": [1]}'}),
    Case("data target above 1", NUMERIC, "d.json: Y: loss 'cross_entropy' needs targets in [0, 1]",
         {"d.json": '{"X": [[1, 2]], "Y": [[2]]}'}),
    Case("data target below 0", NUMERIC, "needs targets in [0, 1]", {"d.json": '{"X": [[1, 2]], "Y": [[-0.5]]}'}),
    Case("data softmax not one-hot", NUMERIC, "d.json: Y: output 'softmax' needs each target row to sum to 1",
         {"net.toml": "layers = [2, 2]\noutput = 'softmax'\n", "p.json": json.dumps({"Theta": [[[0, 1, 2]] * 2]}),
          "d.json": '{"X": [[1, 2]], "Y": [[1, 1]]}'}),
    Case("data NaN literal", NUMERIC, "d.json: NaN is not allowed", {"d.json": '{"X": [[NaN, 2]], "Y": [[1]]}'}),
    Case("data missing key", NUMERIC, "d.json: missing key 'Y'", {"d.json": '{"X": [[1, 2]]}'}),
    Case("results overflow", NUMERIC, "the results overflow double precision",
         {"p.json": theta(**{"1,0,3": 1e300}), "d.json": '{"X": [[1e300, 1e300]], "Y": [[1]]}'}),
    Case("data binary", NUMERIC, "d.json: binary file", {"d.json": b"\x00\x01{}"}),
    # --- check: the claims file
    Case("claims missing", CHECK[:-1] + ["nope.json"], "nope.json: no such file"),
    Case("claims unknown name", CHECK, "c.json: unknown name 'zz[1]'", {"c.json": '{"claims": {"zz[1]": 1}}'}),
    Case("claims layer out of range", CHECK, "c.json: 'a[9][1]': layer 9 is out of range",
         {"c.json": '{"claims": {"a[9][1]": 1}}'}),
    Case("claims not a number", CHECK, "c.json: claim 'J': 'abc' is not a decimal number",
         {"c.json": '{"claims": {"J": "abc"}}'}),
    Case("claims empty", CHECK, "c.json: 'claims' must be a non-empty object", {"c.json": '{"claims": {}}'}),
    Case("claims Infinity", CHECK, "c.json: Infinity is not allowed", {"c.json": '{"claims": {"J": Infinity}}'}),
    # --- example: its own options
    Case("example rate nan", EXAMPLE + ["--rate", "nan"], "--rate nan: the learning rate must be a positive number"),
    Case("example digits 0", EXAMPLE + ["--digits", "0"], "--digits 0: choose from 1 to 15"),
    Case("example bad params", EXAMPLE, "p.json: Theta[1]: row 1, column 3 is true",
         {"p.json": theta(**{"0,0,2": True})}),
    # --- graph programs (parsed by a whitelist, never run)
    Case("program missing", ["graph", "nope.txt"], "nope.txt: no such file"),
    Case("program import", GRAPH, "g.txt: line 1: import statement is not allowed", {"g.txt": "import os\nJ = w\n"}),
    Case("program attribute", GRAPH, "attribute access is not allowed", {"g.txt": "J = w.__class__\n"}),
    Case("program lambda", GRAPH, "not allowed", {"g.txt": "J = (lambda: w)()\n"}),
    Case("program comprehension", GRAPH, "comprehension is not allowed", {"g.txt": "J = [w for w in x]\n"}),
    Case("program tower of powers", GRAPH, "at most 100", {"g.txt": "J = " + "w**" * 1000 + "w\n"}),
    Case("program empty", GRAPH, "g.txt: no assignments", {"g.txt": ""}),
    Case("program input without value", ["graph", "g.txt", "--at", "w=2"], "--at: no value for input"),
    Case("program value nan", GRAPH[:-1] + ["y=nan"], "--at y=nan: not a number"),
    Case("program value 1e999", GRAPH[:-1] + ["y=1e999"], "--at y=1e999: out of range"),
    Case("program overflow", ["graph", "g.txt", "--at", "w=1"], "overflows", {"g.txt": "J = exp(exp(exp(w * 10)))\n"}),
    # --- grade: the network, the target, the class file
    Case("grade network missing", ["grade", "nope.toml", "--target", "delta[3][1]", "--answer", "a[3][1]"],
         "nope.toml: no such file"),
    Case("grade bad network", GRADE, "net.toml: 'loss' is 'hinge'", net(NET + "loss = 'hinge'\n")),
    Case("grade target out of range", ["grade", "net.toml", "--target", "delta[9][1]", "--answer", "a[3][1]"],
         "layer 9 is outside"),
    Case("grade answer and class file", GRADE + ["--answers", "class.csv"], "give either --target NAME --answer EXPR",
         {"class.csv": CLASS}),
    Case("grade nothing to grade", ["grade", "net.toml"], "give either --target NAME --answer EXPR"),
    Case("class file missing", ["grade", "net.toml", "--answers", "nope.csv"], "nope.csv: no such file"),
    Case("class file header", ["grade", "net.toml", "--answers", "class.csv"],
         "class.csv: the first row must name the columns id,target,answer", {"class.csv": "name,answer\nx,y\n"}),
    Case("class file binary", ["grade", "net.toml", "--answers", "class.csv"], "class.csv: binary file",
         {"class.csv": b"id,target,answer\n\0"}),
    Case("class file broken quoting", ["grade", "net.toml", "--answers", "class.csv"], "class.csv: not a valid CSV",
         {"class.csv": 'id,target,answer\n"unterminated\n'}),
    Case("class file too long", ["grade", "net.toml", "--answers", "class.csv"],
         "class.csv: 6000 answers; at most 5,000", {"class.csv": CLASS + "s2,delta[3][1],a[3][1]\n" * 5999}),
    Case("class file is -o", ["grade", "net.toml", "--answers", "class.csv", "-o", "class.csv"],
         "-o class.csv: is one of the input files", {"class.csv": CLASS}, output=False),
    # --- options of derive derivation
    Case("unknown preset", ["derivation", "--preset", "lenet"], "invalid choice: 'lenet'"),
    Case("preset and a file", ["derivation", "net.toml", "--preset", "ng-4-layer"], "give either NET.toml or --preset"),
    Case("max-units zero", DERIVATION + ["--max-units", "0"], "--max-units: expected a whole number >= 1"),
    Case("max-units text", DERIVATION + ["--max-units", "ten"], "--max-units: expected a whole number >= 1"),
    Case("beamer over the input", ["derivation", "net.toml", "--format", "beamer", "-o", "net.toml"],
         "is one of the input files", output=False),
    # --- example: the claims section
    Case("example claims missing", EXAMPLE + ["--claims", "nope.json"], "nope.json: no such file"),
    Case("example claims unknown name", EXAMPLE + ["--claims", "c.json"], "c.json: unknown name 'zz[1]'",
         {"c.json": '{"claims": {"zz[1]": 1}}'}),
    # --- lecture
    Case("lecture into a missing folder", ["lecture", "--out", "nowhere/outputs"], "folder", output=False),
    Case("lecture into a file", ["lecture", "--out", "net.toml"], "--out net.toml: is a file", output=False),
    # --- sheet
    Case("sheet no variants", ["sheet", "net.toml", "--variants", "0", "--seed", "1", "--out", "s"],
         "--variants 0: choose from 1 to 500", output=False),
    Case("sheet too many variants", ["sheet", "net.toml", "--variants", "501", "--seed", "1", "--out", "s"],
         "choose from 1 to 500", output=False),
    Case("sheet seed not whole", ["sheet", "net.toml", "--variants", "2", "--seed", "0.5", "--out", "s"],
         "--seed: expected a whole number", output=False),
    Case("sheet into a file", ["sheet", "net.toml", "--variants", "2", "--seed", "1", "--out", "net.toml"],
         "--out net.toml: is a file", output=False),
    Case("sheet into a foreign folder", ["sheet", "net.toml", "--variants", "2", "--seed", "1", "--out", "mine"],
         "holds 'notes.txt' and no derive-manifest.json", {"mine/notes.txt": "mine"}, output=False),
    # --- exercise
    Case("exercise unknown", ["exercise", "cross-entropy"], "unknown exercise 'cross-entropy'"),
    Case("exercise bad layers", ["exercise", "squared-error", "--layers", "3,x"],
         "--layers 3,x: expected whole numbers"),
    Case("exercise bad net", ["exercise", "squared-error", "net.toml"], "net.toml: unknown key",
         net(NET + "colour = 1\n")),
]


def write(folder: Path, files: dict[str, str | bytes]) -> None:
    for name, content in {**GOOD, **files}.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def check_refusal(code: int, out: str, err: str, case: Case, folder: Path) -> None:
    assert code == case.code, err
    assert out == "", "nothing on stdout"
    assert err.endswith("\n") and err.count("\n") == 1, f"one line on stderr: {err!r}"
    assert "Traceback" not in err
    assert case.fragment in err, err
    assert not (folder / "out.txt").exists(), "no file written"
    assert not list(folder.glob(".*.tmp")), "no temp file left behind"


def argv_of(case: Case) -> list[str]:
    return case.argv + (["-o", "out.txt"] if case.output else [])


def test_the_table_is_large_and_covers_every_command():
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)
    covered = {c.argv[0] for c in CASES if c.argv}
    assert set(cli.COMMANDS) <= covered


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_in_process(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, case.files)
    monkeypatch.chdir(tmp_path)
    try:
        code = cli.main(argv_of(case))
    except SystemExit as e:  # argparse's own refusals
        code = e.code
    out, err = capsys.readouterr()
    check_refusal(code, out, err, case, tmp_path)
    assert (tmp_path / "net.toml").read_bytes() == _bytes(case.files.get("net.toml", GOOD["net.toml"]))


def _bytes(content: str | bytes) -> bytes:
    return content if isinstance(content, bytes) else content.encode("utf-8")


def derive_command() -> list[str]:
    """The installed console script (or the same entry point through this Python)."""
    script = shutil.which("derive")
    return [script] if script else [sys.executable, "-c", "import sys; from derive.cli import main; sys.exit(main())"]


SUBPROCESS = ["net binary", "lambda 400 digits", "params deeply nested", "program attribute", "softmax too wide",
              "-o is the input", "unknown command"]


@pytest.mark.parametrize("case", [c for c in CASES if c.id in SUBPROCESS], ids=lambda c: c.id)
def test_bad_input_through_the_console_script(case: Case, tmp_path: Path) -> None:
    write(tmp_path, case.files)
    r = subprocess.run(derive_command() + argv_of(case), cwd=tmp_path, capture_output=True, text=True, timeout=60)
    check_refusal(r.returncode, r.stdout, r.stderr, case, tmp_path)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A file without read permission (simulated: the tests may run as root, who reads anything)."""
    write(tmp_path, {})
    monkeypatch.chdir(tmp_path)
    real_open = os.open

    def locked(path: object, *args: object, **kwargs: object) -> int:
        if Path(str(path)).name == "net.toml":
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", locked)
    code = cli.main(DERIVATION + ["-o", "out.txt"])
    out, err = capsys.readouterr()
    check_refusal(code, out, err, Case("unreadable", [], "net.toml: cannot read (Permission denied)"), tmp_path)


def test_a_named_pipe_without_a_writer_does_not_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "net.toml")
    r = subprocess.run(derive_command() + DERIVATION, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "net.toml: 'layers' is required" in r.stderr


def test_output_never_overwrites_an_input_through_a_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, {})
    monkeypatch.chdir(tmp_path)
    os.symlink("net.toml", "soft.toml")
    os.link("net.toml", "hard.toml")
    for target in ("soft.toml", "hard.toml", "./net.toml", str(tmp_path / "net.toml")):
        assert cli.main(DERIVATION + ["-o", target]) == 2
        assert "is one of the input files" in capsys.readouterr().err
    assert (tmp_path / "net.toml").read_text() == NET


# --- internal errors: exit 3, one line, the --debug hint; --debug shows the traceback


def _explode(*args: object, **kwargs: object) -> None:
    raise RuntimeError("a failure nobody planned for")


@pytest.mark.parametrize("error", [RuntimeError("boom"), CheckError("output_delta.chain", "not equal"),
                                   RecursionError("deep"), MemoryError()], ids=lambda e: type(e).__name__)
def test_internal_error_is_exit_3_with_a_hint(error: Exception, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    import derive.engine.backprop

    def fail(*args: object, **kwargs: object) -> None:
        raise error

    write(tmp_path, {})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(derive.engine.backprop, "backprop", fail)
    code = cli.main(DERIVATION + ["-o", "out.txt"])
    out, err = capsys.readouterr()
    assert code == 3
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("derive: internal error:") and "rerun with --debug" in err
    assert not (tmp_path / "out.txt").exists()
    with pytest.raises(type(error)):
        cli.main(["--debug"] + DERIVATION)


def test_a_command_that_cannot_load_leaves_the_others_working(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "derive_broken_command.py").write_text("this is not python(\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli.COMMANDS, "broken", ("derive_broken_command", "a command whose module has an error"))
    write(tmp_path, {})
    monkeypatch.chdir(tmp_path)
    assert cli.main(["broken"]) == 3
    err = capsys.readouterr().err
    assert "internal error: SyntaxError" in err and err.count("\n") == 1
    assert cli.main(["numeric", "net.toml", "--params", "p.json", "--data", "d.json"]) == 0
    assert json.loads(capsys.readouterr().out)["cost"] > 0


def test_internal_error_through_the_console_script(tmp_path: Path) -> None:
    """A real exit 3 from the installed script: a module patched at start-up fails inside the command."""
    write(tmp_path, {})
    code = ("import sys, derive.engine.backprop as d\n"
            "def fail(*a, **k): raise ZeroDivisionError('planted')\n"
            "d.backprop = fail\n"
            "from derive.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    r = subprocess.run([sys.executable, "-c", code, *DERIVATION], cwd=tmp_path, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 3 and r.stdout == ""
    assert r.stderr == ("derive: internal error: ZeroDivisionError: planted "
                        "(rerun with --debug for the traceback)\n")


def test_a_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    write(tmp_path, {})
    cmd = derive_command() + ["derivation", "net.toml", "--format", "json"]
    with subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as p:
        assert p.stdout is not None and p.stderr is not None
        p.stdout.read(10)
        p.stdout.close()
        err = p.stderr.read().decode()
        p.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err


# --- bounded work: large inputs finish or are refused within seconds and without gigabytes
# (generous limits: these catch hangs and blow-ups, they are not timing tests)

MEMORY = 3 * 1024**3


def _limited() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def run_bounded(argv: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(derive_command() + argv, cwd=folder, capture_output=True, text=True, timeout=60,
                          preexec_fn=_limited)


BIG = "layers = [5000, 5000, 10]\n"
BOUNDED = [
    ("vector-form derivation of [5000, 5000, 10]", {"net.toml": BIG}, ["derivation", "net.toml", "-f", "json"], 0,
     '"output_delta": "a - y"'),
    ("32 layers", {"net.toml": f"layers = {[3] * 32}\n"}, ["derivation", "net.toml", "-f", "json"], 0,
     "hidden_delta31"),
    ("the exercise on [5000, 5000, 10]", {}, ["exercise", "squared-error", "--layers", "5000,5000,10", "-f", "json"],
     0, "output_delta"),
    ("numeric on [5000, 5000, 10]", {"net.toml": BIG}, NUMERIC, 2, "expected 5000 x 5001"),
    ("grading [5000, 5000, 10]", {"net.toml": BIG},
     ["grade", "net.toml", "--target", "delta[2][1]", "--answer", "a[2][1]"], 2, "grading handles at most"),
    ("softmax of 2000 units", {"net.toml": "layers = [3, 2000]\noutput = 'softmax'\n"}, NUMERIC, 2, "--max-units"),
    ("a million examples", {"net.toml": "layers = [1, 1000, 1]\n",
                            "d.json": '{"X": [' + ",".join(["[1]"] * 1_000_000) + '], "Y": []}'},
     NUMERIC, 2, "at most 500,000"),
    ("a worked example of 5,100 weights", {"net.toml": "layers = [50, 50, 50]\n",
                                           "p.json": json.dumps({"Theta": [[[0.01] * 51] * 50] * 2}),
                                           "d.json": json.dumps({"X": [[0.5] * 50], "Y": [[1] * 50]})},
     EXAMPLE, 2, "too many to show every number"),
    ("a parameter file over 10 MB", {"p.json": '{"Theta": [' + "0.125, " * 1_500_000 + "0]}"}, NUMERIC, 2,
     "larger than the 10000000-byte limit"),
    ("a graph program of 1000 assignments", {"g.txt": "".join(f"v{i} = v{i - 1} * w\n" for i in range(1, 1000))},
     ["graph", "g.txt", "--at", "v0=1", "w=1"], 2, "at most"),
    ("a power tower a thousand deep", {"g.txt": "J = " + "w ** " * 1000 + "w\n"}, ["graph", "g.txt", "--at", "w=1"],
     2, "at most"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("files", "argv", "code", "fragment"), [b[1:] for b in BOUNDED], ids=[b[0] for b in BOUNDED])
def test_large_inputs_finish_or_are_refused_quickly(files, argv, code, fragment, tmp_path: Path) -> None:
    write(tmp_path, files)
    r = run_bounded(argv, tmp_path)
    assert r.returncode == code, r.stderr[-500:]
    assert "Traceback" not in r.stderr
    assert fragment in (r.stdout if code == 0 else r.stderr)


# --- nothing lost: atomic writes, and derive lecture swaps a finished folder in or leaves the old one


def test_a_failed_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    import derive.io.output

    write(tmp_path, {})
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out.json").write_text("the previous result")
    (tmp_path / "out.json").chmod(0o640)

    def full_disk(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(derive.io.output.os, "replace", full_disk)
    assert cli.main(DERIVATION + ["-o", "out.json"]) == 2
    assert "-o out.json: cannot write (No space left on device)" in capsys.readouterr().err
    assert (tmp_path / "out.json").read_text() == "the previous result"
    assert not list(tmp_path.glob(".out.json.*")), "the temp file is removed"
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    assert cli.main(DERIVATION + ["-o", "out.json"]) == 0
    assert json.loads((tmp_path / "out.json").read_text())["results"]["output_delta"] == "a - y"
    assert (tmp_path / "out.json").stat().st_mode & 0o777 == 0o640, "the file keeps its permissions"


def _small_set() -> dict[str, str]:
    return {"a.md": "# a\n", "b.md": "# b\n", "c.md": "# c\n", "index.html": "<!DOCTYPE html><title>x</title>\n"}


@pytest.fixture
def previous_set(tmp_path: Path) -> dict[str, bytes]:
    """A set derive lecture wrote before (its manifest included: only such a folder may be replaced)."""
    from derive.document.lecture_set import MANIFEST, manifest

    out = tmp_path / "outputs"
    out.mkdir()
    files = {"old.md": b"# old\n", "index.html": b"<!DOCTYPE html><title>old</title>\n"}
    for name, data in {**files, MANIFEST: manifest(files)}.items():
        (out / name).write_bytes(data)
    return {p.name: p.read_bytes() for p in out.iterdir()}


def _folder(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in path.iterdir()}


def test_lecture_failing_halfway_through_the_writes_keeps_the_previous_set(
        tmp_path: Path, previous_set: dict[str, bytes], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import derive.document.lecture_set

    monkeypatch.setattr(derive.document.lecture_set, "build", lambda entries=(): _small_set())
    real, calls = Path.write_bytes, []

    def fails_on_the_third(self: Path, data: bytes) -> int:
        calls.append(self.name)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", fails_on_the_third)
    code = cli.main(["lecture", "--out", str(tmp_path / "outputs")])
    err = capsys.readouterr().err
    assert code in (2, 3) and err.count("\n") == 1 and "Traceback" not in err
    assert _folder(tmp_path / "outputs") == previous_set
    assert [p.name for p in tmp_path.iterdir()] == ["outputs"], "no staging folder left beside it"


def test_lecture_with_an_entry_that_raises_keeps_the_previous_set(
        tmp_path: Path, previous_set: dict[str, bytes], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import derive.document.lecture_set

    entries = (derive.document.lecture_set.Entry("fine", "Fine", lambda: {".md": "# fine\n"}),
               derive.document.lecture_set.Entry("broken", "Broken", _explode))
    real_build = derive.document.lecture_set.build
    monkeypatch.setattr(derive.document.lecture_set, "build", lambda e=(): real_build(entries))
    assert cli.main(["lecture", "--out", str(tmp_path / "outputs")]) == 3
    assert "rerun with --debug" in capsys.readouterr().err
    assert _folder(tmp_path / "outputs") == previous_set
    assert [p.name for p in tmp_path.iterdir()] == ["outputs"]
    monkeypatch.setattr(derive.document.lecture_set, "build", lambda e=(): _small_set())
    assert cli.main(["lecture", "--out", str(tmp_path / "outputs")]) == 0
    new_set = {k: v.encode() for k, v in _small_set().items()}
    lecture_set = derive.document.lecture_set
    assert _folder(tmp_path / "outputs") == {**new_set, lecture_set.MANIFEST: lecture_set.manifest(new_set)}
    assert [p.name for p in tmp_path.iterdir()] == ["outputs"]


@pytest.mark.parametrize("where", ["a project", "the current folder", "a parent of the current folder"])
def test_lecture_never_replaces_a_folder_that_is_not_a_lecture_set(
        where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import derive.document.lecture_set

    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "src").mkdir()
    (project / "src" / "main.py").write_text("precious = True\n")
    (project / "notes.md").write_text("# notes\n")
    monkeypatch.setattr(derive.document.lecture_set, "build", lambda e=(): _small_set())
    out = {"a project": str(project), "the current folder": ".", "a parent of the current folder": ".."}[where]
    monkeypatch.chdir(project / "src" if where == "a parent of the current folder" else project)
    assert cli.main(["lecture", "--out", out]) == 2
    assert "--out" in capsys.readouterr().err
    assert (project / "src" / "main.py").read_text() == "precious = True\n"
    assert sorted(p.name for p in project.iterdir()) == [".git", "notes.md", "src"]


WRITERS = {"write_text", "write_bytes", "rename", "replace", "rmtree", "unlink", "remove", "rmdir", "mkstemp",
           "NamedTemporaryFile", "touch", "symlink_to", "chmod"}
"""calls that change files: only derive/io/output.py (atomic files) and derive/document/lecture_set.py (the
staged folder) make them"""
ALLOWED_WRITERS = {"io/output.py", "document/lecture_set.py"}
OS_ONLY = {"replace", "remove"}
"""names that change files only as os.replace / os.remove (str.replace and list.remove are everywhere)"""


def test_every_file_is_written_through_output_or_the_lecture_staging():
    import ast

    import derive

    package = Path(derive.__file__).parent
    found = []
    for path in sorted(package.rglob("*.py")):
        if path.relative_to(package).as_posix() in ALLOWED_WRITERS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            on_os = isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "os"
            if isinstance(f, ast.Attribute) and f.attr in WRITERS and (on_os or f.attr not in OS_ONLY):
                found.append(f"{path.relative_to(package)}:{node.lineno} .{f.attr}()")
            if isinstance(f, ast.Name) and f.id == "open" and len(node.args) > 1:
                mode = node.args[1]
                if not (isinstance(mode, ast.Constant) and set(str(mode.value)) <= set("rbt")):
                    found.append(f"{path.relative_to(package)}:{node.lineno} open(…, {ast.unparse(mode)})")
    assert not found, found


def test_a_byte_order_mark_is_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Files saved 'UTF-8 with BOM' (as some editors do) read like any other."""
    bom = "\ufeff"
    write(tmp_path, {name: bom + text for name, text in GOOD.items() if isinstance(text, str)})
    monkeypatch.chdir(tmp_path)
    assert cli.main(NUMERIC) == 0
    assert json.loads(capsys.readouterr().out)["cost"] > 0
    assert cli.main(GRAPH) == 0
    assert json.loads(capsys.readouterr().out)
