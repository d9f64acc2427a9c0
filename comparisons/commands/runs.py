"""The side-by-side runs behind the report: the catalog's gradients, the known divergences (live), the demo
training and the timings, on every chosen backend. Each returns plain records (lists of dicts of numbers and
text) for report.py to tabulate; nothing here imports pandas or a framework itself.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import backends
from backends import REFERENCE, Expression, TrainSpec
from comparisons.commands.fuzz import classify, run_backends
from comparisons.judge import dtypes
from comparisons.judge.agreement import close, compare, errors
from comparisons.judge.catalog import DIVERGENCES, FLOAT32_DIVERGENCES, Case, Divergence, same_number
from comparisons.judge.rules import RULES, explain
from comparisons.judge.truth import truth

Record = dict[str, Any]
Tick = Callable[[], None]  # called once per unit of work done, to move a progress bar

WARMUP_STEPS = 2  # calls or training steps counted as warm-up, not timed: tinygrad's TinyJit runs, captures, then replays
# a timing sample repeats a fast call until it lasts this long, so the timer's resolution does not matter
MIN_SAMPLE_SECONDS = 1e-3


def _nothing() -> None:
    pass


def choose_backends(requested: Sequence[str] | None = None) -> tuple[list[str], dict[str, str]]:
    """The backends to run (the reference first, always included) and {name: why it is skipped}.

    With `requested` None every backend that can run here is chosen; a requested backend that cannot run raises
    BackendUnavailable (whose message holds the fix), since the user asked for it by name.
    """
    wanted = backends.names() if requested is None else [REFERENCE, *(n for n in dict.fromkeys(requested) if n != REFERENCE)]
    chosen, skipped = backends.select(wanted)
    if requested is not None and skipped:
        raise backends.BackendUnavailable("; ".join(f"backend {name} cannot run here: {why}" for name, why in skipped.items()))
    return chosen, skipped


def compare_each(
    expr: Expression, inputs: Mapping[str, float], backend_names: Sequence[str], case: str | None = None, dtype: str = "float64"
) -> list[Record]:
    """agreement.compare, one backend at a time: one record per backend and quantity (value, grad:NAME). A backend
    that raises gets one record saying so (quantity "error", ok False) instead of ending the run. In float32:
    compare_float32."""
    if dtypes.check(dtype) == "float32":
        return compare_float32(expr, inputs, backend_names, case)
    records = []
    for name in backend_names:
        try:
            records += compare(expr, inputs, [name], case=case)
        except backends.CannotRun as exc:  # the framework's own limit: a skip (quantity "skipped"), not a verdict
            records.append({**_error_record(case, name, str(exc)), "quantity": "skipped", "ok": True})
        except Exception as exc:  # a framework (or the finite differences) failing on these inputs is a finding to show
            records.append(_error_record(case, name, f"{type(exc).__name__}: {exc}"))
    return records


def cannot_run(records: list[Record]) -> tuple[list[Record], dict[str, str]]:
    """The records without compare_each's skips, and {backend: why it could not run this expression}."""
    skips = {r["backend"]: r["error"] for r in records if r["quantity"] == "skipped"}
    return [r for r in records if r["quantity"] != "skipped"], skips


def _error_record(case: str | None, backend: str, error: str) -> Record:
    return {"case": case, "backend": backend, "quantity": "error", "value": math.nan, "ok": False, "error": error}


def compare_float32(
    expr: Expression, inputs: Mapping[str, float], backend_names: Sequence[str], case: str | None = None
) -> list[Record]:
    """The two verdicts in float32, where micrograd (float64 by design) cannot be the reference: the truth is. The
    inputs are rounded to float32 and the truth taken there, then rounded to float32 (`truth`, also `reference`);
    `ulps` are float32's. Each quantity is classified as the fuzzer does (fuzz.classify), so grad, the report and the
    fuzzer judge alike: `ok` (agrees) where the backend is within ulps_allowed of the truth, or gives what every other
    backend gives (then the formula is what is inaccurate in float32, an accuracy finding: `ulps` shows it). Otherwise
    `divergence` names the rule that explains it, or is "" (unexplained). Where the truth is undefined, a backend
    agrees when it gives what most backends give."""
    point = float32_point(expr, inputs)
    names = [name for name in backend_names if name != REFERENCE]
    (results,) = run_backends(expr, [point], {name: backends.get(name) for name in names}, "float32")
    try:
        exact = truth(expr, point).quantities
    except Exception:  # the exact evaluation failed (a bug there): classify says so in each record's `why`
        exact = {}
    records: list[Record] = []
    for name in names:
        if isinstance(results[name], str):
            records.append(_error_record(case, name, str(results[name])))
    for r in classify(expr, point, results, "float32"):
        if r.got is None:
            continue  # raised: one error record per backend, above
        q = exact.get(r.quantity)
        condition, note = (q.condition, q.reason) if q else (None, r.why)
        others = {k: v[r.quantity] for k, v in results.items() if k != r.backend and isinstance(v, dict)}
        ok, divergence = r.cls in ("accurate", "inaccurate_agreeing"), r.why if r.cls == "known" else ""
        if r.cls == "undefined":  # nothing to judge against: a backend agrees when it gives what most of them give
            ok = 2 * (1 + sum(same_number(r.got, v) for v in others.values())) > 1 + len(others)
            rule = None if ok else explain(expr, point, r.backend, r.quantity, r.got, None, others, "float32")
            divergence = rule.name if rule else ""
        reference = math.nan if r.truth is None else r.truth
        abs_err, rel_err = errors(r.got, reference)
        records.append(
            {
                "case": case, "backend": r.backend, "quantity": r.quantity, "value": r.got, "truth": r.truth,
                "ulps": r.ulps, "ulps_allowed": r.tolerance, "condition": condition, "truth_note": note or None,
                "reference": reference, "abs_err": abs_err, "rel_err": rel_err, "ok": ok, "divergence": divergence,
                "class": r.cls, "inputs_float32": " ".join(f"{k}={v!r}" for k, v in point.items()),
            }
        )  # fmt: skip
    return records


def float32_point(expr: Expression, inputs: Mapping[str, float]) -> dict[str, float]:
    """The inputs rounded to float32; ValueError (what, and what would be right) for one beyond float32's range."""
    point = {name: dtypes.round_to(value, "float32") for name, value in expr.check_inputs(inputs).items()}
    for name, value in point.items():
        if math.isinf(value):
            raise ValueError(
                f"input {name} = {inputs[name]!r} is beyond float32's range (its largest number is 3.4028235e+38); "
                "give a smaller value, or compute in float64"
            )
    return point


def _same_point(a: Mapping[str, float], b: Mapping[str, float]) -> bool:
    return a.keys() == b.keys() and all(math.copysign(1.0, a[k]) == math.copysign(1.0, b[k]) and a[k] == b[k] for k in a)


def known_divergence(expr: Expression, inputs: Mapping[str, float], quantity: str) -> Divergence | None:
    """The catalog's divergence for this expression at these inputs: the entry for `quantity`, or else any entry for
    the same expression and point (the same situation explains its other quantities)."""
    here = [d for d in DIVERGENCES if d.expression == expr and _same_point(d.inputs, inputs)]
    return next((d for d in here if d.quantity == quantity), here[0] if here else None)


def label_divergences(records: list[Record], expr: Expression, inputs: Mapping[str, float]) -> list[Record]:
    """Each record that disagrees with micrograd gets `divergence`: the name of the catalog entry for this expression
    and point, else of the rule (comparisons.judge.rules) that describes the situation, or "" (then it is unexplained).
    Records that have one already (compare_float32's) keep it."""
    given: dict[str, dict[str, float]] = {}
    for r in records:
        given.setdefault(r["quantity"], {})[r["backend"]] = r["value"]
    for r in records:
        if "divergence" in r:
            continue
        name = ""
        if not r["ok"] and r["quantity"] != "error":
            entry = known_divergence(expr, inputs, r["quantity"])
            others = {k: v for k, v in given[r["quantity"]].items() if k != r["backend"]}
            rule = None if entry else explain(expr, inputs, r["backend"], r["quantity"], r["value"], r.get("truth"), others)
            name = entry.name if entry else rule.name if rule else ""
        r["divergence"] = name
    return records


def divergence_explanation(name: str) -> str:
    """The explanation of a catalog entry (float64 or float32) or of a rule, by name."""
    entries = {d.name: d.explanation for d in (*DIVERGENCES, *FLOAT32_DIVERGENCES)}
    return entries.get(name) or next(rule.explanation for rule in RULES if rule.name == name)


def gradient_records(
    cases: Iterable[Case], backend_names: Sequence[str], tick: Tick = _nothing, dtype: str = "float64"
) -> list[Record]:
    """compare_each on every case of the catalog, in `dtype`."""
    records = []
    for case in cases:
        records += compare_each(case.expression, case.inputs, backend_names, case=case.name, dtype=dtype)
        tick()
    return records


def divergence_records(divergences: Iterable[Divergence], backend_names: Sequence[str], tick: Tick = _nothing) -> list[Record]:
    """Each known divergence run live: what every backend gives now, beside what the catalog documents."""
    records = []
    for divergence in divergences:
        for name in backend_names:
            live, error = math.nan, ""
            try:
                result = backends.get(name).value_and_grad(divergence.expression, divergence.inputs, divergence.dtype)
                live = result.value if divergence.quantity == "value" else result.grads[divergence.quantity.removeprefix("grad:")]
            except Exception as exc:  # a backend that raises on these inputs is itself a finding to show, not a crash
                error = f"{type(exc).__name__}: {exc}"
            documented = divergence.gives.get(name, math.nan)
            records.append(
                {
                    "case": divergence.name,
                    "backend": name,
                    "quantity": divergence.quantity,
                    "inputs": " ".join(f"{k}={v!r}" for k, v in divergence.inputs.items()),
                    "value": live,
                    "documented": documented,
                    "as_documented": name in divergence.gives and not error and same_number(live, documented),
                    "error": error,
                    "source": divergence.source,
                    "explanation": divergence.explanation,
                }
            )
        tick()
    return records


def training_records(spec: TrainSpec, backend_names: Sequence[str], tick: Tick = _nothing) -> tuple[list[Record], list[Record]]:
    """Train `spec` on each backend: (per-step records of loss and accuracy against the reference's, timing records).

    Every step is timed; the trainer's construction (jit tracing) and the first WARMUP_STEPS steps are the warm-up,
    the median of the other steps is the time per step. `tick` is called after every step.
    """
    runs: dict[str, tuple[list[float], list[float]]] = {}
    timings = []
    for name in dict.fromkeys([REFERENCE, *backend_names]):
        start = time.perf_counter()
        trainer = backends.get(name).trainer(spec)
        setup_seconds = time.perf_counter() - start
        losses, accuracies, seconds = [], [], []
        for _ in range(spec.steps):
            start = time.perf_counter()
            loss, accuracy = trainer.step()
            seconds.append(time.perf_counter() - start)
            losses.append(loss)
            accuracies.append(accuracy)
            tick()
        runs[name] = (losses, accuracies)
        warmup = min(WARMUP_STEPS, len(seconds) - 1)
        timings.append(
            {
                "backend": name,
                "case": "training",
                "quantity": "train step",
                "value": statistics.median(seconds[warmup:]),
                "warmup": setup_seconds + sum(seconds[:warmup]),
                "repeats": len(seconds) - warmup,
            }
        )

    ref_losses, ref_accuracies = runs[REFERENCE]
    records = []
    for name in backend_names:
        losses, accuracies = runs[name]
        for quantity, values, reference in (("loss", losses, ref_losses), ("accuracy", accuracies, ref_accuracies)):
            for step, (value, ref) in enumerate(zip(values, reference)):
                abs_err = abs(value - ref)
                records.append(
                    {
                        "backend": name,
                        "step": step,
                        "quantity": quantity,
                        "value": value,
                        "reference": ref,
                        "abs_err": abs_err,
                        "rel_err": abs_err / abs(ref) if ref else abs_err,
                        "ok": close(value, ref),
                    }
                )
    return records, [t for t in timings if t["backend"] in backend_names]


def measure_expression(backend_name: str, expr: Expression, inputs: Mapping[str, float], repeats: int) -> Record:
    """Compile and make the first WARMUP_STEPS calls (the warm-up: tracing, jit), then the median of `repeats`
    timed forward+backward calls."""
    values = expr.check_inputs(inputs)
    start = time.perf_counter()
    fn = backends.get(backend_name).compile(expr)
    for _ in range(WARMUP_STEPS):
        fn(values)
    warmup = time.perf_counter() - start

    def sample(calls: int) -> float:
        start = time.perf_counter()
        for _ in range(calls):
            fn(values)
        return time.perf_counter() - start

    calls = 1
    while (elapsed := sample(calls)) < MIN_SAMPLE_SECONDS and calls < 1000:
        calls = min(1000, max(calls * 2, math.ceil(calls * MIN_SAMPLE_SECONDS / max(elapsed, 1e-9))))
    seconds = [sample(calls) / calls for _ in range(repeats)]
    return {
        "backend": backend_name,
        "quantity": "fwd+bwd",
        "value": statistics.median(seconds),
        "warmup": warmup,
        "repeats": repeats,
    }


def speed_records(cases: Iterable[Case], backend_names: Sequence[str], repeats: int, tick: Tick = _nothing) -> list[Record]:
    """measure_expression for every case and backend."""
    records = []
    for case in cases:
        for name in backend_names:
            records.append({"case": case.name, **measure_expression(name, case.expression, case.inputs, repeats)})
            tick()
    return records
