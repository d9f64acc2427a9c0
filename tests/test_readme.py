"""Every Python snippet in the README runs, and prints what its comments say it prints."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def test_the_readme_has_python_snippets() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("source", BLOCKS, ids=[f"snippet{i}" for i in range(len(BLOCKS))])
def test_readme_snippet_runs(source: str, tmp_path: Path) -> None:
    if "draw_dot" in source:
        pytest.importorskip("graphviz", reason="draw_dot needs the viz extra")
    result = subprocess.run(
        [sys.executable, "-c", source],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin:/usr/local/bin"},
    )
    assert result.returncode == 0, result.stderr
    # `print(x)  # 24.7041, ...` promises that 24.7041 is printed; `# Gradients(...)` under a print, likewise
    promised = re.findall(r"print\(.*\)\s+# ([^\s,]+)", source) + re.findall(r"^# (Gradients\(.*\))$", source, re.M)
    for text in promised:
        assert text in result.stdout, f"the README promises {text!r}, the snippet printed {result.stdout!r}"
