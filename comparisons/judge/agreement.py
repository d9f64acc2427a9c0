"""Agreement: does a backend compute what micrograd (the reference) computes? A column beside every verdict, never a
verdict itself (comparisons/judge/verdict.py classes each number against the truth). Tight: GRAD_RTOL, GRAD_ATOL,
and ROUNDING_ULPS where a result is what is left of a cancellation; nan equals nan, inf equals inf of the same sign.
Finite differences (Ridders) stay as information: they judge nothing, and never raise on a finite input.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping

from backends.expr import Expression, Node, parse
from backends.micrograd_backend import FUNCTIONS as MICROGRAD_FUNCTIONS
from micrograd.engine import Value

GRAD_RTOL = 1e-9
GRAD_ATOL = 1e-12
# Cancellation: where a result is a sum of large contributions that nearly cancel (d/dx of (x/x)/z is
# 1/(x*z) - x/(x*x*z)), its last bits are rounding, and a framework that rewrites x/x to 1 gets exactly 0. So the
# absolute tolerance is ROUNDING_ULPS ulps of the magnitude that cancelled (what the sum would be if every
# contribution had the same sign, from micrograd's graph), never less than GRAD_ATOL. Where nothing cancels that
# magnitude is the result's own, and 1000 ulps (2e-13 relative) is far inside GRAD_RTOL: nothing else loosens.
ROUNDING_ULPS = 1000

# Finite differences: Ridders' method, central differences at steps h, h/1.6, h/1.6**2, ... extrapolated to
# h -> 0 (Richardson, in a Neville tableau) until the extrapolation stops improving; it reports its own error
# estimate. It runs from FD_STEP, FD_STEP/10, ... (FD_DECADES starts) and keeps the run with the smallest
# estimate, so a function that bends on a scale much smaller than 1 (1/u near u = 0.01) is handled as well as
# a smooth one; where the two best runs disagree beyond their estimates, their difference is the estimate.
# The result is trusted to FD_RTOL relative, plus FD_SAFETY times that estimate, plus the rounding noise of the
# forward pass (each node v adds about eps * |v * df/dv| to f, micrograd's backward gives df/dv, and a difference
# quotient divides that by the step), plus the rounding of x +- h itself, which moves the centre by up to
# eps * (|x| + h): |f''| times that; and never less than GRAD_ATOL (x = 1e-37 is lost in x + h entirely).
FD_STEP = 0.05
FD_DECADES = 4
FD_RTOL = 1e-6
FD_SAFETY = 10.0
FD_NOISE = 100.0
_FD_SHRINK = 1.6
_FD_TABLEAU = 10
EPS = _EPS = sys.float_info.epsilon
_BRANCH_OPS = ("relu", "log", "div", "pow")  # ops whose argument's sign selects a branch, a pole or a domain


def close(a: float, b: float, rtol: float = GRAD_RTOL, atol: float = GRAD_ATOL) -> bool:
    """|a - b| <= max(atol, rtol * max(|a|, |b|)); nan agrees only with nan, inf only with inf of the same sign."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= max(atol, rtol * max(abs(a), abs(b)))


def node_values(expr: Expression, inputs: Mapping[str, float]) -> list[Value | float]:
    """micrograd's forward pass, every node kept (constants stay floats), the same ops as `Expression.evaluate`."""
    return expr.evaluate_all({name: Value(inputs[name]) for name in expr.inputs}, MICROGRAD_FUNCTIONS)


def _data(v: Value | float) -> float:
    return v.data if isinstance(v, Value) else v


def _forward(expr: Expression, inputs: Mapping[str, float]) -> tuple[float, tuple[bool, ...]]:
    """The value, and the branch taken at every kink, pole or domain edge (the sign of the deciding argument)."""
    vals = node_values(expr, inputs)
    branches = tuple(_data(vals[n.args[-1] if n.op == "div" else n.args[0]]) > 0 for n in expr.nodes if n.op in _BRANCH_OPS)
    return _data(vals[-1]), branches


def finite_differences_with_bounds(
    expr: Expression, inputs: Mapping[str, float], step: float = FD_STEP
) -> tuple[dict[str, float], dict[str, float]]:
    """Ridders-extrapolated central differences of micrograd's float64 forward, and for each input the absolute
    error the estimate can be trusted to (add FD_RTOL * |gradient| for the rest).

    No step crosses a kink (relu), a pole (division) or a domain edge (log, pow): a step after which any such
    branch differs from the one taken at x is shrunk, so the estimate never straddles one.
    """
    vals = node_values(expr, inputs)
    out = vals[-1]
    if isinstance(out, Value):
        out.backward()
    noise = _EPS * sum(abs(v.data * v.grad) for v in vals if isinstance(v, Value) and math.isfinite(v.data * v.grad))
    _, branches = _forward(expr, inputs)

    estimates: dict[str, float] = {}
    bounds: dict[str, float] = {}
    for name in expr.inputs:
        try:
            estimates[name], bounds[name] = _finite_difference(expr, inputs, name, step, out, noise, branches)
        except (ArithmeticError, ValueError):  # a step beyond the float range (x = 1e300): no estimate, not a crash
            estimates[name], bounds[name] = math.nan, math.inf
    return estimates, bounds


def _finite_difference(
    expr: Expression,
    inputs: Mapping[str, float],
    name: str,
    step: float,
    out: Value | float,
    noise: float,
    branches: tuple[bool, ...],
) -> tuple[float, float]:
    """Ridders from FD_DECADES starting steps for one input: the estimate and the absolute error it is trusted to."""
    x = inputs[name]

    def central(h: float) -> float | None:
        (f_plus, b_plus), (f_minus, b_minus) = (_forward(expr, {**inputs, name: x + d}) for d in (h, -h))
        return (f_plus - f_minus) / (2 * h) if b_plus == branches and b_minus == branches else None

    # runs from steps a decade apart: one that starts too coarse for the function stops early, with a large
    # error estimate or (rarely) a falsely small one, which the runnner-up then exposes
    h_min = 1e-12 * max(1.0, abs(x))
    starts = (step * 10.0**-k * max(1.0, abs(x)) for k in range(FD_DECADES))
    runs = sorted((_ridders(central, h, h_min) for h in starts), key=lambda r: r[1])
    estimate, error, h_first, h_last = runs[0]
    if abs(runs[0][0] - runs[1][0]) > FD_SAFETY * (runs[0][1] + runs[1][1]):
        error = max(error, abs(runs[0][0] - runs[1][0]))  # they disagree: trust neither beyond that
    f_plus, f_minus = (_forward(expr, {**inputs, name: x + d})[0] for d in (h_first, -h_first))
    curvature = abs(f_plus - 2 * _data(out) + f_minus) / h_first / h_first
    shift = FD_SAFETY * curvature * _EPS * (abs(x) + h_first) if math.isfinite(curvature) else 0.0
    return estimate, max(GRAD_ATOL, FD_SAFETY * error + FD_NOISE * noise / h_last + shift)


def _ridders(central: Callable[[float], float | None], h: float, h_min: float) -> tuple[float, float, float, float]:
    """The extrapolated derivative, its error estimate, and the largest and smallest steps used (Numerical
    Recipes' dfridr)."""
    first = central(h)
    while first is None and h > h_min:
        h /= 8
        first = central(h)
    if first is None:
        return math.nan, math.inf, h, h
    h_first = h
    column = [first]  # column[j]: the estimate extrapolated j times, at the current step
    best, error = first, math.inf
    for _ in range(1, _FD_TABLEAU):
        h /= _FD_SHRINK
        d = central(h)
        if d is None:
            break
        previous, column = column, [d]
        factor = _FD_SHRINK**2
        for j in range(1, len(previous) + 1):
            column.append((column[j - 1] * factor - previous[j - 1]) / (factor - 1))
            factor *= _FD_SHRINK**2
            err = max(abs(column[j] - column[j - 1]), abs(column[j] - previous[j - 1]))
            if err <= error:
                best, error = column[j], err
        if abs(column[-1] - previous[-1]) >= 2 * error:  # higher orders only amplify rounding now
            break
    return best, error, h_first, h


def finite_differences(expr: Expression | str, inputs: Mapping[str, float], step: float = FD_STEP) -> dict[str, float]:
    """d(expr)/d(input) for every input, by central finite differences on micrograd's forward in float64."""
    expr = parse(expr) if isinstance(expr, str) else expr
    return finite_differences_with_bounds(expr, expr.check_inputs(inputs), step)[0]


def cancellation_scales(expr: Expression, inputs: Mapping[str, float]) -> dict[str, float]:
    """For "value" and each "grad:NAME", the magnitude of what was added up to get it, had nothing cancelled:
    sum(|v * df/dv|) over the computed nodes for the value, and for d/dx the backward pass on absolute values
    (the sum over paths of |product of local derivatives|). Non-finite contributions are left out."""
    data = [_data(v) for v in node_values(expr, inputs)]
    reach = [0.0] * len(data)  # |df/dv| summed over paths without cancellation
    reach[-1] = 1.0
    for i in range(len(data) - 1, -1, -1):
        if reach[i]:
            for arg, local in _local_derivatives(expr.nodes[i], data[i], data):
                contribution = abs(local) * reach[i]
                if math.isfinite(contribution):
                    reach[arg] += contribution
    computed = (abs(d * r) for n, d, r in zip(expr.nodes, data, reach) if n.op not in ("input", "const"))
    scales = {"value": sum(c for c in computed if math.isfinite(c))}
    scales.update((f"grad:{n.name}", reach[i]) for i, n in enumerate(expr.nodes) if n.op == "input")
    return scales


def _local_derivatives(n: Node, out: float, data: list[float]) -> list[tuple[int, float]]:
    """d(node)/d(argument) for each argument, from the forward values; [] where one has no finite value."""
    a = data[n.args[0]] if n.args else 0.0
    b = data[n.args[1]] if len(n.args) > 1 else 0.0
    derivatives: dict[str, Callable[[], tuple[float | complex, ...]]] = {
        "add": lambda: (1.0, 1.0),
        "sub": lambda: (1.0, -1.0),
        "mul": lambda: (b, a),
        "div": lambda: (1 / b, -a / (b * b)),
        "pow": lambda: (b * a ** (b - 1), math.log(a) * out),
        "neg": lambda: (-1.0,),
        "relu": lambda: (1.0 if a > 0 else 0.0,),
        "tanh": lambda: (1 - out * out,),
        "exp": lambda: (out,),
        "log": lambda: (1 / a,),
        "sigmoid": lambda: (out * (1 - out),),
    }
    try:
        local = derivatives[n.op]() if n.op in derivatives else ()
    except (ArithmeticError, ValueError):  # 1/0, overflow, log of a non-positive number
        return []
    return [(arg, d) for arg, d in zip(n.args, local) if isinstance(d, float)]  # a complex power is no derivative


def errors(value: float, reference: float) -> tuple[float, float]:
    """Absolute and relative error; 0 where both are the same nan or inf."""
    if (math.isnan(value) and math.isnan(reference)) or value == reference:
        return 0.0, 0.0
    err = abs(value - reference)
    return err, (err / abs(reference) if reference != 0 else math.inf)


def quantity_label(quantity: str) -> str:
    """'value', or 'd/dx' for 'grad:x'."""
    return "value" if quantity == "value" else f"d/d{quantity.removeprefix('grad:')}"
