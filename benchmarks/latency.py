"""The latency a user feels, in fresh processes, against the floor of importing SymPy in the same run.

    python benchmarks/latency.py                 # 5 rounds (lecture: 3), table on stdout, latency.json here
    python benchmarks/latency.py --smoke         # one round, no lecture (CI runs this; no timing asserted)

Every command runs as ``python -m derive.cli …`` in a new process (wall clock with the Python start, and the
CPU time the child used). The rounds are interleaved in a rotating order with two baselines, ``python -c pass``
(the interpreter's start) and ``python -c "import sympy"`` (the floor: a derivation cannot start sooner), a
third with SymPy's first use (``IN_USE``), and
each command's best time is kept; the ratio against the floor's best carries over to another machine better
than seconds do. The targets are in seconds on the machine recorded beside the figures (BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Command:
    name: str
    argv: list[str]
    """arguments after ``python``"""
    exit: int
    target: float | None = None
    """seconds (wall, best of the rounds)"""
    writes: str | None = None
    """a file or folder the command must leave (relative to the run's folder)"""
    root: Path = ROOT
    """the checkout whose derive runs (``--compare`` adds another's)"""
    env: tuple[tuple[str, str], ...] = ()
    """environment beyond the run's own (every command keeps its proven checks in the run's folder, see
    derive.engine.derivation.ProvenBefore: the first round proves them, the later ones read them)"""


@dataclass
class Result:
    name: str
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    target: float | None = None

    @property
    def best(self) -> float:
        return min(self.walls)

    @property
    def cpu(self) -> float:
        return min(self.cpus)


PASS = Command("python -c pass", ["-c", "pass"], 0)
FLOOR = Command('python -c "import sympy" (floor)', ["-c", "import sympy"], 0)
IN_USE = Command("SymPy's first sum, derivative and LaTeX (floor in use)",
                 ["-c", "import sympy as s; x = s.Symbol('x'); s.latex(s.diff(s.log(x) * (x + 1), x))"], 0)
"""SymPy loads more modules on first use (an Add loads sympy.tensor.tensor and sympy.combinatorics, LaTeX its
printers): what any derivation pays beyond the import"""


def commands(lecture: bool, compare: Path | None = None) -> list[Command]:
    cli = ["-m", "derive.cli"]
    out = [PASS, FLOOR, IN_USE,
           Command("derive --help", [*cli, "--help"], 0, 0.5),
           Command("bad input (missing file)", [*cli, "derivation", "missing.toml"], 2, 0.5),
           Command("derive derivation --preset ng-4-layer --format latex",
                   [*cli, "derivation", "--preset", "ng-4-layer", "--format", "latex", "-o", "slides.tex"], 0, 1.0,
                   "slides.tex"),
           Command("… --format latex, no checks kept (DERIVE_CACHE=off)",
                   [*cli, "derivation", "--preset", "ng-4-layer", "--format", "latex", "-o", "cold.tex"], 0, None,
                   "cold.tex", env=(("DERIVE_CACHE", "off"),)),
           Command("… --format json", [*cli, "derivation", "--preset", "ng-4-layer", "-f", "json", "-o", "s.json"],
                   0, None, "s.json"),
           Command("… --format html", [*cli, "derivation", "--preset", "ng-4-layer", "-f", "html", "-o", "s.html"],
                   0, None, "s.html")]
    if lecture:
        out.append(Command("derive lecture", [*cli, "lecture", "--out", "outputs"], 0, 10.0, "outputs"))
    if compare is not None:  # the same commands run from another checkout (e.g. the code before a change)
        for c in [c for c in out if c.target is not None and c.writes is not None]:
            argv = [f"other-{a}" if a == c.writes else a for a in c.argv]
            out.append(Command(f"{c.name} [{compare.name}]", argv, c.exit, None, f"other-{c.writes}", compare))
    return out


def run_once(cmd: Command, folder: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one fresh process; raises when it exits otherwise than expected."""
    if cmd.writes:
        target = folder / cmd.writes
        if target.is_dir():
            import shutil

            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run([sys.executable, *cmd.argv], cwd=folder, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(cmd.root),
                               # one folder of checks per checkout: a new checks file removes the others there
                               "DERIVE_CACHE": str(folder / ("checks" if cmd.root == ROOT else "checks-other")),
                               **dict(cmd.env)}, timeout=600)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != cmd.exit:
        raise SystemExit(f"{cmd.name}: exit {done.returncode}, expected {cmd.exit}: {done.stderr.strip()[-500:]}")
    if cmd.writes and not (folder / cmd.writes).exists():
        raise SystemExit(f"{cmd.name}: wrote no {cmd.writes}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(rounds: int, lecture: bool, lecture_rounds: int = 3, compare: Path | None = None) -> list[Result]:
    cmds = commands(lecture, compare)
    results = {c.name: Result(c.name, target=c.target) for c in cmds}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for r in range(rounds):
            order = cmds[r % len(cmds):] + cmds[:r % len(cmds)]  # rotating: no command always runs after another
            for cmd in order:
                if cmd.name.startswith("derive lecture") and r >= lecture_rounds:
                    continue
                wall, cpu = run_once(cmd, folder)
                results[cmd.name].walls.append(wall)
                results[cmd.name].cpus.append(cpu)
    return list(results.values())


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import sympy

    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "sympy": sympy.__version__,
            "platform": platform.platform(), "load_average": os.getloadavg()}


def table(results: list[Result]) -> str:
    floor = next(r for r in results if r.name == FLOOR.name)
    head = ["command", "best wall s", "median s", "CPU s", "× floor", "target s", ""]
    rows = []
    for r in results:
        verdict = "" if r.target is None else ("met" if r.best < r.target else "NOT met")
        rows.append([r.name, f"{r.best:.3f}", f"{statistics.median(r.walls):.3f}", f"{r.cpu:.3f}",
                     f"{r.best / floor.best:.2f}", "" if r.target is None else f"< {r.target:g}", verdict])
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [head, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; the best of them is kept")
    parser.add_argument("--smoke", action="store_true", help="one round, no lecture")
    parser.add_argument("--compare", type=Path, metavar="CHECKOUT",
                        help="also run the derivation and the lecture from this checkout, interleaved")
    parser.add_argument("--out", type=Path, default=HERE / "latency.json", help="where the figures go")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    before = machine()
    results = measure(1 if args.smoke else args.rounds, lecture=not args.smoke,
                      compare=None if args.compare is None else args.compare.resolve())
    print(table(results))
    record = {"machine": before, "compare": None if args.compare is None else str(args.compare),
              "load_average_after": os.getloadavg(), "smoke": args.smoke,
              "results": [{**asdict(r), "best": r.best, "cpu": r.cpu} for r in results],
              "total_s": time.perf_counter() - started}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
