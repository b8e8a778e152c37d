"""A class report's table in LaTeX: long answers and mistake names wrap inside their cells (no text runs over the
next column), each column as wide as what it holds needs; checked by compiling with pdflatex."""

from __future__ import annotations

import re
import subprocess

from .conftest import need


def test_grading_report_table_has_no_overfull_box(tmp_path):
    from derive.grading.example_class import lecture_files

    tex = lecture_files()[".tex"]
    assert "\\allowbreak" in tex
    (tmp_path / "r.tex").write_text(tex, encoding="utf-8")
    program = need("pdflatex")
    for _ in range(2):  # longtable settles its widths on the second run
        r = subprocess.run([program, "-interaction=nonstopmode", "-halt-on-error", "r.tex"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout[-2000:]
    log = (tmp_path / "r.log").read_text(errors="replace")
    overfull = [float(x) for x in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert not [x for x in overfull if x > 1.0], overfull
