"""The divergence rules at their edges: tests/test_rules.py pins each rule by a situation it describes; here a rule
must also NOT describe the situation just outside what its explanation says (found by mutation testing: a predicate
loosened, or a threshold moved, passed every pin)."""

from __future__ import annotations

import math

import pytest

from backends import parse
from comparisons.judge.rules import RULES, Situation

BY_NAME = {rule.name: rule for rule in RULES}
INF, NAN = math.inf, math.nan


def matches(rule: str, source: str, inputs: dict[str, float], backend: str, quantity: str, got: float, dtype: str) -> bool:
    return BY_NAME[rule].matches(Situation(parse(source), inputs, backend, quantity, got, None, {}, dtype))


# "A gradient that is inf or nan, in an expression with a value within 2**30 of overflow": 2**994 in float64 (whose
# largest is below 2**1024), 2**98 in float32 (below 2**128). x*0.5: the largest value is x itself.
@pytest.mark.parametrize(
    ("x", "dtype", "got", "described"),
    [
        (1.5 * 2.0**98, "float32", INF, True),  # between 2**98 and 2**99
        (1.5 * 2.0**98, "float32", NAN, True),
        (1.5 * 2.0**98, "float32", 1.0, False),  # a finite gradient is nothing to explain
        (1000.0, "float32", INF, False),  # far from float32's top
        (1.5 * 2.0**98, "float64", INF, False),  # far from float64's top
        (1.5 * 2.0**994, "float64", INF, True),  # between 2**994 and 2**995
        (-1.5 * 2.0**994, "float64", -INF, True),  # the magnitude counts
        (1e6, "float64", INF, False),
    ],
)
def test_backward_overflow_is_about_values_within_2_to_the_30_of_the_top(x, dtype, got, described):
    assert matches("backward_overflow_near_the_top", "x * 0.5", {"x": x}, "jax", "grad:x", got, dtype) is described


def test_backward_overflow_looks_at_finite_values_only():
    # an inf value is not "near the top": with nothing else large, the rule does not describe the inf gradient
    assert not matches("backward_overflow_near_the_top", "x * 0.5", {"x": INF}, "jax", "grad:x", INF, "float64")


# micrograd's relu'(x) at x <= 0 is 0, and 0 * inf is nan: the rule is about a nan gradient through a relu at or
# below 0, nothing else
@pytest.mark.parametrize(
    ("x", "got", "described"),
    [
        (-0.0, NAN, True),
        (-1.0, NAN, True),
        (0.0, NAN, True),
        (-1.0, 0.0, False),  # a number, not nan
        (0.5, NAN, False),  # relu is the identity there: its argument is above 0
        (2.0, NAN, False),
    ],
)
def test_micrograd_relu_times_inf_is_a_nan_through_a_closed_relu(x, got, described):
    assert matches("micrograd_relu_times_inf", "1/relu(x)", {"x": x}, "micrograd", "grad:x", got, "float64") is described
