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
    d = derive.backprop(derive.Network.from_dict({"layers": [2, 3, 2], **spec}))
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
