"""`python -m comparisons grad EXPRESSION NAME=VALUE...`: one expression on every backend, each value and
gradient judged against the certified truth."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import backends
from comparisons.commands import cli
from comparisons.commands.cli import UsageError


def add_parser(commands: Any) -> None:
    """The subcommand's arguments."""
    grad = commands.add_parser(
        "grad",
        help="your own expression on every backend, against the exact truth",
        description="Value and gradients of EXPRESSION on every backend, each number judged against the truth (the "
        "exact value, certified with interval arithmetic in mpmath and correctly rounded) and given a class: accurate "
        "(within --max-ulps of the truth), inaccurate_agreeing (every backend gives the same inaccurate number), known "
        "(a catalogued divergence or rule describes it, or the formula is ill-conditioned there), undefined (the "
        "mathematics has no value there), raised, or unexplained. Agreement with micrograd is shown beside it. The "
        "language: numbers, names, + - * / **, unary -, relu tanh exp log sigmoid, and assignments separated by ';' "
        "or newlines (e.g. 'z = x*y; tanh(z) + z'). Exit status: 0 nothing unexplained, 1 something is unexplained "
        "or raised without a rule (with --strict also: any judged number that is not accurate), 2 bad input.",
    )
    grad.add_argument(
        "expression", nargs="?", help='the expression, quoted, e.g. "tanh(a*b + c)**2"; - reads it from standard input'
    )
    grad.add_argument("inputs", nargs="*", metavar="NAME=VALUE", help="a value for every input, e.g. a=2 b=-3 c=10")
    grad.add_argument(
        "-f", "--file", type=Path, metavar="FILE", help="read the expression from FILE (then every word is an input)"
    )
    grad.add_argument("--strict", action="store_true", help="also exit 1 for every judged number that is not accurate")
    grad.add_argument(
        "--max-ulps", type=cli.tolerance, default=cli.DEFAULT_MAX_ULPS, metavar="N",
        help=f"how many ulps from the truth a number may be and still be accurate (default: {cli.DEFAULT_MAX_ULPS})",
    )  # fmt: skip
    grad.add_argument(
        "--dtype", choices=("float64", "float32"), default="float64",
        help="compute in float64 (default) or float32 (torch, jax and tinygrad: micrograd computes in float64 only, "
        "so in float32 the truth is the reference; the inputs are rounded to float32 and ulps are float32's)",
    )  # fmt: skip
    grad.add_argument(
        "--batch", type=Path, metavar="FILE",
        help="answer many expressions in one process: FILE (or - for standard input) holds JSON Lines, one "
        '{"source": "x*y", "inputs": {"x": 2, "y": 3}} per line (optionally "dtype"); each answer is one JSON line, '
        f'{{"line": N, "records": [...]}} or {{"line": N, "error": "..."}}, written as it is done (at most '
        f"{MAX_BATCH_LINES:,} lines)",
    )  # fmt: skip
    cli.add_common(grad, formats=True)
    cli.add_budget(grad, "nodes x backends", cli.GRAD_MAX_WORK)
    grad.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.batch is not None:
        return run_batch(args)
    source, words = cli.read_expression(args)
    try:
        expr = backends.parse(source)
    except backends.ExpressionError as exc:
        where = cli.quote(source, exc.line, exc.column)
        raise UsageError(
            f"the expression does not parse: {exc} in {where}; "
            "write numbers, names, + - * / **, relu tanh exp log sigmoid, and 'name = ...;' assignments"
        ) from None
    try:
        inputs = expr.check_inputs(cli.parse_inputs(words))
    except backends.ExpressionError as exc:
        example = " ".join(f"{cli.clip(name)}=1.5" for name in expr.inputs[:10]) + (" ..." if len(expr.inputs) > 10 else "")
        raise UsageError(f"{exc}; give every input as NAME=VALUE: {example}") from None
    names, skipped = cli.chosen_backends(args)
    cli.within_budget(cli.grad_work(expr, len(names)), "nodes x backends", args)
    if args.dtype == "float32":
        names, skipped = cli.without_reference(names, skipped)

    from comparisons import render
    from comparisons.commands import runs
    from comparisons.judge import dtypes, verdict
    from comparisons.judge.agreement import fd_note

    point = inputs  # where the backends compute: in float32, the inputs rounded to it
    if args.dtype == "float32":
        try:
            point = runs.float32_point(expr, inputs)
            dtypes.literals_in(expr, args.dtype)
        except ValueError as exc:
            raise UsageError(f"{exc} (--dtype float64)") from None

    with cli.progress_bar() as task:  # on a terminal: each backend, then the truth and the verdict (a big one is slow)
        tick = task("grad", len(names) + 1)
        records = runs.judged(expr, inputs, names, args.dtype, accurate_ulps=args.max_ulps, done=tick)
    records, cannot = runs.cannot_run(records)
    names, skipped = [name for name in names if name not in cannot], {**skipped, **cannot}
    records = cli.retolerate(records, args)
    status = verdict.exit_status(records, args.strict)
    df = render.frame(records, render.GRADIENT_COLUMNS).drop(columns="case")
    if args.format != "table":
        sys.stdout.write(render.render(df, args.format))
        return status

    out = render.console()
    shown = cli.clip(source)
    at = " ".join(f"{k}={v!r}" for k, v in list(inputs.items())[:10])
    at += "".join(f" ({k} in float32: {point[k]!r})" for k in list(inputs)[:10] if point[k] != inputs[k])
    render.print_gradients(out, df, f"{shown}   at {at}", args.dtype)
    for name, why in skipped.items():
        out.print(f"skipped {name}: {why}", style="yellow", markup=False)
    if note := fd_note(expr):
        out.print(note, style="yellow", markup=False)
    for line in render.verdict_lines(records, args.max_ulps, args.dtype):
        out.print(line, markup=False)
    named = {r["rule"] for r in records if r["rule"] and r["rule"] != verdict.ILL_CONDITIONED}
    for name in sorted(named | set(runs.catalogued_here(expr, point, args.dtype))):
        out.print(f"known divergence {name}: {runs.divergence_explanation(name)}", style="cyan", markup=False)
    bad = runs.failures(records, args.strict)
    if bad:
        out.print("unexplained:" if not args.strict else "not accurate (--strict) or unexplained:", style="bold red")
        for line in bad:
            out.print(f"  {line}", markup=False)
    elif all(r["class"] in ("accurate", "undefined") for r in records):
        out.print(f"{', '.join(names)}: every number accurate (or the truth undefined)", style="green")
    return status


MAX_BATCH_LINES = 10_000
MAX_BATCH_LINE_CHARS = 250_000  # an expression (MAX_SOURCE_CHARS) and its inputs


def run_batch(args: argparse.Namespace) -> int:
    """`grad --batch FILE`: JSON Lines in, JSON Lines out, one line each, streamed; the frameworks are imported and
    every expression judged in this one process. A line that is not a good request gets {"line", "error"} and the
    run goes on; exit 1 when some record counts as a failure (as `grad` exits), 2 when FILE cannot be read."""
    if args.expression is not None or args.inputs or args.file is not None:
        raise UsageError("--batch takes its expressions from FILE: give no expression, NAME=VALUE or -f beside it")
    names, skipped = cli.chosen_backends(args)
    from comparisons import render
    from comparisons.commands import runs
    from comparisons.judge import verdict

    try:
        stream = sys.stdin if str(args.batch) == "-" else args.batch.open(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--batch {args.batch}: cannot read it ({exc.strerror}); give a readable JSON Lines file") from None
    failed = False
    with stream:
        for number, line in enumerate(iter(lambda: stream.readline(MAX_BATCH_LINE_CHARS + 1), ""), 1):
            if number > MAX_BATCH_LINES:
                raise UsageError(f"--batch {args.batch}: more than {MAX_BATCH_LINES:,} lines; split the file")
            if not line.strip():
                continue
            try:
                expr, inputs, dtype = _request(line)
                chosen = cli.without_reference(names, skipped)[0] if dtype == "float32" else names
                records = runs.judged(expr, inputs, chosen, dtype, accurate_ulps=args.max_ulps)
            except (ValueError, backends.ExpressionError, UsageError) as exc:
                answer: dict[str, object] = {"line": number, "error": str(exc)[: cli.QUOTE_CHARS * 2]}
            else:
                failed = failed or verdict.exit_status(records, args.strict) == 1
                answer = {"line": number, "records": [{k: v for k, v in r.items() if k != "case"} for r in records]}
            sys.stdout.write(render.json_value(answer) + "\n")
            sys.stdout.flush()
    return 1 if failed else 0


def _request(line: str) -> tuple[backends.Expression, dict[str, float], str]:
    """One --batch line: the parsed expression, its checked inputs, its dtype; ValueError saying what is wrong."""
    if len(line) > MAX_BATCH_LINE_CHARS:
        raise ValueError(f"the line is longer than {MAX_BATCH_LINE_CHARS:,} characters")
    try:
        request = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f'not JSON ({exc.msg} at column {exc.colno}); write {{"source": ..., "inputs": {{...}}}}') from None
    good = isinstance(request, dict) and isinstance(request.get("source"), str) and isinstance(request.get("inputs", {}), dict)
    if not good:
        raise ValueError('each line is an object {"source": "x*y", "inputs": {"x": 2, "y": 3}}')
    dtype = request.get("dtype", "float64")
    if dtype not in ("float64", "float32"):
        raise ValueError(f"dtype {str(dtype)[:20]!r} is not float64 or float32")
    expr = backends.parse(request["source"])
    return expr, expr.check_inputs(request.get("inputs", {})), dtype
