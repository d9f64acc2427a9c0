"""The certified judge: an expression's exact value and gradients, each correctly rounded to float64 or float32.

The inputs are floats, so they are exact. Every node's value, and in the reverse pass every adjoint, is kept as
- an exact `Fraction` while every operation so far is rational and exact (+ - * /, integer powers, relu, and the
  exact points exp(0) = 1, log(1) = 0, tanh(0) = 0, sigmoid(0) = 1/2), so an exact 2 or 0 is known to be exactly that;
- otherwise an interval that rigorously encloses it: mpmath's interval arithmetic (libmpi) at `bits` bits, the
  elementary functions computed with directed rounding a few bits further and widened by one unit of `bits`.
The precision is doubled from START_BITS until both ends of every enclosure round to the same float of the dtype
(rounding is monotone, so every number between them does too), up to MAX_BITS and TIME_BUDGET_S; past that the
quantity is "not determined: ..." with the reason, never a guess.

Undefined only where the mathematics is: log of a number <= 0, a divisor that is exactly 0, 0**0, 0 to a negative
power, relu's kink exactly hit (its derivative), a negative base to a non-integer power, an infinite slope (x**0.5 at
0). Whether that happens is decided rigorously too: exactly for an exact value, by an enclosure that excludes the other
case otherwise. Huge and tiny numbers are no reason: exponents are unbounded, and where a value is too large to
compute (exp(exp(1e300))) its enclosure has an infinite end ([2**(2**8192), +inf]), still rigorous, and an overflow of
the dtype is the value inf. A zero adjoint sends nothing back, even through a kink (relu(x)*y at y = 0: d/dx = 0).

Each quantity also gets its `condition` and `noise`: how much rounding moves an evaluation of this same formula (Monte
Carlo arithmetic: the formula rerun with every operation's result perturbed by a relative 2**-53), used only to explain
an ill-conditioned result (cancellation), never to decide the truth.
"""

from __future__ import annotations

import functools
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, TypeAlias

import mpmath
from mpmath import libmp
from mpmath.libmp import libmpi

from backends.expr import Expression, Node, parse
from comparisons.judge.dtypes import check as check_dtype
from comparisons.judge.dtypes import noise_ulps
from comparisons.judge.dtypes import ulps as ulps  # re-exported: float64 ulps from the truth, the name callers use

START_BITS = 128
MAX_BITS = 8192  # the budget: the last precision tried ...
TIME_BUDGET_S = 20.0  # ... and the time after which no higher precision is started
FRACTION_BITS = 20_000  # an exact Fraction larger than this (numerator and denominator bits) becomes an interval
POWER_BITS = 20_000  # an integer power computed exactly only while its result stays below this many bits
# exp, tanh and cosh are computed for arguments up to CAP in size (mpmath then works with about 4,096 more bits);
# beyond it exp and cosh are bounded by powers of two (2**x < e**x < 2**(2x) for x > 0), while the bound's exponent
# stays below HUGE, and by 0 or inf past that (exp(exp(1e300)) is in [2**HUGE, inf]); tanh by its value at CAP and 1
CAP = libmp.from_int(2**4096)
HUGE = 2**8192
_HUGE, _MINUS_HUGE = libmp.from_int(HUGE), libmp.from_int(-HUGE)
_TWO_TO_HUGE, _TWO_TO_MINUS_HUGE = libmp.from_man_exp(1, HUGE), libmp.from_man_exp(1, -HUGE)
MONTE_CARLO_RUNS = 3
UNIT_ROUNDOFF = 2.0**-53
_FORMATS = {"float64": (53, -1074, 1024), "float32": (24, -149, 128)}  # significand bits, smallest exponent, overflow

Raw: TypeAlias = tuple[int, int, int, int]  # an mpmath number (sign, mantissa, exponent, bits); infinities included
Interval: TypeAlias = tuple[Raw, Raw]  # lower and upper end; every true value here is a finite real number
Number: TypeAlias = "Fraction | Interval"
_ZERO, _ONE = Fraction(0), Fraction(1)


class Undefined(Exception):
    """The mathematics has no value here; `reason` says why, in words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Unsettled(Exception):
    """This precision cannot decide (an enclosure touches a kink, a pole or 0); more bits may."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


Outcome: TypeAlias = "Fraction | Interval | Undefined | Unsettled"


@dataclass(frozen=True)
class Quantity:
    """One certified result: `value` is the exact value correctly rounded to the dtype (float32 values as Python floats;
    overflow is +-inf, underflow a subnormal or +-0), None where undefined or not determined, and then `reason` says
    why ("not determined: ..." where the budget ran out). `condition` is the factor by which a float64 evaluation of
    the formula amplifies rounding (relative, in units of 2**-53; None where the exact result is 0 or unknown), and
    `noise` the largest change that rounding alone causes, in absolute terms (meaningful at an exact 0 too)."""

    value: float | None
    reason: str = ""
    condition: float | None = None
    noise: float = 0.0  # how far float64-sized roundings of every operation moved the result (Monte Carlo), absolute

    @property
    def status(self) -> str:
        """determined, undefined or not determined."""
        if self.value is not None:
            return "determined"
        return "not determined" if self.reason.startswith("not determined: ") else "undefined"

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
    """The certified value and gradients of one expression at one point in one dtype, and the bits that settled them."""

    value: Quantity
    grads: dict[str, Quantity]
    bits: int
    cancellation: str = ""  # the +/- node whose operands cancel the most, e.g. "exp(x) - 1.0: its operands are ..."
    quantities: dict[str, Quantity] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "quantities", {"value": self.value, **{f"grad:{k}": q for k, q in self.grads.items()}})


def truth(expr: Expression | str, inputs: Mapping[str, float], dtype: str = "float64") -> Truth:
    """The exact value and gradients of `expr` at `inputs` (finite floats), each correctly rounded to `dtype`."""
    expr = parse(expr) if isinstance(expr, str) else expr
    return _truth(expr, tuple(expr.check_inputs(inputs).items()), check_dtype(dtype))


def enclosures(expr: Expression | str, inputs: Mapping[str, float], bits: int) -> dict[str, tuple[Any, Any] | str]:
    """Every quantity's rigorous enclosure at `bits` bits: (lo, hi) as Fractions where it is exact (lo == hi), as mpmath
    numbers otherwise; or the reason text where it is undefined or this precision cannot decide."""
    expr = parse(expr) if isinstance(expr, str) else expr
    outcomes, _ = _Pass(expr, dict(expr.check_inputs(inputs)), bits).run()
    out: dict[str, tuple[Any, Any] | str] = {}
    for key, v in outcomes.items():
        if isinstance(v, Undefined | Unsettled):
            out[key] = v.reason
        elif isinstance(v, Fraction):
            out[key] = (v, v)
        else:
            out[key] = (mpmath.mp.make_mpf(v[0]), mpmath.mp.make_mpf(v[1]))  # exactly, not rounded to 53 bits
    return out


@functools.lru_cache(maxsize=512)
def _truth(expr: Expression, inputs: tuple[tuple[str, float], ...], dtype: str) -> Truth:
    outcomes, forward, bits = _settle(expr, inputs, dtype)
    deviations = _monte_carlo(expr, inputs, bits, outcomes)
    quantities = {}
    for key, v in outcomes.items():
        if isinstance(v, Undefined):
            quantities[key] = Quantity(None, v.reason)
        elif isinstance(v, Unsettled):
            quantities[key] = Quantity(None, f"not determined: {v.reason} at {bits} bits (the budget: {_budget()})")
        else:
            rounded = _round_settled(v, dtype)
            assert rounded is not None  # _settle stops only when every quantity is settled, undefined or unsettled
            deviation = deviations.get(key)
            condition, noise = (None, 0.0) if deviation is None else _condition(v, deviation)
            quantities[key] = Quantity(rounded, "", condition, noise)
    grads = {name: quantities[f"grad:{name}"] for name in expr.inputs}
    cancellation = _worst_cancellation(expr, forward) if forward is not None else ""
    return Truth(quantities["value"], grads, bits, cancellation)


def _budget() -> str:
    return f"{MAX_BITS} bits or {TIME_BUDGET_S:g} s"


def _settle(
    expr: Expression, inputs: tuple[tuple[str, float], ...], dtype: str
) -> tuple[dict[str, Outcome], list[Number] | None, int]:
    """Passes at doubling precision until every quantity rounds to one float of `dtype` (or is undefined), or the
    budget is spent; the outcomes of the last pass, its forward values, and its precision."""
    started, bits = time.monotonic(), START_BITS
    settled: dict[str, Outcome] = {}  # a quantity settled at some precision stays settled: every enclosure holds it
    while True:
        outcomes, forward = _Pass(expr, dict(inputs), bits).run()
        outcomes.update(settled)
        open_ = [k for k, v in outcomes.items() if not isinstance(v, Undefined) and _round_settled(v, dtype) is None]
        settled = {k: v for k, v in outcomes.items() if k not in open_}
        if not open_ or bits * 2 > MAX_BITS or time.monotonic() - started > TIME_BUDGET_S:
            for k in open_:
                v = outcomes[k]
                if not isinstance(v, Unsettled):
                    assert not isinstance(v, Fraction | Undefined)
                    outcomes[k] = Unsettled(f"its enclosure [{_text(v[0])}, {_text(v[1])}] spans more than one {dtype}")
            return outcomes, forward, bits
        bits *= 2


def _round_settled(v: Outcome, dtype: str) -> float | None:
    """The float of `dtype` that every number of v rounds to; None where v spans two (or is no number)."""
    if isinstance(v, Fraction):
        return _round_fraction(v, dtype)
    if isinstance(v, Undefined | Unsettled):
        return None
    lo, hi = _round_raw(v[0], dtype), _round_raw(v[1], dtype)
    if lo != hi:
        return None
    if lo == 0 and math.copysign(1, lo) != math.copysign(1, hi):
        # both ends round to a zero: an enclosure [negative, exactly 0] holds a number below the smallest subnormal or
        # 0 itself, and -0.0 is right for the one and as good as +0.0 for the other; one that straddles 0 gives +0.0
        return -0.0 if v[1] == libmp.fzero and libmp.mpf_sign(v[0]) < 0 else 0.0
    return lo


# --- rounding to a float format, exactly (ties to even, subnormals, overflow to inf) ---


def _round_fraction(q: Fraction, dtype: str) -> float:
    """The `dtype` number nearest to q."""
    if q == 0:
        return 0.0
    bits, min_exp, overflow = _FORMATS[dtype]
    n, d = abs(q.numerator), q.denominator
    top = n.bit_length() - d.bit_length()  # 2**(top-1) < |q| < 2**(top+1)
    at_least_2_to_top = n >= d << top if top >= 0 else n << -top >= d
    if at_least_2_to_top:
        top += 1  # now 2**(top-1) <= |q| < 2**top
    quantum = max(top - bits, min_exp)
    whole = round(Fraction(n, d) / Fraction(2) ** quantum)  # round() on a Fraction ties to even
    return _finish_rounding(q < 0, whole, quantum, overflow)


def _round_raw(v: Raw, dtype: str) -> float:
    """The `dtype` number nearest to the mpmath number v (done by hand: mpmath would round to 53 bits first, which
    rounds twice below the normal range and for float32)."""
    sign, man, exp, bc = v
    if not man:
        if v == libmp.fzero:
            return 0.0
        return -math.inf if v == libmp.fninf else math.inf  # no nan reaches here: every enclosure is of a real
    bits, min_exp, overflow = _FORMATS[dtype]
    top = exp + bc  # 2**(top-1) <= |v| < 2**top
    if top > overflow + 1:
        return -math.inf if sign else math.inf
    if top < min_exp - 1:
        return -0.0 if sign else 0.0
    quantum = max(top - bits, min_exp)
    shift = quantum - exp
    if shift > 0:
        whole, rest = divmod(man, 1 << shift)
        half = 1 << (shift - 1)
        if rest > half or (rest == half and whole & 1):
            whole += 1
    else:
        whole, quantum = man, exp
    return _finish_rounding(bool(sign), whole, quantum, overflow)


def _finish_rounding(negative: bool, whole: int, quantum: int, overflow: int) -> float:
    if whole.bit_length() + quantum > overflow:
        x = math.inf
    else:
        x = math.ldexp(whole, quantum)
    return -x if negative else x


# --- one evaluation at a given precision ---


def _interval(v: Number, prec: int) -> Interval:
    """v as an interval: a Fraction rounded outward (exact for a float)."""
    if isinstance(v, Fraction):
        n, d = v.numerator, v.denominator
        if not d & (d - 1):  # a power of two: a float, or a sum or product of floats
            shift = 1 - d.bit_length()
            return libmp.from_man_exp(n, shift, prec, libmp.round_floor), libmp.from_man_exp(n, shift, prec, libmp.round_ceiling)
        return libmp.from_rational(n, d, prec, libmp.round_floor), libmp.from_rational(n, d, prec, libmp.round_ceiling)
    return v


def _number(iv: Interval) -> Number:
    """An interval that is one finite point is that exact number."""
    lo, hi = iv
    if lo == hi and (lo[1] or lo == libmp.fzero) and abs(lo[2]) < FRACTION_BITS:
        sign, man, exp, _ = lo
        q = Fraction(man) * Fraction(2) ** exp
        return -q if sign else q
    return iv


def _sign(v: Number) -> int | None:
    """-1, 0 or 1; None where v's enclosure holds 0 and other numbers."""
    if isinstance(v, Fraction):
        return (v > 0) - (v < 0)
    lo, hi = v
    if libmp.mpf_sign(lo) > 0:
        return 1
    if libmp.mpf_sign(hi) < 0:
        return -1
    return None


class _Pass:
    """Forward and reverse pass at `bits` bits: the outcome of every quantity ({"value": ..., "grad:NAME": ...}).
    With `perturb`, every operation's result goes through it (the Monte Carlo runs)."""

    def __init__(
        self, expr: Expression, point: Mapping[str, float], bits: int, perturb: Callable[[Number], Number] | None = None
    ):
        self.expr, self.point, self.prec, self.perturb = expr, point, bits, perturb
        self.same = _structure(expr)  # equal ids: the same operations on the same arguments, so the same number

    def run(self) -> tuple[dict[str, Outcome], list[Number] | None]:
        expr = self.expr
        names = [f"grad:{name}" for name in expr.inputs]
        try:
            vals = self.forward()
        except (Undefined, Unsettled) as why:
            return {"value": why, **dict.fromkeys(names, why)}, None
        needs_grad = _needs_grad(expr)
        adjoint = self.reverse(len(vals) - 1, vals, needs_grad)
        result: dict[str, Outcome] = {"value": vals[-1]}
        for i, node in enumerate(expr.nodes):
            if node.op == "input":
                result[f"grad:{node.name}"] = adjoint[i]
        return result, vals

    def reverse(self, root: int, vals: list[Number], needs_grad: list[bool]) -> list[Outcome]:
        """Every node's adjoint: d(node `root`)/d(node), by the reverse pass from `root`.

        A zero adjoint sends nothing back, even through a kink (0 * anything is 0 there), except through a negative
        base's exponent: x**y with x < 0 is not a real number for y near an integer, so it has no slope in y at all.
        Where relu sits exactly on its kink, its argument's own slope decides: an input that moves the argument
        (slope not 0) has no derivative through it; one that does not (relu(x*x) at 0, relu(y - y)) gets 0 from it,
        relu being 1-Lipschitz."""
        expr = self.expr
        adjoint: list[Outcome] = [_ZERO] * len(vals)
        adjoint[root] = _ONE
        for i in range(root, -1, -1):
            g, node = adjoint[i], expr.nodes[i]
            if not node.args:
                continue
            if isinstance(g, Fraction) and g == 0:
                if node.op == "pow" and needs_grad[node.args[1]] and _sign(vals[node.args[0]]) == -1:
                    no_slope = Undefined(f"({_text_number(vals[node.args[0]])})**y is not real for y near "
                                         f"{_text_number(vals[node.args[1]])}: no derivative in the exponent")  # fmt: skip
                    adjoint[node.args[1]] = self.accumulate(adjoint[node.args[1]], _ONE, no_slope)
                continue
            if node.op == "relu" and needs_grad[node.args[0]] and _sign(vals[node.args[0]]) == 0:
                slopes = self.reverse(node.args[0], vals, needs_grad)
                for k, n in enumerate(expr.nodes[: node.args[0] + 1]):
                    slope = slopes[k]
                    if n.op != "input" or (isinstance(slope, Fraction) and slope == 0):
                        continue
                    why: Outcome = (
                        slope if isinstance(slope, Undefined | Unsettled) else
                        Unsettled("a slope into relu's kink could not be told from 0") if _sign(slope) is None else
                        Undefined("relu has a kink at 0: no derivative there (frameworks pick 0)")
                    )  # fmt: skip
                    adjoint[k] = self.accumulate(adjoint[k], _ONE, why)
                continue
            for arg, local in self.local_derivatives(node, i, vals, needs_grad):
                adjoint[arg] = self.accumulate(adjoint[arg], g, local)
        return adjoint

    def keep(self, v: Number) -> Number:
        return v if self.perturb is None else self.perturb(v)

    def forward(self) -> list[Number]:
        vals: list[Number] = []
        for i, node in enumerate(self.expr.nodes):
            if node.op == "input":
                vals.append(Fraction(self.point[node.name]))
            elif node.op == "const":
                vals.append(Fraction(node.value))
            else:
                vals.append(self.keep(self.apply(node, i, [vals[a] for a in node.args])))
        return vals

    def accumulate(self, previous: Outcome, g: Outcome, local: Outcome) -> Outcome:
        """previous + g * local, where undefined wins over unsettled, which wins over a number."""
        if isinstance(local, Undefined) and not isinstance(g, Undefined | Unsettled) and _sign(g) is None:
            local = Unsettled("an adjoint could not be told from 0 where a derivative does not exist")
        for v in (previous, g, local):
            if isinstance(v, Undefined):
                return v
        for v in (previous, g, local):
            if isinstance(v, Unsettled):
                return v
        assert not isinstance(previous, Undefined | Unsettled) and not isinstance(g, Undefined | Unsettled)
        assert not isinstance(local, Undefined | Unsettled)
        return self.keep(self.add(previous, self.keep(self.mul(g, local))))

    # arithmetic on exact Fractions or intervals

    def exact(self, q: Fraction) -> Number:
        if q.numerator.bit_length() + q.denominator.bit_length() > FRACTION_BITS:
            return _interval(q, self.prec)
        return q

    def add(self, a: Number, b: Number) -> Number:
        if isinstance(a, Fraction) and isinstance(b, Fraction):
            return self.exact(a + b)
        return _number(libmpi.mpi_add(_interval(a, self.prec), _interval(b, self.prec), self.prec))

    def sub(self, a: Number, b: Number) -> Number:
        if isinstance(a, Fraction) and isinstance(b, Fraction):
            return self.exact(a - b)
        return _number(libmpi.mpi_sub(_interval(a, self.prec), _interval(b, self.prec), self.prec))

    def mul(self, a: Number, b: Number) -> Number:
        if isinstance(a, Fraction) and isinstance(b, Fraction):
            return self.exact(a * b)
        if (isinstance(a, Fraction) and a == 0) or (isinstance(b, Fraction) and b == 0):
            return _ZERO  # exactly: the other factor is a finite number, however wide its enclosure
        return _number(libmpi.mpi_mul(_interval(a, self.prec), _interval(b, self.prec), self.prec))

    def div(self, a: Number, b: Number) -> Number:
        sign = _sign(b)
        if sign == 0:
            raise Undefined(f"division by zero ({_text_number(a)}/0 is a pole)")
        if sign is None:
            raise Unsettled("a divisor could not be told from 0")
        if isinstance(a, Fraction) and isinstance(b, Fraction):
            return self.exact(a / b)
        if isinstance(a, Fraction) and a == 0:
            return _ZERO
        return _number(libmpi.mpi_div(_interval(a, self.prec), _interval(b, self.prec), self.prec))

    def neg(self, a: Number) -> Number:
        return -a if isinstance(a, Fraction) else libmpi.mpi_neg(a)

    def increasing(
        self,
        f: Callable[[Raw, int, str], Raw],
        a: Number,
        below: Raw,
        above: Raw,
        beyond: Callable[[Raw, str], Raw] | None = None,
    ) -> Number:
        """An increasing function f on the interval a, f taking (number, precision, rounding): each end computed with
        directed rounding 16 bits further and widened by one unit of the precision. An end beyond +-CAP is bounded by
        `beyond(end, rounding)` where given, else by f(+-CAP) on one side and by f's limit (`below` at -inf, `above`
        at +inf) on the other."""
        lo, hi = _interval(a, self.prec)
        p, low = self.prec + 16, libmp.mpf_neg(CAP)

        def end(x: Raw, rnd: str) -> Raw:
            if beyond is not None and (libmp.mpf_gt(x, CAP) or libmp.mpf_lt(x, low)):
                return beyond(x, rnd)
            if rnd == libmp.round_floor:
                if libmp.mpf_lt(x, low):
                    return below
                return _widen(f(CAP if libmp.mpf_gt(x, CAP) else x, p, rnd), -1, self.prec)
            if libmp.mpf_gt(x, CAP):
                return above
            return _widen(f(low if libmp.mpf_lt(x, low) else x, p, rnd), 1, self.prec)

        return _number((end(lo, libmp.round_floor), end(hi, libmp.round_ceiling)))

    def exp(self, a: Number) -> Number:
        if isinstance(a, Fraction) and a == 0:
            return _ONE
        return self.increasing(libmp.mpf_exp, a, libmp.fzero, libmp.finf, _exp_beyond)

    def log(self, a: Number) -> Number:
        sign = _sign(a)
        if sign is None:
            if libmp.mpf_sign(_interval(a, self.prec)[1]) <= 0:  # [lo, 0]: log of 0 or of a negative number
                raise Undefined(f"log of a number <= 0 ({_text_number(a)}): log is defined for x > 0 only")
            raise Unsettled("log's argument could not be told from 0")
        if sign <= 0:
            what = "zero" if sign == 0 else "a negative number"
            raise Undefined(f"log of {what} ({_text_number(a)}): log is defined for x > 0 only")
        if isinstance(a, Fraction) and a == 1:
            return _ZERO
        lo, hi = _interval(a, self.prec)
        p = self.prec + 16
        ends = (libmp.mpf_log(lo, p, libmp.round_floor), libmp.mpf_log(hi, p, libmp.round_ceiling))
        return _number((_widen(ends[0], -1, self.prec), _widen(ends[1], 1, self.prec)))

    def tanh(self, a: Number) -> Number:
        if isinstance(a, Fraction) and a == 0:
            return _ZERO
        return self.increasing(_tanh, a, libmp.from_int(-1), libmp.fone)

    def sigmoid(self, a: Number) -> Number:
        if isinstance(a, Fraction) and a == 0:
            return Fraction(1, 2)
        return self.div(_ONE, self.add(_ONE, self.exp(self.neg(a))))  # a appears once: the enclosure is tight

    def cosh_of_abs(self, a: Number) -> Number:
        """cosh(|a|), increasing in |a|: tanh' = 1/cosh**2 and sigmoid' = 1/(2 + 2 cosh) without cancellation."""
        if isinstance(a, Fraction) and a == 0:
            return _ONE
        lo, hi = libmpi.mpi_abs(_interval(a, self.prec))
        return self.increasing(_cosh, (lo, hi), libmp.fone, libmp.finf, _cosh_beyond)

    def power(self, a: Number, b: Number) -> Number:
        """a**b: exact for exact integer powers, exp(b log a) otherwise; undefined where the mathematics is."""
        sa = _sign(a)
        if sa == 0:
            sb = _sign(b)
            if sb == 0:
                raise Undefined("0**0 is indeterminate (frameworks give 1 by convention)")
            if sb is not None and sb < 0:
                raise Undefined(f"0**{_text_number(b)} is a pole (division by zero)")
            if sb is None:
                raise Unsettled("the exponent of 0 could not be told from 0")
            return _ZERO
        integer = _integer(b)
        if integer is not None:
            size = max(a.numerator.bit_length(), a.denominator.bit_length()) if isinstance(a, Fraction) else POWER_BITS
            if isinstance(a, Fraction) and abs(integer) * size < POWER_BITS:
                return a**integer  # exactly (a is not 0 here)
            if 0 < integer < 2**32:
                return _number(libmpi.mpi_pow_int(_interval(a, self.prec), integer, self.prec))
            if sa is None:
                raise Unsettled("a base could not be told from 0")
            if -(2**32) < integer < 0:
                return self.div(_ONE, _number(libmpi.mpi_pow_int(_interval(a, self.prec), -integer, self.prec)))
            magnitude = self.exp(self.mul(Fraction(integer), self.log(self.mul(Fraction(sa), a))))
            return self.neg(magnitude) if sa < 0 and integer % 2 else magnitude
        if sa is None:
            raise Unsettled("a base could not be told from 0")
        if sa < 0:
            if isinstance(b, Fraction) or not _holds_integer(b):
                power = f"({_text_number(a)})**{_text_number(b)}"
                raise Undefined(f"a negative base to a non-integer power ({power}) is not a real number")
            raise Unsettled("an exponent of a negative base could not be told from an integer")
        return self.exp(self.mul(b, self.log(a)))

    def apply(self, node: Node, i: int, args: list[Number]) -> Number:
        op, a = node.op, args[0]
        if op in ("sub", "div") and self.same[node.args[0]] == self.same[node.args[1]]:
            if op == "sub":
                return _ZERO  # v - v is exactly 0, whatever the enclosure of v
            if _sign(a) not in (0, None):
                return _ONE
        if op == "add":
            return self.add(a, args[1])
        if op == "sub":
            return self.sub(a, args[1])
        if op == "mul":
            return self.mul(a, args[1])
        if op == "div":
            return self.div(a, args[1])
        if op == "pow":
            return self.power(a, args[1])
        if op == "neg":
            return self.neg(a)
        if op == "relu":
            sign = _sign(a)
            if sign is None:
                return (libmp.fzero, _interval(a, self.prec)[1])
            return a if sign > 0 else _ZERO
        if op == "exp":
            return self.exp(a)
        if op == "log":
            return self.log(a)
        if op == "tanh":
            return self.tanh(a)
        if op == "sigmoid":
            return self.sigmoid(a)
        raise ValueError(f"unknown operation {op!r}")

    def local_derivatives(self, node: Node, i: int, vals: list[Number], needs_grad: list[bool]) -> list[tuple[int, Outcome]]:
        """d(node)/d(argument) for each argument of node i that depends on an input; Undefined where the function has
        no derivative there, Unsettled where this precision cannot tell."""
        out: list[tuple[int, Outcome]] = []
        for k, arg in enumerate(node.args):
            if not needs_grad[arg]:
                continue
            try:
                out.append((arg, self.keep(self.derivative(node, k, vals[i], [vals[a] for a in node.args]))))
            except (Undefined, Unsettled) as why:
                out.append((arg, why))
        return out

    def derivative(self, node: Node, k: int, out: Number, args: list[Number]) -> Number:
        op, a = node.op, args[0]
        if op == "add":
            return _ONE
        if op == "sub":
            return _ONE if k == 0 else -_ONE
        if op == "mul":
            return args[1 - k]
        if op == "div":
            return self.div(_ONE, args[1]) if k == 0 else self.neg(self.div(out, args[1]))
        if op == "neg":
            return -_ONE
        if op == "pow":
            return self.dpow_dbase(a, args[1]) if k == 0 else self.dpow_dexponent(a, args[1], out)
        if op == "relu":
            sign = _sign(a)
            if sign == 0:
                raise Undefined("relu has a kink at 0: no derivative there (frameworks pick 0)")
            if sign is None:
                raise Unsettled("relu's argument could not be told from 0")
            return _ONE if sign > 0 else _ZERO
        if op == "tanh":
            c = self.cosh_of_abs(a)
            return self.div(_ONE, self.mul(c, c))
        if op == "exp":
            return out
        if op == "log":
            return self.div(_ONE, a)
        if op == "sigmoid":
            return self.div(_ONE, self.add(Fraction(2), self.mul(Fraction(2), self.cosh_of_abs(a))))
        raise ValueError(f"unknown operation {op!r}")

    def dpow_dbase(self, a: Number, b: Number) -> Number:
        if _sign(a) == 0:
            above_one = _sign(self.sub(b, _ONE))
            if above_one == 0:
                return _ONE  # x**1 has slope 1 at 0
            if above_one is None:
                raise Unsettled("the exponent of 0 could not be told from 1")
            if above_one > 0:
                return _ZERO
            raise Undefined(f"x**{_text_number(b)} has an infinite slope at x = 0: no finite derivative")
        return self.mul(b, self.power(a, self.sub(b, _ONE)))

    def dpow_dexponent(self, a: Number, b: Number, out: Number) -> Number:
        sign = _sign(a)
        if sign == 0:
            return _ZERO  # 0**y is 0 for every y > 0
        if sign is None:
            raise Unsettled("a base could not be told from 0")
        if sign < 0:
            raise Undefined(f"({_text_number(a)})**y is not real for y near {_text_number(b)}: no derivative in the exponent")
        return self.mul(out, self.log(a))


def _power_of_two(exponent: Raw, rnd: str) -> Raw:
    """2**exponent rounded to an integer exponent in the direction rnd; 0 or inf past +-HUGE."""
    if libmp.mpf_gt(exponent, _HUGE):
        return libmp.finf if rnd == libmp.round_ceiling else _TWO_TO_HUGE
    if libmp.mpf_lt(exponent, _MINUS_HUGE):
        return libmp.fzero if rnd == libmp.round_floor else _TWO_TO_MINUS_HUGE
    return libmp.from_man_exp(1, libmp.to_int(exponent, rnd))


def _exp_beyond(x: Raw, rnd: str) -> Raw:
    """A bound of e**x for |x| > CAP: 2**x < e**x < 2**(2x) for x > 0, and 2**(2x) < e**x < 2**x for x < 0."""
    twice = libmp.mpf_shift(x, 1)
    positive = libmp.mpf_sign(x) > 0
    if rnd == libmp.round_floor:
        return _power_of_two(x if positive else twice, rnd)
    return _power_of_two(twice if positive else x, rnd)


def _cosh_beyond(x: Raw, rnd: str) -> Raw:
    """A bound of cosh(x) for x > CAP: e**x/2 < cosh(x) < e**x."""
    if rnd == libmp.round_floor:
        return libmp.mpf_shift(_exp_beyond(x, rnd), -1)
    return _exp_beyond(x, rnd)


def _tanh(x: Raw, prec: int, rnd: str) -> Raw:
    result: Raw = libmp.mpf_cosh_sinh(x, prec, rnd, tanh=1)
    return result


def _cosh(x: Raw, prec: int, rnd: str) -> Raw:
    result: Raw = libmp.mpf_cosh_sinh(x, prec, rnd)[0]
    return result


def _widen(x: Raw, direction: int, prec: int) -> Raw:
    """x moved outward (down for -1, up for 1) by one unit in the last of `prec` bits: room for the last bits of an
    elementary function that mpmath computed `prec + 16` bits deep."""
    if not x[1]:
        return x  # 0 or an infinity
    _, _, exp, bc = x
    step = (0, 1, exp + bc - prec, 1)
    rnd = libmp.round_floor if direction < 0 else libmp.round_ceiling
    moved: Raw = libmp.mpf_add(x, step if direction > 0 else libmp.mpf_neg(step), prec + 16, rnd)
    return moved


def _integer(b: Number) -> int | None:
    """b as an int where b is an exact integer."""
    if isinstance(b, Fraction) and b.denominator == 1:
        return b.numerator
    return None


def _holds_integer(b: Interval) -> bool:
    """Whether the enclosure b contains an integer."""
    lo, hi = b
    if not (lo[1] and hi[1]):
        return True  # an infinite end
    return libmp.mpf_le(libmp.mpf_ceil(lo), hi)


@functools.lru_cache(maxsize=64)
def _structure(expr: Expression) -> tuple[int, ...]:
    """Per node an id, equal for nodes that apply the same operations to the same inputs and constants."""
    ids: dict[tuple[Any, ...], int] = {}
    out: list[int] = []
    for n in expr.nodes:
        key = (n.op, n.name, n.value, math.copysign(1.0, n.value), *(out[a] for a in n.args))
        out.append(ids.setdefault(key, len(ids)))
    return tuple(out)


@functools.lru_cache(maxsize=64)
def _needs_grad_cached(expr: Expression) -> tuple[bool, ...]:
    needs = [False] * len(expr.nodes)
    for i, n in enumerate(expr.nodes):
        needs[i] = n.op == "input" or any(needs[a] for a in n.args)
    return tuple(needs)


def _needs_grad(expr: Expression) -> list[bool]:
    """Per node: whether it depends on an input (a constant part needs no derivative)."""
    return list(_needs_grad_cached(expr))


# --- condition and cancellation: explanations, never the truth ---


def _monte_carlo(expr: Expression, inputs: tuple[tuple[str, float], ...], bits: int, exact: dict[str, Outcome]) -> dict[str, Any]:
    """Per quantity: the largest change that float64-sized roundings of every operation cause over MONTE_CARLO_RUNS
    reruns at `bits` bits (Monte Carlo arithmetic, Parker 1997; seeded, so reproducible), as an mpmath number, from
    the `exact` outcome; a quantity that some run cannot evaluate is left out."""
    rng = random.Random(1997)

    factors = [libmp.mpf_add(libmp.fone, libmp.from_float((2 * rng.random() - 1) * UNIT_ROUNDOFF), 64) for _ in range(97)]
    draws = iter(factors * (1 + 6 * len(expr.nodes) * MONTE_CARLO_RUNS // len(factors)))

    def perturb(v: Number) -> Number:
        if isinstance(v, Fraction) and v == 0:
            return v
        lo, hi = _interval(v, bits)
        factor = next(draws)  # positive: the ends stay in order
        return libmp.mpf_mul(lo, factor, bits, libmp.round_floor), libmp.mpf_mul(hi, factor, bits, libmp.round_ceiling)

    deviation: dict[str, Any] = {}
    failed: set[str] = set()
    for _ in range(MONTE_CARLO_RUNS):
        run, _ = _Pass(expr, dict(inputs), bits, perturb).run()
        for key, v in run.items():
            reference, got = _midpoint(exact[key]), _midpoint(v)
            if reference is None or got is None:
                failed.add(key)
            else:
                with mpmath.workprec(START_BITS):
                    deviation[key] = max(deviation.get(key, mpmath.mpf(0)), abs(got - reference))
    return {k: v for k, v in deviation.items() if k not in failed}


def _midpoint(v: Outcome) -> Any:
    """The middle of v as an mpmath number; None for no number or an infinite end."""
    if isinstance(v, Undefined | Unsettled):
        return None
    lo, hi = _interval(v, START_BITS)
    if not (lo[1] or lo == libmp.fzero) or not (hi[1] or hi == libmp.fzero):
        return None
    with mpmath.workprec(START_BITS):
        return (mpmath.mpf(lo) + mpmath.mpf(hi)) / 2


def _condition(exact: Number, deviation: Any) -> tuple[float | None, float]:
    middle = _midpoint(exact)
    if middle is None:
        return None, 0.0
    with mpmath.workprec(START_BITS):
        condition = None if middle == 0 else float(deviation / abs(middle) / mpmath.mpf(UNIT_ROUNDOFF))
        return condition, float(deviation)


def _worst_cancellation(expr: Expression, vals: list[Number]) -> str:
    """The addition or subtraction whose operands are largest relative to its result, if that ratio exceeds 1000."""
    best, where = mpmath.mpf(1000), ""
    with mpmath.workprec(START_BITS):
        for i, node in enumerate(expr.nodes):
            if node.op not in ("add", "sub"):
                continue
            a, b, result = (_midpoint(vals[k]) for k in (*node.args, i))
            if a is None or b is None or result is None:
                continue
            if result == 0:
                ratio = mpmath.inf if (a != 0 or b != 0) else mpmath.mpf(0)
            else:
                ratio = (abs(a) + abs(b)) / abs(result)
            if ratio > best:
                best, where = ratio, f"{_node_text(expr, i)}: its operands are {_text_mpf(ratio)} times larger than its result"
    return where


def _node_text(expr: Expression, i: int) -> str:
    """Node i as text (the expression restricted to it), shortened to about 60 characters."""
    text = Expression(_subgraph(expr, i)).source
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


def _text_number(v: Number) -> str:
    if isinstance(v, Fraction):
        with mpmath.workprec(64):
            return _text_mpf(mpmath.mpf(v.numerator) / v.denominator)
    return _text(v[0]) if v[0] == v[1] else f"[{_text(v[0])}, {_text(v[1])}]"


def _text(x: Raw) -> str:
    with mpmath.workprec(64):
        return _text_mpf(mpmath.mpf(x))


def _text_mpf(x: Any) -> str:
    """x in three digits; a number beyond 10**+-1000 as its power of ten alone."""
    if mpmath.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x != 0 and abs(mpmath.log10(abs(x))) > 1000:
        return f"{'-' if x < 0 else ''}10**{int(mpmath.floor(mpmath.log10(abs(x))))}"
    text: str = mpmath.nstr(x, 3)
    return text


def main() -> None:
    """`python -m comparisons.judge.truth`: the truth of every catalog case, and how long it took (what it adds to a report)."""
    from comparisons.judge.catalog import CATALOG

    started = time.perf_counter()
    bits = [truth(case.expression, case.inputs).bits for case in CATALOG]
    seconds = time.perf_counter() - started
    print(f"the truth of the {len(CATALOG)} catalog cases: {seconds:.2f} s, at {min(bits)} to {max(bits)} bits")


if __name__ == "__main__":
    main()
