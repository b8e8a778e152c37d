"""The documents of layered networks (SPEC §9, issue 15): every tensor's shape stated, the landmarks in the
lecturer's notation, the flipped-kernel and network figures drawn from the layer's own sizes, HTML that parses
as XML with MathML, Beamer frames that fit, and the CNN and batch-norm lectures in the lecture set."""

from __future__ import annotations

import os
import re
import subprocess
import xml.etree.ElementTree as ET
from functools import lru_cache

import pytest

from derive.document import Figure, Paragraph, Table
from derive.document import Math as MathRun
from derive.document.derivation import build
from derive.document.lecture_set import BATCHNORM, CNN, derived, network
from derive.layers import LayeredNetwork
from derive.render import layered_figures as figures
from derive.render import render

from .conftest import need
from .test_typesetting import overfull

SVG = "{http://www.w3.org/2000/svg}"


@lru_cache(maxsize=2)
def _derivation(which: str):
    return derived(network(CNN if which == "cnn" else BATCHNORM))


def _maths(p: Paragraph) -> list[str]:
    return [r.tex for r in p.runs if isinstance(r, MathRun)]


def _member(letter: str, shape: tuple[int, ...]) -> str:
    return r"%s \in \mathbb{R}^{%s}" % (letter, r" \times ".join(map(str, shape)))


@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_tensor_shape_is_stated(language: str) -> None:
    net = network(CNN)
    doc = build(_derivation("cnn"), language=language)
    forward = next(s for s in doc.sections if s.id == "forward")
    table = next(b for b in forward.blocks if isinstance(b, Table))
    cells = " ".join(t for row in table.rows for cell in row for t in _maths(cell))
    assert _member("a^{(1)}", (1, 6, 6)) in cells
    assert _member(r"K^{(1)}", (2, 1, 3, 3)) in cells and _member("b^{(1)}", (2,)) in cells
    assert _member(r"z^{(2)}, a^{(2)}, \delta^{(2)}", (2, 4, 4)) in cells
    assert _member(r"W^{(4)}", (3, 8)) in cells
    for layer in net.stack:  # each layer's section: its input, its parameters, the error it receives
        section = next(s for s in doc.sections if s.id == f"layer{layer.index}")
        shapes = " ".join(t for b in section.blocks if isinstance(b, Paragraph) for t in _maths(b))
        assert _member(f"a^{{({layer.index})}}", layer.input) in shapes
        assert _member(rf"\delta^{{({layer.index + 1})}}", layer.output) in shapes
        for name, shape in layer.parameters:
            assert _member(f"{name}^{{({layer.index})}}", shape) in shapes


def test_the_landmarks_in_the_lecturers_notation() -> None:
    tex = render(_derivation("cnn"), "latex")
    # one cross-correlation ⋆ throughout: the δ passed back is padded δ ⋆ the rotated kernel (the full convolution
    # of δ with K), ∂J/∂K the input ⋆ δ; no convolution symbol that would rotate the kernel twice
    assert r"(\operatorname{pad}_{2}(\delta^{(2)}) \star \operatorname{rot}_{180^{\circ}}(K^{(1)}))_{c,i,j}" in tex
    assert r"(a^{(1)} \star \delta^{(2)})_{o,c,u,v}" in tex
    assert r"\ast" not in tex and r"\operatorname{crop}" not in tex and r"\operatorname{dilate}" not in tex
    assert r"\operatorname{ReLU}(z^{(2)})" in tex and r"\operatorname{softmax}(z^{(5)})" in tex  # not g for both
    assert r"\sum_{p,\,q} \delta^{(2)}_{o,p,q}" in tex
    assert r"\mathbf{1}_{\max} \circ \operatorname{up}_{2}(\delta^{(3)})" in tex
    assert r"\delta^{(5)} &= a^{(5)} - y" in tex
    assert r"\operatorname{full\_conv}" not in tex and r"\operatorname{dJ}" not in tex  # no raw operation names
    bn = render(_derivation("batchnorm"), "latex")
    # example i (r in the sums), feature j: the same letters in the chain rule and the three-term formula
    assert r"\frac{\partial J}{\partial a^{(2)}_{i,j}} &= \sum_{r} \frac{\partial J}{\partial a^{(3)}_{r,j}}" in bn
    assert (r"\frac{\gamma^{(2)}_{j}}{m \hat{\sigma}^{(2)}_{j}} \left(m \delta^{(3)}_{i,j} - \sum_{r=1}^{m} "
            r"\delta^{(3)}_{r,j} - \hat{x}^{(2)}_{i,j} \sum_{r=1}^{m} \delta^{(3)}_{r,j} "
            r"\hat{x}^{(2)}_{r,j}\right)") in bn
    assert r"\frac{\partial J}{\partial \beta^{(2)}_{j}} &= \sum_{r=1}^{m} \delta^{(3)}_{r,j}" in bn
    # μ, σ², σ̂ and x̂ are defined in the forward pass, before the rule uses them
    assert bn.index(r"\mu^{(2)}_{j} &=") < bn.index(r"\hat{x}^{(2)}_{i,j} &=") < bn.index(r"\sum_{r=1}^{m}")


def test_the_summary_gathers_every_layers_rule() -> None:
    doc = build(_derivation("cnn"))
    summary = doc.sections[-1]
    assert summary.id == "summary"
    lhs = [eq.lhs for eq in summary.equations]
    for name in (r"\partial K^{(1)}", r"\partial b^{(1)}", r"\partial W^{(4)}", r"\partial a^{(2)}", r"\delta^{(5)}"):
        assert any(name in x for x in lhs), (name, lhs)


def test_the_figures_of_a_cnn_document() -> None:
    doc = build(_derivation("cnn"))
    assert doc.figure is not None and doc.figure.kind == "layers"
    conv = next(s for s in doc.sections if s.id == "layer1")
    kernel = [b for b in conv.blocks if isinstance(b, Figure)]
    assert [f.kind for f in kernel] == ["flipped_kernel"] and kernel[0].caption is not None
    assert all(not isinstance(b, Figure) for s in doc.sections if s.id != "layer1" for b in s.blocks)


def _conv(kernel: int, stride: int, size: int = 6) -> LayeredNetwork:
    return LayeredNetwork.from_dict({"input": [1, size, size], "layer": [
        {"kind": "conv2d", "channels": 2, "kernel": kernel, "stride": stride},
        {"kind": "flatten"}, {"kind": "dense", "units": 2, "activation": "softmax"}]})


@pytest.mark.parametrize(("kernel", "stride", "size"), [(3, 1, 6), (5, 1, 9), (2, 2, 6), (3, 2, 7)])
def test_the_flipped_kernel_is_drawn_from_the_layers_sizes(kernel: int, stride: int, size: int) -> None:
    layer = _conv(kernel, stride, size).stack[0]
    _, ho, wo = layer.output
    dilated = (ho - 1) * stride + 1, (wo - 1) * stride + 1
    padded = (dilated[0] + 2 * (kernel - 1)) * (dilated[1] + 2 * (kernel - 1))
    svg = ET.fromstring(figures.kernel_svg(layer))
    rects = svg.findall(f"{SVG}rect")
    assert len(rects) == 2 * kernel * kernel + padded + 1  # K, K rotated, δ padded (and dilated), the window
    labels = ["".join(t.itertext()) for t in svg.iter(f"{SVG}text")]
    k = kernel - 1
    if kernel <= 10:  # the rotated kernel's first cell is K_{k-1,k-1}, its last K_{0,0}
        rotated = labels[2 * kernel * kernel // 2: kernel * kernel * 2]
        assert rotated[0] == f"K{k}{k}" and rotated[-1] == "K00"
    tikz = figures.kernel_tikz(layer)
    assert tikz.count("rectangle") == 2 * kernel * kernel + padded + 1
    assert r"\operatorname{pad}_{%d}" % k in tikz


def test_the_network_diagram_has_a_box_per_layer_with_its_shapes() -> None:
    for per_row in (3, 4):
        net = network(CNN)
        svg = ET.fromstring(figures.layers_svg(net, per_row))
        assert len(svg.findall(f"{SVG}rect")) == len(net.stack)
        text = " ".join("".join(t.itertext()) for t in svg.iter(f"{SVG}text"))
        for shape in ("1×6×6", "2×4×4", "2×2×2", "K(1):2×1×3×3", "W(4):3×8"):
            assert shape in text.replace(" ", ""), (shape, text)
        tikz = figures.layers_tikz(net, per_row)
        assert tikz.count(r"\node[layer]") == len(net.stack)
        scale = float(re.search(r"scale=([\d.]+)", tikz).group(1))
        assert scale * figures._size(net, per_row)[0] <= figures.WIDTH + 1e-9


@pytest.mark.parametrize("language", ["en", "zh"])
def test_html_parses_as_xml_with_mathml_and_both_figures(language: str) -> None:
    page = render(_derivation("cnn"), "html", language=language)
    body = page[page.index("<body"):page.index("</body>") + len("</body>")]
    root = ET.fromstring(body.replace("&nbsp;", "&#160;"))
    maths = root.findall(".//{http://www.w3.org/1998/Math/MathML}math") or root.findall(".//math")
    assert len(maths) > 50
    svgs = root.findall(f".//{SVG}svg")
    assert {s.get("class") for s in svgs} >= {"derive-layers", "derive-kernel"}


def _frames(tex: str) -> list[str]:
    return re.findall(r"\\begin\{frame\}.*?\\end\{frame\}", tex, re.S)


@pytest.mark.parametrize("which", ["cnn", "batchnorm"])
def test_beamer_frames_are_short_and_labels_small_or_larger(which: str) -> None:
    tex = render(_derivation(which), "beamer")
    for frame in _frames(tex):
        rows = re.findall(r"\\begin\{aligned\}(.*?)\\end\{aligned\}", frame, re.S)
        assert all(r.count(r"\\[0.8ex]") + 1 <= 7 for r in rows), frame[:200]
        words = re.sub(r"\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", "", frame, flags=re.S)
        assert not re.search(r"\\(footnotesize|scriptsize|tiny)\b", words), frame[:200]


@pytest.mark.pdflatex
@pytest.mark.parametrize(("which", "language", "fmt"), [("cnn", "en", "beamer"), ("cnn", "zh", "beamer"),
                                                        ("cnn", "en", "latex"), ("batchnorm", "zh", "latex"),
                                                        ("batchnorm", "en", "beamer")])
def test_the_documents_compile_without_overfull_boxes(tmp_path, artifacts, which: str, language: str,
                                                      fmt: str) -> None:
    program = need("xelatex" if language == "zh" else "pdflatex")
    (tmp_path / "d.tex").write_text(render(_derivation(which), fmt, language=language), encoding="utf-8")
    for _ in range(2 if fmt == "beamer" else 1):
        run = subprocess.run([program, "-interaction=nonstopmode", "-halt-on-error", "d.tex"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout[-2000:]
    log = (tmp_path / "d.log").read_text(encoding="utf-8", errors="replace")
    assert not overfull(log), overfull(log)
    if shutil_which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "50", "-l", "3", str(tmp_path / "d.pdf"),
                        os.path.join(artifacts, f"layered-{which}-{language}-{fmt}")], check=True, timeout=300)


def shutil_which(name: str) -> str | None:
    import shutil

    return shutil.which(name)


def test_the_lecture_set_lists_the_cnn_and_batch_norm_lectures() -> None:
    from derive.document.lecture_set import ENTRIES

    names = {e.name for e in ENTRIES}
    assert {"cnn", "cnn-zh", "slides-cnn", "slides-cnn-zh", "batchnorm", "batchnorm-zh", "slides-batchnorm",
            "slides-batchnorm-zh"} <= names
    outputs = os.path.join(os.path.dirname(__file__), "..", "outputs")
    index = open(os.path.join(outputs, "index.html"), encoding="utf-8").read()
    for name in ("cnn.html", "cnn-zh.tex", "slides-cnn.tex", "batchnorm.md", "batchnorm-zh.json",
                 "slides-batchnorm-zh.tex"):
        assert os.path.exists(os.path.join(outputs, name)) and f'href="{name}"' in index, name


def test_markdown_draws_the_layers_as_a_mermaid_flowchart() -> None:
    text = render(_derivation("cnn"), "markdown")
    chart = text[text.index("```mermaid"):text.index("```", text.index("```mermaid") + 3)]
    assert chart.count('  L') >= 2 * len(network(CNN).stack)  # a box and an arrow per layer
    assert '"a(1): 1×6×6"' in chart and "K(1): 2×1×3×3" in chart and '"a(5): 3"' in chart


def test_mean_pooling_spreads_delta_over_size_squared() -> None:
    from derive.layers.display import Operation, TensorName
    from derive.model.notation import PROFILES
    from derive.render.tex import MathPrinter

    shown = MathPrinter(PROFILES["ng"]).doprint(Operation("spread", TensorName("delta", 3), 3))
    assert shown == r"\frac{1}{9} \operatorname{up}_{3}(\delta^{(3)})"
