"""Progress bars: drawn on a terminal once work runs past the delay, never otherwise; the cheap paths import
neither SymPy nor NumPy."""

from __future__ import annotations

import subprocess
import sys

import pytest

from derive.io import progress


def test_nothing_is_drawn_when_stderr_is_not_a_terminal(capsys):
    assert not progress.enabled()                      # pytest captures stderr: not a terminal
    assert list(progress.track(range(3), "work")) == [0, 1, 2]
    with progress.task("work", total=2) as advance:
        advance()
        advance(note="done")
    assert capsys.readouterr().err == ""


def test_a_bar_is_drawn_on_a_terminal_past_the_delay(monkeypatch, capsys):
    monkeypatch.setattr(progress, "enabled", lambda: True)
    monkeypatch.setattr(progress, "DELAY", 0.0)
    assert list(progress.track([1, 2, 3], "lecture")) == [1, 2, 3]
    with progress.task("derivation", total=2) as advance:
        advance(note="output delta")
        advance()
    err = capsys.readouterr().err
    assert "lecture:" in err and "/3" in err and "derivation:" in err and "/2" in err


@pytest.mark.parametrize("argv", [["--help"], ["derivation", "no-such-file.toml"]])
def test_help_and_bad_input_import_neither_sympy_nor_numpy(argv, tmp_path):
    code = ("import sys\nfrom derive.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('sympy', 'numpy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr
