"""`python -m comparisons fuzz`: random programs over the whole input range, run by every backend and judged by the
one verdict (comparisons.judge.verdict), as `grad` judges: accurate, inaccurate_agreeing, known, undefined, raised
or unexplained. Literals appear anywhere (huge exponents, subnormal constants, exact zeros), so every class is
reachable. Every unexplained finding is shrunk (delta debugging) to a small program and written as a ready-to-paste
catalog entry. Deterministic for a seed: the generator draws from its own random.Random(seed) and nothing else varies.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import backends
from backends.base import Backend
from backends.expr import Expression, ExpressionError, Node, parse
from comparisons.commands import cli
from comparisons.commands.runs import run_backends
from comparisons.judge import dtypes, verdict
from comparisons.judge.rules import node_values
from comparisons.judge.verdict import CLASSES

POINTS = 5  # input points per generated expression: they share one compilation
MAX_OPS = 7
NAMES = ("x", "y", "z")
UNARY = ("neg", "relu", "tanh", "exp", "log", "sigmoid")
OP_WEIGHTS = {
    "add": 3, "sub": 3, "mul": 3, "div": 2, "pow_const": 2, "pow_value": 1, "const_pow": 1,
    "neg": 1, "relu": 2, "tanh": 3, "exp": 2, "log": 2, "sigmoid": 2,
}  # fmt: skip
CONSTANTS = (0.0, 1.0, -1.0, 2.0, 0.5, 3.0, -2.5, 10.0, 1e-8, 1e8, 1000.0)
EXPONENTS = (2.0, 3.0, -1.0, -2.0, 0.5, 1.5, -0.5, 0.0, 1.0, 2.5)
BASES = (2.0, 0.5, 3.0, 10.0, 0.0)
# literals from the edges of each dtype, drawn now and then in place of the ordinary ones above: huge and tiny
# numbers, subnormals, signed zeros, exponents beyond 2**52 (whole numbers all), constants-only sub-expressions
EDGE_LITERALS = {
    "float64": (1e300, -1e300, 1e-300, 5e-324, 2.2250738585072014e-308, -0.0, 0.0, 1e17, 1e-12, 709.0),
    "float32": (1e38, -1e38, 1e-38, 1e-45, 1.1754943508222875e-38, -0.0, 0.0, 1e17, 1e-6, 88.0),
}
EDGE_EXPONENTS = (1e300, -1e300, 1e17, 0.0, -0.0, 1e-300)
EDGE_CHANCE = 0.15


@dataclass(frozen=True)
class Record:
    """One quantity of one backend at one point, and its class."""

    case: int  # the index of the expression
    point: int  # the index of the input point
    source: str
    inputs: dict[str, float]
    dtype: str
    backend: str
    quantity: str
    got: float | None  # None where the backend raised
    truth: float | None  # the truth rounded to dtype; None where undefined
    ulps: float | None
    cls: str  # the verdict's class (comparisons.judge.verdict.CLASSES)
    why: str  # the rule, the truth's reason, the ill-conditioning, or the error
    rule: str = ""  # the explaining rule's name, or ""

    def as_dict(self) -> dict[str, Any]:
        """The record as the files and --format csv show it: `class`, as every command's records name it."""
        out = asdict(self)
        out["class"] = out.pop("cls")
        return out


@dataclass
class Finding:
    """An unexplained quantity, shrunk, with what every backend gives for it there."""

    backend: str
    dtype: str
    source: str
    inputs: dict[str, float]
    quantity: str
    gives: dict[str, float | None]
    truth: float | None
    original_source: str
    original_inputs: dict[str, float]
    entry: str = ""  # the catalog entry, ready to paste


@dataclass
class Summary:
    """One fuzz run: what ran, the count per class, how often each rule explained something, and the findings."""

    seed: int
    dtype: str
    backends: list[str]
    expressions: int
    cases: int
    quantities: int
    counts: dict[str, int]
    unexplained: int
    known: dict[str, int]
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


# --- generating expressions and points ---


def generate(rng: random.Random, dtype: str = "float64") -> str:
    """A random program: 1-3 inputs, 1-MAX_OPS operations as assignments (later ones may reuse earlier ones, so
    subexpressions are shared), and a final bare name. Now and then a literal comes from the edges of `dtype`
    (EDGE_LITERALS), an exponent is huge or zero, or an operand is a constant-only sub-expression (`exp(1e-12)`),
    which every backend must evaluate itself: nothing is folded before they see it."""
    names = list(NAMES[: rng.randint(1, 3)])
    terms = list(names)
    lines: list[str] = []
    ops, weights = zip(*OP_WEIGHTS.items())
    for k in range(rng.randint(1, MAX_OPS)):
        op = rng.choices(ops, weights)[0]
        # mostly the newest term, so the graph gets deep; sometimes an older one, so it branches and shares
        a = terms[-1] if rng.random() < 0.6 else rng.choice(terms)
        b = rng.choice(terms) if rng.random() < 0.7 else _literal_term(rng, dtype)
        if op in UNARY:
            text = f"-{a}" if op == "neg" else f"{op}({a})"
        elif op == "pow_const":
            edge = EDGE_EXPONENTS if dtype == "float64" else tuple(e for e in EDGE_EXPONENTS if abs(e) < 1e38)
            text = f"{a}**{_number(rng, edge if rng.random() < EDGE_CHANCE else EXPONENTS)}"
        elif op == "pow_value":
            text = f"{a}**{b}"
        elif op == "const_pow":
            text = f"{_number(rng, BASES)}**{a}"
        else:
            left, right = (a, b) if rng.random() < 0.8 else (b, a)
            text = f"{left} {dict(add='+', sub='-', mul='*', div='/')[op]} {right}"
        lines.append(f"t{k} = {text}")
        terms.append(f"t{k}")
    return "; ".join([*lines, terms[-1]])


def _literal_term(rng: random.Random, dtype: str) -> str:
    """A literal (ordinary, or from the edges of `dtype`), or now and then a constant-only sub-expression."""
    pick = rng.random()
    if pick < EDGE_CHANCE:
        return _number(rng, EDGE_LITERALS[dtype])
    if pick < 2 * EDGE_CHANCE:
        c = _number(rng, CONSTANTS + EDGE_LITERALS[dtype])
        return rng.choice((f"exp({c})", f"tanh({c})", f"sigmoid({c})", f"({c} - {_number(rng, CONSTANTS)})", f"{c}**0.0"))
    return _number(rng, CONSTANTS)


def _number(rng: random.Random, choices: tuple[float, ...]) -> str:
    v = rng.choice(choices)
    return f"({v!r})" if math.copysign(1.0, v) < 0 else repr(v)


def draw_point(rng: random.Random, names: Iterable[str], dtype: str) -> dict[str, float]:
    """Input values across the whole range: ordinary, huge, tiny, subnormal, at kinks and domain edges, in the tails
    of tanh and sigmoid, near exp's overflow, and pairs that (nearly) cancel."""
    f32 = dtype == "float32"
    top, bottom, normal = (38, -37, 1.1754943508222875e-38) if f32 else (307, -307, 2.2250738585072014e-308)
    overflow = 88.7 if f32 else 709.78
    point: dict[str, float] = {}
    for name in names:
        kind = rng.choices(
            ("ordinary", "moderate", "huge", "tiny", "subnormal", "edge", "tail", "overflow", "cancel"),
            (6, 4, 1, 1, 1, 2, 2, 1, 2),
        )[0]
        sign = rng.choice((1.0, -1.0))
        if kind == "ordinary":
            v = sign * round(rng.uniform(0.1, 10), rng.randint(0, 6))
        elif kind == "moderate":
            v = sign * 10 ** rng.uniform(-4, 4)
        elif kind == "huge":
            v = sign * 10 ** rng.uniform(10, top)
        elif kind == "tiny":
            v = sign * 10 ** rng.uniform(bottom, -10)
        elif kind == "subnormal":
            v = sign * normal * rng.uniform(0, 1)
        elif kind == "edge":
            v = rng.choice((0.0, -0.0, 1.0, -1.0, 2.0, 0.5))
        elif kind == "tail":
            v = sign * rng.uniform(3, 40)
        elif kind == "overflow":
            v = sign * rng.uniform(overflow - 3, overflow + 3)
        else:  # the same as an earlier input, or a few ulps from it
            earlier = list(point.values())
            base = rng.choice(earlier) if earlier else 1.0
            v = base * (1 + rng.choice((0, 1, -1, 4, -16)) * (2.0**-23 if f32 else 2.0**-52))
        point[name] = dtypes.round_to(v, dtype)
    return point


# --- running and classifying ---


Results = dict[str, dict[str, float] | str]  # backend -> {quantity: number}, or the error text where it raised


def classify(
    expr: Expression, point: dict[str, float], results: verdict.Results, dtype: str, case: int = 0, index: int = 0
) -> list[Record]:
    """Every quantity of every backend at one point, judged by the one verdict (comparisons.judge.verdict)."""
    judged = verdict.judge(expr, point, dtype, results)
    return [
        Record(case, index, expr.source, point, dtype, r["backend"], r["quantity"], r["value"], r["truth"], r["ulps"],
               r["class"], r["why"] or (r["error"] or ""), r["rule"])
        for r in judged
    ]  # fmt: skip


def fuzz(
    n: int,
    seed: int,
    chosen: Mapping[str, Backend],
    dtype: str = "float64",
    points: int = POINTS,
    shrink_limit: int = 5,
    tick: Callable[[], None] | None = None,
) -> tuple[Summary, list[Record]]:
    """`n` cases (an expression at a point; each expression is tried at `points` points) on the `chosen` backends,
    every record, and a summary whose findings are the first `shrink_limit` unexplained ones, shrunk."""
    started = time.perf_counter()
    rng = random.Random(seed)
    records: list[Record] = []
    cases = expressions = 0
    while cases < n:
        source = generate(rng, dtype)
        try:
            expr = parse(source)
        except ExpressionError:  # e.g. everything folded into a constant: draw again
            continue
        pts = [draw_point(rng, expr.inputs, dtype) for _ in range(min(points, n - cases))]
        for k, (point, results) in enumerate(zip(pts, run_backends(expr, pts, chosen, dtype))):
            records += classify(expr, point, results, dtype, expressions, k)
            cases += 1
            if tick:
                tick()
        expressions += 1
    findings = []
    for first in _distinct_unexplained(records)[:shrink_limit]:
        findings.append(shrink_finding(first, chosen))
    counts = Counter(r.cls for r in records)
    summary = Summary(
        seed=seed, dtype=dtype, backends=list(chosen), expressions=expressions, cases=cases, quantities=len(records),
        counts={c: counts.get(c, 0) for c in CLASSES},
        unexplained=sum(verdict.counts_as_failure({"class": r.cls, "rule": r.rule}) for r in records),
        known=dict(Counter(r.rule for r in records if r.rule).most_common()), findings=findings,
    )  # fmt: skip
    summary.seconds = round(time.perf_counter() - started, 1)
    return summary, records


def _distinct_unexplained(records: list[Record]) -> list[Record]:
    """The first unexplained record per (backend, expression): one finding per thing to look at."""
    seen: set[tuple[str, int]] = set()
    out = []
    for r in records:
        if verdict.counts_as_failure({"class": r.cls, "rule": r.rule}) and (r.backend, r.case) not in seen:
            seen.add((r.backend, r.case))
            out.append(r)
    return out


# --- shrinking ---


def shows(record: Record, chosen: Mapping[str, Backend]) -> Callable[[Expression, dict[str, float]], bool]:
    """The test the shrinker keeps: the backend of `record` still has an unexplained quantity there."""

    def still(expr: Expression, point: dict[str, float]) -> bool:
        (results,) = run_backends(expr, [point], chosen, record.dtype)
        judged = classify(expr, point, results, record.dtype)
        return any(r.cls == record.cls and r.backend == record.backend and not r.rule for r in judged)

    return still


def shrink(
    expr: Expression, point: dict[str, float], fails: Callable[[Expression, dict[str, float]], bool], max_checks: int = 60
) -> tuple[Expression, dict[str, float]]:
    """Delta debugging, greedy: take the first smaller candidate that still `fails` (fewer operations, fewer inputs,
    rounder numbers), and start again from it, until none does or `max_checks` candidates were tried."""
    checks = 0
    improved = True
    while improved and checks < max_checks:
        improved = False
        for cand_expr, cand_point in _candidates(expr, point):
            checks += 1
            if fails(cand_expr, cand_point):
                expr, point, improved = cand_expr, cand_point, True
                break
            if checks >= max_checks:
                break
    return expr, point


def _candidates(expr: Expression, point: dict[str, float]) -> Iterable[tuple[Expression, dict[str, float]]]:
    nodes = expr.nodes
    values = node_values(expr, point)
    # fewer operations: bypass a node (use one of its arguments instead), or replace it by its value
    for i in range(len(nodes) - 1, -1, -1):
        n = nodes[i]
        if n.op in ("input", "const"):
            continue
        for a in dict.fromkeys(n.args):
            yield from _built(_replace(nodes, i, a), point, a if i == len(nodes) - 1 else None)
        if math.isfinite(values[i]):
            yield from _built(_replace(nodes, i, Node("const", value=values[i])), point)
    # fewer inputs: an input becomes the number it was
    if len(expr.inputs) > 1:
        for i, n in enumerate(nodes):
            if n.op == "input":
                rest = {k: v for k, v in point.items() if k != n.name}
                yield from _built(_replace(nodes, i, Node("const", value=point[n.name])), rest)
    # rounder numbers: inputs, then constants
    for name, v in point.items():
        for r in _rounder(v):
            yield expr, {**point, name: r}
    for i, n in enumerate(nodes):
        if n.op == "const":
            for r in _rounder(n.value):
                yield from _built(_replace(nodes, i, Node("const", value=r)), point)


def _rounder(v: float) -> list[float]:
    """Numbers with fewer significant digits than v (0, ±1, the power of two or ten nearby, v to 1-3 digits)."""
    if v == 0 or not math.isfinite(v):
        return []
    out = [0.0, math.copysign(1.0, v)]
    exponent = math.floor(math.log10(abs(v)))
    out.append(math.copysign(10.0**exponent, v))
    out += [float(f"{v:.{d}e}") for d in range(3)]
    return [r for r in dict.fromkeys(out) if r != v and _digits(r) < _digits(v)]


def _digits(v: float) -> int:
    return len(repr(abs(v)).split("e")[0].replace(".", "").strip("0"))


def _replace(nodes: tuple[Node, ...], i: int, by: Node | int) -> list[Node]:
    """The node list with node i replaced by a new node, or by (a reference to) node `by`."""
    if isinstance(by, Node):
        return [by if k == i else n for k, n in enumerate(nodes)]
    remap = {i: by}
    return [Node(n.op, tuple(remap.get(a, a) for a in n.args), n.value, n.name) for n in nodes]


def _built(
    nodes: list[Node], point: dict[str, float], result: int | None = None
) -> Iterable[tuple[Expression, dict[str, float]]]:
    """The expression of `nodes` whose result is node `result` (default: the last), reparsed so that constants fold;
    nothing if it is invalid (a constant)."""
    result = len(nodes) - 1 if result is None else result
    nodes = nodes[: result + 1]
    live = {result}
    for k in range(result, -1, -1):
        if k in live:
            live.update(nodes[k].args)
    kept: dict[int, int] = {}
    out: list[Node] = []
    for k in sorted(live):
        n = nodes[k]
        kept[k] = len(out)
        out.append(Node(n.op, tuple(kept[a] for a in n.args), n.value, n.name))
    try:
        expr = parse(Expression(tuple(out)).source)
    except ExpressionError:
        return
    yield expr, {name: point[name] for name in expr.inputs}


def shrink_finding(record: Record, chosen: Mapping[str, Backend]) -> Finding:
    """The finding of `record`, shrunk, with every backend's number for its quantity and the catalog entry."""
    original = parse(record.source)
    expr, point = shrink(original, record.inputs, shows(record, chosen))
    (results,) = run_backends(expr, [point], chosen, record.dtype)
    judged = classify(expr, point, results, record.dtype)
    mine = [r for r in judged if r.cls == record.cls and r.backend == record.backend and not r.rule]
    quantity = mine[0].quantity if mine else record.quantity
    gives = {name: (r.get(quantity) if isinstance(r, dict) else None) for name, r in results.items()}
    true = mine[0].truth if mine else record.truth
    finding = Finding(record.backend, record.dtype, expr.source, point, quantity, gives, true, record.source, record.inputs)
    finding.entry = catalog_entry(finding)
    return finding


def catalog_entry(f: Finding) -> str:
    """A Divergence(...) for comparisons/judge/catalog.py, ready to paste (float32 findings say so in their name)."""
    ops = sorted({n.op for n in parse(f.source).nodes} - {"input", "const"})
    name = f"fuzz_{f.backend}_{'_'.join(ops) or 'input'}" + ("_float32" if f.dtype == "float32" else "")
    gives = ", ".join(f'"{k}": {_literal(v)}' for k, v in f.gives.items())
    inputs = ", ".join(f'"{k}": {_literal(v)}' for k, v in f.inputs.items())
    return (
        "    Divergence(\n"
        f"        {name!r},\n"
        f"        {f.source!r},\n"
        f"        {{{inputs}}},\n"
        f"        {f.quantity!r},\n"
        f"        {{{gives}}},\n"
        f'        "TODO: why {f.backend} differs ({f.dtype}); the exact value is {_literal(f.truth)}.",\n'
        "    ),"
    )


def _literal(v: float | None) -> str:
    if v is None:
        return "None"
    if math.isnan(v):
        return "NAN"
    if math.isinf(v):
        return "INF" if v > 0 else "-INF"
    return repr(v)


# --- the command ---


def add_parser(commands: Any) -> None:
    """The subcommand's arguments."""
    fuzz = commands.add_parser(
        "fuzz",
        help="random expressions over the whole input range, judged against the exact truth",
        description="Random expressions (every op, shared subexpressions) at inputs across the whole range (huge, "
        "tiny, subnormal, kinks, domain edges, cancelling pairs), on every backend and the exact truth. Each value "
        "and gradient is classified: accurate, inaccurate but agreeing, a known divergence (a rule), raised, truth "
        "undefined, or unexplained; unexplained findings are shrunk and printed as catalog entries. Exit status: "
        "0 nothing unexplained, 1 something is, 2 bad usage.",
    )
    fuzz.add_argument("--n", type=cli.positive_int, default=300, help="cases: an expression at a point (default: 300)")
    fuzz.add_argument("--seed", type=int, default=0, help="the generator's seed; a seed gives the same run (default: 0)")
    fuzz.add_argument(
        "--points", type=cli.positive_int, default=5, help="input points per expression, sharing its compilation (default: 5)"
    )
    fuzz.add_argument(
        "--shrink", type=cli.whole_number, default=5, metavar="N", help="shrink at most N findings, 0 for none (default: 5)"
    )
    fuzz.add_argument("--out", type=Path, metavar="DIR", help="also write records (CSV), summary (JSON), entries there")
    fuzz.add_argument(
        "--format", choices=("table", "json", "csv"), default="table",
        help="table for people; json: one summary object (counts per class, the findings); csv: every quantity's "
        "record (default: table)",
    )  # fmt: skip
    cli.add_backend_and_dtype(fuzz, "float64")
    fuzz.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from comparisons import render

    if args.out:
        cli.writable_folder(args.out)
    dtypes = args.dtype or ["float64"]
    results = []
    for dtype in dtypes:
        names, skipped = cli.chosen_for(args, dtype)
        with cli.progress_bar() as task:
            chosen = {name: backends.get(name) for name in names}
            summary, records = fuzz(args.n, args.seed, chosen, dtype, args.points, args.shrink, task(dtype, args.n))
        results.append((summary, records, skipped))
    if args.out:
        render.save_fuzz(results, args.out)
    if args.format == "json":
        objects = [summary.as_json() for summary, _, _ in results]
        sys.stdout.write(render.json_text(objects[0] if len(objects) == 1 else objects))
    elif args.format == "csv":
        sys.stdout.write(render.render(render.frame([r.as_dict() for _, records, _ in results for r in records]), "csv"))
    else:
        out = render.console()
        for summary, records, skipped in results:
            render.print_fuzz(out, summary, records, skipped)
    return cli.exit_status(any(summary.unexplained for summary, _, _ in results))
