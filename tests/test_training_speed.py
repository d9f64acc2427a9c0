"""Smoke test of the training-speed benchmark (comparisons.commands.training_speed): a --quick run on micrograd and torch writes a
PNG and its tables as CSV and JSON, that pandas reads back holding every measurement asked for. No timing is asserted:
the numbers are noise here."""

from __future__ import annotations

import math
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from comparisons.commands.training_speed import COMPARE_SIZES, WITHIN, cold_warmup
from tests.conftest import require_backend

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_quick_run_writes_png_csv_and_json(tmp_path: Path) -> None:
    require_backend("torch")
    pytest.importorskip("matplotlib", reason="the benchmark's plot needs matplotlib: pip install -e '.[report]'")
    pd = pytest.importorskip("pandas", reason="the benchmark's tables need pandas: pip install -e '.[report]'")
    out = tmp_path / "speed"
    command = [
        sys.executable,
        "-m",
        "comparisons.commands.training_speed",
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

    assert f"saved 7 files in {out}/" in proc.stdout, proc.stdout
    assert (out / "training_speed.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), "training_speed.png is not a PNG"

    measurements = pd.read_json(out / "training_speed.json", precise_float=True, dtype=False)
    samples = pd.read_json(out / "training_speed_samples.json", precise_float=True, dtype=False)
    compared = measurements[measurements.part == "comparison"]
    assert set(zip(compared.backend, compared.implementation, compared.width, compared.points)) == {
        ("torch", side, w, n) for side in ("adapter", "handwritten") for w, n in COMPARE_SIZES
    }
    for (width, points), sides in compared.groupby(["width", "points"]):
        adapter, handwritten = (sides[sides.implementation == side].iloc[0] for side in ("adapter", "handwritten"))
        assert math.isclose(adapter.first_loss, handwritten.first_loss, rel_tol=1e-9), "the sides start from different losses"
        mine = samples[(samples.part == "comparison") & (samples.width == width) & (samples.points == points)]
        a, h = (list(mine[mine.implementation == side].sort_values("sample").ms) for side in ("adapter", "handwritten"))
        assert adapter.median_ms == pytest.approx(statistics.median(a), rel=1e-12)
        assert handwritten.median_ms == pytest.approx(statistics.median(h), rel=1e-12)
        assert adapter.ratio == pytest.approx(statistics.median(x / y for x, y in zip(a, h)), rel=1e-12)
    swept = measurements[measurements.part == "sweep"]
    assert set(zip(swept.backend, swept.width, swept.points)) == {(b, 16, n) for b in ("micrograd", "torch") for n in (100, 1000)}
    # micrograd's smallest point always runs; a larger one may be skipped under --quick's cap, and then says why
    first = swept[(swept.backend == "micrograd") & (swept.points == 100)].iloc[0]
    assert not first.skipped and first.median_ms > 0
    assert all(r.skipped or r.median_ms > 0 for r in swept.itertuples())
    run = pd.read_json(out / "training_speed_run.json", precise_float=True, dtype=False).iloc[0]
    assert (run.settings, run.within, run.setting_compare_rounds) == ("quick", WITHIN, 3)


@pytest.mark.slow
def test_cold_warmup_runs_in_a_fresh_interpreter() -> None:
    """The full run times each warm-up in a worker process (--quick does not): the worker must start, warm up and report."""
    require_backend("torch")
    seconds = cold_warmup("torch", "handwritten", 16, 100)
    assert 0 < seconds < 60
