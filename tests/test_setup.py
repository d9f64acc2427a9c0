"""The set-up (Makefile, tools/torch_build.py, constraints*.txt): system packages before the venv, the CPU build of torch
by default and one line that says which build and why, a stop where none is reachable (never a silent multi-GB CUDA
download), and a venv that holds exactly what the constraints pin."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_torch_build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("torch_build", ROOT / "tools" / "torch_build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


torch_build = load_torch_build()


def canonical(name: str) -> str:
    """A distribution's name as pip compares names (PEP 503): case and runs of -_. do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """name -> version of every `name==version` or `name===version` line of a constraints file."""
    found = {}
    for line in path.read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)===?(\S+)", line.strip())
        if match:
            found[canonical(match.group(1))] = match.group(2)
    return found


def test_the_venv_holds_exactly_what_the_constraints_pin() -> None:
    """pip freeze --all of this venv (the project's own editable line aside): every package is in constraints.txt,
    at that version (constraints-cuda.txt's where torch is the CUDA build)."""
    if sys.prefix == sys.base_prefix:
        pytest.skip("not in a virtual environment")
    freeze = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--all"], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    installed = {}
    for line in freeze.splitlines():
        if line.startswith(("-e ", "#")) or " @ " in line:
            continue  # the project itself, installed editable (and pip's comment about it)
        name, version = line.split("==")
        installed[canonical(name)] = version
    pinned = pins(ROOT / "constraints.txt")
    if "+" not in installed.get("torch", "+"):
        pinned |= pins(ROOT / "constraints-cuda.txt")
    unpinned = sorted(set(installed) - set(pinned))
    assert not unpinned, f"installed but not in constraints.txt: {unpinned}"
    different = {n: (v, pinned[n]) for n, v in installed.items() if v != pinned[n]}
    assert not different, f"installed (left) is not the pinned version (right): {different}"


def test_pyproject_pins_are_the_constraints_pins() -> None:
    """Every exact pin in pyproject.toml's extras is constraints.txt's version (torch: its public version)."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    pinned = pins(ROOT / "constraints.txt")
    for requirements in extras.values():
        for requirement in requirements:
            match = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", requirement)
            if match:
                assert pinned[canonical(match.group(1))].split("+")[0] == match.group(2), requirement


def test_cuda_constraints_replace_only_the_torch_line() -> None:
    constraints = (ROOT / "constraints.txt").read_text()
    cuda = (ROOT / "constraints-cuda.txt").read_text()
    merged = torch_build.constraints_for("cuda", constraints, cuda)
    assert "torch===2.13.0+cpu" in constraints and "torch===2.13.0+cpu" not in merged and "torch===2.13.0\n" in merged
    assert set(pins(ROOT / "constraints.txt")) - {"torch"} <= {canonical(line.split("=")[0]) for line in merged.splitlines()}
    assert torch_build.constraints_for("cpu", constraints, cuda) == constraints


def test_pip_index_output_is_read() -> None:
    output = "torch (2.15.0)\nAvailable versions: 2.15.0, 2.14.1, 2.13.0+cpu, 2.13.0\n  INSTALLED: 2.13.0+cpu\n"
    assert torch_build.offered_versions(output) == ["2.15.0", "2.14.1", "2.13.0+cpu", "2.13.0"]
    assert torch_build.offered_versions("ERROR: No matching distribution found for torch\n") == []


@pytest.mark.parametrize(
    ("build", "local", "index_error", "args", "says", "goes_on"),
    [
        ("cpu", True, None, [], "the CPU build 2.13.0+cpu, a wheel pip's own settings already offer", True),
        ("cpu", False, None, ["--extra-index-url", torch_build.CPU_INDEX], "from PyTorch's CPU index", True),
        ("cpu", False, "Name or service not known", [], "no CPU build 2.13.0+cpu is reachable", False),
        ("cuda", False, None, [], "PyPI's CUDA build 2.13.0", True),
    ],
)
def test_the_choice_and_its_one_line(
    build: str, local: bool, index_error: str | None, args: list[str], says: str, goes_on: bool
) -> None:
    got_args, line, ok = torch_build.choose(build, "2.13.0+cpu", local, index_error)
    assert (got_args, ok) == (args, goes_on) and says in line and "\n" not in line
    if not goes_on:
        assert index_error in line and "TORCH=cuda" in line and "PIP_FIND_LINKS" in line


def run_torch_build(tmp_path: Path, build: str, **env: str) -> subprocess.CompletedProcess[str]:
    """tools/torch_build.py with no pip configuration but `env` (PIP_CONFIG_FILE=/dev/null: no pip.conf is read)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    clean |= {"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", **env}
    command = [sys.executable, str(ROOT / "tools" / "torch_build.py"), build, str(tmp_path / "used.txt")]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=clean, check=False)


def test_no_cpu_wheel_reachable_stops_with_one_line(tmp_path: Path) -> None:
    """pip offers no torch and the CPU index does not answer: exit 2, one line that says why and what to do, and no
    pip arguments (so make installs nothing)."""
    proc = run_torch_build(tmp_path, "cpu", TORCH_CPU_INDEX=(tmp_path / "nowhere").as_uri())
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("torch: no CPU build 2.13.0+cpu is reachable")
    assert not (tmp_path / "used.txt").exists()


def test_a_cpu_wheel_in_a_find_links_folder_is_chosen(tmp_path: Path) -> None:
    """A folder of wheels that pip's settings point at (PIP_FIND_LINKS) offering torch 2.13.0+cpu: chosen, with the
    constraints as they are (torch===2.13.0+cpu), and said in one line."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"")  # pip index reads names only
    proc = run_torch_build(tmp_path, "cpu", PIP_FIND_LINKS=str(wheels))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "torch: the CPU build 2.13.0+cpu, a wheel pip's own settings already offer (see `pip config list`)\n"
    assert proc.stdout.split() == ["-c", str(tmp_path / "used.txt")]
    assert (tmp_path / "used.txt").read_text() == (ROOT / "constraints.txt").read_text()


def test_a_wrong_torch_value_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = run_torch_build(tmp_path, "gpu")
    assert (
        proc.returncode == 2 and proc.stderr.count("\n") == 1 and "expected TORCH=cpu (the default) or TORCH=cuda" in proc.stderr
    )


def test_system_packages_come_before_the_venv(tmp_path: Path) -> None:
    """make -n setup on a clone without .venv: the apt step is planned before `python3 -m venv` (which needs
    Debian's python3-venv), and the torch choice before the project's install."""
    if shutil.which("make") is None:
        pytest.skip("no make")
    for name in ("Makefile", "pyproject.toml", "constraints.txt", "constraints-cuda.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "tools").mkdir()
    shutil.copy(ROOT / "tools" / "torch_build.py", tmp_path / "tools")
    plan = subprocess.run(["make", "-n", "setup"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True).stdout
    assert plan.index("apt-get install") < plan.index("-m venv .venv") < plan.index("tools/torch_build.py")
    assert plan.index("tools/torch_build.py") < plan.index('-e ".[dev]"')
    # the pip arguments torch_build.py chose are saved once the install succeeded: what the asv targets read
    assert re.search(r'pip install --quiet \$args -e "\.\[dev\]" \\\n\s*&& echo "\$args" > \.venv/pip-args-used\.txt', plan), plan
