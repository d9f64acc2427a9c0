"""`python -m comparisons` (the default command): the catalog's gradients, the known divergences, the demo training
and speed on every backend, as tables and as files in --out."""

from __future__ import annotations

import argparse
import time
from typing import Any

import backends
from comparisons.commands import cli

QUICK_MAX_NODES, QUICK_EVERY = 100, 4  # --quick: every fourth catalog case among the small ones


def add_parser(commands: Any) -> None:
    """The subcommand's arguments."""
    report = commands.add_parser(
        "report",
        help="the full report (the default when no command is given)",
        description="Every available backend beside micrograd: gradient agreement over the catalog, the known "
        "divergences, the demo MLP training, and speed. Tables on the terminal; CSV, JSON and PNG files in --out.",
    )
    report.add_argument(
        "--out", type=cli.folder, default=cli.RESULTS, metavar="DIR", help="where to save the files (default: results)"
    )
    report.add_argument("--quick", action="store_true", help="a smaller run: a few cases, fewer repeats, a short training")
    report.add_argument(
        "--dtype", action="append", choices=("float64", "float32"),
        help="float32 adds the catalog's gradients and the float32 divergences computed in float32 on torch, jax and "
        "tinygrad, judged against the truth (micrograd computes in float64 only); the rest of the report is float64, "
        "where micrograd is the reference (default: float64)",
    )  # fmt: skip
    cli.add_common(report, formats=False)
    cli.add_torch_threads(report)
    cli.add_budget(report, None)
    report.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from comparisons.judge.catalog import CATALOG, DIVERGENCES, FLOAT32_DIVERGENCES

    out_dir = cli.writable_folder(args.out)
    names, skipped = cli.chosen_backends(args)
    threads = cli.set_torch_threads(args, names)
    if args.quick:
        small = [case for case in CATALOG if len(case.expression.nodes) <= QUICK_MAX_NODES]
        cases, repeats, spec = small[::QUICK_EVERY], 3, backends.TrainSpec.demo(n_samples=40, steps=20)
    else:
        cases, repeats, spec = list(CATALOG), 5, backends.TrainSpec.demo()

    float32 = "float32" in (args.dtype or ())
    names32 = cli.without_reference(names, skipped)[0] if float32 else []

    from comparisons import render
    from comparisons.commands import runs

    started = time.perf_counter()
    with cli.progress_bar() as task, runs.shared_compilations():
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
    tables = render.report_tables(
        status, cli.retolerate(gradients, args), divergences, cli.retolerate(training, args), speed + train_timings
    )
    if float32:
        tables.update(render.float32_tables(gradients32, divergences32, names32))
    out = render.console()
    heading = f"micrograd-bench: {', '.join(names)} on {len(cases)} expressions and the demo MLP ({elapsed:.1f} s"
    heading += f"; {threads})" if threads else ")"
    render.print_report(out, tables, heading, cli.describe_spec(spec))
    written = render.save_report(tables, out_dir, cli.describe_spec(spec))
    with render.sigint_held(f"interrupted after the files in {out_dir} were written whole"):  # so it says so
        out.print(f"\nsaved {len(written)} files in {out_dir}/: {', '.join(p.name for p in written)}", markup=False)
        return cli.exit_status(bool(render.disagreements(tables)))
