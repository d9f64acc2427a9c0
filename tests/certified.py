"""A certified reference for expressions, written for the tests and independent of the judge's truth.

It evaluates a `backends.expr.Expression` exactly where that is simple and rigorously everywhere else:

- A value is an exact `Fraction` while only + - * / and small integer powers of rationals made it (inputs and
  literals are floats, hence rationals), or `exp(0)`, `log(1)`, `tanh(0)`, `sigmoid(0)`, `relu` of an exact number.
  Otherwise it is an `mpmath.iv` interval that encloses the exact real number; every function below is monotone
  on the pieces it is evaluated on, so enclosing the ends encloses the whole. mpmath's exp, expm1, log and integer
  powers are widened by 16 units in the last place (they are not always rigorous), and interval ends are negated
  exactly (mpf's own -x rounds to mpmath's global precision).
- Gradients are forward mode: one pass per input, the tangent of a node that does not depend on the input is a
  structural zero (None) and contributes nothing; every other local derivative must be defined.
- The precision doubles from 64 bits until each quantity's enclosure rounds to one float of the dtype (rounding
  written here: nearest-even, subnormals, overflow to inf), or the budget is spent ("not determined").

Undefined is decided only where the mathematics is: division by an exact zero, log of a number <= 0, 0**0, 0 to a
negative power, a negative base to a non-integer power; for a gradient also a relu kink hit at exactly 0 where the
slopes on the two sides differ (one-sided slopes by forward mode in both directions: relu(x) at 0 is undefined,
relu(x)**3 and relu(x - x) have slope 0), the slope of 0**b with b < 1 (infinite), a base at 0 that goes below 0
on one side under a power that is not a fixed integer (x**1.5 at 0), and the slope in the exponent of a negative
base (not real nearby), these where their argument moves; with an argument of slope exactly 0 they are "not
determined" (the argument may be constant nearby, like x/x, or not, like x*x). An exact zero rounds to
+0.0; a negative number too small for the dtype rounds to -0.0. Huge or tiny intermediates are ordinary numbers.
"""

from __future__ import annotations

import math
import random
import struct
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import mpmath
from mpmath import iv, libmp, mp, mpf

from backends.expr import Expression, Node

FORMATS = {"float64": (53, -1022, 1023), "float32": (24, -126, 127)}  # mantissa bits, emin, emax
START_BITS = 64
MAX_BITS = 8192
EXACT_LIMIT_BITS = 4096  # a Fraction bigger than this (numerator or denominator) becomes an interval
EXP_LIMIT = mpf(2) ** 1100  # beyond |x| = 2**1100, exp(x) is bounded by exp(2**1100) or 0 instead of computed

Real = Any  # Fraction (exact) or an mpmath.iv interval (mpmath has no types)


class Undefined(Exception):
    """The mathematics gives no real number here; the message says why."""


class Undecidable(Exception):
    """No precision can decide this from the point alone: the quantity is "not determined"."""


class Unsure(Exception):
    """This precision cannot decide a question (a sign, an equality); a higher one may."""


@dataclass(frozen=True)
class Certified:
    """One quantity: status "determined" (value is its float), "undefined" or "not determined" (value None).
    `enclosure` is (lo, hi) as Fractions or mpf at the last precision tried (None when undefined)."""

    status: str
    value: float | None
    reason: str
    enclosure: tuple[Any, Any] | None = None
    exact_zero: bool = False


# ---------------------------------------------------------------- rounding to a float format


def _finish(negative: bool, m: int, q: int, fmt: str) -> float:
    """The float (-1)**negative * m * 2**q, already rounded to the format's precision; inf past its range."""
    emax = FORMATS[fmt][2]
    if m and m.bit_length() + q > emax + 1:
        out = math.inf
    else:
        out = math.ldexp(m, q) if m else 0.0
    return -out if negative else out


def round_fraction(x: Fraction, fmt: str) -> float:
    """x rounded to nearest (ties to even) in the format, with subnormals and overflow to inf."""
    p, emin, _ = FORMATS[fmt]
    if x == 0:
        return 0.0
    negative, x = x < 0, abs(x)
    n, d = x.numerator, x.denominator
    top = n.bit_length() - d.bit_length()  # 2**(top-1) < x < 2**(top+1): find which side of 2**top
    if (n << max(-top, 0)) < (d << max(top, 0)):
        top -= 1
    q = max(top - (p - 1), emin - (p - 1))
    num, den = (n << -q, d) if q < 0 else (n, d << q)
    m, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and m % 2):
        m += 1
    return _finish(negative, m, q, fmt)


def round_mpf(x: Any, fmt: str) -> float:
    """An mpf (exact dyadic, any exponent, or +-inf) rounded to nearest (ties to even) in the format."""
    p, emin, emax = FORMATS[fmt]
    if x == 0:
        return 0.0
    if x != x:
        raise Unsure("nan in an enclosure")
    if mpmath.isinf(x):
        return math.inf if x > 0 else -math.inf
    sign, man, exp, bc = x._mpf_
    top = exp + bc - 1
    if top > emax + 1:
        return -math.inf if sign else math.inf
    q = max(top - (p - 1), emin - (p - 1))
    if exp >= q:
        m = man << (exp - q)
    elif q - exp > bc + 1:
        m = 0  # below a quarter of the smallest subnormal
    else:
        shift = q - exp
        m, rem = man >> shift, man & ((1 << shift) - 1)
        half = 1 << (shift - 1)
        if rem > half or (rem == half and m % 2):
            m += 1
    return _finish(bool(sign), m, q, fmt)


# ---------------------------------------------------------------- exact or interval arithmetic


def lo(x: Any) -> Any:
    """The lower end of an interval, as an exact mpf."""
    return mp.make_mpf(x._mpi_[0])


def hi(x: Any) -> Any:
    """The upper end of an interval, as an exact mpf."""
    return mp.make_mpf(x._mpi_[1])


def _exact_small(x: Fraction) -> bool:
    return max(x.numerator.bit_length(), x.denominator.bit_length()) <= EXACT_LIMIT_BITS


def to_iv(x: Real) -> Any:
    """An interval enclosing x at the current precision (outward rounding of a Fraction)."""
    if isinstance(x, Fraction):
        lo = libmp.from_rational(x.numerator, x.denominator, iv.prec, libmp.round_floor)
        hi = libmp.from_rational(x.numerator, x.denominator, iv.prec, libmp.round_ceiling)
        return iv.make_mpf((lo, hi))
    return x


def _as_fraction(x: Any) -> Fraction | None:
    """A finite mpf of moderate exponent as an exact Fraction (None otherwise)."""
    if not mpmath.isfinite(x):
        return None
    negative, man, exp, _ = x._mpf_
    if abs(exp) > EXACT_LIMIT_BITS:
        return None
    out = Fraction(man << exp) if exp >= 0 else Fraction(man, 1 << -exp)
    return -out if negative else out


def _checked(x: Any) -> Real:
    """A result kept exact while it is small, else an interval; an interval of one point is that exact number."""
    if isinstance(x, Fraction):
        return x if _exact_small(x) else to_iv(x)
    a, b = lo(x), hi(x)
    if a != a or b != b:
        raise Unsure("an enclosure went to nan")
    if a == b:
        exact = _as_fraction(a)
        if exact is not None and _exact_small(exact):
            return exact
    return x


def add(x: Real, y: Real) -> Real:
    if isinstance(x, Fraction) and isinstance(y, Fraction):
        return _checked(x + y)
    return _checked(to_iv(x) + to_iv(y))


def neg(x: Real) -> Real:
    return -x


def mul(x: Real, y: Real) -> Real:
    if isinstance(x, Fraction) and isinstance(y, Fraction):
        return _checked(x * y)
    if (isinstance(x, Fraction) and x == 0) or (isinstance(y, Fraction) and y == 0):
        return Fraction(0)  # exactly zero, however loose the other enclosure
    return _checked(to_iv(x) * to_iv(y))


def div(x: Real, y: Real) -> Real:
    """x / y; y must already be known nonzero."""
    if isinstance(x, Fraction) and isinstance(y, Fraction):
        return _checked(x / y)
    if isinstance(x, Fraction) and x == 0:
        return Fraction(0)
    return _checked(to_iv(x) / to_iv(y))


def sign(x: Real) -> int:
    """-1, 0 or 1, exactly; Unsure when an interval holds 0 (it may or may not be 0)."""
    if isinstance(x, Fraction):
        return (x > 0) - (x < 0)
    if lo(x) > 0:
        return 1
    if hi(x) < 0:
        return -1
    raise Unsure("cannot tell the sign of a value near 0")


def exact_integer(x: Real) -> int | None:
    """x as an int when it is exactly an integer; None when it is certainly not; Unsure when undecided."""
    if isinstance(x, Fraction):
        return int(x) if x.denominator == 1 else None
    a, b = lo(x), hi(x)
    if (a > 0 and b < 1) or (a > -1 and b < 0):
        return None  # strictly between 0 and +-1, however tiny
    fa, fb = _as_fraction(a), _as_fraction(b)
    if fa is not None and fb is not None and math.floor(fa) == math.floor(fb) and fa != math.floor(fa):
        return None  # strictly between two consecutive integers
    raise Unsure("cannot tell whether an exponent is an integer")


def widened(x: Any) -> Any:
    """An mpmath function's interval, widened by 16 units of its last place: mpmath.iv is not always rigorous (at
    2048 bits, iv.exp(4.965e-321) is the single point 1 + 4.965e-321), but its error is far below that."""
    bits = iv.prec - 4
    below, above = libmp.from_man_exp((1 << bits) - 1, -bits), libmp.from_man_exp((1 << bits) + 1, -bits)
    return x * iv.make_mpf((below, above))  # times [1 - 2**-bits, 1 + 2**-bits], both exact


def exact_negative(x: Any) -> Any:
    """-x for an mpf, exactly: mpf's own `-x` and `abs(x)` round to mpmath.mp.prec, whatever the interval's precision."""
    return mp.make_mpf(libmp.mpf_neg(x._mpf_))


def _point(x: Any) -> Any:
    return iv.make_mpf((x._mpf_, x._mpf_))


def _exp_lower(x: Any) -> Any:
    """A lower bound of exp(x) for an mpf x (0 far below the range)."""
    if x < -EXP_LIMIT:
        return mpf(0)
    return lo(widened(iv.exp(_point(min(x, EXP_LIMIT)))))


def _exp_upper(x: Any) -> Any:
    if x > EXP_LIMIT:
        return mpf("inf")
    return hi(widened(iv.exp(_point(max(x, -EXP_LIMIT)))))


def exp(x: Real) -> Real:
    if isinstance(x, Fraction) and x == 0:
        return Fraction(1)
    x = to_iv(x)
    return iv.make_mpf((_exp_lower(lo(x))._mpf_, _exp_upper(hi(x))._mpf_))


def log(x: Real) -> Real:
    if sign(x) <= 0:
        raise Undefined("log of a number <= 0")
    if isinstance(x, Fraction) and x == 1:
        return Fraction(0)
    return _checked(widened(iv.log(to_iv(x))))


def _tanh_point(x: Any) -> Any:
    """An interval enclosing tanh of the mpf x (tanh(x) = t / (t + 2), t = expm1(2x), near 0; no cancellation)."""
    if x < 0:
        return -_tanh_point(exact_negative(x))
    if x < 1:
        t = widened(iv.expm1(2 * _point(x)))
        return t / (t + 2)
    e = exp(-2 * _point(x))
    return (1 - e) / (1 + e)


def tanh(x: Real) -> Real:
    if isinstance(x, Fraction) and x == 0:
        return Fraction(0)
    x = to_iv(x)
    return iv.make_mpf((lo(_tanh_point(lo(x)))._mpf_, hi(_tanh_point(hi(x)))._mpf_))


def _sigmoid_point(x: Any) -> Any:
    if x >= 0:
        return 1 / (1 + exp(-_point(x)))
    e = exp(_point(x))
    return e / (1 + e)


def sigmoid(x: Real) -> Real:
    if isinstance(x, Fraction) and x == 0:
        return Fraction(1, 2)
    x = to_iv(x)
    return iv.make_mpf((lo(_sigmoid_point(lo(x)))._mpf_, hi(_sigmoid_point(hi(x)))._mpf_))


def _sech2_point(x: Any) -> Any:
    """sech(x)**2 = 4e / (1 + e)**2 with e = exp(-2|x|): a sum of positive terms, no cancellation."""
    e = exp(-2 * _point(exact_negative(x) if x < 0 else x))
    return 4 * e / ((1 + e) ** 2)


def sech2(x: Real) -> Real:
    """1 - tanh(x)**2, which is even and falls with |x|."""
    if isinstance(x, Fraction) and x == 0:
        return Fraction(1)
    x = to_iv(x)
    a, b = lo(x), hi(x)
    if a <= 0 <= b:
        far = a if exact_negative(a) > b else b
        return iv.make_mpf((lo(_sech2_point(far))._mpf_, mpf(1)._mpf_))
    near, far = (a, b) if a > 0 else (b, a)
    return iv.make_mpf((lo(_sech2_point(far))._mpf_, hi(_sech2_point(near))._mpf_))


def sigmoid_derivative(x: Real) -> Real:
    """sigmoid(x) * (1 - sigmoid(x)) = sech(x/2)**2 / 4."""
    return mul(sech2(mul(x, Fraction(1, 2))), Fraction(1, 4))


def relu(x: Real) -> Real:
    if isinstance(x, Fraction):
        return max(x, Fraction(0))
    if lo(x) >= 0:
        return x
    if hi(x) <= 0:
        return Fraction(0)
    return iv.make_mpf((mpf(0)._mpf_, hi(x)._mpf_))


def power(a: Real, b: Real) -> Real:
    """a ** b as a real number, or Undefined (0**0, 0 to a negative power, negative base to a non-integer)."""
    if isinstance(b, Fraction) and b.denominator == 1 and b > 0:  # a positive integer power: defined for every a
        return _int_pow(a, int(b))
    sa = sign(a)
    if sa == 0:
        sb = sign(b)
        if sb > 0:
            return Fraction(0)
        raise Undefined("0 ** 0" if sb == 0 else "0 to a negative power (a pole)")
    if sa > 0:
        if isinstance(a, Fraction) and a == 1:
            return Fraction(1)
        if isinstance(b, Fraction) and b.denominator == 1:
            return _int_pow(a, int(b))
        return exp(mul(b, log(a)))
    m = exact_integer(b)
    if m is None:
        raise Undefined("a negative base to a non-integer power")
    return _int_pow(a, m)


def _int_pow(a: Real, n: int) -> Real:
    """a ** n for an integer n (a is nonzero when n <= 0)."""
    if isinstance(a, Fraction) and abs(n) * max(a.numerator.bit_length(), a.denominator.bit_length()) <= EXACT_LIMIT_BITS:
        return a**n
    if abs(n) < 2**20:
        return _checked(widened(to_iv(a) ** n))
    s = sign(a)
    if s == 0:
        return Fraction(0)
    magnitude = exp(mul(Fraction(n), log(abs(a) if isinstance(a, Fraction) else abs(to_iv(a)))))
    return neg(magnitude) if s < 0 and n % 2 else magnitude


# ---------------------------------------------------------------- the program and its derivatives


def _values(expr: Expression, inputs: dict[str, Fraction]) -> list[Real]:
    vals: list[Real] = []
    for n in expr.nodes:
        args = [vals[i] for i in n.args]
        if n.op == "input":
            v: Real = inputs[n.name]
        elif n.op == "const":
            v = Fraction(n.value)
        elif n.op == "neg":
            v = neg(args[0])
        elif n.op == "add":
            v = add(*args)
        elif n.op == "sub":
            v = add(args[0], neg(args[1]))
        elif n.op == "mul":
            v = mul(*args)
        elif n.op == "div":
            if sign(args[1]) == 0:
                raise Undefined("division by zero")
            v = div(*args)
        elif n.op == "pow":
            v = power(*args)
        elif n.op == "relu":
            v = relu(args[0])
        elif n.op == "tanh":
            v = tanh(args[0])
        elif n.op == "exp":
            v = exp(args[0])
        elif n.op == "log":
            v = log(args[0])
        elif n.op == "sigmoid":
            v = sigmoid(args[0])
        else:
            raise ValueError(f"unknown operation {n.op!r}")
        vals.append(v)
    return vals


def _pow_base_derivative(a: Real, b: Real, v: Real, ta: Real) -> Real:
    """d(a**b)/da where a**b = v is defined; `ta` is the base's tangent (it decides the infinite slope at 0)."""
    n = exact_integer(b) if isinstance(b, Fraction) else None
    if n is not None:
        if n == 0:
            return Fraction(0)
        if n == 1:
            return Fraction(1)
        return mul(Fraction(n), power(a, Fraction(n - 1)))
    if sign(a) == 0:  # 0 ** b with b > 0 not an exact integer
        if isinstance(b, Fraction):
            below = b < 1
        else:
            if lo(b) > 1:
                below = False
            elif hi(b) < 1:
                below = True
            else:
                raise Unsure("cannot tell whether the exponent is below 1")
        if below:
            _unless_flat(ta, "the derivative of 0 ** b for b < 1 is infinite")
        return Fraction(0)
    return div(mul(b, v), a)


def _pow_exponent_derivative(a: Real, v: Real, tb: Real) -> Real:
    """d(a**b)/db where a**b = v is defined; `tb` is the exponent's tangent."""
    sa = sign(a)
    if sa == 0:
        return Fraction(0)  # 0 ** p is 0 for every p near b > 0
    if sa < 0:
        _unless_flat(tb, "a negative base has no real power at the non-integer exponents nearby")
        return Fraction(0)
    return mul(v, log(a))


def _below_zero(b: Real, tb: Real | None) -> None:
    """0 ** b whose base goes below 0 on this side, where a non-integer power is not real. The convention (the lead's
    ruling, as the judge's truth and every framework have it): at the edge of its domain a power's derivative is the
    one-sided one, from the side where it is real, so nothing is undefined here; an infinite slope there (b < 1) still
    is (_pow_base_derivative)."""
    del b, tb


def _unless_flat(t: Real, reason: str) -> None:
    """Undefined(reason) where the argument moves (tangent nonzero). With an exactly zero tangent the argument may be
    constant nearby (x/x) or not (x*x); that cannot be told from the point, so the quantity is not determined."""
    if sign(t) != 0:
        raise Undefined(reason)
    raise Undecidable(f"{reason} where the argument moves; here its slope is exactly 0")


def _tangents(expr: Expression, vals: list[Real], name: str, direction: int, kinks: list[int]) -> Real | None:
    """The one-sided derivative of the result as `name` moves by `direction` (+1 or -1), by forward mode; None when
    the result does not depend on name. Each relu met exactly at its kink is appended to `kinks`."""
    tan: list[Real | None] = []
    for k, n in enumerate(expr.nodes):
        ts = [tan[i] for i in n.args]
        args = [vals[i] for i in n.args]
        t: Real | None = None
        if n.op == "input":
            t = Fraction(direction) if n.name == name else None
        elif n.op == "const" or all(x is None for x in ts):
            t = None
        elif n.op == "neg":
            t = neg(ts[0])
        elif n.op in ("add", "sub"):
            other = ts[1] if n.op == "add" or ts[1] is None else neg(ts[1])
            t = ts[0] if other is None else other if ts[0] is None else add(ts[0], other)
        elif n.op == "mul":
            t = _sum(mul(ts[0], args[1]) if ts[0] is not None else None, mul(args[0], ts[1]) if ts[1] is not None else None)
        elif n.op == "div":
            first = div(ts[0], args[1]) if ts[0] is not None else None
            second = neg(div(mul(vals[k], ts[1]), args[1])) if ts[1] is not None else None
            t = _sum(first, second)
        elif n.op == "pow":
            a, b = args
            if isinstance(a, Fraction) and a == 0 and ts[0] is not None and sign(ts[0]) < 0:
                _below_zero(b, ts[1])
            a_part = mul(_pow_base_derivative(a, b, vals[k], ts[0]), ts[0]) if ts[0] is not None else None
            b_part = mul(_pow_exponent_derivative(a, vals[k], ts[1]), ts[1]) if ts[1] is not None else None
            t = _sum(a_part, b_part)
        elif n.op == "relu":
            s = sign(args[0])
            if s == 0:  # at the kink the one-sided slope is max(slope inside, 0)
                kinks.append(k)
                s = sign(ts[0])
            t = ts[0] if s > 0 else Fraction(0)
        elif n.op == "exp":
            t = mul(vals[k], ts[0])
        elif n.op == "log":
            t = div(ts[0], args[0])
        elif n.op == "tanh":
            t = mul(sech2(args[0]), ts[0])
        elif n.op == "sigmoid":
            t = mul(sigmoid_derivative(args[0]), ts[0])
        tan.append(t)
    return tan[-1]


def _sum(x: Real | None, y: Real | None) -> Real | None:
    if x is None:
        return y
    if y is None:
        return x
    return add(x, y)


def enclosures(expr: Expression, inputs: dict[str, float], bits: int) -> dict[str, tuple[Any, Any] | str]:
    """Each quantity ("value", "grad:NAME") at `bits` of working precision: (lo, hi) enclosing the exact number
    (Fractions when exact, else mpf), or text: "undefined: why", "undecidable: why" (at any precision) or
    "unsure: why" (a higher precision may decide)."""
    names = [n.name for n in expr.nodes if n.op == "input"]
    point = {name: Fraction(inputs[name]) for name in names}
    out: dict[str, tuple[Any, Any] | str] = {}
    saved = iv.prec
    iv.prec = bits
    try:
        try:
            vals = _values(expr, point)
        except (Undefined, Undecidable, Unsure) as exc:
            text = _reason(exc)
            return {"value": text, **{f"grad:{name}": text for name in names}}
        out["value"] = _ends(vals[-1])
        for name in names:
            try:
                out[f"grad:{name}"] = _ends(_gradient(expr, vals, name))
            except (Undefined, Undecidable, Unsure) as exc:
                out[f"grad:{name}"] = _reason(exc)
    finally:
        iv.prec = saved
    return out


def _gradient(expr: Expression, vals: list[Real], name: str) -> Real:
    """d(result)/d(name): the slope to the right, which must be minus the slope to the left where a relu kink is hit
    (relu(x) at 0 has slopes 1 and 0: undefined; relu(x)**3, relu(x - x) or relu(x) - relu(x) have slope 0)."""
    kinks: list[int] = []
    right = _tangents(expr, vals, name, 1, kinks)
    left = _tangents(expr, vals, name, -1, [])  # also where the left side leaves the domain (x**1.5 at 0)
    if right is None or left is None:
        return Fraction(0)
    if kinks and sign(add(right, left)) != 0:
        raise Undefined("relu's kink at exactly 0: the slopes on the two sides differ")
    return right


def _reason(exc: Exception) -> str:
    kind = {Undefined: "undefined", Undecidable: "undecidable"}.get(type(exc), "unsure")
    return f"{kind}: {exc}"


def _ends(x: Real) -> tuple[Any, Any]:
    if isinstance(x, Fraction):
        return (x, x)
    return (lo(x), hi(x))


def _round(x: Any, fmt: str) -> float:
    return round_fraction(x, fmt) if isinstance(x, Fraction) else round_mpf(x, fmt)


def certify(expr: Expression, inputs: dict[str, float], dtype: str = "float64", max_bits: int = MAX_BITS) -> dict[str, Certified]:
    """Every quantity rounded to the dtype, certified: precision doubles from START_BITS to max_bits until each
    enclosure's ends round to the same float (and the same sign of zero)."""
    if dtype not in FORMATS:
        raise ValueError(f"dtype {dtype!r} is not one of {', '.join(FORMATS)}")
    result: dict[str, Certified] = {}
    bits = START_BITS
    while True:
        for key, got in enclosures(expr, inputs, bits).items():
            if key in result:
                continue
            if isinstance(got, str):
                if got.startswith("undefined"):
                    result[key] = Certified("undefined", None, got.removeprefix("undefined: "))
                elif got.startswith("undecidable"):
                    result[key] = Certified("not determined", None, got.removeprefix("undecidable: "))
                elif bits * 2 > max_bits:
                    result[key] = Certified("not determined", None, f"{got.removeprefix('unsure: ')} at {bits} bits")
                continue
            lo, hi = got
            try:
                flo, fhi = _round(lo, dtype), _round(hi, dtype)
            except Unsure:
                flo, fhi = math.nan, 0.0
            exact = isinstance(lo, Fraction) and lo == hi
            if exact or (flo == fhi and math.copysign(1, flo) == math.copysign(1, fhi)):
                result[key] = Certified("determined", flo, "exact" if exact else f"{bits} bits", got, exact and lo == 0)
            elif bits * 2 > max_bits:
                result[key] = Certified("not determined", None, f"[{flo!r}, {fhi!r}] at {bits} bits", got)
        if len(result) == 1 + len(expr.inputs) or bits * 2 > max_bits:
            return result
        bits *= 2


# ---------------------------------------------------------------- comparing another truth with this one


def same_float(ref: Certified, value: float | None) -> bool:
    """The judge's float equals the reference's bit for bit; an exact zero may carry either sign."""
    if value is None or ref.value is None:
        return False
    if math.isnan(value) or math.isnan(ref.value):
        return False
    if value != ref.value:
        return False
    return ref.exact_zero or value != 0 or math.copysign(1, value) == math.copysign(1, ref.value)


def mismatch(ref: Certified, status: str, value: float | None) -> str | None:
    """The kind of disagreement between the reference and the judge's quantity, or None when they agree."""
    if ref.status == "determined" and status == "determined" and not same_float(ref, value):
        return "zero of the other sign" if value == 0 and ref.value == 0 else "different floats"
    if ref.status == "determined" and status == "undefined":
        return "judge undefined, reference determined"
    if ref.status == "undefined" and status == "determined":
        return "judge determined, reference undefined"
    return None


# ---------------------------------------------------------------- random programs over the whole range


def to_dtype(x: float, dtype: str) -> float:
    """x as the nearest value of the dtype (float32 by struct: round to nearest even, overflow to inf)."""
    if dtype == "float64":
        return x
    try:
        return float(struct.unpack("f", struct.pack("f", x))[0])
    except OverflowError:
        return math.copysign(math.inf, x)


def random_number(rng: random.Random, dtype: str) -> float:
    """A number from anywhere in the dtype's finite range: subnormal, tiny, ordinary, huge, 0, +-1, the edges of
    exp's overflow and underflow, the tails of tanh and sigmoid."""
    wide = dtype == "float64"
    kind = rng.choice(["zero", "one", "subnormal", "tiny", "ordinary", "ordinary", "round", "huge", "exp_edge", "tail"])
    if kind == "zero":
        x = 0.0
    elif kind == "one":
        x = 1.0
    elif kind == "subnormal":
        x = math.ldexp(rng.randrange(1, 2**52 if wide else 2**23), -1074 if wide else -149)
    elif kind == "tiny":
        x = 10.0 ** rng.uniform(-307 if wide else -37, -8)
    elif kind == "ordinary":
        x = rng.uniform(-6.0, 6.0)
    elif kind == "round":
        x = rng.choice([0.5, 2.0, 3.0, 0.25, 1.5, 10.0, 0.1, 0.7])
    elif kind == "huge":
        x = 10.0 ** rng.uniform(8, 308 if wide else 38)
    elif kind == "exp_edge":
        x = rng.uniform(705.0, 712.0) if wide else rng.uniform(86.0, 90.0)
        x = x if rng.random() < 0.5 else -x - (40 if wide else 15)
    else:
        x = rng.uniform(15.0, 60.0)
    x = -x if rng.random() < 0.3 else x
    return to_dtype(x, dtype)


def random_constant(rng: random.Random, dtype: str) -> float:
    """A literal: mostly small round numbers and integers, sometimes exact zero, subnormal, huge or a decimal."""
    if rng.random() < 0.6:
        x = rng.choice([0.0, 1.0, 2.0, 3.0, 0.5, 1.5, 0.25, 10.0, 0.7, -1.0, 1e-12, 1000.0])
    elif rng.random() < 0.5:
        x = rng.choice([1e300, 1e-300, 5e-324, 300.0, 1e-30] if dtype == "float64" else [1e30, 1e-30, 1e-45, 90.0])
    else:
        x = random_number(rng, dtype)
    return to_dtype(x, dtype)


UNARY = ("neg", "relu", "tanh", "exp", "log", "sigmoid")
BINARIES = ("add", "sub", "mul", "div", "pow")


def random_program(rng: random.Random, dtype: str = "float64") -> tuple[Expression, dict[str, float]]:
    """A random program on 1-3 inputs with shared subexpressions and literals anywhere, and a point for it.
    Built from nodes (never parsed), so every backend and truth sees exactly these operations."""
    names = ["x", "y", "z"][: rng.randint(1, 3)]
    nodes: list[Node] = [Node("input", name=name) for name in names]
    shared: list[int] = []

    def leaf() -> int:
        r = rng.random()
        if r < 0.2 and shared:
            return rng.choice(shared)
        if r < 0.65:
            return rng.randrange(len(names))
        nodes.append(Node("const", value=random_constant(rng, dtype)))
        return len(nodes) - 1

    def grow(depth: int) -> int:
        if depth == 0 or rng.random() < 0.25:
            return leaf()
        if rng.random() < 0.35:
            op, args = rng.choice(UNARY), [grow(depth - 1)]
        else:
            op = rng.choice(BINARIES)
            args = [grow(depth - 1), grow(depth - 1)]
        nodes.append(Node(op, tuple(args)))
        if rng.random() < 0.3:
            shared.append(len(nodes) - 1)
        return len(nodes) - 1

    result = grow(rng.randint(1, 4))
    live = _live(nodes, result)
    for i in range(len(names)):
        if i not in live:
            nodes.append(Node(rng.choice(["add", "mul"]), (result, i)))
            result = len(nodes) - 1
            live = _live(nodes, result)
    remap: dict[int, int] = {}
    kept: list[Node] = []
    for i in sorted(live):
        n = nodes[i]
        remap[i] = len(kept)
        kept.append(Node(n.op, tuple(remap[a] for a in n.args), n.value, n.name))
    point = {name: random_number(rng, dtype) for name in names}
    return Expression(tuple(kept)), point


def _live(nodes: list[Node], result: int) -> set[int]:
    live = {result}
    for i in range(result, -1, -1):
        if i in live:
            live.update(nodes[i].args)
    return live
