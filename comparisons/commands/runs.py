"""The runs every command shares: an expression on every chosen backend, judged once (`judged`, through
comparisons.judge.verdict), the catalog's gradients, the known divergences (live), the demo training and the timings.
Each returns plain records (lists of dicts of numbers and text) for render.py to tabulate; nothing here imports
pandas or a framework itself.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import backends
from backends import REFERENCE, Expression, TrainSpec
from backends.base import Backend
from backends.expr import parse
from comparisons.judge import dtypes, verdict
from comparisons.judge.agreement import (
    EPS,
    GRAD_ATOL,
    GRAD_RTOL,
    ROUNDING_ULPS,
    cancellation_scales,
    close,
    errors,
    finite_differences_with_bounds,
    quantity_label,
)
from comparisons.judge.catalog import DIVERGENCES, FLOAT32_DIVERGENCES, Case, Divergence, documented_at, same_number
from comparisons.judge.rules import ERROR_RULES, RULES

Record = dict[str, Any]
Tick = Callable[[], None]  # called once per unit of work done, to move a progress bar

TRAINING_NO_TRUTH = "not determined: no certified truth of a whole training run here, only agreement with micrograd"
TIMING_NO_TRUTH = "a timing: a measurement, not a number with a truth to judge it by"
WARMUP_STEPS = 2  # calls or training steps counted as warm-up, not timed: tinygrad's TinyJit runs, captures, then replays
# a timing sample repeats a fast call until it lasts this long, so the timer's resolution does not matter
MIN_SAMPLE_SECONDS = 1e-3


def _nothing() -> None:
    pass


Compiled = Callable[[Mapping[str, float]], backends.Gradients]
_shared: dict[tuple[int, int, str], tuple[Backend, Expression, Compiled]] | None = None  # see shared_compilations


@contextmanager
def shared_compilations() -> Iterator[None]:
    """Within the block each backend compiles each expression once per dtype, and every later run of it reuses the
    compiled (and warmed) function: the report times the catalog, then judges the same expressions, and jax's and
    tinygrad's compilations are most of what both cost. Outside it every run compiles afresh."""
    global _shared
    previous, _shared = _shared, {}
    try:
        yield
    finally:
        _shared = previous


def compiled(backend: Backend, expr: Expression, dtype: str) -> Compiled:
    """backend.compile(expr, dtype), or the function it compiled earlier within shared_compilations()."""
    if _shared is None:
        return backend.compile(expr, dtype)
    key = (id(backend), id(expr), dtype)  # the entry holds both objects: their ids are not reused within the block
    if key not in _shared:
        _shared[key] = (backend, expr, backend.compile(expr, dtype))
    return _shared[key][2]


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


def run_backends(
    expr: Expression,
    points: Sequence[Mapping[str, float]],
    chosen: Mapping[str, Backend],
    dtype: str,
    done: Tick = _nothing,
) -> list[dict[str, dict[str, float] | str]]:
    """Per point, every backend's {quantity: number}, or its error as text where it raised; each backend compiles the
    expression once for all the points. `done()` is called as each backend finishes (a progress bar's tick)."""
    out: list[dict[str, dict[str, float] | str]] = [{} for _ in points]
    for name, backend in chosen.items():
        for results, result in zip(out, _run_one(backend, expr, points, dtype)):
            results[name] = result
        done()
    return out


def _run_one(
    backend: Backend, expr: Expression, points: Sequence[Mapping[str, float]], dtype: str
) -> list[dict[str, float] | str]:
    """One backend at every point: its {quantity: number}, or its error as text, or Skipped (backends.CannotRun: the
    framework's own limit, which judged() leaves out of the verdict)."""
    try:
        fn = compiled(backend, expr, dtype)
    except backends.CannotRun as exc:
        return [Skipped(str(exc))] * len(points)
    except Exception as exc:  # a backend that cannot compile this expression: judged as raised, never a crash
        return [error_text(exc)] * len(points)
    results: list[dict[str, float] | str] = []
    for point in points:
        try:
            g = fn(point)
            results.append({"value": g.value, **{f"grad:{k}": v for k, v in g.grads.items()}})
        except backends.CannotRun as exc:
            results.append(Skipped(str(exc)))
        except Exception as exc:
            results.append(error_text(exc))
    return results


class Skipped(str):
    """A backend's "cannot run this expression here: <reason>" (backends.CannotRun): a skip, never a verdict."""


def without_skips(results: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The results of the backends that ran, and {backend: why it could not run this expression}."""
    skips = {name: str(r) for name, r in results.items() if isinstance(r, Skipped)}
    return {name: r for name, r in results.items() if name not in skips}, skips


def cannot_run(records: list[Record]) -> tuple[list[Record], dict[str, str]]:
    """The records of the backends that ran, and {backend: why it could not run this expression} (judged()'s
    skip records, quantity "skipped")."""
    skips = {r["backend"]: r["why"] for r in records if r["quantity"] == "skipped"}
    return [r for r in records if r["quantity"] != "skipped"], skips


def error_text(exc: BaseException) -> str:
    """An exception as "Type: its first line", at most 200 characters (tinygrad's errors print whole graphs)."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    return text if len(text) <= 200 else text[:197] + "..."


def judged(
    expr: Expression,
    inputs: Mapping[str, float],
    backend_names: Sequence[str],
    dtype: str = "float64",
    case: str | None = None,
    accurate_ulps: float = verdict.ACCURATE_ULPS,
    done: Tick = _nothing,
) -> list[Record]:
    """Run every backend on `expr` at `inputs` (rounded to float32 first in float32) and judge every number once,
    against the truth taken once (comparisons.judge.verdict): one record per backend and quantity with its class and
    why. In float64, with micrograd among the backends, `agrees` says whether each number is micrograd's (within
    GRAD_RTOL, or the rounding left of a cancellation), and the finite differences ride along as information.
    `done()` is called as each backend finishes and once the verdict is in: len(backend_names) + 1 ticks."""
    point = float32_point(expr, inputs) if dtypes.check(dtype) == "float32" else dict(expr.check_inputs(inputs))
    dtypes.literals_in(expr, dtype)  # ValueError now, for a literal beyond the dtype's range
    chosen = {name: backends.get(name) for name in backend_names}
    (results,) = run_backends(expr, [point], chosen, dtype, done)
    results, skips = without_skips(results)
    reference = REFERENCE if dtype == "float64" and REFERENCE in results else None
    records = verdict.judge(expr, point, dtype, results, reference=reference, accurate_ulps=accurate_ulps)
    extra: dict[str, dict[str, Any]] = {}
    if reference is not None:
        extra = _agreement_columns(expr, point)
    for r in records:
        r["case"] = case
        ref = r["reference"]
        if r["value"] is not None and ref is not None:
            r["abs_err"], r["rel_err"] = errors(r["value"], ref)
            atol = extra[r["quantity"]]["atol"]
            r["agrees"] = close(r["value"], ref, GRAD_RTOL, atol)
        r.update({k: v for k, v in extra.get(r["quantity"], {}).items() if k != "atol"})
        if r.get("fd") is not None and r["value"] is not None:
            r["fd_abs_err"], r["fd_rel_err"] = errors(r["value"], r["fd"])
        if dtype == "float32":
            r["inputs_float32"] = " ".join(f"{k}={v!r}" for k, v in point.items())
    skipped = [{"case": case, "backend": name, "quantity": "skipped", "value": None, "why": why} for name, why in skips.items()]
    done()
    return records + skipped


def _agreement_columns(expr: Expression, point: Mapping[str, float]) -> dict[str, dict[str, Any]]:
    """Per quantity: the absolute tolerance of agreement with micrograd (GRAD_ATOL, or ROUNDING_ULPS of what cancelled)
    and the finite-difference estimate (information only)."""
    try:
        fd, _ = finite_differences_with_bounds(expr, point)
    except Exception:  # finite differences are information: a failure there never ends a run
        fd = {}
    scales = cancellation_scales(expr, point)
    out: dict[str, dict[str, Any]] = {q: {"atol": max(GRAD_ATOL, ROUNDING_ULPS * EPS * s), "fd": None} for q, s in scales.items()}
    for name in expr.inputs:
        out.setdefault(f"grad:{name}", {"atol": GRAD_ATOL})["fd"] = fd.get(name)
    return out


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


def failures(records: Sequence[Mapping[str, Any]], strict: bool = False) -> list[str]:
    """One line per record that fails (verdict.counts_as_failure), both sides shown: `tanh_xy d/dx: jax=0.4199743 |
    truth=0.4199744 (2.1e+03 ulps; micrograd=0.4199744) unexplained`."""
    lines = []
    for r in records:
        if not verdict.counts_as_failure(r, strict):
            continue
        where = f"{r.get('case') or 'expression'} {quantity_label(r['quantity'])}"
        got = f"raised {r['error']}" if r["value"] is None else repr(r["value"])
        ulps = "" if r["ulps"] is None else f" ({r['ulps']:.3g} ulps"
        ref = "" if r.get("reference") is None else f"; {REFERENCE}={r['reference']!r}"
        lines.append(f"{where}: {r['backend']}={got} | truth={r['truth']!r}{ulps}{ref}{')' if ulps else ''} {r['class']}")
    return lines


def assert_judged(
    case: str, expr: Expression | str, inputs: Mapping[str, float], backend_names: Sequence[str], dtype: str = "float64"
) -> list[Record]:
    """The test helper: judge, and fail with every record that counts as a failure, both sides shown."""
    expr = parse(expr) if isinstance(expr, str) else expr
    records = judged(expr, inputs, backend_names, dtype, case=case)
    bad = failures(records)
    if bad:
        raise AssertionError("\n".join(bad))
    return records


def catalogued_here(expr: Expression, point: Mapping[str, float], dtype: str = "float64") -> list[str]:
    """The names of the catalog's divergences documented for exactly this expression and point."""
    return list(dict.fromkeys(d.name for d in documented_at(expr, point, dtype)))


def divergence_explanation(name: str) -> str:
    """The explanation of a catalog entry (float64 or float32) or of a rule, by name."""
    entries = {d.name: d.explanation for d in (*DIVERGENCES, *FLOAT32_DIVERGENCES)}
    rules = {rule.name: rule.explanation for rule in RULES} | {rule.name: rule.explanation for rule in ERROR_RULES}
    return entries.get(name) or rules.get(name, "")


def gradient_records(
    cases: Iterable[Case], backend_names: Sequence[str], tick: Tick = _nothing, dtype: str = "float64"
) -> list[Record]:
    """`judged` on every case of the catalog, in `dtype`."""
    records = []
    for case in cases:
        records += cannot_run(judged(case.expression, case.inputs, backend_names, dtype, case=case.name))[0]
        tick()
    return records


def divergence_records(divergences: Iterable[Divergence], backend_names: Sequence[str], tick: Tick = _nothing) -> list[Record]:
    """Each known divergence run live: what every backend gives now, beside what the catalog documents, each number
    classed against the truth by the one verdict (so a backend that gives the exact value is accurate there)."""
    records = []
    for divergence in divergences:
        expr, point, dtype = divergence.expression, dict(divergence.inputs), divergence.dtype
        (results,) = run_backends(expr, [point], {name: backends.get(name) for name in backend_names}, dtype)
        results = {name: r if not isinstance(r, Skipped) else error_text(backends.CannotRun(r)) for name, r in results.items()}
        verdicts = {r["backend"]: r for r in verdict.judge(expr, point, dtype, results) if r["quantity"] == divergence.quantity}
        for name in backend_names:
            result, error = results[name], ""
            live = result[divergence.quantity] if not isinstance(result, str) else math.nan
            if isinstance(result, str):  # a backend that raises on these inputs is itself a finding to show
                error = result
            documented = divergence.gives.get(name, math.nan)
            judged_here = verdicts[name]
            records.append(
                {
                    "case": divergence.name,
                    "backend": name,
                    "quantity": divergence.quantity,
                    "inputs": " ".join(f"{k}={v!r}" for k, v in divergence.inputs.items()),
                    "value": live,
                    "documented": documented,
                    "as_documented": name in divergence.gives and not error and same_number(live, documented),
                    "truth": judged_here["truth"],
                    "class": judged_here["class"],
                    "why": judged_here["why"],
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
                "class": "undefined",
                "why": TIMING_NO_TRUTH,
            }
        )

    ref_losses, ref_accuracies = runs[REFERENCE]
    records = []
    for name in backend_names:
        losses, accuracies = runs[name]
        for quantity, values, reference in (("loss", losses, ref_losses), ("accuracy", accuracies, ref_accuracies)):
            for step, (value, ref) in enumerate(zip(values, reference)):
                abs_err = abs(value - ref)
                ok = close(value, ref)
                records.append(
                    {
                        "backend": name,
                        "step": step,
                        "quantity": quantity,
                        "value": value,
                        "reference": ref,
                        "abs_err": abs_err,
                        "rel_err": abs_err / abs(ref) if ref else abs_err,
                        "ok": ok,
                        # a training run has no certified truth: agreement with micrograd is all there is to go on
                        "class": "undefined" if ok else "unexplained",
                        "why": TRAINING_NO_TRUTH if ok else f"deviates from micrograd's {quantity}; {TRAINING_NO_TRUTH}",
                    }
                )
    return records, [t for t in timings if t["backend"] in backend_names]


def measure_expression(backend_name: str, expr: Expression, inputs: Mapping[str, float], repeats: int) -> Record:
    """Compile and make the first WARMUP_STEPS calls (the warm-up: tracing, jit), then the median of `repeats`
    timed forward+backward calls."""
    values = expr.check_inputs(inputs)
    start = time.perf_counter()
    fn = compiled(backends.get(backend_name), expr, "float64")
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
        "class": "undefined",
        "why": TIMING_NO_TRUTH,
    }


def speed_records(cases: Iterable[Case], backend_names: Sequence[str], repeats: int, tick: Tick = _nothing) -> list[Record]:
    """measure_expression for every case and backend."""
    records = []
    for case in cases:
        for name in backend_names:
            records.append({"case": case.name, **measure_expression(name, case.expression, case.inputs, repeats)})
            tick()
    return records
