"""Where the learner's process runs: a fresh scratch folder (its working folder and HOME), a scrubbed environment,
limits on memory, CPU time, processes, file size and open files, and, where bubblewrap works, a sandbox with no
network, its own process namespace and a read-only view of only what Python and the engine need.

Its whole process tree is ended afterwards (`kill_tree`): descendants are found by parent id (the learner is a child
subreaper, so a double-forked daemon stays below it) and by a token in their environment, stopped, then killed.
`COMPARISONS_CHECK_SANDBOX=rlimits` skips bubblewrap (the fallback, for tests and for machines where it misbehaves).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36
ENV_KEPT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")  # nothing else of the user's environment reaches the engine
TOKEN_NAME = "COMPARISONS_CHECK_TOKEN"
GIB, MIB = 1 << 30, 1 << 20
_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded here: between fork and exec the child only calls it


@dataclass(frozen=True)
class Limits:
    """The learner process's rlimits (each of its processes gets them; `processes` is on top of the user's own)."""

    memory_bytes: int = 2 * GIB
    cpu_s: int = 60
    processes: int = 64
    file_bytes: int = 64 * MIB
    open_files: int = 256
    scratch_bytes: int = 256 * MIB  # under bubblewrap: the scratch folder and /tmp are memory file systems this big

    def words(self) -> str:
        unenforced = " (not enforced for root)" if os.getuid() == 0 else ""
        return f"{self.memory_bytes / GIB:g} GiB memory, {self.cpu_s} s CPU, {self.processes} processes{unenforced}"


@cache
def bubblewrap_problem() -> str:
    """'' when a bubblewrap sandbox starts here, else why not (not installed, no user namespaces, ...)."""
    if os.environ.get("COMPARISONS_CHECK_SANDBOX", "") == "rlimits":
        return "COMPARISONS_CHECK_SANDBOX=rlimits"
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed (Debian: apt-get install bubblewrap)"
    # a scratch folder inside the sandbox's fresh /tmp, as a check has (not /tmp itself: a fresh tmpfs there would
    # hide a Python whose venv lives under /tmp, and the probe would fail where a check works)
    scratch = Path(tempfile.gettempdir()) / "micrograd-bench-probe"
    command = [*_bwrap_arguments(scratch, [], MIB), "--", sys.executable, "-I", "-c", "pass"]
    try:
        done = subprocess.run(command, capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not start: {exc}"
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return f"bwrap cannot start a sandbox here ({said[-1] if said else f'exit {done.returncode}'})"
    return ""


def containment(limits: Limits = Limits()) -> str:
    """The one line saying how the learner's code is contained on this machine."""
    if not bubblewrap_problem():
        return (f"contained: bubblewrap sandbox (no network, files read-only but a scratch folder, own process tree), "
                f"{limits.words()}")  # fmt: skip
    return (f"contained: limits only ({bubblewrap_problem()}): a scratch folder as working folder and HOME, a scrubbed "
            f"environment, {limits.words()}; files elsewhere are NOT protected from the engine")  # fmt: skip


class Sandbox:
    """One learner process's containment: `command` wraps its argv, `env` and `preexec` go to Popen, `kill_tree`
    ends everything it started, `close` removes the scratch folder."""

    def __init__(self, readable: list[str], limits: Limits = Limits()):
        self.limits = limits
        self.scratch = Path(tempfile.mkdtemp(prefix="micrograd-check-"))
        self.readable = readable  # files and folders the engine may read (its import root, the learner script)
        self.token = secrets.token_hex(16)
        self.bubblewrap = not bubblewrap_problem()
        self.processes_before = _count_processes(os.getuid())

    def command(self, argv: list[str]) -> list[str]:
        if not self.bubblewrap:
            return argv
        return [*_bwrap_arguments(self.scratch, self.readable, self.limits.scratch_bytes), "--", *argv]

    def env(self, extra: dict[str, str]) -> dict[str, str]:
        kept = {name: os.environ[name] for name in ENV_KEPT if name in os.environ}
        kept.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        home = str(self.scratch)
        return {**kept, "HOME": home, "TMPDIR": home if not self.bubblewrap else "/tmp", "MPLBACKEND": "Agg",
                "OPENBLAS_NUM_THREADS": "1", TOKEN_NAME: self.token, **extra}  # fmt: skip

    def preexec(self) -> None:
        """In the child before exec: limits, dies with the checker, and orphans of its tree stay below it."""
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        _LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        limits = self.limits
        for which, value in (
            (resource.RLIMIT_AS, limits.memory_bytes), (resource.RLIMIT_CPU, limits.cpu_s),
            (resource.RLIMIT_FSIZE, limits.file_bytes), (resource.RLIMIT_NOFILE, limits.open_files),
            (resource.RLIMIT_NPROC, self.processes_before + limits.processes), (resource.RLIMIT_CORE, 0),
        ):  # fmt: skip
            _, hard = resource.getrlimit(which)
            soft = value if hard == resource.RLIM_INFINITY else min(value, hard)
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(which, (soft, soft + 1 if which == resource.RLIMIT_CPU and soft < hard else soft))

    def kill_tree(self, root: int | None) -> None:
        """SIGKILL `root` (None: already reaped), every descendant and every process carrying this sandbox's token;
        return once all are dead."""
        found: set[int] = set()
        while True:  # stop them first, so that none forks a child this walk would miss
            tree = _descendants(root) | {root} if root is not None else set()
            more = (tree | _carrying(TOKEN_NAME + "=" + self.token)) - found
            if not more:
                break
            for pid in more:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGSTOP)
            found |= more
        handles = []
        for pid in found:
            with contextlib.suppress(OSError):
                handles.append(os.pidfd_open(pid))
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        for handle in handles:  # readable once the process has exited (a zombie holds no files and runs nothing)
            select.select([handle], [], [], 5.0)
            os.close(handle)

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


def _bwrap_arguments(scratch: Path, readable: list[str], scratch_bytes: int) -> list[str]:
    """The file system read-only, the user's home hidden but for Python and what the engine needs, a fresh /tmp,
    /proc and /dev, the scratch folder a fresh writable one; no network, its own processes and session."""
    arguments = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--ro-bind", "/", "/"]
    home = os.path.realpath(os.path.expanduser("~"))
    if home != "/" and os.path.isdir(home):
        arguments += ["--tmpfs", home]
    arguments += ["--proc", "/proc", "--dev", "/dev", "--size", str(scratch_bytes), "--tmpfs", "/tmp"]
    for secret in ("/etc/shadow", "/etc/gshadow"):  # readable by their owner root, capabilities or not
        if os.path.exists(secret):
            arguments += ["--ro-bind", "/dev/null", secret]
    python = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    python |= {p for p in sys.path if p and os.path.exists(p)}  # site-packages, editable installs
    wanted = {q for p in python | set(readable) for q in (os.path.abspath(p), os.path.realpath(p))}
    bound: list[str] = []
    for path in sorted(wanted):  # a folder before what is inside it
        hidden = path.startswith((home + "/", "/tmp/")) or path in (home, "/tmp")
        if hidden and not any(path.startswith(b + "/") for b in bound):
            arguments += ["--ro-bind", path, path]
            bound.append(path)
    return [*arguments, "--size", str(scratch_bytes), "--tmpfs", str(scratch), "--chdir", str(scratch)]


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process this user can see."""
    parents = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = Path(f"/proc/{entry.name}/stat").read_text()
                parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    return parents


def _descendants(root: int) -> set[int]:
    parents = _parents()
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _carrying(marker: str) -> set[int]:
    """Processes whose environment (as it was at their exec) holds `marker`."""
    found = set()
    needle = marker.encode()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            with contextlib.suppress(OSError):
                if needle in Path(f"/proc/{entry.name}/environ").read_bytes().split(b"\0"):
                    found.add(int(entry.name))
    return found


def _count_processes(uid: int) -> int:
    """The user's threads: RLIMIT_NPROC counts every thread of every process of the user, this checker's too."""
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
    return count
