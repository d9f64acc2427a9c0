"""`python -m comparisons` (or `micrograd-bench`): dispatch only. Each command is one module of comparisons/commands/
(report, grad, train, fuzz, accuracy) or comparisons/check/ (check); each imports what it needs when it runs, so
--help stays fast. Exit status: 0 nothing unexplained, 1 something is, 2 bad usage.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from comparisons.commands import accuracy, fuzz, grad, report, train
from comparisons.commands.cli import EXIT_OK, EXIT_USAGE, INTERRUPTS, Parser, TimedOut, UsageError, clip, interrupts_like_ctrl_c

COMMANDS = ("report", "grad", "train", "check", "fuzz", "accuracy")

EPILOG = """\
Without a command, the report runs: python -m comparisons [--quick] [--out DIR] [--backend NAME].
Each command's options: python -m comparisons COMMAND --help.

examples:
  python -m comparisons --quick --out /tmp/results
  python -m comparisons grad "tanh(a*b + c)**2" a=2 b=-3 c=10 --format json
  python -m comparisons train --backend jax --steps 100 --plot loss.png

Exit status: 0 every backend agrees with micrograd within tolerance (rel {rtol:g} or abs {atol:g}; micrograd itself
against finite differences), 1 something is unexplained (or raised without a rule), 2 bad usage or a fault
(full disk, unwritable file, --timeout), 130 interrupted (Ctrl-C, SIGTERM or SIGHUP; files written whole or not at all).
JSON is strict (JSON.parse and jq read it): nan, inf and -inf are the strings "nan", "inf" and "-inf". Read records
back bit for bit with comparisons.render.read_records(path), a pandas DataFrame with those strings as numbers again."""


def build_parser(prog: str) -> Parser:
    from comparisons.judge.agreement import GRAD_ATOL, GRAD_RTOL

    parser = Parser(
        prog=prog,
        description="micrograd beside PyTorch, JAX and tinygrad: the same expressions and training, compared.",
        epilog=EPILOG.format(rtol=GRAD_RTOL, atol=GRAD_ATOL),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="{report,grad,train,check,fuzz,accuracy}", parser_class=Parser)
    for command in (report, grad, train):
        command.add_parser(commands)

    from comparisons.check.cli import add_parser as add_check  # check a learner's engine: comparisons/check/

    add_check(commands)
    for command in (fuzz, accuracy):
        command.add_parser(commands)
    return parser


def with_default_command(argv: list[str]) -> list[str]:
    """No command means the report: `python -m comparisons --quick` is `python -m comparisons report --quick`."""
    if argv and argv[0] in (*COMMANDS, "-h", "--help"):
        return argv
    if argv and not argv[0].startswith("-"):
        raise UsageError(f"unknown command {argv[0]!r}; the commands are {', '.join(COMMANDS)} (none: the report)")
    return ["report", *argv]


def main(argv: Sequence[str] | None = None) -> int:
    """The program (argv None: sys.argv) or one command line; returns the exit status.

    Every way a run can end is one line on stderr and an exit status: 0 or 1 the verdict, 2 bad usage or a fault
    (a full disk, an unwritable file, standard output closed or full or unable to show a character, --timeout),
    130 interrupted by Ctrl-C (SIGINT), SIGTERM or SIGHUP, handled alike: files are written whole or not at all."""
    as_program = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = "micrograd-bench" if Path(sys.argv[0]).name == "micrograd-bench" else "python -m comparisons"
    if as_program:  # SIGTERM and SIGHUP are handled like Ctrl-C: "interrupted, nothing written", exit 130
        interrupts_like_ctrl_c()
    try:
        if sys.stdout is None:  # started with standard output closed (`>&-`)
            raise UsageError("standard output is closed; send it somewhere, like > /dev/null or > out.txt")
        args = build_parser(prog).parse_args(with_default_command(argv))
        # check keeps its own --timeout: the deadline of the whole check, which ends the learner's process tree itself
        with time_limit(None if args.command == "check" else getattr(args, "timeout", None)):
            status: int = args.run(args)
            if as_program:
                flush_stdout()  # a full or broken stdout shows here, inside the handlers below
        if as_program:  # done: a Ctrl-C from here to the exit has nothing to stop, and would only print a traceback
            for signum in INTERRUPTS:
                signal.signal(signum, signal.SIG_IGN)
        return status
    except UsageError as exc:
        return fail(prog, str(exc))
    except BrokenPipeError:  # `... | head`: the reader has gone, so there is no one left to tell
        _silence_stdout()
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM or SIGHUP: every file is written whole or not at all (staged_files)
        with suppress(OSError, ValueError):  # after a SIGHUP the terminal may be gone: the status says it then
            print(f"{prog}: {str(exc) or 'interrupted, nothing written'}", file=sys.stderr)
        if as_program:
            try:
                flush_stdout()
            except OSError:
                _silence_stdout()
        return 130
    except TimedOut:
        why = f"--timeout {args.timeout:g}: the run took longer than {args.timeout:g} s and was stopped, nothing written"
        return fail(prog, f"{why}; choose a smaller run or a longer --timeout")
    except MemoryError:  # a run too large for this machine is a usage problem, never a disagreement
        return fail(prog, "out of memory; choose a smaller run (fewer steps, samples or layers)")
    except UnicodeEncodeError as exc:  # PYTHONIOENCODING=ascii and a name it cannot show
        _silence_stdout()
        bad = exc.object[exc.start : exc.end][:1]
        return fail(
            prog,
            f"standard output's encoding ({exc.encoding}) cannot show {bad!a} (U+{ord(bad):04X}); "
            "set PYTHONIOENCODING=utf-8, or use --format json",
        )
    except OSError as exc:  # a full disk, a file that cannot be written, standard output full (/dev/full)
        _silence_stdout()
        return fail(prog, f"{_what_failed(exc)}: {exc.strerror or exc}; free some space or choose another place")


def fail(prog: str, message: str) -> int:
    """The one line a refusal prints, on stderr (which escapes what its encoding cannot show); EXIT_USAGE."""
    with suppress(OSError, ValueError):  # stderr itself is gone: the exit status is all that is left to say it
        print(f"{prog}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


class StdoutFailed(OSError):
    """Standard output could not take what was printed (/dev/full, a full disk behind `> file`)."""


def flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise StdoutFailed(exc.errno, exc.strerror) from None


def _what_failed(exc: OSError) -> str:
    """The file an OSError is about, as the user named it (a staging folder's name left out), else what failed."""
    if isinstance(exc, StdoutFailed):
        return "cannot write standard output"
    if not exc.filename:  # the terminal's text goes through rich's Console: a failure there is standard output's
        frames = traceback.extract_tb(exc.__traceback__)
        on_stdout = any(Path(frame.filename).match("rich/console.py") for frame in frames) or (
            bool(frames) and "sys.stdout" in (frames[-1].line or "")
        )
        return "cannot write standard output" if on_stdout else "cannot write the files"
    path = Path(str(exc.filename))
    if path.parent.name.startswith(".partial-"):
        path = path.parent.parent / path.name
    return f"cannot write {clip(str(path))}"


def _silence_stdout() -> None:
    """Standard output failed: whatever is still buffered goes nowhere, so the exit does not fail a second time."""
    if sys.stdout is None:
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """--timeout: TimedOut raised in the main thread once `seconds` have passed (nothing happens without it)."""
    if seconds is None:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise TimedOut

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


if __name__ == "__main__":
    sys.exit(main())
