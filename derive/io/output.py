"""Writing results: stdout or a file written atomically, never over one of the command's inputs.

What ``-o PATH`` does with what is already at PATH (README, "Errors and limits"):

- nothing there, or a regular file: a new file is written beside it under a short temporary name, flushed
  to disk and renamed over PATH, so a reader sees the old file or the new one, never a part;
- a character device (``/dev/null``, a terminal) or a named pipe: the text is written through to it; the
  device stays a device (a pipe without a reader is refused rather than waited for);
- a symbolic link: followed deliberately; what it points to is treated as above, the link stays a link;
  a link to nothing is refused;
- a folder, ``name/``, a block device, a socket: refused.

Inside the command line, ``emit`` only collects the text (``collected``); it is written once the command
has finished with an exit code other than 2, so a refused run writes nothing.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from derive.errors import InputError

TEMP_PREFIX = ".derive-"
"""temporary files and folders start with this (short, so that a 250-character target name still fits)"""


@dataclass
class Pending:
    """Outputs a command produced, written only by ``commit`` (once the command has succeeded)."""

    writes: list[tuple[str, str | None]] = field(default_factory=list)

    def commit(self) -> None:
        for text, output in self.writes:
            _emit_now(text, output)
        self.writes.clear()


_pending: list[Pending] = []


@contextmanager
def collected() -> Iterator[Pending]:
    """Within this block ``emit`` collects instead of writing; the caller commits or drops the result."""
    pending = Pending()
    _pending.append(pending)
    try:
        yield pending
    finally:
        _pending.remove(pending)


def emit(text: str, output: str | None, *, inputs: Iterable[str | Path | None] = ()) -> None:
    """Print ``text``, or write it to ``output`` (see the module's docstring); ``-`` is stdout.

    Every check on ``output`` runs now, the writing itself later when collected.
    """
    if output is not None and output != "-":
        check_target(output)
        refuse_inputs(Path(output), inputs)
    if _pending:
        _pending[-1].writes.append((text, output))
    else:
        _emit_now(text, output)


def _emit_now(text: str, output: str | None) -> None:
    if output is None or output == "-":
        write_stdout(text)
    else:
        write_atomic(Path(output), text, name=output)


def write_stdout(text: str) -> None:
    """``text`` on stdout, flushed: a closed or full stdout is bad environment (exit 2), not a crash."""
    if sys.stdout is None:
        raise InputError("stdout is closed; redirect it to a file or use -o FILE")
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as e:
        silence_stdout()
        reason = e.strerror if isinstance(e, OSError) and e.strerror else "it is closed"
        raise InputError(f"cannot write to stdout ({reason}); redirect it elsewhere or use -o FILE") from None


def silence_stdout() -> None:
    """Point fd 1 at /dev/null, so that Python's flush at exit does not fail a second time."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.close(fd)
    except OSError:
        pass


def refuse_inputs(target: Path, inputs: Iterable[str | Path | None]) -> None:
    """Refuse ``target`` when it is (a path, a link or a hard link to) one of the input files."""
    try:
        if not target.exists():
            return
    except OSError as e:
        raise InputError(f"-o {target}: cannot use this path ({e.strerror or e})") from None
    for path in inputs:
        if path and Path(path).exists() and _same(target, Path(path)):
            raise InputError(f"-o {target}: is one of the input files ({path}); choose another output path")


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def check_target(output: str | Path) -> str:
    """What writing ``output`` would do: "replace" (a new or regular file) or "through" (a device or FIFO).

    Anything else is refused with one line (see the module's docstring).
    """
    name = str(output)
    if name.endswith(("/", os.sep)) or name in (".", ".."):
        raise InputError(f"-o {name}: names a folder; give a file path")
    path = Path(name)
    try:
        link = path.lstat()
    except FileNotFoundError:
        link = None
    except OSError as e:
        raise InputError(f"-o {name}: cannot use this path ({e.strerror or e})") from None
    try:
        st = path.stat()
    except FileNotFoundError:
        if link is not None:
            raise InputError(f"-o {name}: is a link to {os.readlink(path)!r}, which does not exist; "
                             "give the file path itself") from None
        st = None
    except OSError as e:
        raise InputError(f"-o {name}: cannot use this path ({e.strerror or e})") from None
    if st is None:
        folder = path.parent
        if not folder.is_dir():
            raise InputError(f"-o {name}: folder {folder} does not exist")
        return "replace"
    if stat.S_ISREG(st.st_mode):
        return "replace"
    if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
        return "through"
    kind = "a directory" if stat.S_ISDIR(st.st_mode) else "a block device" if stat.S_ISBLK(st.st_mode) \
        else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file"
    raise InputError(f"-o {name}: is {kind}; expected a file path (a regular file, a character device or a FIFO)")


def write_atomic(target: Path, text: str | bytes, *, name: str | None = None) -> None:
    """Write ``text`` to ``target``: through a device or FIFO, else so that a reader sees the old file or the
    new one, never a part.

    The data goes to a temp file in the same folder, is flushed to disk, then renamed over the target (the
    link's target, for a symbolic link); any failure removes the temp file and leaves the target as it was.
    """
    shown = name if name is not None else str(target)
    data = text.encode("utf-8") if isinstance(text, str) else text
    if check_target(name if name is not None else target) == "through":
        _write_through(Path(target), data, shown)
        return
    target = Path(os.path.realpath(target)) if Path(target).is_symlink() else Path(target)
    folder = target.parent
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX, suffix=".tmp")
    except OSError as e:
        raise InputError(f"-o {shown}: cannot write in {folder} ({e.strerror or e})") from None
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
            raise InputError(f"-o {shown}: cannot write ({e.strerror or e})") from None
        raise


def _write_through(target: Path, data: bytes, shown: str) -> None:
    """Write into a character device or a FIFO that stays what it is (a FIFO needs a reader already)."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as e:
        if e.errno == errno.ENXIO:
            raise InputError(f"-o {shown}: is a named pipe that nobody reads; start the reader first") from None
        raise InputError(f"-o {shown}: cannot write ({e.strerror or e})") from None
    try:
        os.set_blocking(fd, True)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError as e:
        if e.errno == errno.EPIPE:
            raise InputError(f"-o {shown}: the reader of the pipe went away") from None
        raise InputError(f"-o {shown}: cannot write ({e.strerror or e})") from None
    finally:
        os.close(fd)


def _mode(target: Path) -> int:
    """The permissions a plain ``open(target, "w")`` would give: the old file's, or 0o666 less the umask."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


# --- renaming folders: atomic exchange where the system has it

_RENAME_NOREPLACE, _RENAME_EXCHANGE = 1, 2
_AT_FDCWD = -100


def _renameat2() -> object | None:
    """libc's renameat2 (Linux, glibc 2.28+), or None."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def _rename2(a: Path, b: Path, flags: int) -> bool:
    """renameat2(a, b, flags); False where the system or the file system does not offer it."""
    function = _renameat2()
    if function is None:
        return False
    if function(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), flags) == 0:  # type: ignore[operator]
        return True
    import ctypes

    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def exchange(a: Path, b: Path) -> bool:
    """Swap the folders ``a`` and ``b`` in one step (each name always holds one of them); False where the
    system cannot, and nothing was changed."""
    return _rename2(a, b, _RENAME_EXCHANGE)


def rename_new(a: Path, b: Path) -> None:
    """Rename ``a`` to ``b``, which must not exist (an empty folder made meanwhile is not replaced)."""
    if not _rename2(a, b, _RENAME_NOREPLACE):
        if os.path.lexists(b):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(b))
        os.rename(a, b)


def cache_folder() -> Path | None:
    """The folder of derive's own caches: ``$DERIVE_CACHE``, or ``$XDG_CACHE_HOME/derive`` (``~/.cache/derive``);
    None when ``DERIVE_CACHE=off``."""
    setting = os.environ.get("DERIVE_CACHE", "")
    if setting == "off":
        return None
    if setting:
        return Path(setting)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "derive"


def replace_in_cache(path: Path, data: bytes) -> None:
    """Put ``data`` in the cache file ``path`` whole (``write_atomic``), creating its folder; a folder that
    cannot be written is not used: nothing is raised."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
    except (OSError, InputError):
        pass


def append_to_cache(path: Path, line: str, *, stale: str, start_afresh: bool = False) -> None:
    """Append one line to a cache file of derive's own (derive.engine.derivation.ProvenBefore), creating its
    folder; a new file removes the files of the same folder that match the pattern ``stale`` (kept for older code), and
    ``start_afresh`` empties it first. A folder that cannot be written is not used: nothing is raised."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if start_afresh:
            path.unlink(missing_ok=True)
        if not path.exists():
            for old in path.parent.glob(stale):
                old.unlink()
        with path.open("a", encoding="ascii") as f:
            f.write(line + "\n")
    except OSError:
        pass
