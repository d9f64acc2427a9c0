"""asv suite: import time of the project's own packages, each measured in a fresh interpreter.

`import micrograd` and `import backends` must stay light (DESIGN.md: no framework at import time). The frameworks'
own import times are not here: they are the pinned frameworks', the same at every commit, and cost 1-3 s a sample.

Two clocks. asv's timeraw_ times the import by the wall clock inside the fresh interpreter, so it holds whatever
else the machine ran meanwhile: on this shared 2-core machine it moved up to 57-fold between neighbouring commits
that changed no code, too noisy to gate on. track_import_cpu times the same import by the fresh interpreter's own
CPU time (time.process_time, read in it before and after the import statement): the work of the import, reading
files and running module bodies, whatever the load.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

from .bench_support import TIMEOUT, need

CPU_ROUNDS = 15  # fresh interpreters per figure: the median of their CPU times (about 20 ms of start-up each)


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


class ImportCPU:
    """CPU seconds to import a package in a new Python process: the import statement alone, by that process's
    own CPU time, the median of CPU_ROUNDS processes."""

    params = (["micrograd", "backends"],)
    param_names = ("package",)
    timeout = TIMEOUT

    def setup(self, package: str) -> None:
        need(package)

    def track_import_cpu(self, package: str) -> float:
        code = f"import time; t = time.process_time(); import {package}; print(repr(time.process_time() - t))"
        seconds = []
        for _ in range(CPU_ROUNDS):
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT)
            if done.returncode != 0:
                raise RuntimeError(f"import {package} failed in a fresh interpreter: {done.stderr.strip()[-2000:]}")
            seconds.append(float(done.stdout))
        return statistics.median(seconds)

    track_import_cpu.unit = "seconds"  # type: ignore[attr-defined]  # asv reads the unit from the method
