"""Writing results: stdout or a file written atomically, never over one of the command's inputs."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .errors import InputError


def emit(text: str, output: str | None, *, inputs: Iterable[str | None] = ()) -> None:
    """Print ``text``, or write it to ``output`` atomically (a temp file, then rename)."""
    if output is None or output == "-":
        sys.stdout.write(text)
        return
    target = Path(output)
    for path in inputs:
        if path and Path(path).exists() and target.exists() and target.resolve() == Path(path).resolve():
            raise InputError(f"-o {output}: is one of the input files; choose another output path")
    write_atomic(target, text)


def write_atomic(target: Path, text: str | bytes) -> None:
    if target.is_dir():
        raise InputError(f"-o {target}: is a directory, expected a file path")
    if not target.parent.exists():
        raise InputError(f"-o {target}: folder {target.parent} does not exist")
    data = text.encode("utf-8") if isinstance(text, str) else text
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
