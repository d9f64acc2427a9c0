"""The case catalog: named expressions every backend must differentiate exactly as micrograd does, and the
genuine differences between frameworks (DIVERGENCES), each measured by running them, not guessed.

Catalog inputs lie inside every op's domain and away from its kinks, so any disagreement is a bug.
A divergence's `gives` holds what each backend really returns; tests/test_gradients.py pins every entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from backends.expr import Expression, parse

NAN = float("nan")
INF = float("inf")


@dataclass(frozen=True)
class Case:
    """One named expression and the input values it is checked at."""

    name: str
    source: str
    inputs: dict[str, float]
    note: str = ""

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
    Case("sigmoid_tails", "sigmoid(x) + sigmoid(y)", {"x": -20.0, "y": 12.0}, "far into both tails, no overflow inside sigmoid"),
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
    Case("neuron", "tanh(w1*x1 + w2*x2 + b)", {"w1": -3.0, "x1": 2.0, "w2": 1.0, "x2": 0.0, "b": 6.8813735870195432},
         "Karpathy's lecture neuron"),
    Case("softplus", "log(1 + exp(x))", {"x": -1.3}),
    Case("gaussian", "exp(-x*x/2) / 2.5066282746310002", {"x": 0.9}),
    Case("quotient", "(x*y + 1) / (y*y + 1)", {"x": 0.4, "y": -2.2}),
    Case("mixed", "sigmoid(x) * log(y) - relu(x - y) ** 2 + tanh(exp(-y))", {"x": 2.1, "y": 0.45}),
    Case("shared", _SHARED, {"x": 0.6, "y": -0.9}, "names reused many times: gradient accumulation through a DAG"),
    Case("self_shared", "a = x*x; b = a*a; c = b*b; c*c + c*b + b*a", {"x": 1.05}, "one input, every node reused"),
    Case("tanh_chain", _tanh_chain(250), {"x": 0.4}, "250 assignments deep (about 1,000 nodes), x reused in every step"),
    Case("sum_1000", _sum_of_terms(1000, 10), {f"x{i}": 0.1 * (i + 1) - 0.55 for i in range(10)},
         "a sum of 1,000 products over 10 inputs"),
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
    """An input where frameworks (may) differ: what each backend gives for one quantity, and why."""

    name: str
    source: str
    inputs: dict[str, float]
    quantity: str  # "value" or "grad:NAME"
    gives: dict[str, float]  # backend name -> what it returns (nan and inf allowed)
    explanation: str
    todo: tuple[str, ...] = field(default=())  # backends not measured yet

    @cached_property
    def expression(self) -> Expression:
        return parse(self.source)

    @property
    def agree(self) -> bool:
        """True when every measured backend gives the same number (nan counts as equal to nan)."""
        values = list(self.gives.values())
        return all(_same(v, values[0]) for v in values)


def _same(a: float, b: float) -> bool:
    return (a != a and b != b) or a == b


# Filled in by running every backend (see tests/test_gradients.py::test_divergence, which pins each entry).
DIVERGENCES: tuple[Divergence, ...] = ()
