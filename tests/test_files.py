"""The files the project writes: staged (an interrupted run leaves the previous files whole and no debris, and says
so), JSON that pandas.read_json(..., precise_float=True) reads back bit for bit, the same records as the CSV beside it,
and --plot's rule for where a bare file name goes. The report runs for real, in a subprocess, and is interrupted with
SIGINT while it saves."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import random
import signal
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pd = pytest.importorskip("pandas", reason="the report needs pandas: pip install -e '.[report]'")
pytest.importorskip("matplotlib", reason="the report needs matplotlib: pip install -e '.[report]'")

from comparisons import render  # noqa: E402
from comparisons.commands import engine_speed  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
REPORT = ["--quick", "--backend", "micrograd"]  # a real report, micrograd alone: a few seconds
# A deterministic point in a run: the program writes the file $PAUSED and waits there until a signal comes (the test
# sends it once the file exists: no timing involved). It gives up after 120 s (exit 99) so that it always ends.
PAUSE = """
import os, sys, time
def pause():
    open(os.environ["PAUSED"], "w").close()
    for _ in range(12_000):
        time.sleep(0.01)
    sys.exit(99)
"""
# The report, paused while it saves: after two files are written in the staging folder (at the third table rendered).
PAUSED_SAVE = (
    PAUSE
    + """
from comparisons import render
from comparisons.__main__ import main
real_render, calls = render.render, []
def paused_render(df, fmt):
    calls.append(fmt)
    if len(calls) == 3:
        pause()
    return real_render(df, fmt)
render.render = paused_render
sys.exit(main())  # as the program runs: its SIGTERM handling included
"""
)
# The report as the program runs it, writing the file $STARTED once main() is inside its handlers (at build_parser):
# from there on a Ctrl-C is the program's to handle, however slowly start-up went on a busy machine.
STARTED_REPORT = """
import os, sys
from comparisons import __main__ as program
real_build_parser = program.build_parser
def build_parser(prog):
    open(os.environ["STARTED"], "w").close()
    return real_build_parser(prog)
program.build_parser = build_parser
sys.exit(program.main())
"""
# training_speed, paused once measuring has begun (at its first progress line, "[1/...").
PAUSED_MEASURING = (
    PAUSE
    + """
from comparisons.commands import training_speed
real_run = training_speed.run
def paused_run(*args, progress, **kwargs):
    def report(line):
        progress(line)
        if line.startswith("[1/"):
            pause()
    return real_run(*args, progress=report, **kwargs)
training_speed.run = paused_run
from comparisons.commands.cli import interrupts_like_ctrl_c
interrupts_like_ctrl_c()  # as the module's __main__ block does
sys.exit(training_speed.main(sys.argv[1:]))
"""
)


def wait_for_file(proc: subprocess.Popen[str], path: Path) -> None:
    """Until the program has written `path` (where it pauses for the signal, or says it has started); fails if it
    ended first."""
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError("the run ended before its pause: " + "".join(proc.communicate()))
        proc_wait(proc)


def proc_wait(proc: subprocess.Popen[str]) -> None:
    """Give the program a moment (returns at once if it has ended): a poll, never a deadline."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=0.05)


def run_report(
    out: Path, *, program: str | None = None, cwd: Path = ROOT, paused: Path | None = None, started: Path | None = None
) -> subprocess.Popen[str]:
    command = [sys.executable, "-c", program, *REPORT, "--out", str(out)] if program else [
        sys.executable, "-m", "comparisons", *REPORT, "--out", str(out),
    ]  # fmt: skip
    env = {**ENV, **({"PAUSED": str(paused)} if paused else {}), **({"STARTED": str(started)} if started else {})}
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def staging_folders(folder: Path) -> list[Path]:
    return [path for path in folder.iterdir() if path.name.startswith(".partial-")]


@pytest.fixture(scope="module")
def previous_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """A folder of results from one whole report run, and how long the run took."""
    out = tmp_path_factory.mktemp("previous")
    start = time.monotonic()
    proc = run_report(out)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stdout + stderr
    return out, time.monotonic() - start


@pytest.fixture
def previous(previous_run: tuple[Path, float]) -> Path:
    return previous_run[0]


def copy_of(previous: Path, tmp_path: Path) -> Path:
    out = tmp_path / "results"
    out.mkdir(parents=True)
    for name, data in snapshot(previous).items():
        (out / name).write_bytes(data)
    return out


# --- interrupted runs ---


@pytest.mark.slow
def test_ctrl_c_while_the_report_saves_leaves_the_previous_files_whole(previous: Path, tmp_path: Path) -> None:
    out = copy_of(previous, tmp_path)
    before = snapshot(out)
    paused = tmp_path / "paused"
    proc = run_report(out, program=PAUSED_SAVE, paused=paused)
    wait_for_file(proc, paused)
    assert any(len(list(folder.iterdir())) >= 2 for folder in staging_folders(out)), "not mid-save"
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stdout + stderr
    assert "interrupted, nothing written" in stderr and "Traceback" not in stderr, stderr
    assert snapshot(out) == before, "an interrupted save changed the previous results"
    assert not staging_folders(out), "the staging folder was left behind"


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_or_sighup_while_the_report_saves_is_handled_like_ctrl_c(
    previous: Path, tmp_path: Path, signum: signal.Signals
) -> None:
    """SIGTERM (a kill) or SIGHUP (the terminal closed) mid-save: exit 130, "interrupted, nothing written", the
    previous files whole, no staging folder left."""
    out = copy_of(previous, tmp_path)
    before = snapshot(out)
    paused = tmp_path / "paused"
    proc = run_report(out, program=PAUSED_SAVE, paused=paused)
    wait_for_file(proc, paused)
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stdout + stderr
    assert stderr.strip().splitlines() == ["python -m comparisons: interrupted, nothing written"], stderr
    assert snapshot(out) == before, "a terminated save changed the previous results"
    assert not staging_folders(out), "the staging folder was left behind"


def test_a_killed_runs_staging_folder_is_removed_by_the_next_run_into_the_folder(tmp_path: Path) -> None:
    """A .partial- folder whose process is gone (SIGKILL leaves one) is removed when the next run stages files there;
    one of a live process (a run in progress) is left alone."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    leftover = tmp_path / f".partial-{int(dead.stdout)}-abc"
    legacy = tmp_path / ".partial-k2j4x"  # the old name, without a process id: nobody can be using it
    live = tmp_path / f".partial-{os.getpid()}-xyz"
    for folder in (leftover, legacy, live):
        folder.mkdir()
        (folder / "half.csv").write_text("a,b\n1,")
    with render.staged_files(tmp_path) as staging:
        (staging / "new.csv").write_text("a\n1\n")
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([live.name, "new.csv"])


@pytest.mark.slow
def test_ctrl_c_at_any_moment_leaves_the_previous_files_or_the_new_ones_whole(
    previous_run: tuple[Path, float], tmp_path: Path
) -> None:
    """SIGINT at random moments of a run (seeded; after main() has started, which the run says with a file, and
    before the interpreter's exit): each run ends with the previous files untouched (exit 130, 'interrupted, nothing
    written'), or with a complete new set (exit 0); never a mix, never a traceback. Either ending passes, so how fast
    the machine is decides only which of the two is checked."""
    previous, seconds = previous_run
    rng = random.Random(12)
    for attempt in range(3):
        out = copy_of(previous, tmp_path / str(attempt))
        before = snapshot(out)
        started = tmp_path / f"started-{attempt}"
        proc = run_report(out, program=STARTED_REPORT, started=started)
        wait_for_file(proc, started)
        time.sleep(rng.uniform(0.0, 0.8 * seconds))
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=300)
        assert "Traceback" not in stderr, stderr
        assert not staging_folders(out), "the staging folder was left behind"
        after = snapshot(out)
        if proc.returncode == 130:
            assert "interrupted" in stderr, stderr
            if "nothing written" in stderr:
                assert after == before, "an interrupted run changed the previous results"
        else:
            assert proc.returncode == 0, stdout + stderr
            assert "saved 16 files" in stdout
        assert after.keys() == before.keys()
        if after != before:  # a new set: written by one run, so its speed table differs from the previous one's
            assert after["speed.csv"] != before["speed.csv"] and after["speed.png"] != before["speed.png"]


def test_a_failure_inside_the_stage_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("old a")
    with pytest.raises(KeyboardInterrupt), render.staged_files(tmp_path) as staging:
        (staging / "a.csv").write_text("new a")
        (staging / "b.csv").write_text("new b")
        raise KeyboardInterrupt
    assert snapshot(tmp_path) == {"a.csv": b"old a"}


def test_a_whole_stage_replaces_its_files_and_keeps_the_others(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("old a")
    (tmp_path / "mine.txt").write_text("not the run's")
    with render.staged_files(tmp_path / ".") as staging:
        (staging / "a.csv").write_text("new a")
        (staging / "b.csv").write_text("new b")
    assert snapshot(tmp_path) == {"a.csv": b"new a", "b.csv": b"new b", "mine.txt": b"not the run's"}


def test_ctrl_c_while_files_move_is_raised_after_they_are_in_place() -> None:
    with pytest.raises(KeyboardInterrupt, match="written whole"), render.sigint_held("written whole"):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the signal is delivered, and held
        held = True
    assert held


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_training_speed_says_interrupted_nothing_written(tmp_path: Path, signum: signal.Signals) -> None:
    out, paused = tmp_path / "speed", tmp_path / "paused"
    command = [sys.executable, "-c", PAUSED_MEASURING, "--quick", "--backends", "micrograd", "--out", str(out)]
    env = {**ENV, "PAUSED": str(paused)}
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_file(proc, paused)  # measuring has begun
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stdout + stderr
    assert "interrupted, nothing written" in stderr and "Traceback" not in stderr, stderr
    assert not out.exists() or not list(out.iterdir())


# --- JSON that reads back bit for bit ---


def cell(x: Any, bits: bool = True) -> tuple[str, Any]:
    """A cell as a comparable key: a number by its float64 bits (so -0.0 is not 0.0), or with bits=False by its value;
    None and every nan are one missing value (pandas reads a JSON null as nan)."""
    if hasattr(x, "item") and not isinstance(x, str):
        x = x.item()
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ("missing", None)
    if isinstance(x, bool | str):
        return (type(x).__name__, x)
    if isinstance(x, int | float):
        return ("number", struct.pack("<d", float(x)) if bits else float(x))
    raise AssertionError(f"unexpected cell {x!r} ({type(x).__name__})")


def cells(df: Any, columns: Any = None, bits: bool = True) -> dict[str, list[tuple[str, Any]]]:
    columns = df.columns if columns is None else columns
    return {str(column): [cell(x, bits) for x in df[column].astype(object)] for column in columns}


def assert_reads_back(path: Path) -> None:
    """render.read_records(path) gives every cell as the CSV beside it, if any, bit for bit (nan, inf and -inf are
    written as strings in strict JSON; read_records turns them back). pandas.read_json(path, precise_float=True,
    dtype=False) gives every cell exactly as json.load does (those strings as strings). Without dtype=False, pandas
    guesses types (a column of whole numbers becomes int, losing -0.0's sign; a column of true/false/null becomes
    numbers), but every number column still holds json.load's values."""
    records = json.loads(path.read_text())
    as_written = cells(pd.DataFrame(records))
    numbers = [c for c, column in as_written.items() if all(kind in ("number", "missing") for kind, _ in column)]
    by_value = cells(pd.DataFrame(records), numbers, bits=False)
    assert cells(pd.read_json(path, precise_float=True), numbers, bits=False) == by_value, path.name
    assert cells(pd.read_json(path, precise_float=True, dtype=False)) == as_written, path.name
    csv = path.with_suffix(".csv")
    if csv.exists():
        from_csv = pd.read_csv(csv, keep_default_na=False, na_values=["nan"])
        assert cells(from_csv) == cells(render.read_records(path)), f"{path.name}: differs from {csv.name}"


def test_every_report_json_reads_back_with_precise_float(previous: Path) -> None:
    jsons = sorted(previous.glob("*.json"))
    assert len(jsons) == 7
    assert "1e-320" in (previous / "divergences.csv").read_text()  # the subnormal that read_json could not read
    for path in jsons:
        assert_reads_back(path)


@pytest.mark.slow
def test_every_training_speed_json_reads_back_with_precise_float(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "comparisons.commands.training_speed", "--quick", "--backends", "micrograd"]
    command += ["--widths", "4", "--points", "10,20", "--out", str(tmp_path)]
    proc = subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    names = {path.name for path in tmp_path.iterdir()}
    stems = ("training_speed", "training_speed_samples", "training_speed_run")
    assert names == {"training_speed.png"} | {f"{stem}.{ext}" for stem in stems for ext in ("csv", "json")}
    for stem in stems:
        assert_reads_back(tmp_path / f"{stem}.json")
    measurements = pd.read_json(tmp_path / "training_speed.json", precise_float=True)
    samples = pd.read_json(tmp_path / "training_speed_samples.json", precise_float=True)
    for r in measurements.itertuples():  # each median is the median of its samples, as written
        mine = samples[(samples.backend == r.backend) & (samples.width == r.width) & (samples.points == r.points)]
        assert r.skipped or r.median_ms == statistics.median(mine.ms)  # as the script takes it (pandas sums differently)


def test_engine_speed_json_reads_back_with_precise_float(tmp_path: Path) -> None:
    rows = [engine_speed._row("demo step", "s", 0.5, 0.01, 10.0, "speedup"), engine_speed._row("info: x", "s", 0.5, 0.1)]
    rows.append({"measure": "loss", "unit": "", "original": 0.9, "this": 0.9, "ratio": 5e-324, "target": "", "passed": True})
    result = {"original": "/x", "python": "3.11.2", "machine": "m", "repeats": 1, "chain_ops": 2, "rows": rows}
    engine_speed.save_json(result, tmp_path / "engine.json")
    assert_reads_back(tmp_path / "engine.json")
    assert json.loads((tmp_path / "engine.json").read_text())[2]["ratio"] == 5e-324


@pytest.mark.parametrize(
    "x", [1e-320, -5e-324, 2.225073858507201e-308, 2.2250738585072014e-308, 0.1 + 0.2, -0.0, math.inf, -math.inf, math.nan]
)
def test_a_tricky_float_reads_back_exactly(x: float, tmp_path: Path) -> None:
    text = render.json_records([{"x": x, "n": 3, "s": "1e-320", "b": True, "none": None}])
    (tmp_path / "x.json").write_text(text)
    back = render.read_records(tmp_path / "x.json")  # nan, inf and -inf too (strict JSON writes them as strings)
    assert cell(back.x[0]) == cell(x) and (back.n[0], back.s[0], back.b[0]) == (3, "1e-320", True)
    if not math.isfinite(x):
        return
    back = pd.read_json(io.StringIO(text), precise_float=True)
    assert cell(back.x[0], bits=False) == cell(x, bits=False) and cell(json.loads(text)[0]["x"]) == cell(x)
    as_written = pd.read_json(io.StringIO(text), precise_float=True, dtype=False)  # -0.0, and a string like a number
    assert cell(as_written.x[0]) == cell(x) and (as_written.n[0], as_written.s[0], as_written.b[0]) == (3, "1e-320", True)


def test_random_floats_read_back_exactly() -> None:
    rng = random.Random(1)
    xs = [rng.uniform(-1, 1) * 10.0 ** rng.randint(-330, 308) for _ in range(2000)]
    back = pd.read_json(io.StringIO(render.json_records([{"x": x} for x in xs])), precise_float=True)
    assert [cell(x) for x in back.x] == [cell(x) for x in xs]


# --- train --plot ---


@pytest.mark.parametrize(("given", "written"), [("loss.png", "results/loss.png"), ("./loss.png", "loss.png")])
def test_plot_bare_name_goes_in_results(tmp_path: Path, given: str, written: str) -> None:
    command = [sys.executable, "-m", "comparisons", "train", "--backend", "micrograd", "--steps", "2", "--samples", "10"]
    proc = subprocess.run(
        [*command, "--plot", given], cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    files = [str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()]
    assert files == [written]
    assert (tmp_path / written).read_bytes().startswith(b"\x89PNG")
    assert f"loss curves saved to {Path(written)}" in proc.stdout
