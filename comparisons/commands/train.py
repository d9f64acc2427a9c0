"""`python -m comparisons train`: the demo MLP trained natively by every chosen backend from the same weights and
batches; loss per step beside micrograd's, step timings, an optional PNG of the curves."""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import sys
from typing import Any

import backends
from comparisons.commands import cli
from comparisons.commands.cli import UsageError


def add_parser(commands: Any) -> None:
    """The subcommand's arguments."""
    train = commands.add_parser(
        "train",
        help="one MLP training run, loss per step",
        description="Train the demo MLP on two moons with every chosen backend from the same initial weights and "
        "batches; the loss per step, each backend's largest deviation from micrograd's, and step timings.",
    )
    train.add_argument("--steps", type=cli.positive_int, default=100, help="SGD steps (default: 100)")
    train.add_argument(
        "--hidden", type=cli.hidden_sizes, default=(16, 16), metavar="SIZES", help="hidden layer sizes (default: 16,16)"
    )
    train.add_argument("--activation", choices=("relu", "tanh"), default="relu", help="of the hidden layers (default: relu)")
    train.add_argument(
        "--loss", choices=("svm", "mse"), default="svm", help="svm max-margin or mean squared error (default: svm)"
    )
    train.add_argument("--samples", type=cli.positive_int, default=100, metavar="N", help="two-moons points (default: 100)")
    train.add_argument("--batch-size", type=cli.positive_int, metavar="B", help="minibatch size (default: the full batch)")
    train.add_argument(
        "--seed", type=int, default=1337, metavar="S", help="seed of the data, weights and batches (default: 1337)"
    )
    train.add_argument(
        "--lr", type=cli.learning_rates, metavar="START[,END]",
        help="learning rate, decaying linearly from START to END (default: the demo's 1.0,0.1; mse wants less, like 0.02)",
    )  # fmt: skip
    train.add_argument(
        "--plot", type=cli.plot_path, metavar="FILE",
        help="save every backend's loss curve in one PNG; a bare file name (loss.png) goes in results/, a path with a "
        "folder in it (./loss.png, /tmp/loss.png) is used as given",
    )  # fmt: skip
    cli.add_common(train, formats=True)
    cli.add_torch_threads(train)
    cli.add_budget(train, "weights x samples per step x steps x backends", cli.TRAIN_MAX_WORK)
    train.set_defaults(run=run)


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


def run(args: argparse.Namespace) -> int:
    cli.within_budget(
        cli.train_work(args, len(cli.requested_backends(args) or backends.names())),
        "weights x samples per step x steps x backends",
        args,
    )
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
        cli.writable_png(args.plot, "--plot")
    names, skipped = cli.chosen_backends(args)
    cli.set_torch_threads(args, names)

    from comparisons import render
    from comparisons.commands import runs

    with cli.progress_bar() as task:
        records, timings = runs.training_records(spec, names, task("training", spec.steps * len(names)))
    df = render.frame(cli.retolerate(records, args), render.TRAINING_COLUMNS)
    summary = render.training_summary(df, render.frame(timings), names)
    title = cli.describe_spec(spec)
    if args.plot:
        with render.staged_files(args.plot.parent) as staging:
            render.plot_losses(df, staging / args.plot.name, title)
    disagree = not summary.ok.all()
    if args.format != "table":
        sys.stdout.write(render.render(df, args.format))
        return cli.exit_status(disagree)

    out = render.console()
    render.print_training(out, df, summary, title)
    for name, why in skipped.items():
        out.print(f"skipped {name}: {why}", style="yellow", markup=False)
    if args.plot:
        out.print(f"loss curves saved to {args.plot}", markup=False)
    return cli.exit_status(disagree)
