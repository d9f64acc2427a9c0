"""Known divergences as rules: each describes a *situation* (the expression's operations, their values at the point,
the backend, the quantity), says why frameworks differ there, and names the catalog entries it generalises.

`explain(expr, inputs, backend, quantity, got, truth_value, others)` returns the first rule that matches, or None.
Rules are ordered from specific (one framework's rewrite) to general (IEEE special values). A rule looks at where it
is (the operations and their values at the point; at most whether the backend's number is nan, or what the others
give), never at how far the number is from the truth: the tolerance is the fuzzer's business, the explanation the
rule's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from backends.expr import Expression, Node, parse
from comparisons.judge.catalog import same_number

# the largest x with exp(x) finite, per dtype
EXP_OVERFLOW = {"float64": math.log(1.7976931348623157e308), "float32": math.log(3.4028234663852886e38)}
DEEP_CHAIN = 40  # tanh/sigmoid nested this deep: tinygrad's float32 gradient through them vanishes or is nan
SMALLEST_NORMAL = {"float64": 2.2250738585072014e-308, "float32": 1.1754943508222875e-38}
RECIPROCAL_OVERFLOWS = 2.0**-1024  # the largest float64 whose reciprocal is inf (1/2**-1024 rounds past the largest)
RECIPROCAL_SQUARED_OVERFLOWS = 2.0**-511  # below it a float64's square is subnormal (and 1/x**2 soon overflows)


@dataclass(frozen=True)
class Situation:
    """One quantity of one backend at one point: what a rule's predicate looks at."""

    expr: Expression
    inputs: Mapping[str, float]
    backend: str
    quantity: str  # "value" or "grad:NAME"
    got: float
    truth: float | None  # the correctly rounded exact value; None where it is undefined
    others: Mapping[str, float]  # what the other backends give for the same quantity
    dtype: str = "float64"
    values: list[float] = field(init=False)  # every node's value at the point, computed in `dtype` as IEEE does

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", node_values(self.expr, self.inputs, self.dtype))

    @property
    def is_gradient(self) -> bool:
        return self.quantity.startswith("grad:")

    def nodes(self, *ops: str) -> Iterator[tuple[int, Node]]:
        """(index, node) of every node whose op is one of `ops`."""
        return ((i, n) for i, n in enumerate(self.expr.nodes) if n.op in ops)

    def arg(self, node: Node, k: int = 0) -> float:
        """The value of `node`'s k-th argument at the point."""
        return self.values[node.args[k]]

    def op_of(self, node: Node, k: int = 0) -> str:
        return self.expr.nodes[node.args[k]].op

    @cached_property
    def all_agree(self) -> bool:
        """Every backend gives the same number as `got` (nan equals nan)."""
        return all(same_number(v, self.got) for v in self.others.values())


@dataclass(frozen=True)
class Rule:
    """A known divergence: where it happens (`applies`), for which backends (None: any) and quantities, and why."""

    name: str
    explanation: str
    applies: Callable[[Situation], bool]
    backends: tuple[str, ...] | None = None
    quantities: str = "any"  # "any", "value" or "grad"
    dtypes: tuple[str, ...] = ("float64", "float32")
    catalog: tuple[str, ...] = ()  # the comparisons.judge.catalog DIVERGENCES entries it generalises

    def matches(self, s: Situation) -> bool:
        if self.backends is not None and s.backend not in self.backends:
            return False
        if s.dtype not in self.dtypes:
            return False
        if self.quantities != "any" and (self.quantities == "grad") != s.is_gradient:
            return False
        return self.applies(s)


def explain(
    expr: Expression | str,
    inputs: Mapping[str, float],
    backend: str,
    quantity: str,
    got: float,
    truth_value: float | None,
    others: Mapping[str, float],
    dtype: str = "float64",
) -> Rule | None:
    """The rule that describes `backend` giving `got` for `quantity` ("value" or "grad:NAME") of `expr` at `inputs`,
    where the exact answer is `truth_value` (None: undefined) and the other backends give `others` ({name: number}).

    First a rule about `backend` itself; else, when `got` is what most backends give, the rule that explains every
    backend that gives something else (their divergence, not this one's); None when no rule knows this situation."""
    expr = parse(expr) if isinstance(expr, str) else expr
    situation = Situation(expr, dict(inputs), backend, quantity, got, truth_value, dict(others), dtype)
    own = _first_rule(situation)
    if own is not None or not others:
        return own
    differ = {name: v for name, v in others.items() if not same_number(v, got)}
    if not differ or len(differ) * 2 >= len(others) + 1:
        return None  # everyone agrees (nothing to explain here), or `got` is not the majority's answer
    blamed = None
    for name, v in differ.items():
        rest = {k: w for k, w in others.items() if k != name} | {backend: got}
        rule = _first_rule(Situation(expr, situation.inputs, name, quantity, v, truth_value, rest, dtype))
        if rule is None:
            return None
        blamed = blamed or rule
    return blamed


def _first_rule(situation: Situation) -> Rule | None:
    return next((rule for rule in RULES if rule.matches(situation)), None)


def node_values(expr: Expression, inputs: Mapping[str, float], dtype: str = "float64") -> list[float]:
    """Every node's value at `inputs`, each operation rounded to `dtype` with IEEE semantics (inf, nan, signed zeros;
    relu(nan) = 0 as micrograd has it), as Python floats."""
    try:
        import numpy as np
    except ImportError:  # a plain install (the checker needs no numpy): float64 in Python, IEEE's specials by hand
        if dtype != "float64":
            raise
        return _python_node_values(expr, inputs)

    kind = np.float32 if dtype == "float32" else np.float64
    functions = {"tanh": np.tanh, "exp": np.exp, "log": np.log, "neg": np.negative}
    binary = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "pow": np.power}
    vals: list[Any] = []
    with np.errstate(all="ignore"):
        for n in expr.nodes:
            args = [vals[a] for a in n.args]
            if n.op == "input":
                v = kind(inputs[n.name])
            elif n.op == "const":
                v = kind(n.value)
            elif n.op in binary:
                v = binary[n.op](*args)
            elif n.op == "relu":
                v = args[0] if args[0] > 0 else kind(0)
            elif n.op == "sigmoid":
                v = kind(1) / (kind(1) + np.exp(-args[0]))
            else:
                v = functions[n.op](args[0])
            vals.append(kind(v))
    return [float(v) for v in vals]


def _python_node_values(expr: Expression, inputs: Mapping[str, float]) -> list[float]:
    """node_values in float64 without numpy: Python's float arithmetic, with the IEEE results Python raises for
    (overflow to a signed inf, division by zero to inf or nan, a domain error to nan)."""
    vals: list[float] = []
    for n in expr.nodes:
        a = [vals[k] for k in n.args]
        if n.op == "input":
            vals.append(inputs[n.name])
        elif n.op == "const":
            vals.append(n.value)
        else:
            vals.append(_python_op(n.op, a))
    return vals


def _python_op(op: str, a: list[float]) -> float:
    """One operation in Python floats, as numpy's float64 gives it (node_values): IEEE's inf, nan and signed zeros
    where Python would raise."""
    x = a[0]
    y = a[1] if len(a) > 1 else 0.0
    try:
        if op == "add":
            return x + y
        if op == "sub":
            return x - y
        if op == "mul":
            return x * y
        if op == "div":
            return x / y
        if op == "pow":
            return _python_pow(x, y)
        if op == "neg":
            return -x
        if op == "relu":
            return x if x > 0 else 0.0
        if op == "tanh":
            return math.tanh(x)
        if op == "exp":
            return math.exp(x)
        if op == "log":
            return math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan)
        if op == "sigmoid":  # numpy's formula (node_values)
            return 1 / (1 + math.exp(-x))
    except ZeroDivisionError:  # x / 0
        return math.nan if x == 0 or math.isnan(x) else math.copysign(math.inf, x) * math.copysign(1.0, y)
    except OverflowError:  # exp beyond float64's range (sigmoid's exp(-x) included: 1 / (1 + inf) is 0)
        return 0.0 if op == "sigmoid" else math.inf
    raise ValueError(f"unknown operation {op!r}")


def _python_pow(x: float, y: float) -> float:
    """x ** y as C's pow gives it (IEEE 754's specials), where math.pow raises: 0 to a negative power is inf, -inf for
    -0.0 and an odd integer y; a negative base to a non-integer power is nan; beyond the range, inf of the sign a
    negative base gives an odd integer power."""
    odd = y.is_integer() and y % 2 == 1
    try:
        return math.pow(x, y)
    except ValueError:
        if x == 0:
            return math.copysign(math.inf, x) if odd else math.inf
        return math.nan
    except OverflowError:
        return -math.inf if x < 0 and odd else math.inf


def structures(expr: Expression) -> list[int]:
    """Per node, a number that is equal for two nodes exactly when they compute the same thing the same way (the same
    operation on structurally equal arguments), whether or not the text shares them."""
    seen: dict[tuple[object, ...], int] = {}
    out: list[int] = []
    for n in expr.nodes:
        key = (n.op, n.name, n.value, math.copysign(1.0, n.value), *(out[a] for a in n.args))
        out.append(seen.setdefault(key, len(seen)))
    return out


def _subnormal(v: float, dtype: str) -> bool:
    return 0 < abs(v) < SMALLEST_NORMAL[dtype]


def _saturates(x: float, dtype: str, scale: float = 1.0) -> bool:
    """exp(scale * |x|) overflows in dtype."""
    return abs(x) * scale > EXP_OVERFLOW[dtype]


# --- the predicates, one per rule ---


def _tinygrad_tanh_near_zero(s: Situation) -> bool:
    return any(0 < abs(s.arg(n)) < 0.5 for _, n in s.nodes("tanh"))


def _deep_squashing_chain(s: Situation) -> bool:
    return (math.isnan(s.got) or (s.got == 0 and s.truth != 0)) and _squashing_depth(s.expr) >= DEEP_CHAIN


def _squashing_depth(expr: Expression) -> int:
    """How many tanh and sigmoid the deepest path through the expression passes."""
    depth: list[int] = []
    for n in expr.nodes:
        depth.append(max((depth[a] for a in n.args), default=0) + (n.op in ("tanh", "sigmoid")))
    return max(depth, default=0)


def _saturated_nan_gradient(s: Situation) -> bool:
    return math.isnan(s.got) and any(
        _saturates(s.arg(n), s.dtype, 2.0 if n.op == "tanh" else 1.0) for _, n in s.nodes("tanh", "sigmoid")
    )


def _exp2_rounding(s: Situation) -> bool:
    """An exp, sigmoid or tanh of an argument beyond 1 in magnitude, or a power computed by exp2."""
    if any(abs(s.arg(n)) > 1 for _, n in s.nodes("exp", "sigmoid", "tanh")):
        return True
    return any(s.op_of(n, 1) != "const" or not float(s.arg(n, 1)).is_integer() for _, n in s.nodes("pow"))


def _exp_near_the_top(s: Situation) -> bool:
    """An exp (or sigmoid, tanh) in an expression that has a value within a factor 2**24 of overflow."""
    top = 2.0**104 if s.dtype == "float32" else 2.0**1000
    return any(True for _ in s.nodes("exp", "sigmoid", "tanh")) and any(top < abs(v) for v in s.values)


def _jax_tanh_near_one(s: Situation) -> bool:
    return any(abs(s.arg(n)) > (7.0 if s.dtype == "float32" else 15.0) for _, n in s.nodes("tanh"))


def _sigmoid_subnormal(s: Situation) -> bool:
    return any(s.arg(n) < 0 and _saturates(s.arg(n), s.dtype) for _, n in s.nodes("sigmoid"))


def _log_rounding(s: Situation) -> bool:
    return any(math.isfinite(s.arg(n)) and s.arg(n) > 0 for _, n in s.nodes("log"))


def _log_of_pow(s: Situation) -> bool:
    return any(s.op_of(n) == "pow" for _, n in s.nodes("log"))


def _log_of_exp(s: Situation) -> bool:
    return any(s.op_of(n) == "exp" for _, n in s.nodes("log"))


def _pow_of_exp(s: Situation) -> bool:
    return any(s.op_of(n, 0) == "exp" for _, n in s.nodes("pow"))


def _exp_product(s: Situation) -> bool:
    return any(s.op_of(n, 0) == "exp" and s.op_of(n, 1) == "exp" for _, n in s.nodes("mul", "div"))


def _same_operand(s: Situation) -> bool:
    shape = structures(s.expr)  # exp(x) - exp(x) written twice is one node to tinygrad, which shares equal subgraphs
    return any(shape[n.args[0]] == shape[n.args[1]] for _, n in s.nodes("sub", "div"))


def _times_zero(s: Situation) -> bool:
    consts = s.expr.nodes
    return any(any(consts[a].op == "const" and consts[a].value == 0 for a in n.args) for _, n in s.nodes("mul"))


def _reassociated(s: Situation) -> bool:
    nodes = s.expr.nodes
    for _, n in s.nodes("add", "sub"):
        inner = [nodes[a] for a in n.args if nodes[a].op in ("add", "sub")]
        has_const = any(nodes[a].op == "const" for a in n.args)
        if has_const and any(any(nodes[a].op == "const" for a in m.args) for m in inner):
            return True
    return False


def _flushes_subnormals(s: Situation) -> bool:
    return any(_subnormal(v, s.dtype) for v in s.values) or (s.truth is not None and _subnormal(s.truth, s.dtype))


def _relu_of_negative_zero(s: Situation) -> bool:
    return any(s.arg(n) == 0 and math.copysign(1, s.arg(n)) < 0 for _, n in s.nodes("relu"))


def _micrograd_zero_times_inf(s: Situation) -> bool:
    return math.isnan(s.got) and any(not s.arg(n) > 0 for _, n in s.nodes("relu"))


def _relu_of_nan(s: Situation) -> bool:
    return any(math.isnan(s.arg(n)) for _, n in s.nodes("relu"))


def _relu_kink(s: Situation) -> bool:
    return any(s.arg(n) == 0 for _, n in s.nodes("relu"))


def _pow_negative_zero_base(s: Situation) -> bool:
    return any(s.arg(n) == 0 and math.copysign(1, s.arg(n)) < 0 for _, n in s.nodes("pow"))


def _pow_zero_base(s: Situation) -> bool:
    return any(s.arg(n) == 0 for _, n in s.nodes("pow"))


def _log_outside_domain(s: Situation) -> bool:
    return any(not s.arg(n) > 0 for _, n in s.nodes("log"))


def _tanh_tail(s: Situation) -> bool:
    return any(abs(s.arg(n)) > 0.75 for _, n in s.nodes("tanh"))


def _sigmoid_tail(s: Situation) -> bool:
    return any(abs(s.arg(n)) > 2 for _, n in s.nodes("sigmoid"))


def _pow_exponent_minus_one(s: Situation) -> bool:
    """A power x**y with y not an integer, where the rounding of y - 1 times log(x) is more than an ulp."""
    for _, n in s.nodes("pow"):
        base, exponent = s.arg(n, 0), s.arg(n, 1)
        fractional = base > 0 and math.isfinite(base) and math.isfinite(exponent) and not exponent.is_integer()
        if fractional and math.ulp(exponent - 1) * abs(math.log(base)) > 2.0**-52:
            return True
        if base < 0 and exponent.is_integer() and abs(exponent) >= (2.0**24 if s.dtype == "float32" else 2.0**53):
            return True  # y - 1 rounds back to y: the parity, and with it the sign of a negative base's power, is lost
    return False


def _out_of_range_intermediate(s: Situation) -> bool:
    """Some operation before the result gives inf or nan, or 0 from nonzero finite arguments (an underflow)."""
    nodes = s.expr.nodes
    for i, v in enumerate(s.values[:-1]):
        n = nodes[i]
        if not math.isfinite(v):
            return True
        if v == 0 and n.op in ("mul", "div", "exp", "pow", "sigmoid", "tanh"):
            args = [s.values[a] for a in n.args]
            if all(a != 0 and math.isfinite(a) for a in args):
                return True
    return False


def _reciprocal_overflows(s: Situation) -> bool:
    """A division whose divisor's reciprocal overflows (for the value: |divisor| <= 2**-1024, whose reciprocal is
    inf) or whose square is subnormal (for the gradient, -x/y**2: |divisor| < 2**-511, where y**2 loses bits, and
    1/y**2 overflows below 2**-512), or (for micrograd's gradient) a log whose argument's reciprocal 1/x overflows."""
    if s.is_gradient:
        small = any(0 < abs(s.arg(n, 1)) < RECIPROCAL_SQUARED_OVERFLOWS for _, n in s.nodes("div"))
    else:
        small = any(0 < abs(s.arg(n, 1)) <= RECIPROCAL_OVERFLOWS for _, n in s.nodes("div"))
    if small:
        return True
    logs = (n for _, n in s.nodes("log"))
    return s.backend == "micrograd" and s.is_gradient and any(0 < abs(s.arg(n)) <= RECIPROCAL_OVERFLOWS for n in logs)


def _division_of_division(s: Situation) -> bool:
    return any("div" in (s.op_of(n, 0), s.op_of(n, 1)) for _, n in s.nodes("div"))


def _subnormal_intermediate(s: Situation) -> bool:
    return any(_subnormal(v, s.dtype) for v in s.values[:-1])


def _divisor_squared_out_of_range(s: Situation) -> bool:
    """A division whose divisor squared overflows, or whose 1/divisor**2 underflows, in dtype: a divisor outside
    [sqrt(smallest normal), 1/sqrt(smallest normal)] (2**-511 to 2**511 in float64, 2**-63 to 2**63 in float32; the
    square overflows only further out, beyond sqrt(largest), about 2**512 and 2**64)."""
    bottom = math.sqrt(SMALLEST_NORMAL[s.dtype])
    return any(not bottom <= abs(s.arg(n, 1)) <= 1 / bottom for _, n in s.nodes("div"))


def _reciprocal_power_overflows(s: Situation) -> bool:
    """A power with a negative exponent (for a gradient: exponent - 1) whose positive counterpart |base|**-exponent
    overflows in dtype, so that the power itself is subnormal or 0."""
    top = math.log(3.4028234663852886e38 if s.dtype == "float32" else 1.7976931348623157e308)
    for _, n in s.nodes("pow"):
        base, exponent = abs(s.arg(n, 0)), s.arg(n, 1)
        for e in (exponent, exponent - 1) if s.is_gradient else (exponent,):
            if e < 0 and base > 0 and math.isfinite(base) and abs(e * math.log(base)) > top:
                return True
    return False


def _backward_overflow(s: Situation) -> bool:
    """A gradient that is inf or nan, in an expression with a value within 2**30 of overflow."""
    top = 2.0**98 if s.dtype == "float32" else 2.0**994
    return not math.isfinite(s.got) and any(top < abs(v) for v in s.values if math.isfinite(v))


def _overflow_all_agree(s: Situation) -> bool:
    return s.all_agree and any(math.isinf(v) for v in s.values)


def _overflow_times_zero(s: Situation) -> bool:
    """A gradient that is nan where the exact one is a number, with an intermediate that overflowed to inf."""
    return math.isnan(s.got) and s.truth is not None and math.isfinite(s.truth) and any(math.isinf(v) for v in s.values)


RULES: tuple[Rule, ...] = (
    Rule(
        "overflow_times_zero_gradient",
        "An intermediate overflows to inf (exp(999)), and the backward pass multiplies it by a local derivative that "
        "is exactly 0 (d(y**0)/dy, relu' below 0): IEEE's inf * 0 is nan, where the exact gradient, a finite number "
        "times 0, is 0. A backend that skips the zero (torch selects it) gives the exact 0.",
        _overflow_times_zero,
        quantities="grad",
    ),
    Rule(
        "tinygrad_deep_chain_gradient_float32",
        "tinygrad's float32 gradient through tanh or sigmoid nested 40 deep or more is 0 once that path's "
        "contribution falls below about 1e-14, and nan from about 50 deep, where the exact gradient is a normal "
        "float32 number; a nan on one path poisons the whole gradient. float64 is unaffected.",
        _deep_squashing_chain,
        backends=("tinygrad",),
        quantities="grad",
        dtypes=("float32",),
        catalog=("deep_tanh_gradient_float32",),
    ),
    Rule(
        "tinygrad_tanh_near_zero",
        "tinygrad computes tanh(x) as 2*sigmoid(2x) - 1: near 0 the subtraction cancels and leaves an absolute error "
        "of about one ulp of 1, so tanh(1e-8) is 1e-8 relative off, tanh(1e-12) 9e-5, and tanh(1e-20) is 0; "
        "tanh(x)/x at 1e-12 gives 1.0000889 and a gradient of -8.9e7 instead of 1 and 0.",
        _tinygrad_tanh_near_zero,
        backends=("tinygrad",),
        catalog=("tanh_near_zero", "tanh_near_zero_float32"),
    ),
    Rule(
        "tinygrad_saturated_nan_gradient",
        "tinygrad's tanh and sigmoid go through exp2(-x/ln 2): far in a tail that is inf, and their backward pass "
        "multiplies the incoming gradient by expressions of it; when that gradient is not a constant (x/tanh(x) at "
        "-82076, sigmoid(sigmoid(x)) at -1000) inf * 0 or inf/inf appears and the gradient is nan.",
        _saturated_nan_gradient,
        backends=("tinygrad",),
        quantities="grad",
        catalog=("saturated_tanh_gradient", "saturated_sigmoid_gradient"),
    ),
    Rule(
        "jax_tanh_near_one",
        "XLA's tanh rounds to ±1 early: in float32 tanh(8) is 1.0 (exactly 0.99999977), in float64 it is 6 ulps off "
        "near x = 19; harmless in tanh itself, but anything that takes its log, a power or 1 - tanh(x) shows it.",
        _jax_tanh_near_one,
        backends=("jax",),
        catalog=("tanh_rounds_to_one_float32",),
    ),
    Rule(
        "xla_log_of_pow",
        "XLA (jax under jit) rewrites log(a**b) as b*log(a): where a**b overflows to inf (log(x**y) at x=3, y=1000) "
        "jax returns the finite 1098.6, the others inf; elsewhere the two formulas round differently.",
        _log_of_pow,
        backends=("jax",),
        catalog=("log_of_pow_overflow",),
    ),
    Rule(
        "xla_log_of_exp",
        "XLA (jax under jit) rewrites log(exp(x)) as x: where exp overflows jax returns x, the others inf, and "
        "differentiates the rewritten x (gradient 1).",
        _log_of_exp,
        backends=("jax",),
        catalog=("log_of_exp_overflow",),
    ),
    Rule(
        "tinygrad_log_of_exp_gradient",
        "tinygrad simplifies the chain rule of log(exp(x)), (1/e) * e, to 1, so its gradient is 1 where exp "
        "overflows (the others compute 0 * inf = nan).",
        _log_of_exp,
        backends=("tinygrad",),
        quantities="grad",
        catalog=("log_of_exp_overflow",),
    ),
    Rule(
        "xla_pow_of_exp",
        "XLA (jax under jit) rewrites exp(a)**b as exp(a*b): the rounding of a*b is multiplied by |a*b| in the "
        "result (exp(x)**3 at x = -25.9: 53 ulps off), and where exp(a) alone would overflow or underflow jax "
        "returns the finite power.",
        _pow_of_exp,
        backends=("jax",),
        catalog=("pow_of_exp",),
    ),
    Rule(
        "xla_reassociates_division",
        "XLA (jax under jit) rewrites a quotient of quotients, (a/b)/(c/d) as (a*d)/(b*c): the products can underflow "
        "(and be flushed to 0) or overflow where the quotients do not: (x/x)/(x/x) at x = 1e-157 is nan in jax.",
        _division_of_division,
        backends=("jax",),
    ),
    Rule(
        "xla_combines_exp_products",
        "XLA (jax under jit) rewrites exp(a) * exp(b) as exp(a + b) (and exp(a)/exp(b) as exp(a - b)): where one "
        "factor overflows and the other underflows jax gives a finite number, the others inf * 0 = nan.",
        _exp_product,
        backends=("jax",),
        catalog=("inf_times_zero",),
    ),
    Rule(
        "tinygrad_simplifies_same_operands",
        "tinygrad simplifies a - a to 0 and a/a to 1 before computing, so inf - inf and 0/0 (nan in IEEE "
        "arithmetic) never happen there; its gradients follow the simplified graph.",
        _same_operand,
        backends=("tinygrad",),
        catalog=("inf_minus_inf", "zero_over_zero"),
    ),
    Rule(
        "tinygrad_simplifies_times_zero",
        "tinygrad simplifies 0 * y to 0 before computing, so a nan or inf in y never reaches the result "
        "(0 * nan is nan in IEEE arithmetic).",
        _times_zero,
        backends=("tinygrad",),
        catalog=("nan_times_zero",),
    ),
    Rule(
        "reassociated_constants",
        "jax (XLA under jit) and tinygrad reassociate sums with constants, (x + 1) - 1 as x + (1 - 1): the rounding "
        "of the intermediate sum disappears, so they return x where float64 arithmetic in order returns 0.",
        _reassociated,
        backends=("jax", "tinygrad"),
        catalog=("rounding_reassociated",),
    ),
    Rule(
        "jax_flushes_subnormals",
        "jax (XLA on the CPU) flushes subnormal numbers to zero in some operations (relu's max, fused elementwise "
        "kernels): relu(1e-320) is 0, and a result or gradient that is subnormal may come back as 0.",
        _flushes_subnormals,
        backends=("jax",),
        catalog=("relu_subnormal", "relu_subnormal_float32"),
    ),
    Rule(
        "torch_relu_keeps_negative_zero",
        "torch.relu(-0.0) is -0.0 (the sign is kept), the others give +0.0: 1/relu(x) at -0.0 is -inf in torch.",
        _relu_of_negative_zero,
        backends=("torch",),
        catalog=("relu_negative_zero",),
    ),
    Rule(
        "micrograd_relu_times_inf",
        "micrograd multiplies relu's local derivative 0 by the incoming gradient, and 0 * inf = nan; the frameworks "
        "select 0 where relu's argument is not positive instead of multiplying.",
        _micrograd_zero_times_inf,
        backends=("micrograd",),
        quantities="grad",
        catalog=("relu_negative_zero",),
    ),
    Rule(
        "relu_of_nan",
        "relu(nan): micrograd and tinygrad compute `x if x > 0 else 0` (nan > 0 is false, so 0); torch and jax "
        "propagate the nan; torch also lets the gradient through where the others block it.",
        _relu_of_nan,
        catalog=("relu_of_nan",),
    ),
    Rule(
        "relu_kink",
        "relu has a kink at 0: the derivative is undefined there and every framework picks 0 (jnp.maximum(x, 0) would pick 0.5).",
        _relu_kink,
        catalog=("relu_at_zero",),
    ),
    Rule(
        "pow_negative_zero_base",
        "IEEE pow(-0.0, y) keeps the sign only for odd integer y and gives +inf for negative non-integer y; torch "
        "gives -0.0**-0.5 as -inf, and x**0.5 at -0.0 splits (0.0, -0.0, nan) between frameworks that take it as "
        "pow or as sqrt; the derivative there is infinite or undefined.",
        _pow_negative_zero_base,
        catalog=("negative_zero_rsqrt", "negative_zero_sqrt"),
    ),
    Rule(
        "pow_at_zero_base",
        "A power with base 0: 0**0 = 1 by IEEE convention; the derivatives y * x**(y-1) and log(x) * x**y are "
        "0 * inf or -inf * 0 there, which each framework defines its own way (jax computes nan, torch and tinygrad "
        "mask to 0 or -inf, micrograd follows torch).",
        _pow_zero_base,
        catalog=("zero_pow_zero", "zero_pow_number_zero", "zero_pow_negative", "zero_pow_value_negative", "sqrt_at_zero"),
    ),
    Rule(
        "log_outside_domain",
        "log at 0 is -inf and below 0 nan (IEEE); its derivative is still computed as 1/x, a finite number below 0, "
        "and whether a nan reaches the result depends on each framework's simplifications.",
        _log_outside_domain,
        catalog=("log_at_zero", "log_negative", "nan_times_zero_input"),
    ),
    Rule(
        "tinygrad_exp2_rounding",
        "tinygrad computes exp(x) as exp2(x * (1/ln 2)) (sigmoid and tanh too) and x**y as exp2(y * log2(x)): the "
        "product is rounded before exp2 amplifies it, so the relative error grows with the result's exponent, "
        "hundreds of ulps near overflow; a computed integer exponent off by an ulp makes a negative base give nan.",
        _exp2_rounding,
        backends=("tinygrad",),
        catalog=("power_of_power", "exp_near_overflow_float32"),
    ),
    Rule(
        "tinygrad_exp_overflows_near_the_top",
        "tinygrad gives -inf for exp(x)/(y + y) at x = 1, y = -1.5e-308, where the quotient is -9.1e307 and 3/(y + y) "
        "is finite there too: its exp, fused into the same kernel, goes through intermediate powers of two that "
        "overflow when the result is near the top of the range (observed; not traced to one rewrite).",
        _exp_near_the_top,
        backends=("tinygrad",),
    ),
    Rule(
        "tinygrad_log2_rounding",
        "tinygrad computes log(x) as log2(x) * ln 2, two roundings where a libm log has one: a few ulps, and more "
        "near x = 1 where log(x) is small.",
        _log_rounding,
        backends=("tinygrad",),
    ),
    Rule(
        "sigmoid_underflows_early",
        "sigmoid(x) far below -709 (float64; -88 in float32) is a subnormal number; torch, jax and tinygrad compute "
        "1/(1 + exp(-x)), whose exp overflows, and give 0; micrograd computes exp(x)/(1 + exp(x)) for x < 0 and "
        "keeps the subnormal.",
        _sigmoid_subnormal,
    ),
    Rule(
        "tanh_tail_derivative",
        "tanh'(x) = 1 - tanh(x)**2: the subtraction multiplies the error of the frameworks' tanh (a few ulps, or how "
        "they square it) by cosh(x)**2, 1.7 at |x| = 0.75, 5 at 1.5, 1e8 at 10: jax's float32 tanh'(1.47) is 13 ulps "
        "off, everyone's tanh'(10) in float64 1e-8 relative.",
        _tanh_tail,
        quantities="grad",
        catalog=("tanh_tail", "tanh_tail_float32"),
    ),
    Rule(
        "sigmoid_tail_derivative",
        "sigmoid'(x) is computed as s * (1 - s): beyond |x| = 2, s is near 1 (or near 0 with 1 + exp(-x) rounded), "
        "so 1 - s loses digits (about e**|x| times one ulp) and each framework's rounding of s shows.",
        _sigmoid_tail,
        quantities="grad",
        catalog=("sigmoid_tail",),
    ),
    Rule(
        "divides_by_reciprocal",
        "tinygrad computes a/b as a * (1/b) (derivative -(1/b)**2): where 1/b or its square overflows (b below "
        "5.6e-309, or 1.5e-154 for the gradient) it gives inf or nan where the exact quotient or derivative is finite. "
        "(micrograd did the same, as a * b**-1, until division became one op of its own.)",
        _reciprocal_overflows,
        backends=("tinygrad",),
    ),
    Rule(
        "division_gradient_out_of_range",
        "d(a/b)/db = -a/b**2, and frameworks form it differently ((a/b)/b, a/(b*b), -(a/b) * (1/b)): where b*b "
        "underflows or overflows (|b| below 1.5e-154 or above 1.3e154 in float64) they give 0, inf or nan where the "
        "exact derivative is finite.",
        _divisor_squared_out_of_range,
        quantities="grad",
        catalog=("tiny_divisor",),
    ),
    Rule(
        "reciprocal_power_out_of_range",
        "x**-n is computed by some frameworks as 1/x**n (torch's pow with a negative integer exponent, micrograd's "
        "derivative n * x**(n-1)): where x**n overflows they give 0 where the exact power is a (subnormal) number, "
        "or where it underflows, inf.",
        _reciprocal_power_overflows,
        catalog=("reciprocal_power_float32",),
    ),
    Rule(
        "subnormal_intermediate",
        "An intermediate is a subnormal number, which carries fewer significant bits: one rounding there is many ulps "
        "of the result, and frameworks round differently there (torch and micrograd divide by a number as a "
        "multiplication by its reciprocal, jax flushes): -50 * (y/1000) at y = -1.2e-308 differs by 25 ulps.",
        _subnormal_intermediate,
    ),
    Rule(
        "out_of_range_intermediate",
        "An intermediate overflows to inf or underflows to 0 although the exact value is finite and nonzero: what "
        "follows (inf * 0, inf - inf, 0/0, which chain-rule product is formed first, a rewrite that avoids the "
        "intermediate) differs between frameworks, and so do their infs, nans and zeros.",
        _out_of_range_intermediate,
    ),
    Rule(
        "pow_derivative_rounds_exponent",
        "d/dx x**y is computed as y * x**(y-1): y - 1 is rounded first, and that rounding is multiplied by "
        "|log x| in x**(y-1) (x = 0.41, y = -31.8: 3e-15 relative), more where terms of the gradient cancel; "
        "frameworks that form it as y * x**y / x do not have it. Where y - 1 rounds back to y (y = 1e8 in float32) "
        "a negative base's derivative gets the wrong sign.",
        _pow_exponent_minus_one,
        quantities="grad",
    ),
    Rule(
        "backward_overflow_near_the_top",
        "The forward pass stays finite but comes near the top of the range (2**999 in (2x/x)**1000): the backward "
        "pass multiplies that by further factors (1000, 1/x) in an order each framework chooses, and overflows to inf "
        "(then inf - inf = nan) in some of them, although the exact gradient is finite (here 0).",
        _backward_overflow,
        quantities="grad",
    ),
    Rule(
        "overflow_all_agree",
        "An intermediate overflows to inf (exp(1000), a huge power): every framework gives the same IEEE result.",
        _overflow_all_agree,
        catalog=("exp_overflow",),
    ),
)

assert len({rule.name for rule in RULES}) == len(RULES), "two rules share a name"


# --- backends that raise: each rule describes the situation and the error, as the value rules do ---


@dataclass(frozen=True)
class ErrorRule:
    """A known way for a backend to raise: where (`applies`, on the same Situation, its `got` nan), which error."""

    name: str
    explanation: str
    applies: Callable[[Situation], bool]
    backends: tuple[str, ...]
    error: str  # the exception's type name, e.g. "KeyError"


def _huge_constant_exponent(s: Situation) -> bool:
    """A power whose exponent is beyond 2**52 in magnitude (every such float is a whole number)."""
    return any(abs(s.arg(n, 1)) > 2.0**52 for _, n in s.nodes("pow"))


ERROR_RULES: tuple[ErrorRule, ...] = (
    ErrorRule(
        "tinygrad_pow_huge_integer_exponent",
        "tinygrad lowers a power whose exponent is a whole number to repeated multiplication; an exponent beyond 2**52 "
        "(x ** 1e300) builds a graph its scheduler cannot place, and it raises KeyError on a UOp instead of computing "
        "x ** y through exp and log as it does for other exponents.",
        _huge_constant_exponent,
        backends=("tinygrad",),
        error="KeyError",
    ),
)


def explain_error(
    expr: Expression | str, inputs: Mapping[str, float], backend: str, quantity: str, error: str, dtype: str = "float64"
) -> ErrorRule | None:
    """The rule that describes `backend` raising `error` (its "Type: message" text) on `expr` at `inputs`, or None."""
    expr = parse(expr) if isinstance(expr, str) else expr
    s = Situation(expr, dict(inputs), backend, quantity, math.nan, None, {}, dtype)
    kind = error.split(":", 1)[0].strip()
    return next((r for r in ERROR_RULES if backend in r.backends and kind == r.error and r.applies(s)), None)
