"""tools/mutation.py (make mutation) without running mutmut: its groups name real files, its results are read from
mutmut's .meta files as mutmut's own exit codes say, and bad input is one line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tools import mutation

ROOT = Path(__file__).resolve().parents[1]


def test_every_group_names_files_that_exist_or_are_announced():
    announced = {"comparisons/judge/verdict.py", "tests/test_verdict.py"}  # land with the judge's verdict
    for name, group in mutation.GROUPS.items():
        for path in (*group.sources, *group.tests):
            assert (ROOT / path).exists() or path in announced, f"{name}: {path}"
        assert group.tests, name


def test_results_read_mutmuts_exit_codes(tmp_path):
    meta = tmp_path / "mutants" / "comparisons" / "judge" / "dtypes.py.meta"
    meta.parent.mkdir(parents=True)
    codes = {"m.a": 1, "m.b": 0, "m.c": 33, "m.d": None, "m.e": -24, "m.f": 99}
    meta.write_text(json.dumps({"exit_code_by_key": codes}))
    assert mutation.results(tmp_path) == {
        "m.a": "killed",
        "m.b": "survived",
        "m.c": "no tests",
        "m.d": "not checked",
        "m.e": "timeout",
        "m.f": "suspicious",
    }


def test_the_score_counts_timeouts_as_killed_and_leaves_out_equivalents_and_unchecked():
    counts = Counter({"killed": 8, "timeout": 1, "survived": 2, "no tests": 1, "equivalent": 3, "not checked": 5})
    assert mutation.score(counts) == (9, 12)


@pytest.mark.parametrize(
    ("args", "message"),
    [(["nope"], "no group named 'nope'; choose from dtypes, "), (["--max-children", "0"], "--max-children 0: give 1 or more")],
)
def test_bad_input_is_one_line_and_exit_2(args, message):
    done = subprocess.run([sys.executable, "tools/mutation.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"tools/mutation.py: {message}") and done.stderr.count("\n") == 1, done.stderr


def test_a_group_resumes_with_the_repositorys_files_and_keeps_mutmuts_own(tmp_path, monkeypatch):
    """Each run copies the repository in again over the group's folder; in mutmut's mutants/ it refreshes the modules
    mutmut copied once and never again, and leaves the mutated source to mutmut (which re-mutates it when it changed,
    keeping the results of unchanged functions). --fresh starts over."""
    monkeypatch.setattr(mutation, "WORK", tmp_path)
    group = mutation.GROUPS["verdict"]
    folder = mutation.prepare("verdict", group, fresh=False)
    assert (folder / "comparisons/judge/rules.py").read_bytes() == (ROOT / "comparisons/judge/rules.py").read_bytes()
    assert 'only_mutate = ["comparisons/judge/verdict.py"]' in (folder / "pyproject.toml").read_text()
    stale, mutated = folder / "mutants/comparisons/judge/rules.py", folder / "mutants/comparisons/judge/verdict.py"
    mutated.parent.mkdir(parents=True)
    stale.write_text("# an old copy\n")
    mutated.write_text("# mutmut's mutants\n")
    (folder / "results.txt").write_text("kept")
    folder = mutation.prepare("verdict", group, fresh=False)
    assert stale.read_bytes() == (ROOT / "comparisons/judge/rules.py").read_bytes()
    assert mutated.read_text() == "# mutmut's mutants\n" and (folder / "results.txt").exists()
    folder = mutation.prepare("verdict", group, fresh=True)
    assert not (folder / "mutants").exists() and not (folder / "results.txt").exists()
