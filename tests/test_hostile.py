"""What a hostile or careless user does to the files and the command line, as tables: each case, the exit
code it must give and what must be left on disk.

- ``derive lecture --out`` replaces only an empty folder or a set derive wrote (its manifest lists every
  file, unchanged), keeps the folder's permissions, checks again right before the swap, and a ``kill -9``
  at any moment leaves the old set or the new one complete under the name;
- ``-o`` writes through character devices and FIFOs, follows symbolic links deliberately, replaces only
  regular files;
- bad environment (read-only or full file system, mount point, closed or full stdout) is exit 2, one line;
- exit 2 writes nothing; empty, Unicode-digit and oversized arguments are refused in one short line; no
  raw terminal escape and no second line reaches stderr.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from derive import cli
from derive.document import lecture_set as lecture
from derive.document.lecture_set import MANIFEST, STAGING, manifest

SMALL = {"a.md": "# a\n", "b.md": "# b\n", "index.html": "<!DOCTYPE html><title>x</title>\n"}
"""the set a patched ``lecture.build`` returns (the real one takes seconds)"""
SMALL_SET = {**{k: v.encode() for k, v in SMALL.items()}}
SMALL_SET[MANIFEST] = manifest(SMALL_SET)
OLD = {"old.md": b"# old\n", "index.html": b"<!DOCTYPE html><title>old</title>\n"}
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
PYTHONPATH = str(Path(lecture.__file__).resolve().parents[2])


def snapshot(root: Path) -> dict[str, tuple]:
    """Everything under ``root`` (links not followed): kind, permissions and content of each entry."""
    found: dict[str, tuple] = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        name = str(path.relative_to(root))
        if stat.S_ISLNK(st.st_mode):
            found[name] = ("link", os.readlink(path))
        elif stat.S_ISDIR(st.st_mode):
            found[name] = ("dir", stat.S_IMODE(st.st_mode))
        elif stat.S_ISREG(st.st_mode):
            found[name] = ("file", stat.S_IMODE(st.st_mode), path.read_bytes())
        else:
            found[name] = ("other", stat.S_IFMT(st.st_mode))
    return found


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def old_set(folder: Path, mode: int = 0o755) -> None:
    """A set derive lecture wrote earlier: OLD and its manifest."""
    folder.mkdir()
    for name, data in {**OLD, MANIFEST: manifest(OLD)}.items():
        (folder / name).write_bytes(data)
    folder.chmod(mode)


def staging_left(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith(STAGING))


@pytest.fixture
def small_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lecture, "build", lambda entries=(): dict(SMALL))


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = cli.main(argv)
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> None:
    assert err.endswith("\n") and err.count("\n") == 1, f"one line on stderr: {err!r}"
    assert "Traceback" not in err and "\x1b" not in err and "\x07" not in err


# --- derive lecture --out: what it may replace


def _thesis(t: Path) -> None:
    (t / "thesis").mkdir()
    (t / "thesis" / "thesis.tex").write_text("precious\n")


def _private(t: Path) -> None:
    _thesis(t)
    (t / "thesis").chmod(0o700)


def _nested(t: Path) -> None:
    (t / "thesis" / "chapters").mkdir(parents=True)


def _a_file(t: Path) -> None:
    (t / "thesis").write_text("precious\n")


def _empty(t: Path, mode: int = 0o755) -> None:
    (t / "thesis").mkdir()
    (t / "thesis").chmod(mode)


def _set_and(change: Callable[[Path], None], mode: int = 0o755) -> Callable[[Path], None]:
    def setup(t: Path) -> None:
        old_set(t / "thesis", mode)
        change(t / "thesis")
    return setup


def _symlink_to(setup: Callable[[Path], None]) -> Callable[[Path], None]:
    def make(t: Path) -> None:
        (t / "real").mkdir()
        setup(t / "real")
        (t / "link").symlink_to(t / "real" / "thesis")
    return make


def _leftover(t: Path, complete: bool) -> None:
    """What a run killed while writing (or after the swap, before removing the old set) leaves behind."""
    left = t / (STAGING + ("killedafter" if complete else "killedwhile"))
    left.mkdir()
    (left / MANIFEST).write_bytes(manifest(OLD))
    (left / "index.html").write_bytes(OLD["index.html"] if complete else OLD["index.html"][:7])


def _leftovers(t: Path) -> None:
    _leftover(t, True)
    _leftover(t, False)
    (t / (STAGING + "empty")).mkdir()


def _not_ours(t: Path) -> None:
    """A folder with derive's prefix that derive did not fill: never removed."""
    left = t / (STAGING + "lookalike")
    left.mkdir()
    (left / MANIFEST).write_bytes(manifest(OLD))
    (left / "notes.txt").write_text("mine\n")


@dataclass(frozen=True)
class Out:
    id: str
    setup: Callable[[Path], None]
    out: str
    code: int
    left: str
    """"untouched": everything as before; "new set": the new set under out, nothing else changed"""
    mode: int | None = None
    """the folder's permissions afterwards"""
    fragment: str = ""
    extra: Callable[[Path], None] = field(default=lambda t: None)


def _link_stays(t: Path) -> None:
    assert (t / "link").is_symlink() and os.readlink(t / "link") == str(t / "real" / "thesis")
    assert files(t / "real" / "thesis") == SMALL_SET


def _lookalike_stays(t: Path) -> None:
    assert (t / (STAGING + "lookalike") / "notes.txt").read_text() == "mine\n"


LONG = "l" * 250

OUT_CASES = [
    Out("a folder with a file of the user's", _thesis, "thesis", 2, "untouched", fragment="holds 'thesis.tex'"),
    Out("a private folder with a file", _private, "thesis", 2, "untouched", 0o700),
    Out("a folder with a folder in it", _nested, "thesis", 2, "untouched", fragment="holds 'chapters'"),
    Out("a file", _a_file, "thesis", 2, "untouched", fragment="is a file"),
    Out("a missing folder", lambda t: None, "thesis", 0, "new set"),
    Out("an empty folder", _empty, "thesis", 0, "new set", 0o755),
    Out("an empty private folder", lambda t: _empty(t, 0o700), "thesis", 0, "new set", 0o700),
    Out("a set derive wrote", _set_and(lambda f: None), "thesis", 0, "new set", 0o755),
    Out("a private set derive wrote", _set_and(lambda f: None, 0o700), "thesis", 0, "new set", 0o700),
    Out("a set with a file changed", _set_and(lambda f: (f / "old.md").write_text("# mine\n")), "thesis", 2,
        "untouched", fragment="changed since derive lecture wrote it"),
    Out("a set with a file of the same size changed", _set_and(lambda f: (f / "old.md").write_text("# new\n")),
        "thesis", 2, "untouched"),
    Out("a set with a file added", _set_and(lambda f: (f / "mine.tex").write_text("x")), "thesis", 2, "untouched",
        fragment="holds 'mine.tex'"),
    Out("a set with a hidden file added", _set_and(lambda f: (f / ".git").mkdir()), "thesis", 2, "untouched"),
    Out("a set with a file made a link", _set_and(lambda f: ((f / "old.md").unlink(),
                                                             (f / "old.md").symlink_to("/etc/passwd"))),
        "thesis", 2, "untouched"),
    Out("a set whose manifest is not derive's", _set_and(lambda f: (f / MANIFEST).write_text("[1, 2]")), "thesis", 2,
        "untouched", fragment=f"its {MANIFEST} is not one derive lecture wrote"),
    Out("a set with a file removed", _set_and(lambda f: (f / "old.md").unlink()), "thesis", 0, "new set"),
    Out("a link to a set: followed, the link stays", _symlink_to(_set_and(lambda f: None)), "link", 0, "link",
        extra=_link_stays),
    Out("a link to a folder of the user's", _symlink_to(_thesis), "link", 2, "untouched"),
    Out("a dangling link", lambda t: (t / "link").symlink_to(t / "gone"), "link", 2, "untouched",
        fragment="which does not exist"),
    Out("a 250-character name", lambda t: None, LONG, 0, "new set"),
    Out("a 256-character name", lambda t: None, "n" * 256, 2, "untouched", fragment="File name too long"),
    Out("a folder that does not exist above it", lambda t: None, "nowhere/thesis", 2, "untouched",
        fragment="does not exist"),
    Out("leftovers of killed runs are cleaned", _leftovers, "thesis", 0, "cleaned"),
    Out("a lookalike of a leftover stays", _not_ours, "thesis", 0, "cleaned", extra=_lookalike_stays),
]


@pytest.mark.parametrize("case", OUT_CASES, ids=lambda c: c.id)
def test_lecture_out(case: Out, tmp_path: Path, small_build: None, monkeypatch: pytest.MonkeyPatch,
                     capsys: pytest.CaptureFixture[str]) -> None:
    case.setup(tmp_path)
    before = snapshot(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["lecture", "--out", case.out], capsys)
    assert code == case.code, err
    one_line(err)
    assert case.fragment in err
    after = snapshot(tmp_path)
    name = case.out
    if case.left == "untouched":
        assert after == before
    elif case.left == "new set":
        assert files(tmp_path / name) == SMALL_SET
        rest = {k: v for k, v in after.items() if k != name and not k.startswith(name + "/")}
        assert rest == {k: v for k, v in before.items() if k != name and not k.startswith(name + "/")}
    elif case.left == "cleaned":
        assert files(tmp_path / name) == SMALL_SET
        assert staging_left(tmp_path) == ([STAGING + "lookalike"] if "lookalike" in case.id else [])
    if case.mode is not None:
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == case.mode
    if case.left == "new set":
        assert staging_left(tmp_path) == [], "no staging folder left"
    case.extra(tmp_path)


def test_a_new_folder_gets_the_umask_permissions(tmp_path: Path, small_build: None,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    old = os.umask(0o027)
    try:
        assert cli.main(["lecture", "--out", str(tmp_path / "new")]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o750


@pytest.mark.skipif(not ROOT, reason="only root gives a folder to another owner")
def test_the_new_set_keeps_the_folder_owner(tmp_path: Path, small_build: None,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    old_set(tmp_path / "out", 0o700)
    os.chown(tmp_path / "out", 65534, 65534)
    assert run_cli(["lecture", "--out", str(tmp_path / "out")], capsys)[0] == 0
    st = (tmp_path / "out").stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (65534, 65534, 0o700)
    assert files(tmp_path / "out") == SMALL_SET


@pytest.mark.parametrize("where", ["before the check", "between the check and the swap"])
def test_a_file_made_during_the_build_is_never_lost(where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Another program writes into the folder while the set is being built (the build takes seconds)."""
    out = tmp_path / "racey"
    old_set(out)
    before = files(out)

    def build(entries: object = ()) -> dict[str, str]:
        if where == "before the check":
            (out / "mywork").mkdir()
            (out / "mywork" / "notes.txt").write_text("mine\n")
        return dict(SMALL)

    real_exchange, calls = lecture.exchange, []

    def exchange(a: Path, b: Path) -> bool:
        calls.append(a)
        if where != "before the check" and len(calls) == 1:  # after the last check, before the swap
            (out / "mywork").mkdir()
            (out / "mywork" / "notes.txt").write_text("mine\n")
        return real_exchange(a, b)

    monkeypatch.setattr(lecture, "build", build)
    monkeypatch.setattr(lecture, "exchange", exchange)
    code, _, err = run_cli(["lecture", "--out", str(out)], capsys)
    assert code == 2
    one_line(err)
    assert "it changed while the set was built" in err
    assert len(calls) == (0 if where == "before the check" else 2), "swapped back when it changed at the last moment"
    assert (out / "mywork" / "notes.txt").read_text() == "mine\n"
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name != "mywork"} == before
    assert staging_left(tmp_path) == []


def test_the_race_from_the_shell(tmp_path: Path) -> None:
    """`mkdir racey; derive lecture --out racey & sleep 1; mkdir racey/mywork; wait` keeps racey/mywork."""
    script = ("mkdir racey; \"$PY\" -c 'import sys; from derive.cli import main; sys.exit(main())' lecture "
              "--out racey 2>err & sleep 1; mkdir racey/mywork; echo mine > racey/mywork/notes.txt; wait $!; "
              "echo $? > code")
    env = {**os.environ, "PY": sys.executable, "PYTHONPATH": PYTHONPATH}
    subprocess.run(["sh", "-c", script], cwd=tmp_path, env=env, timeout=300, check=True)
    assert (tmp_path / "code").read_text().strip() == "2"
    assert (tmp_path / "racey" / "mywork" / "notes.txt").read_text() == "mine\n"
    assert os.listdir(tmp_path / "racey") == ["mywork"]
    one_line((tmp_path / "err").read_text())
    assert staging_left(tmp_path) == []


def test_the_staging_folder_of_a_running_build_is_left_alone(tmp_path: Path, small_build: None,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A staging folder another run holds (locked) is not a leftover, even when it looks finished."""
    fcntl = pytest.importorskip("fcntl")
    busy = tmp_path / (STAGING + "running")
    busy.mkdir()
    for name, data in {**OLD, MANIFEST: manifest(OLD)}.items():
        (busy / name).write_bytes(data)
    fd = os.open(busy, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert run_cli(["lecture", "--out", str(tmp_path / "out")], capsys)[0] == 0
        assert files(busy) == {**OLD, MANIFEST: manifest(OLD)}
    finally:
        os.close(fd)
    assert run_cli(["lecture", "--out", str(tmp_path / "out")], capsys)[0] == 0
    assert staging_left(tmp_path) == [], "once unlocked it is a leftover, and cleaned"


def test_without_an_atomic_exchange_the_set_is_still_replaced(tmp_path: Path, small_build: None,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(lecture, "exchange", lambda a, b: False)
    old_set(tmp_path / "out", 0o700)
    assert run_cli(["lecture", "--out", str(tmp_path / "out")], capsys)[0] == 0
    assert files(tmp_path / "out") == SMALL_SET
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o700
    assert staging_left(tmp_path) == []
    (tmp_path / "out" / "mine.txt").write_text("x")
    assert run_cli(["lecture", "--out", str(tmp_path / "out")], capsys)[0] == 2
    assert (tmp_path / "out" / "mine.txt").read_text() == "x"


def test_the_exchange_is_atomic_on_linux(tmp_path: Path) -> None:
    from derive.io.output import exchange

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "1").write_text("a")
    (tmp_path / "b").mkdir()
    if not exchange(tmp_path / "a", tmp_path / "b"):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")
    assert os.listdir(tmp_path / "b") == ["1"] and os.listdir(tmp_path / "a") == []


KILLED = r"""
import pathlib, sys, time
from derive.document import lecture_set as lecture

variant = sys.argv[2]
lecture.build = lambda entries=(): {f"f{i:02}.md": f"{variant} {i}\n" * 40 for i in range(20)}
real_write, real_remove = pathlib.Path.write_bytes, lecture._remove

def slow_write(self, data):
    time.sleep(0.004)
    return real_write(self, data)

def slow_remove(folder, partial=False):
    time.sleep(0.03)
    return real_remove(folder, partial=partial)

pathlib.Path.write_bytes = slow_write
lecture._remove = slow_remove
print("ready", flush=True)
lecture.write(pathlib.Path(sys.argv[1]))
print("done", flush=True)
"""


def _a_whole_set(folder: Path) -> str:
    """Which set ``folder`` holds ("A" or "B"), asserting it is complete and unchanged."""
    have = files(folder)
    variant = have["f00.md"][:1].decode()
    want = {f"f{i:02}.md": f"{variant} {i}\n".encode() * 40 for i in range(20)}
    assert have == {**want, MANIFEST: manifest(want)}
    return variant


@pytest.mark.slow
def test_kill_9_at_any_moment_leaves_a_whole_set(tmp_path: Path) -> None:
    out = tmp_path / "outputs"
    env = {**os.environ, "PYTHONPATH": PYTHONPATH}
    command = [sys.executable, "-c", KILLED, str(out)]
    assert subprocess.run(command + ["A"], env=env, timeout=120, capture_output=True).returncode == 0
    seen = set()
    for n, delay in enumerate([0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2, 0.3] * 2):
        p = subprocess.Popen(command + ["AB"[n % 2]], env=env, stdout=subprocess.PIPE, text=True)
        assert p.stdout is not None and p.stdout.readline() == "ready\n"
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
        p.stdout.close()
        seen.add(_a_whole_set(out))
    assert seen == {"A", "B"}, "the kills landed both before and after the swap"
    assert subprocess.run(command + ["B"], env=env, timeout=120, capture_output=True).returncode == 0
    assert _a_whole_set(out) == "B"
    assert staging_left(tmp_path) == [], "the next run cleans what killed runs left"


# --- derive lecture --out: bad environment is exit 2, one line


def _mount(*args: str) -> None:
    if not ROOT or sys.platform != "linux":
        pytest.skip("mounting needs root on Linux")
    r = subprocess.run(["mount", *args], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"mount is not permitted here: {r.stderr.strip()}")


@pytest.fixture
def mounted(tmp_path: Path):  # noqa: ANN201 - a generator fixture
    """A small tmpfs at tmp_path/mnt (unmounted afterwards)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    _mount("-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt))
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_read_only_file_system(mounted: Path, small_build: None, capsys: pytest.CaptureFixture[str]) -> None:
    old_set(mounted / "outputs")
    _mount("-o", "remount,ro", str(mounted))
    before = snapshot(mounted)
    code, _, err = run_cli(["lecture", "--out", str(mounted / "outputs")], capsys)
    assert code == 2 and "Read-only file system" in err
    one_line(err)
    assert snapshot(mounted) == before


@pytest.mark.skipif(ROOT, reason="root writes into a folder without write permission")
def test_a_folder_without_write_permission(tmp_path: Path, small_build: None,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ro").mkdir()
    old_set(tmp_path / "ro" / "outputs")
    (tmp_path / "ro").chmod(0o555)
    try:
        before = snapshot(tmp_path)
        code, _, err = run_cli(["lecture", "--out", str(tmp_path / "ro" / "outputs")], capsys)
        assert code == 2 and "Permission denied" in err
        one_line(err)
        assert snapshot(tmp_path) == before
    finally:
        (tmp_path / "ro").chmod(0o755)


def test_a_folder_without_write_permission_simulated(tmp_path: Path, small_build: None,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The same as root (who writes anywhere): the folder beside the target cannot be made."""
    import tempfile

    def denied(*args: object, **kwargs: object) -> str:
        raise PermissionError(13, "Permission denied")

    old_set(tmp_path / "outputs")
    before = snapshot(tmp_path)
    monkeypatch.setattr(tempfile, "mkdtemp", denied)
    code, _, err = run_cli(["lecture", "--out", str(tmp_path / "outputs")], capsys)
    assert code == 2 and "Permission denied" in err
    one_line(err)
    assert snapshot(tmp_path) == before


def test_a_full_file_system(mounted: Path, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    old_set(mounted / "outputs")
    before = snapshot(mounted)
    monkeypatch.setattr(lecture, "build", lambda entries=(): {"big.md": "x" * 400_000, **SMALL})
    code, _, err = run_cli(["lecture", "--out", str(mounted / "outputs")], capsys)
    assert code == 2 and "No space left on device" in err
    one_line(err)
    assert snapshot(mounted) == before


def test_a_mount_point(mounted: Path, small_build: None, capsys: pytest.CaptureFixture[str]) -> None:
    (mounted / "mine.txt").write_text("x")
    code, _, err = run_cli(["lecture", "--out", str(mounted)], capsys)
    assert code == 2 and "is a mount point" in err
    one_line(err)
    assert os.listdir(mounted) == ["mine.txt"]


def test_a_link_to_another_file_system(tmp_path: Path, small_build: None, capsys: pytest.CaptureFixture[str]) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK) or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no writable folder on another file system")
    import tempfile

    other = Path(tempfile.mkdtemp(dir=shm))
    try:
        (tmp_path / "link").symlink_to(other / "outputs")
        old_set(other / "outputs")
        code, _, err = run_cli(["lecture", "--out", str(tmp_path / "link")], capsys)
        assert code == 0, err
        assert (tmp_path / "link").is_symlink() and files(other / "outputs") == SMALL_SET
        assert os.listdir(other) == ["outputs"]
    finally:
        import shutil

        shutil.rmtree(other)


# --- -o: devices, FIFOs, links, names


@dataclass(frozen=True)
class Output:
    id: str
    setup: Callable[[Path], None]
    target: str
    code: int
    fragment: str = ""
    check: Callable[[Path], None] = field(default=lambda t: None)


def _is(kind: Callable[[int], bool], path: str) -> Callable[[Path], None]:
    def check(t: Path) -> None:
        assert kind(os.lstat(path if path.startswith("/") else t / path).st_mode)
    return check


def _derivation_in(path: Path) -> None:
    assert path.read_text().startswith('{\n  "network"')


def _link_to_file(t: Path) -> None:
    (t / "real.json").write_text("old\n")
    (t / "real.json").chmod(0o640)
    (t / "link.json").symlink_to("real.json")


def _through_the_link(t: Path) -> None:
    assert os.readlink(t / "link.json") == "real.json"
    _derivation_in(t / "real.json")
    assert stat.S_IMODE((t / "real.json").stat().st_mode) == 0o640


def _fifo(t: Path) -> None:
    os.mkfifo(t / "fifo")


OUTPUT_CASES = [
    Output("/dev/null stays a device", lambda t: None, "/dev/null", 0, check=_is(stat.S_ISCHR, "/dev/null")),
    Output("/dev/full: no space", lambda t: None, "/dev/full", 2, "No space left on device",
           _is(stat.S_ISCHR, "/dev/full")),
    Output("a FIFO nobody reads", _fifo, "fifo", 2, "named pipe that nobody reads", _is(stat.S_ISFIFO, "fifo")),
    Output("a link to a file: followed", _link_to_file, "link.json", 0, check=_through_the_link),
    Output("a dangling link", lambda t: (t / "link.json").symlink_to("gone.json"), "link.json", 2,
           "which does not exist", lambda t: (_is(stat.S_ISLNK, "link.json")(t), not (t / "gone.json").exists())),
    Output("a link to a folder", lambda t: ((t / "d").mkdir(), (t / "link").symlink_to("d")), "link", 2,
           "is a directory", lambda t: (_is(stat.S_ISLNK, "link")(t), os.listdir(t / "d") == [])),
    Output("name/", lambda t: None, "name/", 2, "names a folder", lambda t: not (t / "name").exists()),
    Output("a folder", lambda t: (t / "name").mkdir(), "name", 2, "is a directory"),
    Output("a 250-character name", lambda t: None, "o" * 250, 0, check=lambda t: _derivation_in(t / ("o" * 250))),
    Output("a 256-character name", lambda t: None, "o" * 256, 2, "File name too long"),
    Output("a missing folder", lambda t: None, "nowhere/out.json", 2, "does not exist"),
    Output("a regular file keeps its permissions", lambda t: ((t / "r.json").write_text("old"),
                                                              (t / "r.json").chmod(0o600)), "r.json", 0,
           check=lambda t: (_derivation_in(t / "r.json"),
                            stat.S_IMODE((t / "r.json").stat().st_mode) == 0o600 or pytest.fail("mode"))),
]


@pytest.mark.parametrize("case", OUTPUT_CASES, ids=lambda c: c.id)
def test_output(case: Output, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                capsys: pytest.CaptureFixture[str]) -> None:
    case.setup(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    code, out, err = run_cli(["derivation", "--preset", "xor-2-2-1", "-f", "json", "-o", case.target], capsys)
    assert code == case.code, err
    assert out == ""
    if code == 2:
        one_line(err)
        assert case.fragment in err
        assert snapshot(tmp_path) == before, "a refused -o leaves everything as it was"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".derive-")], "no temp file left"
    case.check(tmp_path)


def _derive(*argv: str, **kwargs: object) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": PYTHONPATH}
    return subprocess.run([sys.executable, "-c", "import sys; from derive.cli import main; sys.exit(main())",
                           *argv], env=env, timeout=120, **kwargs)  # type: ignore[call-overload]


def test_output_into_a_fifo_with_a_reader(tmp_path: Path) -> None:
    _fifo(tmp_path)
    reader = subprocess.Popen(["cat", str(tmp_path / "fifo")], stdout=subprocess.PIPE)
    r = _derive("derivation", "--preset", "xor-2-2-1", "-f", "json", "-o", str(tmp_path / "fifo"),
                capture_output=True, text=True)
    got, _ = reader.communicate(timeout=60)
    assert r.returncode == 0, r.stderr
    assert got.startswith(b'{\n  "network"')
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo").st_mode)


@pytest.mark.parametrize("target", ["-", "/dev/stdout"])
def test_output_to_stdout(target: str) -> None:
    r = _derive("derivation", "--preset", "xor-2-2-1", "-f", "json", "-o", target, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith('{\n  "network"')


# --- stdout full or closed


@pytest.mark.parametrize("how", ["/dev/full", "closed"])
def test_stdout_full_or_closed(how: str, tmp_path: Path) -> None:
    if how == "closed":
        r = subprocess.run(["sh", "-c", '"$PY" -c "import sys; from derive.cli import main; sys.exit(main())" '
                            "derivation --preset xor-2-2-1 >&-"], env={**os.environ, "PY": sys.executable,
                                                                      "PYTHONPATH": PYTHONPATH},
                           capture_output=True, text=True, timeout=120)
        fragment = "stdout is closed"
    else:
        with open("/dev/full", "w") as full:
            r = _derive("derivation", "--preset", "xor-2-2-1", stdout=full, stderr=subprocess.PIPE, text=True)
        fragment = "No space left on device"
    assert r.returncode == 2, r.stderr
    one_line(r.stderr)
    assert fragment in r.stderr


# --- exit 2 writes nothing, from every command that takes -o

NET = "layers = [1, 1]\nloss = 'squared_error'\n"
LATE = {
    "grade": ["grade", "net.toml", "--target", "delta[2][1]", "--answer", "a[", "--format", "json"],
    "derivation": ["derivation", "--preset", "xor-2-2-1", "--format", "json", "--body"],
    "numeric": ["numeric", "net.toml", "--params", "p.json", "--data", "bad.json"],
    "check": ["check", "net.toml", "--params", "p.json", "--data", "d.json", "--claims", "bad.json"],
    "example": ["example", "net.toml", "--params", "p.json", "--data", "d.json", "--claims", "bad.json"],
    "exercise": ["exercise", "squared-error", "--layers", ""],
    "graph": ["graph", "g.txt", "--at", "w=2"],
}
"""for each command with -o, a run it refuses (the grade case used to write r.json all the same)"""


def _commands_with_output() -> set[str]:
    import argparse

    parser = cli._parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {name for name, p in sub.choices.items() if any(a.dest == "output" for a in p._actions)}


def test_every_command_with_output_is_in_the_table() -> None:
    assert _commands_with_output() == set(LATE)


@pytest.mark.parametrize("command", sorted(LATE))
@pytest.mark.parametrize("existing", [False, True], ids=["new", "existing"])
def test_exit_2_writes_nothing(command: str, existing: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "net.toml").write_text(NET)
    (tmp_path / "p.json").write_text('{"Theta": [[[0.1, 0.2]]]}')
    (tmp_path / "d.json").write_text('{"X": [[0.5]], "Y": [[1]]}')
    (tmp_path / "bad.json").write_text('{"X": [[true]], "Y": [[1]], "claims": {"zz[9]": 1}}')
    (tmp_path / "g.txt").write_text("J = w * x\n")
    if existing:
        (tmp_path / "r.json").write_text("the previous result\n")
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    code, out, err = run_cli(LATE[command] + ["-o", "r.json"], capsys)
    assert code == 2, err
    one_line(err)
    assert out == ""
    assert snapshot(tmp_path) == before


def test_a_command_that_emits_and_then_refuses_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The rule holds for any command: what it emitted is written only once it has not exited 2."""
    import derive.cli.commands.derivation as command
    from derive.io.output import emit

    def run(args: object) -> int:
        emit("half a result\n", "r.txt")
        emit("half a result\n", None)
        return 2

    monkeypatch.setattr(command, "run", run)
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(["derivation", "--preset", "xor-2-2-1", "-o", "r.txt"], capsys)
    assert code == 2 and out == "" and os.listdir(tmp_path) == []


# --- arguments: empty, Unicode digits, --body, long, escapes, newlines


ARGUMENTS = [
    ("empty --layers", ["exercise", "squared-error", "--layers", ""], "--layers"),
    ("empty --activation", ["exercise", "squared-error", "--activation", ""], "'activation' is ''"),
    ("Arabic-Indic digits in --layers", ["exercise", "squared-error", "--layers", "٣,٥"], "digits 0-9"),
    ("full-width digits in --layers", ["exercise", "squared-error", "--layers", "３,５"], "digits 0-9"),
    ("--body with json", ["derivation", "--preset", "xor-2-2-1", "-f", "json", "--body"], "--body"),
    ("--body with html", ["derivation", "--preset", "xor-2-2-1", "-f", "html", "--body"], "--body"),
    ("--body with markdown", ["derivation", "--preset", "xor-2-2-1", "-f", "markdown", "--body"], "--body"),
    ("--body with mathml", ["derivation", "--preset", "xor-2-2-1", "-f", "mathml", "--body"], "--body"),
    ("a 100,000-character --layers", ["exercise", "squared-error", "--layers", "9" * 100_000], "…"),
    ("a 100,000-character preset", ["derivation", "--preset", "x" * 100_000], "…"),
    ("a 100,000-character unknown option", ["derivation", "--" + "y" * 100_000], "…"),
    ("a 100,000-character answer", ["grade", "net.toml", "--target", "delta[2][1]", "--answer", "a[" * 50_000], ""),
    ("escapes in the target", ["grade", "net.toml", "--target", "\x1b]0;PWNED\x07\x1b[2J", "--answer", "a[2][1]"],
     "\\x1b]0;PWNED"),
    ("escapes in an unknown argument", ["derivation", "--preset", "xor-2-2-1", "--x=\x1b[2J\x1b]0;PWNED\x07"],
     "unrecognized arguments"),
    ("escapes in an unknown command", ["\x1b[31mred"], "invalid choice"),
    ("a newline in the target", ["grade", "net.toml", "--target", "delta[2][1]\nderive: all correct",
                                 "--answer", "a[2][1]"], ""),
    ("a newline in an unknown argument", ["derivation", "--preset", "xor-2-2-1", "x\ny"], ""),
    ("a newline in a file name", ["derivation", "no\nsuch.toml"], "no such.toml"),
    ("a newline in --layers", ["exercise", "squared-error", "--layers", "3,\nx"], "--layers 3, x"),
]


@pytest.mark.parametrize(("argv", "fragment"), [a[1:] for a in ARGUMENTS], ids=[a[0] for a in ARGUMENTS])
def test_arguments_are_refused_in_one_short_clean_line(argv: list[str], fragment: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "net.toml").write_text(NET)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(argv, capsys)
    assert code == 2, err
    assert out == ""
    one_line(err)
    assert len(err) <= cli.MAX_LINE + 2
    assert all(c.isprintable() for c in err[:-1]), repr(err)
    assert fragment in err


def test_body_goes_with_the_formats_that_have_one(capsys: pytest.CaptureFixture[str]) -> None:
    for fmt in ("latex", "beamer"):
        code, out, err = run_cli(["derivation", "--preset", "xor-2-2-1", "-f", fmt, "--body"], capsys)
        assert code == 0, err
        assert "\\documentclass" not in out and "\\section" in out or "\\begin{frame}" in out


def test_every_stderr_line_passes_the_sanitizer() -> None:
    """No module but cli/__init__.py prints on stderr (progress bars draw only on a terminal, without user text)."""
    import ast

    import derive

    package = Path(derive.__file__).parent
    found = []
    for path in sorted(package.rglob("*.py")):
        if path.relative_to(package).as_posix() == "cli/__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                if any(k.arg == "file" for k in node.keywords):
                    found.append(f"{path.relative_to(package)}:{node.lineno}")
    assert not found, found


@pytest.mark.parametrize(("line", "shown"), [
    ("a\x1b[2Jb", "a\\x1b[2Jb"),
    ("one\ntwo\r\nthree\u2028four", "one two  three four"),
    ("bell\x07", "bell\\x07"),
    ("w" * 300, "w" * cli.MAX_WORD + "…"),
    ("short words " * 200, ("short words " * 200)[:cli.MAX_LINE] + "…"),
    ("ünïcödé 反向传播", "ünïcödé 反向传播"),
])
def test_the_sanitizer(line: str, shown: str, capsys: pytest.CaptureFixture[str]) -> None:
    cli.say(line)
    assert capsys.readouterr().err == shown.strip() + "\n"


# --- CI on a fresh machine: the TeX packages the documents load are installed and checked for


def test_the_documents_tex_files_are_found_from_the_source() -> None:
    from .tex_files import tex_files

    assert {"lmodern.sty", "tikz.sty", "beamer.cls", "ctexart.cls", "ctexbeamer.cls"} <= set(tex_files())
    assert "lmodern.sty" in tex_files("pdflatex") and "ctexart.cls" not in tex_files("pdflatex")


def test_ci_installs_the_debian_package_of_every_tex_file() -> None:
    """Each file the documents load comes from a Debian package .ci/run installs (read with kpsewhich and
    dpkg -S where the machine has them)."""
    import re
    import shutil

    from .tex_files import tex_files

    if not shutil.which("kpsewhich") or not shutil.which("dpkg"):
        pytest.skip("kpsewhich and dpkg are needed to map TeX files to Debian packages")
    script = (Path(PYTHONPATH) / ".ci" / "run").read_text()
    installed = set(re.search(r"TEX_PACKAGES=\(([^)]*)\)", script).group(1).split())  # type: ignore[union-attr]
    assert "lmodern" in installed
    for name in tex_files():
        path = subprocess.run(["kpsewhich", name], capture_output=True, text=True).stdout.strip()
        if not path:
            continue  # not installed here: need_tex makes the compiling tests fail in CI
        owner = subprocess.run(["dpkg", "-S", os.path.realpath(path)], capture_output=True, text=True).stdout
        packages = {p.strip() for p in owner.split(":")[0].split(",")} if owner else set()
        assert packages & installed, f"{name} comes from {packages or 'no package'}, which .ci/run does not install"


def test_need_tex_skips_or_fails_under_require_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    from . import conftest

    monkeypatch.setattr(conftest, "REQUIRE_TOOLS", False)
    with pytest.raises(pytest.skip.Exception, match="no-such-derive-package.sty"):
        conftest.need_tex("lmodern.sty", "no-such-derive-package.sty")
    monkeypatch.setattr(conftest, "REQUIRE_TOOLS", True)
    with pytest.raises(pytest.fail.Exception, match="DERIVE_REQUIRE_TOOLS=1"):
        conftest.need_tex("no-such-derive-package.sty")
