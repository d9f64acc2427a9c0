"""asv suite: import time, each measured in a fresh interpreter (timeraw_): micrograd, backends, and each framework
as its adapter loads it (`backends.get(name)` after `import backends`, so only the framework's share is timed).
"""

from __future__ import annotations

from comparisons.bench_support import BACKENDS, TIMEOUT, load_backend, need

FRAMEWORKS = [name for name in BACKENDS if name != "micrograd"]


class ImportTime:
    """Seconds to import a package in a new Python process; `import backends` must stay light (see DESIGN.md)."""

    params = (["micrograd", "backends", *FRAMEWORKS],)
    param_names = ("package",)
    timeout = TIMEOUT

    def setup(self, package: str) -> None:
        if package in FRAMEWORKS:
            load_backend(package)  # skips a framework this commit or this environment cannot load
        else:
            need(package)

    def timeraw_import(self, package: str) -> str | tuple[str, str]:
        if package in FRAMEWORKS:
            return f"backends.get({package!r})", "import backends"
        return f"import {package}"
