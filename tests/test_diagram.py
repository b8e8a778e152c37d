"""Network diagrams: the layout table, TikZ compiled by pdflatex/xelatex, SVG parsed as XML and rendered
by headless Chromium (PNGs of both land in the artifacts folder, to be looked at)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import xml.etree.ElementTree as ET

import pytest

from derive import Network
from derive.render import network_diagram as diagram
from derive.render.network_diagram import MAX_UNITS, layout, network_svg, network_tikz, svg_symbol

from .conftest import need

SVG = "{http://www.w3.org/2000/svg}"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def net(layers, **spec):
    return Network.from_dict({"layers": list(layers), **spec})


@pytest.mark.parametrize(("layers", "drawn"), [
    ([3, 5, 5, 4], [4, 6, 6, 4]),               # bias on every layer but the last
    ([2, 1], [3, 1]),
    ([6, 7, 1], [7, 7, 1]),                     # 7 units: 4 shown, the ellipsis, the last
    ([100, 3], [7, 3]),
])
def test_layout_caps_the_drawn_units(layers, drawn):
    lay = layout(net(layers))
    assert [len(c) for c in lay.columns] == drawn
    for column, size in zip(lay.columns, layers):
        units = [s.index for s in column if s.kind == "unit"]
        assert units[0] == 1 and units[-1] == size
        assert (size > MAX_UNITS) == any(s.kind == "dots" for s in column)


def test_edges_join_neighbouring_layers_and_never_enter_a_bias():
    lay = layout(net([3, 5, 2]))
    edges = lay.edges()
    assert len(edges) == 4 * 5 + 6 * 2  # (s_l + 1) · s_{l+1} drawn connections
    assert all(b.layer == a.layer + 1 and b.kind == "unit" for a, b in edges)


@pytest.mark.parametrize(("tex", "want"), [
    (r"\Theta^{(1)}", ("Θ", "(1)", "")),
    ("w^{2}", ("w", "2", "")),
    ("a^{(2)}_{1}", ("a", "(2)", "1")),
    ("x_{10}", ("x", "", "10")),
    ("+1", ("+1", "", "")),
])
def test_svg_symbol(tex, want):
    assert svg_symbol(tex) == want


def test_svg_symbol_refuses_what_it_cannot_write():
    from derive.errors import NotSupportedError

    with pytest.raises(NotSupportedError):
        svg_symbol(r"\frac{\partial C}{\partial w}")


def _texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(SVG + "text")]


@pytest.mark.parametrize(("spec", "weights", "names"), [
    ({"layers": [3, 5, 5, 4]}, ["Θ(1)", "Θ(2)", "Θ(3)"], ["Layer 1", "Layer 2", "Layer 3", "Layer 4"]),
    ({"layers": [10, 8, 1], "notation": "nielsen", "language": "zh"}, ["w2", "w3"], ["第1层", "第2层", "第3层"]),
])
def test_svg_is_well_formed_and_labelled(spec, weights, names):
    network = Network.from_dict(spec)
    root = ET.fromstring(network_svg(network))
    assert root.tag == SVG + "svg" and float(root.get("width")) > 0 and float(root.get("height")) > 0
    texts = _texts(root)
    assert texts.count("+1") == (network.L - 1 if network.notation == "ng" else 0)  # nielsen: b^l is no unit
    for label in weights + names:
        assert label in texts
    assert len(root.findall(f"{SVG}circle")) == sum(len([s for s in c if s.kind != "dots"])
                                                    for c in layout(network).columns)


def test_svg_escapes_its_text(monkeypatch):
    monkeypatch.setattr(diagram, "layer_name", lambda net, layer: f"<Layer & \"{layer}\">")
    root = ET.fromstring(network_svg(net([2, 2])))
    assert '<Layer & "1">' in _texts(root)


def test_tikz_labels_come_from_the_profile_and_the_catalogue():
    ng, nielsen = network_tikz(net([3, 5, 5, 4])), network_tikz(net([3, 5, 5, 4], notation="nielsen", language="zh"))
    assert r"$\Theta^{(1)}$" in ng and "{Layer 4}" in ng and "+1" in ng
    assert "$w^{2}$" in nielsen and "{第4层}" in nielsen and r"\Theta" not in nielsen


def _compile(tex_body: str, engine: str, packages: str, artifacts: str, name: str) -> str:
    program = need(engine)
    need("pdftoppm")
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "d.tex")
        with open(src, "w", encoding="utf-8") as f:
            f.write("\\documentclass[border=4pt]{standalone}\n%s\\usepackage{tikz}\n\\begin{document}\n%s"
                    "\\end{document}\n" % (packages, tex_body))
        run = subprocess.run([program, "-interaction=nonstopmode", "-halt-on-error", "d.tex"], cwd=tmp,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout[-3000:]
        png = os.path.join(artifacts, name)
        subprocess.run(["pdftoppm", "-png", "-r", "110", "-singlefile", os.path.join(tmp, "d.pdf"), png],
                       check=True, timeout=60)
        return png + ".png"


@pytest.mark.pdflatex
def test_tikz_compiles_with_pdflatex(artifacts):
    png = _compile(network_tikz(net([3, 5, 5, 4])), "pdflatex", "", artifacts, "diagram-ng-en")
    assert os.path.getsize(png) > 1000


@pytest.mark.pdflatex
def test_tikz_compiles_with_xelatex_in_chinese(artifacts):
    body = network_tikz(net([10, 8, 1], notation="nielsen", language="zh"))
    png = _compile(body, "xelatex", "\\usepackage{ctex}\n", artifacts, "diagram-nielsen-zh")
    assert os.path.getsize(png) > 1000


def _chromium(args: list[str], timeout: int = 90) -> subprocess.CompletedProcess:
    program = need("chromium")
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([program, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout)


@pytest.mark.browser
def test_svg_renders_in_chromium_with_a_size(artifacts):
    network = net([3, 5, 5, 4])
    page = ("<!doctype html><html><head><meta charset='utf-8'></head><body style='margin:0'>%s"
            "<script>const r = document.querySelector('svg').getBoundingClientRect();"
            "document.body.setAttribute('data-size', JSON.stringify([r.width, r.height]));</script>"
            "</body></html>" % network_svg(network))
    path = os.path.join(artifacts, "diagram-ng-en.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    dom = _chromium(["--dump-dom", "file://" + os.path.abspath(path)]).stdout
    m = re.search(r'data-size="([^"]*)"', dom)
    assert m, dom[:500]
    width, height = json.loads(m.group(1).replace("&quot;", '"'))
    assert width > 100 and height > 100
    shot = os.path.join(artifacts, "diagram-ng-en-svg.png")
    _chromium([f"--screenshot={shot}", "--window-size=700,480", "file://" + os.path.abspath(path)])
    assert os.path.getsize(shot) > 1000
