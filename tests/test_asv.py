"""The asv suites (comparisons/bench_*.py): `asv check` passes, one quick run of every benchmark on the working tree
fails none, and `asv publish` makes a dashboard that lists every suite.

asv runs with --python=same (this interpreter, no environment to build) from a copy of asv.conf.json whose results,
html and machine file lie in a temporary folder, so nothing is written into the repository or the home folder.
"""

from __future__ import annotations

import ast
import itertools
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUITES_DIR = ROOT / "comparisons"
MACHINE = "pytest"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BENCHMARK_PREFIXES = ("time_", "timeraw_", "track_", "peakmem_", "mem_")
FRAMEWORKS = ("torch", "jax", "tinygrad")  # the backends that may be missing here (but not in CI)


def suites() -> list[str]:
    """Every suite, "module.Class", read from the bench_*.py sources: what the dashboard must list."""
    found = []
    for path in sorted(SUITES_DIR.glob("bench_*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef) and any(
                isinstance(item, ast.FunctionDef) and item.name.startswith(BENCHMARK_PREFIXES) for item in node.body
            ):
                found.append(f"{path.stem}.{node.name}")
    return found


class Asv:
    """asv with a temporary config, results, html and machine file; run() returns (exit code, output)."""

    def __init__(self, tmp: Path):
        import asv.util

        config = asv.util.load_json(str(ROOT / "asv.conf.json"), js_comments=True)
        config.update(
            repo=str(ROOT),
            benchmark_dir=str(SUITES_DIR),
            env_dir=str(tmp / "env"),
            results_dir=str(tmp / "results"),
            html_dir=str(tmp / "html"),
        )
        self.config = tmp / "asv.conf.json"
        self.config.write_text(json.dumps(config, indent=2))
        self.results, self.html = tmp / "results", tmp / "html"
        home = tmp / "home"  # asv keeps its machine file in ~/.asv-machine.json
        home.mkdir()
        self.env = dict(os.environ, HOME=str(home))
        real_home = Path.home()
        self.env.setdefault("XDG_CACHE_HOME", str(real_home / ".cache"))  # tinygrad's kernel cache stays warm
        if (real_home / ".gitconfig").is_file():
            self.env.setdefault("GIT_CONFIG_GLOBAL", str(real_home / ".gitconfig"))

    def run(self, *args: str, timeout: float = 600) -> tuple[int, str]:
        done = subprocess.run(
            [sys.executable, "-m", "asv", *args, "--config", str(self.config)],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return done.returncode, done.stdout + done.stderr


@pytest.fixture(scope="module")
def asv(tmp_path_factory: pytest.TempPathFactory) -> Asv:
    return Asv(tmp_path_factory.mktemp("asv"))


@pytest.fixture(scope="module")
def quick_run(asv: Asv) -> tuple[int, str]:
    """One `asv run --quick` of every benchmark on the working tree, saved as results for HEAD."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    code, output = asv.run("machine", "--yes", "--machine", MACHINE)
    assert code == 0, output
    return asv.run("run", "--python=same", "--quick", "--show-stderr", "--set-commit-hash", head, "--machine", MACHINE)


def test_suites_are_found() -> None:
    assert {name.split(".")[0] for name in suites()} >= {"bench_expression", "bench_training", "bench_engine", "bench_import"}


def test_only_suites_hold_benchmarks() -> None:
    """asv imports every module of comparisons/ and takes each name that looks like a benchmark for one."""
    from asv_runner.discovery import disc_benchmarks

    names = [benchmark.name for benchmark in disc_benchmarks(str(SUITES_DIR)) if benchmark is not None]
    strays = [name for name in names if not name.startswith("bench_")]
    assert not strays, (
        f"asv takes these for benchmarks: {strays}. In comparisons/, names starting with "
        f"{', '.join(BENCHMARK_PREFIXES)} (or Time, Track, PeakMem, Mem, Timeraw) belong in bench_*.py only; "
        "rename them elsewhere (e.g. measure_...), or make them private (_time_...)"
    )
    assert names, "asv found no benchmarks at all"


@pytest.mark.slow
def test_asv_check(asv: Asv) -> None:
    code, output = asv.run("check", "--python=same", timeout=120)
    assert code == 0 and "No problems found" in output, output


@pytest.mark.slow
def test_quick_run_fails_no_benchmark(asv: Asv, quick_run: tuple[int, str]) -> None:
    code, output = quick_run
    result_files = [path for path in (asv.results / MACHINE).glob("*.json") if path.name != "machine.json"]
    assert len(result_files) == 1, f"expected one result file, found {result_files}\n\n{output[-20000:]}"
    results = json.loads(result_files[0].read_text())["results"]
    failed, skipped, ran = [], [], []
    for name, (values, params, *_rest) in results.items():
        for combination, value in zip(itertools.product(*params), values):
            label = f"{name}({', '.join(combination)})" if combination else name
            if value is None:
                failed.append(label)
            elif isinstance(value, float) and math.isnan(value):
                skipped.append(label)
            else:
                ran.append(label)
    assert not failed, f"failed: {failed}\n\n{output[-20000:]}"
    assert code == 0, output[-20000:]
    assert {name.rsplit(".", 1)[0] for name in results} == set(suites()), "a suite ran no benchmark"
    # only a framework that is not installed may skip, and in CI none may (as in conftest.py)
    unexpected = [label for label in skipped if not any(f"'{framework}'" in label for framework in FRAMEWORKS)]
    assert not unexpected, f"skipped: {unexpected}\n\n{output[-20000:]}"
    if IN_CI:
        assert not skipped, f"skipped in CI: {skipped}\n\n{output[-20000:]}"
    assert ran


@pytest.mark.slow
def test_publish_lists_every_suite(asv: Asv, quick_run: tuple[int, str]) -> None:
    code, output = asv.run("publish", timeout=120)
    assert code == 0, output
    index = json.loads((asv.html / "index.json").read_text())
    listed = {name.rsplit(".", 1)[0] for name in index["benchmarks"]}
    missing = set(suites()) - listed
    assert not missing, f"the dashboard does not list {sorted(missing)}; it lists {sorted(listed)}"
    assert (asv.html / "index.html").is_file()
