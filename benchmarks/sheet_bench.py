"""How long `derive sheet` takes: N variants (default 200) of the slides' network ([3, 5, 5, 4], sigmoid,
cross-entropy), the whole command in a fresh process, and its stages in this one.

    python benchmarks/sheet_bench.py [N] [--out FILE.json]

The stages: deriving and lambdifying the network (once), drawing and checking the variants (numbers only),
and making every file (each variant's sheet and worked key, in parallel processes where the system forks;
answers.csv, quiz.gift and the platforms' quizzes). Prints each with its time, the whole command's wall-clock
and CPU time (best of three), and the machine's cores and load.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure the checkout this script sits in

SLIDES = 'layers = [3, 5, 5, 4]\nactivation = "sigmoid"\noutput = "sigmoid"\nloss = "cross_entropy"\n'
TARGET_S = 30.0


def stages(count: int) -> dict[str, float]:
    from derive.model.network import Network
    from derive.sheet.files import sheet_files
    from derive.sheet.variants import Engine, make_sheet

    net = Network.from_dict({"layers": [3, 5, 5, 4]})
    times = {}
    start = time.perf_counter()
    engine = Engine(net)
    engine.derivation, engine.functions  # noqa: B018
    times["derive and lambdify the network (once)"] = time.perf_counter() - start
    start = time.perf_counter()
    sheet = make_sheet(net, count=count, seed=1, engine=engine)
    times[f"draw and check {count} variants"] = time.perf_counter() - start
    start = time.perf_counter()
    files = sheet_files(sheet, engine=engine)
    times[f"make {len(files)} files (sheets, worked keys, quizzes)"] = time.perf_counter() - start
    return times


def command(count: int) -> tuple[float, float]:
    """(wall, CPU of the children) of one `derive sheet` run in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        net = Path(tmp) / "slides.toml"
        net.write_text(SLIDES)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", "import sys; from derive.cli import main; sys.exit(main())",
                               "sheet", str(net), "--variants", str(count), "--seed", "1", "--out",
                               str(Path(tmp) / "out")], capture_output=True, text=True, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=600)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    args = sys.argv[1:]
    out = None
    if "--out" in args:
        out = args[args.index("--out") + 1]
        del args[args.index("--out"):args.index("--out") + 2]
    count = int(args[0]) if args else 200
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    times = stages(count)
    for name, seconds in times.items():
        print(f"  {name}: {seconds:.2f} s")
    runs = [command(count) for _ in range(3)]
    wall, cpu = min(runs)
    verdict = "within" if wall < TARGET_S else "OVER"
    print(f"derive sheet, {count} variants: {wall:.1f} s wall (best of 3; CPU {cpu:.1f} s) — {verdict} the "
          f"{TARGET_S:.0f} s target")
    if out:
        Path(out).write_text(json.dumps({"variants": count, "stages": times, "wall_s": [r[0] for r in runs],
                                         "cpu_s": [r[1] for r in runs], "cores": os.cpu_count(),
                                         "load": os.getloadavg()[0]}, indent=1) + "\n")


if __name__ == "__main__":
    main()
