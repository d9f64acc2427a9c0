"""The accuracy atlas: per op, backend and dtype, how many ulps from the exact truth its value and gradient are.

Each op (every primitive, and a few composites) is sampled at a fixed set of points over its domain, its hard regions
included (tanh near 0 and in its tails, exp near overflow, log near 1, pow near 0); the truth is comparisons.judge.truth's,
rounded to the dtype, and every number is classed by the one verdict (comparisons.judge.verdict). Each row gives the
largest error (with the input that shows it, as Zimmermann et al. tabulate libms), the median, and the class and why
of its worst point. Points where the truth is undefined are left out; the sample is the same on every run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import backends
from backends.base import Backend
from backends.expr import Expression, parse
from comparisons.commands import cli
from comparisons.commands.runs import run_backends, without_skips
from comparisons.judge import dtypes, verdict

COLUMNS = (
    "op", "quantity", "backend", "dtype", "max_ulps", "median_ulps", "worst_input", "got", "truth", "points", "class",
    "why", "classes",
)  # fmt: skip
RANDOM_POINTS = 24  # per op, besides its hard regions


@dataclass(frozen=True)
class Op:
    """One row of the atlas: an expression in x (and y), and its sample of the domain for a dtype."""

    name: str
    source: str
    sample: Callable[[random.Random, str], list[dict[str, float]]]  # (rng, dtype) -> points

    @property
    def expression(self) -> Expression:
        return parse(self.source)


Points = list[dict[str, float]]


def _log_uniform(rng: random.Random, low: float, high: float, n: int, signed: bool = False) -> list[float]:
    """n numbers between 10**low and 10**high, spread evenly in their exponent, either sign when `signed`."""
    return [rng.choice((1, -1) if signed else (1,)) * 10 ** rng.uniform(low, high) for _ in range(n)]


def _xs(values: list[float]) -> Points:
    return [{"x": x} for x in values]


def _ordinary(rng: random.Random) -> list[float]:
    return _log_uniform(rng, -3, 3, RANDOM_POINTS, signed=True)


def _pairs(rng: random.Random, dtype: str) -> Points:
    return [{"x": x, "y": y} for x, y in zip(_ordinary(rng), _ordinary(rng))]


def _sums(rng: random.Random, dtype: str) -> Points:
    """Ordinary pairs, and pairs that nearly cancel."""
    close = [{"x": a, "y": -a * (1 + rng.uniform(-1e-3, 1e-3))} for a in _ordinary(rng)[:8]]
    return _pairs(rng, dtype) + close


def _powers(rng: random.Random, dtype: str) -> Points:
    """Bases from 1e-3 to 10, bases near 0 (hard: the derivative's x**(y-1)), bases near 1 with large exponents."""
    ordinary = [(10 ** rng.uniform(-3, 1), rng.uniform(-5, 5)) for _ in range(RANDOM_POINTS)]
    near_zero = [(10 ** rng.uniform(-30, -3), rng.uniform(0.5, 3)) for _ in range(8)]
    near_one = [(1 + rng.uniform(-1e-6, 1e-6), rng.uniform(100, 1e4)) for _ in range(8)]
    return [{"x": x, "y": y} for x, y in ordinary + near_zero + near_one]


def _relu(rng: random.Random, dtype: str) -> Points:
    return _xs(_ordinary(rng))


def _exp(rng: random.Random, dtype: str) -> Points:
    """Ordinary, near overflow (the largest x with exp(x) finite, minus up to 10), and tiny."""
    top = 88.72 if dtype == "float32" else 709.78
    ordinary = [rng.uniform(-20, 20) for _ in range(RANDOM_POINTS)]
    return _xs(ordinary + [top - rng.uniform(0, 10) for _ in range(8)] + _log_uniform(rng, -12, -1, 8, signed=True))


def _log(rng: random.Random, dtype: str) -> Points:
    """From 1e-30 to 1e30, and near 1 (where log(x) is small and an absolute error becomes a large relative one)."""
    return _xs(_log_uniform(rng, -30, 30, RANDOM_POINTS) + [1 + rng.uniform(-1e-4, 1e-4) for _ in range(8)])


def _tanh(rng: random.Random, dtype: str) -> Points:
    """Ordinary, near 0 (1e-20 to 0.1), and the tails (4 to 19: tanh rounds to 1 in float64 beyond 19.06)."""
    ordinary = [rng.uniform(-3, 3) for _ in range(RANDOM_POINTS)]
    tails = [rng.choice((1, -1)) * rng.uniform(4, 19) for _ in range(12)]
    return _xs(ordinary + _log_uniform(rng, -20, -1, 12, signed=True) + tails)


def _sigmoid(rng: random.Random, dtype: str) -> Points:
    ordinary = [rng.uniform(-6, 6) for _ in range(RANDOM_POINTS)]
    return _xs(ordinary + [rng.choice((1, -1)) * rng.uniform(10, 40) for _ in range(12)])


def _wide(rng: random.Random, dtype: str) -> Points:
    return _xs([rng.uniform(-30, 30) for _ in range(RANDOM_POINTS)])


def _near_zero(rng: random.Random, dtype: str) -> Points:
    return _xs(_log_uniform(rng, -12, 0, RANDOM_POINTS, signed=True))


OPS: tuple[Op, ...] = (
    Op("add", "x + y", _sums),
    Op("mul", "x * y", _pairs),
    Op("div", "x / y", _pairs),
    Op("pow", "x ** y", _powers),
    Op("relu", "relu(x)", _relu),
    Op("exp", "exp(x)", _exp),
    Op("log", "log(x)", _log),
    Op("tanh", "tanh(x)", _tanh),
    Op("sigmoid", "sigmoid(x)", _sigmoid),
    Op("softplus", "log(1 + exp(x))", _wide),
    Op("expm1", "exp(x) - 1", _near_zero),
    Op("logsigmoid", "log(sigmoid(x))", _wide),
)


def sample(op: Op, dtype: str) -> list[dict[str, float]]:
    """The op's fixed points for `dtype` (each input rounded to it)."""
    rng = random.Random(f"{op.name}:{dtype}")
    return [{k: dtypes.round_to(v, dtype) for k, v in point.items()} for point in op.sample(rng, dtype)]


def atlas(
    chosen: Mapping[str, Backend], dtype: str, tick: Callable[[], None] | None = None, ops: tuple[Op, ...] = OPS
) -> list[dict[str, object]]:
    """One row per op, quantity ("value" or "grad": every input's gradient together) and backend: the largest and the
    median ulps, and the class and why of its worst point (comparisons.judge.verdict, every backend judged together
    at each point), with how many points fell in each class."""
    rows: list[dict[str, object]] = []
    for op in ops:
        expr, points = op.expression, sample(op, dtype)
        ran = [without_skips(results)[0] for results in run_backends(expr, points, chosen, dtype)]
        judged = [verdict.judge(expr, p, dtype, results) for p, results in zip(points, ran)]
        for name in chosen:
            found: dict[str, list[tuple[dict[str, Any], dict[str, float]]]] = {"value": [], "grad": []}
            for point, records in zip(points, judged):
                for r in records:
                    if r["backend"] == name and r["class"] != "undefined":
                        found["value" if r["quantity"] == "value" else "grad"].append((r, point))
            for quantity, mine in found.items():
                if not mine:
                    continue
                worst_class = max(mine, key=lambda e: verdict.SEVERITY.index(e[0]["class"]))[0]["class"]
                worst = max((e for e in mine if e[0]["class"] == worst_class), key=lambda e: e[0]["ulps"] or 0.0)
                distances = [e[0]["ulps"] for e in mine if e[0]["ulps"] is not None]
                counts = Counter(e[0]["class"] for e in mine)
                rows.append({
                    "op": op.name, "quantity": quantity, "backend": name, "dtype": dtype,
                    "max_ulps": max(distances, default=None), "median_ulps": statistics.median(distances) if distances else None,
                    "worst_input": ", ".join(f"{k}={v!r}" for k, v in worst[1].items()),
                    "got": worst[0]["value"], "truth": worst[0]["truth"], "points": len(mine),
                    "class": worst_class, "why": worst[0]["why"],
                    "classes": ", ".join(f"{c} {counts[c]}" for c in verdict.SEVERITY if counts[c]),
                })  # fmt: skip
            if tick:
                tick()
    return rows


# --- the command ---


def add_parser(commands: Any) -> None:
    """The subcommand's arguments."""
    accuracy = commands.add_parser(
        "accuracy",
        help="the accuracy atlas: per op, backend and dtype, the error in ulps from the truth",
        description="Per op (each primitive and a few composites), backend and dtype: the largest and the median "
        "error in ulps from the exact truth, of the value and of the gradient, over a fixed sample of each op's "
        "domain including its hard regions; each largest error names its input. A table and a heatmap PNG.",
    )
    accuracy.add_argument("--png", type=Path, metavar="FILE", help="write the heatmap there (a .png)")
    accuracy.add_argument("--format", choices=("table", "json", "csv"), default="table", help="(default: table)")
    cli.add_backend_and_dtype(accuracy, "both")
    cli.add_budget(accuracy, None)
    accuracy.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from comparisons import render

    if args.png:
        cli.writable_png(args.png, "--png")
    rows = []
    notes: dict[str, str] = {}
    dtypes = args.dtype or ["float64", "float32"]
    with cli.progress_bar() as task:
        for dtype in dtypes:
            names, skipped = cli.chosen_for(args, dtype)
            notes.update(skipped)
            tick = task(dtype, len(OPS) * len(names))
            rows += atlas({name: backends.get(name) for name in names}, dtype, tick)
    df = render.frame(rows, COLUMNS)
    if args.png:
        render.plot_accuracy(df, args.png)
    if args.format != "table":
        sys.stdout.write(render.render(df, args.format))
        return cli.EXIT_OK
    out = render.console()
    render.print_accuracy(out, df)
    for name, why in notes.items():
        out.print(f"skipped {name}: {why}", style="yellow", markup=False)
    if args.png:
        out.print(f"heatmap saved to {args.png}", markup=False)
    return cli.EXIT_OK
