"""asv suite: import time of the project's own packages, each measured in a fresh interpreter (timeraw_).

`import micrograd` and `import backends` must stay light (DESIGN.md: no framework at import time). The frameworks'
own import times are not here: they are the pinned frameworks', the same at every commit, and cost 1-3 s a sample.
"""

from __future__ import annotations

from .bench_support import TIMEOUT, need


class ImportTime:
    """Seconds to import a package in a new Python process."""

    params = (["micrograd", "backends"],)
    param_names = ("package",)
    timeout = TIMEOUT
    rounds = 1
    repeat = (5, 10, 2.0)  # 5 to 10 fresh interpreters, stopping after 2 s

    def setup(self, package: str) -> None:
        need(package)

    def timeraw_import(self, package: str) -> str:
        return f"import {package}"
