"""The TeX classes and packages derive's documents load, read from derive's own source (every
``\\documentclass{…}`` and ``\\usepackage{…}`` in it), so that a new package is checked for without a list
to update. Used by ``conftest.need`` and by ``.ci/run`` (``python3 tests/tex_files.py`` prints them).
No dependencies: it runs before anything is installed."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "derive"
LOADS = re.compile(r"\\+(usepackage|documentclass)(?:\[[^\]]*\])?\{([^}]*)\}")
NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
SUFFIX = {"documentclass": ".cls", "usepackage": ".sty"}
CJK = "ctex"
"""files of this prefix are loaded only by the Chinese documents, which xelatex compiles"""


def tex_files(engine: str = "xelatex") -> tuple[str, ...]:
    """The .cls and .sty files the documents compiled by ``engine`` load (pdflatex: all but the Chinese ones)."""
    found = set()
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix not in (".py", ".j2", ".tex"):
            continue
        for kind, names in LOADS.findall(path.read_text(encoding="utf-8", errors="replace")):
            found.update(name.strip() + SUFFIX[kind] for name in names.split(",") if NAME.fullmatch(name.strip()))
    return tuple(sorted(f for f in found if engine == "xelatex" or not f.startswith(CJK)))


if __name__ == "__main__":
    print(" ".join(tex_files()))
