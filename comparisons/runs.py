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
from comparisons.agreement import close, compare
from comparisons.catalog import DIVERGENCES, Case, Divergence, same_number

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
    expr: Expression, inputs: Mapping[str, float], backend_names: Sequence[str], case: str | None = None
) -> list[Record]:
    """agreement.compare, one backend at a time: one record per backend and quantity (value, grad:NAME). A backend
    that raises gets one record saying so (quantity "error", ok False) instead of ending the run."""
    records = []
    for name in backend_names:
        try:
            records += compare(expr, inputs, [name], case=case)
        except Exception as exc:  # a framework (or the finite differences) failing on these inputs is a finding to show
            error = f"{type(exc).__name__}: {exc}"
            records.append({"case": case, "backend": name, "quantity": "error", "value": math.nan, "ok": False, "error": error})
    return records


def _same_point(a: Mapping[str, float], b: Mapping[str, float]) -> bool:
    return a.keys() == b.keys() and all(math.copysign(1.0, a[k]) == math.copysign(1.0, b[k]) and a[k] == b[k] for k in a)


def known_divergence(expr: Expression, inputs: Mapping[str, float], quantity: str) -> Divergence | None:
    """The catalog's divergence for this expression at these inputs: the entry for `quantity`, or else any entry for
    the same expression and point (the same situation explains its other quantities)."""
    here = [d for d in DIVERGENCES if d.expression == expr and _same_point(d.inputs, inputs)]
    return next((d for d in here if d.quantity == quantity), here[0] if here else None)


def label_divergences(records: list[Record], expr: Expression, inputs: Mapping[str, float]) -> list[Record]:
    """Each record that disagrees with micrograd gets `divergence`: the name of the catalog entry that explains it,
    or "" (then it is unexplained)."""
    for r in records:
        divergence = None if r["ok"] else known_divergence(expr, inputs, r["quantity"])
        r["divergence"] = divergence.name if divergence else ""
    return records


def divergence_explanation(name: str) -> str:
    return next(d.explanation for d in DIVERGENCES if d.name == name)


def gradient_records(cases: Iterable[Case], backend_names: Sequence[str], tick: Tick = _nothing) -> list[Record]:
    """compare_each on every case of the catalog."""
    records = []
    for case in cases:
        records += compare_each(case.expression, case.inputs, backend_names, case=case.name)
        tick()
    return records


def divergence_records(divergences: Iterable[Divergence], backend_names: Sequence[str], tick: Tick = _nothing) -> list[Record]:
    """Each known divergence run live: what every backend gives now, beside what the catalog documents."""
    records = []
    for divergence in divergences:
        for name in backend_names:
            live, error = math.nan, ""
            try:
                result = backends.get(name).value_and_grad(divergence.expression, divergence.inputs)
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
