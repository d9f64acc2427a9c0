"""Audit the judge's truth against the tests' certified reference (tests/certified.py) on random programs.

    python tools/audit_truth.py --programs 10000 --dtype float64 --seed 1 [--backends]

Prints how many programs and quantities were compared, the truth's mismatches by kind (different floats, undefined
where the reference determines, determined where the reference says undefined, raised), how many quantities each
side left "not determined", and the time per program of each. With --backends every installed backend runs each
program too, the judge's verdict classes its numbers, and "right backends blamed" counts the records whose number is
the certified float but whose class is not "accurate" (the target is 0). The first examples of each kind follow, so
any finding can be rerun with `grad`.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere: the repo's packages

from backends.expr import Expression
from tests.certified import certify, mismatch, random_program, same_float

EXAMPLES = 3  # examples shown per kind


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2 (argparse would print the usage first)
        self.exit(2, f"audit_truth: {message} (see --help)\n")


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--programs {text!r} is not a whole number; give one like 10000") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"--programs {n} must be at least 1")
    return n


def _backend_results(expr: Expression, point: dict[str, float], dtype: str, names: Sequence[str]) -> dict[str, Any]:
    """backend -> {"value": v, "grad:x": g, ...}, or the error text when it raised."""
    import backends

    results: dict[str, Any] = {}
    for name in names:
        try:
            got = backends.get(name).value_and_grad(expr, point, dtype)
            results[name] = {"value": got.value, **{f"grad:{k}": v for k, v in got.grads.items()}}
        except Exception as exc:  # a backend that raises is a result to judge, not a crash of the audit
            results[name] = f"{type(exc).__name__}: {exc}"
    return results


def audit(programs: int, dtype: str, seed: int, with_backends: bool, out: Any = sys.stdout) -> dict[str, Any]:
    """Run the audit and print its summary; returns the counts (for tests and callers)."""
    from comparisons.judge import truth as judge_truth

    names: list[str] = []
    if with_backends:
        import backends

        names, skipped = backends.select()
        if dtype == "float32":
            names = [n for n in names if n != "micrograd"]  # micrograd computes in float64 only
        for name, why in skipped.items():
            print(f"skipped {name}: {why}", file=out)
        from comparisons.judge.verdict import judge

    rng = random.Random(f"{seed}-{dtype}")
    kinds: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    counts: Counter[str] = Counter()
    ref_seconds = judge_seconds = backend_seconds = 0.0
    for _ in range(programs):
        expr, point = random_program(rng, dtype)
        start = time.perf_counter()
        ours = certify(expr, point, dtype)
        ref_seconds += time.perf_counter() - start
        start = time.perf_counter()
        try:
            theirs = judge_truth.truth(expr, point, dtype=dtype).quantities
        except Exception as exc:  # the truth must not raise: count it and go on
            kinds["truth raised"] += 1
            examples.setdefault("truth raised", []).append(f"{expr.source!r} at {point}: {type(exc).__name__}: {exc}")
            continue
        finally:
            judge_seconds += time.perf_counter() - start
        counts["programs"] += 1
        for key, ref in ours.items():
            counts["quantities"] += 1
            counts[f"reference {ref.status}"] += 1
            q = theirs.get(key)
            status, value, reason = (q.status, q.value, q.reason) if q is not None else ("missing", None, "")
            counts[f"truth {status}"] += 1
            kind = mismatch(ref, status, value) or ("missing in the truth" if q is None else None)
            if kind and "undefined" in kind:  # which rule: the reason of the side that says undefined
                kind = f"{kind}: {_rule(ref.reason if ref.status == 'undefined' else reason)}"
            if kind:
                kinds[kind] += 1
                examples.setdefault(kind, []).append(
                    f"{expr.source!r} at {_point_text(point)} {key}: reference {ref.status} {ref.value!r} ({ref.reason}) "
                    f"| truth {status} {value!r} ({reason})"
                )
        if with_backends:
            start = time.perf_counter()
            results = _backend_results(expr, point, dtype, names)
            records = judge(expr, point, dtype, results)
            backend_seconds += time.perf_counter() - start
            for record in records:
                counts["backend records"] += 1
                certified = ours.get(str(record.get("quantity", "")))
                value = record.get("value")
                if certified is not None and isinstance(value, float) and same_float(certified, value):
                    counts["right backend records"] += 1
                    if record.get("class") != "accurate":
                        kinds["right backends blamed"] += 1
                        counts[f"blamed as {record.get('class')}"] += 1
                        examples.setdefault("right backends blamed", []).append(
                            f"{expr.source!r} at {_point_text(point)} {record.get('quantity')}: {record.get('backend')} "
                            f"gives the certified {value!r} but is {record.get('class')} ({record.get('why')})"
                        )
    _print_summary(
        programs, dtype, seed, counts, kinds, examples, (ref_seconds, judge_seconds, backend_seconds), with_backends, out
    )
    return {"counts": counts, "kinds": kinds, "examples": examples}


def _rule(reason: str) -> str:
    """The head of a reason ("relu has a kink at 0: no derivative..." -> "relu has a kink at 0")."""
    return reason.split(":")[0].split(" (")[0][:60]


def _point_text(point: dict[str, float]) -> str:
    return " ".join(f"{k}={v!r}" for k, v in point.items())


def _print_summary(
    programs: int,
    dtype: str,
    seed: int,
    counts: Counter[str],
    kinds: Counter[str],
    examples: dict[str, list[str]],
    seconds: tuple[float, float, float],
    with_backends: bool,
    out: Any,
) -> None:
    ref_s, judge_s, backend_s = seconds
    print(f"truth audit: {programs} programs, {dtype}, seed {seed}", file=out)
    print(f"  programs compared        {counts['programs']}", file=out)
    print(f"  quantities               {counts['quantities']}", file=out)
    for side in ("reference", "truth"):
        parts = ", ".join(f"{counts[f'{side} {s}']} {s}" for s in ("determined", "undefined", "not determined"))
        print(f"  {side:<25}{parts}", file=out)
    truth_kinds = {k: n for k, n in kinds.items() if k != "right backends blamed"}
    print(f"  truth mismatches         {sum(truth_kinds.values())}", file=out)
    for kind, n in sorted(truth_kinds.items()):
        print(f"    {n:>6}  {kind}", file=out)
    if with_backends:
        print(f"  backend records          {counts['backend records']}", file=out)
        print(f"  records equal to the certified float  {counts['right backend records']}", file=out)
        print(f"  right backends blamed    {kinds['right backends blamed']}", file=out)
        for key, n in sorted(counts.items()):
            if key.startswith("blamed as "):
                print(f"    {n:>6}  {key}", file=out)
    per = max(programs, 1)
    timing = f"reference {1000 * ref_s / per:.1f} ms, truth {1000 * judge_s / per:.1f} ms"
    if with_backends:
        timing += f", backends and verdict {1000 * backend_s / per:.1f} ms"
    print(f"  time per program         {timing}", file=out)
    for kind, lines in sorted(examples.items()):
        print(f"  first {kind}:", file=out)
        for line in lines[:EXAMPLES]:
            print(f"    {line}", file=out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--programs", type=_positive, default=1000, help="random programs to compare (default 1000)")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--seed", type=int, default=0, help="the generator's seed (default 0)")
    parser.add_argument("--backends", action="store_true", help="also run every backend and count right ones blamed")
    args = parser.parse_args(argv)
    result = audit(args.programs, args.dtype, args.seed, args.backends)
    return 1 if result["kinds"] else 0


if __name__ == "__main__":
    sys.exit(main())
