"""The case catalog: named expressions every backend must differentiate as micrograd does (to GRAD_RTOL), and the
genuine differences between frameworks (DIVERGENCES), each measured by running them, not guessed.

Catalog inputs lie inside every op's domain and away from its kinks, so any disagreement is a bug.
A divergence's `gives` holds what each backend really returns; tests/test_gradients.py pins every entry.
Append only: case names and sources are asv workloads (comparisons/bench_expression.py), compared across commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from backends.expr import Expression, parse
from comparisons.judge.dtypes import round_to

NAN = float("nan")
INF = float("inf")


@dataclass(frozen=True)
class Case:
    """One named expression and the input values it is checked at."""

    name: str
    source: str
    inputs: dict[str, float]
    note: str = ""
    # backends known to be further from the truth here than the formula explains, and the divergence entry that says why
    inaccurate: tuple[str, ...] = ()
    inaccurate_because: str = ""

    @cached_property
    def expression(self) -> Expression:
        return parse(self.source)


def _tanh_chain(depth: int) -> str:
    # each step reads x again, so the gradient also accumulates along `depth` paths
    lines = ["t0 = tanh(x)"]
    lines += [f"t{k} = tanh(1.5*t{k - 1} + 0.25*x)" for k in range(1, depth)]
    return "\n".join([*lines, f"t{depth - 1} * x"])


def _sum_of_terms(count: int, names: int) -> str:
    terms = [f"{(k % 7 + 1) / 8}*x{k % names}*x{(3 * k + 1) % names}" for k in range(count)]
    return " + ".join(terms)


_SANITY_CHECK = """
z = 2*x + 2 + x
q = relu(z) + z*x
h = relu(z*z)
h + q + q*x
"""

_MORE_OPS = """
c = a + b
d = a*b + b**3
c2 = c + c + 1
c3 = c2 + 1 + c2 + (-a)
d2 = d + d*2 + relu(b + a)
d3 = d2 + 3*d2 + relu(b - a)
e = c3 - d3
f = e**2
g = f / 2.0
g + 10.0 / f
"""

_SHARED = """
a = x*y
b = a + a*a
c = b*a + tanh(a) - a/b
d = c*c + b*a + c/a
d + exp(-a*a) + a
"""

CATALOG: tuple[Case, ...] = (
    # every op on its own
    Case("add", "x + y", {"x": 1.25, "y": -0.75}),
    Case("sub", "x - y", {"x": 1.25, "y": -0.75}),
    Case("mul", "x * y", {"x": 1.25, "y": -0.75}),
    Case("div", "x / y", {"x": 1.25, "y": -0.75}),
    Case("neg", "-x", {"x": 1.25}),
    Case("pow_int", "x**3", {"x": -1.5}, "a negative base with an integer exponent"),
    Case("pow_frac", "x**2.5", {"x": 1.7}),
    Case("pow_neg", "x**-1.5", {"x": 0.8}),
    Case("pow_value", "x**y", {"x": 1.7, "y": 0.6}, "a Value exponent: d/dy = log(x) * x**y"),
    Case("relu_pos", "relu(x)", {"x": 0.3}),
    Case("relu_neg", "relu(x) + x", {"x": -0.3}, "relu's gradient is 0 here; + x keeps the expression nonzero"),
    Case("tanh", "tanh(x)", {"x": 0.7}),
    Case("exp", "exp(x)", {"x": 0.7}),
    Case("log", "log(x)", {"x": 0.7}),
    Case("sigmoid", "sigmoid(x)", {"x": 0.7}),
    Case(
        "sigmoid_tails",
        "sigmoid(x) + sigmoid(y)",
        {"x": -20.0, "y": 12.0},
        "far into both tails, no overflow inside sigmoid",
        inaccurate=("torch", "jax", "tinygrad"),
        inaccurate_because="sigmoid_tail",
    ),
    # a number on either side of an operator (the reflected Python operators)
    Case("num_mul_x", "2*x", {"x": 0.7}),
    Case("x_mul_num", "x*2", {"x": 0.7}),
    Case("num_sub_x", "2-x", {"x": 0.7}),
    Case("x_sub_num", "x-2", {"x": 0.7}),
    Case("num_div_x", "2/x", {"x": 0.7}),
    Case("x_div_num", "x/2", {"x": 0.7}),
    Case("num_pow_x", "2**x", {"x": 0.7}),
    Case("x_pow_num", "x**2", {"x": 0.7}),
    Case("num_add_x", "2 + x + 3", {"x": 0.7}),
    # compositions
    Case(
        "neuron",
        "tanh(w1*x1 + w2*x2 + b)",
        {"w1": -3.0, "x1": 2.0, "w2": 1.0, "x2": 0.0, "b": 6.8813735870195432},
        "Karpathy's lecture neuron",
    ),
    Case("softplus", "log(1 + exp(x))", {"x": -1.3}),
    Case("gaussian", "exp(-x*x/2) / 2.5066282746310002", {"x": 0.9}),
    Case("quotient", "(x*y + 1) / (y*y + 1)", {"x": 0.4, "y": -2.2}),
    Case("mixed", "sigmoid(x) * log(y) - relu(x - y) ** 2 + tanh(exp(-y))", {"x": 2.1, "y": 0.45}),
    Case("shared", _SHARED, {"x": 0.6, "y": -0.9}, "names reused many times: gradient accumulation through a DAG"),
    Case("self_shared", "a = x*x; b = a*a; c = b*b; c*c + c*b + b*a", {"x": 1.05}, "one input, every node reused"),
    Case("tanh_chain", _tanh_chain(250), {"x": 0.4}, "250 assignments deep (about 1,000 nodes), x reused in every step"),
    Case(
        "sum_1000",
        _sum_of_terms(1000, 10),
        {f"x{i}": 0.1 * (i + 1) - 0.55 for i in range(10)},
        "a sum of 1,000 products over 10 inputs",
    ),
    Case("micrograd_sanity_check", _SANITY_CHECK, {"x": -4.0}, "karpathy/micrograd test_engine.py::test_sanity_check"),
    Case("micrograd_more_ops", _MORE_OPS, {"a": -4.0, "b": 2.0}, "karpathy/micrograd test_engine.py::test_more_ops"),
)

_BY_NAME = {case.name: case for case in CATALOG}
assert len(_BY_NAME) == len(CATALOG), "two catalog cases share a name"


def get_case(name: str) -> Case:
    """The catalog case called `name`; a ValueError listing the names if there is none."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"no catalog case named {name!r}; the cases are: {', '.join(_BY_NAME)}") from None


@dataclass(frozen=True)
class Divergence:
    """An input at an edge of some op's domain: what each backend gives for one quantity, and why."""

    name: str
    source: str
    inputs: dict[str, float]
    quantity: str  # "value" or "grad:NAME"
    gives: dict[str, float]  # backend name -> what it returns (nan and inf allowed), measured by running it
    explanation: str
    dtype: str = "float64"  # FLOAT32_DIVERGENCES are measured in float32 (torch, jax and tinygrad only)

    @cached_property
    def expression(self) -> Expression:
        return parse(self.source)

    @property
    def agree(self) -> bool:
        """True when every backend gives the same number (nan counts as equal to nan, -0.0 as equal to 0.0)."""
        values = list(self.gives.values())
        return all(same_number(v, values[0]) for v in values)


def same_number(a: float, b: float) -> bool:
    """a == b, except that nan is the same as nan."""
    return a == b or (a != a and b != b)


def documented_at(expr: Expression, point: Mapping[str, float], dtype: str = "float64") -> list[Divergence]:
    """The divergences of `dtype`'s table documented for exactly this expression at this point (the entry's inputs
    rounded to `dtype`, as a run in it rounds them)."""
    entries = FLOAT32_DIVERGENCES if dtype == "float32" else DIVERGENCES
    return [
        d for d in entries
        if d.expression == expr and d.inputs.keys() == point.keys()
        and all(same_number(round_to(d.inputs[k], dtype), point[k]) for k in point)
    ]  # fmt: skip


def _gives(micrograd: float, torch: float, jax: float, tinygrad: float) -> dict[str, float]:
    return {"micrograd": micrograd, "torch": torch, "jax": jax, "tinygrad": tinygrad}


# Every `gives` was measured with the adapters in backends/ (torch 2.13.0, jax 0.10.2 under jit, tinygrad 0.14.0 on
# its CPU device) and is pinned by tests/test_gradients.py::test_divergence, which reruns each backend.
DIVERGENCES: tuple[Divergence, ...] = (
    Divergence(
        "relu_at_zero",
        "relu(x)",
        {"x": 0.0},
        "grad:x",
        _gives(0.0, 0.0, 0.0, 0.0),
        "All four agree: relu'(0) = 0, the subgradient each framework's relu picks "
        "(jnp.maximum(x, 0) would give 0.5: it splits the gradient between equal arguments).",
    ),
    Divergence(
        "relu_negative_zero",
        "1/relu(x)",
        {"x": -0.0},
        "value",
        _gives(INF, -INF, INF, INF),
        "torch.relu(-0.0) is -0.0 (the sign is kept), the others give +0.0; 1/relu(x) shows the sign: -inf, not inf.",
    ),
    Divergence(
        "relu_negative_zero",
        "1/relu(x)",
        {"x": -0.0},
        "grad:x",
        _gives(NAN, 0.0, 0.0, 0.0),
        "micrograd multiplies relu's local derivative 0 by the incoming -inf (0 * inf = nan), as the original "
        "micrograd does; the frameworks select 0 where the input is not positive instead of multiplying.",
    ),
    Divergence(
        "relu_of_nan",
        "relu(log(x))",
        {"x": -1.0},
        "value",
        _gives(0.0, NAN, NAN, 0.0),
        "relu(nan): micrograd and tinygrad compute `x if x > 0 else 0`, and nan > 0 is false, so 0; torch and jax "
        "propagate the nan.",
    ),
    Divergence(
        "relu_of_nan",
        "relu(log(x))",
        {"x": -1.0},
        "grad:x",
        _gives(0.0, -1.0, -0.0, -0.0),
        "relu's derivative at nan: torch lets the gradient through (d/dx log(x) = 1/x = -1); micrograd, jax and "
        "tinygrad block it (0).",
    ),
    Divergence(
        "relu_subnormal",
        "relu(x)",
        {"x": 1e-320},
        "value",
        _gives(1e-320, 1e-320, 0.0, 1e-320),
        "jax (XLA on the CPU) flushes subnormal numbers to zero in relu's max: relu(1e-320) is 0; the others keep it.",
    ),
    Divergence(
        "relu_subnormal",
        "relu(x)",
        {"x": 1e-320},
        "grad:x",
        _gives(1.0, 1.0, 0.0, 1.0),
        "The same flush: jax sees relu's argument as 0 and gives relu'(0) = 0; the others see a positive number.",
    ),
    Divergence(
        "zero_pow_zero",
        "x**y",
        {"x": 0.0, "y": 0.0},
        "value",
        _gives(1.0, 1.0, 1.0, 1.0),
        "All four agree: 0**0 = 1, as IEEE pow defines it.",
    ),
    Divergence(
        "zero_pow_zero",
        "x**y",
        {"x": 0.0, "y": 0.0},
        "grad:x",
        _gives(0.0, 0.0, NAN, 0.0),
        "d/dx x**y = y * x**(y-1) = 0 * 0**-1 = 0 * inf: jax computes it (nan); torch defines it as 0 when y == 0, "
        "and micrograd (which follows torch's pow rules) and tinygrad give 0 too.",
    ),
    Divergence(
        "zero_pow_zero",
        "x**y",
        {"x": 0.0, "y": 0.0},
        "grad:y",
        _gives(0.0, 0.0, 0.0, 0.0),
        "All four agree: d/dy x**y = log(x) * x**y = -inf * 1 at x = 0, but each defines it as 0 there "
        "(torch masks x == 0 when y >= 0; jax takes the log of x with 0 replaced by 1).",
    ),
    Divergence(
        "zero_pow_number_zero",
        "x**0",
        {"x": 0.0},
        "grad:x",
        _gives(0.0, 0.0, NAN, 0.0),
        "As 0**0 with a number exponent: jax's 0 * x**-1 at x = 0 is 0 * inf = nan; the others give 0.",
    ),
    Divergence(
        "zero_pow_negative",
        "0**x",
        {"x": -1.0},
        "grad:x",
        _gives(-INF, -INF, NAN, -INF),
        "d/dx 0**x = log(0) * 0**x = -inf * inf = -inf (torch, tinygrad, micrograd); jax replaces log(0) by "
        "log(1) = 0 and gets 0 * inf = nan.",
    ),
    Divergence(
        "zero_pow_value_negative",
        "x**y",
        {"x": 0.0, "y": -1.0},
        "grad:y",
        _gives(-INF, -INF, NAN, -INF),
        "The same with the base an input: d/dy x**y at x = 0, y = -1 is -inf * inf; jax gives nan.",
    ),
    Divergence("sqrt_at_zero", "x**0.5", {"x": 0.0}, "value", _gives(0.0, 0.0, 0.0, 0.0), "All four agree: 0**0.5 = 0."),
    Divergence(
        "sqrt_at_zero",
        "x**0.5",
        {"x": 0.0},
        "grad:x",
        _gives(INF, INF, INF, INF),
        "All four agree: d/dx x**0.5 = 0.5 * 0**-0.5 = inf at 0.",
    ),
    Divergence("log_at_zero", "log(x)", {"x": 0.0}, "value", _gives(-INF, -INF, -INF, -INF), "All four agree: log(0) = -inf."),
    Divergence(
        "log_at_zero", "log(x)", {"x": 0.0}, "grad:x", _gives(INF, INF, INF, INF), "All four agree: d/dx log(x) = 1/x = inf at 0."
    ),
    Divergence(
        "log_negative",
        "log(x)",
        {"x": -1.0},
        "grad:x",
        _gives(-1.0, -1.0, -1.0, -1.0),
        "All four agree: log(-1) is nan, but its derivative is computed as 1/x = -1, a finite number.",
    ),
    Divergence(
        "exp_overflow",
        "exp(x)",
        {"x": 1000.0},
        "value",
        _gives(INF, INF, INF, INF),
        "All four agree: exp(1000) overflows to inf.",
    ),
    Divergence(
        "exp_overflow",
        "exp(x)",
        {"x": 1000.0},
        "grad:x",
        _gives(INF, INF, INF, INF),
        "All four agree: the derivative of exp is exp, inf too.",
    ),
    Divergence(
        "tanh_tail",
        "tanh(x)",
        {"x": 10.0},
        "grad:x",
        _gives(8.244614455767397e-09, 8.244614529632978e-09, 8.244614751677581e-09, 8.244614751677581e-09),
        "tanh'(x) = 1 - tanh(x)**2, and at x = 10 tanh(x) is within 4e-9 of 1: torch, jax and tinygrad compute it that "
        "way, so one ulp of difference in their tanh (or in how they square it) becomes 1e-8 relative in the derivative. "
        "micrograd computes 4e/(1 + e)**2 with e = exp(-2|x|) in the tails, which does not cancel: it gives the exact "
        "value correctly rounded, 8.244614455767397e-09.",
    ),
    Divergence(
        "sigmoid_tail",
        "sigmoid(x)",
        {"x": 25.0},
        "grad:x",
        _gives(1.388794386457827e-11, *[1.3888001859448131e-11] * 3),
        "torch, jax and tinygrad agree, and all three are 4e-6 relative off the exact 1.3887943864578e-11: each "
        "computes s * (1 - s) with s rounded near 1, so 1 - s keeps only a few digits. micrograd computes 1 - s as "
        "e/(1 + e) with e = exp(-|x|), which does not cancel, and is correctly rounded.",
    ),
    Divergence(
        "nan_times_zero",
        "0*log(x)",
        {"x": -1.0},
        "value",
        _gives(NAN, NAN, NAN, 0.0),
        "0 * nan is nan in IEEE arithmetic; tinygrad simplifies 0 * y to 0 before computing, so the nan of "
        "log(-1) never reaches the result.",
    ),
    Divergence(
        "nan_times_zero_input",
        "y*log(x)",
        {"x": -1.0, "y": 0.0},
        "grad:y",
        _gives(NAN, NAN, NAN, NAN),
        "All four agree: with the zero an input nothing can be simplified: d/dy = log(-1) = nan.",
    ),
    Divergence(
        "inf_minus_inf",
        "exp(x) - exp(x)",
        {"x": 1000.0},
        "value",
        _gives(NAN, NAN, NAN, 0.0),
        "inf - inf is nan; tinygrad simplifies a - a to 0.",
    ),
    Divergence(
        "inf_times_zero",
        "exp(x)*exp(-x)",
        {"x": 1000.0},
        "value",
        _gives(NAN, NAN, 1.0, NAN),
        "inf * 0 is nan; XLA (jax under jit) rewrites exp(a) * exp(b) as exp(a + b) = exp(0) = 1.",
    ),
    Divergence(
        "log_of_exp_overflow",
        "log(exp(x))",
        {"x": 1000.0},
        "value",
        _gives(INF, INF, 1000.0, INF),
        "exp(1000) overflows and log(inf) = inf; XLA (jax under jit) rewrites log(exp(x)) as x and returns 1000.",
    ),
    Divergence(
        "log_of_exp_overflow",
        "log(exp(x))",
        {"x": 1000.0},
        "grad:x",
        _gives(NAN, NAN, 1.0, 1.0),
        "The chain rule gives (1/inf) * inf = 0 * inf = nan (micrograd, torch); jax differentiates the rewritten x "
        "and tinygrad simplifies (1/e) * e to 1: both give 1.",
    ),
    Divergence(
        "zero_over_zero", "x/x", {"x": 0.0}, "value", _gives(NAN, NAN, NAN, 1.0), "0/0 is nan; tinygrad simplifies x/x to 1."
    ),
    Divergence(
        "tiny_divisor",
        "x/y",
        {"x": 1e-300, "y": 1e-300},
        "grad:y",
        _gives(-9.999999999999999e299, -9.999999999999999e299, -INF, -9.999999999999999e299),
        "d(x/y)/dy = -x/y**2 is -1e300 here, but y**2 = 1e-600 underflows to 0: jax computes it that way and gives "
        "-inf; micrograd, torch and tinygrad compute -(x/y)/y, which stays finite and is correctly rounded.",
    ),
    Divergence(
        "rounding_reassociated",
        "(x + 1) - 1",
        {"x": 1e-17},
        "value",
        _gives(0.0, 0.0, 1e-17, 1e-17),
        "In float64, 1e-17 + 1 rounds to 1, so the result is 0; jax (XLA under jit) and tinygrad reassociate "
        "(x + 1) - 1 to x and return 1e-17.",
    ),
    # found by `python -m comparisons fuzz` (comparisons/judge/rules.py has the situation each one is an example of)
    Divergence(
        "tanh_near_zero",
        "tanh(x)/x",
        {"x": 1e-12},
        "value",
        _gives(1.0, 1.0, 1.0, 1.000088900582341),
        "tinygrad computes tanh(x) as 2*sigmoid(2x) - 1, which cancels near 0: tanh(1e-12) is 8.9e-5 relative off "
        "(the exact value is 1 - 3e-25, so 1.0); tanh(1e-20) is 0.",
    ),
    Divergence(
        "power_of_power",
        "x**(y**z)",
        {"x": 2.0, "y": 3.0, "z": 2.0},
        "value",
        _gives(512.0, 512.0, 512.0, 512.0000000000007),
        "tinygrad 0.14 raised here (its rewriter cast the exponent's nan branch to int); the adapter now computes such an "
        "exponent in a kernel of its own. tinygrad's pow is exp2(y * log2(x)), 1.4e-15 relative off the exact 512.",
    ),
    Divergence(
        "saturated_tanh_gradient",
        "x/tanh(x)",
        {"x": -82076.0},
        "grad:x",
        _gives(-1.0, -1.0, -1.0, NAN),
        "tinygrad's tanh goes through exp2(-2x/ln 2), inf this far out; its backward pass meets inf * 0 when the "
        "incoming gradient is not a constant, and gives nan where the exact derivative is -1.",
    ),
    Divergence(
        "saturated_sigmoid_gradient",
        "sigmoid(sigmoid(x))",
        {"x": -1000.0},
        "grad:x",
        _gives(0.0, 0.0, 0.0, NAN),
        "The same in tinygrad's sigmoid: exp2(1000/ln 2) is inf, and the chain rule through it gives nan (exactly: "
        "1.3e-435, which is 0.0 in float64).",
    ),
    Divergence(
        "log_of_pow_overflow",
        "log(x**y)",
        {"x": 3.0, "y": 1000.0},
        "value",
        _gives(INF, INF, 1098.6122886681098, INF),
        "3**1000 overflows and log(inf) = inf; XLA (jax under jit) rewrites log(x**y) as y*log(x) and returns the "
        "finite 1098.6 (the exact value is 1098.6122886681096).",
    ),
    Divergence(
        "pow_of_exp",
        "exp(x)**3",
        {"x": -25.9},
        "value",
        _gives(1.8001917046195815e-34, 1.8001917046195815e-34, 1.8001917046195943e-34, 1.800191704619586e-34),
        "XLA (jax under jit) rewrites exp(x)**3 as exp(3*x): the rounding of 3*x is multiplied by 78, 53 ulps off "
        "the exact value (micrograd and torch are correctly rounded; tinygrad's exp2 is 19 ulps off).",
    ),
    Divergence(
        "negative_zero_rsqrt",
        "x**-0.5",
        {"x": -0.0},
        "value",
        _gives(INF, -INF, INF, NAN),
        "IEEE 754 pow(-0, -0.5) is +inf (only odd integer exponents keep the sign of zero); torch gives -inf and "
        "tinygrad nan (its pow of a negative base, -0.0 < 0 being false but its sign bit set).",
    ),
    Divergence(
        "negative_zero_sqrt",
        "x**0.5",
        {"x": -0.0},
        "grad:x",
        _gives(INF, -INF, INF, NAN),
        "d/dx x**0.5 = 0.5 * x**-0.5 at -0.0: inf in micrograd and jax, -inf in torch, nan in tinygrad (the value "
        "itself is 0.0 or -0.0, both equal to 0).",
    ),
)


def _nested_tanh(depth: int) -> str:
    """tanh(1.5*tanh(1.5*...tanh(x))), `depth` tanh deep, one assignment per level."""
    lines = ["t0 = tanh(x)", *(f"t{k} = tanh(1.5*t{k - 1})" for k in range(1, depth))]
    return "\n".join([*lines, f"t{depth - 1}"])


def _gives32(torch: float, jax: float, tinygrad: float) -> dict[str, float]:
    return {"torch": torch, "jax": jax, "tinygrad": tinygrad}


# Measured in float32 (`compile(expr, dtype="float32")`; micrograd computes in float64 only), inputs float32 numbers;
# found by `python -m comparisons fuzz --dtype float32` and the accuracy atlas, pinned by tests/test_rules.py.
FLOAT32_DIVERGENCES: tuple[Divergence, ...] = (
    Divergence(
        "tanh_rounds_to_one_float32",
        "tanh(x)",
        {"x": 8.0},
        "value",
        _gives32(0.9999997615814209, 1.0, 0.9999997615814209),
        "XLA's float32 tanh returns ±1 beyond about 7.9: tanh(8) is 1.0, 4 float32 ulps off the exact 0.99999977.",
        "float32",
    ),
    Divergence(
        "tanh_near_zero_float32",
        "tanh(x)/x",
        {"x": 9.999999747378752e-06},
        "value",
        _gives32(1.0, 1.0, 1.0013580322265625),
        "tinygrad's tanh(x) = 2*sigmoid(2x) - 1 cancels near 0, in float32 already at 1e-5: 1.4e-3 relative off.",
        "float32",
    ),
    Divergence(
        "reciprocal_power_float32",
        "x**-2",
        {"x": 1.0000000200408773e21},
        "value",
        _gives32(0.0, 0.0, 1.0005271035279194e-42),
        "The exact value 1.0e-42 is a float32 subnormal; torch and jax give 0 (x*x overflows before the reciprocal, "
        "or the subnormal is flushed); tinygrad's exp2(-2*log2(x)) keeps it.",
        "float32",
    ),
    Divergence(
        "exp_near_overflow_float32",
        "exp(x)",
        {"x": 88.0},
        "value",
        _gives32(1.6516362661361307e38, 1.6516362661361307e38, 1.6516332237746901e38),
        "tinygrad's exp(x) = exp2(x/ln 2): the rounding of x/ln 2 is multiplied by 127 near overflow, 30 float32 ulps.",
        "float32",
    ),
    Divergence(
        "tanh_tail_float32",
        "tanh(x)",
        {"x": 5.0},
        "grad:x",
        _gives32(0.0001815475116018206, 0.00018166670633945614, 0.00018166670633945614),
        "1 - tanh(x)**2 with tanh(5) within 2e-4 of 1 in float32: 2,455 ulps (torch) and 5,736 (jax, tinygrad) off the "
        "exact 0.00018158324; the same cancellation as tanh_tail, 2**29 times coarser.",
        "float32",
    ),
    Divergence(
        "relu_subnormal_float32",
        "relu(x)",
        {"x": 9.99994610111476e-41},
        "value",
        _gives32(9.99994610111476e-41, 0.0, 9.99994610111476e-41),
        "jax flushes float32 subnormals to zero in relu's max, as in float64 (relu_subnormal).",
        "float32",
    ),
    Divergence(
        "deep_tanh_gradient_float32",
        _nested_tanh(50),
        {"x": 0.4000000059604645},  # 0.4 in float32
        "grad:x",
        _gives32(2.2397646994280757e-19, 2.2397848619555067e-19, NAN),
        "tinygrad's float32 gradient through tanh nested 40 deep or more is 0 once it falls below about 1e-14 (depth "
        "35: 2.5857468e-13, exact 2.5857297e-13; depth 40: 0, exact 2.46e-15) and nan from depth 50, although float32 "
        "holds it easily; one such path poisons the whole gradient (the catalog's tanh_chain, 250 deep, in float32: "
        "nan, exact 0.92). float64 is unaffected, as is a single tanh times 1e-30; the cause lies in how tinygrad "
        "builds the fused float32 backward kernel of a deep chain (not determined further).",
        "float32",
    ),
)
