"""Shared test helpers. DERIVE_REQUIRE_TOOLS=1 (set by .ci/run) turns a missing tool from a skip into a failure."""

from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import settings

# property tests draw the same examples on every run, so that CI is reproducible
settings.register_profile("derive", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("derive")

REQUIRE_TOOLS = os.environ.get("DERIVE_REQUIRE_TOOLS") == "1"

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def need(tool: str) -> str:
    """The path of ``tool``; skips the test without it, or fails when tools are required (CI)."""
    names = CHROMIUM_NAMES if tool == "chromium" else (tool,)
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    message = f"{tool} is not installed"
    if REQUIRE_TOOLS:
        pytest.fail(f"{message}, and DERIVE_REQUIRE_TOOLS=1 requires it")
    pytest.skip(message)


@pytest.fixture
def artifacts() -> str:
    """A folder for test artifacts (screenshots, PDFs): $DERIVE_ARTIFACTS or test-artifacts/."""
    path = os.environ.get("DERIVE_ARTIFACTS", os.path.join(os.path.dirname(__file__), "..", "test-artifacts"))
    os.makedirs(path, exist_ok=True)
    return path
