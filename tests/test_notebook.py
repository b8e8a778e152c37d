"""examples/backprop.ipynb runs top to bottom in a headless kernel (nbclient + ipykernel), every cell."""

from __future__ import annotations

import os
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
    assert any("image/svg+xml" in o.get("data", {}) for o in outputs), "the network was not drawn"


def test_notebook_is_valid_and_stored_without_outputs():
    nbformat = _need("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")
