"""Every JSON the project writes is strict JSON (RFC 8259): node's JSON.parse reads it, and so does Python's json told
to refuse NaN and Infinity. nan, inf and -inf stay apart (as the strings "nan", "inf", "-inf"), and
comparisons.render.read_records reads the records back bit for bit: the same cells as pandas' CSV reader gives for
the CSV beside them, and the non-finite numbers that numpy's IEEE arithmetic gives for the same inputs.
Covers report, grad, train, fuzz, accuracy, check and the two speed scripts."""

from __future__ import annotations

import json
import math
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from comparisons import render
from comparisons.commands import engine_speed

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "COLUMNS": "200"}
ORIGINAL = ROOT / "tests" / "engines" / "micrograd_0_1_0" / "micrograd" / "engine.py"


def refuse(constant: str) -> Any:
    raise ValueError(f"not strict JSON: {constant}")


def strict_load(text: str) -> Any:
    """Python's json, but NaN, Infinity and -Infinity are errors (as they are for JSON.parse)."""
    return json.loads(text, parse_constant=refuse)


def assert_node_parses(paths: list[Path]) -> None:
    """node's JSON.parse reads every file. Without node the check is skipped here, never in CI (make setup installs
    Debian's nodejs)."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node is missing: make setup installs Debian's nodejs")
        pytest.skip("node is not installed (apt-get install nodejs)")
    script = "const fs = require('fs'); for (const f of process.argv.slice(1)) JSON.parse(fs.readFileSync(f, 'utf8'));"
    proc = subprocess.run([node, "-e", script, *map(str, paths)], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr


def comparisons(*args: str, cwd: Path = ROOT) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "comparisons", *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return proc.stdout


def bits(x: Any) -> Any:
    """A cell as a comparable key: a number by its float64 bits (nan by its class: pandas' CSV reader and the JSON
    may spell different nan payloads), anything else as itself; None and nan are both missing."""
    if hasattr(x, "item") and not isinstance(x, str):
        x = x.item()
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "missing"
    if isinstance(x, int | float) and not isinstance(x, bool):
        return struct.pack("<d", float(x))
    return x


def assert_same_as_csv(json_path: Path, csv_path: Path) -> pd.DataFrame:
    """read_records(json) holds exactly the cells that pandas.read_csv finds in the CSV of the same records."""
    from_json = render.read_records(json_path)
    from_csv = pd.read_csv(csv_path, keep_default_na=False, na_values=["nan"])
    assert list(from_json.columns) == list(from_csv.columns), json_path.name
    for column in from_csv.columns:
        csv_cells = [bits(x) for x in from_csv[column]]
        json_cells = ["missing" if x == "" else bits(x) for x in from_json[column]]
        assert json_cells == [("missing" if x == "" else x) for x in csv_cells], f"{json_path.name}: {column}"
    return from_json


def test_grad_keeps_nan_inf_and_minus_inf_apart(tmp_path: Path) -> None:
    """log(x) at 0 is -inf with gradient 1/0 = inf; x**0.5 at -1 is nan: numpy's IEEE arithmetic says the same."""
    for name, source, inputs in (("log", "log(x) + 0*y", ["x=0", "y=1"]), ("sqrt", "x**0.5", ["x=-1"])):
        for fmt in ("json", "csv"):
            text = comparisons("grad", source, *inputs, "--backend", "micrograd", "--format", fmt)
            (tmp_path / f"{name}.{fmt}").write_text(text)
        strict_load((tmp_path / f"{name}.json").read_text())
        assert_same_as_csv(tmp_path / f"{name}.json", tmp_path / f"{name}.csv")
    with np.errstate(divide="ignore", invalid="ignore"):
        expected_log = [np.log(np.float64(0.0)), np.float64(1.0) / np.float64(0.0), np.float64(0.0)]
        expected_sqrt = [np.power(np.float64(-1.0), 0.5), np.float64(0.5) * np.power(np.float64(-1.0), -0.5)]
    log = render.read_records(tmp_path / "log.json")
    assert [struct.pack("<d", v) for v in log.value] == [struct.pack("<d", float(v)) for v in expected_log]
    sqrt = render.read_records(tmp_path / "sqrt.json")
    assert all(math.isnan(v) for v in sqrt.value) and all(np.isnan(expected_sqrt))
    assert '"value": "-inf"' in (tmp_path / "log.json").read_text() and '"value": "nan"' in (tmp_path / "sqrt.json").read_text()
    assert_node_parses(sorted(tmp_path.glob("*.json")))


@pytest.mark.slow
def test_every_report_file_is_strict(tmp_path: Path) -> None:
    comparisons("--quick", "--backend", "micrograd", "--out", str(tmp_path))
    jsons = sorted(tmp_path.glob("*.json"))
    assert len(jsons) >= 7
    for path in jsons:
        strict_load(path.read_text())
        assert_same_as_csv(path, path.with_suffix(".csv"))
    assert_node_parses(jsons)


def test_train_accuracy_fuzz_and_check_json_is_strict(tmp_path: Path) -> None:
    outputs = {
        "train": comparisons("train", "--backend", "micrograd", "--steps", "2", "--samples", "10", "--format", "json"),
        "accuracy": comparisons("accuracy", "--backend", "micrograd", "--dtype", "float64", "--format", "json"),
        "fuzz": comparisons("fuzz", "--n", "5", "--backend", "micrograd", "--format", "json", "--out", str(tmp_path / "fuzz")),
        "check": comparisons("check", f"{ORIGINAL}:Value", "--format", "json", "--random", "0"),
    }
    paths = []
    for name, text in outputs.items():
        strict_load(text)
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(text)
    for path in sorted((tmp_path / "fuzz").glob("*.json")):  # the summary fuzz --out writes
        strict_load(path.read_text())
        paths.append(path)
    assert len(paths) == 5
    assert_node_parses(paths)


def test_speed_scripts_write_strict_json(tmp_path: Path) -> None:
    """engine_speed's records, with a nan, an inf and a -inf among them, and a subnormal, read back exactly."""
    rows = [engine_speed._row("demo step", "s", 0.5, 0.01, 10.0, "speedup")]
    for ratio in (math.nan, math.inf, -math.inf, 5e-324):
        rows.append({"measure": "loss", "unit": "", "original": 0.9, "this": 0.9, "ratio": ratio, "target": "", "passed": True})
    result = {"original": "/x", "python": "3.11.2", "machine": "m", "repeats": 1, "chain_ops": 2, "rows": rows}
    engine_speed.save_json(result, tmp_path / "engine.json")
    strict_load((tmp_path / "engine.json").read_text())
    ratios = list(render.read_records(tmp_path / "engine.json").ratio)
    assert [bits(x) for x in ratios[1:]] == ["missing", bits(math.inf), bits(-math.inf), bits(5e-324)]
    assert_node_parses([tmp_path / "engine.json"])


@pytest.mark.slow
def test_training_speed_writes_strict_json(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "comparisons.commands.training_speed", "--quick", "--backends", "micrograd"]
    command += ["--widths", "4", "--points", "10,20", "--out", str(tmp_path)]
    proc = subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    jsons = sorted(tmp_path.glob("*.json"))
    assert len(jsons) == 3
    for path in jsons:
        strict_load(path.read_text())
        assert_same_as_csv(path, path.with_suffix(".csv"))
    assert_node_parses(jsons)


def test_read_records_turns_only_number_columns_back(tmp_path: Path) -> None:
    """ "nan" in a column of numbers (or of nothing but "nan", "inf" and "-inf") is a number; in a column that holds
    other text (a name, a note) it stays text."""
    path = tmp_path / "r.json"
    records = [
        {"x": math.inf, "note": "nan", "n": 1, "fd": "nan"},
        {"x": 2.0, "note": "inf is not a number", "n": -math.inf, "fd": "-inf"},
    ]
    path.write_text(render.json_records(records))
    df = render.read_records(path)
    assert list(df.note) == ["nan", "inf is not a number"]
    assert [bits(x) for x in df.x] == [bits(math.inf), bits(2.0)]
    assert [bits(x) for x in df.n] == [bits(1.0), bits(-math.inf)]
    assert [bits(x) for x in df.fd] == ["missing", bits(-math.inf)]
