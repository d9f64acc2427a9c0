"""The one verdict: every number a backend gives, in every command and dtype, classed against the certified truth.

`judge(expr, point, dtype, results)` takes what each backend gave ({quantity: number}, or the error text where it
raised) and returns one record per backend and quantity with a `class` and a `why`, decided in this order:

- undefined: the truth is undefined where the mathematics is, or could not be certified (why: the reason). Nothing
  is judged there, whatever a backend gives.
- raised: the backend raised (why: the rule that describes it, or the error: then it counts as unexplained).
- accurate: within `accurate_ulps` (a fixed, small allowance) of the truth in ulps of the dtype. A backend whose
  number IS the truth is accurate, always, and is never labelled or flagged.
- inaccurate_agreeing: not accurate, but every backend gives the same number (why: the cancellation that explains
  it, or that nothing does).
- known: a catalogued divergence or a rule describes what this backend did (why: its name); or the formula is
  ill-conditioned here and rounding alone moves it this far (why: "ill_conditioned: ..." with its condition and
  the cancelling node).
- unexplained: none of the above.

The same number for the same quantity gets the same class: a rule that explains one backend's number explains
another's identical one. Agreement with the reference (micrograd, in float64) is a column (`agrees`), never a class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from backends.expr import Expression
from comparisons.judge import dtypes
from comparisons.judge.agreement import GRAD_RTOL, close
from comparisons.judge.catalog import documented_at, same_number
from comparisons.judge.rules import explain, explain_error
from comparisons.judge.truth import Quantity, Truth, truth

CLASSES = ("accurate", "inaccurate_agreeing", "known", "undefined", "raised", "unexplained")
# from best to worst, for a summary of several records (a check's probe, an atlas row): the class of its worst one
SEVERITY = ("accurate", "undefined", "inaccurate_agreeing", "known", "raised", "unexplained")
ACCURATE_ULPS = 16.0  # the fixed allowance of "accurate": a few ulps per transcendental library call (XLA's tanh: 6)
ULPS_PER_NOISE = 8.0  # ill-conditioned: off by at most this many times what rounding alone moves the formula here
ILL_CONDITIONED = "ill_conditioned"

Results = Mapping[str, Mapping[str, float] | str]  # backend -> {"value": v, "grad:x": g, ...}, or its error text
Record = dict[str, Any]


def judge(
    expr: Expression,
    point: Mapping[str, float],
    dtype: str,
    results: Results,
    exact: Truth | None = None,
    reference: str | None = None,
    accurate_ulps: float = ACCURATE_ULPS,
) -> list[Record]:
    """One record per backend in `results` and quantity: backend, quantity, value (None where it raised), truth
    (rounded to `dtype`; None where undefined), ulps, class, why, rule (the explaining rule's name, or ""), and the
    agreement column `agrees` with `reference`'s number (None without a reference). `exact` is the truth when the
    caller has it already (it is taken once per expression, point and dtype)."""
    exact = exact if exact is not None else truth(dtypes.literals_in(expr, dtype), point, dtype)
    records: list[Record] = []
    for quantity, q in exact.quantities.items():
        given = {name: r[quantity] for name, r in results.items() if not isinstance(r, str)}
        mine: list[Record] = []
        for name, r in results.items():
            got = None if isinstance(r, str) else r[quantity]
            error = r if isinstance(r, str) else ""
            mine.append(_classed(expr, point, dtype, name, quantity, got, error, q, exact, given, accurate_ulps))
        _same_number_same_class(mine)
        ref = given.get(reference) if reference else None
        for rec in mine:
            rec["agrees"] = None if ref is None or rec["value"] is None else close(rec["value"], ref, GRAD_RTOL)
            rec["reference"] = ref
        records += mine
    return records


def _classed(
    expr: Expression,
    point: Mapping[str, float],
    dtype: str,
    backend: str,
    quantity: str,
    got: float | None,
    error: str,
    q: Quantity,
    exact: Truth,
    given: Mapping[str, float],
    accurate_ulps: float,
) -> Record:
    true = q.value
    u = None if got is None or true is None else dtypes.ulps(got, true, dtype)
    noise = q.noise_ulps_in(dtype)
    record: Record = {
        "backend": backend, "quantity": quantity, "value": got, "truth": true, "ulps": u,
        "condition": q.condition, "noise_ulps": noise, "truth_note": q.reason or None, "error": error or None,
        "class": "unexplained", "why": "", "rule": "",
    }  # fmt: skip
    others = {k: v for k, v in given.items() if k != backend}
    if true is None:
        record.update({"class": "undefined", "why": q.reason})
    elif got is None:
        rule = explain_error(expr, point, backend, quantity, error, dtype)
        record.update({"class": "raised", "why": rule.name if rule else error, "rule": rule.name if rule else ""})
    elif u is not None and u <= accurate_ulps:
        record.update({"class": "accurate"})
    elif others and all(same_number(got, v) or (dtypes.ulps(v, got, dtype) or 0.0) <= accurate_ulps for v in others.values()):
        record.update({"class": "inaccurate_agreeing", "why": _inaccuracy(exact, q, dtype)})
    else:
        name = _catalogued(expr, point, dtype, backend, quantity, got)
        name = name or _ruled(expr, point, backend, quantity, got, true, others, dtype)
        if name:
            record.update({"class": "known", "why": name, "rule": name})
        elif u is not None and u <= ULPS_PER_NOISE * noise:
            why = f"{ILL_CONDITIONED}: {_inaccuracy(exact, q, dtype)}"
            record.update({"class": "known", "why": why, "rule": ILL_CONDITIONED})
    return record


def _catalogued(expr: Expression, point: Mapping[str, float], dtype: str, backend: str, quantity: str, got: float) -> str:
    """The catalog entry documenting exactly this number from this backend here, if there is one."""
    for d in documented_at(expr, point, dtype):
        if d.quantity == quantity and backend in d.gives and same_number(d.gives[backend], got):
            return d.name
    return ""


def _ruled(
    expr: Expression,
    point: Mapping[str, float],
    backend: str,
    quantity: str,
    got: float,
    true: float,
    others: Mapping[str, float],
    dtype: str,
) -> str:
    rule = explain(expr, point, backend, quantity, got, true, others, dtype)
    return rule.name if rule else ""


def _inaccuracy(exact: Truth, q: Quantity, dtype: str) -> str:
    """Why a formula is inaccurate here: how far rounding alone moves it, its condition, where it cancels."""
    parts = []
    noise = q.noise_ulps_in(dtype)
    if noise >= 1:
        parts.append(f"rounding alone moves this formula by about {noise:.3g} {dtype} ulps here")
    if q.condition is not None and q.condition >= 10:
        parts.append(f"condition {q.condition:.2g}")
    if exact.cancellation:
        parts.append(f"cancellation at {exact.cancellation}")
    return "; ".join(parts) or "no cancellation or ill-conditioning in the formula explains it"


def _same_number_same_class(records: Sequence[Record]) -> None:
    """Where two backends give the same number for a quantity and one of them is unexplained (or raised) while the
    other's number is explained, the explanation goes to both: a rule that describes a number describes it wherever
    it comes from. Each record keeps its own explanation when it has one."""
    for rec in records:
        if rec["value"] is None or rec["class"] != "unexplained":
            continue
        source = next(
            (o for o in records if o is not rec and o["value"] is not None and o["class"] in ("known", "inaccurate_agreeing")
             and o["why"] and same_number(o["value"], rec["value"]) and not o.get("shared")),
            None,
        )  # fmt: skip
        if source is not None:
            why = f"{source['why']} (the same number as {source['backend']})"
            rec.update({"class": source["class"], "why": why, "rule": source["rule"], "shared": True})
    for rec in records:
        rec.pop("shared", None)


def counts_as_failure(record: Mapping[str, Any], strict: bool = False) -> bool:
    """Whether a record makes a command exit 1: unexplained, or raised without a rule; with `strict`, any record that
    is judged (not undefined) and not accurate."""
    if record["class"] == "unexplained" or (record["class"] == "raised" and not record["rule"]):
        return True
    return strict and record["class"] not in ("accurate", "undefined")


def exit_status(records: Sequence[Mapping[str, Any]], strict: bool = False) -> int:
    """1 when some record counts as a failure (counts_as_failure), else 0."""
    return 1 if any(counts_as_failure(r, strict) for r in records) else 0
