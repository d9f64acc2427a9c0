"""The notebooks run top to bottom in a fresh kernel of this Python (a failing cell fails its test), and what is saved
of them is what they print now; `python -m micrograd.demo --plot` writes a picture; the tiny engines differ by `=`.

Each notebook is executed from a copy with its outputs cleared (notebooks/execute.py, the same code `make notebooks`
runs), so a saved output can never make a test pass.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil
import pytest

from micrograd import demo

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
MAX_NOTEBOOK_BYTES = 200_000  # so that a code-hosting site renders them quickly; pictures are drawn small
MAX_IMAGE_BYTES = 60_000  # base64 text in the .ipynb


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, NOTEBOOKS_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


execute = load("execute")
NOTEBOOKS = execute.NOTEBOOKS


def require_notebook_tools() -> None:
    for package in ("nbclient", "nbformat", "ipykernel"):
        if importlib.util.find_spec(package) is None:
            if IN_CI:
                pytest.fail(f"{package} is required in CI: {execute.MISSING}")
            pytest.skip(f"{package} is missing: {execute.MISSING}")


def code_cells(notebook: Any) -> list[Any]:  # nbformat's NotebookNode, a dict with attribute access
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def printed(cell: Any) -> str:
    """What a cell printed (its stdout and stderr streams), the part of its outputs that must be reproducible."""
    return "".join(output.text for output in cell.outputs if output.output_type == "stream")


def test_the_notebooks_folder_holds_the_three_notebooks() -> None:
    assert sorted(path.name for path in NOTEBOOKS_DIR.glob("*.ipynb")) == sorted(NOTEBOOKS)


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_top_to_bottom_and_its_saved_outputs_are_current(name: str) -> None:
    require_notebook_tools()
    import nbformat

    path = NOTEBOOKS_DIR / name
    saved_bytes = path.read_bytes()
    fresh = execute.execute(path)  # raises CellExecutionError, with the cell and its traceback, if a cell fails
    assert path.read_bytes() == saved_bytes, "executing a notebook must not write it"

    saved = nbformat.reads(saved_bytes.decode(), as_version=4)
    assert [cell.source for cell in code_cells(fresh)] == [cell.source for cell in code_cells(saved)]
    for number, (now, then) in enumerate(zip(code_cells(fresh), code_cells(saved)), start=1):
        assert now.execution_count == number
        assert then.execution_count == number, f"{name}: saved without running cell {number}; run: make notebooks"
        assert printed(now) == printed(then), (
            f"{name}, code cell {number}: the saved output is stale; run: make notebooks\n"
            f"--- saved\n{printed(then)}--- now\n{printed(now)}"
        )
        kinds = [sorted(output.get("data", {})) for output in now.outputs]
        assert kinds == [sorted(output.get("data", {})) for output in then.outputs], f"{name}, code cell {number}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_saved_notebook_renders_with_outputs_and_stays_small(name: str) -> None:
    require_notebook_tools()
    import nbformat

    path = NOTEBOOKS_DIR / name
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    cells = code_cells(notebook)
    assert [cell.execution_count for cell in cells] == list(range(1, len(cells) + 1)), "run: make notebooks"
    assert not [output for cell in cells for output in cell.outputs if output.output_type == "error"]
    assert sum(bool(cell.outputs) for cell in cells) >= len(cells) // 2, f"{name} was saved without most of its outputs"
    outputs = [output for cell in cells for output in cell.outputs]
    images = [output.data[kind] for output in outputs for kind in output.get("data", {}) if kind.startswith("image/")]
    assert all(len(image) <= MAX_IMAGE_BYTES for image in images), [len(image) for image in images]
    assert path.stat().st_size <= MAX_NOTEBOOK_BYTES


@pytest.mark.slow
def test_the_kernel_is_this_python_and_imports_this_checkout(tmp_path: Path) -> None:
    require_notebook_tools()
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    path = tmp_path / "probe.ipynb"
    probe = "import os, sys, micrograd\nprint(sys.executable)\nprint(micrograd.__file__)\nprint(os.getcwd())"
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(new_notebook(cells=[new_code_cell(probe)], metadata={"kernelspec": kernelspec}), path)
    executable, micrograd_file, cwd = printed(code_cells(execute.execute(path))[0]).split()
    assert Path(executable) == Path(sys.executable)
    assert Path(micrograd_file) == ROOT / "micrograd" / "__init__.py"
    assert Path(cwd) == tmp_path


def test_execute_refuses_what_is_not_a_notebook(capsys: pytest.CaptureFixture[str]) -> None:
    assert execute.main([str(NOTEBOOKS_DIR / "tiny_engine.py")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a notebook file (.ipynb)" in err


# --- the tiny engines beside notebook 1 ---


def test_the_broken_tiny_engine_is_the_tiny_engine_with_assignment_for_accumulation() -> None:
    good = (NOTEBOOKS_DIR / "tiny_engine.py").read_text().split('"""', 2)[2].splitlines()
    broken = (NOTEBOOKS_DIR / "tiny_engine_broken.py").read_text().split('"""', 2)[2].splitlines()
    changed = [(g, b) for g, b in zip(good, broken) if g != b]
    assert len(good) == len(broken) and len(changed) == 6
    assert all(b == g.replace(".grad += ", ".grad = ") for g, b in changed)


@pytest.mark.parametrize(("name", "d_square", "d_two_uses"), [("tiny_engine", 6.0, 5.0), ("tiny_engine_broken", 3.0, 2.0)])
def test_tiny_engines_differentiate_x_times_x(name: str, d_square: float, d_two_uses: float) -> None:
    engine = load(name)
    x = engine.Value(3.0)
    (x * x).backward()
    a = engine.Value(1.0)
    (a * 2.0 + a * 3.0).backward()
    assert (x.grad, a.grad) == (d_square, d_two_uses)


def test_tiny_engine_matches_micrograd_on_every_op() -> None:
    from micrograd.engine import Value

    tiny = load("tiny_engine")

    def f(a: Any, b: Any) -> Any:  # the same code on either engine's Value
        c = a * b - a / b
        return (c.tanh() + (c * 0.5).exp() + c.relu() + (a * a).log()) ** 2 / (2 - b) + 1 - c

    results = []
    for engine_value in (tiny.Value, Value):
        a, b = engine_value(0.75), engine_value(-1.25)
        out = f(a, b)
        out.backward()
        results.append((out.data, a.grad, b.grad))
    assert results[0] == pytest.approx(results[1], rel=1e-13)


# --- python -m micrograd.demo --plot ---


def demo_cli(*args: str, cwd: Path, prelude: str = "") -> subprocess.CompletedProcess[str]:
    code = f"{prelude}\nfrom micrograd.demo import main\nmain({list(args)!r})"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"},
    )  # fmt: skip


def test_demo_plot_writes_the_decision_boundary_picture_by_default(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="--plot draws with matplotlib (the report extra)")
    from matplotlib.image import imread

    result = demo_cli("--plot", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "final accuracy 100% after 100 steps" in result.stdout
    path = tmp_path / demo.DEFAULT_PLOT
    assert f"saved the decision boundary and the loss curve to {demo.DEFAULT_PLOT}" in result.stdout
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    pixels = imread(path)
    assert pixels.shape[0] > 400 and pixels.shape[1] > 800 and pixels.std() > 0.05, pixels.shape
    colours = {tuple(round(float(c), 2) for c in pixel[:3]) for pixel in pixels.reshape(-1, pixels.shape[2])[::7]}
    for class_colour in demo.CLASS_COLORS.values():  # the points are drawn in their class's colour
        rgb = tuple(round(int(class_colour[i : i + 2], 16) / 255, 2) for i in (1, 3, 5))
        assert rgb in colours, class_colour
    assert [p.name for p in path.parent.iterdir()] == [path.name], "a temporary file was left beside the picture"


def test_demo_plot_to_a_named_file_replaces_it(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="--plot draws with matplotlib (the report extra)")
    path = tmp_path / "pictures" / "moons.svg"
    path.parent.mkdir()
    path.write_text("an old picture")
    result = demo_cli("--steps", "3", "--samples", "20", "--plot", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert path.read_text().lstrip().startswith("<?xml") and "<svg" in path.read_text()
    assert sorted(p.name for p in path.parent.iterdir()) == ["moons.svg"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--plot", "moons.jpg"], "must end in .png, .svg or .pdf"),
        (["--plot", "."], "must end in .png, .svg or .pdf"),
        (["--plot", "a.png/b.png"], "cannot create the folder"),  # a.png is a file (made below), not a folder
        (["--steps", "0"], "--steps must be at least 1, got 0"),
        (["--samples", "1"], "--samples must be at least 2, got 1"),
    ],
)
def test_demo_bad_arguments_get_one_line_before_any_training(args: list[str], message: str, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_text("")
    result = demo_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == "", "nothing may be trained before the arguments are checked"
    assert result.stderr.startswith("python -m micrograd.demo: error: ") and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr


def test_demo_plot_without_matplotlib_names_the_fix_before_training(tmp_path: Path) -> None:
    result = demo_cli("--plot", cwd=tmp_path, prelude="import sys\nsys.modules['matplotlib'] = None  # as if not installed")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"python -m micrograd.demo: error: {demo.MATPLOTLIB_MISSING}\n"


def test_importing_the_demo_imports_no_matplotlib() -> None:
    code = "import sys, micrograd.demo; print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0 and result.stdout == "[]\n", result.stdout + result.stderr


def test_a_failed_save_leaves_the_old_picture_and_no_temporary_file(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="--plot draws with matplotlib (the report extra)")
    from matplotlib.figure import Figure

    class FailingFigure(Figure):
        def savefig(self, *args: object, **kwargs: object) -> None:
            raise OSError(28, "No space left on device")

    path = tmp_path / "picture.png"
    path.write_bytes(b"old")
    with pytest.raises(OSError, match="No space left"):
        demo.save_atomically(FailingFigure(), path)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["picture.png"]


@pytest.mark.slow
def test_make_lab_registers_the_kernel_and_serves_the_notebooks(tmp_path: Path) -> None:
    """`make lab` (headless: LAB_ARGS) registers the micrograd-bench kernel, starts JupyterLab on notebooks/, and its
    page answers 200; then it is stopped. HOME is a temporary folder, so the kernel spec and the server's runtime file
    land there; the test waits on that file, with a deadline, never a fixed sleep. The venv's set-up is taken as
    done (`-o` its stamp): this is about what `make lab` adds."""
    if shutil.which("make") is None:
        pytest.skip("no make")
    venv = Path(sys.prefix)
    runtime = tmp_path / "runtime"
    env = {**os.environ, "HOME": str(tmp_path), "JUPYTER_RUNTIME_DIR": str(runtime), "JUPYTER_PLATFORM_DIRS": "1"}
    command = ["make", "--no-print-directory", f"VENV={venv}", "-o", f"{venv}/.installed", "lab"]
    command.append("LAB_ARGS=--no-browser --ServerApp.port=0 --ServerApp.ip=127.0.0.1")
    log = (tmp_path / "lab.log").open("w")
    lab = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 300  # the first run installs jupyterlab

        def tick() -> None:
            """Wait a moment for make to stop; fail if it has stopped (there is no server then) or time is up."""
            assert time.monotonic() < deadline, f"no server in time: {(tmp_path / 'lab.log').read_text()}"
            try:
                lab.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                return
            raise AssertionError(f"make lab stopped: {(tmp_path / 'lab.log').read_text()}")

        while not (servers := sorted(runtime.glob("jpserver-*.json"))):
            tick()
        info: dict[str, Any] = {}
        while "token" not in info:  # the file may be caught half written
            with contextlib.suppress(json.JSONDecodeError):
                info = json.loads(servers[0].read_text())
            if "token" not in info:
                tick()
        # jupyter_server writes that file before it listens (it binds on its event loop, which starts after), so a
        # connection refused means not yet: wait for the server to answer, as for the file
        while True:
            try:
                with urllib.request.urlopen(f"{info['url']}lab?token={info['token']}", timeout=30) as response:
                    status, page = response.status, response.read()
                break
            except urllib.error.URLError as exc:
                if not isinstance(exc.reason, ConnectionRefusedError):
                    raise
                tick()
        assert status == 200
        assert b"JupyterLab" in page
        assert Path(info["root_dir"]) == NOTEBOOKS_DIR
        spec = json.loads((tmp_path / ".local/share/jupyter/kernels/micrograd-bench/kernel.json").read_text())
        assert Path(spec["argv"][0]) == Path(sys.executable)
    finally:
        if lab.poll() is None:
            os.killpg(lab.pid, signal.SIGTERM)
        lab.wait(timeout=60)
        if "pid" in info:  # the server itself, which outlives make by its shutdown
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(info["pid"]).wait(timeout=60)
        log.close()
    assert not sorted(runtime.glob("jpserver-*.json")), "the server did not stop"
