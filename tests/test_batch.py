"""`grad --batch`: JSON Lines in, one strict JSON line out per request, every record judged as `grad` judges it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def batch(lines: list[str], *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "comparisons", "grad", "--batch", "-", "--backend", "micrograd", *extra]
    return subprocess.run(command, input="\n".join(lines) + "\n", capture_output=True, text=True, cwd=ROOT, timeout=300)


def strict(text: str) -> object:
    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_batch_answers_each_line_in_order_with_the_verdict() -> None:
    run = batch(
        [
            json.dumps({"source": "x*y", "inputs": {"x": 2, "y": 3}}),
            "",
            json.dumps({"source": "log(x)", "inputs": {"x": 0}}),
            json.dumps({"source": "x*", "inputs": {}}),
            "not json",
            json.dumps({"source": "exp(x)", "inputs": {"x": 1000}}),
        ]
    )
    assert run.returncode == 0, run.stderr
    answers = [strict(line) for line in run.stdout.splitlines()]
    assert [a["line"] for a in answers] == [1, 3, 4, 5, 6]  # the blank line 2 is skipped
    first = {r["quantity"]: r for r in answers[0]["records"]}
    assert (first["grad:x"]["value"], first["grad:x"]["truth"], first["grad:x"]["class"]) == (3.0, 3.0, "accurate")
    log = answers[1]["records"]
    assert all(r["class"] == "undefined" and "log" in r["why"] for r in log)  # log(0): undefined, judged as nothing
    assert "syntax error" in answers[2]["error"] and "not JSON" in answers[3]["error"]
    overflow = {r["quantity"]: r for r in answers[4]["records"]}
    assert overflow["value"]["value"] == "inf" and overflow["value"]["class"] == "accurate"  # inf is the truth here


def test_batch_exit_status_follows_the_verdict_and_a_missing_file_is_one_line(tmp_path: Path) -> None:
    cancels = json.dumps({"source": "(exp(x) - 1)/x", "inputs": {"x": 1e-12}})
    assert batch([cancels]).returncode == 0  # explained: the formula cancels
    assert batch([cancels], "--strict").returncode == 1  # --strict: not accurate fails
    bad = batch([json.dumps({"source": "x*y", "inputs": {"x": 0.1, "y": 3}})], "--strict", "--max-ulps", "-1")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1  # a negative allowance is a usage error
    missing = subprocess.run(
        [sys.executable, "-m", "comparisons", "grad", "--batch", str(tmp_path / "nope.jsonl")],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "cannot read it" in missing.stderr
    both = subprocess.run(
        [sys.executable, "-m", "comparisons", "grad", "x", "x=1", "--batch", "-"],
        input="", capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert both.returncode == 2 and "--batch takes its expressions from FILE" in both.stderr
