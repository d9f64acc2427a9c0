"""The one verdict (comparisons.judge.verdict): each class on a constructed case, the issue's named cases, and the
exit status. The backends' numbers are written here (what each framework was measured to give, or a number made
wrong on purpose), so these tests need no framework; the truth is the certified one.
"""

from __future__ import annotations

import math

import pytest

from backends import parse
from comparisons.judge import verdict
from comparisons.judge.truth import truth


def judged(source: str, point: dict[str, float], results: dict[str, dict[str, float] | str], dtype: str = "float64",
           reference: str | None = None) -> dict[tuple[str, str], dict]:  # fmt: skip
    records = verdict.judge(parse(source), point, dtype, results, reference=reference)
    return {(r["backend"], r["quantity"]): r for r in records}


def exact(source: str, point: dict[str, float], dtype: str = "float64") -> dict[str, float | None]:
    return {k: q.value for k, q in truth(parse(source), point, dtype).quantities.items()}


def test_accurate_is_the_truth_within_a_fixed_allowance_and_never_needs_micrograd() -> None:
    t = exact("tanh(x) * y", {"x": 0.3, "y": 2.0})
    off = math.nextafter(t["grad:x"], math.inf)  # one ulp away
    wrong = t["grad:x"] * (1 + 1e-10)  # micrograd made wrong (450,000 ulps): the reference, yet not the judge
    results = {
        "micrograd": {"value": t["value"], "grad:x": wrong, "grad:y": t["grad:y"]},
        "a": {"value": t["value"], "grad:x": t["grad:x"], "grad:y": t["grad:y"]},
        "b": {"value": t["value"], "grad:x": off, "grad:y": t["grad:y"]},
    }
    r = judged("tanh(x) * y", {"x": 0.3, "y": 2.0}, results, reference="micrograd")
    assert r["a", "grad:x"]["class"] == "accurate" and r["a", "grad:x"]["ulps"] == 0 and r["a", "grad:x"]["why"] == ""
    assert r["a", "grad:x"]["agrees"] is True  # within rel 1e-9 of micrograd: the column says so, and decides nothing
    assert r["b", "grad:x"]["class"] == "accurate" and r["b", "grad:x"]["ulps"] == 1
    assert r["micrograd", "grad:x"]["class"] == "unexplained"  # the reference itself is judged, and is wrong here


def test_inaccurate_agreeing_when_every_backend_gives_the_same_cancelled_number() -> None:
    # (exp(x) - 1)/x at 1e-12 in float64: exp(x) - 1 keeps 4 digits; every framework gives 1.000088900582341
    results = {name: {"value": 1.000088900582341, "grad:x": -88900581.34094238} for name in ("a", "b", "c")}
    r = judged("(exp(x) - 1)/x", {"x": 1e-12}, results)
    assert r["a", "value"]["truth"] == 1.0000000000005
    for name in results:
        rec = r[name, "value"]
        assert rec["class"] == "inaccurate_agreeing" and "cancellation at exp(x) - 1.0" in rec["why"], rec


def test_known_by_a_rule_and_ill_conditioned_by_the_formula() -> None:
    # exp(1000 - y**0.0) at y=2: exp(999) overflows, and inf * d(y**0)/dy = inf * 0 is nan; torch selects the 0
    results = {"torch": {"value": math.inf, "grad:y": 0.0}, "jax": {"value": math.inf, "grad:y": math.nan}}
    r = judged("exp(1000 - y**0.0)", {"y": 2.0}, results)
    assert r["torch", "grad:y"]["class"] == "accurate"  # the exact 0: never labelled
    assert r["jax", "grad:y"]["class"] == "known" and r["jax", "grad:y"]["why"] == "overflow_times_zero_gradient"
    # one backend gives the cancelled number, the other the truth: not agreeing, but rounding alone explains it
    t = exact("(exp(x) - 1)/x", {"x": 1e-12})
    results = {"a": {"value": 1.000088900582341, "grad:x": t["grad:x"]}, "b": {"value": t["value"], "grad:x": t["grad:x"]}}
    r = judged("(exp(x) - 1)/x", {"x": 1e-12}, results)
    assert r["a", "value"]["class"] == "known" and r["a", "value"]["rule"] == verdict.ILL_CONDITIONED
    assert (
        r["a", "value"]["why"].startswith("ill_conditioned: rounding alone moves this formula")
        and "condition" in r["a", "value"]["why"]
    )
    assert r["b", "value"]["class"] == "accurate"


def test_undefined_where_the_mathematics_is_and_nothing_is_judged_there() -> None:
    r = judged("log(x) + 0.0**0.0", {"x": 1.0}, {"a": {"value": 1.0, "grad:x": 1.0}, "b": {"value": math.nan, "grad:x": 7.0}})
    assert {rec["class"] for rec in r.values()} == {"undefined"}
    assert all("0**0" in rec["why"] for rec in r.values())
    assert verdict.exit_status(list(r.values()), strict=True) == 0  # nothing judged, nothing fails, --strict too


def test_raised_with_and_without_a_rule() -> None:
    error = "KeyError: UOp(Ops.SINK, dtypes.void, arg=None, src=("
    r = judged("x ** 1e300", {"x": 2.0}, {"micrograd": {"value": math.inf, "grad:x": math.inf}, "tinygrad": error})
    assert r["micrograd", "value"]["class"] == "accurate"  # 2**1e300 overflows: inf is the truth
    assert r["tinygrad", "value"]["class"] == "raised" and r["tinygrad", "value"]["rule"] == "tinygrad_pow_huge_integer_exponent"
    assert verdict.exit_status(list(r.values())) == 0
    r = judged("x * 2", {"x": 2.0}, {"torch": "RuntimeError: out of memory"})
    assert r["torch", "value"]["class"] == "raised" and r["torch", "value"]["why"] == "RuntimeError: out of memory"
    assert verdict.exit_status(list(r.values())) == 1  # raised without a rule: a failure


def test_unexplained_and_the_exit_status() -> None:
    t = exact("x * y", {"x": 1.5, "y": 2.0})
    results = {"a": {"value": t["value"], "grad:x": 2.0 * (1 + 1e-6), "grad:y": 1.5}}
    r = judged("x * y", {"x": 1.5, "y": 2.0}, results)
    assert r["a", "grad:x"]["class"] == "unexplained" and r["a", "grad:x"]["ulps"] > 4e9
    assert verdict.exit_status(list(r.values())) == 1
    fine = judged("x * y", {"x": 1.5, "y": 2.0}, {"a": {"value": 3.0, "grad:x": 2.0, "grad:y": 1.5}})
    assert verdict.exit_status(list(fine.values())) == 0 and verdict.exit_status(list(fine.values()), strict=True) == 0


def test_the_same_number_gets_the_same_class_whoever_gives_it() -> None:
    # issue 18: (x/y)/(y/x) in float32 at x=-1e-4, y=-2.937778933501788e17: jax and tinygrad both give 0.0 where
    # the truth is the subnormal 1.16e-43; one explanation describes the number, wherever it comes from
    point = {"x": -9.999999747378752e-05, "y": -2.9377789818484736e17}  # the inputs rounded to float32
    results = {"torch": {"value": 1.1630777253895982e-43, "grad:x": -1.1586748456146896e-39, "grad:y": 0.0},
               "jax": {"value": 0.0, "grad:x": -0.0, "grad:y": 0.0},
               "tinygrad": {"value": 0.0, "grad:x": -1.1586748456146896e-39, "grad:y": 0.0}}  # fmt: skip
    r = judged("(x/y)/(y/x)", point, results, dtype="float32")
    assert r["torch", "value"]["class"] == "accurate"
    assert r["jax", "value"]["class"] == r["tinygrad", "value"]["class"] == "known"
    assert r["jax", "value"]["rule"] == r["tinygrad", "value"]["rule"]
    assert r["torch", "grad:x"]["class"] == r["tinygrad", "grad:x"]["class"]  # the same number again


@pytest.mark.parametrize("strict", [False, True])
def test_strict_adds_every_judged_number_that_is_not_accurate(strict: bool) -> None:
    results = {name: {"value": 1.000088900582341, "grad:x": -88900581.34094238} for name in ("a", "b")}
    r = judged("(exp(x) - 1)/x", {"x": 1e-12}, results)
    assert verdict.exit_status(list(r.values()), strict=strict) == (1 if strict else 0)


def test_a_float32_program_has_its_literals_in_float32_as_every_framework_does() -> None:
    # x * 0.1 in float32 multiplies by float32's 0.1 (0.100000001490116...), so 3 * that, rounded once to float32, is
    # the truth of the program the frameworks run; float64's 0.1 would make the right answer 1 ulp off
    import numpy as np

    tenth = float(np.float32(0.1))
    assert tenth != 0.1
    product = float(np.float32(3.0) * np.float32(0.1))  # IEEE: the exact product, rounded once to float32
    r = judged("x * 0.1", {"x": 3.0}, {"torch": {"value": product, "grad:x": tenth}}, dtype="float32")
    assert r["torch", "value"]["truth"] == product and r["torch", "value"]["ulps"] == 0
    assert r["torch", "grad:x"]["truth"] == tenth and r["torch", "grad:x"]["class"] == "accurate"
