"""The divergence rules: every catalogued divergence is described by one, every rule is pinned by a situation it
describes, and the five findings of the fuzzing issue are measured on the real backends and explained."""

from __future__ import annotations

import math

import pytest

from comparisons.judge import dtypes
from comparisons.judge.catalog import DIVERGENCES, FLOAT32_DIVERGENCES, same_number
from comparisons.judge.rules import RULES, explain
from comparisons.judge.truth import truth
from tests.conftest import require_backend

NAN, INF = math.nan, math.inf
BY_NAME = {rule.name: rule for rule in RULES}


@pytest.mark.parametrize("entry", DIVERGENCES, ids=lambda d: f"{d.name}-{d.quantity}")
def test_every_catalogued_divergence_is_matched_by_a_rule(entry):
    exact = truth(entry.source, entry.inputs).quantities[entry.quantity].value
    named = set()
    for backend, got in entry.gives.items():
        others = {k: v for k, v in entry.gives.items() if k != backend}
        rule = explain(entry.source, entry.inputs, backend, entry.quantity, got, exact, others)
        if rule is not None:
            named.update(rule.catalog)
    assert entry.name in named, f"no rule names the catalog entry {entry.name} ({entry.quantity}); rules gave {named}"


@pytest.mark.parametrize("entry", FLOAT32_DIVERGENCES, ids=lambda d: d.name)
def test_every_float32_divergence_is_measured_and_matched_by_a_rule(entry):
    assert entry.dtype == "float32" and set(entry.gives) == {"torch", "jax", "tinygrad"}
    assert all(dtypes.round_to(v, "float32") == v for v in entry.inputs.values()), "inputs must be float32 numbers"
    exact = dtypes.round_to(truth(entry.source, entry.inputs).quantities[entry.quantity].value, "float32")
    named = set()
    for backend, documented in entry.gives.items():
        result = require_backend(backend).value_and_grad(entry.source, entry.inputs, "float32")
        live = result.value if entry.quantity == "value" else result.grads[entry.quantity.removeprefix("grad:")]
        assert same_number(live, documented), f"{entry.name}: {backend}={live!r} | documented={documented!r}"
        others = {k: v for k, v in entry.gives.items() if k != backend}
        rule = explain(entry.source, entry.inputs, backend, entry.quantity, live, exact, others, "float32")
        named.update(rule.catalog if rule else ())
    assert entry.name in named


# (rule, source, inputs, backend, quantity, got, others): a situation each rule describes, with measured numbers
PINS = [
    ("tinygrad_deep_chain_gradient_float32", "\n".join(["t0 = tanh(x)", *(f"t{k} = tanh(1.5*t{k - 1})" for k in range(1, 40)),
     "t39"]), {"x": 0.4}, "tinygrad", "grad:x", 0.0, {"torch": 2.464847877059885e-15, "jax": 2.464861429587041e-15}),
    ("tinygrad_tanh_near_zero", "tanh(x)/x", {"x": 1e-12}, "tinygrad", "value", 1.000088900582341,
     {"micrograd": 1.0, "torch": 1.0, "jax": 1.0}),
    ("tinygrad_saturated_nan_gradient", "x/tanh(x)", {"x": -82076.0}, "tinygrad", "grad:x", NAN,
     {"micrograd": -1.0, "torch": -1.0, "jax": -1.0}),
    ("jax_tanh_near_one", "log(tanh(y))", {"y": 19.0}, "jax", "value", -7.771561172376099e-16,
     {"micrograd": -1.1102230246251565e-16, "torch": -1.1102230246251565e-16, "tinygrad": 0.0}),
    ("sigmoid_underflows_early", "sigmoid(z)", {"z": -710.0}, "torch", "value", 0.0,
     {"micrograd": 4.47628622567513e-309, "jax": 0.0, "tinygrad": 0.0}),
    ("xla_log_of_pow", "log(x**y)", {"x": 3.0, "y": 1000.0}, "jax", "value", 1098.6122886681098,
     {"micrograd": INF, "torch": INF, "tinygrad": INF}),
    ("xla_log_of_exp", "log(exp(x))", {"x": 1000.0}, "jax", "value", 1000.0,
     {"micrograd": INF, "torch": INF, "tinygrad": INF}),
    ("tinygrad_log_of_exp_gradient", "log(exp(x))", {"x": 1000.0}, "tinygrad", "grad:x", 1.0,
     {"micrograd": NAN, "torch": NAN, "jax": 1.0}),
    ("xla_pow_of_exp", "exp(x)**3", {"x": -25.9}, "jax", "value", 1.8001917046195943e-34,
     {"micrograd": 1.8001917046195815e-34, "torch": 1.8001917046195815e-34, "tinygrad": 1.800191704619586e-34}),
    ("xla_reassociates_division", "t0 = x / x; t0 / t0", {"x": 1e-157}, "jax", "value", NAN,
     {"micrograd": 0.9999999999999999, "torch": 1.0, "tinygrad": 1.0}),
    ("xla_combines_exp_products", "exp(x)*exp(-x)", {"x": 1000.0}, "jax", "value", 1.0,
     {"micrograd": NAN, "torch": NAN, "tinygrad": NAN}),
    ("tinygrad_simplifies_same_operands", "exp(x) - exp(x)", {"x": 1000.0}, "tinygrad", "value", 0.0,
     {"micrograd": NAN, "torch": NAN, "jax": NAN}),
    ("tinygrad_simplifies_times_zero", "0*log(x)", {"x": -1.0}, "tinygrad", "value", 0.0,
     {"micrograd": NAN, "torch": NAN, "jax": NAN}),
    ("reassociated_constants", "(x + 1) - 1", {"x": 1e-17}, "jax", "value", 1e-17,
     {"micrograd": 0.0, "torch": 0.0, "tinygrad": 1e-17}),
    ("jax_flushes_subnormals", "relu(x)", {"x": 1e-320}, "jax", "value", 0.0,
     {"micrograd": 1e-320, "torch": 1e-320, "tinygrad": 1e-320}),
    ("torch_relu_keeps_negative_zero", "1/relu(x)", {"x": -0.0}, "torch", "value", -INF,
     {"micrograd": INF, "jax": INF, "tinygrad": INF}),
    ("micrograd_relu_times_inf", "1/relu(x)", {"x": -0.0}, "micrograd", "grad:x", NAN,
     {"torch": 0.0, "jax": 0.0, "tinygrad": 0.0}),
    ("relu_of_nan", "relu(log(x))", {"x": -1.0}, "torch", "value", NAN,
     {"micrograd": 0.0, "jax": NAN, "tinygrad": 0.0}),
    ("relu_kink", "relu(x)", {"x": 0.0}, "jax", "grad:x", 0.0, {"micrograd": 0.0, "torch": 0.0, "tinygrad": 0.0}),
    ("pow_negative_zero_base", "x**-0.5", {"x": -0.0}, "torch", "value", -INF,
     {"micrograd": INF, "jax": INF, "tinygrad": INF}),
    ("pow_at_zero_base", "x**y", {"x": 0.0, "y": 0.0}, "jax", "grad:x", NAN,
     {"micrograd": 0.0, "torch": 0.0, "tinygrad": 0.0}),
    ("log_outside_domain", "log(x)", {"x": -1.0}, "torch", "grad:x", -1.0,
     {"micrograd": -1.0, "jax": -1.0, "tinygrad": -1.0}),
    ("tinygrad_exp2_rounding", "exp(x)", {"x": 702.6288842955058}, "tinygrad", "value", 6.3e304,
     {"micrograd": 6.2e304, "torch": 6.2e304, "jax": 6.2e304}),
    ("tinygrad_exp_overflows_near_the_top", "exp(x)/(y + y)", {"x": 1.0, "y": -1.495577383445383e-308}, "tinygrad",
     "value", -INF, {"micrograd": -9.087733802837072e307, "torch": -9.087733802837072e307, "jax": -INF}),
    ("tinygrad_log2_rounding", "log(x)", {"x": 1.0001}, "tinygrad", "value", 9.99950003333e-05,
     {"micrograd": 9.9995000333308e-05, "torch": 9.9995000333308e-05, "jax": 9.9995000333308e-05}),
    ("tanh_tail_derivative", "tanh(x)", {"x": 10.0}, "jax", "grad:x", 8.244614751677581e-09,
     {"micrograd": 8.244614546626394e-09, "torch": 8.244614529632978e-09, "tinygrad": 8.244614751677581e-09}),
    ("sigmoid_tail_derivative", "sigmoid(x)", {"x": 25.0}, "torch", "grad:x", 1.3888001859448131e-11,
     {"micrograd": 1.3e-11, "jax": 1.3e-11, "tinygrad": 1.3e-11}),
    ("divides_by_reciprocal", "x / y", {"x": 1e-10, "y": 1e-310}, "tinygrad", "value", INF,
     {"micrograd": 1e300, "torch": 1e300, "jax": 1e300}),
    ("division_gradient_out_of_range", "x / y", {"x": 1e-300, "y": 1e-160}, "jax", "grad:y", -INF,
     {"micrograd": -1e20, "torch": -1e20, "tinygrad": -INF}),
    ("reciprocal_power_out_of_range", "x**-2", {"x": 1e21}, "torch", "value", 0.0,
     {"jax": 1e-42, "tinygrad": 1e-42}),
    ("subnormal_intermediate", "(-50.0) * (y / 1000.0)", {"y": -1.2e-308}, "micrograd", "value", 6.0000000000000e-310,
     {"torch": 6.00000000000001e-310, "jax": 6.00000000000001e-310, "tinygrad": 6.00000000000001e-310}),
    ("out_of_range_intermediate", "exp(x)/exp(x)", {"x": 800.0}, "torch", "value", NAN,
     {"micrograd": NAN, "jax": 1.0, "tinygrad": 1.0}),
    ("pow_derivative_rounds_exponent", "log((x*tanh(z))**x)", {"x": -31.803880571072735, "z": -0.01289488911274494},
     "torch", "grad:x", 0.10860865004306053, {"micrograd": 0.10860865004306053, "jax": 0.1086086500430574}),
    ("backward_overflow_near_the_top", "t0 = x / x; t1 = t0 + t0; t1**1000.0", {"x": 0.007269111100470048}, "jax",
     "grad:x", -INF, {"micrograd": 0.0, "torch": 0.0, "tinygrad": 0.0}),
    ("overflow_all_agree", "exp(x)", {"x": 1000.0}, "torch", "value", INF, {"micrograd": INF, "jax": INF, "tinygrad": INF}),
    ("overflow_times_zero_gradient", "exp(1000 - y**0.0)", {"y": 2.0}, "jax", "grad:y", NAN, {"torch": 0.0}),
]  # fmt: skip


def test_every_rule_is_pinned():
    assert {pin[0] for pin in PINS} == set(BY_NAME)


@pytest.mark.parametrize("pin", PINS, ids=lambda p: p[0])
def test_rule_describes_its_situation(pin):
    name, source, inputs, backend, quantity, got, others = pin
    dtype = "float32" if name in ("reciprocal_power_out_of_range", "tinygrad_deep_chain_gradient_float32") else "float64"
    exact = truth(source, inputs).quantities[quantity].value
    rule = explain(source, inputs, backend, quantity, got, exact, others, dtype)
    assert rule is not None and rule.name == name, f"{source} at {inputs} on {backend}: {rule and rule.name}, not {name}"
    assert rule.explanation


def test_the_deep_chain_rule_is_float32_and_deep_only():
    deep = "\n".join(["t0 = tanh(x)", *(f"t{k} = tanh(1.5*t{k - 1})" for k in range(1, 40)), "t39"])
    exact = truth(deep, {"x": 0.4}).quantities["grad:x"].value
    others = {"torch": exact, "jax": exact}
    name = "tinygrad_deep_chain_gradient_float32"
    assert explain(deep, {"x": 0.4}, "tinygrad", "grad:x", 0.0, exact, others, "float32").name == name
    assert getattr(explain(deep, {"x": 0.4}, "tinygrad", "grad:x", 0.0, exact, others, "float64"), "name", "") != name
    shallow = "tanh(1.5*tanh(x))"
    assert getattr(explain(shallow, {"x": 0.4}, "tinygrad", "grad:x", NAN, 0.8, {"torch": 0.8}, "float32"), "name", "") != name


def test_a_rule_is_about_its_backends_only():
    # tinygrad's tanh near 0 says nothing about torch there
    assert explain("tanh(x)/x", {"x": 1e-12}, "torch", "value", 1.01, 1.0, {"jax": 1.0, "micrograd": 1.0}) is None


def test_the_majority_is_explained_by_the_rule_of_the_backend_that_differs():
    rule = explain("x/x", {"x": 0.0}, "torch", "value", NAN, None, {"micrograd": NAN, "jax": NAN, "tinygrad": 1.0})
    assert rule is not None and rule.name == "tinygrad_simplifies_same_operands"


def test_nothing_explains_a_plain_wrong_number():
    assert explain("x*y + 1", {"x": 1.5, "y": 2.0}, "torch", "value", 4.0001, 4.0, {"jax": 4.0, "tinygrad": 4.0}) is None


# --- the five findings, measured on the real backends ---


def test_tinygrad_tanh_is_inaccurate_near_zero_and_explained():
    tinygrad = require_backend("tinygrad")
    g = tinygrad.value_and_grad("tanh(x)/x", {"x": 1e-12})
    assert abs(g.value - 1) > 1e-5 and abs(g.grads["x"]) > 1e6  # the truth: 1 and 0.0
    assert tinygrad.value_and_grad("tanh(x)", {"x": 1e-20}).value == 0.0
    rule = explain("tanh(x)/x", {"x": 1e-12}, "tinygrad", "value", g.value, 1.0, {"torch": 1.0})
    assert rule is not None and rule.name == "tinygrad_tanh_near_zero"


@pytest.mark.parametrize(
    ("source", "inputs", "value"),
    [("x**(y**z)", {"x": 2.0, "y": 3.0, "z": 2.0}, 512.0), ("x**x**x", {"x": 1.5}, 2.10620335214888)],
)
def test_tinygrad_power_of_a_power_gives_a_number(source, inputs, value):
    got = require_backend("tinygrad").value_and_grad(source, inputs)
    assert got.value == pytest.approx(value, rel=1e-12)
    exact = truth(source, inputs)
    for name, q in exact.grads.items():
        assert got.grads[name] == pytest.approx(q.value, rel=1e-12)


def test_tinygrad_refuses_a_tall_power_tower_before_compiling():
    tinygrad = require_backend("tinygrad")
    with pytest.raises(ValueError, match="tower of 1999 powers"):
        tinygrad.compile(__import__("backends").parse("**".join(["x"] * 2000)))


@pytest.mark.parametrize(("source", "x"), [("x/tanh(x)", -82076.0), ("sigmoid(sigmoid(x))", -1000.0)])
def test_tinygrad_nan_gradient_through_saturated_functions_is_explained(source, x):
    got = require_backend("tinygrad").value_and_grad(source, {"x": x}).grads["x"]
    assert math.isnan(got)
    exact = truth(source, {"x": x}).grads["x"].value
    rule = explain(source, {"x": x}, "tinygrad", "grad:x", got, exact, {"torch": exact})
    assert rule is not None and rule.name == "tinygrad_saturated_nan_gradient"


def test_xla_rewrites_log_of_a_power():
    got = require_backend("jax").value_and_grad("log(x**y)", {"x": 3.0, "y": 1000.0}).value
    assert got == pytest.approx(1000 * math.log(3), rel=1e-15)
    assert require_backend("torch").value_and_grad("log(x**y)", {"x": 3.0, "y": 1000.0}).value == INF
    assert explain("log(x**y)", {"x": 3.0, "y": 1000.0}, "jax", "value", got, None, {"torch": INF}).name == "xla_log_of_pow"


def test_signed_zero_powers():
    torch = require_backend("torch")
    got = torch.value_and_grad("x**-0.5", {"x": -0.0}).value
    assert got == -INF  # IEEE 754 pow(-0, -0.5) is +inf
    rule = explain("x**-0.5", {"x": -0.0}, "torch", "value", got, None, {"jax": INF})
    assert rule is not None and rule.name == "pow_negative_zero_base"
