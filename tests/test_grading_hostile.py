"""Hostile ids, targets and answers in grading reports and on the terminal (README "Errors and limits").

LaTeX reports escape everything a user wrote (nothing reaches math mode unescaped; the report compiles and
runs nothing); CSV cells that a spreadsheet would read as a formula are quoted with '; no terminal escape
and no extra line reaches stdout or stderr.
"""

from __future__ import annotations

import csv
import io
import subprocess

import pytest

import derive
from derive.cli import main
from derive.grading.classfile import Row
from derive.grading.report import FORMATS, as_csv, grade_rows

as_latex = FORMATS["latex"]

NET = {"layers": [2, 3, 2], "loss": "squared_error"}
GOOD = "(a[3][1] - y[1])*a[3][1]*(1 - a[3][1])"

LATEX_ATTACKS = [
    "x^(\\input{/etc/passwd})",
    "y^{\\immediate\\write18{id>pwn}",
    "\\end{document}",
    "δ^(\\def\\a{b})_1",
    "^{}}}}\\bye",
    "$\\input{/etc/hostname}$",
    "100% & #1 ~ _",
    "王小明",  # a name the pdflatex fonts lack
]
ESCAPE = "\x1b]0;PWNED\x07\x1b[2J"


def _graded(rows: list[Row]):
    return grade_rows(derive.Network.from_dict(NET), rows)


def _hostile_rows() -> list[Row]:
    rows = []
    for n, attack in enumerate(LATEX_ATTACKS):
        rows += [Row(attack, "delta[3][1]", GOOD), Row(f"s{n}", attack, GOOD), Row(f"t{n}", "delta[3][1]", attack),
                 Row(f"u{n}", "delta[3][1]", f"{GOOD} + {attack}")]
    return rows


def test_the_latex_report_sets_user_text_as_text():
    tex = as_latex(derive.Network.from_dict(NET), _graded(_hostile_rows()))
    assert tex.count("\\end{document}") == 1
    for command in ("\\input", "\\immediate", "\\write18", "\\def", "\\bye"):
        assert command not in tex, command
    assert "王" not in tex and "U+738B" in tex


@pytest.mark.pdflatex
def test_the_hostile_latex_report_compiles_and_runs_nothing(tmp_path):
    from .conftest import need

    pdflatex = need("pdflatex")
    (tmp_path / "report.tex").write_text(as_latex(derive.Network.from_dict(NET), _graded(_hostile_rows())),
                                         encoding="utf-8")
    r = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "-shell-escape", "report.tex"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:]
    assert not (tmp_path / "pwn").exists()
    log = (tmp_path / "report.log").read_text(encoding="utf-8", errors="replace")
    assert "root:" not in log  # /etc/passwd was not read in


@pytest.mark.pdflatex
def test_the_chinese_report_keeps_chinese_and_compiles(tmp_path):
    from .conftest import need

    xelatex = need("xelatex")
    net = derive.Network.from_dict({**NET, "language": "zh"})
    tex = as_latex(net, grade_rows(net, _hostile_rows()))
    assert "王小明" in tex
    (tmp_path / "report.tex").write_text(tex, encoding="utf-8")
    r = subprocess.run([xelatex, "-interaction=nonstopmode", "-halt-on-error", "report.tex"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout[-2000:]


FORMULAS = ["=HYPERLINK(\"http://evil\",\"x\")", "=cmd|' /C calc'!A0", "+SUM(1)", "@SUM(1)", "-2+3", "\tx", "\rx"]


def test_csv_cells_that_would_be_formulas_are_quoted():
    rows = [Row(f, "delta[3][1]", GOOD) for f in FORMULAS] + [Row(f"a{n}", "delta[3][1]", f) for n, f in
                                                             enumerate(FORMULAS)]
    rows.append(Row("neg", "delta[3][1]", "-(y[1] - a[3][1])*a[3][1]*(1 - a[3][1])"))
    out = list(csv.DictReader(io.StringIO(as_csv(derive.Network.from_dict(NET), _graded(rows), reveal=True))))
    cells = [v for row in out for v in row.values()]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert [r["id"] for r in out[:len(FORMULAS)]] == ["'" + f.replace("\t", "\\t").replace("\r", "\\r")
                                                     for f in FORMULAS]
    assert out[-1]["answer"] == "'-(y[1] - a[3][1])*a[3][1]*(1 - a[3][1])" and out[-1]["verdict"] == "correct"


@pytest.fixture
def net_file(tmp_path):
    path = tmp_path / "net.toml"
    path.write_text('layers = [2, 3, 2]\nloss = "squared_error"\n', encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("fmt", [[], ["--format", "json"], ["--format", "csv"]])
@pytest.mark.parametrize("target", [ESCAPE, "delta[3][1]\nrm -rf ~", "delta[3][1]" + ESCAPE, "\r\x08delta"])
def test_a_hostile_target_prints_no_terminal_escape(net_file, capsys, target, fmt):
    assert main(["grade", net_file, "--target", target, "--answer", GOOD, *fmt]) == 2
    out, err = capsys.readouterr()
    for stream in (out, err):
        assert not any(c in stream for c in "\x1b\x07\x08\r"), repr(stream)
    assert len(err.splitlines()) == 1 and "unknown target" in err
    assert len(out.splitlines()) <= 2


@pytest.mark.parametrize("fmt", ["csv", "json", "text", "markdown", "html"])
def test_a_class_report_prints_no_terminal_escape(fmt):
    rows = [Row(ESCAPE, "delta[3][1]", GOOD), Row("s", ESCAPE, GOOD), Row("t", "delta[3][1]", ESCAPE),
            Row("u\x1b[31m", "delta[3][1]", f"{GOOD}\x1b[0m")]
    text = FORMATS[fmt](derive.Network.from_dict(NET), _graded(rows))
    assert "\x1b" not in text and "\x07" not in text
