"""The one verdict (comparisons.judge.verdict): each class on a constructed case, the issue's named cases, and the
exit status. The backends' numbers are written here (what each framework was measured to give, or a number made
wrong on purpose), so these tests need no framework; the truth is the certified one.
"""

from __future__ import annotations

import math

import pytest

from backends import parse
from comparisons.judge import rules, verdict
from comparisons.judge.truth import Quantity, Truth, truth


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


# --- each record's fields and each class's boundary, on truths written out (Truth and Quantity constructed here, so
# that the noise, the condition and the cancellation are exactly what a test needs) ---

ULP1 = 2.0**-52  # float64's ulp of 1.0


def synthetic(value: Quantity, grads: dict[str, Quantity] | None = None, cancellation: str = "") -> Truth:
    return Truth(value, grads if grads is not None else {"x": Quantity(2.0)}, 53, cancellation)


def judged_on(truth_: Truth, results: dict[str, dict[str, float] | str], dtype: str = "float64", source: str = "x * 2",
              point: dict[str, float] | None = None, **kw: object) -> dict[tuple[str, str], dict]:  # fmt: skip
    records = verdict.judge(parse(source), point or {"x": 0.5}, dtype, results, exact=truth_, **kw)  # type: ignore[arg-type]
    return {(r["backend"], r["quantity"]): r for r in records}


def test_a_record_holds_every_field_with_its_own_value() -> None:
    t = synthetic(Quantity(1.0, condition=3.0, noise=4 * ULP1), cancellation="x - y: ...")
    r = judged_on(t, {"a": {"value": 1.0 + 2 * ULP1, "grad:x": 2.0}, "b": "RuntimeError: out of memory"}, reference="a")
    assert r["a", "value"] == {
        "backend": "a", "quantity": "value", "value": 1.0 + 2 * ULP1, "truth": 1.0, "ulps": 2.0, "condition": 3.0,
        "noise_ulps": 4.0, "truth_note": None, "error": None, "class": "accurate", "why": "", "rule": "",
        "agrees": True, "reference": 1.0 + 2 * ULP1,
    }  # fmt: skip
    assert r["b", "value"] == {
        "backend": "b", "quantity": "value", "value": None, "truth": 1.0, "ulps": None, "condition": 3.0,
        "noise_ulps": 4.0, "truth_note": None, "error": "RuntimeError: out of memory", "class": "raised",
        "why": "RuntimeError: out of memory", "rule": "", "agrees": None, "reference": 1.0 + 2 * ULP1,
    }  # fmt: skip
    wrong = judged_on(synthetic(Quantity(1.0)), {"a": {"value": 1.5, "grad:x": 2.0}})["a", "value"]
    assert (wrong["class"], wrong["why"], wrong["rule"], wrong["error"]) == ("unexplained", "", "", None)


def test_an_undefined_record_carries_the_reason_as_its_truth_note() -> None:
    reason = "0**0 is undefined here"
    r = judged_on(synthetic(Quantity(None, reason)), {"a": {"value": 1.0, "grad:x": 2.0}})
    assert (r["a", "value"]["class"], r["a", "value"]["why"], r["a", "value"]["truth_note"]) == ("undefined", reason, reason)
    assert r["a", "grad:x"]["truth_note"] is None  # a determined truth has no note


def test_accurate_is_up_to_and_including_the_allowance() -> None:
    t = synthetic(Quantity(1.0))
    at, past = 1.0 + verdict.ACCURATE_ULPS * ULP1, 1.0 + (verdict.ACCURATE_ULPS + 1) * ULP1
    r = judged_on(t, {"a": {"value": at, "grad:x": 2.0}, "b": {"value": past, "grad:x": 2.0}, "c": {"value": 7.0, "grad:x": 2.0}})
    assert (r["a", "value"]["ulps"], r["a", "value"]["class"]) == (verdict.ACCURATE_ULPS, "accurate")
    assert (r["b", "value"]["ulps"], r["b", "value"]["class"]) == (verdict.ACCURATE_ULPS + 1, "unexplained")


def test_ulps_and_agreement_are_counted_in_the_runs_dtype() -> None:
    """In float32 one ulp of 1.0 is 2**-23 (2**29 float64 ulps): the distance to the truth and between backends."""
    t = synthetic(Quantity(1.0))
    r = judged_on(t, {"a": {"value": 1.0 + 2.0**-23, "grad:x": 2.0}}, dtype="float32")
    assert (r["a", "value"]["ulps"], r["a", "value"]["class"]) == (1.0, "accurate")
    # two backends one float32 ulp apart, both far from the truth: they agree
    r = judged_on(t, {"a": {"value": 2.0, "grad:x": 2.0}, "b": {"value": 2.0 + 2.0**-22, "grad:x": 2.0}}, dtype="float32")
    assert r["a", "value"]["class"] == r["b", "value"]["class"] == "inaccurate_agreeing"


def test_backends_agree_up_to_and_including_the_allowance_between_them() -> None:
    t = synthetic(Quantity(1.0))
    apart = 2.0 + verdict.ACCURATE_ULPS * 2 * ULP1  # 16 ulps of 2.0 above 2.0
    r = judged_on(t, {"a": {"value": 2.0, "grad:x": 2.0}, "b": {"value": apart, "grad:x": 2.0}})
    assert r["a", "value"]["class"] == r["b", "value"]["class"] == "inaccurate_agreeing"
    further = 2.0 + (verdict.ACCURATE_ULPS + 1) * 2 * ULP1
    r = judged_on(t, {"a": {"value": 2.0, "grad:x": 2.0}, "b": {"value": further, "grad:x": 2.0}})
    assert r["a", "value"]["class"] == r["b", "value"]["class"] == "unexplained"


def test_why_an_agreeing_formula_is_inaccurate_names_each_cause_from_its_threshold() -> None:
    both = {"a": {"value": 2.0, "grad:x": 2.0}, "b": {"value": 2.0, "grad:x": 2.0}}
    t = synthetic(Quantity(1.0, condition=10.0, noise=ULP1), cancellation="x - y: its operands are 1 and 1")
    why = "rounding alone moves this formula by about 1 float64 ulps here; condition 10; "
    why += "cancellation at x - y: its operands are 1 and 1"
    assert [judged_on(t, both)[name, "value"]["why"] for name in both] == [why, why]  # each its own, not "the same as"
    quiet = synthetic(Quantity(1.0, condition=9.99, noise=0.99 * ULP1))
    assert judged_on(quiet, both)["a", "value"]["why"] == "no cancellation or ill-conditioning in the formula explains it"


def test_a_catalogued_number_is_known_by_its_entry_and_lent_to_the_same_number_only() -> None:
    """(x + 1) - 1 at 1e-17: the catalog documents micrograd's 0 ("rounding_reassociated"). a and b give the same 0
    and no rule or noise explains it for them (the truth here has no noise): each gets micrograd's explanation, from
    micrograd itself, not from one another; c's other number stays unexplained."""
    t = synthetic(Quantity(1e-17), {"x": Quantity(1.0)})
    same = {"value": 0.0, "grad:x": 1.0}
    results = {"a": same, "b": same, "micrograd": same, "c": {"value": 2e-17, "grad:x": 1.0}}
    records = verdict.judge(parse("(x + 1) - 1"), {"x": 1e-17}, "float64", results, exact=t)
    r = {(rec["backend"], rec["quantity"]): rec for rec in records}
    assert {k: r["micrograd", "value"][k] for k in ("class", "why", "rule", "noise_ulps")} == {
        "class": "known", "why": "rounding_reassociated", "rule": "rounding_reassociated", "noise_ulps": 0.0
    }  # fmt: skip
    for name in ("a", "b"):
        assert (r[name, "value"]["class"], r[name, "value"]["why"], r[name, "value"]["rule"]) == (
            "known", "rounding_reassociated (the same number as micrograd)", "rounding_reassociated"
        )  # fmt: skip
    assert (r["c", "value"]["class"], r["c", "value"]["why"]) == ("unexplained", "")
    assert all(set(rec) == set(r["c", "grad:x"]) for rec in records)  # no working key ("shared") left behind


def test_two_backends_each_explained_keep_their_own_explanation() -> None:
    # exp(1000 - y**0.0) at y=2: inf * 0 is nan for two of them (torch selects the 0); the rule explains each of the
    # two, and neither borrows the other's explanation
    nan = {"value": math.inf, "grad:y": math.nan}
    r = judged("exp(1000 - y**0.0)", {"y": 2.0}, {"torch": {"value": math.inf, "grad:y": 0.0}, "jax": nan, "tinygrad": nan})
    assert [r[name, "grad:y"]["why"] for name in ("jax", "tinygrad")] == ["overflow_times_zero_gradient"] * 2


def test_a_rule_is_asked_in_the_runs_dtype() -> None:
    """x**-2 at 1e21 in float32: the exact 1e-42 is a float32 subnormal that x*x's overflow loses; the rule knows it
    in float32 only (in float64 the number is far from 0). A backend the catalog does not list gets the rule."""
    r = judged("x**-2", {"x": 1.0000000200408773e21}, {"other": {"value": 0.0, "grad:x": -0.0}}, dtype="float32")
    assert (r["other", "value"]["class"], r["other", "value"]["rule"]) == ("known", "reciprocal_power_out_of_range")


def test_an_error_rule_is_asked_with_the_quantity_and_the_dtype(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, str]] = []

    def applies(s: rules.Situation) -> bool:
        asked.append((s.quantity, s.dtype))
        return True

    rule = rules.ErrorRule("any_oom", "...", applies, backends=("torch",), error="RuntimeError")
    monkeypatch.setattr(rules, "ERROR_RULES", (rule,))
    r = judged("x * 2", {"x": 2.0}, {"torch": "RuntimeError: out of memory"}, dtype="float32")
    assert asked == [("value", "float32"), ("grad:x", "float32")]
    record = r["torch", "value"]
    assert (record["class"], record["why"], record["rule"]) == ("raised", "any_oom", "any_oom")


def test_a_float32_run_is_looked_up_in_the_float32_catalog() -> None:
    # the same number a rule would explain, but the float32 table documents torch's 0 here by its own name
    r = judged("x**-2", {"x": 1.0000000200408773e21}, {"torch": {"value": 0.0, "grad:x": -0.0}}, dtype="float32")
    assert (r["torch", "value"]["class"], r["torch", "value"]["why"]) == ("known", "reciprocal_power_float32")
