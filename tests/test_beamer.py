"""Beamer slides: compiled with pdflatex (English) and xelatex (Chinese), one frame per idea, overlays."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from functools import cache

import pytest

import derive
from derive.cli import main
from derive.errors import NotSupportedError
from derive.render import FORMATS, render
from derive.render.latex import engine

from .conftest import need


@cache
def _deck(**spec: object) -> tuple[derive.Derivation, str]:
    d = derive.backprop(derive.Network.from_dict({"layers": [2, 3, 2], **{k: list(v) if isinstance(v, tuple) else v
                                                                        for k, v in spec.items()}}))
    return d, render(d, "beamer")


def test_one_frame_per_equation_with_every_step_on_its_own_overlay():
    d, deck = _deck()
    frames = re.findall(r"\\begin\{frame\}(.*?)\\end\{frame\}", deck, re.S)
    assert len(frames) >= len(d.sections) + 2          # title, diagram, every section at least once
    assert r"\begin{tikzpicture}" in frames[1]          # the network early on
    longest = max(len(re.findall(r"\\uncover<(\d+)->", f)) for f in frames)
    assert longest >= 5
    for frame in frames:                                # overlays count up from 1 without gaps
        shown = sorted({int(n) for n in re.findall(r"\\uncover<(\d+)->", frame)})
        assert shown == list(range(1, len(shown) + 1))
    assert deck.count(r"\uncover<") >= 3 * len(d.steps) - 3   # lhs, rhs and words of (nearly) every step


def test_formats_table_and_options():
    assert FORMATS["beamer"] == "derive.render.beamer"
    d, _ = _deck()
    assert not render(d, "beamer", body=True).lstrip().startswith(r"\documentclass")
    with pytest.raises(NotSupportedError, match="unknown option"):
        render(d, "beamer", colour="red")


def _compile(deck: str, program: str, artifacts: str, name: str) -> int:
    """Compile the deck, keep page 1 and a derivation page as PNGs; the number of pages."""
    path = need(program)
    need("pdftoppm")
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "deck.tex"), "w", encoding="utf-8") as f:
            f.write(deck)
        run = subprocess.run([path, "-interaction=nonstopmode", "-halt-on-error", "deck.tex"], cwd=tmp,
                             capture_output=True, text=True, timeout=180)
        assert run.returncode == 0, run.stdout[-3000:]
        pages = int(re.search(r"\((\d+) pages?", run.stdout).group(1))
        pdf = os.path.join(tmp, "deck.pdf")
        for page in (2, 12):
            subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", str(page), "-l", str(page), "-singlefile", pdf,
                            os.path.join(artifacts, f"{name}-{page}")], check=True, timeout=60)
        return pages


@pytest.mark.pdflatex
def test_english_deck_compiles_with_pdflatex(artifacts):
    d, deck = _deck()
    assert engine(d.network.language) == "pdflatex"
    frames = deck.count(r"\begin{frame}")
    assert _compile(deck, "pdflatex", artifacts, "beamer-en") > frames   # the overlays made pages


@pytest.mark.pdflatex
def test_chinese_nielsen_deck_compiles_with_xelatex(artifacts):
    d, deck = _deck(language="zh", notation="nielsen", loss="squared_error")
    assert engine(d.network.language) == "xelatex"
    assert "误差反向传播" in deck and "BP1" in deck and "链式法则" in deck
    assert _compile(deck, "xelatex", artifacts, "beamer-zh") > deck.count(r"\begin{frame}")


def test_command_line_writes_a_deck(tmp_path):
    net = tmp_path / "net.toml"
    net.write_text('layers = [2, 2, 1]\nloss = "squared_error"\n', encoding="utf-8")
    out = tmp_path / "deck.tex"
    assert main(["derivation", str(net), "--format", "beamer", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith(r"\documentclass")


def _frames(deck: str) -> list[tuple[str, str]]:
    """(title, body) of every frame with a title."""
    return re.findall(r"\\begin\{frame\}\{((?:[^{}]|\{(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*\})*)\}\n(.*?)\\end\{frame\}",
                      deck, re.S)


@pytest.mark.parametrize("spec", [{}, {"language": "zh", "notation": "nielsen", "loss": "squared_error"},
                                  {"layers": (2, 3, 3, 2), "activation": "tanh"}])
def test_algorithm_frames_are_the_loop_over_the_examples_with_the_documents_results(spec):
    from derive.catalogue import catalogue
    from derive.document.derivation import build
    from derive.render.beamer import ALGORITHM_LINES

    d, deck = _deck(**spec)
    doc = build(d)
    words = catalogue(doc.language)
    title = words.word("beamer", "algorithm")
    algorithm = [body for t, body in _frames(deck) if t in (title, words.word("beamer", "continued", title=title))]
    assert algorithm, "no algorithm frame"
    text = "".join(algorithm)
    assert all(body.count("\\par\\smallskip") <= ALGORITHM_LINES for body in algorithm)
    count = "n" if spec.get("notation") == "nielsen" else "m"
    assert "i = 1, \\dots, %s" % count in algorithm[0]
    summary = next(s for s in doc.sections if s.id == "summary")
    for eq in summary.equations:  # every result, its right side as derived: the output and hidden errors, Δ, D
        assert "%s %s %s" % (eq.lhs, "\\mathrel{:=}" if eq.lines[-1].relation == ":=" else "=", eq.lines[-1].rhs) \
            in text or eq.lhs.startswith("\\frac{\\partial")
    update = next(s for s in doc.sections if s.id == "update")
    assert all(eq.lhs in text for eq in update.equations)
    loop, after = text.index("i = 1"), text.index("$\\displaystyle %s \\mathrel{:=}" % update.equations[0].lhs)
    deltas = [text.index(eq.lhs + " = ") for eq in summary.equations if eq.lhs.startswith("\\delta")]
    assert loop < min(deltas) and max(deltas) < after       # the errors inside the loop, the update after it


def test_continued_frames_say_so_and_recall_the_goal():
    from derive.catalogue import catalogue

    d, deck = _deck()
    words = catalogue("en")
    frames = _frames(deck)
    titles = [t for t, _ in frames]
    heading = r"The output error ${\delta^{(3)}}$"
    assert titles.count(heading) == 1 and titles.count(words.word("beamer", "continued", title=heading)) >= 2
    for title, body in frames:
        if title.startswith("The output error") and title != heading:
            assert (r"\framesubtitle{\small Goal: $\displaystyle \delta^{(3)} = \frac{\partial J}{\partial z^{(3)}}$}"
                    in body), "the goal recalled at least \\small, as a display"
    for _, body in frames:  # at most LINES_PER_FRAME rows of a derivation, and a rule's words \small
        if "aligned" not in body:
            continue
        assert body.count("\\\\[0.8ex]") < 7
        assert "\\footnotesize" not in body and "\\scriptsize" not in body


@pytest.mark.pdflatex
def test_no_frame_shrinks_its_mathematics(artifacts):
    """The rules' words stay \\small: no equation block is scaled down to fit its frame (measured in TeX)."""
    path = need("pdflatex")
    _, deck = _deck(layers=(3, 5, 5, 4))
    measure = ("\\newsavebox\\measured\\newcommand\\measure[1]{\\sbox\\measured{#1}\\typeout{MEASURED "
               "\\the\\wd\\measured\\space\\the\\ht\\measured\\space\\the\\dp\\measured\\space\\the\\linewidth"
               "\\space\\the\\textheight}\\usebox\\measured}\n\\begin{document}")
    boxed = deck.replace("\\begin{document}", measure)
    boxed = boxed.replace("\\adjustbox{max width=\\linewidth, max totalheight=0.72\\textheight}{", "\\measure{")
    assert boxed.count("\\measure{") >= 10
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "deck.tex"), "w", encoding="utf-8") as f:
            f.write(boxed)
        run = subprocess.run([path, "-interaction=nonstopmode", "-halt-on-error", "deck.tex"], cwd=tmp,
                             capture_output=True, text=True, timeout=180)
        assert run.returncode == 0, run.stdout[-3000:]
        with open(os.path.join(tmp, "deck.log"), encoding="utf-8", errors="replace") as f:
            sizes = re.findall(r"MEASURED ([\d.]+)pt ([\d.]+)pt ([\d.]+)pt ([\d.]+)pt ([\d.]+)pt", f.read())
    assert len(sizes) >= 10
    for wide, high, deep, line, text in (tuple(map(float, s)) for s in sizes):
        assert wide <= line and high + deep <= 0.72 * text, (wide, high, deep, line, text)


@pytest.mark.parametrize(("words", "kept"), [
    ("改写为该层的反向传播规则", r"\mbox{传播规则}"),                      # a rule label: no lone 则
    ("求和遍历批量中特征 𝑗 的 𝑚 个值 𝑟。", r"\mbox{值 ${r}$。}"),            # a short formula counts as one character
    ("偏置的梯度就是误差本身：∂𝐽/∂𝑏^(2) = δ^(3)。", r"\mbox{。}"),          # a long one is never boxed
    ("该层的输出（定义）", r"\mbox{出（定义）}"),                              # a box never opens with a bracket
])
def test_the_last_characters_of_a_chinese_line_stay_together(words, kept):
    from derive.document.words import paragraph
    from derive.render.beamer import PRINTER

    printer = PRINTER()
    printer.language = "zh"
    tex = printer.kept(paragraph(words))
    assert tex.endswith(kept) and tex.count(r"\mbox") == 1
    assert tex.replace(r"\mbox{", "").replace("}", "") == printer.runs(paragraph(words)).replace("}", "")
    printer.language = "en"
    assert r"\mbox" not in printer.kept(paragraph("rewritten as the layer's backward rule"))
