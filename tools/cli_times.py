"""How long the command line takes, cold and warm, measured side by side in one run (the README's figures).

    python tools/cli_times.py [--repeats 3] [--batch 100] [--no-report]

Each row is a fresh process, run --repeats times, the rows taking turns (round 1 of every row, then round 2, ...)
so that a busy moment of a shared machine falls on all of them alike; the table gives each row's median wall and
CPU time (the process and its children, from getrusage) and its ratio to one cold `grad`:
- one cold `grad` of tanh(x*y), every backend (the frameworks imported, the truth taken, the table printed)
- the same with --backend micrograd (no framework imported)
- the frameworks' imports in one fresh interpreter, one after another, and overlapped in three threads: whether
  overlapping them (issue 22) would make a cold `grad` faster
- `grad --batch` of --batch expressions (the catalog's cases, cycled) in one process: the warm path
- the report, `python -m comparisons --out TMP` (goal: under 30 s on 2 cores)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere: the repo's packages

from comparisons.judge.catalog import CATALOG

ROOT = Path(__file__).resolve().parents[1]
COLD = ["-m", "comparisons", "grad", "tanh(x*y)", "x=1", "y=2"]
FRAMEWORKS = ("torch", "jax", "tinygrad")
IMPORTS = """
import sys, backends
if sys.argv[1] == "threads":
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(len(sys.argv) - 2) as pool:
        list(pool.map(backends.get, sys.argv[2:]))
else:
    for name in sys.argv[2:]:
        backends.get(name)
"""


def batch_file(count: int, folder: Path) -> Path:
    """`count` JSON lines, the catalog's cases in turn (expressions of every kind, 1 to 50 inputs)."""
    lines = [json.dumps({"source": case.source, "inputs": case.inputs}) for case in CATALOG]
    path = folder / "batch.jsonl"
    path.write_text("\n".join(lines[k % len(lines)] for k in range(count)) + "\n")
    return path


def timed(argv: Sequence[str]) -> tuple[float, float]:
    """(wall s, CPU s) of one run of `python ARGV` from the repository's root; it must succeed (exit 0 or 1)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"tools/cli_times.py: `python {' '.join(argv)}` exited {proc.returncode}: {proc.stderr[-500:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each row (default 3); the median is shown")
    parser.add_argument("--batch", type=int, default=100, help="expressions in the --batch run (default 100)")
    parser.add_argument("--no-report", action="store_true", help="leave the report out (it takes half a minute a run)")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.batch < 1:
        parser.error("--repeats and --batch take 1 or more")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        batch = ["-m", "comparisons", "grad", "--batch", str(batch_file(args.batch, folder))]
        rows: dict[str, list[str]] = {
            "grad, cold, every backend": COLD,
            "grad, cold, --backend micrograd": [*COLD, "--backend", "micrograd"],
            "imports of torch, jax, tinygrad: one after another": ["-c", IMPORTS, "sequential", *FRAMEWORKS],
            "imports of torch, jax, tinygrad: overlapped (threads)": ["-c", IMPORTS, "threads", *FRAMEWORKS],
            f"grad --batch, {args.batch} expressions, every backend": batch,
        }
        if not args.no_report:
            rows["the report (python -m comparisons)"] = ["-m", "comparisons", "--out", str(folder / "results")]
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in rows}
        for round_ in range(1, args.repeats + 1):
            for name, row in rows.items():
                print(f"round {round_}/{args.repeats}: {name} ...", file=sys.stderr, flush=True)
                times[name].append(timed(row))
    cold = statistics.median(wall for wall, _ in times["grad, cold, every backend"])
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPUs, load average {load:.1f} at the end; median of {args.repeats} runs per row, in turns")
    print(f"{'':56} {'wall s':>8} {'CPU s':>8} {'x cold grad':>12}")
    for name, samples in times.items():
        wall = statistics.median(w for w, _ in samples)
        cpu = statistics.median(c for _, c in samples)
        print(f"{name:56} {wall:8.2f} {cpu:8.2f} {wall / cold:12.2f}")
    per = statistics.median(w for w, _ in times[f"grad --batch, {args.batch} expressions, every backend"]) / args.batch
    print(f"--batch: {per:.3f} s wall per expression, {cold / per:.0f}x faster than a cold grad each")
    return 0


if __name__ == "__main__":
    sys.exit(main())
