"""The benchmark's smallest sizes run, and every method's numbers agree (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_benchmark_smoke_runs_and_agrees(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", "--cap", "30",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "fitted exponent" in done.stdout
    result = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    rows = result["rows"]
    numeric = [r for r in rows if r["group"] == "numeric gradients"]
    assert numeric and all(r["extra"]["agree"] for r in numeric)          # numpy (and torch) give derive's numbers
    elementwise = [r for r in rows if r["group"] == "elementwise gradients"]
    assert len(elementwise) >= 2 and all(r["derive_s"] > 0 for r in elementwise)
    checked = [r for r in elementwise if "agree" in r["extra"]]
    assert checked and all(r["extra"]["agree"] for r in checked)           # symbolic = naive diff = numeric
    assert all(r["extra"]["naive_weights_done"] == r["weights"] for r in checked)
    assert result["elementwise_fit"]["peak_bytes"] > 0
    assert result["machine"]["nproc"] >= 1


@pytest.mark.slow
def test_latency_benchmark_smoke_runs(tmp_path):
    out = tmp_path / "latency.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "latency.py"), "--smoke", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    names = {r["name"]: r for r in result["results"]}
    floor = names['python -c "import sympy" (floor)']
    slides = names["derive derivation --preset ng-4-layer --format latex"]
    assert floor["best"] > 0 and slides["best"] > 0 and len(slides["walls"]) == 1   # one round, no timing asserted
    assert "derive lecture" not in names


@pytest.mark.slow
def test_sheet_benchmark_smoke_runs(tmp_path):
    out = tmp_path / "sheet.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "sheet_bench.py"), "3", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["variants"] == 3 and len(result["wall_s"]) == 3 and all(t > 0 for t in result["cpu_s"])
