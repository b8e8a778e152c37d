"""Writing results: stdout or a file written atomically, never over one of the command's inputs."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .errors import InputError


def emit(text: str, output: str | None, *, inputs: Iterable[str | Path | None] = ()) -> None:
    """Print ``text``, or write it to ``output`` atomically (a temp file, then rename)."""
    if output is None or output == "-":
        sys.stdout.write(text)
        return
    target = Path(output)
    refuse_inputs(target, inputs)
    write_atomic(target, text)


def refuse_inputs(target: Path, inputs: Iterable[str | Path | None]) -> None:
    """Refuse ``target`` when it is (a path, a link or a hard link to) one of the input files."""
    if not target.exists():
        return
    for path in inputs:
        if path and Path(path).exists() and _same(target, Path(path)):
            raise InputError(f"-o {target}: is one of the input files ({path}); choose another output path")


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def write_atomic(target: Path, text: str | bytes) -> None:
    """Write ``text`` to ``target`` so that a reader sees the old file or the new one, never a part.

    The data goes to a temp file in the same folder, is flushed to disk, then renamed over the target;
    any failure removes the temp file and leaves the target as it was.
    """
    target = Path(target)
    if target.is_dir():
        raise InputError(f"-o {target}: is a directory, expected a file path")
    folder = target.parent
    if not folder.is_dir():
        raise InputError(f"-o {target}: folder {folder} does not exist")
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as e:
        raise InputError(f"-o {target}: cannot write in {folder} ({e.strerror or e})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _mode(target))
        os.replace(tmp, target)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise InputError(f"-o {target}: cannot write ({e.strerror or e})") from None
        raise


def _mode(target: Path) -> int:
    """The permissions a plain ``open(target, "w")`` would give: the old file's, or 0o666 less the umask."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
