"""Every LaTeX and Beamer document of the lecture set compiles with its language's engine (pdflatex, xelatex for
Chinese) without a box too wide by more than 1 pt or too tall at all, and every page is kept as a PNG."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from derive.cli import main
from derive.render.latex import ENGINES

from .conftest import need

TOLERANCE = 1.0
"""an Overfull \\hbox by at most this many points is invisible; more is a line running into the margin"""

WORKERS = 2


def overfull(log: str) -> list[str]:
    """The log's complaints: every Overfull \\vbox, and every Overfull \\hbox wider than ``TOLERANCE``."""
    found = []
    for match in re.finditer(r"Overfull \\([hv])box \(([\d.]+)pt too (?:wide|high)\)[^\n]*", log):
        if match.group(1) == "v" or float(match.group(2)) > TOLERANCE:
            found.append(match.group(0))
    return found


def test_overfull_reads_the_log():
    log = ("Overfull \\hbox (0.5pt too wide) in paragraph at lines 3--3\n"
           "Overfull \\hbox (15.38pt too wide) in paragraph at lines 23--23\n"
           "Overfull \\vbox (2.1pt too high) detected at line 40\n")
    assert overfull(log) == ["Overfull \\hbox (15.38pt too wide) in paragraph at lines 23--23",
                             "Overfull \\vbox (2.1pt too high) detected at line 40"]


def _typeset(folder: str, name: str, program: str, artifacts: str) -> tuple[str, int, list[str], int]:
    """Compile one file (twice with Beamer: its frames settle on the second run); its name, return code,
    complaints and pages written as PNG."""
    stem = name[:-len(".tex")]
    run = None
    for _ in range(2 if name.startswith("slides-") else 1):
        run = subprocess.run([program, "-interaction=nonstopmode", "-halt-on-error", name], cwd=folder,
                             capture_output=True, text=True, timeout=300)
        if run.returncode:
            return name, run.returncode, [run.stdout[-2000:]], 0
    with open(os.path.join(folder, stem + ".log"), encoding="utf-8", errors="replace") as f:
        complaints = overfull(f.read())
    prefix = os.path.join(artifacts, "typeset-" + stem)
    subprocess.run(["pdftoppm", "-png", "-r", "50", os.path.join(folder, stem + ".pdf"), prefix],
                   check=True, timeout=300)
    pages = len([p for p in os.listdir(artifacts) if p.startswith("typeset-%s-" % stem) and p.endswith(".png")])
    return name, 0, complaints, pages


@pytest.mark.pdflatex
def test_every_lecture_document_fits_its_pages(artifacts):
    programs = {language: need(program) for language, program in ENGINES.items()}
    need("pdftoppm")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "lecture")
        assert main(["lecture", "--out", out]) == 0
        names = sorted(n for n in os.listdir(out) if n.endswith(".tex"))
        assert any(n.startswith("slides-") for n in names) and any(n.endswith("-zh.tex") for n in names)
        for name in os.listdir(artifacts):  # pages of an earlier run must not pass for this one's
            if name.startswith("typeset-"):
                os.remove(os.path.join(artifacts, name))
        with ThreadPoolExecutor(WORKERS) as pool:
            results = list(pool.map(
                lambda n: _typeset(out, n, programs["zh" if n.endswith("-zh.tex") else "en"], artifacts), names))
    failures = {name: complaints for name, code, complaints, _ in results if code or complaints}
    assert not failures, failures
    assert all(pages >= 1 for *_, pages in results)


def test_a_line_never_breaks_inside_a_short_formula_or_a_shape():
    """(4 × / 3) and λ / = 0 were split across lines: a short formula is one piece, a long one may break but
    never inside a shape."""
    from derive.document import Math
    from derive.render.latex import LatexPrinter

    printer = LatexPrinter()
    assert printer._print_Math(Math(r"4 \times 3")) == r"${4 \times 3}$"
    assert printer._print_Math(Math(r"\lambda = 0")) == r"${\lambda = 0}$"
    long = printer._print_Math(Math(r"\partial J/\partial V^{(1)} = (P^{(1)})^{\mathsf{T}} \delta^{(2)} (4 \times 3)"))
    assert long.startswith(r"$\partial J") and long.endswith(r"({4 \times 3})$")


def test_a_chinese_note_in_the_notes_keeps_its_last_characters_together():
    from derive.document import Document, Meta, Notes, Section
    from derive.document.words import paragraph
    from derive.render.latex import LatexPrinter

    note = paragraph("每一步共用同一个 𝑊，其中 ℎ_0 = 0；𝑢 × 𝑢。")
    doc = Document(Meta("t", "zh"), paragraph(""), (Section("s", paragraph("s"), (Notes((note,)),)),))
    tex = " ".join(LatexPrinter().doprint(doc).split())
    assert r"其中 \mbox{${h_{0} = 0}$；${u \times u}$。}" in tex  # the line breaks before h_0 = 0, not before u × u
