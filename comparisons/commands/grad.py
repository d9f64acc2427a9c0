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
        "--max-ulps", type=cli.tolerance, default=cli.DEFAULT_MAX_ULPS, metavar="N",
        help=f"with --strict: how many ulps from the truth are allowed (default: {cli.DEFAULT_MAX_ULPS})",
    )  # fmt: skip
    grad.add_argument(
        "--dtype", choices=("float64", "float32"), default="float64",
        help="compute in float64 (default) or float32 (torch, jax and tinygrad: micrograd computes in float64 only, "
        "so in float32 the truth is the reference; the inputs are rounded to float32 and ulps are float32's)",
    )  # fmt: skip
    cli.add_common(grad, formats=True)
    cli.add_budget(grad, "nodes x backends", cli.GRAD_MAX_WORK)
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
        example = " ".join(f"{cli.clip(name)}=1.5" for name in expr.inputs[:10]) + (" ..." if len(expr.inputs) > 10 else "")
        raise UsageError(f"{exc}; give every input as NAME=VALUE: {example}") from None
    names, skipped = cli.chosen_backends(args)
    cli.within_budget(cli.grad_work(expr, len(names)), "nodes x backends", args)
    if args.dtype == "float32":
        names, skipped = cli.without_reference(names, skipped)

    from comparisons import render
    from comparisons.commands import runs
    from comparisons.judge.agreement import cancellation, failures, fd_note

    point = inputs  # where the backends compute: in float32, the inputs rounded to it
    if args.dtype == "float32":
        try:
            point = runs.float32_point(expr, inputs)
        except ValueError as exc:
            raise UsageError(f"{exc} (--dtype float64)") from None

    records, cannot = runs.cannot_run(runs.compare_each(expr, inputs, names, dtype=args.dtype))
    names, skipped = [name for name in names if name not in cannot], {**skipped, **cannot}
    records = runs.label_divergences(cli.retolerate(records, args) if args.dtype == "float64" else records, expr, inputs)
    df = render.frame(records, render.GRADIENT_COLUMNS).drop(columns="case")
    unexplained = [r for r in records if not r["ok"] and not r.get("divergence")]
    far = [r for r in records if r.get("ulps") is not None and r["ulps"] > args.max_ulps]
    status = cli.exit_status(bool(unexplained) or (args.strict and bool(far)))
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
    for line in render.accuracy_lines(df, args.max_ulps, cancellation(expr, point), args.dtype):
        out.print(line, markup=False)
    known = {r["divergence"] for r in records if not r["ok"] and r.get("divergence")}
    for name in sorted(known):
        out.print(f"known divergence {name}: {runs.divergence_explanation(name)}", style="cyan", markup=False)
    if unexplained:
        out.print("disagreement beyond cli.tolerance:", style="bold red")
        judged = [r for r in unexplained if r["quantity"] != "error"]
        for line in failures(judged) if args.dtype == "float64" else render.float32_failures(judged, records):
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
