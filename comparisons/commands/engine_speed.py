"""This engine against the original micrograd 0.1.0, side by side: demo-step time, graph memory, the same loss.

Run: python -m comparisons.commands.engine_speed PATH [--repeats N] [--json FILE], where PATH holds the original's
micrograd/engine.py and micrograd/nn.py (e.g. an unpacked micrograd-0.1.0 wheel). Every timing and memory figure
comes from a fresh interpreter per engine and setting, since the original leaves reference cycles behind that the
next run would pay to collect; the numerics check loads both engines into this process. Prints report.py's table;
exit status 1 if a target is missed, 130 on Ctrl-C (then nothing is written).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from micrograd import engine as this_engine
from micrograd.demo import learning_rate, make_moons
from micrograd.demo import loss as demo_loss
from micrograd.nn import MLP

if TYPE_CHECKING:  # rich loads with report.py, only when the table is printed
    from rich.console import Console

ROOT = Path(__file__).resolve().parents[2]
SEED = 1337
SIZES = [16, 16, 1]
IMPLS = {
    "original": "the original micrograd 0.1.0 (its engine, its nn.py, the demo notebook's loss)",
    "this": "this engine (micrograd.nn.MLP with the fused Value.dot, micrograd.demo.loss)",
    "this+original-nn": "this engine running the original's nn.py and notebook loss unchanged (no fused dot)",
}
TARGETS = {"speed_gc": 10.0, "speed_nogc": 2.0, "memory": 6.0, "loss_rtol": 1e-12, "floor": 2.2}


def load_original(src: Path) -> tuple[ModuleType, ModuleType]:
    """The original's engine and nn modules, imported from `src` under names of their own (so both engines coexist)."""
    paths = [src / "micrograd" / "engine.py", src / "micrograd" / "nn.py"]
    engine = _load("micrograd_original_engine", paths[0])
    # The original nn.py says `from micrograd.engine import Value`: let that name mean its own engine while it loads.
    ours = sys.modules["micrograd.engine"]
    sys.modules["micrograd.engine"] = engine
    try:
        nn = _load("micrograd_original_nn", paths[1])
    finally:
        sys.modules["micrograd.engine"] = ours
    return engine, nn


def original_dir(path: Path) -> Path:
    """The directory holding the original's micrograd/ package (the package directory itself is accepted too)."""
    src = path.parent if path.name == "micrograd" and not (path / "micrograd").is_dir() else path
    missing = [str(src / "micrograd" / name) for name in ("engine.py", "nn.py") if not (src / "micrograd" / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{path} does not hold the original micrograd (missing {', '.join(missing)}); pass the directory that "
            "contains micrograd/engine.py, e.g. the one micrograd-0.1.0-py3-none-any.whl was unzipped into"
        )
    return src


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def notebook_loss(model: Any, Value: Any, X: Sequence[Sequence[float]], y: Sequence[float]) -> tuple[Any, float]:
    """The original demo notebook's loss, word for word but for numpy: SVM max-margin + 1e-4 L2, inputs as Values."""
    inputs = [list(map(Value, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    alpha = 1e-4
    reg_loss = alpha * sum(p * p for p in model.parameters())
    total_loss = data_loss + reg_loss
    accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]
    return total_loss, sum(accuracy) / len(accuracy)


def demo(impl: str, src: Path) -> tuple[Any, Callable[[], tuple[Any, float]]]:
    """(model, compute the loss): two moons (100 points, noise 0.1), MLP(2, [16, 16, 1]), the same initial weights."""
    X, y = make_moons(100, noise=0.1, seed=SEED)
    weights = MLP(2, SIZES, seed=SEED).export_weights()
    if impl == "this":
        model = MLP.from_weights(weights)
        return model, lambda: demo_loss(model, X, y)
    if impl == "original":
        engine, nn = load_original(src)
    else:
        engine, nn = this_engine, _load("micrograd_original_nn_on_this_engine", src / "micrograd" / "nn.py")
    model = nn.MLP(2, list(SIZES))
    for p, number in zip(model.parameters(), (n for layer in weights for row in layer for n in row)):
        p.data = number
    return model, lambda: notebook_loss(model, engine.Value, X, y)


def _steps(impl: str, src: Path, gc_enabled: bool, clock: Callable[[], float] = time.perf_counter) -> Iterator[float]:
    """Seconds per training step (loss, zero_grad, backward, update, freeing the graph), one step per next()."""
    model, compute = demo(impl, src)
    params = model.parameters()
    if not gc_enabled:
        gc.disable()
    k = 0
    while True:
        start = clock()
        total, _ = compute()
        model.zero_grad()
        total.backward()
        lr = learning_rate(k)
        for p in params:
            p.data -= lr * p.grad
        del total
        yield clock() - start
        k += 1


def measure_steps(impl: str, src: Path, gc_enabled: bool, repeats: int) -> list[float]:
    """Seconds per training step, `repeats` of them after one warm-up step."""
    steps = _steps(impl, src, gc_enabled)
    return [next(steps) for _ in range(repeats + 1)][1:]


def chain_memory(impl: str, src: Path, operands: str, ops: int) -> dict[str, float]:
    """Bytes traced while building a chain of `ops` ops (x*a, x+c, ...), per op and per Value the chain created."""
    V = (load_original(src)[0] if impl == "original" else this_engine).Value
    x, a, c = V(1.0), V(0.999999), V(1e-6)
    leaves = [x, a, c]
    if operands == "numbers":
        a, c, leaves = 0.999999, 1e-6, [x]
    gc.collect()
    tracemalloc.start()
    for _ in range(ops // 2):
        x = x * a
        x = x + c
    traced = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    done, values = ops // 2 * 2, _count_values(x) - len(leaves)
    return {"bytes": traced, "ops": done, "values": values, "per_op": traced / done, "per_value": traced / values}


def _count_values(root: Any) -> int:
    seen, stack = {id(root)}, [root]
    while stack:
        for child in stack.pop()._prev:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return len(seen)


def numerics(src: Path) -> dict[str, float]:
    """Both engines, the same weights and data: the loss, and the largest relative difference of any gradient."""
    out: dict[str, float] = {}
    grads = {}
    for impl in ("original", "this"):
        model, compute = demo(impl, src)
        total, _ = compute()
        total.backward()
        out[impl] = total.data
        grads[impl] = [p.grad for p in model.parameters()]
    out["loss_rel_diff"] = abs(out["this"] - out["original"]) / abs(out["original"])
    out["grad_max_rel_diff"] = max(abs(a - b) / max(abs(a), abs(b), 1e-300) for a, b in zip(grads["this"], grads["original"]))
    return out


class FloorNode:
    """The least a pure-Python scalar engine keeps per node: its value, its grad, its children, their local derivatives."""

    __slots__ = ("children", "data", "grad", "local")

    def __init__(self, data: float, children: tuple[FloorNode, ...], local: tuple[float, ...]) -> None:
        self.data = data
        self.grad = 0.0
        self.children = children
        self.local = local


def graph_counts(src: Path) -> dict[str, int]:
    """The nodes one demo step of this engine creates (every non-leaf node of the loss's graph) and their edges."""
    _, compute = demo("this", src)
    total, _ = compute()
    made = [node for node in this_engine._topological_order(total) if node._prev]
    return {"nodes": len(made), "edges": sum(len(node._prev) for node in made)}


def measure_floor(src: Path, repeats: int) -> dict[str, Any]:
    """This engine's demo step and the floor under it, timed alternately in one interpreter (gc on, as by default).

    The floor is the bare work any pure-Python scalar engine does for the step's graph: allocating a __slots__ node
    onto a tape, the forward multiply-add acc += w.data * x.data and the backward child.grad += local * g per edge,
    and reading each node's grad, children and local derivatives off the tape. Each is timed over as many nodes or
    edges as this engine's step has; every figure is the median of `repeats` rounds, in CPU time (this process's
    time.process_time(), which other work on a shared machine disturbs less than the wall clock).
    """
    counts = graph_counts(src)
    nodes, edges = counts["nodes"], counts["edges"]
    leaves = [FloorNode(0.5, (), ()) for _ in range(edges)]
    local = [0.25] * edges
    kids, derivatives = (leaves[0], leaves[1]), (0.5, 0.5)

    def allocate() -> list[FloorNode]:
        tape = []
        for _ in range(nodes):
            tape.append(FloorNode(0.5, kids, derivatives))
        return tape

    def forward() -> float:
        acc = 0.0
        for w, x in zip(leaves, leaves):
            acc += w.data * x.data
        return acc

    def backward() -> None:
        g = 1.0
        for child, d in zip(leaves, local):
            child.grad += d * g

    def walk() -> None:
        for node in reversed(tape):
            g, children, d = node.grad, node.children, node.local  # noqa: F841 (read, as a backward loop does)

    def timed(f: Callable[[], object]) -> float:
        start = time.process_time()
        f()
        return time.process_time() - start

    tape = allocate()
    runs: dict[str, list[float]] = {"node": [], "walk": [], "forward": [], "backward": []}
    steps = _steps("this", src, gc_enabled=True, clock=time.process_time)
    step_times = []
    next(steps)  # the warm-up step
    for _ in range(repeats):
        step_times.append(next(steps))
        runs["node"].append(timed(allocate) / nodes)
        runs["walk"].append(timed(walk) / nodes)
        runs["forward"].append(timed(forward) / edges)
        runs["backward"].append(timed(backward) / edges)
    return {"counts": counts, "costs": {k: statistics.median(v) for k, v in runs.items()}, "step": statistics.median(step_times)}


def floor_seconds(costs: dict[str, float], counts: dict[str, int]) -> float:
    """The floor of one demo step: the node count times the per-node costs plus the edge count times the per-edge ones."""
    return counts["nodes"] * (costs["node"] + costs["walk"]) + counts["edges"] * (costs["forward"] + costs["backward"])


def _worker(src: Path, job: str, repeats: int, ops: int) -> Any:
    """Run one job in a fresh interpreter; the child prints its result as JSON on its last line."""
    cmd = [
        sys.executable,
        "-m",
        "comparisons.commands.engine_speed",
        str(src),
        "--worker",
        job,
        f"--repeats={repeats}",
        f"--ops={ops}",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"engine_speed worker {job!r} failed (exit {proc.returncode}):\n{proc.stderr.strip()}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _run_job(src: Path, job: str, repeats: int, ops: int) -> Any:
    kind, impl, setting = job.split(":")
    if kind == "floor":
        return measure_floor(src, repeats)
    if kind == "time":
        return measure_steps(impl, src, setting == "gc", repeats)
    return chain_memory(impl, src, setting, ops)


def run(src: Path, repeats: int = 5, ops: int = 100_000, progress: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """Every measurement, the ratios and the verdicts, as plain data."""
    src = original_dir(src)
    rows = []

    def measure(job: str) -> Any:
        progress(job)
        return _worker(src, job, repeats, ops)

    for setting, target in (("gc", "speed_gc"), ("nogc", "speed_nogc")):
        med = {impl: statistics.median(measure(f"time:{impl}:{setting}")) for impl in IMPLS}
        label = "gc on (default)" if setting == "gc" else "gc off in both"
        rows.append(_row(f"demo step, {label}", "s", med["original"], med["this"], TARGETS[target], "speedup"))
        rows.append(_row(f"  info: original's nn.py on this engine, {label}", "s", med["original"], med["this+original-nn"]))
    floor = measure("floor:this:gc")
    counts, costs, step = floor["counts"], floor["costs"], floor["step"]
    floor_s = floor_seconds(costs, counts)
    rows.append(
        {
            "measure": "demo step, gc on, against its floor (left column)",
            "unit": "s",
            "original": floor_s,
            "this": step,
            "ratio": step / floor_s,
            "target": f"step <= {TARGETS['floor']:g}x floor",
            "passed": step / floor_s <= TARGETS["floor"],
        }
    )
    rows.append(
        _info(
            f"  info: floor = {counts['nodes']:,} nodes x ({costs['node'] * 1e9:.0f} + {costs['walk'] * 1e9:.0f} ns) "
            f"+ {counts['edges']:,} edges x ({costs['forward'] * 1e9:.0f} + {costs['backward'] * 1e9:.0f} ns)"
        )
    )
    for operands, what in (("values", "x*w, x+b (Value operands)"), ("numbers", "x*0.999999, x+1e-6 (number operands)")):
        mem = {impl: measure(f"memory:{impl}:{operands}") for impl in ("original", "this")}
        original, this = mem["original"], mem["this"]
        per_op = original["per_op"], this["per_op"]
        rows.append(_row(f"memory per op, chain {what}", "B/op", *per_op, TARGETS["memory"], "smaller"))
        rows.append(
            _row(
                f"  info: per Value created ({original['values']} vs {this['values']} Values)",
                "B/Value",
                original["per_value"],
                this["per_value"],
            )
        )
    progress("numerics")
    num = numerics(src)
    rows.append(
        {
            "measure": "loss, same weights and data",
            "unit": "",
            "original": num["original"],
            "this": num["this"],
            "ratio": num["loss_rel_diff"],
            "target": f"rel diff <= {TARGETS['loss_rtol']:g}",
            "passed": num["loss_rel_diff"] <= TARGETS["loss_rtol"],
        }
    )
    rows.append(
        {
            "measure": "  info: gradients, largest relative difference",
            "unit": "",
            "original": None,
            "this": None,
            "ratio": num["grad_max_rel_diff"],
            "target": None,
            "passed": None,
        }
    )
    return {
        "original": str(src),
        "python": platform.python_version(),
        "machine": platform.platform(),
        "repeats": repeats,
        "chain_ops": ops,
        "impls": IMPLS,
        "rows": rows,
        "passed": all(r["passed"] for r in rows if r["passed"] is not None),
    }


def _row(measure: str, unit: str, original: float, this: float, target: float | None = None, kind: str = "") -> dict[str, Any]:
    ratio = original / this
    return {
        "measure": measure,
        "unit": unit,
        "original": original,
        "this": this,
        "ratio": ratio,
        "target": f"{kind} >= {target:g}x" if target else None,
        "passed": ratio >= target if target else None,
    }


def _info(measure: str) -> dict[str, Any]:
    """A row that only says something (no figures, no verdict)."""
    return {"measure": measure, "unit": "", "original": None, "this": None, "ratio": None, "target": None, "passed": None}


def print_table(out: Console, result: dict[str, Any]) -> None:
    """The rows as report.py's table: each measure, both engines, their ratio, the target and the verdict."""
    from rich.text import Text

    from comparisons import render

    rows = render.frame(result["rows"]).assign(
        ratio_text=lambda d: [
            "" if r is None or r != r else f"{r:.2f}x" if unit else f"{r:.1e}" for r, unit in zip(d.ratio, d.unit)
        ],
        verdict=lambda d: ["" if not isinstance(p, bool) else ("pass" if p else "FAIL") for p in d.passed],
    )
    formats: dict[str, tuple[str, render.Formatter]] = {
        "measure": ("measure", str), "unit": ("unit", str), "original": ("original", _num), "this": ("this", _num),
        "ratio_text": ("ratio", str), "target": ("target", lambda t: t if isinstance(t, str) else ""),
        "verdict": ("verdict", lambda v: Text(v, style="bold red" if v == "FAIL" else "")),
    }  # fmt: skip
    title = "this engine against the original micrograd 0.1.0: demo-step time, memory per op, the same loss"
    caption = (
        f"The original: {result['original']}. Python {result['python']} on {result['machine']}. Times: the median "
        f"of {result['repeats']} demo steps (100 points, full batch), each engine in a fresh interpreter. Memory per "
        f"op: bytes traced by tracemalloc while a chain of {result['chain_ops']:,} ops is built, over the ops. Ratio: "
        "original / this (for the loss: their relative difference). With gc off the original's cycles are never freed. "
        "Floor: what any pure-Python scalar engine pays for this engine's demo-step graph (allocating a __slots__ node, "
        "a multiply-add per edge forward and backward, reading each node off a tape); ratio there: this / floor."
    )
    out.print(render.rich_table(rows, title, formats, caption))
    out.print("all targets met" if result["passed"] else "SOME TARGETS MISSED", style="green" if result["passed"] else "bold red")


def save_json(result: dict[str, Any], path: Path) -> None:
    """The rows as JSON records (report.py's writer, staged: whole or not at all), each with the run's settings."""
    from comparisons import render

    run = {k: result[k] for k in ("original", "python", "machine", "repeats", "chain_ops")}
    with render.staged_files(path.parent) as staging:
        (staging / path.name).write_text(render.json_records([row | run for row in result["rows"]]), encoding="utf-8")


def _num(x: float | None) -> str:
    if x is None or x != x:
        return ""
    return f"{x:.4f}" if abs(x) < 10 else f"{x:.1f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m comparisons.commands.engine_speed",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("original", type=Path, help="directory holding the original's micrograd/engine.py")
    parser.add_argument("--repeats", type=int, default=5, help="timed demo steps per engine and setting (default 5)")
    parser.add_argument("--ops", type=int, default=100_000, help="length of the chain for the memory figure")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the rows as JSON records to FILE")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.ops < 2:
        parser.error("--repeats must be at least 1 and --ops at least 2")
    try:
        args.original = original_dir(args.original)
        if args.worker:
            print(json.dumps(_run_job(args.original, args.worker, args.repeats, args.ops)))
            return 0
        result = run(args.original, args.repeats, args.ops, progress=lambda job: print(f"running {job} ...", file=sys.stderr))
        from comparisons import render

        print_table(render.console(width=140), result)  # the measures are long
        if args.json:
            save_json(result, args.json)
            print(f"wrote {args.json}")
    except FileNotFoundError as exc:
        parser.error(str(exc))
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM or SIGHUP: the JSON is written whole or not at all (render.staged_files)
        print(f"{parser.prog}: {str(exc) or 'interrupted, nothing written'}", file=sys.stderr)
        return 130
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    from comparisons.commands.cli import interrupts_like_ctrl_c

    interrupts_like_ctrl_c()  # SIGTERM and SIGHUP end the run as Ctrl-C does: "interrupted, nothing written"
    sys.exit(main())
