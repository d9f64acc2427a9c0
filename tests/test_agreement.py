"""comparisons.judge.agreement's helpers against independent values: the cancellation scales against the certified
truth's gradients (on expressions where every input reaches the output along one path, the sum over paths of
|product of local derivatives| is |df/dx| itself), the value's scale against the sum written out by hand, the
finite-difference note and the quantity labels."""

from __future__ import annotations

import math

import pytest

from backends import parse
from comparisons.judge.agreement import (
    FD_MAX_INPUTS,
    GRAD_ATOL,
    _forward,
    cancellation_scales,
    close,
    fd_note,
    finite_differences,
    finite_differences_with_bounds,
    quantity_label,
)
from comparisons.judge.truth import truth

# each input on one path to the output, every op of the language in both argument positions
ONE_PATH = [
    ("x + y", {"x": 1.25, "y": -0.75}),
    ("x - y", {"x": 1.25, "y": -0.75}),
    ("x * y", {"x": 1.25, "y": -0.75}),
    ("x / y", {"x": 1.25, "y": -0.75}),
    ("x ** y", {"x": 1.7, "y": 0.6}),
    ("x ** 2.5", {"x": 1.7}),
    ("2.5 ** x", {"x": 0.3}),
    ("-x", {"x": 1.25}),
    ("relu(x)", {"x": 0.3}),
    ("relu(x) + y", {"x": -0.3, "y": 2.0}),
    ("tanh(x)", {"x": 0.7}),
    ("exp(x)", {"x": 0.7}),
    ("log(x)", {"x": 0.7}),
    ("sigmoid(x)", {"x": 0.7}),
    ("tanh(log(x) * y)", {"x": 2.0, "y": 0.5}),
    ("exp(x) * (y - sigmoid(z))", {"x": 0.5, "y": 2.0, "z": -1.0}),
]


@pytest.mark.parametrize(("source", "inputs"), ONE_PATH, ids=[source for source, _ in ONE_PATH])
def test_a_gradients_scale_on_one_path_is_the_gradients_magnitude(source, inputs):
    scales = cancellation_scales(parse(source), inputs)
    exact = truth(source, inputs)
    for name in inputs:
        expected = abs(exact.grads[name].value)
        assert math.isclose(scales[f"grad:{name}"], expected, rel_tol=1e-12, abs_tol=1e-300), (name, scales)


def test_the_values_scale_sums_every_computed_node_times_its_reach():
    """tanh(log(x) * y): |log x| * |y| * (1 - t^2) + |log(x) * y| * (1 - t^2) + |t|, with t = tanh(log(x) * y);
    the inputs themselves are not computed, so not in the sum."""
    x, y = 2.0, 0.5
    t = math.tanh(math.log(x) * y)
    expected = abs(math.log(x)) * abs(y) * (1 - t * t) + abs(math.log(x) * y) * (1 - t * t) + abs(t)
    scales = cancellation_scales(parse("tanh(log(x) * y)"), {"x": x, "y": y})
    assert math.isclose(scales["value"], expected, rel_tol=1e-12)
    assert cancellation_scales(parse("x + y"), {"x": 1.25, "y": -0.75})["value"] == 0.5  # |x + y| alone


def test_fd_note_speaks_only_past_the_limit():
    few = parse(" + ".join(f"v{k}" for k in range(FD_MAX_INPUTS)))
    many = parse(" + ".join(f"v{k}" for k in range(FD_MAX_INPUTS + 1)))
    assert fd_note(few) == ""
    assert fd_note(many) == (
        f"finite differences skipped: {FD_MAX_INPUTS + 1} inputs, more than {FD_MAX_INPUTS} (they are information "
        "only; the verdicts come from micrograd and the truth)"
    )


def test_finite_differences_take_a_string_or_an_expression_and_the_step():
    """The same estimates from the source text and from the parsed expression; the step given is the one used (a
    quadratic's central difference is exact at any step, a cubic's off by step**2)."""
    inputs = {"x": 1.5}
    assert finite_differences("x * x", inputs) == finite_differences(parse("x * x"), inputs)
    assert math.isclose(finite_differences("x * x", inputs)["x"], 3.0, rel_tol=1e-9)
    coarse, fine = (finite_differences("x * x * x", inputs, step=step)["x"] for step in (0.5, 1e-3))
    assert math.isclose(fine, 6.75, rel_tol=1e-6)
    assert coarse != fine


def test_quantity_labels():
    assert quantity_label("value") == "value"
    assert quantity_label("grad:x") == "d/dx" and quantity_label("grad:value") == "d/dvalue"


def test_constants_are_not_in_the_values_scale():
    """x * 3.0 + 1.0: the computed nodes are the product and the sum, |3x| + |3x + 1|; the constants 3.0 and 1.0 are
    not computed, so not in it."""
    x = -0.75
    scales = cancellation_scales(parse("x * 3.0 + 1.0"), {"x": x})
    assert scales["value"] == abs(3 * x) + abs(3 * x + 1)
    assert scales["grad:x"] == 3.0


def test_errors_are_absolute_and_relative_and_zero_for_the_same_nan_or_infinity():
    from comparisons.judge.agreement import errors

    assert errors(1.5, 1.0) == (0.5, 0.5)
    assert errors(-1.0, 0.0) == (1.0, math.inf)
    assert errors(math.nan, math.nan) == (0.0, 0.0)
    assert errors(math.inf, math.inf) == (0.0, 0.0)
    assert all(math.isnan(e) for e in errors(1.0, math.nan))
    assert all(math.isnan(e) for e in errors(math.nan, 1.0))


def test_finite_differences_run_up_to_the_input_limit_and_stop_past_it():
    """FD_MAX_INPUTS inputs still get estimates (each d/dv_k of a sum is 1 up to the estimate's error bound); one more
    gets none. The bound is taken around the expression's own value (the last node)."""
    from comparisons.judge.agreement import finite_differences_with_bounds

    at_limit = parse(" + ".join(f"{k + 1}.0 * v{k}" for k in range(FD_MAX_INPUTS)))
    estimates, bounds = finite_differences_with_bounds(at_limit, {f"v{k}": 0.5 for k in range(FD_MAX_INPUTS)})
    assert len(estimates) == FD_MAX_INPUTS
    for k in range(FD_MAX_INPUTS):
        assert abs(estimates[f"v{k}"] - (k + 1)) <= bounds[f"v{k}"] + 1e-6 * (k + 1), (k, estimates[f"v{k}"])
    past = parse(" + ".join(f"v{k}" for k in range(FD_MAX_INPUTS + 1)))
    assert finite_differences_with_bounds(past, {f"v{k}": 0.5 for k in range(FD_MAX_INPUTS + 1)}) == ({}, {})


def test_close_includes_its_tolerance_and_nan_agrees_only_with_nan() -> None:
    assert close(0.0, GRAD_ATOL) and not close(0.0, 2 * GRAD_ATOL)  # |a - b| <= atol: the bound itself is close
    assert close(0.0, 1e-6, rtol=0.0, atol=1e-6) and not close(0.0, math.nextafter(1e-6, 1.0), rtol=0.0, atol=1e-6)
    assert close(math.nan, math.nan) and not close(math.nan, 1.0) and not close(1.0, math.nan)
    assert close(math.inf, math.inf) and not close(math.inf, -math.inf) and not close(math.inf, 1e308)


def test_the_branch_taken_at_each_kink_pole_and_domain_edge() -> None:
    """relu and log decide on their argument, a division on its divisor, a power on its base (positive or not)."""
    expr = parse("relu(x) + log(y) + x / z + y ** w")
    value, branches = _forward(expr, {"x": 0.0, "y": 0.5, "z": 3.0, "w": -0.5})
    assert branches == (False, True, True, True)  # relu at 0 is the flat side; 0.5 > 0; the divisor 3 > 0; base > 0
    assert value == 0.0 + math.log(0.5) + 0.0 / 3.0 + 0.5**-0.5
    _, branches = _forward(expr, {"x": -1.0, "y": 2.0, "z": -3.0, "w": 2.0})
    assert branches == (False, True, False, True)  # the divisor's sign, not the numerator's


def test_relus_slope_at_its_kink_counts_as_zero_in_the_scale() -> None:
    # d/dx (relu(x) - x) at 0: relu' is 0 there (micrograd's choice), so nothing cancels: the scale is |-1| = 1
    assert cancellation_scales(parse("relu(x) - x"), {"x": 0.0})["grad:x"] == 1.0


FD_CASES = [
    ("tanh(x) * y", {"x": 0.3, "y": 2.0}),
    ("exp(x) / (1 + x * x)", {"x": 1.7}),
    ("log(x) * x ** 3", {"x": 2.5}),
    ("sigmoid(x * y) - x", {"x": -1.2, "y": 0.7}),
    ("(x + 100000000) - 100000000", {"x": 0.5}),  # rounding noise of 1e8's ulp: the bound must cover it
    ("x ** 2.5 + relu(x - 1)", {"x": 3.0}),
    ("1 / (x - 1)", {"x": 1.001}),  # near a pole: steps must not cross it
    ("exp(x) - 1", {"x": 1e-8}),
]


@pytest.mark.parametrize(("source", "point"), FD_CASES)
def test_finite_differences_hold_the_certified_gradient_within_a_useful_bound(source: str, point: dict[str, float]) -> None:
    """The estimate is within its bound of the certified truth's gradient, and the bound is tight enough to mean
    something: under a thousandth of the gradient (or of 1). Every number `grad` prints, finite differences too."""
    expr = parse(source)
    estimates, bounds = finite_differences_with_bounds(expr, point)
    exact = truth(expr, point)
    for name in point:
        g = exact.grads[name].value
        assert g is not None and abs(estimates[name] - g) <= bounds[name], (name, estimates[name], g, bounds[name])
        assert bounds[name] <= 1e-3 * max(1.0, abs(g)), (name, bounds[name], g)
