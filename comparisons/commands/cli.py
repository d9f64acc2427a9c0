"""What every command shares: usage errors as one line, the argument types, the backends chosen, progress bars,
reading an expression and quoting it, the files' folders, and the budgets (work estimated before a run starts and
refused past --max-work; --timeout). argparse only: nothing heavy is imported here.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import backends
from backends.expr import MAX_SOURCE_CHARS

EXIT_OK, EXIT_DISAGREE, EXIT_USAGE = 0, 1, 2
DEFAULT_MAX_ULPS = 16  # grad --strict (comparisons.judge.agreement.DEFAULT_MAX_ULPS, restated so --help imports nothing)
QUOTE_CHARS = 100  # an error message quotes at most this much of the expression, around the place it names
RESULTS = Path("results")  # where the report's files go by default, and a bare --plot file name


INTERRUPTS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # Ctrl-C, a kill, the terminal closed


def interrupts_like_ctrl_c() -> None:
    """SIGTERM and SIGHUP handled as Ctrl-C is: a KeyboardInterrupt, which every command turns into "interrupted,
    nothing written" and exit 130, its files written whole or not at all (render.staged_files). For a program's main()
    only: it sets the process's handlers."""
    for signum in INTERRUPTS[1:]:
        signal.signal(signum, signal.default_int_handler)


class UsageError(Exception):
    """Bad input from the user: the message says what is wrong and how to fix it (printed as one line)."""


class TimedOut(BaseException):
    """--timeout ran out (raised by the SIGALRM handler; a BaseException, so no `except Exception` swallows it and
    render.staged_files removes its half-written folder)."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (via UsageError), not the usage text and a message."""

    def error(self, message: str) -> None:  # type: ignore[override]
        hint = ""
        if "required: expression" in message or re.search(r"unrecognized arguments: (.* )?-[^-]", message):
            hint = " (an expression that starts with '-' needs parentheses, like '(-x)*y', or `--` before it)"
        elif found := re.search(r"unrecognized arguments: .*?(--[\w-]+)", message):
            hint = self.commands_taking(found.group(1))
        raise UsageError(f"{message}{hint}; see `{self.prog} --help`")

    def commands_taking(self, option: str) -> str:
        """' (OPTION belongs to the commands a, b: PROG a OPTION ...)' where some commands take it, else ''."""
        commands = [
            name
            for action in self._actions
            if isinstance(action, argparse._SubParsersAction)
            for name, parser in action.choices.items()
            if option in parser._option_string_actions
        ]
        if not commands:
            return ""
        which = "the command" if len(commands) == 1 else "the commands"
        return f" ({option} belongs to {which} {', '.join(commands)}, after its name: {self.prog} {commands[0]} {option} ...)"


# --- argument types: each raises ArgumentTypeError with what was wrong and what would be right ---


def backend_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in backends.names()] or ([] if names else [text])
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown backend {', '.join(map(repr, unknown))}; choose from {', '.join(backends.names())} (comma-separated)"
        )
    return names


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def hidden_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of layer sizes; write positive whole numbers like 16,16")
    return sizes


def learning_rates(text: str) -> tuple[float, float]:
    try:
        rates = tuple(float(part) for part in text.split(","))
    except ValueError:
        rates = ()
    if len(rates) not in (1, 2) or not all(0 < r < math.inf for r in rates):
        raise argparse.ArgumentTypeError(f"{text!r} is not a learning rate; write START or START,END (positive), like 0.05,0.01")
    return (rates[0], rates[-1])


def tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a tolerance; give a number >= 0, like 1e-9")
    return value


def parse_inputs(items: Sequence[str]) -> dict[str, float]:
    """NAME=VALUE words -> {name: value}; UsageError for a malformed or repeated one."""
    inputs: dict[str, float] = {}
    for item in items:
        name, equals, text = (part.strip() for part in item.partition("="))
        if not equals or not name.isidentifier() or not text:
            raise UsageError(f"input '{clip(item)}' is not NAME=VALUE; write each input like a=2 or b=-3.5")
        try:
            value = float(text)
        except ValueError:
            raise UsageError(
                f"input '{clip(item)}': '{clip(text)}' is not a number; write each input like a=2 or b=-3.5"
            ) from None
        if name in inputs:
            raise UsageError(f"input {clip(name)} is given twice ({clip(name)}={inputs[name]:g} and {clip(item)}); give it once")
        inputs[name] = value
    return inputs


def add_common(sub: Parser, formats: bool) -> None:
    sub.add_argument(
        "--backend",
        action="append",
        type=backend_list,
        metavar="NAME",
        help=f"run only these backends (repeatable or comma-separated: {','.join(backends.names())}); "
        "micrograd, the reference, always runs; default: every backend that can run here",
    )
    if formats:
        sub.add_argument(
            "--format",
            choices=("table", "csv", "json", "markdown"),
            default="table",
            help="table for people; csv, json (a list of records) or markdown for tools (default: table)",
        )
    # hidden: tighter or looser agreement with micrograd than GRAD_RTOL/GRAD_ATOL, to see what a bound hides
    sub.add_argument("--rtol", type=tolerance, help=argparse.SUPPRESS)
    sub.add_argument("--atol", type=tolerance, help=argparse.SUPPRESS)


def add_torch_threads(sub: Any) -> None:
    """--torch-threads N (default 1), for the commands that time torch (report, train)."""
    sub.add_argument(
        "--torch-threads", type=positive_int, default=1, metavar="N",
        help="torch.set_num_threads(N) before the timings (default 1: the work here is scalar-sized, where a second "
        "thread only waits for the first, and on a busy machine made a training step 60 ms instead of 0.4 ms)",
    )  # fmt: skip


def set_torch_threads(args: argparse.Namespace, names: Sequence[str]) -> str:
    """torch.set_num_threads(--torch-threads) when torch runs; the words that say so ("" when it does not run)."""
    if "torch" not in names:
        return ""
    import torch

    torch.set_num_threads(args.torch_threads)
    return f"torch on {args.torch_threads} thread{'s' if args.torch_threads > 1 else ''}"


def folder(text: str) -> Path:
    """A folder to write in; an empty one is refused (Path("") would silently be the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty folder name; give a folder, like results or /tmp/results")
    return Path(text)


def seconds(text: str) -> float:
    """A positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 10**7:
        raise argparse.ArgumentTypeError(f"'{clip(text)}' is not a number of seconds; give one above 0, like 60")
    return value


def whole_number(text: str) -> int:
    """0, 1, 2, ...: ArgumentTypeError otherwise."""
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return int(text)


def requested_backends(args: argparse.Namespace) -> list[str] | None:
    return None if args.backend is None else [name for names in args.backend for name in names]


def chosen_backends(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """The backends to run (micrograd first) and {name: why not} for those that cannot run here."""
    from comparisons.commands.runs import choose_backends

    try:
        return choose_backends(requested_backends(args))
    except backends.BackendUnavailable as exc:
        raise UsageError(f"{exc}; or leave it out of --backend") from None


def chosen_for(args: argparse.Namespace, dtype: str) -> tuple[list[str], dict[str, str]]:
    """The backends that can run `dtype` here (one that cannot is skipped, with why): micrograd, float64 by design,
    is left out of float32 runs (without_reference)."""
    chosen, skipped = backends.select(requested_backends(args))
    if dtype == "float32":
        return without_reference(chosen, skipped)
    if not chosen:
        raise UsageError(f"no backend can run {dtype} here: {'; '.join(f'{k}: {v}' for k, v in skipped.items())}")
    return chosen, skipped


def without_reference(names: list[str], skipped: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """float32: micrograd (float64 by design) leaves the run, and the truth takes its place as the reference."""
    names = [name for name in names if name != backends.REFERENCE]
    why = "micrograd computes in float64 only (by design); in float32 the truth is the reference"
    skipped = {**skipped, backends.REFERENCE: why}
    if not names:
        raise UsageError("no backend can compute in float32 here: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
    return names, skipped


def retolerate(records: list[dict[str, Any]], args: argparse.Namespace) -> list[dict[str, Any]]:
    """With the hidden --rtol/--atol: the agreement column (with micrograd) recomputed under those bounds. Agreement
    is a column: it never changes a record's class."""
    if args.rtol is None and args.atol is None:
        return records
    from comparisons.judge.agreement import GRAD_ATOL, GRAD_RTOL, close

    rtol = GRAD_RTOL if args.rtol is None else args.rtol
    atol = GRAD_ATOL if args.atol is None else args.atol
    key = "agrees" if records and "agrees" in records[0] else "ok"
    return [
        r if r.get("reference") is None or r.get("value") is None else {**r, key: close(r["value"], r["reference"], rtol, atol)}
        for r in records
    ]


@contextmanager
def progress_bar() -> Iterator[Callable[[str, int], Callable[[], None]]]:
    """A rich progress bar on stderr (stdout keeps the tables), gone when done; yields task(description, total) -> tick."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description:<12}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    console = Console(stderr=True)  # not a terminal (a file, a pipe): no bar, and so no blank line left behind
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:

        def task(description: str, total: int) -> Callable[[], None]:
            task_id = progress.add_task(description, total=total)
            return lambda: progress.advance(task_id)

        yield task


# --- budgets: each command estimates its work before it starts; past --max-work it refuses (exit 2, one line) ---

# the defaults, in each command's unit of work (its --help says which); each is about 10x what its default run does
GRAD_MAX_WORK = 120_000  # nodes x backends: a 5,000-input sum on 4 backends is 40,000 (seconds; see README)
TRAIN_MAX_WORK = 100_000_000  # weights x samples per step x steps x backends: the demo is 13.5 million
FUZZ_MAX_WORK = 100_000  # cases x points x backends: the default run is 6,000


def add_budget(sub: Any, unit: str | None, default: int = 0) -> None:
    """--timeout, and (where the work depends on the arguments: `unit` given) --max-work with its default."""
    if unit is not None:
        sub.add_argument(
            "--max-work", type=positive_int, default=default, metavar="N",
            help=f"refuse, before starting, a run of more than N {unit} (default: {default:,})",
        )  # fmt: skip
    sub.add_argument(
        "--timeout", type=seconds, metavar="SECONDS",
        help="stop a run that takes longer than this: one line, exit 2, files of earlier runs intact",
    )  # fmt: skip


def within_budget(work: int, unit: str, args: argparse.Namespace) -> None:
    """UsageError, before any work starts, when `work` (in `unit`) is more than --max-work allows."""
    if work > args.max_work:
        raise UsageError(
            f"this run is {work:,} {unit}, more than the budget of {args.max_work:,}; choose a smaller run, or raise "
            f"the budget with --max-work {work}"
        )


def grad_work(expr: backends.Expression, backend_count: int) -> int:
    """grad's work: every backend evaluates (and differentiates) every node once."""
    return len(expr.nodes) * backend_count


def train_work(args: argparse.Namespace, backend_count: int) -> int:
    """train's work: every weight meets every sample of a step, every step, on every backend."""
    sizes: list[int] = [2, *args.hidden, 1]
    weights = sum((nin + 1) * nout for nin, nout in itertools.pairwise(sizes))
    rows: int = args.batch_size or args.samples
    return weights * rows * int(args.steps) * backend_count


def fuzz_work(args: argparse.Namespace, backend_count: int) -> int:
    """fuzz's work: every case at every point on every backend."""
    return int(args.n) * int(args.points) * backend_count


def exit_status(disagree: bool) -> int:
    return EXIT_DISAGREE if disagree else EXIT_OK


def read_expression(args: argparse.Namespace) -> tuple[str, list[str]]:
    """The expression's text (from the argument, -f FILE or standard input for `-`) and the NAME=VALUE words."""
    words = list(args.inputs)
    if args.file is not None:
        if args.expression is not None:
            words.insert(0, args.expression)
        where = f"-f {clip(str(args.file))}"
        try:
            with open(args.file, encoding="utf-8") as file:
                return read_capped(file, where), words
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
            raise UsageError(f"{where}: cannot read it ({why}); give a readable text file") from None
    if args.expression is None:
        raise UsageError('give an expression, like grad "x*y" x=2 y=3, or -f FILE, or - to read standard input')
    if args.expression == "-":
        if sys.stdin is None:
            raise UsageError("- reads the expression from standard input, which is closed; pipe the expression in")
        try:
            return read_capped(sys.stdin, "standard input"), words
        except UnicodeDecodeError:
            raise UsageError("standard input is not UTF-8 text; give the expression as UTF-8") from None
        except OSError as exc:
            raise UsageError(f"cannot read standard input ({exc.strerror}); pipe the expression in") from None
    return args.expression, words


def read_capped(stream: Any, where: str) -> str:
    """At most one character more than the expression limit (so /dev/zero is refused at once, not read forever)."""
    text: str = stream.read(MAX_SOURCE_CHARS + 1)
    if len(text) > MAX_SOURCE_CHARS:
        raise UsageError(
            f"{where}: more than {MAX_SOURCE_CHARS:,} characters, the longest expression allowed; give a shorter one"
        )
    return text


def clip(text: str, limit: int = QUOTE_CHARS) -> str:
    """`text` as it may be echoed: control and bidirectional characters escaped (a right-to-left override never
    reorders the terminal's line), and at most `limit` characters, with "..." where it was cut."""
    shown = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def quote(source: str, line: int | None, column: int | None) -> str:
    """At most about QUOTE_CHARS characters of the expression, around (line, column) when known, as one quoted line
    with the place marked by <HERE>."""
    lines = source.splitlines() or [""]
    if line is None or not 0 < line <= len(lines):
        flat = "; ".join(lines)
        return repr(flat if len(flat) <= QUOTE_CHARS else flat[: QUOTE_CHARS - 3] + "...")
    text, at = lines[line - 1], max(0, (column or 1) - 1)
    start = max(0, min(at - QUOTE_CHARS // 2, len(text) - QUOTE_CHARS))
    end = start + QUOTE_CHARS
    marked = f"{text[start:at]}<HERE>{text[at:end]}"
    return repr(("..." if start > 0 else "") + marked + ("..." if end < len(text) else ""))


def plot_path(text: str) -> Path:
    """--plot's rule: a bare file name goes in results/ (like the report's files), so a run never litters the folder
    it was started in; a path with a folder in it, even ./loss.png, is used as it is."""
    has_folder = os.sep in text or (os.altsep is not None and os.altsep in text)
    return Path(text) if has_folder else RESULTS / text


def writable_png(path: Path, option: str) -> Path:
    """`path`, if a PNG can be written there; UsageError otherwise (checked before the run, not after). results/, the
    home of a bare file name, is created when missing; any other folder must exist."""
    if path.suffix.lower() != ".png":
        raise UsageError(f"{option} {path}: the chart is a PNG; give a file name that ends in .png")
    folder = path.parent
    if folder == RESULTS:
        writable_folder(folder, option)
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: there is no folder {folder}; create it or choose another path")
    existed = path.exists()
    try:
        with open(path, "ab"):
            pass
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot write there ({exc.strerror}); choose a path you can write") from None
    if not existed:
        path.unlink()
    return path


def writable_folder(folder: Path, option: str = "--out") -> Path:
    """`folder`, created if needed, if files can be written in it; UsageError otherwise (checked before the runs),
    naming `option`, the argument that chose it."""
    probe = folder / ".micrograd-bench-write-test"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UsageError(
            f"{option} {clip(str(folder))}: cannot write there ({exc.strerror or exc}); "
            f"choose another, e.g. {option} {'/tmp/results' if option == '--out' else '/tmp/loss.png'}"
        ) from None
    return folder


def describe_spec(spec: Any) -> str:
    batch = "full batch" if spec.batch_size is None else f"batches of {spec.batch_size}"
    sizes = "-".join(map(str, spec.sizes))
    return f"MLP {sizes} {spec.activation}, {spec.loss} loss, {len(spec.X)} points, {spec.steps} steps, {batch}"


def add_backend_and_dtype(sub: Any, default: str) -> None:
    """--backend and --dtype as fuzz and accuracy take them."""
    sub.add_argument(
        "--backend", action="append", type=backend_list, metavar="NAME",
        help="only these backends (repeatable or comma-separated); default: every backend that can run here",
    )  # fmt: skip
    sub.add_argument(
        "--dtype", action="append", choices=("float64", "float32"),
        help=f"float64 or float32, repeatable (default: {default}); micrograd computes "
        "in float64 only, so float32 runs leave it out",
    )  # fmt: skip
