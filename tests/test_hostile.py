"""Hostile input, faults, signals and odd environments: every command ends in a verdict (exit 0 or 1) or one line on
stderr and exit 2 (130 for an interrupt), never a traceback, within 5 s of CPU time and 500 MB.

The corpus is a table of cases in six categories (language, values, arguments, faults, signals, environment). Most run
in-process through `comparisons.__main__.main()`, as the program runs (its signal handling and stdout flush included),
with stdout and stderr swapped for files; the signals and a few faults and environments that only a real process
shows run as subprocesses, measured exactly with os.wait4. CPU time, not wall time, so a busy machine cannot fail a
case; memory in-process is how much the test process's peak resident size rose during the case.
"""

from __future__ import annotations

import errno
import io
import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytest.importorskip("pandas", reason="the commands need pandas: pip install -e '.[report]'")

from comparisons import __main__ as program

ROOT = Path(__file__).resolve().parents[1]
PROG = "python -m comparisons"
CPU_SECONDS, MEGABYTES = 5.0, 500
REFUSED, RESULT, INTERRUPTED = frozenset({2}), frozenset({0, 1}), frozenset({130})
ANY = REFUSED | RESULT
MG = ("--backend", "micrograd")  # the reference alone: the cases test the command, not the frameworks


@dataclass(frozen=True)
class Case:
    """One hostile input: the command line, what may come of it, and how to run it (in-process unless `mode` says)."""

    category: str
    argv: tuple[str, ...]
    expect: frozenset[int] = REFUSED
    says: str = ""  # a refusal's line contains this
    stdin: str | None = None  # in-process standard input (None: an empty one)
    mode: str = "in-process"  # or: stdout-full, stdout-closed, stdout-ascii, enospc:MODULE.FUNCTION, subprocess, signal:...
    env: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        text = " ".join(self.argv)
        text = text if len(text) <= 60 else text[:57] + "..."
        return f"{self.category}:{self.mode}:{text.encode('ascii', 'backslashreplace').decode()}"


def grad(expression: str, *inputs: str, expect: frozenset[int] = REFUSED, says: str = "") -> Case:
    return Case("language", ("grad", expression, *inputs, *MG), expect, says)


def value(*inputs: str, expression: str = "x*y", expect: frozenset[int] = REFUSED, says: str = "") -> Case:
    return Case("values", ("grad", expression, *inputs, *MG), expect, says)


def arguments(*argv: str, expect: frozenset[int] = REFUSED, says: str = "", stdin: str | None = None) -> Case:
    return Case("arguments", argv, expect, says, stdin)


DEEP = "(" * 101 + "x" + ")" * 101
LONG_SUM = " + ".join(f"v{i}" for i in range(60))
CHAIN = "; ".join(["a0 = tanh(x)", *(f"a{i} = tanh(a{i - 1})" for i in range(1, 300)), "a299"])

LANGUAGE = [
    # syntax
    grad("x +", "x=1", says="does not parse"),
    grad("x ** ", "x=1"),
    grad("(x", "x=1"),
    grad("x)", "x=1"),
    grad("x y", "x=1"),
    grad("x ++* y", "x=1", "y=1"),
    grad("", "x=1"),
    grad("   ", "x=1"),
    grad("\n\n\n", "x=1"),
    grad("# only a comment", "x=1"),
    grad(";", "x=1"),
    grad("x;;", "x=1"),
    grad("x\\", "x=1"),
    grad("'x'", "x=1"),
    grad('b"x"', "x=1"),
    grad("f'{x}'", "x=1"),
    grad("x if x else x", "x=1"),
    grad("lambda: x", "x=1"),
    grad("[x]", "x=1"),
    grad("(x, x)", "x=1"),
    grad("{x}", "x=1"),
    grad("{x: x}", "x=1"),
    grad("[x for x in y]", "y=1"),
    grad("x.real", "x=1"),
    grad("x[0]", "x=1"),
    grad("x < 1", "x=1"),
    grad("x and x", "x=1"),
    grad("not x", "x=1"),
    grad("~x", "x=1"),
    grad("x // 2", "x=1"),
    grad("x % 2", "x=1"),
    grad("x @ x", "x=1"),
    grad("x << 1", "x=1"),
    grad("x & 1", "x=1"),
    grad("(y := x)", "x=1"),
    grad("await x", "x=1"),
    grad("yield x", "x=1"),
    grad("*x", "x=1"),
    grad("...", "x=1"),
    grad("None", "x=1"),
    grad("True * x", "x=1"),
    grad("1j * x", "x=1"),
    grad("1e400 * x", "x=1"),
    grad("x * 1" + "1" * 5000, "x=1", says="digits"),
    grad("x * 0x10", "x=1", expect=ANY),
    grad("__import__('os').system('true')", "x=1"),
    grad("import os", "x=1"),
    grad("exec('1')", "x=1"),
    grad("eval('x')", "x=1"),
    grad("open('/etc/passwd')", "x=1"),
    grad("print(x)", "x=1"),
    grad("abs(x)", "x=1"),
    grad("tanh", "x=1"),
    grad("tanh(x, x)", "x=1"),
    grad("tanh()", "x=1"),
    grad("tanh(x=1)", "x=1"),
    grad("tanh(*x)", "x=1"),
    grad("x.__class__", "x=1"),
    grad("del x", "x=1"),
    grad("pass", "x=1"),
    grad("if x: y", "x=1"),
    grad("def f(): return x", "x=1"),
    grad("class A: pass", "x=1"),
    grad("global x", "x=1"),
    grad("x = 1", "x=1"),
    grad("z = x", "x=1"),
    grad("z += x; z", "x=1"),
    grad("z: float = x; z", "x=1"),
    grad("z = x; z = 2*x; z", "x=1"),
    grad("a = b = x; a", "x=1"),
    grad("a, b = x, x; a", "x=1"),
    grad("tanh = x; tanh", "x=1"),
    grad("z = z + x; z", "x=1"),
    grad("z = x; x = 2; z", "x=1"),
    grad("2 + 3", "x=1", says="constant"),
    grad("log(0) * x", "x=1", expect=RESULT),  # the program as written: its truth is undefined (nothing is folded first)
    grad("(1/0) + x", "x=1", expect=RESULT),
    grad(DEEP, "x=1", says="nest"),
    grad("-x", "x=1", says="parentheses"),
    grad("x\x00", "x=1", says="null"),
    grad("x # \u202e reversed", "x=1", expect=RESULT),
    grad("x*y # comment", "x=1", "y=2", expect=RESULT),
    grad("x\u200b", "x=1"),
    grad("x\u00a0+ x", "x=1"),
    grad("\ufeffx", "x=1", expect=ANY),
    grad("x" * 150_000, "x=1"),
    grad("x+" * 60_000 + "x", "x=1", says="operators"),  # 120,001 characters, 60,000 operators
    grad(LONG_SUM, *(f"v{i}=0.5" for i in range(60)), expect=RESULT),
    grad(CHAIN, "x=0.5", expect=RESULT),
    grad("tanh(a*b + c)**2", "a=2", "b=-3", "c=10", expect=RESULT),
    grad("z = 2*x + 2 + x; q = relu(z) + z*x; h = relu(z*z); h + q + q*x", "x=-4", expect=RESULT),
    grad("x ** 0.5", "x=-1", expect=RESULT),
    grad("log(x)", "x=0", expect=RESULT),
    grad("x / y", "x=1", "y=0", expect=RESULT),
    grad("exp(x)", "x=1000", expect=RESULT),
]

VALUES = [
    value("x=1", says="no value given for input y"),
    value("x=1", "y=2", "z=3", says="not an input"),
    value("x=nan", "y=1", says="not a finite number"),
    value("x=inf", "y=1"),
    value("x=-inf", "y=1"),
    value("x=1e400", "y=1"),
    value("x=-1e400", "y=1"),
    value("x=abc", "y=1", says="not a number"),
    value("x=", "y=1", says="NAME=VALUE"),
    value("=1", "y=1"),
    value("x==1", "y=1"),
    value("x=1=2", "y=1"),
    value("1x=2", "y=1"),
    value("x.y=2", "y=1"),
    value("x=1", "x=2", "y=1", says="twice"),
    value("x=1", "y=1", "y=1"),
    value("x=0x10", "y=1"),
    value("x=1,5", "y=1"),
    value("x=1 2", "y=1"),
    value("x=\u0661", "y=1", expect=ANY),  # an Arabic-Indic digit: float() reads it
    value("x=1_000", "y=1", expect=RESULT),
    value("x= 1 ", "y=1", expect=RESULT),
    value("x=1e-320", "y=1", expect=RESULT),
    value("x=1e308", "y=1e308", expect=RESULT),
    value("x=-0.0", "y=1", expect=RESULT),
    value("x=5e-324", "y=5e-324", expect=RESULT),
    value("\U0001d465=1", "y=2", expect=RESULT),  # the mathematical italic x is x (NFKC, as Python reads names)
    value("x=1", "\u0443=2", says="U+0443"),  # a Cyrillic у beside the Latin y
    value("x=1", "y=2", expression="\u0445 + x", says="U+0445"),  # a Cyrillic х beside the Latin x
    value("x=1", "y=2", expression="x + y", expect=RESULT),
    value("a" * 150_000 + "=1", "y=2", expect=REFUSED),
    value("x=1", "y=2", "a" * 150_000 + "=1", says="..."),
    value("x=1", "y=2", "\u202ex=1"),
    value("x=1", "y=\x1b[31m2"),
    value("x=1", "y=2\n3"),
    value("x=1", "y=" + "9" * 5000, expect=ANY),
    value("x=1", "y=" + "1" * 400 + ".5", expect=ANY),
    value("x=1", "y=1e999999999999"),
    value("x=1", "y=0x1p3"),
    value("x=1", "y=True"),
    value("x=1", "y=None"),
    value("x=1", "y=[1]"),
    value(*(f"v{i}=1" for i in range(60)), expression=LONG_SUM.replace("v59", "w"), says="more"),
    value("x=1", "y=2", expression="x*y*" + "*".join(f"q{i}" for i in range(20)), says="and 10 more"),
    value("x=1", "y=2", expression="x*y*" + "a" * 300, says="..."),
]

WIDE = ",".join(["1"] * 20_000)
ARGUMENTS = [
    arguments("bogus", says="unknown command"),
    arguments("grad", says="give an expression"),
    arguments("grad", "x", "x=1", "--backend", "nope", says="unknown backend"),
    arguments("grad", "x", "x=1", "--backend", ""),
    arguments("grad", "x", "x=1", "--backend", ",,,"),
    arguments("grad", "x", "x=1", "--format", "xml"),
    arguments("grad", "x", "x=1", "--max-ulps", "-1"),
    arguments("grad", "x", "x=1", "--max-ulps", "nan"),
    arguments("grad", "x", "x=1", "--dtype", "float16"),
    arguments("grad", "x", "x=1", "--rtol", "-1"),
    arguments("grad", "x", "x=1", "--atol", "inf", *MG, expect=ANY),
    arguments("grad", "x", "x=1", "--max-work", "0"),
    arguments("grad", "x*2", "x=1", "--max-work", "1", *MG, says="--max-work 3"),  # x, 2 and their product
    arguments("grad", LONG_SUM, *(f"v{i}=1" for i in range(60)), "--max-work", "100", *MG, says=f"--max-work {60 + 59}"),
    arguments("grad", "x", "x=1", "--timeout", "0"),
    arguments("grad", "x", "x=1", "--timeout", "-1"),
    arguments("grad", "x", "x=1", "--timeout", "nan"),
    arguments("grad", "x", "x=1", "--timeout", "abc"),
    arguments("grad", "x", "x=1", "--out", "/tmp/x"),
    arguments("grad", "-f", "{tmp}/missing/expression.txt", "x=1", says="cannot read"),
    arguments("grad", "-f", "/", "x=1", says="cannot read"),
    arguments("grad", "-f", "/dev/zero", "x=1", says="200,000"),
    arguments("grad", "-f", "/dev/null", "x=1", says="empty"),
    arguments("grad", "-", "x=1", *MG, stdin="", says="empty"),
    arguments("grad", "-", "x=1", *MG, stdin="x" * 300_000, says="200,000"),
    arguments("grad", "-", "x=1", *MG, stdin="x*2\n", expect=RESULT),
    arguments("train", "--steps", "0"),
    arguments("train", "--steps", "-5"),
    arguments("train", "--steps", "abc"),
    arguments("train", "--steps", "1e12"),
    arguments("train", "--steps", "1000000000000", says="--max-work"),
    arguments("train", "--hidden", WIDE, says="--max-work"),
    arguments("train", "--hidden", "0"),
    arguments("train", "--hidden", ""),
    arguments("train", "--hidden", "1,,2"),
    arguments("train", "--hidden", "100000000", says="--max-work"),
    arguments("train", "--lr", "0"),
    arguments("train", "--lr", "-1"),
    arguments("train", "--lr", "nan"),
    arguments("train", "--lr", "1,2,3"),
    arguments("train", "--samples", "0"),
    arguments("train", "--batch-size", "0"),
    arguments("train", "--plot", "loss.txt"),
    arguments("train", "--plot", "{tmp}/missing/loss.png", says="--plot"),
    arguments("train", "--plot", ""),
    arguments("fuzz", "--n", "0"),
    arguments("fuzz", "--n", "-1"),
    arguments("fuzz", "--n", "1e12"),
    arguments("fuzz", "--n", "1000000000000", says="--max-work"),
    arguments("fuzz", "--points", "0"),
    arguments("fuzz", "--shrink", "-1"),
    arguments("fuzz", "--seed", "abc"),
    arguments("fuzz", "--out", "", says="empty folder"),
    arguments("fuzz", "--dtype", "float8"),
    arguments("report", "--out", "", says="empty folder"),
    arguments("report", "--out", "   "),
    arguments("report", "--timeout", "0"),
    arguments("report", "--bogus"),
    arguments("--quick", "--out", "", says="empty folder"),
    arguments("accuracy", "--png", "heatmap.txt"),
    arguments("accuracy", "--png", "{tmp}/missing/heatmap.png", says="no folder"),
    arguments("accuracy", "--format", "xml"),
    arguments("check", "", says="give the engine"),
    arguments("check", "{tmp}/missing/engine.py"),
    arguments("check", "x" * 150_000),
]


def fault(*argv: str, mode: str, says: str = "", expect: frozenset[int] = REFUSED) -> Case:
    return Case("faults", argv, expect, says, mode=mode)


FAULTS = [
    fault("grad", "x*2", "x=1", *MG, mode="stdout-full", says="cannot write standard output"),
    fault("grad", "x*2", "x=1", "--format", "csv", *MG, mode="stdout-full", says="cannot write standard output"),
    fault("grad", "x*2", "x=1", "--format", "json", *MG, mode="stdout-full", says="No space left"),
    fault("grad", "x*2", "x=1", "--format", "markdown", *MG, mode="stdout-full", says="No space left"),
    fault("train", "--steps", "2", "--samples", "8", *MG, mode="stdout-full", says="No space left"),
    fault("grad", "x*2", "x=1", *MG, mode="stdout-closed", says="standard output is closed"),
    fault("train", "--steps", "2", *MG, mode="stdout-closed", says="standard output is closed"),
    fault("check", "engine.py", mode="stdout-closed", says="standard output is closed"),
    fault("grad", "\u00e9*2", "\u00e9=1", *MG, mode="stdout-ascii", says="U+00E9"),
    fault("grad", "x*2", "x=1", *MG, mode="stdout-ascii", expect=RESULT),
    fault(
        "fuzz", "--n", "2", "--points", "1", "--shrink", "0", *MG, "--out", "{tmp}/fuzz", mode="enospc:pathlib.Path.write_text"
    ),
    fault("train", "--steps", "2", "--samples", "8", *MG, "--plot", "{tmp}/loss.png", mode="enospc:render.plot_losses"),
    fault("fuzz", "--n", "2", "--points", "1", "--shrink", "0", *MG, "--out", "{tmp}/fuzz", mode="unwritable"),
    fault("grad", "x*2", "x=1", *MG, mode="subprocess:>/dev/full", says="cannot write standard output"),
    fault("grad", "x*2", "x=1", *MG, mode="subprocess:>&-", says="standard output is closed"),
    fault("grad", "-", "x=1", *MG, mode="subprocess:</dev/zero", says="200,000"),
    fault("grad", "-", "x=1", *MG, mode="subprocess:<&-", says="standard input"),
    fault("grad", "-f", "/dev/urandom", "x=1", mode="subprocess", says="cannot read"),
]

SIGNALS = [
    Case(
        "signals",
        ("grad", "x*2", "x=1", *MG),
        INTERRUPTED,
        "interrupted, nothing written",
        mode="signal:SIGINT:commands.runs.judged",
    ),
    Case(
        "signals",
        ("grad", "x*2", "x=1", *MG),
        INTERRUPTED,
        "interrupted, nothing written",
        mode="signal:SIGTERM:commands.runs.judged",
    ),
    Case(
        "signals",
        ("grad", "x*2", "x=1", *MG),
        INTERRUPTED,
        "interrupted, nothing written",
        mode="signal:SIGHUP:commands.runs.judged",
    ),
    Case(
        "signals",
        ("fuzz", "--n", "2", "--points", "1", *MG, "--out", "{tmp}/fuzz"),
        INTERRUPTED,
        "interrupted",
        mode="signal:SIGHUP:render.staged_files",
    ),
    Case(
        "signals",
        ("grad", "x*2", "x=1", "--timeout", "1", *MG),
        REFUSED,
        "--timeout 1",
        mode="signal::commands.runs.judged",
    ),
    Case(
        "signals",
        ("train", "--steps", "2", "--samples", "8", "--plot", "{tmp}/loss.png", *MG),
        INTERRUPTED,
        "interrupted, nothing written",
        mode="signal:SIGTERM:render.plot_losses",
    ),
    Case(
        "signals",
        ("train", "--steps", "2", "--samples", "8", "--plot", "{tmp}/loss.png", *MG),
        INTERRUPTED,
        "interrupted, nothing written",
        mode="signal:SIGINT:render.plot_losses",
    ),
    Case(
        "signals",
        ("fuzz", "--n", "2", "--points", "1", *MG, "--out", "{tmp}/fuzz"),
        INTERRUPTED,
        "interrupted",
        mode="signal:SIGTERM:render.staged_files",
    ),
    Case("signals", ("grad", "x*2", "x=1", "--format", "csv", *MG), frozenset({0}), mode="sigpipe"),
]


def environment(*argv: str, env: dict[str, str], expect: frozenset[int] = RESULT, says: str = "", sub: bool = False) -> Case:
    return Case("environment", argv, expect, says, mode="subprocess" if sub else "environment", env=env)


ENVIRONMENT = [
    environment("grad", "\u00e9*2", "\u00e9=1", *MG, env={"PYTHONIOENCODING": "ascii"}, expect=REFUSED, says="U+00E9", sub=True),
    environment("grad", "x*2", "x=1", *MG, env={"PYTHONIOENCODING": "ascii"}, sub=True),
    environment("grad", "\u00e9*2", "\u00e9=1", *MG, env={"LC_ALL": "C", "LANG": "C"}, expect=ANY, sub=True),
    environment("grad", "x*2", "x=1", *MG, env={"COLUMNS": "5"}),
    environment("grad", "x*2", "x=1", *MG, env={"COLUMNS": "abc"}),
    environment("grad", "x*2", "x=1", *MG, env={"TERM": "dumb"}),
    environment("grad", "x*2", "x=1", *MG, env={"NO_COLOR": "1"}),
    environment("grad", "x*2", "x=1", *MG, env={"FORCE_COLOR": "1"}),
    environment("grad", "x*2", "x=1", *MG, env={"HOME": "{tmp}/missing"}),
    environment("grad", "x*2", "x=1", *MG, env={"TMPDIR": "{tmp}/missing"}),
    environment("train", "--steps", "2", "--samples", "8", "--plot", "{tmp}/l.png", *MG, env={"MPLCONFIGDIR": "{tmp}/missing"}),
    environment("grad", "x*2", "x=1", *MG, env={"PYTHONHASHSEED": "123"}, sub=True),
]

CORPUS = [*LANGUAGE, *VALUES, *ARGUMENTS, *FAULTS, *SIGNALS, *ENVIRONMENT]
CATEGORIES = ("language", "values", "arguments", "faults", "signals", "environment")


@dataclass
class Outcome:
    status: int
    stdout: str
    stderr: str
    cpu_seconds: float
    megabytes: float


def cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


@contextmanager
def as_program(argv: tuple[str, ...], stdin: io.TextIOBase | None) -> Iterator[None]:
    """sys.argv and stdin as the program would see them; the signal handlers main() installs are put back after."""
    saved = sys.argv, sys.stdin, {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM)}
    sys.argv, sys.stdin = ["comparisons", *argv], stdin  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.argv, sys.stdin = saved[0], saved[1]
        for signum, handler in saved[2].items():
            signal.signal(signum, handler)


def run_in_process(case: Case, argv: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, tmp: Path) -> Outcome:
    """main() as the program runs it, stdout and stderr into files (or the fault the case names)."""
    for name, text in case.env.items():
        monkeypatch.setenv(name, text.replace("{tmp}", str(tmp)))
    out_path, err_path = tmp / "stdout", tmp / "stderr"
    if case.mode == "stdout-full":
        stdout = open("/dev/full", "w", encoding="utf-8")  # noqa: SIM115 (closed below)
    elif case.mode == "stdout-ascii":
        stdout = open(out_path, "w", encoding="ascii")  # noqa: SIM115
    else:
        stdout = open(out_path, "w", encoding="utf-8")  # noqa: SIM115
    if case.mode.startswith("enospc:"):
        module_name, _, function = case.mode.removeprefix("enospc:").rpartition(".")
        target = {"pathlib.Path": __import__("pathlib").Path, "render": __import__("comparisons.render").render}[module_name]

        def full(*args: object, **kwargs: object) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(target, function, full)
    if case.mode == "unwritable":  # the folder is a file: nothing can be created in it
        (tmp / "fuzz").write_text("previous")
    stdin = io.StringIO(case.stdin or "")
    before = resource.getrusage(resource.RUSAGE_SELF)
    with open(err_path, "w", encoding="utf-8") as stderr, as_program(argv, stdin):
        monkeypatch.setattr(sys, "stdout", None if case.mode == "stdout-closed" else stdout)
        monkeypatch.setattr(sys, "stderr", stderr)
        status = program.main()
        monkeypatch.undo()
    after = resource.getrusage(resource.RUSAGE_SELF)
    try:
        stdout.close()
    except OSError:  # /dev/full: what main() left unflushed (nothing, if it silenced stdout as it should)
        pytest.fail("main() left unwritable output in stdout's buffer")
    text = "" if case.mode == "stdout-full" else out_path.read_text(encoding="utf-8", errors="replace")
    megabytes = (after.ru_maxrss - before.ru_maxrss) / 1024
    return Outcome(status, text, err_path.read_text(encoding="utf-8"), cpu(after) - cpu(before), megabytes)


# A deterministic point in a run: the function named in $PAUSE_IN writes the file $PAUSED and waits there for a
# signal (the test sends it once the file exists); it gives up after 120 s (exit 99), so it always ends.
PAUSED_PROGRAM = """
import importlib, os, sys, time
module_name, _, function = os.environ["PAUSE_IN"].rpartition(".")
module = importlib.import_module("comparisons." + module_name)
def paused(*args, **kwargs):
    with open(os.environ["PAUSED"], "w") as file:
        file.write(f"{os.getpid()}\\n")
    for _ in range(12_000):
        time.sleep(0.01)
    sys.exit(99)
setattr(module, function, paused)
from comparisons.__main__ import main
sys.exit(main())
"""


TIME = shutil.which("time", path="/usr/bin:/bin")  # GNU time: the run's own CPU time and peak memory


def run_subprocess(case: Case, argv: tuple[str, ...], tmp: Path) -> Outcome:
    """A real process: its exit status, output, CPU time and peak memory. GNU time starts it and reports both (a
    process forked from this large test process would count this one's memory as its own); without GNU time, os.wait4
    gives the CPU time and memory is not judged. A redirection (subprocess:>&-) is the shell's, which then execs."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **{k: v.replace("{tmp}", str(tmp)) for k, v in case.env.items()}}
    out_path, err_path, usage_path = tmp / "stdout", tmp / "stderr", tmp / "usage"
    command = [sys.executable, "-m", "comparisons", *argv]
    signum = None
    if case.mode.startswith("signal:"):
        _, name, pause_in = case.mode.split(":")
        signum = getattr(signal, name) if name else None
        command = [sys.executable, "-c", PAUSED_PROGRAM, *argv]
        env |= {"PAUSE_IN": pause_in, "PAUSED": str(tmp / "paused")}
    redirect = case.mode.partition(":")[2] if case.mode.startswith("subprocess") else ""
    if redirect:
        command = ["sh", "-c", f'exec "$@" {redirect}', "sh", *command]
    if TIME:  # outside the redirection, which would otherwise give time's own output file the closed descriptor
        command = [TIME, "-o", str(usage_path), "-f", "%e %U %S %M", *command]
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        stdout = subprocess.PIPE if case.mode == "sigpipe" else out
        proc = subprocess.Popen(command, cwd=tmp, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=err)
        if case.mode == "sigpipe" and proc.stdout is not None:
            proc.stdout.close()  # the reader leaves before anything is written (`... | head -c 0`)
        if signum is not None:  # without one (--timeout), the run's own alarm ends it: the pause makes sure it must
            os.kill(wait_for(tmp / "paused", proc), signum)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    cpu_seconds, megabytes = cpu(usage), 0.0
    if TIME:
        *_, user, system, kilobytes = usage_path.read_text().split()[-4:]
        cpu_seconds, megabytes = float(user) + float(system), int(kilobytes) / 1024
    stdout_text = out_path.read_text(errors="replace")
    return Outcome(proc.returncode, stdout_text, err_path.read_text(errors="replace"), cpu_seconds, megabytes)


def wait_for(path: Path, proc: subprocess.Popen[bytes]) -> int:
    """Until the run has written `path` (it waits there), then the process id it wrote there; fails if the run ended
    first. A poll, never a deadline."""
    while not path.exists() or not path.read_text().endswith("\n"):
        try:
            proc.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
        raise AssertionError(f"the run ended before its pause: exit {proc.returncode}")
    return int(path.read_text())


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.id)
def test_every_hostile_input_ends_in_one_line_or_a_result(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    argv = tuple(arg.replace("{tmp}", str(tmp_path)) for arg in case.argv)
    if case.mode.startswith(("signal", "subprocess", "sigpipe")):
        outcome = run_subprocess(case, argv, tmp_path)
    else:
        monkeypatch.chdir(tmp_path)
        outcome = run_in_process(case, argv, monkeypatch, tmp_path)
    if log := os.environ.get("HOSTILE_CPU_LOG"):  # for the record: each case's CPU seconds and memory
        with open(log, "a", encoding="utf-8") as file:
            file.write(f"{outcome.cpu_seconds:.3f}\t{outcome.megabytes:.0f}\t{case.category}\t{case.id}\n")
    lines = outcome.stderr.splitlines()
    shown = f"exit {outcome.status}, stderr {outcome.stderr[:2000]!r}"
    assert outcome.status in case.expect, shown
    assert "Traceback" not in outcome.stderr and "Exception ignored" not in outcome.stderr, shown
    if outcome.status in (2, 130):
        assert len(lines) == 1, f"a refusal or an interrupt is one line: {shown}"
        assert lines[0].startswith(PROG), shown
        assert case.says in lines[0], f"{case.says!r} not in {lines[0]!r}"
    assert all(len(line) <= 1_000 for line in lines), "a message quotes at most 100 characters of any one text"
    assert "\u202e" not in outcome.stderr + outcome.stdout, "a right-to-left override echoed raw"
    assert outcome.cpu_seconds < CPU_SECONDS, f"{outcome.cpu_seconds:.2f} s of CPU"
    assert outcome.megabytes < MEGABYTES, f"{outcome.megabytes:.0f} MB"
    if case.mode in ("unwritable",):
        assert (tmp_path / "fuzz").read_text() == "previous", "the earlier file was changed"
    assert not list(tmp_path.rglob(".partial-*")), "a staging folder was left behind"


def test_the_corpus_is_large_and_covers_every_category() -> None:
    counts = {category: sum(case.category == category for case in CORPUS) for category in CATEGORIES}
    assert sum(counts.values()) == len(CORPUS) >= 200, counts
    assert all(counts.values()), counts
