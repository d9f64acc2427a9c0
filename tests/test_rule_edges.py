"""The divergence rules at their edges: tests/test_rules.py pins each rule by a situation it describes; here a rule
must also NOT describe the situation just outside what its explanation says (found by mutation testing: a predicate
loosened, or a threshold moved, passed every pin)."""

from __future__ import annotations

import math
import sys
import warnings

import numpy as np
import pytest

from backends import parse
from comparisons.judge import rules
from comparisons.judge.rules import RULES, Situation, explain_error

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


# d(a/b)/db = -a/b**2 is out of range where b*b underflows or overflows, or 1/b**2 underflows: |b| below
# sqrt(smallest normal), or above the smaller of sqrt(largest) and 1/sqrt(smallest normal)
@pytest.mark.parametrize(
    ("y", "dtype", "described"),
    [
        (1e-155, "float64", True),  # below sqrt(2.2e-308) = 1.49e-154
        (-1e-155, "float64", True),
        (1e-153, "float64", False),
        (1e-100, "float64", False),
        (1e154, "float64", True),  # above 1/1.49e-154 = 6.7e153
        (5e153, "float64", False),  # below 6.7e153 (and below sqrt(1.8e308) = 1.34e154)
        (1e-20, "float32", True),  # below sqrt(1.18e-38) = 1.08e-19
        (1e-18, "float32", False),
        (1e-20, "float64", False),  # the same divisor is fine in float64
        (1e19, "float32", True),  # above 1/1.08e-19 = 9.2e18
        (5e18, "float32", False),
    ],
)
def test_division_gradient_out_of_range_is_about_the_divisors_square(y, dtype, described):
    assert matches("division_gradient_out_of_range", "x / y", {"x": 1.0, "y": y}, "jax", "grad:y", INF, dtype) is described


# y * x**(y - 1): the rounding of y - 1 (an ulp of it) times |log x| matters where it exceeds 2**-52; and a negative
# base's integer exponent so large that y - 1 rounds back to y (2**53 in float64, 2**24 in float32) loses the parity
@pytest.mark.parametrize(
    ("x", "y", "dtype", "described"),
    [
        (0.41, -31.8, "float64", True),  # ulp(-32.8) = 2**-47, |log 0.41| = 0.89
        (3.0, 2.5, "float64", True),  # ulp(1.5) = 2**-52, log 3 = 1.099 > 1
        (2.0, 2.5, "float64", False),  # log 2 = 0.693 < 1
        (1.5, 0.5, "float64", False),  # ulp(-0.5) = 2**-53
        (3.0, 2.0, "float64", False),  # an integer exponent on a positive base: y - 1 is exact
        (-3.0, 2.5, "float64", False),  # a negative base with a fractional exponent: nan, not this rule
        (0.0, 2.5, "float64", False),
        (-1.0, 2.0**53, "float64", True),
        (-1.0, -(2.0**53), "float64", True),
        (-1.0, 2.0**52, "float64", False),  # 2**52 - 1 is exact
        (-1.0, 2.0**24, "float32", True),
        (-1.0, 2.0**24, "float64", False),
        (-1.0, 2.0**23, "float32", False),
        (1.0, 2.0**53, "float64", False),  # a positive base: the parity does not matter
        (0.5, 2.0**53, "float64", False),
        (0.0, 2.0**53, "float64", False),  # nor at 0
    ],
)
def test_pow_derivative_rounds_exponent_at_its_edges(x, y, dtype, described):
    assert matches("pow_derivative_rounds_exponent", "x ** y", {"x": x, "y": y}, "torch", "grad:x", 1.0, dtype) is described


def test_pow_derivative_rounds_exponent_looks_at_every_power():
    # the first power is harmless, the second is not
    two = "t0 = x ** 2.0; t0 * (z ** y)"
    assert matches("pow_derivative_rounds_exponent", two, {"x": 1.5, "z": 0.41, "y": -31.8}, "torch", "grad:x", 1.0, "float64")


@pytest.mark.parametrize(
    ("source", "inputs", "backend", "error", "expected"),
    [
        ("x ** 1e300", {"x": 1.5}, "tinygrad", "KeyError: UOp(Ops.MUL, ...)", "tinygrad_pow_huge_integer_exponent"),
        ("x ** -1e300", {"x": 1.5}, "tinygrad", "KeyError: 'x'", "tinygrad_pow_huge_integer_exponent"),
        ("x ** y", {"x": 1.5, "y": 2.0**53}, "tinygrad", "KeyError : y", "tinygrad_pow_huge_integer_exponent"),
        ("x ** 4503599627370496", {"x": 1.5}, "tinygrad", "KeyError: 'x'", None),  # 2**52 itself is not beyond it
        ("x ** 1e300", {"x": 1.5}, "jax", "KeyError: 'x'", None),  # another backend
        ("x ** 1e300", {"x": 1.5}, "tinygrad", "ValueError: bad", None),  # another error
        ("x * 1e300", {"x": 1.5}, "tinygrad", "KeyError: 'x'", None),  # no power at all
    ],
)
def test_explain_error_names_the_rule_only_for_its_backend_error_and_situation(source, inputs, backend, error, expected):
    """explain_error: the error rule that fits the backend, the exception's type (the text before the first colon) and
    the expression at its inputs; None when any of the three does not fit. A string and a parsed expression alike."""
    for expr in (source, parse(source)):
        for quantity in ("value", "grad:x"):
            rule = explain_error(expr, inputs, backend, quantity, error)
            assert (rule.name if rule else None) == expected
            if rule:
                assert rule.error == "KeyError" and backend in rule.backends and "2**52" in rule.explanation


# --- node_values without numpy (a plain install: the checker needs none): Python's floats must give what numpy's
# float64 gives, IEEE's specials included, where Python raises instead (x / 0, 0 ** -1, exp(1000), ...) ---

BINARY_OPS = {"add": "x + y", "sub": "x - y", "mul": "x * y", "div": "x / y", "pow": "x ** y"}
UNARY_OPS = {"neg": "-x", "relu": "relu(x)", "tanh": "tanh(x)", "exp": "exp(x)", "log": "log(x)", "sigmoid": "sigmoid(x)"}
EDGE_POINTS = [
    (1.5, 2.25), (-1.5, 0.5), (0.0, 0.0), (-0.0, -1.0), (1.0, 0.0), (-1.0, 0.0), (1.0, -0.0), (0.0, -1.0),
    (-0.0, -3.0), (-0.0, -2.0), (-8.0, 1 / 3), (-2.0, 3.0), (10.0, 400.0), (-10.0, 401.0), (-10.0, 400.0),
    (2.0, -1080.0), (1000.0, 1.0), (-1000.0, 1.0), (-705.0, 1.0), (-710.0, 1.0), (710.0, 2.0), (1e308, 1e308),
    (-1e308, 1e308), (1e200, 1e200), (5e-324, 0.5), (-2.0, INF), (-0.5, INF), (NAN, 0.0), (INF, 0.0), (0.0, INF),
    (INF, -INF), (-INF, 3.0), (-INF, 2.0), (0.5, -1025.0), (-0.5, -1025.0),
]  # fmt: skip


def same_float(a: float, b: float) -> bool:
    """The same float: nan is nan, and 0.0 is not -0.0."""
    return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1.0, a) == math.copysign(1.0, b))


@pytest.mark.parametrize("op", [*BINARY_OPS, *UNARY_OPS])
def test_python_floats_give_numpys_float64_at_every_edge(op: str) -> None:
    """Exactly numpy's number for arithmetic and for every inf, nan and zero; a transcendental function's finite
    value within 4 ulps (the C library's tanh and numpy's may differ in the last bit)."""
    expr = parse({**BINARY_OPS, **UNARY_OPS}[op])
    for x, y in EDGE_POINTS:
        point = {"x": x, "y": y} if op in BINARY_OPS else {"x": x}
        want = rules.node_values(expr, point)[-1]
        got = rules._python_op(op, [x, y] if op in BINARY_OPS else [x])
        transcendental = op in ("tanh", "exp", "log", "sigmoid") and math.isfinite(want) and want != 0
        if transcendental:
            assert abs(got - want) <= 4 * math.ulp(want), (op, x, y, got, want)
        else:
            assert same_float(got, want), (op, x, y, got, want)


def test_python_node_values_follow_the_expressions_nodes() -> None:
    expr = parse("t = x * 0.5\nlog(t) + sigmoid(-t) ** y - relu(-x)")
    point = {"x": 3.0, "y": -2.0}
    assert [n.op for n in expr.nodes][:3] == ["input", "const", "mul"]
    got, want = rules._python_node_values(expr, point), rules.node_values(expr, point)
    assert len(got) == len(want) == len(expr.nodes)
    assert all(math.isclose(g, w, rel_tol=4 * 2.0**-52) for g, w in zip(got, want, strict=True)), (got, want)
    assert got[:3] == [3.0, 0.5, 1.5]


def test_node_values_without_numpy_is_python_in_float64_only(monkeypatch: pytest.MonkeyPatch) -> None:
    expr = parse("x / y")
    monkeypatch.setitem(sys.modules, "numpy", None)  # `import numpy` raises ImportError
    assert same_float(rules.node_values(expr, {"x": -1.0, "y": 0.0})[-1], -INF)
    with pytest.raises(ImportError):
        rules.node_values(expr, {"x": 1.0, "y": 2.0}, "float32")  # float32 needs numpy: no silent float64


def test_an_unknown_operation_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"^unknown operation 'cosh'$"):
        rules._python_op("cosh", [1.0])


# --- the range predicates at their bounds, against what IEEE arithmetic does there ---


def situation(source: str, inputs: dict[str, float], backend: str = "torch", quantity: str = "value",
              dtype: str = "float64") -> Situation:  # fmt: skip
    return Situation(parse(source), inputs, backend, quantity, NAN, None, {}, dtype)


@pytest.mark.parametrize(
    ("divisor", "dtype", "described"),
    [
        (2.0**-511, "float64", False),  # 1/d**2 = 2**1022: in range, and d**2 = 2**-1022 the smallest normal
        (2.0**511, "float64", False),  # 1/d**2 = 2**-1022, still normal
        (math.nextafter(2.0**-511, 0.0), "float64", True),
        (math.nextafter(2.0**511, INF), "float64", True),
        (2.0**-63, "float32", False),
        (2.0**63, "float32", False),
        (2.0**64, "float32", True),
        (1.0, "float64", False),
    ],
)
def test_divisor_squared_out_of_range_at_its_bounds(divisor: float, dtype: str, described: bool) -> None:
    assert rules._divisor_squared_out_of_range(situation("x / y", {"x": 1.0, "y": divisor}, dtype=dtype)) is described
    assert rules._divisor_squared_out_of_range(situation("x / y", {"x": 1.0, "y": -divisor}, dtype=dtype)) is described


@pytest.mark.parametrize(
    ("divisor", "quantity", "described"),
    [
        (1e-309, "value", True),  # 1/1e-309 overflows float64
        (2.0**-1024, "value", True),  # exactly 1/largest: its reciprocal rounds to inf
        (math.nextafter(2.0**-1024, 1.0), "value", False),  # 1.7976931348623143e308
        (1e-308, "value", False),  # 1e308: no overflow
        (1e-200, "value", False),
        (1e-200, "grad:y", True),  # d/dy x/y = -x/y**2: 1e400 overflows
        (2.0**-511, "grad:y", False),  # 1/y**2 = 2**1022: no overflow
        (1e-100, "grad:y", False),
        (0.0, "value", False),  # a division by zero is not a reciprocal that overflows
        (0.0, "grad:y", False),
    ],
)
def test_reciprocal_overflows_for_the_value_and_for_the_gradient(divisor: float, quantity: str, described: bool) -> None:
    assert rules._reciprocal_overflows(situation("x / y", {"x": 1.0, "y": divisor}, quantity=quantity)) is described


@pytest.mark.parametrize(
    ("backend", "quantity", "x", "described"),
    [
        ("micrograd", "grad:x", 1e-309, True),  # micrograd's d/dx log(x) is 1/x: inf
        ("micrograd", "grad:x", 2.0**-1024, True),  # 1/x rounds to inf here too
        ("micrograd", "grad:x", math.nextafter(2.0**-1024, 1.0), False),
        ("micrograd", "grad:x", 1e-308, False),
        ("micrograd", "value", 1e-309, False),  # the value log(1e-309) is fine
        ("torch", "grad:x", 1e-309, False),  # only micrograd computes 1/x there
        ("micrograd", "grad:x", 0.0, False),
    ],
)
def test_reciprocal_overflows_in_micrograds_log_gradient(backend: str, quantity: str, x: float, described: bool) -> None:
    assert rules._reciprocal_overflows(situation("log(x) * 2", {"x": x}, backend, quantity)) is described


@pytest.mark.parametrize("scale", [1.0, 2.0])
@pytest.mark.parametrize("x", [1.0, 354.0, 355.0, 709.0, rules.EXP_OVERFLOW["float64"], 709.79, 1e4])
def test_saturates_is_where_exp_overflows(x: float, scale: float) -> None:
    try:
        overflows = math.isinf(math.exp(scale * x))
    except OverflowError:
        overflows = True
    assert rules._saturates(x, "float64", scale) is overflows
    assert rules._saturates(-x, "float64", scale) is overflows  # |x|
    if scale == 1.0:
        assert rules._saturates(x, "float64") is overflows  # the default scale is 1


def test_sigmoid_tail_is_beyond_two() -> None:
    def tail(x: float) -> bool:
        return rules._sigmoid_tail(situation("sigmoid(x)", {"x": x}, quantity="grad:x"))

    assert [tail(x) for x in (2.0, -2.0, 2.5, -2.5, 1.0)] == [False, False, True, True, False]


def test_explain_error_asks_its_rules_about_this_backend_quantity_and_dtype(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Situation] = []

    def applies(s: Situation) -> bool:
        seen.append(s)
        return True

    monkeypatch.setattr(rules, "ERROR_RULES", (rules.ErrorRule("any", "...", applies, ("torch",), "RuntimeError"),))
    explain_error("x * 2", {"x": 3.0}, "torch", "grad:x", "RuntimeError: boom")
    explain_error("x * 2", {"x": 3.0}, "torch", "value", "RuntimeError: boom", "float32")
    assert [(s.backend, s.quantity, s.truth, s.others, s.dtype, s.inputs) for s in seen] == [
        ("torch", "grad:x", None, {}, "float64", {"x": 3.0}),
        ("torch", "value", None, {}, "float32", {"x": 3.0}),
    ]
    assert all(math.isnan(s.got) for s in seen) and seen[0].values == [3.0, 2.0, 6.0]


def test_explain_error_reads_the_error_type_before_the_first_colon_only() -> None:
    rule = explain_error("x ** 1e300", {"x": 2.0}, "tinygrad", "value", "KeyError: UOp: a message: with colons")
    assert rule is not None and rule.name == "tinygrad_pow_huge_integer_exponent"


@pytest.mark.parametrize(
    ("y", "dtype", "described"),
    [
        (2.0**1000, "float64", False),  # 2**1000 is the bound itself: within 2**24 of float64's 2**1024 means above it
        (1.5 * 2.0**1000, "float64", True),
        (-1.5 * 2.0**1000, "float64", True),
        (1.5 * 2.0**104, "float64", False),
        (2.0**104, "float32", False),
        (1.5 * 2.0**104, "float32", True),
    ],
)
def test_exp_near_the_top_is_within_two_to_the_24_of_overflow(y: float, dtype: str, described: bool) -> None:
    assert rules._exp_near_the_top(situation("exp(x) * y", {"x": 0.0, "y": y}, dtype=dtype)) is described
    assert rules._exp_near_the_top(situation("x + y", {"x": 0.0, "y": y}, dtype=dtype)) is False  # no exp, sigmoid, tanh


def test_log_rounding_is_a_log_of_a_finite_positive_number() -> None:
    def rounding(source: str, x: float) -> bool:
        return rules._log_rounding(situation(source, {"x": x}))

    assert [rounding("log(x)", x) for x in (0.5, 3.0, 0.0, -1.0)] == [True, True, False, False]
    assert rounding("log(exp(x))", 1000.0) is False  # exp(1000) is inf: the log's argument is not finite


def test_reciprocal_overflows_where_python_says_so() -> None:
    """The value's bound against IEEE division itself: 1/d is inf exactly where the predicate says it overflows."""
    d = 2.0**-1024
    for divisor in (math.nextafter(d, 0.0), d, math.nextafter(d, 1.0), math.nextafter(math.nextafter(d, 1.0), 1.0)):
        described = rules._reciprocal_overflows(situation("x / y", {"x": 1.0, "y": divisor}))
        assert described is math.isinf(1.0 / divisor), divisor


@pytest.mark.parametrize(
    ("source", "described"),
    [("exp(x) * exp(y)", True), ("exp(x) / exp(y)", True), ("exp(x) * y", False), ("x * exp(y)", False),
     ("exp(x) + exp(y)", False)],
)  # fmt: skip
def test_exp_product_is_a_product_or_quotient_of_two_exps(source: str, described: bool) -> None:
    assert rules._exp_product(situation(source, {"x": 1.0, "y": 2.0})) is described


@pytest.mark.parametrize(
    ("source", "x", "got", "described"),
    [
        ("tanh(x)", 355.0, NAN, True),  # tanh' = 1/cosh**2: exp(2 * 355) overflows
        ("tanh(x)", 354.0, NAN, False),  # exp(708) does not
        ("tanh(x)", 400.0, 0.0, False),  # only a nan gradient is described
        ("sigmoid(x)", 355.0, NAN, False),  # sigmoid's exp(355) does not overflow
        ("sigmoid(x)", -710.0, NAN, True),
        ("x * 2", 1000.0, NAN, False),  # no tanh or sigmoid
    ],
)
def test_saturated_nan_gradient(source: str, x: float, got: float, described: bool) -> None:
    s = Situation(parse(source), {"x": x}, "tinygrad", "grad:x", got, None, {}, "float64")
    assert rules._saturated_nan_gradient(s) is described


@pytest.mark.parametrize(
    ("source", "depth"),
    [("x + 1", 0), ("tanh(x)", 1), ("sigmoid(sigmoid(x))", 2), ("tanh(sigmoid(x)) + x", 2),
     ("sigmoid(x) * tanh(tanh(tanh(y)))", 3)],
)  # fmt: skip
def test_squashing_depth_counts_the_nested_tanh_and_sigmoid(source: str, depth: int) -> None:
    assert rules._squashing_depth(parse(source)) == depth


def test_tanh_tail_is_beyond_three_quarters() -> None:
    def tail(x: float) -> bool:
        return rules._tanh_tail(situation("tanh(x)", {"x": x}, quantity="grad:x"))

    assert [tail(x) for x in (0.75, -0.75, 0.8, -1.0, 0.5)] == [False, False, True, True, False]


# --- each predicate on the cases just inside and just outside what its rule says (mutation testing found each) ---

CHAIN40 = "tanh(" * 40 + "x" + ")" * 40
CHAIN39 = "tanh(" * 39 + "x" + ")" * 39
LARGEST = 1.7976931348623157e308


def case(predicate: str, source: str, inputs: dict[str, float], described: bool, *, got: float = NAN,
         truth: float | None = None, others: dict[str, float] | None = None, quantity: str = "value",
         dtype: str = "float64") -> object:  # fmt: skip
    situation = (source, inputs, quantity, got, truth, others or {}, dtype)
    return pytest.param(predicate, situation, described, id=f"{predicate}:{source[:30]}:{inputs}:{quantity}:{dtype}")


PREDICATE_CASES = [
    case("_deep_squashing_chain", CHAIN40, {"x": 0.5}, True),  # nan through 40 squashings
    case("_deep_squashing_chain", CHAIN40, {"x": 0.5}, True, got=0.0, truth=1e-30),  # 0 where the truth is not
    case("_deep_squashing_chain", CHAIN40, {"x": 0.5}, False, got=0.0, truth=0.0),
    case("_deep_squashing_chain", CHAIN40, {"x": 0.5}, False, got=0.25, truth=0.25),  # a number: nothing to explain
    case("_deep_squashing_chain", CHAIN39, {"x": 0.5}, False),  # 39 deep: not deep enough
    case("_division_of_division", "(x / y) / z", {"x": 1.0, "y": 2.0, "z": 3.0}, True),
    case("_division_of_division", "x / (y / z)", {"x": 1.0, "y": 2.0, "z": 3.0}, True),
    case("_division_of_division", "(x * y) / z", {"x": 1.0, "y": 2.0, "z": 3.0}, False),
    case("_exp2_rounding", "exp(x)", {"x": 1.5}, True),
    case("_exp2_rounding", "sigmoid(x)", {"x": 1.5}, True),
    case("_exp2_rounding", "tanh(x)", {"x": -1.5}, True),
    case("_exp2_rounding", "exp(x)", {"x": 1.0}, False),  # |x| > 1 only
    case("_exp2_rounding", "x ** y", {"x": 2.0, "y": 2.0}, True),  # an exponent that is not a literal
    case("_exp2_rounding", "x ** 2", {"x": 3.0}, False),  # a whole literal exponent: repeated multiplication
    case("_exp2_rounding", "x ** 0.5", {"x": 2.0}, True),
    case("_exp_near_the_top", "sigmoid(x) * y", {"x": 0.0, "y": 1.5 * 2.0**1000}, True),
    case("_exp_near_the_top", "tanh(x) * y", {"x": 0.0, "y": 1.5 * 2.0**1000}, True),
    case("_log_outside_domain", "log(x)", {"x": 0.5}, False),
    case("_log_outside_domain", "log(x)", {"x": 0.0}, True),
    case("_log_outside_domain", "log(x)", {"x": -1.0}, True),
    case("_out_of_range_intermediate", "-(x * y)", {"x": 1e-200, "y": 1e-200}, True),  # 0 from two nonzero numbers
    case("_out_of_range_intermediate", "-(x / y)", {"x": 1e-200, "y": 1e200}, True),
    case("_out_of_range_intermediate", "-exp(x)", {"x": -1000.0}, True),
    case("_out_of_range_intermediate", "-(x ** y)", {"x": 1e-200, "y": 2.0}, True),
    case("_out_of_range_intermediate", "-sigmoid(x)", {"x": -1000.0}, True),
    case("_out_of_range_intermediate", "-(x * y)", {"x": 0.0, "y": 5.0}, False),  # 0 from a 0: no underflow
    case("_out_of_range_intermediate", "x * y", {"x": 1e-200, "y": 1e-200}, False),  # the result itself
    case("_out_of_range_intermediate", "exp(x) * 0.0", {"x": 1000.0}, True),  # an intermediate inf
    case("_out_of_range_intermediate", "exp(x) * 0.0", {"x": 10.0}, False),
    case("_overflow_all_agree", "exp(x)", {"x": 1000.0}, True, got=INF, others={"a": INF}),
    case("_overflow_all_agree", "exp(x)", {"x": 1000.0}, False, got=INF, others={"a": 1.0}),
    case("_overflow_all_agree", "exp(x)", {"x": 1.0}, False, got=math.e, others={"a": math.e}),
    case("_reassociated", "(x - 1) + 2", {"x": 1e-17}, True),  # an outer add over an inner sub, both with literals
    case("_reassociated", "(x + 1) - 1", {"x": 1e-17}, True),
    case("_reassociated", "(x + y) - 1", {"x": 1e-17, "y": 1.0}, False),
    case("_reassociated", "(x * 2) - 1", {"x": 1e-17}, False),
    case("_reciprocal_power_overflows", "x ** y", {"x": 10.0, "y": -400.0}, True),  # 10**400 overflows
    case("_reciprocal_power_overflows", "x ** y", {"x": -10.0, "y": -400.0}, True),  # |base|
    case("_reciprocal_power_overflows", "x ** y", {"x": 0.1, "y": -400.0}, True),  # |y log x| counts, x < 1 too
    case("_reciprocal_power_overflows", "x ** y", {"x": 10.0, "y": -300.0}, False),
    case("_reciprocal_power_overflows", "x ** y", {"x": 10.0, "y": -308.0}, False),  # 10**308 does not overflow
    case("_reciprocal_power_overflows", "x ** y", {"x": 10.0, "y": -308.0}, True, quantity="grad:x"),  # y - 1
    case("_reciprocal_power_overflows", "x ** y", {"x": 5e-324, "y": 0.5}, False, quantity="grad:x"),  # -0.5
    case("_reciprocal_power_overflows", "x ** y", {"x": 5e-324, "y": 0.99}, False),  # a positive exponent
    case("_reciprocal_power_overflows", "x ** y", {"x": LARGEST, "y": -1.0}, False),  # exactly log(largest)
    case("_reciprocal_power_overflows", "x ** y", {"x": 0.0, "y": -1.0}, False),  # a zero base: a pole instead
    case("_reciprocal_power_overflows", "x ** y", {"x": 10.0, "y": -39.0}, True, dtype="float32"),
    case("_reciprocal_power_overflows", "x ** y", {"x": 10.0, "y": -38.0}, False, dtype="float32"),
    case("_sigmoid_subnormal", "sigmoid(x)", {"x": -710.0}, True),
    case("_sigmoid_subnormal", "sigmoid(x)", {"x": 710.0}, False),
    case("_sigmoid_subnormal", "sigmoid(x)", {"x": -5.0}, False),
    case("_subnormal_intermediate", "1 * x", {"x": 1e-310}, True),  # the node before the result
    case("_subnormal_intermediate", "x * y", {"x": 1e-160, "y": 1e-160}, False),  # only the result is subnormal
    case("_times_zero", "x * 0", {"x": 2.0}, True),
    case("_times_zero", "0 * x", {"x": 2.0}, True),
    case("_times_zero", "x * y", {"x": 2.0, "y": 0.0}, False),  # an input that is 0 is not a literal 0
    case("_times_zero", "x * 1", {"x": 2.0}, False),
    case("_tinygrad_tanh_near_zero", "tanh(x)", {"x": 0.25}, True),
    case("_tinygrad_tanh_near_zero", "tanh(x)", {"x": -0.25}, True),
    case("_tinygrad_tanh_near_zero", "tanh(x)", {"x": 0.0}, False),
    case("_tinygrad_tanh_near_zero", "tanh(x)", {"x": 0.5}, False),
    case("_tinygrad_tanh_near_zero", "tanh(x)", {"x": 1.0}, False),
]


@pytest.mark.parametrize(("predicate", "situation_args", "described"), PREDICATE_CASES)
def test_each_predicate_at_its_edges(predicate: str, situation_args: tuple, described: bool) -> None:
    source, inputs, quantity, got, truth, others, dtype = situation_args
    s = Situation(parse(source), inputs, "torch", quantity, got, truth, others, dtype)
    assert getattr(rules, predicate)(s) is described


MORE_PREDICATE_CASES = [
    case("_jax_tanh_near_one", "tanh(x)", {"x": 15.0}, False),  # beyond 15 in float64
    case("_jax_tanh_near_one", "tanh(x)", {"x": 15.5}, True),
    case("_jax_tanh_near_one", "tanh(x)", {"x": 7.5}, True, dtype="float32"),  # beyond 7 in float32
    case("_jax_tanh_near_one", "tanh(x)", {"x": 7.0}, False, dtype="float32"),
    case("_reassociated", "(x + 1) - y", {"x": 1e-17, "y": 1.0}, False),  # the outer operation has no literal
]


@pytest.mark.parametrize(("predicate", "situation_args", "described"), MORE_PREDICATE_CASES)
def test_more_predicates_at_their_edges(predicate: str, situation_args: tuple, described: bool) -> None:
    test_each_predicate_at_its_edges(predicate, situation_args, described)


def test_subnormal_is_strictly_below_the_smallest_normal() -> None:
    assert rules._subnormal(1e-310, "float64") and not rules._subnormal(2.2250738585072014e-308, "float64")
    assert rules._subnormal(1e-40, "float32") and not rules._subnormal(1.1754943508222875e-38, "float32")
    assert not rules._subnormal(0.0, "float64")


def test_node_values_round_every_operation_to_the_dtype_and_say_nothing_of_overflow() -> None:
    expr = parse("x * y")
    product32 = float(np.float32(np.float32(0.1) * np.float32(3.0)))
    assert rules.node_values(expr, {"x": 0.1, "y": 3.0}, "float32")[-1] == product32 != 0.1 * 3.0
    assert Situation(expr, {"x": 0.1, "y": 3.0}, "torch", "value", 0.0, None, {}, "float32").values[-1] == product32
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow warning would be an error here
        assert rules.node_values(parse("exp(x) * 0"), {"x": 1000.0})[1] == INF


def test_explain_blames_the_minority_when_got_is_the_majoritys_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """A backend whose number most backends give is explained by the rule that explains every backend that differs
    (asked about each of them, with the rest as its others); when half or more differ, nobody is blamed."""
    asked: list[Situation] = []

    def applies(s: Situation) -> bool:
        asked.append(s)
        return s.got == 2.0

    monkeypatch.setattr(rules, "RULES", (rules.Rule("gives_two", "...", applies),))
    expr = parse("x * 2")  # an Expression, not text
    rule = rules.explain(expr, {"x": 0.5}, "a", "grad:x", 1.0, 1.0, {"b": 2.0, "c": 1.0, "d": 1.0}, "float32")
    assert rule is not None and rule.name == "gives_two"
    b = asked[-1]
    assert (b.backend, b.quantity, b.got, b.truth, b.dtype) == ("b", "grad:x", 2.0, 1.0, "float32")
    assert b.others == {"c": 1.0, "d": 1.0, "a": 1.0} and b.expr is expr
    assert rules.explain(expr, {"x": 0.5}, "a", "grad:x", 1.0, 1.0, {"b": 2.0, "c": 1.0}, "float32") is not None  # 1 of 2
    assert rules.explain(expr, {"x": 0.5}, "a", "grad:x", 1.0, 1.0, {"b": 2.0, "c": 2.0, "d": 1.0}) is None  # 2 of 3
    assert rules.explain(expr, {"x": 0.5}, "a", "grad:x", 1.0, 1.0, {"b": 1.0, "c": 1.0}) is None  # all agree
