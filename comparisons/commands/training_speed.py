"""Training speed: one SGD step through each adapter (`backends.get(name).trainer(spec).step()`) beside the shortest
idiomatic hand-written step in the same framework, and how an adapter's step time grows with width and data size.

Run: python -m comparisons.commands.training_speed [--quick] [--backends torch,jax] [--out DIR]. A benchmark, not a test: both
sides run in one process, interleaved block by block, and force the loss to a Python float every step; compile and jit
warm-up are timed apart. Prints report.py's tables and saves its files in --out (the tables as CSV and JSON, a PNG
chart); exit status 1 if an adapter misses 1.2x (not --quick), 130 on Ctrl-C (then nothing is written).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import backends
from backends import TrainSpec
from backends.training import to_matrices

if TYPE_CHECKING:  # pandas and rich load with report.py, only when the tables are wanted
    import pandas as pd
    from rich.console import Console

ROOT = Path(__file__).resolve().parents[2]
TENSOR_BACKENDS = ("torch", "jax", "tinygrad")  # those with a hand-written step to compare against
COMPARE_SIZES = ((16, 100), (64, 1000))  # (hidden width, data points): the classic demo, and a wider net on more data
WIDTHS = (16, 64, 256)
POINTS = (100, 1000, 10_000)
WITHIN = 1.2  # the most the adapter step may take, as a multiple of the hand-written one (median of paired samples)
LR = 0.1  # one constant rate on both sides (lr_start == lr_end), so both do the same arithmetic, step for step
LOSS_RTOL = 1e-9  # the first loss of both sides must agree this well, or they are not timing the same step


@dataclass(frozen=True)
class Settings:
    """How hard to measure. A sample is a block of `number` consecutive steps (enough to last block_s); a measurement
    takes up to `rounds` samples per side, or stops after budget_s (with at least min_rounds samples)."""

    compare_rounds: int
    sweep_rounds: int
    min_rounds: int
    block_s: float
    max_block_steps: int
    compare_budget_s: float
    sweep_budget_s: float
    micrograd_cap_s: float  # a micrograd point whose step is estimated to take longer than this is skipped
    cold_warmup: bool  # time each comparison's warm-ups in fresh interpreters (else here, where the second side reuses work)


FULL = Settings(
    compare_rounds=60,
    sweep_rounds=15,
    min_rounds=3,
    block_s=0.01,
    max_block_steps=100,
    compare_budget_s=6.0,
    sweep_budget_s=3.0,
    micrograd_cap_s=2.0,
    cold_warmup=True,
)
QUICK = Settings(
    compare_rounds=3,
    sweep_rounds=2,
    min_rounds=1,
    block_s=0.001,
    max_block_steps=5,
    compare_budget_s=0.5,
    sweep_budget_s=0.3,
    micrograd_cap_s=0.3,
    cold_warmup=False,
)


# --- the hand-written steps: what a practitioner would write, one full-batch SGD step (relu MLP, SVM loss, L2) ---
# They run in the process the adapters configured (jax float64 on the CPU, tinygrad's CPU device), as a practitioner's
# own code would after their own setup.


def handwritten_torch(spec: TrainSpec) -> Callable[[], float]:
    """Eager PyTorch: autograd through the forward pass, then SGD in place under no_grad."""
    import torch

    layers = [
        (torch.tensor(W, dtype=torch.float64, requires_grad=True), torch.tensor(b, dtype=torch.float64, requires_grad=True))
        for W, b in to_matrices(spec.weights)
    ]
    params = [p for layer in layers for p in layer]
    X, y = torch.tensor(spec.X, dtype=torch.float64), torch.tensor(spec.y, dtype=torch.float64)

    def step() -> float:
        h = X
        for W, b in layers[:-1]:
            h = torch.relu(h @ W.T + b)
        W, b = layers[-1]
        scores = (h @ W.T + b)[:, 0]
        loss = torch.relu(1 - y * scores).mean() + spec.alpha * sum((p * p).sum() for p in params)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad
                p.grad = None
        return loss.item()

    return step


def handwritten_jax(spec: TrainSpec) -> Callable[[], float]:
    """JAX: one @jax.jit function of (params, X, y) returning the new params and the loss."""
    import jax
    import jax.numpy as jnp

    params = [(jnp.asarray(W, dtype=jnp.float64), jnp.asarray(b, dtype=jnp.float64)) for W, b in to_matrices(spec.weights)]
    X, y = jnp.asarray(spec.X, dtype=jnp.float64), jnp.asarray(spec.y, dtype=jnp.float64)

    def loss_fn(params: list[Any], X: Any, y: Any) -> Any:
        h = X
        for W, b in params[:-1]:
            h = jax.nn.relu(h @ W.T + b)
        W, b = params[-1]
        scores = (h @ W.T + b)[:, 0]
        return jnp.mean(jax.nn.relu(1 - y * scores)) + spec.alpha * sum(jnp.sum(p * p) for p in jax.tree.leaves(params))

    @jax.jit
    def sgd_step(params: list[Any], X: Any, y: Any) -> tuple[list[Any], Any]:
        loss, grads = jax.value_and_grad(loss_fn)(params, X, y)
        return jax.tree.map(lambda p, g: p - LR * g, params, grads), loss

    def step() -> float:
        nonlocal params
        params, loss = sgd_step(params, X, y)
        return float(loss)

    return step


def handwritten_tinygrad(spec: TrainSpec) -> Callable[[], float]:
    """tinygrad: the step as one TinyJit function of float64 Tensors, the update assigned in place, all realized."""
    from tinygrad import Tensor, TinyJit, dtypes

    layers = [(Tensor(W, dtype=dtypes.float64), Tensor(b, dtype=dtypes.float64)) for W, b in to_matrices(spec.weights)]
    params = [p for layer in layers for p in layer]
    X, y = Tensor(spec.X, dtype=dtypes.float64), Tensor(spec.y, dtype=dtypes.float64)
    Tensor.realize(X, y, *params)

    @TinyJit
    def sgd_step() -> Tensor:
        h = X
        for W, b in layers[:-1]:
            h = (h @ W.T + b).relu()
        W, b = layers[-1]
        scores = (h @ W.T + b)[:, 0]
        loss = (1 - y * scores).relu().mean() + spec.alpha * sum((p * p).sum() for p in params)
        for p, g in zip(params, loss.gradient(*params)):
            p.assign(p - LR * g)
        return loss.realize(*params)

    return lambda: sgd_step().item()


HANDWRITTEN = {"torch": handwritten_torch, "jax": handwritten_jax, "tinygrad": handwritten_tinygrad}
HANDWRITTEN_WARMUP_CALLS = {"torch": 1, "jax": 1, "tinygrad": 2}  # TinyJit runs its first call as is, captures the second


# --- measuring ---


def benchmark_spec(width: int, points: int, steps: int) -> TrainSpec:
    """The demo's two moons and seeded weights at this size, full batch, relu, SVM loss, the constant rate LR."""
    return replace(TrainSpec.demo(n_samples=points, hidden=(width, width), steps=steps), lr_start=LR, lr_end=LR)


def interleaved(
    sides: dict[str, Callable[[], Any]], number: int, rounds: int, budget_s: float, min_rounds: int
) -> dict[str, list[float]]:
    """Seconds per step of each side, one sample per round and side: `number` calls in a row. The sides take turns,
    their order reversed every round (ABBA), so that noise and drift on the machine hit them alike."""
    samples: dict[str, list[float]] = {name: [] for name in sides}
    order = list(sides)
    start = time.perf_counter()
    for r in range(rounds):
        if r >= min_rounds and time.perf_counter() - start > budget_s:
            break
        for name in order if r % 2 == 0 else order[::-1]:
            fn = sides[name]
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            samples[name].append((time.perf_counter() - t0) / number)
    return samples


def block_size(seconds_per_step: float, settings: Settings) -> int:
    """Steps per sample: enough for a sample to last block_s, so the timer's resolution and call noise do not matter."""
    return max(1, min(settings.max_block_steps, math.ceil(settings.block_s / max(seconds_per_step, 1e-9))))


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


def warm_up(name: str, side: str, spec: TrainSpec) -> tuple[Callable[[], float], float]:
    """One side made ready to time: the adapter's trainer built and its first step taken, or the hand-written step
    built and called until compiled. Returns the step and the first loss (on the initial weights)."""
    if side == "adapter":
        trainer = backends.get(name).trainer(spec)
        return (lambda: trainer.step()[0]), trainer.step()[0]
    step = HANDWRITTEN[name](spec)
    losses = [step() for _ in range(HANDWRITTEN_WARMUP_CALLS[name])]
    return step, losses[0]


def cold_warmup(name: str, side: str, width: int, points: int) -> float:
    """Seconds of warm_up in a fresh interpreter (the framework already started) with tinygrad's disk cache of compiled
    kernels off: in one process, whichever side warms up second would reuse the first side's compilations."""
    job = f"{name},{side},{width},{points}"
    command = [sys.executable, "-m", "comparisons.commands.training_speed", "--warmup-worker", job]
    proc = subprocess.run(command, cwd=ROOT, env={**os.environ, "CACHELEVEL": "0"}, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"warm-up worker {job} failed (exit {proc.returncode}):\n{proc.stderr.strip()}")
    return json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]


def _warmup_worker(job: str) -> None:
    name, side, width, points = job.split(",")
    prime(name)
    _, seconds = timed(lambda: warm_up(name, side, benchmark_spec(int(width), int(points), steps=2)))
    print(json.dumps({"seconds": seconds}))


def compare(name: str, width: int, points: int, settings: Settings) -> dict[str, Any]:
    """The adapter's step against the hand-written one at one size: both warmed up here (and, unless --quick, each
    warmed up once more in a fresh interpreter, the warm-up time reported), then timed in interleaved samples."""
    spec = benchmark_spec(width, points, steps=2 + settings.compare_rounds * settings.max_block_steps)
    (trainer_step, adapter_loss), adapter_warmup_s = timed(lambda: warm_up(name, "adapter", spec))
    (handwritten, handwritten_loss), handwritten_warmup_s = timed(lambda: warm_up(name, "handwritten", spec))
    if settings.cold_warmup:
        adapter_warmup_s, handwritten_warmup_s = (cold_warmup(name, side, width, points) for side in ("adapter", "handwritten"))
    sides = {"adapter": trainer_step, "handwritten": handwritten}
    calibration = max(timed(fn)[1] for fn in sides.values())
    number = block_size(calibration, settings)
    samples = interleaved(sides, number, settings.compare_rounds, settings.compare_budget_s, settings.min_rounds)
    adapter_s, handwritten_s = statistics.median(samples["adapter"]), statistics.median(samples["handwritten"])
    # paired: each round's two samples ran back to back, so a burst of load on the machine mostly cancels in their ratio
    ratio = statistics.median(a / h for a, h in zip(samples["adapter"], samples["handwritten"]))
    return {
        "backend": name,
        "width": width,
        "points": points,
        "adapter_ms": adapter_s * 1e3,
        "handwritten_ms": handwritten_s * 1e3,
        "ratio": ratio,
        "within": ratio <= WITHIN,
        "ratio_of_medians": adapter_s / handwritten_s,
        "adapter_warmup_s": adapter_warmup_s,
        "handwritten_warmup_s": handwritten_warmup_s,
        "adapter_min_ms": min(samples["adapter"]) * 1e3,
        "handwritten_min_ms": min(samples["handwritten"]) * 1e3,
        "samples": len(samples["adapter"]),
        "steps_per_sample": number,
        "first_loss_adapter": adapter_loss,
        "first_loss_handwritten": handwritten_loss,
        "same_first_loss": math.isclose(adapter_loss, handwritten_loss, rel_tol=LOSS_RTOL),
        "adapter_samples_ms": [s * 1e3 for s in samples["adapter"]],
        "handwritten_samples_ms": [s * 1e3 for s in samples["handwritten"]],
    }


def sweep_point(name: str, width: int, points: int, settings: Settings) -> dict[str, Any]:
    """The adapter's median step time at one width and data size, and its warm-up (trainer construction + first step)."""
    backend = backends.get(name)
    spec = benchmark_spec(width, points, steps=2 + settings.sweep_rounds * settings.max_block_steps)

    def warmup() -> Any:
        trainer = backend.trainer(spec)
        trainer.step()
        return trainer

    trainer, warmup_s = timed(warmup)
    _, calibration = timed(trainer.step)
    number = block_size(calibration, settings)
    budget = settings.sweep_budget_s
    samples = interleaved({"adapter": trainer.step}, number, settings.sweep_rounds, budget, settings.min_rounds)["adapter"]
    return {
        "backend": name,
        "width": width,
        "points": points,
        "step_ms": statistics.median(samples) * 1e3,
        "min_ms": min(samples) * 1e3,
        "samples": len(samples),
        "steps_per_sample": number,
        "warmup_s": warmup_s,
        "skipped": "",
        "samples_ms": [s * 1e3 for s in samples],
    }


def work(width: int, points: int) -> int:
    """Multiply-adds of one forward pass of MLP(2, [width, width, 1]) over the data: what micrograd's time follows."""
    return points * (2 * width + width * width + width)


def micrograd_estimate(width: int, points: int, measured: list[dict[str, Any]]) -> float | None:
    """Seconds per micrograd step at this size, scaled by work() from the largest point measured so far."""
    done = [r for r in measured if not r["skipped"]]
    if not done:
        return None
    last = max(done, key=lambda r: work(r["width"], r["points"]))
    return last["step_ms"] / 1e3 * work(width, points) / work(last["width"], last["points"])


def prime(name: str) -> None:
    """Start the framework (its runtime, its first compilation) outside every timed warm-up, so neither side pays for it."""
    backends.get(name).value_and_grad("x * x + 1", {"x": 1.5})


# --- the run ---


def run(
    names: Sequence[str],
    widths: Sequence[int],
    points: Sequence[int],
    settings: Settings,
    progress: Callable[[str], None] = lambda s: None,
) -> dict[str, Any]:
    """Every measurement as plain data: the comparisons, the sweep (skipped points say why), the settings and machine."""
    comparisons, sweep = [], []
    grid = sorted(((w, n) for w in widths for n in points), key=lambda size: work(*size))
    total = sum(len(COMPARE_SIZES) for name in names if name in TENSOR_BACKENDS) + len(names) * len(grid)
    done, start = 0, time.perf_counter()

    def report(what: str) -> None:
        nonlocal done
        done += 1
        progress(f"[{done}/{total}, {time.perf_counter() - start:.0f} s] {what}")

    load_start = load_average()
    for name in names:
        prime(name)
    for name in (n for n in names if n in TENSOR_BACKENDS):
        for width, n in COMPARE_SIZES:
            row = compare(name, width, n, settings)
            comparisons.append(row)
            report(
                f"{name} {size_label(width, n)}: adapter {row['adapter_ms']:.3f} ms, hand-written "
                f"{row['handwritten_ms']:.3f} ms, ratio {row['ratio']:.2f}"
            )
    for name in names:
        rows: list[dict[str, Any]] = []
        for width, n in grid:
            estimate = micrograd_estimate(width, n, rows) if name == "micrograd" else None
            if estimate is not None and estimate > settings.micrograd_cap_s:
                row = {
                    "backend": name,
                    "width": width,
                    "points": n,
                    "skipped": (f"estimated {estimate:.1f} s per step > the {settings.micrograd_cap_s:g} s cap"),
                }
                report(f"{name} {size_label(width, n)}: skipped, {row['skipped']}")
            else:
                row = sweep_point(name, width, n, settings)
                report(f"{name} {size_label(width, n)}: {row['step_ms']:.3f} ms per step (warm-up {row['warmup_s']:.2f} s)")
            rows.append(row)
        sweep += rows
    return {
        "settings": asdict(settings),
        "lr": LR,
        "within": WITHIN,
        "environment": environment(names, load_start),
        "seconds": time.perf_counter() - start,
        "comparisons": comparisons,
        "sweep": sweep,
    }


def load_average() -> float | None:
    """The 1-minute load average (None where the OS has none): on a shared machine, what the timings competed with."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def environment(names: Sequence[str], load_start: float | None) -> dict[str, Any]:
    """The machine and the frameworks' versions and threads, to read the numbers by."""
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_start": load_start,
        "load_average_end": load_average(),
    }
    if "torch" in names:
        import torch

        env["torch"], env["torch_threads"] = torch.__version__, torch.get_num_threads()
    if "jax" in names:
        import jax

        env["jax"] = jax.__version__
    if "tinygrad" in names:
        from importlib.metadata import version

        env["tinygrad"] = version("tinygrad")
    return env


# --- tables and files: report.py's, like every other command ---


def size_label(width: int, points: int) -> str:
    return f"MLP(2, [{width}, {width}, 1]), {points:,} points"


def tables(result: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """The run as tidy tables, by file stem: every measurement (a comparison's two sides, every sweep point), every
    sample behind them, and one row that says how and where the run was made."""
    from comparisons import render

    measurements, samples = [], []
    for r in result["comparisons"]:
        for side in ("adapter", "handwritten"):
            key = {
                "part": "comparison",
                "backend": r["backend"],
                "implementation": side,
                "width": r["width"],
                "points": r["points"],
            }
            measurements.append(
                key | {
                    "median_ms": r[f"{side}_ms"], "min_ms": r[f"{side}_min_ms"], "samples": r["samples"],
                    "steps_per_sample": r["steps_per_sample"], "warmup_s": r[f"{side}_warmup_s"], "ratio": r["ratio"],
                    "first_loss": r[f"first_loss_{side}"], "skipped": "",
                }
            )  # fmt: skip
            samples += [key | {"sample": i, "ms": ms} for i, ms in enumerate(r[f"{side}_samples_ms"])]
    for r in result["sweep"]:
        key = {"part": "sweep", "backend": r["backend"], "implementation": "adapter", "width": r["width"], "points": r["points"]}
        measurements.append(
            key | {
                "median_ms": r.get("step_ms", math.nan), "min_ms": r.get("min_ms", math.nan), "samples": r.get("samples", 0),
                "steps_per_sample": r.get("steps_per_sample", 0), "warmup_s": r.get("warmup_s", math.nan),
                "ratio": math.nan, "first_loss": math.nan, "skipped": r["skipped"],
            }
        )  # fmt: skip
        samples += [key | {"sample": i, "ms": ms} for i, ms in enumerate(r.get("samples_ms", []))]
    run_row = {
        **{k: v for k, v in result["environment"].items()},
        "settings": result["settings_name"], "lr": result["lr"], "within": result["within"],
        "seconds": result["seconds"], "unavailable": "; ".join(f"{k}: {v}" for k, v in result["unavailable"].items()),
        **{f"setting_{k}": v for k, v in result["settings"].items()},
    }  # fmt: skip
    return {
        "training_speed": render.frame(measurements),
        "training_speed_samples": render.frame(samples),
        "training_speed_run": render.frame([run_row]),
    }


def save(result: dict[str, Any], out_dir: Path) -> list[Path]:
    """The tables as CSV and JSON and the chart as PNG, in out_dir: all of them, or (if interrupted) none."""
    from comparisons import render

    with render.staged_files(out_dir) as staging:
        render.save_tables(tables(result), staging)
        sweep = render.frame([r for r in result["sweep"] if not r["skipped"]], ("backend", "width", "points", "step_ms"))
        render.plot_step_times(sweep, staging / "training_speed.png")
        names = sorted(path.name for path in staging.iterdir())
    return [out_dir / name for name in names]


def print_tables(out: Console, result: dict[str, Any], points: Sequence[int]) -> None:
    """The comparisons, then the sweep (ms per step, a row per backend and width, a column per data size)."""
    from comparisons import render

    settings = result["settings"]
    if result["comparisons"]:
        df = render.frame(result["comparisons"]).assign(
            warmups=lambda d: [f"{a:.2f} / {h:.2f}" for a, h in zip(d.adapter_warmup_s, d.handwritten_warmup_s)],
        )
        formats: dict[str, tuple[str, render.Formatter]] = {
            "backend": ("backend", str), "width": ("width", str), "points": ("points", lambda n: f"{n:,}"),
            "adapter_ms": ("adapter ms", lambda x: f"{x:.3f}"), "handwritten_ms": ("hand-written ms", lambda x: f"{x:.3f}"),
            "ratio": ("ratio", lambda x: f"{x:.2f}"), "within": (f"within {WITHIN:g}x", render.yes_no),
            "warmups": ("warm-up s", str),
        }  # fmt: skip
        warmup = "each in a fresh interpreter" if settings["cold_warmup"] else "in this process, adapter first"
        caption = (
            f"median ms of up to {settings['compare_rounds']} interleaved samples per side, the loss forced to a Python "
            "float every step; ratio: the median of each round's adapter / hand-written samples (taken back to back); "
            f"warm-up, adapter / hand-written: trainer construction + first step / building + first call(s), {warmup}"
        )
        title = "adapter step vs hand-written step: MLP(2, [width, width, 1]) on the data points"
        out.print(render.rich_table(df, title, formats, caption))
        out.print()
        for r in (r for r in result["comparisons"] if not r["same_first_loss"]):
            out.print(
                f"WARNING {r['backend']} {size_label(r['width'], r['points'])}: the sides' first losses differ (adapter "
                f"{r['first_loss_adapter']!r}, hand-written {r['first_loss_handwritten']!r}): not the same step",
                style="bold red", markup=False,
            )  # fmt: skip
    rows = []
    for name in dict.fromkeys(r["backend"] for r in result["sweep"]):
        for width in dict.fromkeys(r["width"] for r in result["sweep"] if r["backend"] == name):
            line = {r["points"]: r for r in result["sweep"] if r["backend"] == name and r["width"] == width}
            cells = {
                f"{n:,} pts": f"{line[n]['step_ms']:.3f}" if n in line and not line[n]["skipped"] else "skipped" for n in points
            }
            rows.append({"backend": name, "width": width, **cells, "slope": _slope(list(line.values()))})
    formats = {column: (column, str) for column in rows[0]} if rows else {}
    caption = "slope: d log(time) / d log(points), 1 = linear in the data, 0 = overhead-bound"
    out.print(render.rich_table(render.frame(rows), "adapter ms per step, median", formats, caption))
    for r in (r for r in result["sweep"] if r["skipped"]):
        out.print(f"skipped {r['backend']} {size_label(r['width'], r['points'])}: {r['skipped']}", markup=False)


def _slope(rows: Sequence[dict[str, Any]]) -> str:
    """How the time grows with the data: d log(time) / d log(points) between the smallest and largest measured size."""
    done = sorted((r for r in rows if not r["skipped"]), key=lambda r: r["points"])
    if len(done) < 2:
        return "-"
    first, last = done[0], done[-1]
    return f"{math.log(last['step_ms'] / first['step_ms']) / math.log(last['points'] / first['points']):.2f}"


# --- command line ---


def _positive_ints(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        values = []
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of positive whole numbers, like 16,64")
    return values


def _backend_names(text: str) -> list[str]:
    names = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [n for n in names if n not in backends.names()]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown backend(s) {', '.join(unknown) or text!r}; choose from {', '.join(backends.names())} (comma-separated)"
        )
    return names


def choose(requested: list[str] | None) -> tuple[list[str], dict[str, str]]:
    """The backends to run and {name: why not} for those that cannot run here; a requested one that cannot run raises."""
    chosen, skipped = backends.select(requested or None)
    if requested and skipped:
        raise backends.BackendUnavailable("; ".join(f"{name}: {why}" for name, why in skipped.items()))
    return chosen, skipped


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m comparisons.commands.training_speed",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="a few tiny samples per measurement (a smoke run, rough numbers)")
    parser.add_argument("--backends", type=_backend_names, help="comma-separated subset (default: every backend that runs here)")
    parser.add_argument(
        "--widths", type=_positive_ints, default=list(WIDTHS), help="hidden widths of the sweep (default 16,64,256)"
    )
    parser.add_argument(
        "--points", type=_positive_ints, default=list(POINTS), help="data sizes of the sweep (default 100,1000,10000)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("results"), metavar="DIR",
        help="folder for training_speed.png and the tables training_speed{,_samples,_run}.{csv,json} (default results/)",
    )  # fmt: skip
    parser.add_argument(
        "--torch-threads",
        type=int,
        metavar="N",
        help="torch.set_num_threads(N) first (default: torch's own choice, one thread per core); "
        "on a busy machine torch's threads wait for each other and a step can take 100x longer",
    )
    parser.add_argument("--warmup-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.warmup_worker:
        _warmup_worker(args.warmup_worker)
        return 0
    if args.out.suffix == ".png" or args.out.is_file():
        parser.error(f"--out {args.out}: give a folder (the files are named training_speed*), e.g. --out results")
    try:
        return measure_and_save(args)
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM or SIGHUP: the files are written whole or not at all (render.staged_files)
        print(f"{parser.prog}: {str(exc) or 'interrupted, nothing written'}", file=sys.stderr)
        return 130


def measure_and_save(args: argparse.Namespace) -> int:
    from comparisons import render

    try:
        names, unavailable = choose(args.backends)
    except backends.BackendUnavailable as exc:
        print(f"python -m comparisons.commands.training_speed: error: {exc}", file=sys.stderr)
        return 2
    for name, why in unavailable.items():
        print(f"skipping {name}: {why}", file=sys.stderr)
    if args.torch_threads is not None and "torch" in names:
        import torch

        torch.set_num_threads(args.torch_threads)
    settings = QUICK if args.quick else FULL
    result = run(names, args.widths, args.points, settings, progress=lambda line: print(line, file=sys.stderr, flush=True))
    result["unavailable"] = unavailable
    result["settings_name"] = "quick" if args.quick else "full"

    out = render.console()
    env = result["environment"]
    load = (
        ""
        if env["load_average_start"] is None
        else f", load average {env['load_average_start']:.1f} at the start, {env['load_average_end']:.1f} at the end"
    )
    quick = " (--quick: rough numbers)" if args.quick else ""
    threads = "" if args.torch_threads is None else f", torch.set_num_threads({args.torch_threads})"
    out.print(f"Python {env['python']} on {env['machine']}, {env['cpus']} CPUs{load}{threads}{quick}", markup=False)
    out.print()
    print_tables(out, result, args.points)
    written = save(result, args.out)
    out.print(f"\nsaved {len(written)} files in {args.out}/: {', '.join(p.name for p in written)}", markup=False)
    out.print(f"({result['seconds']:.0f} s of measuring)", markup=False)
    missed = [r for r in result["comparisons"] if not r["within"]]
    if missed and not args.quick:
        out.print(
            f"adapter slower than {WITHIN:g}x the hand-written step: "
            + ", ".join(f"{r['backend']} {size_label(r['width'], r['points'])}" for r in missed),
            markup=False,
        )
        return 1
    return 0


if __name__ == "__main__":
    from comparisons.commands.cli import interrupts_like_ctrl_c

    interrupts_like_ctrl_c()  # SIGTERM and SIGHUP end the run as Ctrl-C does: "interrupted, nothing written"
    sys.exit(main())
