"""Shared test helpers. DERIVE_REQUIRE_TOOLS=1 (set by .ci/run) turns a missing tool from a skip into a failure."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from functools import cache
from typing import NoReturn

import pytest
from hypothesis import settings

from .tex_files import tex_files

# property tests draw the same examples on every run, so that CI is reproducible
settings.register_profile("derive", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("derive")

REQUIRE_TOOLS = os.environ.get("DERIVE_REQUIRE_TOOLS") == "1"

# checks proven in earlier processes (derive.engine.derivation.ProvenBefore) are kept in a folder of this run,
# not the user's
os.environ.setdefault("DERIVE_CACHE", tempfile.mkdtemp(prefix="derive-checks-"))

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
TEX_ENGINES = ("pdflatex", "xelatex", "lualatex")
"""a test that needs one of these compiles derive's documents: it needs their TeX packages too"""


def need(tool: str) -> str:
    """The path of ``tool``; skips the test without it, or fails when tools are required (CI). A TeX engine
    also needs every class and package derive's documents load (``need_tex``)."""
    names = CHROMIUM_NAMES if tool == "chromium" else (tool,)
    for name in names:
        path = shutil.which(name)
        if path:
            if tool in TEX_ENGINES:
                need_tex(*tex_files(tool))
            return path
    _missing(f"{tool} is not installed")


def need_tex(*files: str) -> None:
    """Every TeX file (``lmodern.sty``, ``beamer.cls``, …) found by kpsewhich; skips the test otherwise, or
    fails when tools are required (CI), naming the missing files."""
    missing = _tex_missing(tuple(sorted(files)))
    if missing:
        _missing(f"TeX files not installed: {', '.join(missing)} (kpsewhich finds none of them)")


@cache
def _tex_missing(files: tuple[str, ...]) -> tuple[str, ...]:
    kpsewhich = shutil.which("kpsewhich")
    if kpsewhich is None:
        return files
    found = subprocess.run([kpsewhich, *files], capture_output=True, text=True, timeout=60).stdout.split()
    return tuple(f for f in files if not any(path.endswith("/" + f) for path in found))


def _missing(message: str) -> NoReturn:
    if REQUIRE_TOOLS:
        pytest.fail(f"{message}, and DERIVE_REQUIRE_TOOLS=1 requires it")
    pytest.skip(message)


@pytest.fixture
def artifacts() -> str:
    """A folder for test artifacts (screenshots, PDFs): $DERIVE_ARTIFACTS or test-artifacts/."""
    path = os.environ.get("DERIVE_ARTIFACTS", os.path.join(os.path.dirname(__file__), "..", "test-artifacts"))
    os.makedirs(path, exist_ok=True)
    return path
