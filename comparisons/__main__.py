"""`python -m comparisons` (or `micrograd-bench`): dispatch only. Each command is one module of comparisons/commands/
(report, grad, train, fuzz, accuracy) or comparisons/check/ (check); each imports what it needs when it runs, so
--help stays fast. Exit status: 0 nothing unexplained, 1 something is, 2 bad usage.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from comparisons.commands import accuracy, fuzz, grad, report, train
from comparisons.commands.cli import EXIT_OK, EXIT_USAGE, Parser, UsageError

COMMANDS = ("report", "grad", "train", "check", "fuzz", "accuracy")

EPILOG = """\
Without a command, the report runs: python -m comparisons [--quick] [--out DIR] [--backend NAME].
Each command's options: python -m comparisons COMMAND --help.

examples:
  python -m comparisons --quick --out /tmp/results
  python -m comparisons grad "tanh(a*b + c)**2" a=2 b=-3 c=10 --format json
  python -m comparisons train --backend jax --steps 100 --plot loss.png

Exit status: 0 every backend agrees with micrograd within tolerance (rel {rtol:g} or abs {atol:g}; micrograd itself
against finite differences), 1 something disagrees beyond it (known divergences do not count), 2 bad usage.
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
    """The program (argv None: sys.argv) or one command line; returns the exit status."""
    as_program = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = "micrograd-bench" if Path(sys.argv[0]).name == "micrograd-bench" else "python -m comparisons"
    try:
        args = build_parser(prog).parse_args(with_default_command(argv))
        status: int = args.run(args)
        if as_program:  # done: a Ctrl-C from here to the exit has nothing to stop, and would only print a traceback
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        return status
    except UsageError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `... | head`: the reader has gone, so there is no one left to tell
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt as exc:  # Ctrl-C: every file is written whole or not at all (render.staged_files)
        print(f"{prog}: {str(exc) or 'interrupted, nothing written'}", file=sys.stderr)
        return 130
    except MemoryError:  # a run too large for this machine is a usage problem, never a disagreement
        print(f"{prog}: error: out of memory; choose a smaller run (fewer steps, samples or layers)", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
