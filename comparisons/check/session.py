"""The checker's side of the learner's process: start it contained, send a job, wait for the answer with a deadline.

The learner's code runs only in the child (learner.py, started with `python -I` inside a `sandbox.Sandbox`). Jobs
and replies go over two private pipes, never its stdout: a reply must be one JSON line of at most REPLY_CAP bytes
with the keys and types of its kind (REPLIES), else the check ends with ChannelError. The child's stdout and stderr
are drained, and only their last lines kept, for diagnostics. A job that does not answer in time, or a child that
dies (a segfault from a deep recursion, os._exit), is reported as that job's result and the child is started again
for the next job; an import that does not finish in time is TargetError, and so is the whole check's deadline.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from comparisons.check.sandbox import Sandbox

LEARNER_SCRIPT = Path(__file__).with_name("learner.py")
IMPORT_TIMEOUT_S = 30.0
JOB_TIMEOUT_S = 10.0
DEADLINE_S = 120.0
REPLY_CAP = 4 << 20  # bytes in one reply line; the largest real one (discovery, an MLP's gradients) is a few KiB
OUTPUT_KEPT = 4096  # bytes of the learner's stdout and stderr kept for diagnostics

Message = dict[str, Any]
Schema = Any  # a type or tuple of types; {key: schema} (a "?" after a key: optional); [item schema]; ("map", schema)

NUMBER = (int, float, str, type(None))  # what learner.py's _number sends: a float, '<type name>' or None
OPTIONAL_TEXT = (str, type(None))
DISCOVERY: Schema = {
    "class": str, "file": str, "data": str, "grad": str, "children": OPTIONAL_TEXT, "backward": str,
    "ops": ("map", bool), "where": ("map", OPTIONAL_TEXT), "hints": ("map", str),
}  # fmt: skip
REPLIES: dict[str, Schema] = {
    "ready": {"discovery": DISCOVERY},
    "load_error": {"message": str},
    "progress": {"depth": int},
    "failed": {"ok": bool, "error": str, "recursion?": bool},
    "expr": {"ok": bool, "value": NUMBER, "reads": [{"root": NUMBER, "grads": ("map", NUMBER)}], "wrapped": [str]},
    "deep": {"ok": bool, "depths": [{"depth": int, "ok": bool, "error": OPTIONAL_TEXT, "right?": bool}]},
    "nn": {"ok": bool, "missing?": str, "count?": int, "outputs?": [NUMBER], "loss?": NUMBER, "grads?": [NUMBER],
           "zeroed?": (list, type(None))},
    "nn_plan": {"ok": bool, "missing?": str, "call?": str, "nouts?": [int], "file?": str},
}  # fmt: skip
SIGNAL_WHY = {
    "SIGSEGV": " (a crash: often a recursion deeper than the C stack)",
    "SIGXCPU": " (it used up its CPU time)",
    "SIGXFSZ": " (it wrote a file over the size limit)",
}


class TargetError(Exception):
    """The target cannot be loaded (missing, broken, loops at import): one line saying why and what to do."""


class ChannelError(TargetError):
    """Something other than the learner process's own replies came on the checker's channel."""


class DeadlineError(TargetError):
    """The whole check did not finish within its deadline."""


class LearnerProcess:
    """One child process at a time running the learner's engine; `run(job)` restarts it when needed."""

    def __init__(
        self, target: str, class_name: str = "", backward: str = "", import_timeout: float = IMPORT_TIMEOUT_S,
        deadline_s: float = DEADLINE_S,
    ):  # fmt: skip
        self.target, self.class_name, self.backward = target, class_name, backward
        self.import_timeout, self.deadline_s = import_timeout, deadline_s
        self.deadline = time.monotonic() + deadline_s
        self.folder = os.getcwd()  # where the user started the check: module targets import from here
        self.absolute_target = _absolute(target)
        self.sandbox = Sandbox(_readable(self.absolute_target, self.folder))
        self.proc: subprocess.Popen[bytes] | None = None
        self.replies: queue.Queue[Message | str | None] = queue.Queue()
        self.output = _Tail()
        self.job_pipe: int | None = None
        self.discovery: Message = {}
        self.progress: list[Message] = []  # what the last job reported before its answer

    def start(self) -> Message:
        """Start the child and import the engine; its discovery (names, ops, file:line of each op)."""
        self._stop()
        job_read, self.job_pipe = os.pipe()
        reply_read, reply_write = os.pipe()
        env = self.sandbox.env({"CHECK_JOB_FD": str(job_read), "CHECK_REPLY_FD": str(reply_write), "CHECK_FOLDER": self.folder})
        argv = [sys.executable, "-I", "-B", str(LEARNER_SCRIPT), self.absolute_target, self.class_name, self.backward]
        try:
            self.proc = subprocess.Popen(
                self.sandbox.command(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                env=env, pass_fds=(job_read, reply_write), start_new_session=True, preexec_fn=self.sandbox.preexec,
                cwd=self.sandbox.scratch,
            )  # fmt: skip
        except OSError as exc:
            os.close(reply_read)
            raise TargetError(f"cannot start {argv[0]} for the engine: {exc}") from None
        finally:
            os.close(job_read)
            os.close(reply_write)
        self.replies, self.output = queue.Queue(), _Tail()
        threading.Thread(target=_read_replies, args=(reply_read, self.replies), daemon=True).start()
        threading.Thread(target=self.output.drain, args=(self.proc.stdout,), daemon=True).start()
        first_start = not self.discovery
        waited = min(self.import_timeout, self._left())
        first = self._wait(waited, "ready", ("ready", "load_error"))
        if first is None:
            died = self._death()
            self._stop()
            if died:
                raise TargetError(f"importing {self.target} {died}")
            if first_start or waited >= self.import_timeout:
                shown = self.import_timeout if waited >= self.import_timeout else self.deadline_s
                raise (TargetError if waited >= self.import_timeout else DeadlineError)(
                    f"importing {self.target} did not finish within {shown:g} s: does it train, draw, wait for input or "
                    "loop forever at import? Put such code under `if __name__ == '__main__':`, or allow more time "
                    "with the timeout option"
                )
            raise self._deadline_error()
        if first.get("kind") == "load_error":
            self._stop()
            raise TargetError(first["message"])
        self.discovery = first["discovery"]
        return self.discovery

    def run(self, job: Message, timeout: float = JOB_TIMEOUT_S) -> Message:
        """The child's answer to `job`; {"ok": False, "error": ...} when it fails, hangs or crashes."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        assert self.job_pipe is not None
        with contextlib.suppress(BrokenPipeError):  # the child is gone: _wait sees the end of its replies
            os.write(self.job_pipe, (json.dumps(job) + "\n").encode())
        self.progress = []
        limited = timeout > self._left()
        while True:
            reply = self._wait(min(timeout, self._left()), job["job"], ("result", "progress"))
            if reply is None or reply.get("kind") != "progress":
                break
            self.progress.append(reply)  # a deep chain reports each depth it finished: a crash after one keeps them
        if reply is not None:
            return reply
        died = self._death()
        self._stop()
        if died:
            return {"ok": False, "error": f"the process {died}", "crashed": True}
        if limited:
            raise self._deadline_error()
        return {"ok": False, "error": f"did not finish within {timeout:g} s (an endless loop?)", "timeout": True}

    def _left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def _deadline_error(self) -> DeadlineError:
        return DeadlineError(
            f"checking {self.target} did not finish within {self.deadline_s:g} s: an op that loops or is very slow "
            f"(each probe that hangs takes {JOB_TIMEOUT_S:g} s); allow more time with the timeout option"
        )

    def _wait(self, timeout: float, job: str, kinds: tuple[str, ...]) -> Message | None:
        """The next valid reply, None at the end of the replies or after `timeout` s; ChannelError for anything else."""
        try:
            reply = self.replies.get(timeout=timeout)
        except queue.Empty:
            return None
        if isinstance(reply, str):
            self._stop()
            raise ChannelError(f"your engine printed on the checker's channel ({reply}): print only to stdout or stderr")
        if reply is None:
            return None
        kind = str(reply.get("kind"))
        schema = REPLIES.get(kind if kind != "result" else job if reply.get("ok") is True else "failed")
        wrong = f"a line of kind {kind[:20]!r} here" if kind not in kinds or schema is None else _mismatch(reply, schema, "")
        if wrong:
            self._stop()
            raise ChannelError(f"your engine printed on the checker's channel ({wrong}): print only to stdout or stderr")
        shown: Message = _relative(reply, self.folder)
        return shown

    def _death(self) -> str:
        """How the child ended, if it did ('' while it still runs), with the last line it printed."""
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            return ""
        if self.sandbox.bubblewrap and code > 128:  # bubblewrap exits 128 + the signal that ended the engine
            code = 128 - code
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            how = f"was killed by {name}{SIGNAL_WHY.get(name, '')}"
        else:
            how = f"exited with status {code}"
        last = self.output.last_line()
        return how + (f"; it printed: {last}" if last else "")

    def _stop(self) -> None:
        """End the child and everything it started; the reader threads then see the end of their pipes."""
        if self.proc is not None:
            self.sandbox.kill_tree(self.proc.pid if self.proc.returncode is None else None)
            self.proc.wait()
            if self.proc.stdout is not None:
                self.proc.stdout = None  # the drain thread closes it at its end (closing it here could block)
            self.proc = None
        if self.job_pipe is not None:
            os.close(self.job_pipe)
            self.job_pipe = None

    def close(self) -> None:
        try:
            self._stop()
        finally:
            self.sandbox.close()

    def __enter__(self) -> LearnerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Tail:
    """The learner's stdout and stderr, drained as they come (so it never blocks on them), its last bytes kept."""

    def __init__(self) -> None:
        self.kept = b""

    def drain(self, stream: Any) -> None:
        with stream:
            while chunk := stream.read1(65536):
                self.kept = (self.kept + chunk)[-OUTPUT_KEPT:]

    def last_line(self) -> str:
        lines = [line for line in self.kept.decode("utf-8", "replace").splitlines() if line.strip()]
        return lines[-1].strip()[:200] if lines else ""


def _read_replies(fd: int, replies: queue.Queue[Message | str | None]) -> None:
    """Put each reply line, parsed, on `replies`; a line that is not JSON or is over REPLY_CAP as a string saying
    what it was; None at the end. Reads at most REPLY_CAP + 64 KiB into memory."""
    buffer = bytearray()
    try:
        while chunk := os.read(fd, 65536):
            start = len(buffer)
            buffer += chunk
            while (end := buffer.find(b"\n", start)) >= 0:
                replies.put(_parse(bytes(buffer[:end])))
                del buffer[: end + 1]
                start = 0
            if len(buffer) > REPLY_CAP:
                replies.put(f"a line of over {REPLY_CAP >> 20} MiB")
                return
    except OSError:
        pass
    finally:
        os.close(fd)
        replies.put(None)


def _parse(line: bytes) -> Message | str:
    if len(line) > REPLY_CAP:
        return f"a line of over {REPLY_CAP >> 20} MiB"
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):  # RecursionError: '[[[[...' nested deeper than the parser goes
        return "a line that is not JSON"
    return message if isinstance(message, dict) else "a line that is not a JSON object"


def _mismatch(value: Any, schema: Schema, where: str) -> str:
    """'' when `value` has the keys and types `schema` asks for, else what is wrong and where."""
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return f"{where or 'the line'} is not an object"
        for key, inner in schema.items():
            name = key.rstrip("?")
            if name not in value:
                if key.endswith("?"):
                    continue
                return f"no {where}{name}"
            if wrong := _mismatch(value[name], inner, f"{where}{name}."):
                return wrong
        return ""
    if isinstance(schema, list):
        if not isinstance(value, list):
            return f"{where.rstrip('.')} is not a list"
        return next((w for item in value if (w := _mismatch(item, schema[0], where))), "")
    if isinstance(schema, tuple) and schema and schema[0] == "map":
        if not isinstance(value, dict):
            return f"{where.rstrip('.')} is not an object"
        return next((w for k, item in value.items() if (w := _mismatch(item, schema[1], f"{where}{k}."))), "")
    return "" if isinstance(value, schema) else f"{where.rstrip('.')} is a {type(value).__name__}"


def _relative(value: Any, folder: str) -> Any:
    """Paths under the user's folder as the learner would have shown them there: relative (it runs elsewhere)."""
    prefix = folder.rstrip("/") + "/"
    if isinstance(value, str):
        return value.replace(prefix, "") if prefix != "/" else value
    if isinstance(value, dict):
        return {k: _relative(v, folder) for k, v in value.items()}
    if isinstance(value, list):
        return [_relative(v, folder) for v in value]
    return value


def _absolute(target: str) -> str:
    """A path target made absolute (the child runs in its scratch folder); a module name as it is."""
    looks_like_path = target.endswith(".py") or os.sep in target or os.path.exists(target)
    return os.path.abspath(target) if looks_like_path else target


def _readable(target: str, folder: str) -> list[str]:
    """What the engine may read: the learner script, and the folder its imports start from (the first folder above
    the target without an __init__.py), or the user's folder for a module name."""
    readable = [str(LEARNER_SCRIPT)]
    path = Path(target)
    if not path.is_absolute():
        return [*readable, folder]
    if not path.exists():
        return readable
    root = path if path.is_dir() else path.parent
    while (root / "__init__.py").is_file() and root.parent != root:
        root = root.parent
    return [*readable, str(root)]
