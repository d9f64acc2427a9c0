"""How close is close: one expression run by several backends, compared with micrograd (the reference) and
micrograd with central finite differences, as tidy records (plain dicts; the report builds tables from them).

Agreement between frameworks is tight (GRAD_RTOL, GRAD_ATOL); nan equals nan and inf equals inf of the same sign.
A backend that cannot run raises BackendUnavailable here; the caller decides whether that skips or fails.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import backends
from backends.expr import BINARY, Expression, parse
from micrograd.engine import Value

GRAD_RTOL = 1e-9
GRAD_ATOL = 1e-12

# Finite differences: Richardson extrapolation of two central differences (steps h and h/2) cancels the h**2
# error term, leaving O(h**4): with h = 1e-3 * max(1, |x|) that is ~1e-12 relative for smooth functions, far
# below FD_RTOL, which is loose because the estimate, not the gradient, is the approximate side.
# What limits it is rounding in the forward pass: each node v contributes about eps * |v * df/dv| to the
# error of f (micrograd's backward gives df/dv), and dividing by the step magnifies that by 1/h. FD_NOISE
# multiplies that estimate to cover the few ulps of transcendental functions and the Richardson weights.
FD_STEP = 1e-3
FD_RTOL = 1e-6
FD_NOISE = 100.0
_EPS = sys.float_info.epsilon
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
    vals: list[Value | float] = []
    for n in expr.nodes:
        if n.op == "input":
            vals.append(Value(inputs[n.name]))
        elif n.op == "const":
            vals.append(n.value)
        elif n.op == "neg":
            vals.append(-vals[n.args[0]])
        elif n.op in BINARY:
            vals.append(BINARY[n.op](vals[n.args[0]], vals[n.args[1]]))
        else:
            vals.append(getattr(vals[n.args[0]], n.op)())
    return vals


def _data(v: Value | float) -> float:
    return v.data if isinstance(v, Value) else v


def _forward(expr: Expression, inputs: Mapping[str, float]) -> tuple[float, tuple[bool, ...]]:
    """The value, and the branch taken at every kink, pole or domain edge (the sign of the deciding argument)."""
    vals = node_values(expr, inputs)
    branches = tuple(
        _data(vals[n.args[-1] if n.op == "div" else n.args[0]]) > 0 for n in expr.nodes if n.op in _BRANCH_OPS
    )
    return _data(vals[-1]), branches


def finite_differences_with_bounds(
    expr: Expression, inputs: Mapping[str, float], step: float = FD_STEP
) -> tuple[dict[str, float], dict[str, float]]:
    """Richardson-extrapolated central differences of micrograd's float64 forward, and for each input the
    rounding-error bound the estimate can be trusted to (add FD_RTOL * |gradient| for the truncation).

    A step that would cross a kink (relu), a pole (division) or a domain edge (log, pow) is shrunk until
    every such branch is the same at x - h and x + h as at x, so the estimate never straddles one.
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
        x = inputs[name]
        h = step * max(1.0, abs(x))
        while True:
            points = [{**inputs, name: x + d} for d in (h, -h, h / 2, -h / 2)]
            forwards = [_forward(expr, p) for p in points]
            if all(b == branches for _, b in forwards) or h < 1e-9 * max(1.0, abs(x)):
                break
            h /= 8
        f1, f2, f3, f4 = (f for f, _ in forwards)
        d_h = (f1 - f2) / (2 * h)
        d_half = (f3 - f4) / h
        estimates[name] = (4 * d_half - d_h) / 3
        bounds[name] = FD_NOISE * noise / h
    return estimates, bounds


def finite_differences(expr: Expression | str, inputs: Mapping[str, float], step: float = FD_STEP) -> dict[str, float]:
    """d(expr)/d(input) for every input, by central finite differences on micrograd's forward in float64."""
    expr = parse(expr) if isinstance(expr, str) else expr
    return finite_differences_with_bounds(expr, expr.check_inputs(inputs), step)[0]


def _errors(value: float, reference: float) -> tuple[float, float]:
    """Absolute and relative error; 0 where both are the same nan or inf."""
    if (math.isnan(value) and math.isnan(reference)) or value == reference:
        return 0.0, 0.0
    err = abs(value - reference)
    return err, (err / abs(reference) if reference != 0 else math.inf)


def compare(
    expr: Expression | str, inputs: Mapping[str, float], backend_names: Iterable[str], case: str | None = None
) -> list[dict[str, Any]]:
    """One record per (backend, quantity): the backend's number, micrograd's, the finite difference, the
    errors, and ok (within GRAD_RTOL/GRAD_ATOL of micrograd; for micrograd's own gradients, within the
    finite-difference tolerance). Raises BackendUnavailable for a backend that cannot run here."""
    expr = parse(expr) if isinstance(expr, str) else expr
    inputs = expr.check_inputs(inputs)
    ref = backends.get(backends.REFERENCE).compile(expr)(inputs)
    fd, fd_bounds = finite_differences_with_bounds(expr, inputs)
    records: list[dict[str, Any]] = []
    for backend_name in backend_names:
        result = ref if backend_name == backends.REFERENCE else backends.get(backend_name).compile(expr)(inputs)
        quantities = [("value", result.value, ref.value, None, None)]
        quantities += [(f"grad:{x}", result.grads[x], ref.grads[x], fd[x], fd_bounds[x]) for x in expr.inputs]
        for quantity, value, reference, fd_value, fd_bound in quantities:
            abs_err, rel_err = _errors(value, reference)
            fd_abs_err, fd_rel_err = _errors(value, fd_value) if fd_value is not None else (None, None)
            fd_tol = None if fd_value is None else FD_RTOL * abs(reference) + fd_bound
            if backend_name != backends.REFERENCE:
                ok = close(value, reference)
            elif fd_value is None:
                ok = True  # the reference's own value is the definition
            else:
                ok = close(value, fd_value, rtol=0.0, atol=fd_tol) if math.isfinite(fd_tol) else close(value, fd_value)
            records.append({
                "case": case, "backend": backend_name, "quantity": quantity, "value": value, "reference": reference,
                "abs_err": abs_err, "rel_err": rel_err, "fd": fd_value, "fd_abs_err": fd_abs_err,
                "fd_rel_err": fd_rel_err, "fd_tol": fd_tol, "ok": ok,
            })
    return records


def _label(quantity: str) -> str:
    return "value" if quantity == "value" else f"d/d{quantity.removeprefix('grad:')}"


def failures(records: Sequence[Mapping[str, Any]], case: str | None = None) -> list[str]:
    """One line per record that is not ok, e.g. `tanh_chain d/dx: jax=0.4199743 | micrograd=0.4199744 (...)`."""
    lines = []
    for r in records:
        if r["ok"]:
            continue
        name = case or r.get("case") or "expression"
        if r["backend"] == backends.REFERENCE:
            lines.append(
                f"{name} {_label(r['quantity'])}: {r['backend']}={r['value']!r} | finite differences={r['fd']!r} "
                f"(abs err {r['fd_abs_err']:.3g} > tolerance {r['fd_tol']:.3g})"
            )
        else:
            lines.append(
                f"{name} {_label(r['quantity'])}: {r['backend']}={r['value']!r} | {backends.REFERENCE}={r['reference']!r} "
                f"(rel err {r['rel_err']:.3g}, abs err {r['abs_err']:.3g}; allowed rel {GRAD_RTOL:g} or abs {GRAD_ATOL:g})"
            )
    return lines


def assert_agrees(
    case: str, expr: Expression | str, inputs: Mapping[str, float], backend_names: Iterable[str]
) -> list[dict[str, Any]]:
    """The test helper: compare, and fail with every disagreeing number, both sides shown; returns the records."""
    records = compare(expr, inputs, backend_names, case=case)
    bad = failures(records, case)
    if bad:
        raise AssertionError("\n".join(bad))
    return records
