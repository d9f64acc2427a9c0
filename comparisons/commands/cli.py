"""What every command shares: usage errors as one line, the argument types, the backends chosen, progress bars,
reading an expression and quoting it, the files' folders. argparse only: nothing heavy is imported here.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import backends

EXIT_OK, EXIT_DISAGREE, EXIT_USAGE = 0, 1, 2
DEFAULT_MAX_ULPS = 16  # grad --strict (comparisons.judge.agreement.DEFAULT_MAX_ULPS, restated so --help imports nothing)
QUOTE_CHARS = 100  # an error message quotes at most this much of the expression, around the place it names
RESULTS = Path("results")  # where the report's files go by default, and a bare --plot file name


class UsageError(Exception):
    """Bad input from the user: the message says what is wrong and how to fix it (printed as one line)."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (via UsageError), not the usage text and a message."""

    def error(self, message: str) -> None:  # type: ignore[override]
        hint = ""
        if "required: expression" in message or re.search(r"unrecognized arguments: (.* )?-[^-]", message):
            hint = " (an expression that starts with '-' needs parentheses, like '(-x)*y', or `--` before it)"
        raise UsageError(f"{message}{hint}; see `{self.prog} --help`")


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
            raise UsageError(f"input {item!r} is not NAME=VALUE; write each input like a=2 or b=-3.5")
        try:
            value = float(text)
        except ValueError:
            raise UsageError(f"input {item!r}: {text!r} is not a number; write each input like a=2 or b=-3.5") from None
        if name in inputs:
            raise UsageError(f"input {name} is given twice ({name}={inputs[name]:g} and {item}); give it once")
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
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:

        def task(description: str, total: int) -> Callable[[], None]:
            task_id = progress.add_task(description, total=total)
            return lambda: progress.advance(task_id)

        yield task


def exit_status(disagree: bool) -> int:
    return EXIT_DISAGREE if disagree else EXIT_OK


def read_expression(args: argparse.Namespace) -> tuple[str, list[str]]:
    """The expression's text (from the argument, -f FILE or standard input for `-`) and the NAME=VALUE words."""
    words = list(args.inputs)
    if args.file is not None:
        if args.expression is not None:
            words.insert(0, args.expression)
        try:
            return args.file.read_text(encoding="utf-8"), words
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
            raise UsageError(f"-f {args.file}: cannot read it ({why}); give a readable text file") from None
    if args.expression is None:
        raise UsageError('give an expression, like grad "x*y" x=2 y=3, or -f FILE, or - to read standard input')
    if args.expression == "-":
        return sys.stdin.read(), words
    return args.expression, words


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
        writable_folder(folder)
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


def writable_folder(folder: Path) -> Path:
    """`folder`, created if needed, if files can be written in it; UsageError otherwise (checked before the runs)."""
    probe = folder / ".micrograd-bench-write-test"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UsageError(
            f"--out {folder}: cannot write there ({exc.strerror or exc}); choose another folder, e.g. --out /tmp/results"
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
