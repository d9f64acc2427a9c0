"""The exact judge: an expression's value and gradients evaluated with mpmath at high precision, correctly rounded.

The inputs are float64 numbers, so they are exact; every operation is then carried out with `precision` bits, and the
precision is doubled until every quantity rounds to the same float64 twice in a row (mpmath's `workprec` pattern).
The result is the correctly rounded float64 of the exact value (overflow gives inf, underflow a subnormal or 0).
Where the mathematics is undefined (relu's kink at exactly 0, log at 0 or below, division by 0, 0**0, a negative base
to a fractional power, an infinite slope) the quantity is None with the reason, never a number. Each quantity also
gets its `condition`: how much a float64 evaluation of this same formula amplifies rounding (Monte Carlo arithmetic:
the formula rerun with every operation's result perturbed by a relative 2**-53, as float64 rounding does), so a
result that every framework gets wrong can be explained (cancellation), not just flagged.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

import mpmath
from mpmath import libmp, mpf

from backends.expr import Expression, Node, parse
from comparisons.judge.dtypes import noise_ulps, round_to
from comparisons.judge.dtypes import ulps as ulps  # re-exported: float64 ulps from the truth, the name callers use

START_BITS = 128
MAX_BITS = 8192
MONTE_CARLO_RUNS = 3
UNIT_ROUNDOFF = 2.0**-53
# exp and pow results whose binary exponent would exceed this many bits are not followed (exp(exp(1e300)) would need
# a number with 1e300 digits in its exponent); the quantity is then "not determined" rather than a guess
MAX_EXPONENT = mpf(2) ** 1100


# Sums, differences and products are computed exactly (mpmath's precision 0) while their size stays within
# EXACT_FACTOR times the working precision; anything else rounds, and marks the evaluation inexact. An exact evaluation
# needs no more precision, even where its value is a tie between two floats; an inexact one is settled only when its
# rounding agrees at two precisions and it lies clearly off the midpoint between two floats (Ziv's strategy).
EXACT_FACTOR = 16
TIE_MARGIN_BITS = 64


class _Inexact:
    """Whether any operation of the evaluation in progress rounded (one evaluation at a time: no threads here)."""

    rounded = False


def _exactly(op: Callable[..., tuple[int, int, int, int]], a: mpf, b: mpf) -> mpf:
    limit = EXACT_FACTOR * mpmath.mp.prec
    (_, _, ea, ca), (_, _, eb, cb) = a._mpf_, b._mpf_
    if a != 0 and b != 0 and abs((ea + ca) - (eb + cb)) > limit:  # 1e300 + 1e-300 exactly needs 2,000 bits; 10**1e300 more
        _Inexact.rounded = True
        return mpmath.mp.make_mpf(op(a._mpf_, b._mpf_, mpmath.mp.prec, libmp.round_nearest))
    raw = op(a._mpf_, b._mpf_, 0)
    if raw[3] > limit:  # too many bits to carry on exactly: round to the working precision
        _Inexact.rounded = True
        return mpmath.mp.make_mpf(libmp.mpf_pos(raw, mpmath.mp.prec, libmp.round_nearest))
    return mpmath.mp.make_mpf(raw)


def _add(a: mpf, b: mpf) -> mpf:
    return _exactly(libmp.mpf_add, a, b)


def _sub(a: mpf, b: mpf) -> mpf:
    return _exactly(libmp.mpf_sub, a, b)


def _mul(a: mpf, b: mpf) -> mpf:
    return _exactly(libmp.mpf_mul, a, b)


def _rounded(v: mpf) -> mpf:
    """A result of an operation that rounds (division, pow, exp, log, tanh, sigmoid)."""
    _Inexact.rounded = True
    return v


class Undefined(Exception):
    """The mathematics has no value here; `reason` says why, in words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Quantity:
    """One exact result: `value` is the correctly rounded float64 (None where undefined or not determined, with the
    `reason`), `condition` the factor by which a float64 evaluation of the formula amplifies rounding (relative, in
    units of 2**-53; None where the exact result is 0 or unknown), and `noise` the largest change that rounding
    alone causes, in absolute terms (meaningful where the exact result is 0 too, where no relative measure is)."""

    value: float | None
    reason: str = ""

    condition: float | None = None
    noise: float = 0.0  # how far float64-sized roundings of every operation moved the result (Monte Carlo), absolute

    @property
    def status(self) -> str:
        """determined, undefined, or not determined (the reason says why)."""
        if self.value is not None:
            return "determined"
        return "not determined" if self.reason.startswith("not determined") else "undefined"

    @property
    def noise_ulps(self) -> float:
        """`noise` in float64 ulps of `value`: how far rounding alone moves a float64 evaluation."""
        return self.noise_ulps_in("float64")

    def noise_ulps_in(self, dtype: str) -> float:
        """How far rounding alone moves an evaluation in `dtype`, in ulps of `value` rounded to `dtype` (0 without a
        finite value): see comparisons.judge.dtypes.noise_ulps."""
        return 0.0 if self.value is None else noise_ulps(self.noise, self.value, dtype)


@dataclass(frozen=True)
class Truth:
    """The exact value and gradients of one expression at one point, and the bits of precision that settled them."""

    value: Quantity
    grads: dict[str, Quantity]
    bits: int
    cancellation: str = ""  # the operation whose operands cancel the most, e.g. "exp(x) - 1: operands 1e12 times larger"
    quantities: dict[str, Quantity] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "quantities", {"value": self.value, **{f"grad:{k}": q for k, q in self.grads.items()}})


def truth(expr: Expression | str, inputs: Mapping[str, float], dtype: str = "float64") -> Truth:
    """The exact value and gradient of `expr` at `inputs` (finite floats), each rounded correctly to float64, then
    to `dtype`."""
    expr = parse(expr) if isinstance(expr, str) else expr
    exact = _truth(expr, tuple(expr.check_inputs(inputs).items()))
    if dtype == "float64":
        return exact

    def rounded(q: Quantity) -> Quantity:
        return q if q.value is None else Quantity(round_to(q.value, dtype), q.reason, q.condition, q.noise)

    return Truth(rounded(exact.value), {k: rounded(q) for k, q in exact.grads.items()}, exact.bits, exact.cancellation)


@functools.lru_cache(maxsize=256)
def _truth(expr: Expression, inputs: tuple[tuple[str, float], ...]) -> Truth:
    point = dict(inputs)
    bits, previous = START_BITS, None
    while True:
        with mpmath.workprec(bits):
            exact, is_exact = _evaluate(expr, point)
        rounded = {k: _round(v) for k, v in exact.items()}
        unsettled = [k for k, v in exact.items() if not is_exact.get(k, True) and _near_tie(v, bits)]
        if all(is_exact.get(k, True) for k in exact):  # nothing rounded: the rounding to float64 is final, ties too
            previous = rounded
            break
        if (rounded == previous and not unsettled) or bits >= MAX_BITS:
            break
        previous, bits = rounded, bits * 2
    stable = rounded == previous
    with mpmath.workprec(bits):
        conditions = _conditions(expr, point, exact)
        cancellation = _worst_cancellation(expr, point)
    quantities = {}
    for key, v in exact.items():
        if isinstance(v, Undefined):
            quantities[key] = Quantity(None, v.reason)
        elif not stable:
            quantities[key] = Quantity(None, f"not determined: its float64 rounding still changed at {MAX_BITS} bits")
        else:
            condition, noise = conditions.get(key, (None, 0.0))
            value = rounded[key]
            assert isinstance(value, float)  # a str is the reason of an Undefined, handled above
            quantities[key] = Quantity(value, "", condition, noise)
    grads = {name: quantities[f"grad:{name}"] for name in expr.inputs}
    return Truth(quantities["value"], grads, bits, cancellation)


Exact: TypeAlias = "mpf | Undefined"  # mpmath has no types: mpf is Any to mypy


def _evaluate(
    expr: Expression, point: Mapping[str, float], perturb: Callable[[mpf], mpf] | None = None
) -> tuple[dict[str, Exact], dict[str, bool]]:
    """Forward and reverse pass at the current mpmath precision: {"value": ..., "grad:NAME": ...}, and for each whether
    it is exact (no operation it depends on rounded). With `perturb`, every operation's result (forward values, local
    derivatives, adjoint products and sums) goes through it."""
    keep = perturb or (lambda v: v)
    try:
        vals, exact = _forward(expr, point, keep)
    except Undefined as why:
        return {"value": why, **{f"grad:{name}": why for name in expr.inputs}}, {}
    adjoint: list[Exact] = [mpf(0)] * len(vals)
    adjoint[-1] = mpf(1)
    adjoint_exact = [True] * len(vals)
    for i in range(len(vals) - 1, -1, -1):
        g = adjoint[i]
        node = expr.nodes[i]
        if not node.args or (not isinstance(g, Undefined) and g == 0):
            continue  # a zero adjoint sends nothing back, even through a kink: 0 * (anything) is 0 here
        _Inexact.rounded = False
        try:
            locals_ = _local_derivatives(node, i, vals, keep)
        except Undefined as why:  # e.g. tanh'(x) for an x beyond the range followed
            locals_ = [(arg, why) for arg in node.args]
        locals_exact = not _Inexact.rounded and exact[i] and all(exact[a] for a in node.args)
        for arg, local in locals_:
            _Inexact.rounded = False
            if isinstance(g, Undefined) or isinstance(local, Undefined):
                contribution: Exact = g if isinstance(g, Undefined) else local
            else:
                contribution = keep(_mul(g, local))
            previous = adjoint[arg]
            if isinstance(previous, Undefined) or isinstance(contribution, Undefined):
                adjoint[arg] = previous if isinstance(previous, Undefined) else contribution
            else:
                adjoint[arg] = keep(_add(previous, contribution))
            adjoint_exact[arg] = adjoint_exact[arg] and adjoint_exact[i] and locals_exact and not _Inexact.rounded
    result: dict[str, Exact] = {"value": vals[-1]}
    is_exact = {"value": exact[-1]}
    for i, node in enumerate(expr.nodes):
        if node.op == "input":
            result[f"grad:{node.name}"] = adjoint[i]
            is_exact[f"grad:{node.name}"] = adjoint_exact[i]
    return result, is_exact


def _forward(expr: Expression, point: Mapping[str, float], keep: Callable[[mpf], mpf]) -> tuple[list[mpf], list[bool]]:
    """Every node's value, and whether it is exact."""
    vals: list[mpf] = []
    exact: list[bool] = []
    for node in expr.nodes:
        if node.op == "input":
            vals.append(mpf(point[node.name]))
            exact.append(True)
        elif node.op == "const":
            vals.append(mpf(node.value))
            exact.append(True)
        else:
            _Inexact.rounded = False
            vals.append(keep(_apply(node, [vals[a] for a in node.args])))
            exact.append(not _Inexact.rounded and all(exact[a] for a in node.args))
    return vals, exact


def _apply(node: Node, args: list[mpf]) -> mpf:
    op, a = node.op, args[0]
    b = args[1] if len(args) > 1 else mpf(0)
    if op == "add":
        return _add(a, b)
    if op == "sub":
        return _sub(a, b)
    if op == "mul":
        return _mul(a, b)
    if op == "div":
        if b == 0:
            raise Undefined(f"division by zero ({_text(a)}/0 is a pole)")
        return _divide(a, b)
    if op == "neg":
        return -a
    if op == "pow":
        return _power(a, b)
    if op == "relu":
        return a if a > 0 else mpf(0)
    if op == "tanh":
        return _tanh(a)
    if op == "exp":
        return _exp(a)
    if op == "log":
        if a <= 0:
            raise Undefined(f"log of {'zero' if a == 0 else 'a negative number'} ({_text(a)}): log is defined for x > 0 only")
        return _rounded(mpmath.log(a))
    if op == "sigmoid":
        return _rounded(1 / (1 + _exp(-a)))
    raise ValueError(f"unknown operation {op!r}")


def _divide(a: mpf, b: mpf) -> mpf:
    q = a / b
    if _mul(q, b) != a:
        _Inexact.rounded = True
    return q


def _tanh(x: mpf) -> mpf:
    if abs(x) > 64:  # mpmath's tanh overflows for astronomically large x; 1 - 2e/(1 + e) does not
        e = _exp(-2 * abs(x))
        return _rounded(mpmath.sign(x) * (1 - 2 * e / (1 + e)))
    return _rounded(mpmath.tanh(x))


def _exp(x: mpf) -> mpf:
    if abs(x) > MAX_EXPONENT:
        raise Undefined(f"not determined: exp of {_text(x)} is beyond the range the exact evaluation follows")
    return _rounded(mpmath.exp(x))


def _power(a: mpf, b: mpf) -> mpf:
    if a == 0:
        if b == 0:
            raise Undefined("0**0 is indeterminate (frameworks give 1 by convention)")
        if b < 0:
            raise Undefined(f"0**{_text(b)} is a pole (division by zero)")
        return mpf(0)
    if a < 0 and not _is_integer(b):
        raise Undefined(f"a negative base to a fractional power ({_text(a)}**{_text(b)}) is not a real number")
    if abs(b * mpmath.log(abs(a), 2)) > MAX_EXPONENT:
        raise Undefined(f"not determined: {_text(a)}**{_text(b)} is beyond the range the exact evaluation follows")
    if _is_integer(b) and 0 < b <= 64:
        result = a
        for _ in range(int(b) - 1):
            result = _mul(result, a)
        return result
    return _rounded(a**b)


def _is_integer(x: mpf) -> bool:
    return bool(x == mpmath.floor(x))


def _local_derivatives(node: Node, i: int, vals: list[mpf], keep: Callable[[mpf], mpf]) -> list[tuple[int, Exact]]:
    """d(node)/d(argument) for each argument of node i; Undefined where the function has no derivative there."""
    op, args, out = node.op, node.args, vals[i]
    a = vals[args[0]]
    if op == "add":
        return [(args[0], mpf(1)), (args[1], mpf(1))]
    if op == "sub":
        return [(args[0], mpf(1)), (args[1], mpf(-1))]
    if op == "mul":
        return [(args[0], vals[args[1]]), (args[1], a)]
    if op == "div":
        b = vals[args[1]]
        return [(args[0], keep(_divide(mpf(1), b))), (args[1], keep(_divide(-out, b)))]
    if op == "neg":
        return [(args[0], mpf(-1))]
    if op == "pow":
        b = vals[args[1]]
        return [(args[0], _dpow_dbase(a, b, keep)), (args[1], _dpow_dexponent(a, b, out, keep))]
    if op == "relu":
        if a == 0:
            return [(args[0], Undefined("relu has a kink at 0: no derivative there (frameworks pick 0)"))]
        return [(args[0], mpf(1) if a > 0 else mpf(0))]
    if op == "tanh":
        return [(args[0], keep(_sech2(a)))]
    if op == "exp":
        return [(args[0], out)]
    if op == "log":
        return [(args[0], keep(_divide(mpf(1), a)))]
    if op == "sigmoid":
        return [(args[0], keep(_rounded(out / (1 + _exp(a)))))]  # s(x) * s(-x)
    raise ValueError(f"unknown operation {op!r}")


def _sech2(x: mpf) -> mpf:
    if abs(x) > MAX_EXPONENT:
        raise Undefined(f"not determined: tanh'({_text(x)}) is beyond the range the exact evaluation follows")
    if abs(x) > 64:
        e = _exp(-2 * abs(x))
        return _rounded(4 * e / (1 + e) ** 2)
    return _rounded(mpmath.sech(x) ** 2)


def _dpow_dbase(a: mpf, b: mpf, keep: Callable[[mpf], mpf]) -> Exact:
    if a == 0:
        if b == 1:
            return mpf(1)
        if b > 1:
            return mpf(0)
        return Undefined(f"x**{_text(b)} has an infinite slope at x = 0: no finite derivative")
    return keep(_mul(b, _power(a, b - 1)))


def _dpow_dexponent(a: mpf, b: mpf, out: mpf, keep: Callable[[mpf], mpf]) -> Exact:
    if a == 0:
        return mpf(0)  # 0**y is 0 for every y > 0
    if a < 0:
        return Undefined(f"({_text(a)})**y is not real for y near {_text(b)}: no derivative in the exponent")
    return keep(_rounded(out * mpmath.log(a)))


def _round(v: Exact) -> float | str:
    """The float64 nearest to v (ties to even), subnormals and overflow included; the reason where v is Undefined.

    Done by hand: mpmath rounds to 53 bits first, which rounds twice below 2**-1022."""
    if isinstance(v, Undefined):
        return v.reason
    if v == 0:
        return 0.0
    sign, man, exp, bc = v._mpf_
    top = exp + bc  # 2**(top-1) <= |v| < 2**top
    if top > 1025:
        return -math.inf if sign else math.inf
    if top < -1076:
        return -0.0 if sign else 0.0
    target = max(top - 53, -1074)  # the exponent of the last bit float64 keeps
    shift = target - exp
    if shift > 0:
        whole, rest = divmod(man, 1 << shift)
        half = 1 << (shift - 1)
        if rest > half or (rest == half and whole & 1):
            whole += 1
    else:
        whole = man << -shift
    try:
        x = math.ldexp(whole, target)
    except OverflowError:
        x = math.inf
    return -x if sign else x


def _near_tie(v: Exact, bits: int) -> bool:
    """Whether v, computed with `bits` bits and some rounding, lies too close to a midpoint between two floats for its
    rounding to be trusted (within 2**(TIE_MARGIN_BITS - bits) of |v|), or is a 0 that may be what is left of a
    cancellation. At MAX_BITS that 0 is accepted: a residue below 2**-MAX_BITS of numbers below 2**1100 rounds to 0."""
    if isinstance(v, Undefined):
        return False
    if v == 0:
        return True
    _, man, exp, bc = v._mpf_
    top = exp + bc
    if top > 1025 or top < -1076:
        return False
    shift = max(top - 53, -1074) - exp
    if shift <= 0:
        return False  # v is a float: the nearest midpoint is half an ulp away
    rest = man & ((1 << shift) - 1)
    return abs(rest - (1 << (shift - 1))) << max(0, bits - TIE_MARGIN_BITS) <= man


def _conditions(expr: Expression, point: Mapping[str, float], exact: dict[str, Exact]) -> dict[str, tuple[float | None, float]]:
    """Per quantity: the largest change that float64-sized roundings of every operation cause over MONTE_CARLO_RUNS
    reruns (Monte Carlo arithmetic, Parker 1997; seeded, so reproducible), relative in units of 2**-53 (None where
    the exact result is 0), and absolute."""
    rng = random.Random(1997)
    u = mpf(UNIT_ROUNDOFF)

    def perturb(v: mpf) -> mpf:
        return v * (1 + u * (2 * rng.random() - 1))

    deviation: dict[str, mpf] = {}
    for _ in range(MONTE_CARLO_RUNS):
        for key, v in _evaluate(expr, point, perturb)[0].items():
            e = exact[key]
            if not (isinstance(v, Undefined) or isinstance(e, Undefined)):
                deviation[key] = max(deviation.get(key, mpf(0)), abs(v - e))
    out: dict[str, tuple[float | None, float]] = {}
    for key, dev in deviation.items():
        e = exact[key]
        assert not isinstance(e, Undefined)
        condition = None if e == 0 else float(dev / abs(e) / u)
        out[key] = (condition, float(dev))
    return out


def _worst_cancellation(expr: Expression, point: Mapping[str, float]) -> str:
    """The addition or subtraction whose operands are largest relative to its result, if that ratio exceeds 1000."""
    try:
        vals, _ = _forward(expr, point, lambda v: v)
    except Undefined:
        return ""
    best, where = mpf(1000), ""
    for i, node in enumerate(expr.nodes):
        if node.op in ("add", "sub"):
            a, b = (vals[k] for k in node.args)
            if vals[i] == 0:
                ratio = mpmath.inf if (a != 0 or b != 0) else mpf(0)
            else:
                ratio = (abs(a) + abs(b)) / abs(vals[i])
            if ratio > best:
                best, where = ratio, f"{_node_text(expr, i)}: its operands are {_text(ratio)} times larger than its result"
    return where


def _node_text(expr: Expression, i: int) -> str:
    """Node i as text (the expression restricted to it), shortened to about 60 characters."""
    from backends.expr import Expression as _Expression

    text = _Expression(_subgraph(expr, i)).source
    return text if len(text) <= 60 else text[:57] + "..."


def _subgraph(expr: Expression, i: int) -> tuple[Node, ...]:
    live = {i}
    for k in range(i, -1, -1):
        if k in live:
            live.update(expr.nodes[k].args)
    remap: dict[int, int] = {}
    kept: list[Node] = []
    for k in sorted(live):
        n = expr.nodes[k]
        remap[k] = len(kept)
        kept.append(Node(n.op, tuple(remap[a] for a in n.args), n.value, n.name))
    return tuple(kept)


def _text(x: mpf) -> str:
    """x in three digits; a number beyond 10**±1000 as its power of ten alone."""
    if mpmath.isinf(x):
        return "inf"
    if x != 0 and abs(mpmath.log10(abs(x))) > 1000:
        return f"{'-' if x < 0 else ''}10**{int(mpmath.floor(mpmath.log10(abs(x)))):.3g}"
    return mpmath.nstr(x, 3)


def main() -> None:
    """`python -m comparisons.judge.truth`: the truth of every catalog case, and how long it took (what it adds to a report)."""
    import time

    from comparisons.judge.catalog import CATALOG

    started = time.perf_counter()
    bits = [truth(case.expression, case.inputs).bits for case in CATALOG]
    seconds = time.perf_counter() - started
    print(f"the truth of the {len(CATALOG)} catalog cases: {seconds:.2f} s, at {min(bits)} to {max(bits)} bits")


if __name__ == "__main__":
    main()
