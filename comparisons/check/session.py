"""The checker's side of the learner's process: start it, send a job, wait for the answer with a deadline.

The learner's code runs only in the child (learner.py, started with `python -I`). A job that does not answer in
time, or a child that dies (a segfault from a deep recursion, os._exit), is reported as that job's result and the
child is started again for the next job; an import that does not finish in time is TargetError.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

LEARNER_SCRIPT = Path(__file__).with_name("learner.py")
IMPORT_TIMEOUT_S = 30.0
JOB_TIMEOUT_S = 10.0

Message = dict[str, Any]


class TargetError(Exception):
    """The target cannot be loaded (missing, broken, loops at import): one line saying why and what to do."""


class LearnerProcess:
    """One child process at a time running the learner's engine; `run(job)` restarts it when needed."""

    def __init__(self, target: str, class_name: str = "", backward: str = "", import_timeout: float = IMPORT_TIMEOUT_S):
        self.target, self.class_name, self.backward = target, class_name, backward
        self.import_timeout = import_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.replies: queue.Queue[Message | None] = queue.Queue()
        self.stderr: IO[bytes] | None = None
        self.discovery: Message = {}
        self.progress: list[Message] = []  # what the last job reported before its answer

    def start(self) -> Message:
        """Start the child and import the engine; its discovery (names, ops, file:line of each op)."""
        self.close()
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 (open while the child lives; closed in close())
        env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONIOENCODING": "utf-8"}  # plots at import must not open windows
        self.proc = subprocess.Popen(
            [sys.executable, "-I", str(LEARNER_SCRIPT), self.target, self.class_name, self.backward],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, env=env, start_new_session=True,
        )  # fmt: skip
        self.replies = queue.Queue()
        threading.Thread(target=_read_lines, args=(self.proc.stdout, self.replies), daemon=True).start()
        first = self._wait(self.import_timeout)
        if first is None:
            died = self._death()
            self.close()
            if died:
                raise TargetError(f"importing {self.target} {died}")
            raise TargetError(
                f"importing {self.target} did not finish within {self.import_timeout:g} s: does it train, draw, wait "
                "for input or loop forever at import? Put such code under `if __name__ == '__main__':`, "
                "or allow more time with the timeout option"
            )
        if first.get("kind") == "load_error":
            self.close()
            raise TargetError(first["message"])
        self.discovery = first["discovery"]
        return self.discovery

    def run(self, job: Message, timeout: float = JOB_TIMEOUT_S) -> Message:
        """The child's answer to `job`; {"ok": False, "error": ...} when it fails, hangs or crashes."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write((json.dumps(job) + "\n").encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # the child is gone: _wait sees the end of its output
        self.progress = []
        while True:
            reply = self._wait(timeout)
            if reply is None or reply.get("kind") != "progress":
                break
            self.progress.append(reply)  # a deep chain reports each depth it finished: a crash after one keeps them
        if reply is not None:
            return reply
        died = self._death()
        self.close()
        if died:
            return {"ok": False, "error": f"the process {died}", "crashed": True}
        return {"ok": False, "error": f"did not finish within {timeout:g} s (an endless loop?)", "timeout": True}

    def _wait(self, timeout: float) -> Message | None:
        try:
            return self.replies.get(timeout=timeout)
        except queue.Empty:
            return None

    def _death(self) -> str:
        """How the child ended, if it did ('' while it still runs), with the last line it wrote to stderr."""
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            return ""
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            how = f"was killed by {name}" + (" (a crash: often a recursion deeper than the C stack)" if name == "SIGSEGV" else "")
        else:
            how = f"exited with status {code}"
        last = self._stderr_tail()
        return how + (f"; it printed: {last}" if last else "")

    def _stderr_tail(self) -> str:
        if self.stderr is None:
            return ""
        self.stderr.seek(0, os.SEEK_END)
        size = self.stderr.tell()
        self.stderr.seek(max(0, size - 2000))
        lines = [line for line in self.stderr.read().decode("utf-8", "replace").splitlines() if line.strip()]
        return lines[-1].strip()[:200] if lines else ""

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
            self.proc = None
        if self.stderr is not None:
            self.stderr.close()
            self.stderr = None

    def __enter__(self) -> LearnerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_lines(stream: IO[bytes] | None, replies: queue.Queue[Message | None]) -> None:
    assert stream is not None
    try:
        for line in stream:
            try:
                replies.put(json.loads(line))
            except ValueError:
                continue
    except (OSError, ValueError):
        pass
    finally:
        replies.put(None)  # the end of the child's output: it exited or crashed
