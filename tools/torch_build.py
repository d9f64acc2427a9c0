"""Which build of torch `make setup` installs, said in one line: `python tools/torch_build.py cpu|cuda CONSTRAINTS_OUT`.

Run with .venv's python. It writes the constraints file pip installs with to CONSTRAINTS_OUT, prints the extra pip
arguments on stdout and the one line that says which build and why on stderr. The rules:
- cpu (the default): the CPU wheel of the pinned version (constraints.txt's `torch===X+cpu`) where pip's own settings
  already offer it (a find-links folder or an index in `pip config list`), else from PyTorch's CPU index
  (CPU_INDEX, or $TORCH_CPU_INDEX: a mirror of it) where it answers; where neither does, exit 2 with one line that
  says so: never a silent fall back to PyPI's CUDA build, which is several GB.
- cuda: PyPI's build (constraints-cuda.txt replaces constraints.txt's torch line), about 2.7 GB of wheels.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CPU_INDEX = os.environ.get("TORCH_CPU_INDEX", "https://download.pytorch.org/whl/cpu")
CUDA_WHEELS = "about 2.7 GB of wheels from PyPI"  # the sum of PyPI's listed sizes: constraints-cuda.txt's header


def torch_pin(constraints: str) -> str:
    """The torch version string that constraints.txt pins (`torch===2.13.0+cpu` gives 2.13.0+cpu)."""
    match = re.search(r"^torch===(\S+)$", constraints, re.MULTILINE)
    if match is None:
        raise SystemExit("tools/torch_build.py: constraints.txt has no `torch===VERSION+cpu` line")
    return match.group(1)


def offered_versions(pip_output: str) -> list[str]:
    """The versions in `pip index versions torch`'s 'Available versions: a, b, ...' line (none if it has none)."""
    match = re.search(r"^Available versions: (.*)$", pip_output, re.MULTILINE)
    return match.group(1).split(", ") if match else []


def pip_offers(version: str) -> bool:
    """Whether pip, with the user's own settings, finds this exact torch version (it reads only index pages)."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", "torch", "--retries", "1", "--timeout", "15"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return version in offered_versions(proc.stdout)


def index_answer(url: str) -> str | None:
    """None where the index's torch page answers, else why not (one phrase)."""
    try:
        with urllib.request.urlopen(f"{url}/torch/", timeout=15) as response:
            response.read(1)
    except (urllib.error.URLError, OSError) as error:
        return str(getattr(error, "reason", error))
    return None


def choose(build: str, version: str, offered_locally: bool, index_error: str | None) -> tuple[list[str], str, bool]:
    """(extra pip arguments, the one line, whether set-up goes on) for the wanted build and what is reachable."""
    if build == "cuda":
        return [], f"torch: PyPI's CUDA build {version.split('+')[0]} (TORCH=cuda: {CUDA_WHEELS})", True
    if offered_locally:
        return [], f"torch: the CPU build {version}, a wheel pip's own settings already offer (see `pip config list`)", True
    if index_error is None:
        return ["--extra-index-url", CPU_INDEX], f"torch: the CPU build {version}, from PyTorch's CPU index {CPU_INDEX}", True
    line = (
        f"torch: no CPU build {version} is reachable (pip's own settings offer none; {CPU_INDEX}: {index_error}); "
        f"put the wheel in a folder and rerun with PIP_FIND_LINKS=FOLDER, or run `make setup TORCH=cuda` for PyPI's "
        f"CUDA build ({CUDA_WHEELS})"
    )
    return [], line, False


def constraints_for(build: str, constraints: str, cuda_constraints: str) -> str:
    """constraints.txt, with its torch line replaced by constraints-cuda.txt for the CUDA build."""
    if build == "cpu":
        return constraints
    kept = [line for line in constraints.splitlines() if not line.startswith("torch===")]
    return "\n".join(kept) + "\n" + cuda_constraints


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("cpu", "cuda"):
        print(f"tools/torch_build.py: TORCH={argv[0] if argv else ''!r}; expected TORCH=cpu (the default) or TORCH=cuda",
              file=sys.stderr)  # fmt: skip
        return 2
    build, out = argv
    constraints = (ROOT / "constraints.txt").read_text()
    version = torch_pin(constraints)
    local = build == "cpu" and pip_offers(version)
    error = index_answer(CPU_INDEX) if build == "cpu" and not local else None
    args, line, ok = choose(build, version, local, error)
    print(line, file=sys.stderr)
    if not ok:
        return 2
    Path(out).write_text(constraints_for(build, constraints, (ROOT / "constraints-cuda.txt").read_text()))
    print(" ".join(["-c", out, *args]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
