"""The pip command that installs an extra, worded for how this package was installed: from a clone, editable
(`pip install -e ".[torch]"`, run in the clone), or as a wheel (`pip install "micrograd-bench[torch]"`).

A clone has pyproject.toml beside the package directories; site-packages has not. (The install's metadata,
direct_url.json, is not enough: run from a clone, a leftover micrograd_bench.egg-info there looks like a wheel.)
"""

from __future__ import annotations

from pathlib import Path

DISTRIBUTION = "micrograd-bench"


def from_a_clone() -> bool:
    """True when micrograd is imported from a source tree (installed editable, or on sys.path); False for a wheel."""
    return (Path(__file__).resolve().parent.parent / "pyproject.toml").is_file()


def pip_install(extra: str | None = None) -> str:
    """`pip install ...` for `extra` (e.g. "torch"), or for the package itself when extra is None."""
    if from_a_clone():
        return f'pip install -e ".[{extra}]"' if extra else "pip install -e ."
    return f'pip install "{DISTRIBUTION}[{extra}]"' if extra else f"pip install --force-reinstall {DISTRIBUTION}"
