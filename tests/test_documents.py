"""Documents of a derivation, checked with the real tools: pdflatex/xelatex compile every LaTeX document,
an XML parser reads every MathML fragment, headless Chromium lays out every formula of a page; whole
documents are compared with golden files (DERIVE_REGENERATE=1 rewrites them)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import pytest
import sympy as sp
from latex2mathml.converter import convert

import derive
from derive.render import document, render
from derive.render.latex import engine, text
from derive.render.mathml import MathMLError, fragment, steps

from .conftest import need

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = os.environ.get("DERIVE_REGENERATE") == "1"

NETWORKS = {
    "sigmoid-cross-entropy": {"layers": [2, 3, 2]},
    "sigmoid-squared-error": {"layers": [2, 3, 2], "loss": "squared_error"},
    "tanh-softmax": {"layers": [2, 3, 3], "activation": "tanh", "output": "softmax"},
    "relu-linear-nielsen": {"layers": [2, 3, 1], "activation": "relu", "output": "linear", "loss": "squared_error",
                            "notation": "nielsen", "reduction": "sum", "lambda": 0.5},
    "sigmoid-tanh-squared-error": {"layers": [2, 2, 2], "output": "tanh", "loss": "squared_error", "lambda": 1.0},
    "chinese": {"layers": [2, 3, 2], "language": "zh"},
}


@cache
def derivation(name: str) -> derive.Derivation:
    return derive.backprop(derive.Network.from_dict(NETWORKS[name]))


def compile_tex(source: str, program: str, folder: Path, name: str = "doc") -> tuple[Path, str]:
    """Compile ``source`` with ``program``; the PDF's path and the log. Fails on a non-zero exit."""
    need(program)
    tex = folder / f"{name}.tex"
    tex.write_text(source, encoding="utf-8")
    run = subprocess.run([program, "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=folder,
                         capture_output=True, text=True, timeout=180)
    log = (folder / f"{name}.log").read_text(encoding="utf-8", errors="replace")
    assert run.returncode == 0, log[-2000:]
    assert "Undefined control sequence" not in log
    assert "Missing character" not in log, re.findall(r"Missing character.*", log)[:3]
    return folder / f"{name}.pdf", log


def _section(doc, id):
    return next(s for s in doc.sections if s.id == id)


def summary(doc):
    """The summary section the document ends with."""
    return _section(doc, "summary")


# --- LaTeX


@pytest.mark.pdflatex
@pytest.mark.parametrize("name", list(NETWORKS))
def test_latex_document_compiles(name, tmp_path):
    d = derivation(name)
    source = render(d, "latex")
    pdf, _ = compile_tex(source, engine(d.network.language), tmp_path)
    assert pdf.stat().st_size > 1000
    assert source.count(r"\tag*{") == len(d.steps)  # every step names its rule beside it


def test_engine_follows_the_language():
    assert engine(derivation("sigmoid-cross-entropy").network.language) == "pdflatex"
    assert engine(derivation("chinese").network.language) == "xelatex"
    assert r"{ctexart}" in render(derivation("chinese"), "latex")


@pytest.mark.pdflatex
def test_latex_body_pastes_into_a_plain_amsmath_document(tmp_path):
    body = render(derivation("sigmoid-cross-entropy"), "latex", body=True)
    assert r"\documentclass" not in body and r"\begin{document}" not in body
    compile_tex("\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n\\begin{document}\n%s\\end{document}\n"
                % body, "pdflatex", tmp_path)


def test_latex_body_from_the_command_line(tmp_path):
    net = tmp_path / "net.toml"
    net.write_text("layers = [2, 1]\n")
    from derive.cli import main

    out = tmp_path / "body.tex"
    assert main(["derivation", str(net), "--format", "latex", "--body", "-o", str(out)]) == 0
    assert r"\begin{align*}" in out.read_text() and r"\documentclass" not in out.read_text()


@pytest.mark.parametrize(("words", "latex"), [
    ("chain rule", "chain rule"),
    ("The output error δ^(4)", r"The output error ${\delta^{(4)}}$"),
    ("Row 0 of (Θ^(3))ᵀδ is dropped.", r"Row 0 of $(\Theta^{(3)})^{\mathsf{T}}\delta$ is dropped."),
    ("The bias unit a₀ = 1", r"The bias unit ${a_0 = 1}$"),  # the relation and its number: one formula
    ("for j ≠ 0 (50% of cross_entropy)", r"for j ${\neq 0}$ (50\% of cross\_entropy)"),
    ("BP1: the output error δ^4", r"BP1: the output error ${\delta^{4}}$"),
    ("代入 a = g(z)", "代入 a = g(z)"),
    ("δ = ∂J/∂a · ∂a/∂z，g′(z)", r"$\delta = \partial J/\partial a  \cdot  \partial a/\partial z$，${g'(z)}$"),
    ("即 Σ_k Θ^(l)_ki δ^(l+1)_k。", r"即 $\sum_{k}  \Theta^{(l)}_{ki}  \delta^{(l+1)}_{k}$。"),
    ("α(按步长)", r"${\alpha}$(按步长)"),
    ("∂E/∂Θ^(3)_ij, not cross_entropy", r"$\partial E/\partial \Theta^{(3)}_{ij}$, not cross\_entropy"),
    ("Column 0 is ∂C/∂b^3 = δ^3 itself", r"Column 0 is $\partial C/\partial b^{3} = \delta^{3}$ itself"),
])
def test_catalogue_text_becomes_latex(words, latex):
    """(A formula of at most UNBROKEN characters is braced: a line never breaks inside it.)"""
    assert text(words) == latex


class _Sample(dict):
    """Sample values for every placeholder of a catalogue text."""

    def __missing__(self, key: str) -> str:
        return "3"


@pytest.mark.pdflatex
@pytest.mark.parametrize(("language", "program"), [("en", "pdflatex"), ("zh", "xelatex")])
def test_every_catalogue_text_compiles(language, program, tmp_path):
    """Whatever a section, rule or note says, its LaTeX compiles (no $…$$…$, no bare Unicode symbol)."""
    from derive.catalogue import catalogue
    from derive.render.latex import COMMON, PREAMBLES

    table = catalogue(language).table
    lines = [text(value.format_map(_Sample(activation="sigmoid", loss="cross_entropy")))
             for group in table.values() if isinstance(group, dict)
             for value in group.values() if isinstance(value, str)]
    assert not [line for line in lines if "$$" in line]
    compile_tex(PREAMBLES[program] + COMMON + "\\begin{document}\n%s\n\\end{document}\n" % "\n\n".join(lines),
                program, tmp_path)


# --- MathML


@pytest.mark.parametrize("name", list(NETWORKS))
def test_every_mathml_fragment_is_well_formed_and_holds_no_latex(name):
    d = derivation(name)
    count = 0
    for equation in steps(document(d)):
        for line in equation:
            for frag in filter(None, (line.lhs, line.rhs, line.whole)):
                root = ET.fromstring(frag)
                assert root.tag == "{http://www.w3.org/1998/Math/MathML}math"
                for element in root.iter():
                    assert "\\" not in (element.text or ""), (line.step, element.text)
                count += 1
    assert count >= 2 * len(d.steps)
    page = render(d, "mathml")
    root = ET.fromstring(page)  # the whole fragment document is well-formed XML too
    maths = root.findall(".//{http://www.w3.org/1998/Math/MathML}math[@display='block']")  # inline: in the words
    assert len(maths) == len(d.steps) + len(summary(document(d)).equations)


@pytest.mark.parametrize("tex", [
    r"\sum_{k=1}^{s_{3}} \underbrace{\frac{\partial J}{\partial z^{(3)}_{k}}}_{\delta^{(3)}_{k}}",
    r"D^{(l)}_{ij} = \begin{cases} \frac{1}{m} \Delta^{(l)}_{ij} & \text{if}\ j \neq 0 \\ 0 & \text{if}\ j = 0"
    r" \end{cases}",
    r"\Delta^{(l)} \mathrel{:=} \Delta^{(l)} + \delta^{(l+1)} (a^{(l)})^{\mathsf{T}}",
    r"(\Theta^{(3)})^{\mathsf{T}} \delta^{(4)} \circ g'(z^{(3)})",
    r"\log a^{(4)}_{k} - (1 - y) \log(1 - a^{(4)})",
    r"\begin{align} a &= b \\ &= c \end{align}",
])
def test_constructs_the_printers_emit_convert(tex):
    ET.fromstring(fragment(tex))


def test_aligned_is_refused_rather_than_shown_broken():
    """latex2mathml writes a bare & into <mi> for aligned; fragment() must not let that through."""
    tex = r"\begin{aligned} a &= b \\ &= c \end{aligned}"
    with pytest.raises(ET.ParseError):
        ET.fromstring(convert(tex))
    with pytest.raises(MathMLError):
        fragment(tex)


def test_unknown_command_is_refused_rather_than_shown_as_latex():
    if "\\" not in convert(r"\notacommand{x}"):
        pytest.skip("this latex2mathml drops unknown commands")
    with pytest.raises(MathMLError):
        fragment(r"\notacommand{x}")


# --- HTML in a real browser

HARNESS = """<!DOCTYPE html>
<html><body>
%s
<script>
window.addEventListener("load", () => {
  const sizes = {};
  for (const frame of document.querySelectorAll("iframe")) {
    const doc = frame.contentDocument;
    sizes[frame.getAttribute("src")] = doc === null ? null : [...doc.querySelectorAll("math")].map(m => {
      const r = m.getBoundingClientRect();
      return [r.width, r.height, m instanceof frame.contentWindow.MathMLElement];
    });
  }
  const out = document.createElement("pre");
  out.id = "derive-sizes";
  out.textContent = JSON.stringify(sizes);
  document.body.appendChild(out);
});
</script>
</body></html>
"""
"""loads pages in frames and writes (width, height, is MathML) of each of their <math> elements into the DOM"""

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def chromium(page: Path, *args: str) -> str:
    """Run headless Chromium on ``page`` with a fresh profile; its stdout."""
    browser = need("chromium")
    with tempfile.TemporaryDirectory() as profile:
        run = subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
                             capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-1000:]
    return run.stdout


def math_sizes(pages: list[Path]) -> dict[str, list[tuple[float, float, bool]]]:
    """Per page (all in one folder), (width, height, is MathML) of every <math> element as Chromium lays it
    out; one browser run for all of them (the frames may read each other: --allow-file-access-from-files)."""
    folder = pages[0].parent
    frames = "\n".join(f'<iframe src="{p.name}" width="1100" height="800"></iframe>' for p in pages)
    harness = folder / "measure-harness.html"
    harness.write_text(HARNESS % frames, encoding="utf-8")
    dom = chromium(harness, "--allow-file-access-from-files", "--virtual-time-budget=10000", "--dump-dom")
    found = re.search(r'<pre id="derive-sizes">(.*?)</pre>', dom, flags=re.S)
    assert found, dom[-500:]
    sizes = json.loads(found.group(1))
    assert all(sizes[p.name] is not None for p in pages), "a page could not be read"
    return {name: [tuple(s) for s in value] for name, value in sizes.items()}


def screenshot(html: str, folder: Path, target: Path, height: int = 2400) -> None:
    page = folder / "page.html"
    page.write_text(html, encoding="utf-8")
    chromium(page, "--window-size=1100,%d" % height, f"--screenshot={target}")
    assert target.stat().st_size > 10_000


def assert_laid_out(sizes: list[tuple[float, float, bool]], expected: int) -> None:
    assert len(sizes) == expected
    flat = [n for n, (w, h, mathml) in enumerate(sizes) if not (w > 0 and h > 0 and mathml)]
    assert not flat, f"<math> elements without a rendered size: {flat[:10]}"


def assert_offline(html: str) -> None:
    """A page that needs no network: no src/href to another host, no @import, no script."""
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "<script" not in html and "<link" not in html


@pytest.mark.browser
def test_html_pages_render_every_formula(tmp_path, artifacts):
    pages, expected = [], {}
    for name in ("sigmoid-cross-entropy", "chinese", "relu-linear-nielsen"):
        d = derivation(name)
        html = render(d, "html")
        assert html.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in html
        assert_offline(html)
        page = tmp_path / f"{name}.html"
        page.write_text(html, encoding="utf-8")
        pages.append(page)
        shown = document(d).equations
        expected[page.name] = sum(len(eq.lines) for eq in shown) + len(shown)  # every right side, each left side
        expected[page.name] += html.count('display="inline"')  # and the mathematics in the words
    sizes = math_sizes(pages)
    for name, count in expected.items():
        assert_laid_out(sizes[name], count)
    screenshot(pages[0].read_text(encoding="utf-8"), tmp_path, Path(artifacts) / "derivation-sigmoid-cross-entropy.png")


# --- Markdown and Jupyter


@pytest.mark.parametrize("name", list(NETWORKS))
def test_markdown_blocks_render_on_github_and_jupyter(name):
    md = render(derivation(name), "markdown")
    blocks = re.findall(r"^\$\$\n(.*?)\n\$\$$", md, flags=re.S | re.M)
    assert len(blocks) == len(derivation(name).sections) + 1  # and the summary
    assert md.count("$$") == 2 * len(blocks)  # every $$ on a line of its own, paired
    for block in blocks:
        assert block.startswith(r"\begin{aligned}") and block.endswith(r"\end{aligned}")
        for row in block.splitlines():
            assert not re.match(r"\s*[-+*]\s", row), row  # would start a Markdown list


@pytest.mark.pdflatex
def test_markdown_math_is_latex_that_compiles(tmp_path):
    md = render(derivation("sigmoid-squared-error"), "markdown")
    blocks = re.findall(r"^\$\$\n(.*?)\n\$\$$", md, flags=re.S | re.M)
    body = "\n".join(r"\[ %s \]" % b.replace("δ", r"$\delta$") for b in blocks)
    compile_tex("\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n%s\n\\end{document}\n" % body,
                "pdflatex", tmp_path)


def test_jupyter_displays_the_derivation():
    d = derivation("sigmoid-cross-entropy")
    assert d._repr_markdown_() == render(d, "markdown")
    latex = d._repr_latex_()
    assert latex.startswith("$$") and latex.count("$$") == 2 * len(d.sections)
    assert r"&& \text{" not in latex  # formulas only, no words


# --- the steps read like the slides


def test_cross_entropy_steps_read_like_the_slides():
    doc = document(derive.backprop(derive.Network.from_dict({"layers": [2, 1]})))
    lines = [line.rhs for eq in doc.sections[2].equations for line in eq.lines]
    assert r"-y \cdot \frac{1}{a^{(2)}} - (1 - y) \cdot \frac{1}{1 - a^{(2)}} \cdot (-1)" in lines
    assert r"- \frac{y}{a^{(2)}} + \frac{1 - y}{1 - a^{(2)}}" in lines
    assert r"\frac{- y + a^{(2)} y + a^{(2)} - a^{(2)} y}{a^{(2)} (1 - a^{(2)})}" in lines
    assert lines[-1] == r"a^{(2)} - y"


def test_squared_error_keeps_the_chain_order():
    d = derivation("sigmoid-squared-error")
    last = d.section("output_delta").steps[-1]
    assert document(d).sections[2].equations[-1].lines[-1].rhs == r"(a^{(3)} - y) \circ a^{(3)} \circ (1 - a^{(3)})"
    a, y = sp.symbols("a y")
    assert sp.simplify(d.results.output_delta - (a - y) * a * (1 - a)) == 0
    assert last.rule == "substitute"


@pytest.mark.parametrize(("spec", "shown"), [
    ({}, r"a^{(2)} - y"),
    ({"loss": "squared_error"}, r"(a^{(2)} - y) \circ a^{(2)} \circ (1 - a^{(2)})"),  # the layer's vectors: ∘
    ({"output": "tanh", "loss": "squared_error"}, r"(a^{(2)} - y) \circ (1 - (a^{(2)})^{2})"),
    ({"output": "linear", "loss": "squared_error"}, r"a^{(2)} - y"),
    ({"output": "relu", "loss": "squared_error"}, r"(a^{(2)} - y) \circ \mathbf{1}[z^{(2)} > 0]"),
])
def test_output_error_ends_in_the_form_of_the_slides(spec, shown):
    """The last line of δ^(L): cancelled where something cancels, otherwise the chain's factors in order."""
    doc = document(derive.backprop(derive.Network.from_dict({"layers": [2, 1], **spec})))
    output = next(p for p in doc.sections if p.id == "output_delta")
    assert output.equations[-1].lines[-1].rhs == shown


def test_squared_error_derivative_keeps_the_factor_two():
    doc = document(derive.backprop(derive.Network.from_dict({"layers": [2, 1], "loss": "squared_error"})))
    lines = [line.rhs for eq in doc.sections[2].equations for line in eq.lines]
    assert r"\frac{1}{2} \cdot 2 \cdot (a^{(2)} - y)" in lines


def test_summary_gathers_the_results():
    doc = document(derivation("sigmoid-cross-entropy"))
    shown = [(eq.lhs, eq.lines[0].rhs) for eq in summary(doc).equations]
    assert shown[0] == (r"\delta^{(3)}", r"a^{(3)} - y")
    assert (r"\delta^{(2)}", r"(\Theta^{(2)})^{\mathsf{T}} \delta^{(3)} \circ a^{(2)} \circ (1 - a^{(2)})") in shown
    assert [lhs for lhs, _ in shown].count(r"\Theta^{(l)}_{ij}") == 1 and len(shown) == 7


def test_regularized_gradient_and_update_read_like_the_slides():
    doc = document(derivation("sigmoid-cross-entropy"))
    reg = {line.rule: (eq.lhs, line) for eq in _section(doc, "regularized").equations for line in eq.lines}
    assert reg["accumulate"][1].relation == ":="
    assert reg["accumulate"][1].rhs == r"\Delta^{(l)} + \delta^{(l+1)} (a^{(l)})^{\mathsf{T}}"
    assert r"\frac{1}{m} \Delta^{(l)}_{ij} + \frac{\lambda}{m} \Theta^{(l)}_{ij} & \text{if}\ j \neq 0" in \
        reg["regularization"][1].rhs
    assert r"\text{if}\ j = 0" in reg["regularization"][1].rhs
    update = _section(doc, "update").equations[0].lines[0]
    assert (update.relation, update.rhs) == (":=", r"\Theta^{(l)}_{ij} - \alpha D^{(l)}_{ij}")


# --- golden files

GOLDEN_CASES = [("sigmoid-cross-entropy", "latex", "tex"), ("sigmoid-cross-entropy", "markdown", "md"),
                ("sigmoid-cross-entropy", "html", "html"), ("sigmoid-cross-entropy", "mathml", "xml"),
                ("tanh-softmax", "latex", "tex"), ("relu-linear-nielsen", "markdown", "md"),
                ("chinese", "latex", "tex")]


@pytest.mark.parametrize(("name", "fmt", "suffix"), GOLDEN_CASES)
def test_document_matches_golden_file(name, fmt, suffix):
    path = GOLDEN / f"{name}.{suffix}"
    text_ = render(derivation(name), fmt)
    if REGENERATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text_, encoding="utf-8")
    assert path.exists(), f"{path} is missing; run with DERIVE_REGENERATE=1 to write it"
    assert text_ == path.read_text(encoding="utf-8"), f"{path.name} differs; DERIVE_REGENERATE=1 rewrites it"


def test_pdftoppm_is_there_when_tools_are_required():
    if os.environ.get("DERIVE_REQUIRE_TOOLS") == "1":
        assert shutil.which("pdftoppm")
