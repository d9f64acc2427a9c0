"""comparisons.judge.dtypes against independent arithmetic: distances as exact fractions over math.ulp (float64) and
numpy's float32 (rounding and spacing), never through the module's own functions."""

from __future__ import annotations

import math
import sys
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from backends import parse
from backends.expr import Node
from comparisons.judge import dtypes

finite64 = st.floats(allow_nan=False, allow_infinity=False)
# float32's range with room to overflow and underflow into subnormals and zero
in_float32_range = st.floats(min_value=-(2.0**129), max_value=2.0**129, allow_nan=False)


def ulp32(value: float) -> float:
    """float32's spacing above |value| (numpy's; below float32's largest number, where above is inf), the smallest
    subnormal at 0: independent of dtypes.ulp."""
    magnitude = np.abs(np.float32(value))
    if magnitude == np.finfo(np.float32).max:
        return float(magnitude - np.nextafter(magnitude, np.float32(0)))  # not a power of two: the same spacing below
    return float(np.spacing(magnitude))


def exact_ulps(value: float, true: float, unit: float) -> float:
    distance = abs(Fraction(value) - Fraction(true)) / Fraction(unit)
    return float(distance) if distance <= sys.float_info.max else math.inf


# --- ulps: the sign counts ---


@pytest.mark.parametrize(
    ("value", "true"),
    [(-1.0, 1.0), (1.0, -1.0), (-2.5, 2.5), (-1e-300, 1e-300), (5e-324, -5e-324), (-1.0, 0.5), (3.0, -1e-10)],
)
def test_ulps_of_a_value_with_the_wrong_sign_is_the_whole_distance(value, true):
    # a backend that flips a sign is as far off as |value - true| says, not "exact" because |value| == |true|
    expected = exact_ulps(value, true, math.ulp(true))
    assert dtypes.ulps(value, true) == expected
    assert expected > 2**50 or abs(true) < 1e-290  # 2**53 for -1 against 1


def test_ulps_of_minus_one_against_one_is_two_to_the_53rd_in_float64_and_24th_in_float32():
    assert dtypes.ulps(-1.0, 1.0) == float(Fraction(2) / Fraction(2.0**-52)) == 2.0**53
    assert dtypes.ulps(-1.0, 1.0, "float32") == 2.0**24


@given(value=finite64, true=finite64)
@example(value=-1.0, true=1.0)
@example(value=1.0, true=-1.0)
@example(value=-0.0, true=0.0)  # the same number: 0 ulps
@example(value=1.0000000000000002, true=1.0)
@example(value=0.9999999999999999, true=1.0)  # below a power of two: half the spacing above, measured above
def test_ulps_in_float64_is_the_exact_distance_over_the_truths_ulp(value, true):
    assert dtypes.ulps(value, true) == exact_ulps(value, true, math.ulp(true))


@given(value=finite64, true=in_float32_range)
@example(value=0.0, true=3.402823364973241e38)  # rounds to float32's largest: its ulp is 2**104
@example(value=-1.0, true=1.0)
@example(value=1.0 + 2.0**-23, true=1.0)
@example(value=0.0, true=1.401298464324817e-45)  # the smallest float32 subnormal
def test_ulps_in_float32_is_the_distance_over_float32s_spacing(value, true):
    with np.errstate(over="ignore"):
        true32 = float(np.float32(true))  # a float32 truth (an overflow to inf is judged as such)
    got = dtypes.ulps(value, true32, "float32")
    if math.isinf(true32):
        assert got == (0.0 if value == true32 else math.inf)
    else:
        assert got == exact_ulps(value, true32, ulp32(true32))


def test_ulps_of_nan_infinity_and_a_missing_truth():
    inf, nan = math.inf, math.nan
    assert dtypes.ulps(nan, nan) == 0.0 and dtypes.ulps(inf, inf) == 0.0 and dtypes.ulps(-inf, -inf) == 0.0
    assert dtypes.ulps(nan, 1.0) == inf and dtypes.ulps(1.0, nan) == inf
    assert dtypes.ulps(inf, -inf) == inf and dtypes.ulps(-inf, inf) == inf
    assert dtypes.ulps(inf, 1e308) == inf and dtypes.ulps(1e308, inf) == inf
    assert dtypes.ulps(1.0, None) is None and dtypes.ulps(nan, None, "float32") is None


def test_ulps_beyond_the_float_range_is_inf():
    assert dtypes.ulps(1e300, 0.0) == math.inf  # 1e300 / 5e-324 does not fit in a float
    assert dtypes.ulps(-1e300, 1e300) == exact_ulps(-1e300, 1e300, math.ulp(1e300))  # 2e300 / ulp(1e300) does


# --- ulp and round_to against numpy's float32 ---


@given(value=finite64)
@example(value=0.0)
@example(value=-0.0)
@example(value=5e-324)
@example(value=1.0)
@example(value=-1.0)
@example(value=2.0**-1022)
def test_ulp_in_float64_is_maths(value):
    assert dtypes.ulp(value, "float64") == math.ulp(abs(value))


@given(value=st.floats(min_value=-3.4e38, max_value=3.4e38))
@example(value=0.0)
@example(value=1.0)
@example(value=-1.0)
@example(value=2.0**-126)  # the smallest normal float32
@example(value=2.0**-127)  # a subnormal: spacing 2**-149
@example(value=1.401298464324817e-45)
@example(value=3.4028234663852886e38)  # float32's largest
def test_ulp_in_float32_is_numpys_spacing(value):
    value32 = float(np.float32(value))
    assert dtypes.ulp(value32, "float32") == ulp32(value32)


@given(value=st.floats(allow_nan=False))
@example(value=1.0 + 2.0**-24)  # a tie: to even, 1.0
@example(value=1.0 + 3 * 2.0**-24)  # a tie: to even, 1 + 2**-22
@example(value=-(1.0 + 2.0**-24))
@example(value=3.4028235677973366e38)  # just below the halfway point to 2**128: float32's largest
@example(value=3.4028235677973366e38 * (1 + 2.0**-52))  # past the halfway point: inf
@example(value=-3.5e38)
@example(value=1.7976930812868855e308)  # near float64's largest: scaling it back overflowed (OverflowError, not inf)
@example(value=-1.7976931348623157e308)
@example(value=2.0**-150)  # half the smallest subnormal, a tie: to even, 0
@example(value=3 * 2.0**-151)  # 0.75 of it: the smallest subnormal
@example(value=1e-46)
@example(value=-1e-46)
@example(value=math.inf)
@example(value=-math.inf)
def test_round_to_float32_is_numpys_conversion(value):
    with np.errstate(over="ignore"):
        expected = float(np.float32(value))
    got = dtypes.round_to(value, "float32")
    assert got == expected and math.copysign(1.0, got) == math.copysign(1.0, expected)


def test_round_to_float64_and_nan_change_nothing():
    assert dtypes.round_to(0.1, "float64") == 0.1 and math.isnan(dtypes.round_to(math.nan, "float32"))
    assert dtypes.round_to(1e300, "float64") == 1e300


@pytest.mark.parametrize(
    "function", [lambda d: dtypes.round_to(1.0, d), lambda d: dtypes.ulp(1.0, d), lambda d: dtypes.ulp(0.0, d)]
)
def test_an_unknown_dtype_is_refused_with_the_choices(function):
    with pytest.raises(ValueError, match=r"unknown dtype 'float16'; choose float64 or float32"):
        function("float16")
    assert dtypes.check("float32") == "float32" and dtypes.check("float64") == "float64"


# --- noise_ulps ---


@pytest.mark.parametrize(("true", "noise"), [(1.0, 2.0**-52), (3.0, 1e-16), (-7.5, 4e-15), (1e-30, 1e-46)])
def test_noise_ulps_scales_float64_noise_to_float32_roundings(true, noise):
    # float32's roundings are 2**29 times float64's; measured in ulps of the truth rounded to float32
    assert dtypes.noise_ulps(noise, true, "float64") == noise / math.ulp(true)
    assert dtypes.noise_ulps(noise, true, "float32") == noise * 2.0**29 / ulp32(true)


def test_noise_ulps_is_in_float64_unless_told():
    assert dtypes.noise_ulps(3 * 2.0**-52, 1.0) == 3.0 and dtypes.ulps(1.0 + 2.0**-51, 1.0) == 2.0


def test_noise_ulps_is_zero_where_the_truth_overflows_float32():
    assert dtypes.noise_ulps(1.0, 1e39, "float32") == 0.0
    assert dtypes.noise_ulps(1.0, 1e39, "float64") == 1.0 / math.ulp(1e39)


def test_ulps_at_exactly_the_largest_float_is_that_float() -> None:
    """A distance of exactly float64's largest number is still a number; only beyond it is inf."""
    value = math.ldexp(sys.float_info.max, -1074)  # (2**1024 - 2**971) * 2**-1074: exact, a normal float
    assert dtypes.ulps(value, 0.0) == sys.float_info.max
    assert dtypes.ulps(math.nextafter(value, 1.0), 0.0) == math.inf


# --- literals_in: the program as a float32 run has it ---


def test_literals_in_rounds_each_literal_to_float32_and_keeps_the_rest() -> None:
    expr = parse("y = x * 0.1\ny + 1e-50 - 0.5")
    rounded = dtypes.literals_in(expr, "float32")
    assert rounded.source == expr.source and rounded.inputs == expr.inputs
    expected = [Node(n.op, n.args, float(np.float32(n.value)), n.name) if n.op == "const" else n for n in expr.nodes]
    assert list(rounded.nodes) == expected
    assert [n.value for n in rounded.nodes if n.op == "const"] == [float(np.float32(0.1)), 0.0, 0.5]
    assert float(np.float32(0.1)) != 0.1  # the test would show nothing if 0.1 were a float32


def test_literals_in_float64_or_without_literals_is_the_same_program() -> None:
    with_literal, without = parse("x * 0.1"), parse("x * y")
    assert dtypes.literals_in(with_literal, "float64") is with_literal
    assert dtypes.literals_in(without, "float32") is without


def test_a_literal_beyond_float32s_range_is_refused_with_what_to_do() -> None:
    with pytest.raises(ValueError) as refused:
        dtypes.literals_in(parse("x * 0.5 + 1e39"), "float32")
    assert str(refused.value) == "the literal 1e+39 is beyond float32's range; write a smaller one, or compute in float64"
