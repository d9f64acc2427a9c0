"""The registry and the contract: names, lazy imports, the one exception type for a backend that cannot run."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import backends

ROOT = Path(__file__).resolve().parent.parent


def run_python(code: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True, **kwargs)


def test_the_registry_names_the_four_backends_reference_first() -> None:
    assert backends.names() == ["micrograd", "torch", "jax", "tinygrad"]
    assert backends.names()[0] == backends.REFERENCE


def test_importing_backends_loads_no_framework() -> None:
    # the exact command of the issue, in a fresh interpreter
    result = run_python("import backends, sys; print(sorted(m for m in ('torch','jax','tinygrad','pandas') if m in sys.modules))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_backend_imports_only_its_own_framework() -> None:
    result = run_python(
        """
        import backends, sys
        backends.get("torch")
        print(sorted(m for m in ('torch', 'jax', 'tinygrad', 'pandas') if m in sys.modules))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['torch']"


def test_an_unknown_backend_names_the_known_ones() -> None:
    with pytest.raises(backends.BackendUnavailable, match="unknown backend 'pytorch'; expected one of micrograd, torch"):
        backends.get("pytorch")


def test_get_returns_one_instance_per_backend(backend: backends.Backend) -> None:
    assert backends.get(backend.name) is backend
    assert backend.name in repr(backend)


def test_a_missing_framework_raises_backend_unavailable_with_the_fix(tmp_path: Path) -> None:
    # a `torch` that fails to import, first on the path: the adapter must say how to install the real one
    (tmp_path / "torch.py").write_text("raise ImportError('no torch here')\n")
    result = run_python(
        """
        import backends
        try:
            backends.get("torch")
        except backends.BackendUnavailable as exc:
            print("unavailable:", exc)
        print(backends.available()["torch"])
        print(backends.available()["micrograd"])
        """,
        env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("unavailable:") and 'pip install -e ".[torch]"' in lines[0]
    assert 'pip install -e ".[torch]"' in lines[1]
    assert lines[2] == "None"


def test_value_and_grad_takes_text_and_checks_inputs(backend: backends.Backend) -> None:
    got = backend.value_and_grad("z = x*y; z + z*x", {"x": 2, "y": 3})
    assert got.value == pytest.approx(18.0, rel=1e-12)
    assert got.grads == pytest.approx({"x": 15.0, "y": 6.0}, rel=1e-12)
    with pytest.raises(backends.ExpressionError, match="no value given for input y"):
        backend.value_and_grad("x*y", {"x": 1.0})
    with pytest.raises(backends.ExpressionError, match="is not a finite number"):
        backend.value_and_grad("x*y", {"x": 1.0, "y": float("nan")})


def test_a_compiled_function_serves_other_inputs(backend: backends.Backend) -> None:
    fn = backend.compile(backends.parse("tanh(a*b) + a"))
    first, second = fn({"a": 0.5, "b": 1.0}), fn({"a": -2.0, "b": 0.25})
    reference = backends.get(backends.REFERENCE).compile(backends.parse("tanh(a*b) + a"))
    for got, want in ((first, reference({"a": 0.5, "b": 1.0})), (second, reference({"a": -2.0, "b": 0.25}))):
        assert got.value == pytest.approx(want.value, rel=1e-12)
        assert got.grads == pytest.approx(want.grads, rel=1e-12)
