"""`python -m comparisons` (or `micrograd-bench`): every backend beside micrograd on the expression catalog, the
known divergences, the demo MLP training and speed; `grad` for your own expression; `train` for one training run.
argparse and dispatch only: the runs are in runs.py, the tables and plots in report.py (imported when needed,
so --help stays fast). Exit status: 0 all agree within tolerance, 1 something disagrees beyond it, 2 bad usage.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import math
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import backends

EXIT_OK, EXIT_DISAGREE, EXIT_USAGE = 0, 1, 2
DEFAULT_MAX_ULPS = 16  # grad --strict (comparisons.agreement.DEFAULT_MAX_ULPS, restated so --help imports nothing)
QUOTE_CHARS = 100  # an error message quotes at most this much of the expression, around the place it names
COMMANDS = ("report", "grad", "train", "check", "fuzz", "accuracy")
RESULTS = Path("results")  # where the report's files go by default, and a bare --plot file name
QUICK_MAX_NODES, QUICK_EVERY = 100, 4  # --quick: every fourth catalog case among the small ones


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


# --- the parser ---

EPILOG = """\
Without a command, the report runs: python -m comparisons [--quick] [--out DIR] [--backend NAME].
Each command's options: python -m comparisons COMMAND --help.

examples:
  python -m comparisons --quick --out /tmp/results
  python -m comparisons grad "tanh(a*b + c)**2" a=2 b=-3 c=10 --format json
  python -m comparisons train --backend jax --steps 100 --plot loss.png

Exit status: 0 every backend agrees with micrograd within tolerance (rel {rtol:g} or abs {atol:g}; micrograd itself
against finite differences), 1 something disagrees beyond it (known divergences do not count), 2 bad usage.
JSON writes nan and infinity as NaN and Infinity. Read it back bit for bit with pandas.DataFrame(json.load(file)) or
pandas.read_json(file, precise_float=True, dtype=False): without precise_float, read_json rounds the last digits;
without dtype=False, it guesses types (a column of whole numbers becomes int, and -0.0 loses its sign)."""


def build_parser(prog: str) -> Parser:
    from comparisons.agreement import GRAD_ATOL, GRAD_RTOL

    parser = Parser(
        prog=prog,
        description="micrograd beside PyTorch, JAX and tinygrad: the same expressions and training, compared.",
        epilog=EPILOG.format(rtol=GRAD_RTOL, atol=GRAD_ATOL),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="{report,grad,train,check,fuzz,accuracy}", parser_class=Parser)

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

    report = commands.add_parser(
        "report",
        help="the full report (the default when no command is given)",
        description="Every available backend beside micrograd: gradient agreement over the catalog, the known "
        "divergences, the demo MLP training, and speed. Tables on the terminal; CSV, JSON and PNG files in --out.",
    )
    report.add_argument("--out", type=Path, default=RESULTS, metavar="DIR", help="where to save the files (default: results)")
    report.add_argument("--quick", action="store_true", help="a smaller run: a few cases, fewer repeats, a short training")
    report.add_argument(
        "--dtype", action="append", choices=("float64", "float32"),
        help="float32 adds the catalog's gradients and the float32 divergences computed in float32 on torch, jax and "
        "tinygrad, judged against the truth (micrograd computes in float64 only); the rest of the report is float64, "
        "where micrograd is the reference (default: float64)",
    )  # fmt: skip
    add_common(report, formats=False)
    report.set_defaults(run=run_report)

    grad = commands.add_parser(
        "grad",
        help="your own expression on every backend, against the exact truth",
        description="Value and gradients of EXPRESSION on every backend: agreement with micrograd (the reference) and "
        "accuracy against the truth (the exact value, evaluated with mpmath and correctly rounded), in ulps. The "
        "language: numbers, names, + - * / **, unary -, relu tanh exp log sigmoid, and assignments separated by ';' "
        "or newlines (e.g. 'z = x*y; tanh(z) + z'). Exit status: 0 nothing unexplained, 1 backends disagree and no "
        "known divergence explains it (with --strict also: a backend further than --max-ulps from the truth), 2 bad input.",
    )
    grad.add_argument(
        "expression", nargs="?", help='the expression, quoted, e.g. "tanh(a*b + c)**2"; - reads it from standard input'
    )
    grad.add_argument("inputs", nargs="*", metavar="NAME=VALUE", help="a value for every input, e.g. a=2 b=-3 c=10")
    grad.add_argument(
        "-f", "--file", type=Path, metavar="FILE", help="read the expression from FILE (then every word is an input)"
    )
    grad.add_argument(
        "--strict", action="store_true", help="also exit 1 when a backend is further than --max-ulps from the truth"
    )
    grad.add_argument(
        "--max-ulps", type=tolerance, default=DEFAULT_MAX_ULPS, metavar="N",
        help=f"with --strict: how many ulps from the truth are allowed (default: {DEFAULT_MAX_ULPS})",
    )  # fmt: skip
    grad.add_argument(
        "--dtype", choices=("float64", "float32"), default="float64",
        help="compute in float64 (default) or float32 (torch, jax and tinygrad: micrograd computes in float64 only, "
        "so in float32 the truth is the reference; the inputs are rounded to float32 and ulps are float32's)",
    )  # fmt: skip
    add_common(grad, formats=True)
    grad.set_defaults(run=run_grad)

    train = commands.add_parser(
        "train",
        help="one MLP training run, loss per step",
        description="Train the demo MLP on two moons with every chosen backend from the same initial weights and "
        "batches; the loss per step, each backend's largest deviation from micrograd's, and step timings.",
    )
    train.add_argument("--steps", type=positive_int, default=100, help="SGD steps (default: 100)")
    train.add_argument(
        "--hidden", type=hidden_sizes, default=(16, 16), metavar="SIZES", help="hidden layer sizes (default: 16,16)"
    )
    train.add_argument("--activation", choices=("relu", "tanh"), default="relu", help="of the hidden layers (default: relu)")
    train.add_argument(
        "--loss", choices=("svm", "mse"), default="svm", help="svm max-margin or mean squared error (default: svm)"
    )
    train.add_argument("--samples", type=positive_int, default=100, metavar="N", help="two-moons points (default: 100)")
    train.add_argument("--batch-size", type=positive_int, metavar="B", help="minibatch size (default: the full batch)")
    train.add_argument(
        "--seed", type=int, default=1337, metavar="S", help="seed of the data, weights and batches (default: 1337)"
    )
    train.add_argument(
        "--lr", type=learning_rates, metavar="START[,END]",
        help="learning rate, decaying linearly from START to END (default: the demo's 1.0,0.1; mse wants less, like 0.02)",
    )  # fmt: skip
    train.add_argument(
        "--plot", type=plot_path, metavar="FILE",
        help="save every backend's loss curve in one PNG; a bare file name (loss.png) goes in results/, a path with a "
        "folder in it (./loss.png, /tmp/loss.png) is used as given",
    )  # fmt: skip
    add_common(train, formats=True)
    train.set_defaults(run=run_train)

    from comparisons.check.cli import add_parser as add_check  # check a learner's engine: comparisons/check/

    add_check(commands)
    add_fuzz_and_accuracy(commands)
    return parser


# --- fuzz and accuracy: random expressions and the per-op accuracy atlas, both judged against the exact truth ---


def add_fuzz_and_accuracy(commands: Any) -> None:
    fuzz = commands.add_parser(
        "fuzz",
        help="random expressions over the whole input range, judged against the exact truth",
        description="Random expressions (every op, shared subexpressions) at inputs across the whole range (huge, "
        "tiny, subnormal, kinks, domain edges, cancelling pairs), on every backend and the exact truth. Each value "
        "and gradient is classified: accurate, inaccurate but agreeing, a known divergence (a rule), raised, truth "
        "undefined, or unexplained; unexplained findings are shrunk and printed as catalog entries. Exit status: "
        "0 nothing unexplained, 1 something is, 2 bad usage.",
    )
    fuzz.add_argument("--n", type=positive_int, default=300, help="cases: an expression at a point (default: 300)")
    fuzz.add_argument("--seed", type=int, default=0, help="the generator's seed; a seed gives the same run (default: 0)")
    fuzz.add_argument(
        "--points", type=positive_int, default=5, help="input points per expression, sharing its compilation (default: 5)"
    )
    fuzz.add_argument(
        "--shrink", type=whole_number, default=5, metavar="N", help="shrink at most N findings, 0 for none (default: 5)"
    )
    fuzz.add_argument("--out", type=Path, metavar="DIR", help="also write records (CSV), summary (JSON), entries there")
    fuzz.add_argument(
        "--format", choices=("table", "json", "csv"), default="table",
        help="table for people; json: one summary object (counts per class, the findings); csv: every quantity's "
        "record (default: table)",
    )  # fmt: skip
    accuracy = commands.add_parser(
        "accuracy",
        help="the accuracy atlas: per op, backend and dtype, the error in ulps from the truth",
        description="Per op (each primitive and a few composites), backend and dtype: the largest and the median "
        "error in ulps from the exact truth, of the value and of the gradient, over a fixed sample of each op's "
        "domain including its hard regions; each largest error names its input. A table and a heatmap PNG.",
    )
    accuracy.add_argument("--png", type=Path, metavar="FILE", help="write the heatmap there (a .png)")
    accuracy.add_argument("--format", choices=("table", "json", "csv"), default="table", help="(default: table)")
    for sub in (fuzz, accuracy):
        sub.add_argument(
            "--backend", action="append", type=backend_list, metavar="NAME",
            help="only these backends (repeatable or comma-separated); default: every backend that can run here",
        )  # fmt: skip
        sub.add_argument(
            "--dtype", action="append", choices=("float64", "float32"),
            help="float64 or float32, repeatable (fuzz default: float64; accuracy default: both); micrograd computes "
            "in float64 only, so float32 runs leave it out",
        )  # fmt: skip
    fuzz.set_defaults(run=run_fuzz)
    accuracy.set_defaults(run=run_accuracy)


def whole_number(text: str) -> int:
    """0, 1, 2, ...: ArgumentTypeError otherwise."""
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return int(text)


def chosen_for(args: argparse.Namespace, dtype: str) -> tuple[list[str], dict[str, str]]:
    """The backends that can run `dtype` here (one that cannot is skipped, with why): micrograd, float64 by design,
    is left out of float32 runs (without_reference)."""
    chosen, skipped = backends.select(requested_backends(args))
    if dtype == "float32":
        return without_reference(chosen, skipped)
    if not chosen:
        raise UsageError(f"no backend can run {dtype} here: {'; '.join(f'{k}: {v}' for k, v in skipped.items())}")
    return chosen, skipped


def run_fuzz(args: argparse.Namespace) -> int:
    from comparisons import fuzz, report

    if args.out:
        writable_folder(args.out)
    dtypes = args.dtype or ["float64"]
    results = []
    for dtype in dtypes:
        names, skipped = chosen_for(args, dtype)
        with progress_bar() as task:
            chosen = {name: backends.get(name) for name in names}
            summary, records = fuzz.fuzz(args.n, args.seed, chosen, dtype, args.points, args.shrink, task(dtype, args.n))
        results.append((summary, records, skipped))
    if args.out:
        report.save_fuzz(results, args.out)
    if args.format == "json":
        objects = [summary.as_json() for summary, _, _ in results]
        sys.stdout.write(report.json_text(objects[0] if len(objects) == 1 else objects))
    elif args.format == "csv":
        sys.stdout.write(report.render(report.frame([vars(r) for _, records, _ in results for r in records]), "csv"))
    else:
        out = report.console()
        for summary, records, skipped in results:
            report.print_fuzz(out, summary, records, skipped)
    return exit_status(any(summary.unexplained for summary, _, _ in results))


def run_accuracy(args: argparse.Namespace) -> int:
    from comparisons import accuracy, report

    if args.png:
        writable_png(args.png, "--png")
    rows = []
    notes: dict[str, str] = {}
    dtypes = args.dtype or ["float64", "float32"]
    with progress_bar() as task:
        for dtype in dtypes:
            names, skipped = chosen_for(args, dtype)
            notes.update(skipped)
            tick = task(dtype, len(accuracy.OPS) * len(names))
            rows += accuracy.atlas({name: backends.get(name) for name in names}, dtype, tick)
    df = report.frame(rows, accuracy.COLUMNS)
    if args.png:
        report.plot_accuracy(df, args.png)
    if args.format != "table":
        sys.stdout.write(report.render(df, args.format))
        return EXIT_OK
    out = report.console()
    report.print_accuracy(out, df)
    for name, why in notes.items():
        out.print(f"skipped {name}: {why}", style="yellow", markup=False)
    if args.png:
        out.print(f"heatmap saved to {args.png}", markup=False)
    return EXIT_OK


def with_default_command(argv: list[str]) -> list[str]:
    """No command means the report: `python -m comparisons --quick` is `python -m comparisons report --quick`."""
    if argv and argv[0] in (*COMMANDS, "-h", "--help"):
        return argv
    if argv and not argv[0].startswith("-"):
        raise UsageError(f"unknown command {argv[0]!r}; the commands are {', '.join(COMMANDS)} (none: the report)")
    return ["report", *argv]


def requested_backends(args: argparse.Namespace) -> list[str] | None:
    return None if args.backend is None else [name for names in args.backend for name in names]


def chosen_backends(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """The backends to run (micrograd first) and {name: why not} for those that cannot run here."""
    from comparisons.runs import choose_backends

    try:
        return choose_backends(requested_backends(args))
    except backends.BackendUnavailable as exc:
        raise UsageError(f"{exc}; or leave it out of --backend") from None


def retolerate(records: list[dict[str, Any]], args: argparse.Namespace) -> list[dict[str, Any]]:
    """With the hidden --rtol/--atol: every comparison with micrograd judged again under those bounds (micrograd's
    own rows, judged against finite differences, keep their verdict)."""
    if args.rtol is None and args.atol is None:
        return records
    from comparisons.agreement import GRAD_ATOL, GRAD_RTOL, close

    rtol = GRAD_RTOL if args.rtol is None else args.rtol
    atol = GRAD_ATOL if args.atol is None else args.atol
    return [
        r if r["backend"] == backends.REFERENCE else {**r, "ok": close(r["value"], r["reference"], rtol=rtol, atol=atol)}
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


# --- grad ---


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


def run_grad(args: argparse.Namespace) -> int:
    source, words = read_expression(args)
    try:
        expr = backends.parse(source)
    except backends.ExpressionError as exc:
        where = quote(source, exc.line, exc.column)
        raise UsageError(
            f"the expression does not parse: {exc} in {where}; "
            "write numbers, names, + - * / **, relu tanh exp log sigmoid, and 'name = ...;' assignments"
        ) from None
    try:
        inputs = expr.check_inputs(parse_inputs(words))
    except backends.ExpressionError as exc:
        example = " ".join(f"{name}=1.5" for name in expr.inputs[:10]) + (" ..." if len(expr.inputs) > 10 else "")
        raise UsageError(f"{exc}; give every input as NAME=VALUE: {example}") from None
    names, skipped = chosen_backends(args)
    if args.dtype == "float32":
        names, skipped = without_reference(names, skipped)

    from comparisons import report, runs
    from comparisons.agreement import cancellation, failures

    point = inputs  # where the backends compute: in float32, the inputs rounded to it
    if args.dtype == "float32":
        try:
            point = runs.float32_point(expr, inputs)
        except ValueError as exc:
            raise UsageError(f"{exc} (--dtype float64)") from None

    records = runs.compare_each(expr, inputs, names, dtype=args.dtype)
    records = runs.label_divergences(retolerate(records, args) if args.dtype == "float64" else records, expr, inputs)
    df = report.frame(records, report.GRADIENT_COLUMNS).drop(columns="case")
    unexplained = [r for r in records if not r["ok"] and not r.get("divergence")]
    far = [r for r in records if r.get("ulps") is not None and r["ulps"] > args.max_ulps]
    status = exit_status(bool(unexplained) or (args.strict and bool(far)))
    if args.format != "table":
        sys.stdout.write(report.render(df, args.format))
        return status

    out = report.console()
    shown = source if len(source) <= QUOTE_CHARS else source[: QUOTE_CHARS - 3] + "..."
    at = " ".join(f"{k}={v!r}" for k, v in list(inputs.items())[:10])
    at += "".join(f" ({k} in float32: {point[k]!r})" for k in list(inputs)[:10] if point[k] != inputs[k])
    report.print_gradients(out, df, f"{shown}   at {at}", args.dtype)
    for name, why in skipped.items():
        out.print(f"skipped {name}: {why}", style="yellow", markup=False)
    for line in report.accuracy_lines(df, args.max_ulps, cancellation(expr, point), args.dtype):
        out.print(line, markup=False)
    known = {r["divergence"] for r in records if not r["ok"] and r.get("divergence")}
    for name in sorted(known):
        out.print(f"known divergence {name}: {runs.divergence_explanation(name)}", style="cyan", markup=False)
    if unexplained:
        out.print("disagreement beyond tolerance:", style="bold red")
        judged = [r for r in unexplained if r["quantity"] != "error"]
        for line in failures(judged) if args.dtype == "float64" else report.float32_failures(judged, records):
            out.print(f"  {line}", markup=False)
        for r in unexplained:
            if r["quantity"] == "error":
                out.print(f"  {r['backend']} failed: {r['error']}", markup=False)
    elif not known:
        agree = "all agree with micrograd" if args.dtype == "float64" else "all agree with the truth or with each other"
        out.print(f"{', '.join(names)}: {agree}", style="green")
    if args.strict and far:
        out.print(f"--strict: {len(far)} result(s) further than {args.max_ulps:g} ulps from the truth", style="bold red")
    return status


def without_reference(names: list[str], skipped: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """float32: micrograd (float64 by design) leaves the run, and the truth takes its place as the reference."""
    names = [name for name in names if name != backends.REFERENCE]
    why = "micrograd computes in float64 only (by design); in float32 the truth is the reference"
    skipped = {**skipped, backends.REFERENCE: why}
    if not names:
        raise UsageError("no backend can compute in float32 here: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
    return names, skipped


# --- train ---


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


def describe_spec(spec: Any) -> str:
    batch = "full batch" if spec.batch_size is None else f"batches of {spec.batch_size}"
    sizes = "-".join(map(str, spec.sizes))
    return f"MLP {sizes} {spec.activation}, {spec.loss} loss, {len(spec.X)} points, {spec.steps} steps, {batch}"


def training_bytes(args: argparse.Namespace, backend_count: int) -> int:
    """A generous estimate of the memory one `train` run needs: micrograd's graph of one step (a node of about 200
    bytes per neuron and sample, and 16 bytes per weight and sample for its edges), the step plan and records."""
    sizes: list[int] = [2, *args.hidden, 1]
    rows: int = args.batch_size or args.samples
    graph = rows * sum(nout * (16 * nin + 200) for nin, nout in itertools.pairwise(sizes))
    steps: int = args.steps
    return graph + steps * (rows * 8 + backend_count * 2_000)


def available_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not on Linux: no check
        return 2**63


def run_train(args: argparse.Namespace) -> int:
    need, have = training_bytes(args, len(backends.names())), available_bytes()
    if need > have // 2:
        raise UsageError(
            f"this training needs about {need / 2**30:.1f} GiB of memory and {have / 2**30:.1f} GiB are free; "
            "choose fewer --steps, --samples or smaller --hidden sizes"
        )
    try:
        spec = backends.TrainSpec.demo(
            n_samples=args.samples, hidden=args.hidden, activation=args.activation, loss=args.loss, steps=args.steps,
            batch_size=args.batch_size, seed=args.seed,
        )  # fmt: skip
        if args.lr:
            spec = dataclasses.replace(spec, lr_start=args.lr[0], lr_end=args.lr[1])
    except ValueError as exc:
        raise UsageError(f"{exc}; check --samples, --batch-size and --hidden") from None
    if args.plot:
        writable_png(args.plot, "--plot")
    names, skipped = chosen_backends(args)

    from comparisons import report, runs

    with progress_bar() as task:
        records, timings = runs.training_records(spec, names, task("training", spec.steps * len(names)))
    df = report.frame(retolerate(records, args), report.TRAINING_COLUMNS)
    summary = report.training_summary(df, report.frame(timings), names)
    title = describe_spec(spec)
    if args.plot:
        with report.staged_files(args.plot.parent) as staging:
            report.plot_losses(df, staging / args.plot.name, title)
    disagree = not summary.ok.all()
    if args.format != "table":
        sys.stdout.write(report.render(df, args.format))
        return exit_status(disagree)

    out = report.console()
    report.print_training(out, df, summary, title)
    for name, why in skipped.items():
        out.print(f"skipped {name}: {why}", style="yellow", markup=False)
    if args.plot:
        out.print(f"loss curves saved to {args.plot}", markup=False)
    return exit_status(disagree)


# --- the report ---


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


def run_report(args: argparse.Namespace) -> int:
    from comparisons.catalog import CATALOG, DIVERGENCES, FLOAT32_DIVERGENCES

    out_dir = writable_folder(args.out)
    names, skipped = chosen_backends(args)
    if args.quick:
        small = [case for case in CATALOG if len(case.expression.nodes) <= QUICK_MAX_NODES]
        cases, repeats, spec = small[::QUICK_EVERY], 3, backends.TrainSpec.demo(n_samples=40, steps=20)
    else:
        cases, repeats, spec = list(CATALOG), 5, backends.TrainSpec.demo()

    float32 = "float32" in (args.dtype or ())
    names32 = without_reference(names, skipped)[0] if float32 else []

    from comparisons import report, runs

    started = time.perf_counter()
    with progress_bar() as task:
        # speed first: its warm-ups are then first compilations, not ones that reuse what the gradient run compiled
        speed = runs.speed_records(cases, names, repeats, task("speed", len(cases) * len(names)))
        gradients = runs.gradient_records(cases, names, task("gradients", len(cases)))
        divergences = runs.divergence_records(DIVERGENCES, names, task("divergences", len(DIVERGENCES)))
        if float32:
            gradients32 = runs.gradient_records(cases, names32, task("float32", len(cases)), dtype="float32")
            divergences32 = runs.divergence_records(FLOAT32_DIVERGENCES, names32, task("divergences32", len(FLOAT32_DIVERGENCES)))
        training, train_timings = runs.training_records(spec, names, task("training", spec.steps * len(names)))
    elapsed = time.perf_counter() - started

    status = {name: None if name in names else skipped[name] for name in backends.names() if name in names or name in skipped}
    tables = report.report_tables(
        status, retolerate(gradients, args), divergences, retolerate(training, args), speed + train_timings
    )
    if float32:
        tables.update(report.float32_tables(gradients32, divergences32, names32))
    out = report.console()
    heading = f"micrograd-bench: {', '.join(names)} on {len(cases)} expressions and the demo MLP ({elapsed:.1f} s)"
    report.print_report(out, tables, heading, describe_spec(spec))
    written = report.save_report(tables, out_dir, describe_spec(spec))
    with report.sigint_held(f"interrupted after the files in {out_dir} were written whole"):  # so it says so
        out.print(f"\nsaved {len(written)} files in {out_dir}/: {', '.join(p.name for p in written)}", markup=False)
        return exit_status(bool(report.disagreements(tables)))


# --- entry point ---


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
    except KeyboardInterrupt as exc:  # Ctrl-C: every file is written whole or not at all (report.staged_files)
        print(f"{prog}: {str(exc) or 'interrupted, nothing written'}", file=sys.stderr)
        return 130
    except MemoryError:  # a run too large for this machine is a usage problem, never a disagreement
        print(f"{prog}: error: out of memory; choose a smaller run (fewer steps, samples or layers)", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
