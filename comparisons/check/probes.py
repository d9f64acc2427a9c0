"""The probes: small expressions whose wrong answer each points at one mistake learners make, and what that
mistake is, in plain words. A probe's `diagnose` recognises the wrong answers of a known bug (the number `x*x`
gives when `=` replaces `+=`, ...); any other wrong answer gets the general rule for that op.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

CHECK_RTOL, CHECK_ATOL = 1e-7, 1e-10  # a learner's engine may round differently (tanh through exp): bugs are far bigger
REVERSE_OPS = {"radd": "__radd__", "rsub": "__rsub__", "rmul": "__rmul__", "rdiv": "__rtruediv__"}
OP_NAMES = {
    "add": "__add__", "sub": "__sub__", "mul": "__mul__", "div": "__truediv__", "pow": "__pow__", "neg": "__neg__",
    "pow_value": "__pow__ with a Value exponent", "rpow": "__rpow__ (a number ** Value)", "zero_grad": "zero_grad()",
    **REVERSE_OPS,
}  # fmt: skip
ACCUMULATE = (
    "a node used twice must receive both contributions: in a backward closure `self.grad = ...` overwrites the first "
    "with the second; write `self.grad += ...` (and `other.grad += ...`)"
)
WRAP = "wrap numbers into Values first: start each op with `other = other if isinstance(other, Value) else Value(other)`"
TOPO = (
    "a node's backward ran more than once: your topological sort appends a node each time it is reached; keep a "
    "visited set and append each node once, after its children"
)
RECURSION_FIX = {
    "__radd__": "return self + other", "__rmul__": "return self * other", "__rsub__": "return other + (-self)",
    "__rtruediv__": "return other * self**-1",
}  # fmt: skip


@dataclass(frozen=True)
class Observed:
    """What the learner's engine gave: the root's value and, for each `read` step, the root's and inputs' grads."""

    value: Any = None
    reads: tuple[Mapping[str, Any], ...] = ()
    error: str | None = None
    recursion: bool = False

    @property
    def grads(self) -> Mapping[str, Any]:
        return self.reads[0]["grads"] if self.reads else {}

    @classmethod
    def from_reply(cls, reply: Mapping[str, Any]) -> Observed:
        if not reply.get("ok"):
            return cls(error=reply.get("error", "failed"), recursion=bool(reply.get("recursion")))
        return cls(reply.get("value"), tuple(reply.get("reads", ())))


@dataclass(frozen=True)
class Expected:
    value: float
    grads: Mapping[str, float]


Diagnose = Callable[[Observed, Expected], "str | None"]


@dataclass(frozen=True)
class Probe:
    """One small expression, run on a fresh graph; `focus` names the learner's op a wrong answer points at."""

    name: str
    source: str
    inputs: dict[str, float]
    focus: str
    needs: tuple[str, ...] = ()  # ops that must exist, or the probe is skipped
    reverse: str = ""  # the reflected op this probe is about: missing, it fails (only this probe)
    strict: bool = False  # numbers are not wrapped by the checker: the probe is about the engine doing it
    sum_of: tuple[str, ...] = ()  # sum([...]) of these inputs instead of `source` (which then says the same)
    checks: str = ""  # what a pass shows, in a few words
    tolerated: str = ""  # an exception that is information here, not a failure (exp(800) raising OverflowError)
    diagnose: Diagnose = field(default=lambda got, want: None)


def num(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.6g}"
    return "None" if x is None else str(x)


def close(a: float, b: float, rtol: float = CHECK_RTOL, atol: float = CHECK_ATOL) -> bool:
    """|a - b| <= max(atol, rtol * max(|a|, |b|)); nan agrees only with nan, inf only with inf of the same sign. (The
    judge's rule, restated here so that the checker imports nothing that needs mpmath: a plain install runs it.)"""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= max(atol, rtol * max(abs(a), abs(b)))


def same(a: Any, b: float) -> bool:
    return isinstance(a, float) and close(a, b)


def grad(got: Observed, name: str) -> Any:
    return got.grads.get(name)


def raised(got: Observed, *fragments: str) -> bool:
    return got.error is not None and any(f in got.error for f in fragments)


def recursion(got: Observed) -> str | None:
    """For a RecursionError: which method kept calling itself, and how to write it."""
    if not got.recursion or got.error is None:
        return None
    method = got.error.rsplit(" in ", 1)[-1] if " in " in got.error else "an op"
    fix = RECURSION_FIX.get(method)
    if fix:
        return (
            f"{method} never returns: with a number on the left it computes `other ... self`, which Python hands back "
            f"to {method}, again and again; put the Value first: {fix}"
        )
    return f"{method} calls itself without end (RecursionError)"


EQ_WITHOUT_HASH = "your Value defines __eq__ without __hash__, so nodes cannot go in a set; remove __eq__ (identity is enough)"
MERGED = (
    "two different nodes that hold the same number count as one: your Value's __eq__ and __hash__ compare data, so "
    "the visited set (and set(children)) keeps one and skips the other; remove both (nodes compare by identity)"
)
NO_NEG = "x - y is computed as x + (-y), and -y needs __neg__: def __neg__(self): return self * -1"


def error_cause(got: Observed) -> str | None:
    """An exception that names its own cause, whatever the probe: these come before a probe's own diagnosis."""
    if got.error and "unhashable type" in got.error:
        return EQ_WITHOUT_HASH
    if got.error and "bad operand type for unary -" in got.error:
        return NO_NEG
    return None


def error_diagnosis(got: Observed) -> str | None:
    """What any exception says about the engine ('raised ...' when nothing more can be said); None without one."""
    if got.error is None:
        return None
    if got.recursion:
        return recursion(got) or "RecursionError: an op calls itself without end"
    if wrapping_error(got):
        return f"a number reached an op that reads .data from it; {WRAP}"
    return error_cause(got) or f"raised {got.error.split(' at ')[0]}"


NUMBER_ERRORS = tuple(
    f"'{kind}' object {what}" for kind in ("int", "float") for what in ("has no attribute", "is not subscriptable")
) + ("unsupported operand type(s) for +: 'int'", "unsupported operand type(s) for *: 'int'", "not supported between")


def wrapping_error(got: Observed) -> bool:
    """The exception a plain number gives where a Value was expected (a Value's own missing attribute is not one)."""
    return raised(got, *NUMBER_ERRORS)


# --- the diagnoses, one per probe ---


def _x_times_x(got: Observed, want: Expected) -> str | None:
    if got.error:
        return None
    if same(grad(got, "x"), want.grads["x"] / 2):
        return f"x*x gave d/dx = {num(grad(got, 'x'))}, half of 2x: {ACCUMULATE}"
    if wrapping_error(got):
        return None
    return "d(x*y)/dx = y and d(x*y)/dy = x; in x*x both reach x and add up to 2x"


def _shared(got: Observed, want: Expected) -> str | None:
    g = grad(got, "x")
    if isinstance(g, float) and g > want.grads["x"] * (1 + 1e-6):
        return f"x got {num(g)}, more than 2(x+1) = {num(want.grads['x'])}: {TOPO}"
    if same(g, want.grads["x"] / 2):
        return f"a = x+1 is used twice in a*a but got half its gradient: {ACCUMULATE}"
    if same(g, 0.0):
        return "x got no gradient through a = x+1: a's backward never ran or wrote to a different node"
    return None


def _diamond(got: Observed, want: Expected) -> str | None:
    g = grad(got, "x")
    if isinstance(g, float) and g > want.grads["x"] * (1 + 1e-6):
        return f"x got {num(g)}, more than 3: a = x+1 is reached through both b and c, and {TOPO}"
    if isinstance(g, float) and 0 < g < want.grads["x"]:
        return (
            "part of the gradient was lost: a = x+1 feeds both b = a*2 and c = a+2 and only one contribution arrived. "
            f"Either {ACCUMULATE}; or the visited set skipped c because it equals b (both 4.0): does your Value define "
            "__eq__ or __hash__ from its data? Nodes must be told apart by identity"
        )
    return None


def _subtract(got: Observed, want: Expected) -> str | None:
    if same(grad(got, "y"), 0.0):
        return (
            "y got no gradient: __sub__ builds a new Value from the numbers (Value(self.data - other.data), or a fresh "
            "Value(-other.data)), so the graph never reaches y; compose recorded ops: return self + (-other)"
        )
    if same(grad(got, "y"), 1.0):
        return "d(x-y)/dy is -1, not +1: the subtrahend's gradient must be negated"
    return None


def _plus_number(got: Observed, want: Expected) -> str | None:
    if got.error is not None and (wrapping_error(got) or raised(got, "TypeError")):
        return f"x + 1 failed: numbers are not wrapped; {WRAP}"
    return None


def _reverse(op: str, correct: str, swapped: float, swapped_means: str) -> Diagnose:
    """A number on the left: Python calls the Value's reflected method (x.__rmul__(2) for 2*x)."""

    def diagnose(got: Observed, want: Expected) -> str | None:
        if got.recursion:
            return recursion(got)
        if wrapping_error(got):
            return f"a number on the left reaches {REVERSE_OPS[op]} as `other`, and it is not wrapped; {WRAP}"
        if same(got.value, swapped):
            return f"{REVERSE_OPS[op]} computes {swapped_means}: {correct}"
        return None

    return diagnose


def _sum(got: Observed, want: Expected) -> str | None:
    if got.recursion:
        return recursion(got)
    if wrapping_error(got):
        return f"sum() starts from 0, so it computes 0 + x, which reaches __radd__ with an int; {WRAP}"
    if same(grad(got, "x"), 1.0):
        return f"x appears twice in the sum but has gradient 1: {ACCUMULATE}"
    return None


def _cube(got: Observed, want: Expected) -> str | None:
    if got.error:
        return None
    g, x = grad(got, "x"), 2.0
    known = {
        3 * (x**3 - 1): "n*(x**n - 1): the -1 belongs in the exponent; the power rule is n * x**(n-1)",
        3 * x**3 - 1: "n*x**n - 1: the -1 belongs in the exponent; the power rule is n * x**(n-1)",
        x**2: "x**(n-1) without the factor n; the power rule is n * x**(n-1)",
        3 * x**3: "n*x**n; the power rule is n * x**(n-1)",
    }
    for wrong, why in known.items():
        if same(g, wrong):
            return f"d(x**3)/dx came out as {why}"
    return "the power rule: d(x**n)/dx = n * x**(n-1)"


def _closure_on_self(got: Observed, want: Expected) -> str | None:
    if same(grad(got, "x"), 0.0):
        return (
            "x got no gradient: __pow__ stores its backward closure on its input (self._backward = _backward) instead "
            "of on out, replacing x+1's own backward; write out._backward = _backward"
        )
    return None


def _two_closures(got: Observed, want: Expected) -> str | None:
    g, x = grad(got, "x"), 0.5
    if same(g, math.exp(x)) or same(g, 2 * x):
        return (
            "only one of exp(x) and x**2 sent its gradient to x: either a closure was stored on the input "
            "(self._backward = ...) instead of on out, so one replaced the other, or one op's backward sets x's gradient "
            "with `self.grad = ...` where `+=` belongs"
        )
    return None


def _tanh(x: float) -> Diagnose:
    def diagnose(got: Observed, want: Expected) -> str | None:
        if got.error:
            return None
        t = math.tanh(x)
        if same(grad(got, "x"), 1 - t):
            return f"d tanh(x)/dx at x = {x:g} came out as 1 - tanh(x) = {1 - t:.6g}: the square is missing, 1 - tanh(x)**2"
        return f"d tanh(x)/dx = 1 - tanh(x)**2 = {1 - t * t:.6g} at x = {x:g}, not {num(grad(got, 'x'))}"

    return diagnose


def _tanh_far(got: Observed, want: Expected) -> str | None:
    why = "tanh through exp(2x): (exp(2x) - 1)/(exp(2x) + 1) overflows above x = 354 (exp(710) is beyond float range)"
    if raised(got, "OverflowError"):
        return f"tanh(400) raised OverflowError: {why}; use math.tanh(x)"
    if isinstance(got.value, float) and math.isnan(got.value):
        return f"tanh(400) is nan: {why}, and inf/inf is nan; use math.tanh(x)"
    if isinstance(grad(got, "x"), float) and math.isnan(grad(got, "x")):
        return "d tanh/dx at 400 is nan: compute it from t = tanh(x) as 1 - t*t, which is 0 here"
    return None


def _reused(expression: str, method: str) -> Diagnose:
    """f(x)*x: x reaches the product twice, directly and through f; `=` in f's backward drops the direct f(x)."""

    def diagnose(got: Observed, want: Expected) -> str | None:
        if got.error:
            return None
        x = 0.5
        direct = want.value / x  # f(x), what x receives from the product
        if same(grad(got, "x"), want.grads["x"] - direct):
            return (
                f"{expression} gave d/dx = {num(grad(got, 'x'))}, without the {num(direct)} that x gets from the product: "
                f"{method}'s backward overwrites x's gradient (`self.grad = ...`); write `self.grad += ...`"
            )
        return None

    return diagnose


def _sigmoid_far(got: Observed, want: Expected) -> str | None:
    why = "1/(1 + exp(-x)) computes exp(800) at x = -800, beyond float range (exp overflows above x = 709.78)"
    if raised(got, "OverflowError"):
        return f"sigmoid(-800) raised OverflowError: {why}; for x < 0 compute exp(x)/(1 + exp(x)) instead"
    if isinstance(got.value, float) and math.isnan(got.value):
        return f"sigmoid(-800) is nan: {why}; for x < 0 compute exp(x)/(1 + exp(x)) instead"
    return None


def _exp_far(got: Observed, want: Expected) -> str | None:
    if isinstance(got.value, float) and math.isfinite(got.value):
        return (
            f"exp(800) gave {num(got.value)}, a finite number: the exponent is clipped somewhere; exp(800) is beyond float "
            "range and is inf (math.exp raises OverflowError there: return float('inf') instead of clipping)"
        )
    if isinstance(got.value, float) and math.isnan(got.value):
        return "exp(800) is nan: it is inf (math.exp raises OverflowError above x = 709.78: return float('inf') there)"
    return None


OVERFLOW_TOLERATED = "OverflowError"  # exp(800) raising as math.exp does: information, not a failure


def _relu(x: float) -> Diagnose:
    def diagnose(got: Observed, want: Expected) -> str | None:
        if got.error:
            return None
        gx, y = grad(got, "x"), 3.0
        if x < 0 and same(got.value, x * y):
            return f"relu({x:g}) returned {x:g}, a negative x: relu(x) = max(0, x)"
        if x < 0 and same(gx, y):
            return f"relu passed the gradient through at x = {x:g} < 0: its local derivative is 1 where x > 0 and 0 elsewhere"
        if x > 0 and same(gx, 1.0):
            return (
                f"relu's backward drops the gradient arriving from above (d/dx is 1 at x = {x:g}, should be {num(y)}): "
                "multiply by out.grad, (out.data > 0) * out.grad"
            )
        return f"d relu(x)/dx is 1 where x > 0, 0 elsewhere, times the gradient arriving from above (x = {x:g})"

    return diagnose


_rmul = _reverse("rmul", "return self * other", 2.0 - 3.0, "other + (-self), that is 2 - x")
_rsub = _reverse("rsub", "return other + (-self)", 0.5 - 2.0, "self - other, that is x - 2")
_rdiv = _reverse("rdiv", "return other * self**-1", 4.0, "self / other, that is x / 1")

REUSED = (
    ("tanh", "tanh(x)*x", "tanh"), ("exp", "exp(x)*x", "exp"), ("sigmoid", "sigmoid(x)*x", "sigmoid"),
    ("relu", "relu(x)*x", "relu"), ("log", "log(x)*x", "log"), ("neg", "(-x)*x", "__neg__"),
)  # fmt: skip

PROBES: tuple[Probe, ...] = (
    Probe("x*x", "x*x", {"x": 3.0}, "mul", ("mul",), checks="a node used twice adds both gradients (+=)", diagnose=_x_times_x),
    Probe(
        "a = x+1; a*a",
        "a = x + 1; a*a",
        {"x": 2.0},
        "backward",
        ("add", "mul"),
        checks="a shared intermediate node counts both uses",
        diagnose=_shared,
    ),
    Probe(
        "diamond",
        "a = x + 1; b = a*2; c = a + 2; b + c",
        {"x": 1.0},
        "backward",
        ("add", "mul"),
        checks="two paths to one node: each node once, in order",
        diagnose=_diamond,
    ),
    Probe(
        "x-y",
        "x - y",
        {"x": 2.5, "y": -1.5},
        "sub",
        ("sub",),
        checks="subtraction keeps y in the graph: d/dy = -1",
        diagnose=_subtract,
    ),
    Probe(
        "x+1",
        "x + 1",
        {"x": 2.0},
        "add",
        ("add",),
        strict=True,
        checks="a number on the right becomes a Value",
        diagnose=_plus_number,
    ),
    Probe(
        "2*x", "2*x", {"x": 3.0}, "rmul", ("mul",), "rmul", strict=True, checks="__rmul__: a number on the left", diagnose=_rmul
    ),
    Probe(
        "2-x",
        "2 - x",
        {"x": 0.5},
        "rsub",
        ("sub",),
        "rsub",
        strict=True,
        checks="__rsub__: other - self, in that order",
        diagnose=_rsub,
    ),
    Probe(
        "1/x",
        "1/x",
        {"x": 4.0},
        "rdiv",
        ("div",),
        "rdiv",
        strict=True,
        checks="__rtruediv__: a number over a Value",
        diagnose=_rdiv,
    ),
    Probe(
        "sum([x, y, x])",
        "x + y + x",
        {"x": 2.0, "y": 3.0},
        "radd",
        ("add",),
        "radd",
        True,
        ("x", "y", "x"),
        checks="sum() starts from 0 (__radd__); x counts twice",
        diagnose=_sum,
    ),
    Probe("x**3", "x**3", {"x": 2.0}, "pow", ("pow",), checks="the power rule, n * x**(n-1)", diagnose=_cube),
    Probe(
        "(x+1)**2",
        "(x + 1)**2",
        {"x": 2.0},
        "pow",
        ("add", "pow"),
        checks="each closure is stored on its own output",
        diagnose=_closure_on_self,
    ),
    Probe(
        "exp(x) + x**2",
        "exp(x) + x**2",
        {"x": 0.5},
        "exp",
        ("exp", "pow", "add"),
        checks="two ops on x keep both their backwards",
        diagnose=_two_closures,
    ),
    Probe("tanh(x) at 0.5", "tanh(x)", {"x": 0.5}, "tanh", ("tanh",), checks="tanh' = 1 - tanh**2", diagnose=_tanh(0.5)),
    Probe(
        "tanh(x) at -1.3",
        "tanh(x)",
        {"x": -1.3},
        "tanh",
        ("tanh",),
        checks="tanh' = 1 - tanh**2, negative x",
        diagnose=_tanh(-1.3),
    ),
    Probe("tanh(x) at 400", "tanh(x)", {"x": 400.0}, "tanh", ("tanh",), checks="no overflow far from 0", diagnose=_tanh_far),
    Probe(
        "relu(x)*y at -1",
        "relu(x)*y",
        {"x": -1.0, "y": 3.0},
        "relu",
        ("relu", "mul"),
        checks="relu blocks the gradient where x < 0",
        diagnose=_relu(-1.0),
    ),
    Probe(
        "relu(x)*y at 2",
        "relu(x)*y",
        {"x": 2.0, "y": 3.0},
        "relu",
        ("relu", "mul"),
        checks="relu passes the incoming gradient where x > 0",
        diagnose=_relu(2.0),
    ),
    *(  # each one-input op with its input reused: `=` in its backward drops what x gets from the product
        Probe(source, source, {"x": 0.5}, op, (op, "mul"), checks=f"{op} adds to x's gradient", diagnose=_reused(source, method))
        for op, source, method in REUSED
    ),
    Probe(
        "sigmoid(x) at -800", "sigmoid(x)", {"x": -800.0}, "sigmoid", ("sigmoid",), checks="no overflow far from 0",
        diagnose=_sigmoid_far,
    ),
    Probe(
        "exp(x) at 800", "exp(x)", {"x": 800.0}, "exp", ("exp",), checks="beyond float range: inf", tolerated=OVERFLOW_TOLERATED,
        diagnose=_exp_far,
    ),
)  # fmt: skip

SPECIAL_CHECKS = {
    "root grad seeded": "backward() seeds the root's grad with 1",
    "deep chain": "how deep a graph backward() can go",
    "backward twice": "what a second backward() call does",
    "zero_grad": "zero_grad() resets every node",
    "random expressions": "random expressions over your ops",
    "nn: MLP(3, [4, 4, 1])": "outputs, loss and every parameter's gradient",
}
CHECKS = {p.name: p.checks for p in PROBES} | SPECIAL_CHECKS
