"""`python -m comparisons grad EXPRESSION NAME=VALUE...`: one expression on every backend, each value and
gradient judged against the certified truth."""

from __future__ import annotations

import argparse
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
    grad.add_argument(
        "--strict", action="store_true", help="also exit 1 for every judged number that is not accurate"
    )
    grad.add_argument(
        "--max-ulps", type=cli.tolerance, default=cli.DEFAULT_MAX_ULPS, metavar="N",
        help=f"how many ulps from the truth a number may be and still be accurate (default: {cli.DEFAULT_MAX_ULPS})",
    )  # fmt: skip
    grad.add_argument(
        "--dtype", choices=("float64", "float32"), default="float64",
        help="compute in float64 (default) or float32 (torch, jax and tinygrad: micrograd computes in float64 only, "
        "so in float32 the truth is the reference; the inputs are rounded to float32 and ulps are float32's)",
    )  # fmt: skip
    cli.add_common(grad, formats=True)
    grad.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
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
        example = " ".join(f"{name}=1.5" for name in expr.inputs[:10]) + (" ..." if len(expr.inputs) > 10 else "")
        raise UsageError(f"{exc}; give every input as NAME=VALUE: {example}") from None
    names, skipped = cli.chosen_backends(args)
    if args.dtype == "float32":
        names, skipped = cli.without_reference(names, skipped)

    from comparisons import render
    from comparisons.commands import runs
    from comparisons.judge import verdict

    point = inputs  # where the backends compute: in float32, the inputs rounded to it
    if args.dtype == "float32":
        try:
            point = runs.float32_point(expr, inputs)
        except ValueError as exc:
            raise UsageError(f"{exc} (--dtype float64)") from None

    records = runs.judged(expr, inputs, names, args.dtype, accurate_ulps=args.max_ulps)
    records = cli.retolerate(records, args)
    status = verdict.exit_status(records, args.strict)
    df = render.frame(records, render.GRADIENT_COLUMNS).drop(columns="case")
    if args.format != "table":
        sys.stdout.write(render.render(df, args.format))
        return status

    out = render.console()
    shown = source if len(source) <= cli.QUOTE_CHARS else source[: cli.QUOTE_CHARS - 3] + "..."
    at = " ".join(f"{k}={v!r}" for k, v in list(inputs.items())[:10])
    at += "".join(f" ({k} in float32: {point[k]!r})" for k in list(inputs)[:10] if point[k] != inputs[k])
    render.print_gradients(out, df, f"{shown}   at {at}", args.dtype)
    for name, why in skipped.items():
        out.print(f"skipped {name}: {why}", style="yellow", markup=False)
    for line in render.verdict_lines(records, args.max_ulps, args.dtype):
        out.print(line, markup=False)
    for name in sorted({r["rule"] for r in records if r["rule"] and r["rule"] != verdict.ILL_CONDITIONED}):
        out.print(f"known divergence {name}: {runs.divergence_explanation(name)}", style="cyan", markup=False)
    bad = runs.failures(records, args.strict)
    if bad:
        out.print("unexplained:" if not args.strict else "not accurate (--strict) or unexplained:", style="bold red")
        for line in bad:
            out.print(f"  {line}", markup=False)
    elif all(r["class"] in ("accurate", "undefined") for r in records):
        out.print(f"{', '.join(names)}: every number accurate (or the truth undefined)", style="green")
    return status
