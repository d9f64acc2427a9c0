"""The two float formats the comparisons run in: rounding a float64 to float32, and distances in ulps of either.

float32's truth is the float64 truth rounded again to float32 (double rounding: it can differ from the correctly rounded
float32 only when the exact value lies within 2**-53 relative of a float32 halfway point, half an ulp at most).
"""

from __future__ import annotations

import math
import sys
from fractions import Fraction

from backends.expr import Expression, Node

DTYPES = ("float64", "float32")
_BITS = {"float64": 53, "float32": 24}  # significand bits
_MIN_EXP = {"float64": -1074, "float32": -149}  # the exponent of the smallest subnormal
FLOAT32_OVERFLOW = 2.0**128  # the first power of two float32 cannot hold


def check(dtype: str) -> str:
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; choose {' or '.join(DTYPES)}")
    return dtype


def round_to(value: float, dtype: str) -> float:
    """The `dtype` number nearest to `value` (ties to even), subnormals and overflow to inf included."""
    if check(dtype) == "float64" or not math.isfinite(value) or value == 0:
        return value
    if abs(value) >= FLOAT32_OVERFLOW:  # beyond float32's range (and scaling float64's largest would overflow)
        return math.copysign(math.inf, value)
    _, e = math.frexp(value)  # 2**(e-1) <= |value| < 2**e
    quantum = max(e - _BITS[dtype], _MIN_EXP[dtype])
    rounded = math.ldexp(round(math.ldexp(value, -quantum)), quantum)  # exact scaling; round() ties to even
    rounded = math.copysign(rounded, value)  # an underflow to zero keeps the sign: -1e-46 is -0.0 in float32
    if abs(rounded) >= FLOAT32_OVERFLOW:
        return math.copysign(math.inf, value)
    return rounded


def ulp(value: float, dtype: str) -> float:
    """The unit in the last place of the finite `value` in `dtype` (the smallest subnormal at 0)."""
    if value == 0:
        return math.ldexp(1.0, _MIN_EXP[check(dtype)])
    _, e = math.frexp(value)
    return math.ldexp(1.0, max(e - _BITS[check(dtype)], _MIN_EXP[dtype]))


def ulps(value: float, true: float | None, dtype: str = "float64") -> float | None:
    """How far `value` is from the correctly rounded `true`, in ulps of `true` in `dtype` (0: correctly rounded); inf
    for nan, an infinity where the truth is finite, or a finite value where it is infinite; None without a truth."""
    if true is None:
        return None
    if value == true or (math.isnan(value) and math.isnan(true)):
        return 0.0
    if not (math.isfinite(value) and math.isfinite(true)):
        return math.inf
    distance = abs(Fraction(value) - Fraction(true)) / Fraction(ulp(true, dtype))
    return float(distance) if distance <= sys.float_info.max else math.inf  # 1e300 from a truth of 0 is beyond a float


def noise_ulps(noise: float, true: float, dtype: str = "float64") -> float:
    """How far rounding alone moves an evaluation in `dtype`, in ulps of `true` rounded to `dtype`: `noise` is that
    change measured with float64's roundings (comparisons.judge.truth, Monte Carlo arithmetic), and each of `dtype`'s
    roundings is 2**(53 - bits) times coarser (2**29 for float32). 0 where `true` does not fit in `dtype` (inf)."""
    rounded = round_to(true, dtype)
    if not math.isfinite(rounded):
        return 0.0
    coarser = 2.0 ** (_BITS["float64"] - _BITS[check(dtype)])
    return noise * coarser / ulp(rounded, dtype)


def literals_in(expr: Expression, dtype: str) -> Expression:
    """The program as a `dtype` run has it: every literal rounded to `dtype` (a float32 tensor turns the Python float
    0.1 of `x * 0.1` into float32's 0.1, and so does every framework), the rest unchanged. ValueError (what, where,
    what would be right) for a literal beyond the dtype's range."""
    if check(dtype) == "float64" or not any(n.op == "const" for n in expr.nodes):
        return expr
    nodes = []
    for n in expr.nodes:
        if n.op == "const":
            value = round_to(n.value, dtype)
            if math.isinf(value):
                raise ValueError(f"the literal {n.value!r} is beyond {dtype}'s range; write a smaller one, or compute in float64")
            n = Node(n.op, n.args, value, n.name)
        nodes.append(n)
    return Expression(tuple(nodes), expr.source)
