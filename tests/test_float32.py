"""float32 in `grad` and the report: micrograd computes in float64 only, so the truth is the reference there.

Expected numbers come from mpmath or numpy's float32 arithmetic here, never from the code under test.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import mpmath
import numpy as np
import pytest

import backends
from comparisons.__main__ import main
from comparisons.commands import runs
from comparisons.judge import dtypes
from tests.conftest import require_backend

ROOT = Path(__file__).resolve().parents[1]
FRAMEWORKS = ("torch", "jax", "tinygrad")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "comparisons", *args], capture_output=True, text=True, cwd=ROOT, timeout=300, env=os.environ
    )


def frameworks() -> list[str]:
    return [require_backend(name).name for name in FRAMEWORKS]


def f32(x: float) -> float:
    return float(np.float32(x))


def test_grad_float32_judges_against_the_truth_in_float32_ulps() -> None:
    names = frameworks()
    run = cli("grad", "x*y + tanh(x)", "x=0.1", "y=3", "--dtype", "float32", "--format", "json")
    assert run.returncode == 0, run.stderr
    records = json.loads(run.stdout)
    assert {r["backend"] for r in records} == set(names)  # micrograd is float64 only: not in a float32 run
    x, y = mpmath.mpf(f32(0.1)), mpmath.mpf(3.0)  # the inputs as float32 rounds them
    with mpmath.workprec(200):
        exact = {"value": x * y + mpmath.tanh(x), "grad:x": y + 1 - mpmath.tanh(x) ** 2, "grad:y": x}
    for r in records:
        true = f32(float(exact[r["quantity"]]))
        assert r["truth"] == true and r["reference"] is None, r  # no reference backend in float32: the truth judges
        assert r["ulps"] == abs(r["value"] - true) / dtypes.ulp(true, "float32"), r  # float32's ulps, not float64's
        assert r["ulps"] <= 4 and r["class"] == "accurate" and r["why"] == "", r
        assert f32(r["value"]) == r["value"], f"{r['backend']} did not compute in float32: {r['value']!r}"


def test_grad_float32_table_says_micrograd_is_not_in_it() -> None:
    frameworks()
    run = cli("grad", "x*y", "x=0.1", "y=3", "--dtype", "float32")
    assert run.returncode == 0, run.stderr
    text = " ".join(run.stdout.split())
    assert "x in float32: 0.10000000149011612" in text  # the rounded input is shown
    assert "micrograd computes in float64 only, so it is not in a float32 run" in text
    assert "skipped micrograd" in text


def test_grad_float32_labels_a_known_divergence_with_its_rule() -> None:
    frameworks()
    run = cli("grad", "tanh(x)/x", "x=1e-5", "--dtype", "float32", "--format", "json")
    assert run.returncode == 0, run.stderr
    tinygrad = next(r for r in json.loads(run.stdout) if r["backend"] == "tinygrad" and r["quantity"] == "value")
    # the catalog documents exactly this number (tanh_near_zero_float32); its rule generalises it
    assert tinygrad["class"] == "known" and tinygrad["why"] == tinygrad["rule"] == "tanh_near_zero_float32"
    assert tinygrad["truth"] == 1.0 and tinygrad["value"] != 1.0


def test_grad_float32_needs_a_framework() -> None:
    run = cli("grad", "x*2", "x=1", "--dtype", "float32", "--backend", "micrograd")
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "no backend can compute in float32" in run.stderr, run.stderr


def test_grad_float32_refuses_an_input_beyond_float32s_range() -> None:
    run = cli("grad", "x*2", "x=1e39", "--dtype", "float32")
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert "input x = 1e+39 is beyond float32's range" in run.stderr and run.stderr.count("\n") == 1, run.stderr


class Wrong:
    """A backend that gives `factor` times the right gradient: a disagreement nothing explains."""

    def __init__(self, inner: backends.Backend, factor: float) -> None:
        self.inner, self.name, self.factor = inner, inner.name, factor

    def compile(self, expr: Any, dtype: str = "float64") -> Any:
        fn = self.inner.compile(expr, dtype)

        def wrong(inputs: Any) -> backends.Gradients:
            g = fn(inputs)
            return backends.Gradients(g.value, {k: v * self.factor for k, v in g.grads.items()})

        return wrong


def test_an_unexplained_float32_disagreement_fails(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    frameworks()
    real = backends.get
    monkeypatch.setattr(backends, "get", lambda name: Wrong(real(name), 1.001) if name == "jax" else real(name))
    records = runs.judged(backends.parse("x*y"), {"x": 1.5, "y": 2.0}, list(FRAMEWORKS), dtype="float32")
    bad = [(r["backend"], r["quantity"]) for r in records if r["class"] != "accurate"]
    assert sorted(bad) == [("jax", "grad:x"), ("jax", "grad:y")]
    jax_grads = [r for r in records if r["backend"] == "jax" and r["quantity"] != "value"]
    assert all(r["class"] == "unexplained" and r["rule"] == "" for r in jax_grads), jax_grads
    assert main(["grad", "x*y", "x=1.5", "y=2", "--dtype", "float32"]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "d/dy: jax=1.50149" in out and "| truth=1.5 (" in out  # the failure line: the number beside the truth


def test_rounding_the_same_inaccurate_formula_everywhere_is_accuracy_not_disagreement() -> None:
    names = frameworks()
    records = runs.judged(backends.parse("(exp(x) - 1)/x"), {"x": 1e-3}, names, dtype="float32")
    value = [r for r in records if r["quantity"] == "value"]
    # every framework gives the same cancelled number: the formula's fault, and the why says where it cancels
    assert all(r["class"] == "inaccurate_agreeing" and "cancellation at exp(x) - 1.0" in r["why"] for r in value), value
    assert min(r["ulps"] for r in value) > 16  # ... and it is far from the truth, which the ulps say


def test_report_float32_tables_and_their_files(tmp_path: Path) -> None:
    names = frameworks()
    run = cli("--quick", "--dtype", "float32", "--out", str(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    text = " ".join(run.stdout.split())
    assert "5. float32 gradients over the catalog" in text and "6. known divergences in float32" in text
    import pandas as pd

    summary = pd.read_csv(tmp_path / "gradients_float32_summary.csv")
    assert list(summary.backend) == names
    gradients = pd.read_json(tmp_path / "gradients_float32.json", precise_float=True, dtype=False)
    assert set(gradients.backend) == set(names) and gradients.ulps.notna().all()
    divergences = pd.read_csv(tmp_path / "divergences_float32.csv")
    assert divergences.as_documented.all(), divergences[~divergences.as_documented]
    # a float64-only run afterwards leaves no float32 file of the earlier run behind
    again = cli("--quick", "--backend", "torch", "--out", str(tmp_path))
    assert again.returncode == 0, again.stderr
    assert not list(tmp_path.glob("*float32*"))
    assert math.isfinite(pd.read_csv(tmp_path / "gradients_summary.csv").max_ulps.iloc[0])
