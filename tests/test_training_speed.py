"""Smoke test of the training-speed benchmark (comparisons.training_speed): a --quick run on micrograd and torch writes a
PNG, a CSV and a JSON that parse and hold every measurement asked for. No timing is asserted: the numbers are noise here."""

from __future__ import annotations

import csv
import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from comparisons.training_speed import COMPARE_SIZES, WITHIN, cold_warmup
from tests.conftest import require_backend

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_quick_run_writes_png_csv_and_json(tmp_path: Path) -> None:
    require_backend("torch")
    pytest.importorskip("matplotlib", reason="the benchmark's plot needs matplotlib: pip install -e '.[report]'")
    out = tmp_path / "speed"
    command = [
        sys.executable,
        "-m",
        "comparisons.training_speed",
        "--quick",
        "--backends",
        "micrograd,torch",
        "--widths",
        "16",
        "--points",
        "100,1000",
        "--out",
        str(out),
    ]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"

    paths = {ext: out / f"training_speed.{ext}" for ext in ("png", "csv", "json")}
    for path in paths.values():
        assert str(path) in proc.stdout, f"the run does not say it wrote {path}:\n{proc.stdout}"
    assert paths["png"].read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), "training_speed.png is not a PNG"

    result = json.loads(paths["json"].read_text())
    compared = {(r["backend"], r["width"], r["points"]) for r in result["comparisons"]}
    assert compared == {("torch", w, n) for w, n in COMPARE_SIZES}
    for r in result["comparisons"]:
        assert r["same_first_loss"], f"hand-written and adapter steps start from different losses: {r}"
        assert r["adapter_ms"] == pytest.approx(statistics.median(r["adapter_samples_ms"]), rel=1e-12)
        assert r["handwritten_ms"] == pytest.approx(statistics.median(r["handwritten_samples_ms"]), rel=1e-12)
        paired = [a / h for a, h in zip(r["adapter_samples_ms"], r["handwritten_samples_ms"])]
        assert r["ratio"] == pytest.approx(statistics.median(paired), rel=1e-12) and r["within"] == (r["ratio"] <= WITHIN)
    swept = {(r["backend"], r["width"], r["points"]) for r in result["sweep"]}
    assert swept == {(b, 16, n) for b in ("micrograd", "torch") for n in (100, 1000)}
    # micrograd's smallest point always runs; a larger one may be skipped under --quick's cap, and then says why
    first = next(r for r in result["sweep"] if (r["backend"], r["points"]) == ("micrograd", 100))
    assert not first["skipped"] and first["step_ms"] > 0
    assert all(r["skipped"] or r["step_ms"] > 0 for r in result["sweep"])

    with paths["csv"].open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * len(result["comparisons"]) + len(result["sweep"])
    for row in rows:
        assert row["skipped"] or float(row["median_ms"]) > 0, row


@pytest.mark.slow
def test_cold_warmup_runs_in_a_fresh_interpreter() -> None:
    """The full run times each warm-up in a worker process (--quick does not): the worker must start, warm up and report."""
    require_backend("torch")
    seconds = cold_warmup("torch", "handwritten", 16, 100)
    assert 0 < seconds < 60
