"""The certified truth's helpers at their edges (found by mutation testing: each test below failed for a mutant that
the whole suite let through): the bounds of e**x, cosh and 2**y far beyond what mpmath evaluates, directed rounding
of tanh, whether an enclosure holds an integer, a quantity's noise in each dtype, and the truth's own command.

Each bound is checked against the mathematics it states, in exponents (a power of two is known exactly by its
exponent): e**x lies between 2**x and 2**(2x) for x > 0, since 1 < log2(e) < 2.
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import pytest
from mpmath import libmp
from mpmath.libmp import libmpi

from backends import parse
from comparisons.judge import catalog
from comparisons.judge import truth as judge_truth
from comparisons.judge.truth import Quantity, enclosures

FLOOR, CEILING = libmp.round_floor, libmp.round_ceiling
BEYOND = 2**5000  # past CAP (2**4096): where exp is bounded rather than evaluated


def power_of_two(exponent: int) -> tuple[int, int, int, int]:
    return libmp.from_man_exp(1, exponent)


def exponent_of(power: tuple[int, int, int, int]) -> int:
    """k where `power` is exactly 2**k."""
    sign, mantissa, exponent, _ = power
    assert sign == 0 and mantissa == 1, power
    return int(exponent)


def half_more(n: int) -> tuple[int, int, int, int]:
    """n + 1/2 exactly, an mpf of as many bits as it takes."""
    return libmp.from_man_exp(2 * n + 1, -1)


# --- 2**y rounded to a whole exponent ---


@pytest.mark.parametrize(
    ("y", "floor", "ceiling"),
    [(10.5, 10, 11), (-10.5, -11, -10), (3.0, 3, 3), (-3.0, -3, -3)],
)
def test_power_of_two_rounds_the_exponent_in_the_direction_asked(y: float, floor: int, ceiling: int) -> None:
    exponent = libmp.from_float(y)
    assert exponent_of(judge_truth._power_of_two(exponent, FLOOR)) == floor
    assert exponent_of(judge_truth._power_of_two(exponent, CEILING)) == ceiling


def test_power_of_two_past_huge_is_inf_or_zero_on_the_open_side() -> None:
    above, below = libmp.from_int(2 * judge_truth.HUGE), libmp.from_int(-2 * judge_truth.HUGE)
    assert judge_truth._power_of_two(above, CEILING) == libmp.finf
    assert exponent_of(judge_truth._power_of_two(above, FLOOR)) == judge_truth.HUGE
    assert judge_truth._power_of_two(below, FLOOR) == libmp.fzero
    assert exponent_of(judge_truth._power_of_two(below, CEILING)) == -judge_truth.HUGE


# --- e**x and cosh(x) beyond CAP ---


def test_exp_beyond_is_two_to_x_and_two_to_2x_with_x_rounded_outward() -> None:
    x = half_more(BEYOND)  # x = 2**5000 + 1/2: rounding the exponent shows
    assert exponent_of(judge_truth._exp_beyond(x, FLOOR)) == BEYOND  # 2**floor(x)
    assert exponent_of(judge_truth._exp_beyond(x, CEILING)) == 2 * BEYOND + 1  # 2**ceil(2x)
    minus = libmp.mpf_neg(x)  # e**-x lies between 2**(-2x) and 2**-x
    assert exponent_of(judge_truth._exp_beyond(minus, FLOOR)) == -2 * BEYOND - 1
    assert exponent_of(judge_truth._exp_beyond(minus, CEILING)) == -BEYOND


@pytest.mark.parametrize("sign", [1, -1])
def test_exp_beyond_encloses_e_to_the_x(sign: int) -> None:
    """log2(e**x) = x * log2(e), computed by mpmath with room to spare, lies between the bounds' exponents."""
    x = half_more(BEYOND) if sign > 0 else libmp.mpf_neg(half_more(BEYOND))
    with mpmath.workprec(5200):
        log2_of_exp = mpmath.mpf(x) * mpmath.log(mpmath.e, 2)
        low, high = (exponent_of(judge_truth._exp_beyond(x, r)) for r in (FLOOR, CEILING))
        assert low < log2_of_exp < high


def test_cosh_beyond_is_half_of_e_to_the_x_below_and_e_to_the_x_above() -> None:
    x = half_more(BEYOND)
    assert exponent_of(judge_truth._cosh_beyond(x, FLOOR)) == BEYOND - 1  # e**x / 2 > 2**x / 2
    assert exponent_of(judge_truth._cosh_beyond(x, CEILING)) == 2 * BEYOND + 1


# --- tanh and cosh rounded in the direction asked ---


@pytest.mark.parametrize("x", [0.3, -0.7, 2.5])
@pytest.mark.parametrize("name", ["tanh", "cosh"])
def test_tanh_and_cosh_round_down_and_up_around_the_exact_value(name: str, x: float) -> None:
    raw, bounded = libmp.from_float(x), getattr(judge_truth, f"_{name}")
    low, high = bounded(raw, 10, FLOOR), bounded(raw, 10, CEILING)
    with mpmath.workprec(200):
        exact = getattr(mpmath, name)(mpmath.mpf(x))
        assert mpmath.mpf(low) < exact < mpmath.mpf(high)  # 10 bits: never exact, so strictly


# --- whether an enclosure holds an integer (a negative base's power is real only at integer exponents) ---


@pytest.mark.parametrize(
    ("lo", "hi", "holds"),
    [
        (2.5, 2.7, False),
        (2.5, 3.0, True),
        (3.0, 3.0, True),
        (-0.5, 0.5, True),
        (0.1, 0.9, False),
        (-2.9, -2.1, False),
        (-3.5, -2.5, True),
        (-math.inf, -2.5, True),  # an infinite end holds integers
        (2.5, math.inf, True),
    ],
)
def test_holds_integer(lo: float, hi: float, holds: bool) -> None:
    assert judge_truth._holds_integer((libmp.from_float(lo), libmp.from_float(hi))) is holds


# --- a quantity's noise in ulps of each dtype ---


def test_noise_in_ulps_of_each_dtype() -> None:
    assert Quantity(None, "undefined here", noise=1.0).noise_ulps_in("float64") == 0.0  # no value: nothing to move
    assert Quantity(1.0, noise=2.0**-40).noise_ulps_in("float64") == 2.0**12
    beyond32 = Quantity(1e39, noise=1e23)  # finite in float64, inf in float32
    assert beyond32.noise_ulps_in("float64") == 1e23 / math.ulp(1e39)
    assert beyond32.noise_ulps_in("float32") == 0.0


# --- the reverse pass's special cases: a zero adjoint, relu on its kink ---

KINK = "relu has a kink at 0: no derivative there (frameworks pick 0)"
NOT_REAL = "(-3.0)**y is not real for y near {}: no derivative in the exponent"
INFINITE = "x**0.5 has an infinite slope at x = 0: no finite derivative"


@pytest.mark.parametrize(
    ("source", "point", "expected"),
    [
        # z**x times (x - x) = 0 sends back a zero adjoint, but (-3)**y is real at integer y only: no slope in x
        ("(z ** x) * (x - x) + y", {"x": 1.0, "y": 2.0, "z": -3.0}, {"x": NOT_REAL.format("1.0"), "y": 1.0, "z": 0.0}),
        ("(z ** x) * (x - x) + y", {"x": 1.0, "y": 2.0, "z": 3.0}, {"x": 0.0, "y": 1.0, "z": 0.0}),  # 3**y: 0 * slope
        # relu on its kink: the input that moves its argument has no derivative; one that does not gets 0
        ("relu(x) + y", {"x": 0.0, "y": 2.0}, {"x": KINK, "y": 1.0}),
        ("relu(x * y) + z", {"x": 0.0, "y": 2.0, "z": 1.0}, {"x": KINK, "y": 0.0, "z": 1.0}),
        ("relu(x * y) + z", {"x": 2.0, "y": 0.0, "z": 1.0}, {"x": 0.0, "y": KINK, "z": 1.0}),
        # the pass goes on below the kink: y * z comes before relu(x) in the program
        ("y * z + relu(x)", {"x": 0.0, "y": 2.0, "z": 3.0}, {"x": KINK, "y": 3.0, "z": 2.0}),
        # a slope into the kink that is itself undefined keeps its own reason
        ("relu(x ** 0.5)", {"x": 0.0}, {"x": INFINITE}),
        # where two reasons apply, the one met first on the way back from the result is given
        ("relu(x) + x ** 0.5", {"x": 0.0}, {"x": INFINITE}),
        ("(z ** x) * (x - x) + x ** 0.5", {"x": 0.0, "z": -3.0}, {"x": INFINITE, "z": 0.0}),
        # a slope into the kink that no precision tells from 0 (two enclosures of e, subtracted)
        (
            "relu(x * (exp(y) - exp(y + 0.0)))",
            {"x": 0.0, "y": 1.0},
            {"x": "not determined: a slope into relu's kink could not be told from 0 at ", "y": 0.0},
        ),
    ],
)
def test_the_reverse_pass_at_a_zero_adjoint_and_on_relus_kink(
    source: str, point: dict[str, float], expected: dict[str, float | str]
) -> None:
    grads = judge_truth.truth(source, point).grads
    assert set(grads) == set(expected)
    for name, want in expected.items():
        got = grads[name]
        if isinstance(want, float):
            assert (got.value, got.reason) == (want, ""), (name, got)
        elif want.startswith("not determined: "):
            assert got.value is None and got.reason.startswith(want), (name, got)
        else:
            assert (got.value, got.reason) == (None, want), (name, got)


# --- enclosures and the truth's own command ---


def test_enclosures_of_a_parsed_expression_give_the_reason_where_undefined() -> None:
    out = enclosures(parse("log(x) + y"), {"x": -1.0, "y": 2.0}, 128)
    assert out["value"] == out["grad:y"] == "log of a negative number (-1.0): log is defined for x > 0 only"
    assert enclosures(parse("x * y"), {"x": 3.0, "y": 2.0}, 128)["grad:y"] == (3, 3)  # exact: Fractions, lo == hi


def test_the_truths_command_says_how_many_cases_how_long_and_at_how_many_bits(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = (catalog.get_case("neuron"), catalog.get_case("mixed"))
    monkeypatch.setattr(catalog, "CATALOG", cases)
    clock = iter([100.0, 102.5])
    monkeypatch.setattr(judge_truth.time, "perf_counter", lambda: next(clock))
    judge_truth.main()
    bits = [judge_truth.truth(c.expression, c.inputs).bits for c in cases]
    expected = f"the truth of the 2 catalog cases: 2.50 s, at {min(bits)} to {max(bits)} bits\n"
    assert capsys.readouterr().out == expected


# --- the pass's log, tanh and d/dy x**y on enclosures at their edges ---


def a_pass() -> judge_truth._Pass:
    return judge_truth._Pass(parse("x"), {"x": 1.0}, 128)


def enclosure(lo: float, hi: float) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
    return libmp.from_float(lo), libmp.from_float(hi)


def test_log_of_an_enclosure_reaching_zero_from_below_is_undefined_and_across_zero_unsettled() -> None:
    with pytest.raises(judge_truth.Undefined, match=r"^log of a number <= 0 \(.*\): log is defined for x > 0 only$"):
        a_pass().log(enclosure(-1.0, 0.0))  # every number in it is <= 0
    with pytest.raises(judge_truth.Unsettled) as unsettled:
        a_pass().log(enclosure(-1.0, 0.5))  # more bits may tell which side of 0 it is on
    assert unsettled.value.reason == str(unsettled.value) == "log's argument could not be told from 0"


def test_tanh_of_zero_is_exactly_zero_and_beyond_cap_is_bounded_by_its_limits() -> None:
    zero = a_pass().tanh(Fraction(0))
    assert isinstance(zero, Fraction) and zero == 0
    lo, hi = a_pass().tanh((libmp.from_int(-BEYOND), libmp.from_int(BEYOND)))
    assert (lo, hi) == (libmp.from_int(-1), libmp.fone)
    one_lo, one_hi = a_pass().tanh(Fraction(1))  # tanh(1) = 0.76159...
    with mpmath.workprec(200):
        assert mpmath.mpf(one_lo) < mpmath.tanh(1) < mpmath.mpf(one_hi)


def test_the_slope_in_the_exponent_of_a_power_at_each_sign_of_the_base() -> None:
    p = a_pass()
    assert p.dpow_dexponent(Fraction(0), Fraction(3), Fraction(0)) == 0  # 0**y is 0 for every y > 0
    with pytest.raises(judge_truth.Unsettled) as unsettled:
        p.dpow_dexponent(enclosure(-0.5, 0.5), Fraction(3), Fraction(1))
    assert unsettled.value.reason == str(unsettled.value) == "a base could not be told from 0"
    with pytest.raises(judge_truth.Undefined) as undefined:
        p.dpow_dexponent(Fraction(-2), Fraction(3), Fraction(-8))
    assert undefined.value.reason == "(-2.0)**y is not real for y near 3.0: no derivative in the exponent"
    lo, hi = p.dpow_dexponent(Fraction(2), Fraction(3), Fraction(8))  # 8 * log(2)
    with mpmath.workprec(200):
        assert mpmath.mpf(lo) <= 8 * mpmath.log(2) <= mpmath.mpf(hi)


# --- an mpmath number rounded to a float format: against exact rational rounding ---


def float64_of(q: Fraction) -> float:
    """Python's own correctly rounded conversion (ties to even, subnormals), inf where it overflows."""
    try:
        return float(q)
    except OverflowError:
        return math.inf if q > 0 else -math.inf


RAW_EDGES = [
    libmp.from_man_exp(1, 1023),  # 2**1023: finite
    libmp.from_man_exp(2**53 - 1, 971),  # float64's largest
    libmp.from_man_exp(2**54 - 1, 970),  # just below 2**1024: rounds up to inf
    libmp.from_man_exp(1, 1024),
    libmp.from_man_exp(3, 1100),
    libmp.from_man_exp(3, -1076),  # 1.5 * 2**-1075: above half the smallest subnormal, so 2**-1074
    libmp.from_man_exp(1, -1075),  # exactly half: ties to even, 0
    libmp.from_man_exp(1, -1076),
    libmp.from_man_exp(1, -1100),
    libmp.from_man_exp(2**24 + 1, -24),  # 1 + 2**-24: a tie in float32, 25 bits
    libmp.from_man_exp(2**24 + 3, -24),
    libmp.from_man_exp(2**53 + 1, -53),  # 1 + 2**-53: a tie in float64
    libmp.from_man_exp(3, 126),  # 1.5 * 2**127: float32's range
    libmp.from_man_exp(2**25 - 1, 103),  # just below 2**128: inf in float32
    libmp.from_man_exp(3, -151),  # 1.5 * 2**-150: rounds to float32's smallest subnormal
    libmp.from_man_exp(1, -150),
    libmp.from_float(0.1),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("sign", [1, -1])
@pytest.mark.parametrize("raw", RAW_EDGES, ids=lambda r: f"{r[1]}*2**{r[2]}")
def test_round_raw_is_exact_rounding_at_the_formats_edges(raw: tuple[int, int, int, int], sign: int, dtype: str) -> None:
    v = raw if sign > 0 else libmp.mpf_neg(raw)
    exact = Fraction(int(v[1]) * (-1 if v[0] else 1)) * Fraction(2) ** int(v[2])
    got = judge_truth._round_raw(v, dtype)
    want = float64_of(exact) if dtype == "float64" else judge_truth._round_fraction(exact, "float32")
    assert got == want and math.copysign(1.0, got) == math.copysign(1.0, want), (got, want)  # -0.0 is not 0.0


def test_round_raw_of_the_specials() -> None:
    assert judge_truth._round_raw(libmp.finf, "float64") == math.inf
    assert judge_truth._round_raw(libmp.fninf, "float32") == -math.inf
    zero = judge_truth._round_raw(libmp.fzero, "float64")
    assert zero == 0.0 and math.copysign(1.0, zero) == 1.0


def test_round_raw_spot_values() -> None:
    """The oracle above, pinned where it matters: a tie to even, the smallest subnormal, overflow."""
    assert judge_truth._round_raw(libmp.from_man_exp(2**24 + 1, -24), "float32") == 1.0
    assert judge_truth._round_raw(libmp.from_man_exp(3, -1076), "float64") == 5e-324
    assert judge_truth._round_raw(libmp.mpf_neg(libmp.from_man_exp(1, -1100)), "float64") == -0.0
    assert math.copysign(1.0, judge_truth._round_raw(libmp.mpf_neg(libmp.from_man_exp(1, -1100)), "float64")) == -1.0
    assert judge_truth._round_raw(libmp.mpf_neg(libmp.from_man_exp(3, 1100)), "float64") == -math.inf


# --- exp of an enclosure beyond CAP, and how tight an elementary function's enclosure is ---


def test_exp_of_an_enclosure_beyond_cap_is_bounded_by_powers_of_two() -> None:
    x = half_more(BEYOND)
    lo, hi = a_pass().exp((x, x))
    assert exponent_of(lo) == BEYOND and exponent_of(hi) == 2 * BEYOND + 1


@pytest.mark.parametrize("function", ["exp", "tanh", "log"])
def test_an_elementary_functions_enclosure_is_a_few_units_of_the_precision_wide(function: str) -> None:
    """f computed 16 bits further and widened by one unit of the 128 bits: at most 4 units of 2**-128 relative."""
    lo, hi = getattr(a_pass(), function)(Fraction(3, 7))
    with mpmath.workprec(300):
        width = (mpmath.mpf(hi) - mpmath.mpf(lo)) / abs(mpmath.mpf(hi))
        assert 0 < width <= 4 * mpmath.mpf(2) ** -128, width


# --- the numbers and nodes a reason or a cancellation names, as text ---


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (mpmath.mpf("1e2000"), "10**2000"),  # beyond 10**1000: its power of ten alone
        (-mpmath.mpf("1e2000"), "-10**2000"),
        (mpmath.mpf("1e-2000"), "10**-2000"),
        (mpmath.mpf(10) ** 1000, "1.0e+1000"),  # exactly 10**1000: still three digits
        (mpmath.mpf("123456"), "1.23e+5"),
        (mpmath.mpf(1.5), "1.5"),
        (mpmath.mpf(0), "0.0"),
        (mpmath.inf, "inf"),
        (-mpmath.inf, "-inf"),
    ],
)
def test_a_number_in_three_digits_or_its_power_of_ten(x: object, text: str) -> None:
    with mpmath.workprec(64):
        assert judge_truth._text_mpf(x) == text


def test_an_exact_number_and_an_enclosure_as_text() -> None:
    assert judge_truth._text_number(Fraction(-1)) == "-1.0"
    assert judge_truth._text_number(Fraction(1, 3)) == "0.333"
    assert judge_truth._text_number(enclosure(0.5, 0.75)) == "[0.5, 0.75]"
    assert judge_truth._text_number(enclosure(0.25, 0.25)) == "0.25"


def test_a_node_as_text_is_the_expression_up_to_it_shortened_to_60_characters() -> None:
    expr = parse("y = exp(x) - 1\nz = y * alpha_beta_gamma_delta + y * epsilon_zeta_eta_theta_iota + kappa\nz / 2")
    texts = [judge_truth._node_text(expr, i) for i in range(len(expr.nodes))]
    assert texts[:4] == ["x", "exp(x)", "1.0", "exp(x) - 1.0"]
    assert texts[5] == "(exp(x) - 1.0) * alpha_beta_gamma_delta"
    assert texts[8] == "t0 = exp(x) - 1.0; (t0 * alpha_beta_gamma_delta) + (t0 * ..."
    assert all(len(t) <= 60 for t in texts) and len(texts[8]) == 60
    sixty = "x" * 60  # a name of exactly 60 characters is shown whole
    assert judge_truth._node_text(parse(sixty), 0) == sixty
    assert judge_truth._node_text(parse(sixty + "y"), 0) == sixty[:57] + "..."


def test_a_nodes_subgraph_keeps_what_it_depends_on_renumbered() -> None:
    expr = parse("a = x * 2\nb = y + 1\na - x")
    kept = judge_truth._subgraph(expr, len(expr.nodes) - 1)
    assert [n.op for n in kept] == ["input", "const", "mul", "sub"] and kept[0].name == "x"
    assert kept[2].args == (0, 1) and kept[3].args == (2, 0)  # y and b are left out, the rest renumbered


# --- widening an enclosure's end by one unit of the precision, rounding outward ---


def test_widen_moves_an_end_outward_by_one_unit_and_rounds_outward() -> None:
    one = libmp.fone
    assert judge_truth._widen(one, 1, 10) == libmp.from_float(1 + 2.0**-9)  # one unit of 10 bits at 1
    assert judge_truth._widen(one, -1, 10) == libmp.from_float(1 - 2.0**-9)
    assert judge_truth._widen(libmp.fzero, 1, 10) == libmp.fzero and judge_truth._widen(libmp.finf, -1, 10) == libmp.finf
    x = libmp.from_man_exp(2**40 + 1, -40)  # 1 + 2**-40: moved by 2**-9 it needs more than the 26 bits kept
    up, down = judge_truth._widen(x, 1, 10), judge_truth._widen(x, -1, 10)
    with mpmath.workprec(100):
        exact_up, exact_down = mpmath.mpf(x) + mpmath.mpf(2) ** -9, mpmath.mpf(x) - mpmath.mpf(2) ** -9
        assert exact_up < mpmath.mpf(up) <= exact_up + mpmath.mpf(2) ** -25  # rounded up, by less than its last bit
        assert exact_down - mpmath.mpf(2) ** -25 <= mpmath.mpf(down) < exact_down


# --- a**b in the pass: 0 to a power, exact integer powers, interval powers, and exp(b log a) beyond 2**32 ---


def test_zero_to_a_power() -> None:
    p = a_pass()
    with pytest.raises(judge_truth.Undefined, match=r"^0\*\*0 is indeterminate"):
        p.power(Fraction(0), Fraction(0))
    with pytest.raises(judge_truth.Undefined, match=r"^0\*\*-1.0 is a pole \(division by zero\)$"):
        p.power(Fraction(0), Fraction(-1))
    assert p.power(Fraction(0), Fraction(1, 2)) == 0 and p.power(Fraction(0), Fraction(3)) == 0
    with pytest.raises(judge_truth.Unsettled, match=r"^the exponent of 0 could not be told from 0$"):
        p.power(Fraction(0), enclosure(-0.5, 0.5))
    assert p.dpow_dbase(Fraction(0), Fraction(3, 2)) == 0  # x**1.5 has slope 0 at 0
    assert p.dpow_dbase(Fraction(0), Fraction(1)) == 1


def test_an_integer_power_of_an_exact_number_is_exact_while_it_stays_small() -> None:
    p = a_pass()
    assert p.power(Fraction(3), Fraction(5)) == 243 and isinstance(p.power(Fraction(3), Fraction(5)), Fraction)
    assert p.power(Fraction(-3, 2), Fraction(-3)) == Fraction(-8, 27)
    assert isinstance(p.power(Fraction(3), Fraction(9999)), Fraction)  # 2 bits * 9,999 < POWER_BITS (20,000)
    assert not isinstance(p.power(Fraction(3), Fraction(10000)), Fraction)  # 20,000: an enclosure instead


@pytest.mark.parametrize("n", [1, 2, 3, 100, -1, -3, -100])
def test_an_integer_power_of_an_enclosure_is_mpmaths_interval_power(n: int) -> None:
    iv = enclosure(1.25, 1.5)
    got = a_pass().power(iv, Fraction(n))
    power = libmpi.mpi_pow_int(iv, abs(n), 128)
    assert got == (power if n > 0 else a_pass().div(Fraction(1), power))


def test_a_power_of_an_enclosure_around_zero_is_unsettled_even_to_the_zeroth() -> None:
    with pytest.raises(judge_truth.Unsettled, match=r"^a base could not be told from 0$"):
        a_pass().power(enclosure(-0.5, 0.5), Fraction(0))  # 0**0 is undefined, x**0 is 1: which one it is is open


@pytest.mark.parametrize(("n", "negative"), [(2**32, False), (2**32 + 1, True), (-(2**32) - 1, True)])
def test_a_huge_integer_power_goes_through_exp_and_log_and_keeps_the_sign(n: int, negative: bool) -> None:
    base = Fraction(-1000001, 1000000)  # (-1.000001)**n: about 10**1865 in size; odd n keeps the minus
    lo, hi = a_pass().power(base, Fraction(n))
    with mpmath.workprec(400):
        exact = mpmath.mpf(base.numerator) / base.denominator
        exact = exact**n
        assert mpmath.mpf(lo) <= exact <= mpmath.mpf(hi) and (exact < 0) is negative
        assert (mpmath.mpf(hi) - mpmath.mpf(lo)) <= abs(exact) * mpmath.mpf(2) ** -64  # and tightly


# --- exact numbers, points and signs of enclosures ---


def test_an_enclosure_of_one_finite_point_is_that_exact_number_while_it_is_small() -> None:
    point = judge_truth._number
    assert point((libmp.from_float(1.5),) * 2) == Fraction(3, 2)
    assert point((libmp.from_float(3.0),) * 2) == 3  # exponent 0: the mantissa says it is a number
    assert point((libmp.fzero, libmp.fzero)) == 0 and isinstance(point((libmp.fzero, libmp.fzero)), Fraction)
    assert point((libmp.finf, libmp.finf)) == (libmp.finf, libmp.finf)  # inf is no Fraction
    assert point((libmp.from_man_exp(1, 19999),) * 2) == Fraction(2) ** 19999
    big = libmp.from_man_exp(1, judge_truth.FRACTION_BITS)  # from 2**20000 on, it stays an enclosure
    assert point((big, big)) == (big, big)
    wide = enclosure(1.0, 2.0)
    assert point(wide) == wide


@pytest.mark.parametrize(
    ("lo", "hi", "sign"),
    [(0.5, 2.0, 1), (-2.0, -0.5, -1), (0.0, 1.0, None), (-1.0, 0.0, None), (-1.0, 0.5, None), (0.0, 0.0, None)],
)
def test_the_sign_of_an_enclosure_is_known_only_when_0_is_outside_it(lo: float, hi: float, sign: int | None) -> None:
    assert judge_truth._sign(enclosure(lo, hi)) == sign
    assert judge_truth._sign(Fraction(lo).limit_denominator()) == (lo > 0) - (lo < 0)


@pytest.mark.parametrize(("lo", "hi"), [(1.0000001, 1.0000002), (-1.0000002, -1.0000001)])
def test_a_huge_power_of_an_enclosure_keeps_its_magnitude_and_sign(lo: float, hi: float) -> None:
    n = 2**32 + 1  # odd: a negative base stays negative
    got_lo, got_hi = a_pass().power(enclosure(lo, hi), Fraction(n))
    with mpmath.workprec(300):
        ends = sorted(mpmath.mpf(v) ** n for v in (lo, hi))
        assert mpmath.mpf(got_lo) <= ends[0] and ends[1] <= mpmath.mpf(got_hi)
        assert mpmath.mpf(got_hi) <= ends[1] * (1 + mpmath.mpf(2) ** -60) if ends[1] > 0 else True
        assert mpmath.mpf(got_lo) >= ends[0] * (1 + mpmath.mpf(2) ** -60) if ends[0] < 0 else True


def test_an_exact_result_becomes_an_enclosure_past_fraction_bits() -> None:
    p = a_pass()
    kept = Fraction(2**19998 + 1)  # 19,999 + 1 bits: exact still
    assert p.exact(kept) is kept
    large = Fraction(2**19999 + 1)  # 20,000 + 1 bits
    lo, hi = p.exact(large)
    assert lo == libmp.from_man_exp(1, 19999)  # rounded outward to 128 bits: down to 2**19999 ...
    assert hi == libmp.from_man_exp(2**127 + 1, 19999 - 127)  # ... and up to 2**19999 * (1 + 2**-127)
    small = Fraction(1, 2**20000 + 1)  # 1 + 20,001 bits
    assert not isinstance(p.exact(small), Fraction)


def test_zero_times_an_enclosure_is_exactly_zero_even_an_unbounded_one() -> None:
    zero = a_pass().mul(Fraction(0), (libmp.fone, libmp.finf))
    assert zero == 0 and isinstance(zero, Fraction)
    assert a_pass().mul((libmp.fone, libmp.finf), Fraction(0)) == 0


def test_an_undefined_quantity_has_no_noise() -> None:
    t = judge_truth.truth("log(x)", {"x": -1.0})
    assert t.value.value is None and t.value.noise == 0.0 and t.value.condition is None


# --- an enclosure rounded to one float, and the sign of a zero it holds ---

TINY = libmp.from_man_exp(1, -1100)  # below half float64's smallest subnormal: rounds to a zero


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        (libmp.mpf_neg(TINY), libmp.fzero, -0.0),  # [negative, exactly 0]: -0.0
        (libmp.mpf_neg(TINY), TINY, 0.0),  # across 0: +0.0
        (libmp.mpf_neg(TINY), libmp.mpf_neg(libmp.mpf_shift(TINY, -1)), -0.0),  # both ends negative
        (libmp.fzero, TINY, 0.0),
        (TINY, libmp.mpf_shift(TINY, 1), 0.0),
        (libmp.from_float(1.5), libmp.from_float(1.5), 1.5),
    ],
)
def test_an_enclosure_of_zeros_rounds_to_the_zero_of_its_sign(lo: object, hi: object, expected: float) -> None:
    got = judge_truth._round_settled((lo, hi), "float64")
    assert got == expected and math.copysign(1.0, got) == math.copysign(1.0, expected)


def test_an_enclosure_across_two_floats_is_not_settled() -> None:
    assert judge_truth._round_settled(enclosure(1.0, 1.5), "float64") is None


# --- the cancellation a truth names ---


def worst_cancellation(source: str, point: dict[str, float]) -> str:
    expr = parse(source)
    return judge_truth._worst_cancellation(expr, judge_truth._Pass(expr, point, 128).forward())


@pytest.mark.parametrize(
    ("source", "point", "where"),
    [
        ("(x + 1) - 1", {"x": 1e-17}, "(x + 1.0) - 1.0: its operands are 2.0e+17 times larger than its result"),
        ("x - y", {"x": 1.0, "y": 1.0}, "x - y: its operands are inf times larger than its result"),  # exactly 0
        ("x - y", {"x": 0.0, "y": 0.0}, ""),  # 0 - 0: nothing cancels
        ("x - y", {"x": 1001.5, "y": 999.5}, "x - y: its operands are 1.0e+3 times larger than its result"),  # 1000.5
        ("x - y", {"x": 1001.0, "y": 999.0}, ""),  # exactly 1000 times: not more than 1000
        ("x + y", {"x": 1001.5, "y": -999.5}, "x + y: its operands are 1.0e+3 times larger than its result"),
        ("x * y", {"x": 1.0, "y": 2.0}, ""),
    ],
)
def test_the_worst_cancellation_is_named_past_a_ratio_of_1000(source: str, point: dict[str, float], where: str) -> None:
    assert worst_cancellation(source, point) == where


def test_a_node_without_a_finite_middle_does_not_stop_the_search() -> None:
    source = "t = exp(exp(exp(z))) + 1\nu = (x + 1) - 1\nu + 0 * t"  # t's enclosure reaches inf; u cancels after it
    expr = parse(source)
    vals = judge_truth._Pass(expr, {"x": 1e-17, "z": 10.0}, 128).forward()
    first_add = next(i for i, n in enumerate(expr.nodes) if n.op == "add")
    assert judge_truth._midpoint(vals[first_add]) is None
    assert worst_cancellation(source, {"x": 1e-17, "z": 10.0}).startswith("(x + 1.0) - 1.0: its operands are 2.0e+17")


# --- more edges the mutants found: rounding the exponent of a bound, cosh beyond CAP, the texts of unsettled powers ---


def test_exp_and_cosh_beyond_round_a_fractional_exponent_outward() -> None:
    quarter_more = libmp.from_man_exp(4 * BEYOND + 1, -2)  # 2**5000 + 1/4: 2x = 2**5001 + 1/2
    minus = libmp.mpf_neg(quarter_more)  # e**-x >= 2**(-2x) = 2**-(2**5001 + 1/2), rounded down: -(2**5001) - 1
    assert exponent_of(judge_truth._exp_beyond(minus, FLOOR)) == -2 * BEYOND - 1
    assert exponent_of(judge_truth._cosh_beyond(quarter_more, CEILING)) == 2 * BEYOND + 1  # cosh <= e**x <= 2**(2x)


def test_cosh_of_an_enclosure_beyond_cap_is_bounded_by_its_bounds() -> None:
    x = half_more(BEYOND)
    lo, hi = a_pass().cosh_of_abs((x, x))
    assert lo == judge_truth._cosh_beyond(x, FLOOR) and hi == judge_truth._cosh_beyond(x, CEILING)


def test_a_number_just_past_10_to_the_1000_is_written_as_its_power_of_ten() -> None:
    with mpmath.workprec(64):
        assert judge_truth._text_mpf(mpmath.mpf("3e1000")) == "10**1000"


def test_unsettled_powers_say_what_could_not_be_told() -> None:
    p = a_pass()
    with pytest.raises(judge_truth.Unsettled) as unsettled:
        p.dpow_dbase(Fraction(0), enclosure(0.5, 1.5))
    assert unsettled.value.reason == "the exponent of 0 could not be told from 1"
    with pytest.raises(judge_truth.Unsettled) as unsettled:
        p.power(enclosure(-0.5, 0.5), Fraction(1, 2))
    assert unsettled.value.reason == "a base could not be told from 0"
    lo, hi = p.power(Fraction(2), Fraction(1, 2))  # a positive base to a fractional power: exp(y log x)
    with mpmath.workprec(200):
        assert mpmath.mpf(lo) <= mpmath.sqrt(2) <= mpmath.mpf(hi)
