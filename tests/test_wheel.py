"""The wheel as a user gets it: built with `pip wheel`, installed into a clean venv (no index, no clone on the path),
it holds LICENSE and py.typed, its metadata points nowhere but here, its fix messages suit a wheel, the README's
pure-Python snippets (sections 1 and 3) run from outside the repository, and mypy --strict accepts them against it.
"""

from __future__ import annotations

import email
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = re.split(r"^## ", (ROOT / "README.md").read_text(), flags=re.M)
SOURCES = ["pyproject.toml", "README.md", "LICENSE", "micrograd", "backends", "comparisons"]
SNIPPETS = [
    block
    for section in SECTIONS
    if section.startswith(("1. ", "3. "))
    for block in re.findall(r"```python\n(.*?)```", section, re.S)
]


def run(*cmd: str | Path, cwd: Path, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # nothing of the clone on the path
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(the wheel, the python of a fresh venv with only that wheel installed)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"  # a copy, so that the build's build/ and *.egg-info land there, not in the clone
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", tmp / "dist", source]
    if int(importlib.metadata.version("setuptools").split(".")[0]) >= 77:  # build offline with this env's setuptools
        build.insert(5, "--no-build-isolation")
    built = run(*build, cwd=tmp, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp / "dist").glob("micrograd_bench-*.whl")
    made = run(sys.executable, "-m", "venv", "--without-pip", tmp / "venv", cwd=tmp)
    assert made.returncode == 0, made.stderr
    python = tmp / "venv" / "bin" / "python"
    # --no-deps: offline, the base dependency (mpmath, for `python -m comparisons`) cannot be fetched; what is tested
    # here (micrograd, backends' messages, the snippets) needs only the standard library
    pip = [
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--quiet",
        "--no-index",
        "--no-deps",
        "--find-links",
        tmp / "dist",
    ]
    done = run(*pip, "micrograd-bench", cwd=tmp)
    assert done.returncode == 0, done.stderr
    yield wheel, python
    shutil.rmtree(tmp, ignore_errors=True)


def test_the_wheel_holds_the_license_and_py_typed_and_points_at_no_other_project(installed: tuple[Path, Path]) -> None:
    wheel, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    for package in ("micrograd", "backends", "comparisons"):
        assert f"{package}/py.typed" in names, f"{package}/py.typed is missing from {wheel.name}"
    assert any(name.endswith("licenses/LICENSE") for name in names), f"no LICENSE in {wheel.name}: {names}"
    (metadata_name,) = [name for name in names if name.endswith(".dist-info/METADATA")]
    metadata = email.message_from_string(zipfile.ZipFile(wheel).read(metadata_name).decode())
    assert metadata["License-Expression"] == "MIT"
    urls = [v for k, v in metadata.items() if k in ("Home-page", "Project-URL", "Download-URL")]
    assert not any("karpathy" in url for url in urls), urls
    assert "Programming Language :: Python :: 3.11" in metadata.get_all("Classifier", [])


@pytest.mark.parametrize("snippet", range(len(SNIPPETS)), ids=lambda i: f"snippet{i}")
def test_readme_snippets_run_against_the_installed_wheel(installed: tuple[Path, Path], snippet: int, tmp_path: Path) -> None:
    _, python = installed
    source = SNIPPETS[snippet]
    result = run(python, "-c", source, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for promised in re.findall(r"print\(.*\)\s+# ([^\s,:]+)", source):
        assert promised in result.stdout, f"the README promises {promised!r}, the snippet printed {result.stdout!r}"


def test_the_readme_has_snippets_in_sections_1_and_3() -> None:
    assert len(SNIPPETS) >= 3 and any("model.score" in s for s in SNIPPETS)


def test_fix_messages_are_worded_for_a_wheel(installed: tuple[Path, Path], tmp_path: Path) -> None:
    _, python = installed
    probe = "import backends\ntry:\n    backends.get('torch')\nexcept backends.BackendUnavailable as exc:\n    print(exc)\n"
    result = run(python, "-c", probe, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert 'pip install "micrograd-bench[torch]"' in result.stdout and "-e" not in result.stdout, result.stdout


def test_mypy_strict_accepts_the_readme_snippets_against_the_wheel(installed: tuple[Path, Path], tmp_path: Path) -> None:
    """Through py.typed: mypy reads the installed package's own hints (an untyped package would be an error)."""
    if importlib.util.find_spec("mypy") is None and not IN_CI:
        pytest.skip("mypy is not installed here; it is in the dev extra: pip install -e '.[dev]'")
    _, python = installed
    for i, source in enumerate(SNIPPETS):
        (tmp_path / f"snippet{i}.py").write_text(source)
    cmd = [sys.executable, "-m", "mypy", "--strict", "--python-executable", python, "--cache-dir", tmp_path / ".mypy_cache"]
    result = run(*cmd, *sorted(p.name for p in tmp_path.glob("snippet*.py")), cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
