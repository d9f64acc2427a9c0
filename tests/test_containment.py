"""`check` on hostile learner files (tests/hostile_learners/): each runs from a throwaway folder with a fake HOME,
canary files and a secret in the checker's environment, and must leave the user's files, environment and processes
as they were and end with its verdict within the deadline. Under bubblewrap where it works here, and under the
fallback (limits only) for what the fallback promises.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from comparisons.check.sandbox import bubblewrap_problem

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = Path(__file__).with_name("hostile_learners")
SECRET = "CHECK_TEST_SECRET"
SECRET_VALUE = "s3cr3t-of-the-user-0f9a"
DEADLINE = "20"  # seconds: the checks here take 1 to 3 s
NO_BUBBLEWRAP = pytest.mark.skipif(bool(bubblewrap_problem()), reason=bubblewrap_problem() or "bubblewrap works")
MODES = {"bubblewrap": pytest.param("bubblewrap", marks=NO_BUBBLEWRAP), "rlimits": "rlimits"}
BOTH = list(MODES.values())


class Folders:
    """tmp_path laid out as a user's: learner/ (the hostile file beside honest_engine.py), home/ and start/ (where the
    check is started), each with a canary file; `files()` is every file under tmp_path with its bytes."""

    def __init__(self, tmp_path: Path, hostile: str):
        self.root = tmp_path
        self.learner, self.home, self.start = tmp_path / "learner", tmp_path / "home", tmp_path / "start"
        for folder in (self.learner, self.home, self.start):
            folder.mkdir()
            (folder / "canary.txt").write_text(f"canary in {folder.name}\n")
        (self.home / ".bashrc").write_text("export PS1='$ '\n")
        for name in (hostile, "honest_engine.py", "_channel.py"):
            shutil.copy(HOSTILE / name, self.learner / name)
        self.target = str(self.learner / hostile)
        self.before = self.files()

    def files(self) -> dict[str, bytes]:
        return {str(p.relative_to(self.root)): p.read_bytes() for p in sorted(self.root.rglob("*")) if p.is_file()}


def run_check(folders: Folders, mode: str, *options: str) -> tuple[subprocess.CompletedProcess[str], int]:
    """The check of folders.target from folders.start, and the checker's peak resident memory in KiB."""
    peak = folders.root / "peak.txt"
    wrapper = (
        "import runpy, sys\n"
        "try:\n    runpy.run_module('comparisons', run_name='__main__', alter_sys=True)\n"
        "finally:\n"
        # VmHWM, this process's own peak: ru_maxrss would carry over the forking parent's (pytest's, with the
        # frameworks loaded: 680 MB in the whole suite) across exec
        "    hwm = next(line for line in open('/proc/self/status') if line.startswith('VmHWM:')).split()[1]\n"
        f"    open({str(peak)!r}, 'w').write(hwm)\n"
    )
    env = {
        "PATH": os.environ["PATH"], "HOME": str(folders.home), "PYTHONPATH": str(ROOT), SECRET: SECRET_VALUE,
        "COMPARISONS_CHECK_SANDBOX": mode,
    }  # fmt: skip
    argv = [sys.executable, "-c", wrapper, "check", folders.target, "--random", "0", "--timeout", DEADLINE, *options]
    run = subprocess.run(argv, capture_output=True, text=True, cwd=folders.start, env=env, timeout=120)
    kib = int(peak.read_text())
    peak.unlink()
    return run, kib


def daemons(marker: str) -> list[int]:
    """Processes whose argv holds `marker` (a zombie's argv is empty: it counts as gone)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker.encode() in cmdline.read_bytes().split(b"\0"):
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def assert_untouched(folders: Folders, run: subprocess.CompletedProcess[str]) -> None:
    assert folders.files() == folders.before  # no file deleted, changed or added in the learner's, home or start folder
    assert SECRET_VALUE not in run.stdout + run.stderr


def assert_graded(run: subprocess.CompletedProcess[str], mode: str) -> None:
    """The honest engine's verdict: nothing wrong, under the containment the line names."""
    assert run.returncode == 0, run.stderr
    first = run.stdout.splitlines()[0]
    assert first.startswith("contained: " + ("bubblewrap sandbox" if mode == "bubblewrap" else "limits only")), first
    assert "nothing wrong found" in run.stdout


def assert_one_line(run: subprocess.CompletedProcess[str], words: str) -> None:
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and words in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("hostile", ["delete_files.py", "write_home.py"])
@pytest.mark.parametrize("mode", [MODES["bubblewrap"]])
def test_files_outside_the_scratch_folder_are_read_only(tmp_path: Path, mode: str, hostile: str) -> None:
    folders = Folders(tmp_path, hostile)
    run, _ = run_check(folders, mode)
    assert_graded(run, mode)
    assert_untouched(folders, run)


@pytest.mark.parametrize("mode", [MODES["bubblewrap"]])
def test_the_scratch_folder_and_tmp_are_capped(tmp_path: Path, mode: str) -> None:
    folders = Folders(tmp_path, "fill_disk.py")
    run, _ = run_check(folders, mode)
    assert_graded(run, mode)
    assert_untouched(folders, run)


@pytest.mark.parametrize("mode", [MODES["bubblewrap"]])
def test_a_secret_in_the_environment_is_out_of_reach(tmp_path: Path, mode: str) -> None:
    """Neither in its own environment nor in the checker's (/proc/PID/environ): the engine sees only its own processes."""
    folders = Folders(tmp_path, "leak_secret.py")
    run, _ = run_check(folders, mode)
    assert_graded(run, mode)
    assert_untouched(folders, run)


@pytest.mark.parametrize("mode", BOTH)
def test_a_secret_is_not_in_the_engine_environment(tmp_path: Path, mode: str) -> None:
    folders = Folders(tmp_path, "leak_secret.py")
    env_only = (HOSTILE / "leak_secret.py").read_text().replace('Path("/proc").glob("[0-9]*/environ")', "[]")
    Path(folders.target).write_text(env_only)
    folders.before = folders.files()
    run, _ = run_check(folders, mode)
    assert_graded(run, mode)
    assert_untouched(folders, run)


@pytest.mark.parametrize("mode", BOTH)
def test_a_double_forked_daemon_does_not_survive(tmp_path: Path, mode: str) -> None:
    folders = Folders(tmp_path, "daemon.py")
    marker = f"micrograd-check-daemon:{folders.learner}"
    # the truth: run by itself, the file leaves its daemon running (ended here, by its pid)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}  # the daemon would hold pipes open
    subprocess.run([sys.executable, folders.target], cwd=folders.start, timeout=60, check=True, **quiet)
    left = daemons(marker)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert len(left) == 1
    folders.before = folders.files()
    run, _ = run_check(folders, mode)
    assert_graded(run, mode)
    assert daemons(marker) == []
    assert_untouched(folders, run)


@pytest.mark.parametrize("mode", BOTH)
def test_allocating_20_gb_fails_at_the_memory_limit(tmp_path: Path, mode: str) -> None:
    folders = Folders(tmp_path, "allocate.py")
    run, _ = run_check(folders, mode)
    assert_one_line(run, "raised MemoryError")
    assert_untouched(folders, run)


@pytest.mark.parametrize("hostile", ["forge_reply.py", "forge_result.py", "flood_channel.py"])
@pytest.mark.parametrize("mode", BOTH)
def test_a_line_on_the_checkers_channel_ends_the_check(tmp_path: Path, mode: str, hostile: str) -> None:
    """A forged discovery at import, a forged answer to a job, or 300 MB of '[' in one line: one line, exit 2, and the
    checker reads at most a few MiB."""
    folders = Folders(tmp_path, hostile)
    run, peak_kib = run_check(folders, mode)
    assert_one_line(run, "your engine printed on the checker's channel")
    assert peak_kib < 300 * 1024
    assert_untouched(folders, run)


@pytest.mark.parametrize("mode", BOTH)
def test_300_mb_on_stdout_are_drained_not_kept(tmp_path: Path, mode: str) -> None:
    folders = Folders(tmp_path, "flood_stdout.py")
    run, peak_kib = run_check(folders, mode)
    assert_graded(run, mode)
    assert peak_kib < 300 * 1024
    assert_untouched(folders, run)


@pytest.mark.parametrize("mode", BOTH)
def test_an_op_that_hangs_meets_the_overall_deadline(tmp_path: Path, mode: str) -> None:
    folders = Folders(tmp_path, "hang_add.py")
    run, _ = run_check(folders, mode, "--timeout", "3")
    assert_one_line(run, "did not finish within 3 s")
    assert_untouched(folders, run)
