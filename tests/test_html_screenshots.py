"""Every HTML page of a fresh lecture set, in Chromium: each is kept as a screenshot in test-artifacts/ (as
test_typesetting keeps every PDF page), is not blank, and is no wider than the window (no horizontal
overflow: nothing runs off the right edge for a reader to scroll to)."""

from __future__ import annotations

import json
import os
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from derive.cli import main

from .conftest import need
from .test_documents import chromium

WIDTH, HEIGHT = 1100, 1600
"""the window: a lecturer's laptop screen"""
WORKERS = 2

HARNESS = """<!DOCTYPE html>
<html><body>
%s
<script>
window.addEventListener("load", () => {
  const out = {};
  for (const frame of document.querySelectorAll("iframe")) {
    const doc = frame.contentDocument;
    if (doc === null) { out[frame.getAttribute("src")] = null; continue; }
    const root = doc.documentElement, view = root.clientWidth;
    const wide = [...doc.body.querySelectorAll("*")].filter(e => {
      const r = e.getBoundingClientRect();
      return r.width > 0 && r.right > view + 1;
    }).map(e => e.tagName.toLowerCase() + (e.className && e.className.baseVal === undefined ? "." + e.className : ""));
    out[frame.getAttribute("src")] = {scroll: root.scrollWidth, view: view, wide: wide.slice(0, 5),
                                      text: doc.body.innerText.trim().length};
  }
  const pre = document.createElement("pre");
  pre.id = "derive-overflow";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
</body></html>
"""
"""loads every page in a frame as wide as the window and writes, per page, how wide its content is"""


def not_blank(png: Path) -> float:
    """The share of the screenshot's pixels that are not the background colour."""
    image = pytest.importorskip("PIL.Image").open(png).convert("L")
    histogram = image.histogram()
    background = max(range(256), key=histogram.__getitem__)
    return 1 - histogram[background] / sum(histogram)


def overflow(pages: list[Path]) -> dict[str, dict]:
    folder = pages[0].parent
    frames = "\n".join(f'<iframe src="{p.name}" width="{WIDTH}" height="{HEIGHT}"></iframe>' for p in pages)
    harness = folder / "overflow-harness.html"
    harness.write_text(HARNESS % frames, encoding="utf-8")
    dom = chromium(harness, "--allow-file-access-from-files", "--virtual-time-budget=10000", "--dump-dom")
    found = re.search(r'<pre id="derive-overflow">(.*?)</pre>', dom, flags=re.S)
    assert found, dom[-500:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def test_not_blank_tells_an_empty_page(tmp_path):
    image = pytest.importorskip("PIL.Image")
    blank = tmp_path / "blank.png"
    image.new("RGB", (200, 100), "white").save(blank)
    assert not_blank(blank) == 0


@pytest.mark.browser
def test_every_lecture_page_renders_without_overflow(artifacts):
    need("chromium")
    pytest.importorskip("PIL.Image")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "lecture"
        assert main(["lecture", "--out", str(out)]) == 0
        pages = sorted(out.glob("*.html"))
        assert any(p.name == "index.html" for p in pages) and any(p.name.endswith("-zh.html") for p in pages)
        for name in os.listdir(artifacts):  # screenshots of an earlier run must not pass for this one's
            if name.startswith("screenshot-"):
                os.remove(os.path.join(artifacts, name))

        def shoot(page: Path) -> tuple[str, float]:
            target = Path(artifacts) / f"screenshot-{page.stem}.png"
            chromium(page, f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={target}")
            return page.name, not_blank(target)

        with ThreadPoolExecutor(WORKERS) as pool:
            inked = dict(pool.map(shoot, pages))
        widths = overflow(pages)
    blank = {name: share for name, share in inked.items() if share < 0.01}
    assert not blank, f"screenshots (almost) blank: {blank}"
    unread = [p.name for p in pages if not widths.get(p.name) or widths[p.name]["text"] < 100]
    assert not unread, f"pages Chromium could not read or that show no text: {unread}"
    wide = {name: w for name, w in widths.items() if w["scroll"] > w["view"] or w["wide"]}
    assert not wide, f"pages wider than the {WIDTH}px window: {wide}"


@pytest.mark.browser
def test_overflow_tells_a_wide_page(tmp_path):
    need("chromium")
    (tmp_path / "wide.html").write_text('<html><body><div style="width:3000px">wide</div></body></html>')
    (tmp_path / "narrow.html").write_text("<html><body><p>narrow</p></body></html>")
    widths = overflow([tmp_path / "wide.html", tmp_path / "narrow.html"])
    assert widths["wide.html"]["scroll"] > WIDTH and widths["wide.html"]["wide"] == ["div"]
    assert widths["narrow.html"]["scroll"] <= widths["narrow.html"]["view"] and not widths["narrow.html"]["wide"]
