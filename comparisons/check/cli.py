"""`python -m comparisons check TARGET`: the subcommand's arguments and its run. Exit status: 0 nothing fails,
1 something fails, 2 the target cannot be loaded or the usage is wrong (one line on stderr saying why).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from comparisons.check.session import DEADLINE_S, IMPORT_TIMEOUT_S

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2

DESCRIPTION = """\
Grade your own micrograd-style engine, op by op: small expressions whose wrong answer each points at one mistake
(x*x, shared nodes, x-y, 2*x, sum(), x**3, tanh at 400, tanh(x)*x, ...), the catalog, random expressions and
your MLP (in the engine's file, beside it, or --nn FILE), compared with this project's micrograd. Your code runs
in a separate, contained process (a scratch folder, no environment variables of yours, limits on memory, CPU and
processes; a bubblewrap sandbox where it works), and the whole check has a deadline."""

EPILOG = """\
examples:
  python -m comparisons check path/to/engine.py:Value
  python -m comparisons check path/to/folder              (a folder holding engine.py, and nn.py if you have one)
  python -m comparisons check mypackage.engine:Value --backward backprop --format json
  python -m comparisons check engine.py --nn models/net.py   (the file of your MLP)
  python -m pytest --micrograd-engine path/to/engine.py:Value      (the same checks as pytest tests)

Exit status: 0 nothing fails (skips and information are not failures), 1 something fails, 2 the engine cannot be
loaded (it is missing, does not import, or the check does not finish in --timeout seconds), it printed on the
checker's channel, or bad usage; with --format json, exit 2 prints {"error": "..."} on stdout as well."""


def split_target(target: str) -> tuple[str, str]:
    """'path/engine.py:Value' -> ('path/engine.py', 'Value'); no class after the colon -> (target, '')."""
    where, colon, name = target.rpartition(":")
    if colon and name.isidentifier():
        return where, name
    return target, ""


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < 1e6:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds; give a positive number, like 30")
    return value


def count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a count; give a whole number >= 0, like 40")
    return int(text)


def add_parser(commands: Any) -> None:
    """Add `check` to the subcommands of `python -m comparisons` (`commands` is argparse's subparsers object)."""
    parser = commands.add_parser(
        "check", help="grade your own micrograd engine, op by op", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("target", help="path/to/engine.py:Value, package.module:Value, or a folder holding engine.py")
    parser.add_argument("--backward", default="", metavar="NAME", help="the whole-graph backward method (default: found)")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="json: a list of records (default: table)")
    parser.add_argument(
        "--timeout", type=positive_seconds, default=DEADLINE_S, metavar="S",
        help=f"seconds the whole check may take (default {DEADLINE_S:g}; the import a quarter of them, at least 30)",
    )  # fmt: skip
    parser.add_argument("--random", type=count, default=40, metavar="N", help="random expressions to compare (default: 40)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random expressions (default: 0)")
    parser.add_argument(
        "--nn", default="", metavar="FILE", help="the file with your MLP (default: found in or beside the engine)"
    )
    parser.set_defaults(run=run, check_prog=parser.prog)


def import_timeout(deadline: float) -> float:
    """The part of the check's deadline its import may take: a quarter, at least 30 s (or the whole when shorter)."""
    return min(deadline, max(IMPORT_TIMEOUT_S, deadline / 4))


def run(args: argparse.Namespace) -> int:
    from comparisons.check.grade import check, plan_size
    from comparisons.check.sandbox import containment
    from comparisons.check.session import TargetError

    path, class_name = split_target(args.target)
    if not path.strip():  # an empty target would read as the current folder, and the advice as the root's engine.py
        print(f"{args.check_prog}: error: give the engine to check, like path/to/engine.py:Value", file=sys.stderr)
        return EXIT_USAGE
    timeouts = {"import_timeout": import_timeout(args.timeout), "timeout": args.timeout}
    try:
        if args.format == "json":
            report = check(
                path, class_name, args.backward, random_count=args.random, seed=args.seed, nn=args.nn, **timeouts
            )  # fmt: skip
        else:
            with progress_bar(plan_size(args.random)) as tick:
                report = check(
                    path, class_name, args.backward, random_count=args.random, seed=args.seed, tick=tick, nn=args.nn,
                    **timeouts,
                )  # fmt: skip
    except TargetError as exc:
        print(f"{args.check_prog}: error: {exc}", file=sys.stderr)
        if args.format == "json":
            from comparisons.check.output import render_json_error

            sys.stdout.write(render_json_error(str(exc)))
        return EXIT_USAGE
    from comparisons.check import output

    if args.format == "json":
        sys.stdout.write(output.render_json(report))
    else:
        out = output.console()
        if out is None:  # without rich: plain lines
            print(containment())
        else:
            out.print(containment(), markup=False, soft_wrap=True)
        output.print_report(out, report, args.target)
    return EXIT_FAIL if report.failed else EXIT_OK


@contextmanager
def progress_bar(total: int) -> Iterator[Callable[[str], None]]:
    """A rich progress bar on stderr (stdout keeps the table), gone when done; yields tick(probe_name)."""
    try:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    except ImportError:  # without rich (a plain install): no bar
        yield lambda name: None
        return
    console = Console(stderr=True)
    if not console.is_terminal:  # a file or a pipe gets no bar (rich would still leave an empty line there)
        yield lambda name: None
        return
    columns = (TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("checking", total=total)
        yield lambda name: progress.update(task, advance=1, description=name[:24])
