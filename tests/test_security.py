"""Nothing is evaluated, and user text cannot turn into LaTeX commands or HTML script.

1. The package source is scanned (its tokens and its syntax tree, so strings and comments do not count) for
   the ways Python can run text: eval, exec, compile, __import__, sympify / parse_expr / S("…") (SymPy's
   parsers run eval), pickle / marshal / shelve. The one allowed code generator is SymPy's ``lambdify``: it
   prints Python source from SymPy expressions that derive builds itself, never from user text.
   ``importlib.import_module`` is allowed only where it looks names up in derive's own tables.
2. Hostile programs and answers (imports, attribute access, dunder names, lambdas, comprehensions, calls of
   open/exec) are refused with exit 2, and the side effect they aim at (a marker file) never happens.
3. Hostile text that does reach a document (graph variable names, student ids and answers in grading
   reports) comes out escaped: no \\input, \\write18, \\catcode or \\def command in LaTeX, no <script>
   element or on* attribute in HTML (parsed with html.parser), no raw HTML in Markdown.
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from html.parser import HTMLParser
from pathlib import Path

import pytest

import derive
from derive import cli

PACKAGE = Path(derive.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))

FORBIDDEN_NAMES = {"eval", "exec", "compile", "__import__", "sympify", "parse_expr", "pickle", "marshal", "shelve",
                   "dill", "literal_eval", "execfile", "runpy"}
"""names that must not appear in code at all (as a name, an attribute or an import)"""

ALLOWED_ATTRIBUTE_CALLS = {("re", "compile")}
"""``re.compile`` builds a regular expression, it runs nothing"""

IMPORT_MODULE_ALLOWED = {"cli/__init__.py", "__init__.py", "render/__init__.py", "model/lazy_import.py"}
"""modules whose import_module takes a name from derive's own code (COMMANDS, FORMATS, lazy exports, LazyModule)"""


def test_the_scan_sees_the_package():
    assert len(SOURCES) > 20
    assert any(p.name == "graph.py" for p in SOURCES)


def scan(source: str, name: str) -> list[str]:
    """Every way ``source`` could run text, by line: its syntax tree, then its NAME tokens (strings and
    comments are data and do not count)."""
    problems = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            problems.append(f"line {node.lineno}: name {node.id}")
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_NAMES:
            base = node.value.id if isinstance(node.value, ast.Name) else None
            if (base, node.attr) not in ALLOWED_ATTRIBUTE_CALLS:
                problems.append(f"line {node.lineno}: attribute .{node.attr}")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for imported in modules + [a.name for a in node.names]:
                if set(imported.split(".")) & FORBIDDEN_NAMES or imported.startswith("sympy.parsing"):
                    problems.append(f"line {node.lineno}: import {imported}")
        elif isinstance(node, ast.Call) and _is_S_on_text(node):
            problems.append(f"line {node.lineno}: S(…) of something that is not a number")
        elif isinstance(node, ast.Attribute) and node.attr == "import_module" and name not in IMPORT_MODULE_ALLOWED:
            problems.append(f"line {node.lineno}: import_module outside derive's table lookups")
    for tok in tokenize.tokenize(io.BytesIO(source.encode("utf-8")).readline):
        if tok.type == tokenize.NAME and tok.string in {"eval", "exec", "__import__", "sympify", "parse_expr"}:
            problems.append(f"line {tok.start[0]}: token {tok.string}")
    return sorted(set(problems))


def _is_S_on_text(call: ast.Call) -> bool:
    f = call.func
    named_S = (isinstance(f, ast.Name) and f.id == "S") or (isinstance(f, ast.Attribute) and f.attr == "S")
    return named_S and not all(isinstance(a, ast.Constant) and isinstance(a.value, int | float) for a in call.args)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_evaluation_in_the_source(path: Path) -> None:
    name = path.relative_to(PACKAGE).as_posix()
    assert scan(path.read_text(encoding="utf-8"), name) == [], name


@pytest.mark.parametrize(("snippet", "caught"), [
    ("x = eval(text)", True), ("exec(code)", True), ("import pickle", True), ("from sympy import sympify", True),
    ("e = sp.sympify(answer)", True), ("e = sp.parse_expr(answer)", True), ("f = __import__('os')", True),
    ("c = compile(src, 'f', 'exec')", True), ("e = sp.S('x + 1')", True), ("e = sp.S(text)", True),
    ("from sympy.parsing import sympy_parser", True), ("import marshal as m", True),
    ("m = importlib.import_module(user_text)", True), ("f = builtins.eval", True),
    ("r = re.compile('[a-z]+')", False), ("h = sp.S(1) / 2", False), ("f = sp.lambdify(args, expr)", False),
    ("s = 'eval(x) in a string is data'", False), ("# exec( in a comment", False),
], ids=lambda v: str(v))
def test_the_scan_catches_what_it_should(snippet: str, caught: bool) -> None:
    """The scanner itself on known snippets, so that a scan finding nothing means something."""
    assert bool(scan(snippet + "\n", "probe.py")) == caught, snippet


# --- hostile input is refused and runs nothing

HOSTILE = [
    "__import__('os').system('touch {marker}')",
    "open('{marker}', 'w')",
    "exec(\"open('{marker}', 'w')\")",
    "eval(\"open('{marker}', 'w')\")",
    "x.__class__.__base__.__subclasses__()",
    "__builtins__",
    "(lambda: open('{marker}', 'w'))()",
    "[open('{marker}', 'w') for i in (1,)]",
    "{{k: open('{marker}', 'w') for k in (1,)}}",
    "getattr(x, 'real')",
    "import os",
    "x if open('{marker}', 'w') else x",
    "(y := open('{marker}', 'w'))",
    "f'{{open(\"{marker}\", \"w\")}}'",
    "x; open('{marker}', 'w')",
]


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "MARKER"


@pytest.mark.parametrize("expr", HOSTILE)
def test_hostile_graph_programs_are_refused(expr: str, tmp_path: Path, marker: Path,
                                            monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.txt").write_text("c = w * x\nJ = " + expr.format(marker=marker) + "\n")
    code = cli.main(["graph", "g.txt", "--at", "w=1", "x=2", "-o", "out.json"])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert not marker.exists() and not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("expr", HOSTILE)
def test_hostile_answers_are_refused(expr: str, tmp_path: Path, marker: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.toml").write_text("layers = [1, 1]\nloss = 'squared_error'\n")
    code = cli.main(["grade", "net.toml", "--target", "delta[2][1]", "--answer", expr.format(marker=marker),
                     "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert "Traceback" not in err and err.count("\n") == 1
    assert out == "", "exit 2 writes nothing, no JSON report either"
    assert not marker.exists()


def test_hostile_class_file_rows_are_reported_not_run(tmp_path: Path, marker: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.toml").write_text("layers = [1, 1]\nloss = 'squared_error'\n")
    rows = ["id,target,answer"] + [f'r{n},delta[2][1],"{e.format(marker=marker).replace(chr(34), chr(34) * 2)}"'
                                   for n, e in enumerate(HOSTILE)]
    (tmp_path / "class.csv").write_text("\n".join(rows) + "\n")
    cli.main(["grade", "net.toml", "--answers", "class.csv", "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert [d["verdict"] for d in doc] == ["unreadable"] * len(HOSTILE)
    assert not marker.exists()


@pytest.mark.parametrize("name", ["__import__('os')", "a[2][1].__class__", "<script>", "\\input{x}", "J; rm -rf"])
def test_hostile_claim_names_are_refused(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.toml").write_text("layers = [1, 1]\n")
    (tmp_path / "p.json").write_text(json.dumps({"Theta": [[[0.1, 0.2]]]}))
    (tmp_path / "d.json").write_text(json.dumps({"X": [[1.0]], "Y": [[1.0]]}))
    (tmp_path / "c.json").write_text(json.dumps({"claims": {name: 0.5}}))
    code = cli.main(["check", "net.toml", "--params", "p.json", "--data", "d.json", "--claims", "c.json"])
    assert code == 2
    assert "unknown name" in capsys.readouterr().err


# --- hostile text that reaches documents comes out escaped

LATEX_COMMANDS = re.compile(r"\\(input|include|write|write18|immediate|catcode|def|gdef|edef|openout|read)(?![A-Za-z])")
LATEX_HOSTILE = ["\\input{/etc/passwd}", "\\immediate\\write18{touch x}", "\\catcode`\\^^M=13", "\\def\\x{y}",
                 "$\\input{a}$", "}\\input{a}{", "]\\input{a}[", "%\n\\input{a}", "^^5cinput{a}"]
HTML_HOSTILE = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "\"><svg onload=alert(1)>",
                "<a href='javascript:alert(1)'>x</a>", "</td></tr></table><script>x()</script>",
                "[click](javascript:alert(1))", "`<script>x()</script>`", "a\n\n<script>x()</script>"]


class _Elements(HTMLParser):
    """Every start tag and attribute of a page, as html.parser (a browser-like tokenizer) reads them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(attrs)


def assert_safe_html(page: str) -> None:
    p = _Elements()
    p.feed(page)
    p.close()
    assert "script" not in p.tags
    assert not [a for a, _ in p.attributes if a.lower().startswith("on")]
    assert not [v for _, v in p.attributes if v and v.strip().lower().startswith("javascript:")]


def assert_safe_latex(doc: str) -> None:
    found = LATEX_COMMANDS.findall(doc)
    assert not found, found
    assert "^^" not in doc.replace("\\textasciicircum{}\\textasciicircum{}", "")


def assert_safe_markdown(doc: str) -> None:
    """No raw HTML tag and no link from the input: a Markdown viewer passes raw HTML through to the page.
    Code spans show their text as it is, so HTML inside them is harmless."""
    outside_code = re.sub(r"`[^`\n]*`", "", doc)
    assert not re.search(r"<\s*/?\s*(script|img|svg|a|td|tr|table)\b", outside_code, re.IGNORECASE), doc
    assert not re.search(r"\]\(\s*javascript:", outside_code, re.IGNORECASE), doc


def _report(ids_and_answers: list[tuple[str, str]], fmt: str) -> str:
    from derive.grading.classfile import Row
    from derive.grading.report import FORMATS, grade_rows
    from derive.model.network import Network

    net = Network.from_dict({"layers": [1, 1], "loss": "squared_error"})
    rows = [Row(i, t, a) for i, (t, a) in zip([s for s, _ in ids_and_answers], [("delta[2][1]", a) for _, a in
                                                                                 ids_and_answers])]
    rows.append(Row("target", ids_and_answers[0][0], "a - y"))  # hostile target text, echoed in the verdict
    return FORMATS[fmt](net, grade_rows(net, rows), reveal=True)


@pytest.mark.parametrize("fmt", ["latex", "html", "markdown"])
def test_grading_reports_escape_ids_answers_and_targets(fmt: str) -> None:
    hostile = LATEX_HOSTILE + HTML_HOSTILE
    page = _report([(h, h) for h in hostile], fmt)
    {"latex": assert_safe_latex, "html": assert_safe_html, "markdown": assert_safe_markdown}[fmt](page)


@pytest.mark.pdflatex
def test_grading_report_with_hostile_ids_compiles(tmp_path: Path) -> None:
    """The escaped LaTeX still compiles (with shell escape off, as always), and runs no \\write18."""
    import subprocess

    from .conftest import need

    pdflatex = need("pdflatex")
    (tmp_path / "report.tex").write_text(_report([(h, h) for h in LATEX_HOSTILE + HTML_HOSTILE], "latex"))
    r = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "report.tex"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:]
    assert not (tmp_path / "x").exists()


GRAPH_NAMES = ["input", "write18", "catcode", "def", "script", "onload", "onerror", "javascript", "include",
               "gdef", "x_1_2", "__x"]


@pytest.mark.parametrize("fmt", ["latex", "html", "markdown", "mathml"])
def test_graph_documents_with_hostile_variable_names(fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Variable names are identifiers by the grammar; those that spell commands or tags stay plain names."""
    monkeypatch.chdir(tmp_path)
    names = [n for n in GRAPH_NAMES if n.isidentifier() and not n.startswith("_")]
    lines = [f"{names[i]} = {names[i - 1]} * 2 + 1" for i in range(1, len(names))]
    (tmp_path / "g.txt").write_text("\n".join(lines) + "\nJ = " + names[-1] + " ** 2 / 2\n")
    code = cli.main(["graph", "g.txt", "--at", f"{names[0]}=0.5", "--format", fmt])
    out, err = capsys.readouterr()
    if code == 2:  # a name the grammar refuses (e.g. a keyword) — refused cleanly is fine too
        assert err.count("\n") == 1
        return
    assert code == 0, err
    if fmt == "latex":
        assert_safe_latex(out)
    elif fmt in ("html", "mathml"):
        assert_safe_html(out)
    else:
        assert_safe_markdown(out)


@pytest.mark.parametrize("name", ["__class__", "__import__", "_secret", "x.y", "os.system", "a-b", "λ"])
def test_graph_names_outside_the_grammar_are_refused(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.txt").write_text(f"J = {name} * 2\n")
    assert cli.main(["graph", "g.txt", "--at", f"{name}=1"]) == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("hostile", HTML_HOSTILE)
def test_a_verdict_shown_in_a_notebook_has_no_raw_html(hostile: str) -> None:
    """Jupyter renders _repr_markdown_: a target or answer quoted in the verdict's text stays text."""
    import derive

    net = {"layers": [1, 1], "loss": "squared_error"}
    for target, answer in ((hostile, "a"), ("delta[2][1]", hostile), ("delta[2][1]", f"foo({hostile})")):
        shown = derive.grade(net, target, answer)._repr_markdown_()
        assert_safe_markdown(shown)
        assert_safe_html(shown)
