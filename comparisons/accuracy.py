"""The accuracy atlas: per op, backend and dtype, how many ulps from the exact truth its value and gradient are.

Each op (every primitive, and a few composites) is sampled at a fixed set of points over its domain, its hard regions
included (tanh near 0 and in its tails, exp near overflow, log near 1, pow near 0); the truth is comparisons.truth's,
rounded to the dtype. Each row gives the largest error (with the input that shows it, as Zimmermann et al. tabulate
libms) and the median. Points where the truth is undefined are left out; the sample is the same on every run.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from backends.base import Backend
from backends.expr import Expression, parse
from comparisons import dtypes
from comparisons.truth import truth

COLUMNS = ("op", "quantity", "backend", "dtype", "max_ulps", "median_ulps", "worst_input", "got", "truth", "points")
RANDOM_POINTS = 24  # per op, besides its hard regions


@dataclass(frozen=True)
class Op:
    """One row of the atlas: an expression in x (and y), and its sample of the domain for a dtype."""

    name: str
    source: str
    sample: Callable[[random.Random, str], list[dict[str, float]]]

    @property
    def expression(self) -> Expression:
        return parse(self.source)


def _log_uniform(rng: random.Random, low: float, high: float, n: int, signed: bool = False) -> list[float]:
    """n numbers between 10**low and 10**high, spread evenly in their exponent, either sign when `signed`."""
    return [rng.choice((1, -1) if signed else (1,)) * 10 ** rng.uniform(low, high) for _ in range(n)]


def _unary(*regions: Callable[[random.Random, str], list[float]]) -> Callable[[random.Random, str], list[dict[str, float]]]:
    def sample(rng: random.Random, dtype: str) -> list[dict[str, float]]:
        return [{"x": x} for region in regions for x in region(rng, dtype)]

    return sample


def _binary(
    pairs: Callable[[random.Random, str], list[tuple[float, float]]],
) -> Callable[[random.Random, str], list[dict[str, float]]]:
    def sample(rng: random.Random, dtype: str) -> list[dict[str, float]]:
        return [{"x": x, "y": y} for x, y in pairs(rng, dtype)]

    return sample


def _big(dtype: str) -> float:
    """The largest x with exp(x) finite."""
    return 88.72 if dtype == "float32" else 709.78


def _ordinary(rng: random.Random, dtype: str) -> list[float]:
    return _log_uniform(rng, -3, 3, RANDOM_POINTS, signed=True)


OPS: tuple[Op, ...] = (
    Op(
        "add",
        "x + y",
        _binary(
            lambda r, d: (
                [(a, -a * (1 + r.uniform(-1e-3, 1e-3))) for a in _ordinary(r, d)[:8]]
                + list(zip(_ordinary(r, d), _ordinary(r, d)))
            )
        ),
    ),  # fmt: skip
    Op("mul", "x * y", _binary(lambda r, d: list(zip(_ordinary(r, d), _ordinary(r, d))))),
    Op("div", "x / y", _binary(lambda r, d: list(zip(_ordinary(r, d), _ordinary(r, d))))),
    Op(
        "pow",
        "x ** y",
        _binary(
            lambda r, d: (
                [(10 ** r.uniform(-3, 1), r.uniform(-5, 5)) for _ in range(RANDOM_POINTS)]
                + [(10 ** r.uniform(-30, -3), r.uniform(0.5, 3)) for _ in range(8)]  # near 0
                + [(1 + r.uniform(-1e-6, 1e-6), r.uniform(100, 1e4)) for _ in range(8)]
            )
        ),
    ),  # fmt: skip
    Op("relu", "relu(x)", _unary(_ordinary)),
    Op(
        "exp",
        "exp(x)",
        _unary(
            lambda r, d: [r.uniform(-20, 20) for _ in range(RANDOM_POINTS)],
            lambda r, d: [_big(d) - r.uniform(0, 10) for _ in range(8)],  # near overflow
            lambda r, d: _log_uniform(r, -12, -1, 8, signed=True),
        ),
    ),  # fmt: skip
    Op(
        "log",
        "log(x)",
        _unary(lambda r, d: _log_uniform(r, -30, 30, RANDOM_POINTS), lambda r, d: [1 + r.uniform(-1e-4, 1e-4) for _ in range(8)]),
    ),  # near 1  # fmt: skip
    Op(
        "tanh",
        "tanh(x)",
        _unary(
            lambda r, d: [r.uniform(-3, 3) for _ in range(RANDOM_POINTS)],
            lambda r, d: _log_uniform(r, -20, -1, 12, signed=True),  # near 0
            lambda r, d: [r.choice((1, -1)) * r.uniform(4, 19) for _ in range(12)],
        ),
    ),  # tails # fmt: skip
    Op(
        "sigmoid",
        "sigmoid(x)",
        _unary(
            lambda r, d: [r.uniform(-6, 6) for _ in range(RANDOM_POINTS)],
            lambda r, d: [r.choice((1, -1)) * r.uniform(10, 40) for _ in range(12)],
        ),
    ),  # fmt: skip
    Op("softplus", "log(1 + exp(x))", _unary(lambda r, d: [r.uniform(-30, 30) for _ in range(RANDOM_POINTS)])),
    Op("expm1", "exp(x) - 1", _unary(lambda r, d: _log_uniform(r, -12, 0, RANDOM_POINTS, signed=True))),
    Op("logsigmoid", "log(sigmoid(x))", _unary(lambda r, d: [r.uniform(-30, 30) for _ in range(RANDOM_POINTS)])),
)


def sample(op: Op, dtype: str) -> list[dict[str, float]]:
    """The op's fixed points for `dtype` (each input rounded to it)."""
    rng = random.Random(f"{op.name}:{dtype}")
    return [{k: dtypes.round_to(v, dtype) for k, v in point.items()} for point in op.sample(rng, dtype)]


def atlas(chosen: Mapping[str, Backend], dtype: str, tick: Callable[[], None] | None = None) -> list[dict[str, object]]:
    """One row per op, quantity ("value" or "grad": every input's gradient together) and backend."""
    rows: list[dict[str, object]] = []
    for op in OPS:
        expr, points = op.expression, sample(op, dtype)
        exact = [truth(expr, p) for p in points]
        for name, backend in chosen.items():
            fn = backend.compile(expr, dtype)
            errors: dict[str, list[tuple[float, dict[str, float], float, float]]] = {"value": [], "grad": []}
            for point, t in zip(points, exact):
                got = fn(point)
                pairs = [("value", got.value, t.value.value)]
                pairs += [("grad", got.grads[k], t.grads[k].value) for k in expr.inputs]
                for quantity, value, true in pairs:
                    if true is None:
                        continue
                    true = dtypes.round_to(true, dtype)
                    u = dtypes.ulps(value, true, dtype)
                    if u is not None:
                        errors[quantity].append((u, point, value, true))
            for quantity, found in errors.items():
                if not found:
                    continue
                worst = max(found, key=lambda e: e[0])
                rows.append({
                    "op": op.name, "quantity": quantity, "backend": name, "dtype": dtype,
                    "max_ulps": worst[0], "median_ulps": statistics.median(e[0] for e in found),
                    "worst_input": ", ".join(f"{k}={v!r}" for k, v in worst[1].items()),
                    "got": worst[2], "truth": worst[3], "points": len(found),
                })  # fmt: skip
            if tick:
                tick()
    return rows
