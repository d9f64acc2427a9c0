"""The pip command that installs an extra, worded for how this package was installed: from a clone, editable
(`pip install -e ".[torch]"`, run in the clone), or as a wheel (`pip install "micrograd-bench[torch]"`).

Standard library only; importlib.metadata loads when a message is needed, not when micrograd is imported.
"""

from __future__ import annotations

import functools
import json

DISTRIBUTION = "micrograd-bench"


@functools.cache
def from_a_clone() -> bool:
    """True for an editable install, or no install at all (the clone on sys.path); False for an installed wheel."""
    import importlib.metadata

    try:
        direct_url = importlib.metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        return True  # not installed: imported from the source tree (PYTHONPATH, or the clone as current directory)
    if not direct_url:  # installed from an index, which writes no direct_url.json
        return False
    dir_info = json.loads(direct_url).get("dir_info", {})
    return bool(dir_info.get("editable", False))


def pip_install(extra: str | None = None) -> str:
    """`pip install ...` for `extra` (e.g. "torch"), or for the package itself when extra is None."""
    if from_a_clone():
        return f'pip install -e ".[{extra}]"' if extra else "pip install -e ."
    return f'pip install "{DISTRIBUTION}[{extra}]"' if extra else f"pip install --force-reinstall {DISTRIBUTION}"
