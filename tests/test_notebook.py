"""examples/backprop.ipynb runs top to bottom in a headless kernel (nbclient + ipykernel), every cell; it is saved
with its outputs, imports only the public API, and has a Chinese cell."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from .conftest import REQUIRE_TOOLS

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "examples" / "backprop.ipynb"


def _need(module: str):
    try:
        return pytest.importorskip(module) if not REQUIRE_TOOLS else __import__(module)
    except ImportError:
        pytest.fail(f"{module} is not installed, and DERIVE_REQUIRE_TOOLS=1 requires it")


@pytest.mark.slow
def test_notebook_runs_without_errors(monkeypatch):
    nbformat = _need("nbformat")
    nbclient = _need("nbclient")
    _need("ipykernel")
    _need("matplotlib")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()   # raises CellExecutionError, naming the cell, if any cell fails
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the cost curve was not plotted"
    assert any("<svg" in o.get("data", {}).get("text/html", "") for o in outputs), "the network was not drawn"


def test_notebook_is_saved_with_its_outputs_and_uses_only_the_public_api():
    nbformat = _need("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code), "the notebook was saved without being run"
    silent = [cell.source for cell in code if not cell.outputs]
    assert all(re.fullmatch(r"(\s*(from \S+ )?import .*)*\s*", s) for s in silent), f"saved without outputs: {silent}"
    assert not [o for cell in code for o in cell.outputs if o.output_type == "error"]
    source = "\n".join(cell.source for cell in code)
    imports = re.findall(r"^\s*(?:from|import) (derive[\w.]*)", source, flags=re.M)
    assert set(imports) <= {"derive", "derive.render"}, imports
    assert not re.findall(r"derive\.(?!Network|backprop|lambdify|render\b)\w+", source)


def test_notebook_has_a_chinese_cell():
    nbformat = _need("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    chinese = [cell for cell in nb.cells if cell.cell_type == "code" and 'language="zh"' in cell.source]
    assert chinese
    shown = "".join(o.get("text", "") + "".join(o.get("data", {}).values() if isinstance(o.get("data"), dict) else "")
                    for cell in chinese for o in cell.outputs)
    assert re.search(r"[\u4e00-\u9fff]", shown), "the Chinese cell's saved output holds no Chinese"


def test_no_output_is_a_whole_page():
    """A cell's HTML output is a fragment (MathML in a <div>, an <svg>), never a page with <html><head>."""
    nbformat = _need("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    pages = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs
             if re.search(r"<(!DOCTYPE|html|head|body)\b", o.get("data", {}).get("text/html", ""), re.I)]
    assert not pages, "a cell shows a whole HTML page"


def test_a_derivation_shows_itself_as_a_fragment():
    import derive

    html = derive.backprop(derive.Network.from_dict({"layers": [2, 1]}))._repr_html_()
    assert html.startswith("<div") and "<math" in html
    assert not re.search(r"<(!DOCTYPE|html|head|body|style)\b", html, re.I)
