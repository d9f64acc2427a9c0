"""`python -m comparisons.history.summary`: what the recorded asv history says, from asv's results files.

Two questions, asked of the commits on main's first-parent line that have results in `--results` (asv's
`.asv/results/MACHINE`):
- How noisy is it? asv's ± per timing (half the interquartile range over the median), and the ratio of medians
  between neighbouring recorded commits that changed none of the code the suites run (`--code`): what a commit that
  changes nothing looks like here.
- Where did something move? Per benchmark and parameters, a step where the median of the next `--window` recorded
  commits differs from the median of the previous `--window` by `--factor` or more (windows smooth the load's noise),
  and any change of a `track_` figure beyond its last bits.
- The instruction counts (bench_counts.py: units "instructions/..."): how far unchanged neighbours differ, how many
  neighbour pairs exceed their asv.conf.json threshold where the code did not change (false regressions: the target
  is 0), every change of 0.5 % or more with its commit, and (--again: a second machine's results folder holding
  recordings of the same commits) how far two recordings of one commit agree.
- Each benchmark's own noise (two recordings of one commit, unchanged neighbours) beside its threshold, and the
  timings over their threshold between unchanged neighbours (false regressions: the target is 0).
- `--thresholds`: the threshold each timing's own noise calls for, where that is more than asv.conf.json gives it
  (the largest growth between two recordings of one commit or between unchanged neighbours, a quarter more, rounded
  up to a quarter), printed as the strict-JSON entries to add to asv.conf.json's regressions_thresholds.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import math
import re
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

Series = dict[tuple[str, str], dict[str, float]]  # (benchmark, parameters) -> {commit: value}


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"asv_history: git {' '.join(args)} failed in {repo}: {out.stderr.strip()}")
    return out.stdout


def first_parent_commits(repo: Path, branch: str = "main") -> list[str]:
    """The branch's first-parent line, oldest first."""
    return git(repo, "rev-list", "--first-parent", "--reverse", branch).split()


def load(results: Path) -> tuple[Series, Series]:
    """Every recorded value, and for timings asv's ± (half the IQR over the median), from asv 0.6's results files."""
    values: Series = {}
    spread: Series = {}
    for path in sorted(results.glob("*.json")):
        data = json.loads(path.read_text())
        if "results" not in data:
            continue  # machine.json
        commit, columns = data["commit_hash"], data["result_columns"]
        for name, row in data["results"].items():
            r = dict(zip(columns, row))
            params = r.get("params") or []
            combos = [",".join(p.strip("'") for p in combo) for combo in itertools.product(*params)] if params else [""]
            results_ = r["result"] if isinstance(r["result"], list) else [r["result"]]  # asv 0.6: [value] without params
            q25, q75 = r.get("stats_q_25") or [None] * len(combos), r.get("stats_q_75") or [None] * len(combos)
            for k, combo in enumerate(combos):
                v = results_[k] if k < len(results_) else None  # a benchmark that failed whole: no values
                if v is None or (isinstance(v, float) and math.isnan(v)):
                    continue  # skipped or failed at this commit
                values.setdefault((name, combo), {})[commit] = v
                if ".time" in name and q25[k] is not None and q75[k] is not None and v > 0:
                    spread.setdefault((name, combo), {})[commit] = (q75[k] - q25[k]) / 2 / v
    return values, spread


def units_of(results: Path) -> dict[str, str]:
    """benchmark name -> unit, from asv's benchmarks.json beside the machine folders."""
    path = results.parent / "benchmarks.json"
    described = json.loads(path.read_text()) if path.is_file() else {}
    return {name: str(info.get("unit", "")) for name, info in described.items() if isinstance(info, dict)}


def is_count(name: str, units: dict[str, str]) -> bool:
    return units.get(name, "").startswith("instructions")


COUNT_STEP = 0.005  # a change of an instruction count this large or more is listed (their noise is under 0.01 %)


def count_lines(
    values: Series, units: dict[str, str], order: list[str], repo: Path, code: Sequence[str], thresholds: dict[str, float]
) -> list[str]:
    """The counts' noise between unchanged neighbours, the false regressions at the configured thresholds, and
    every change of COUNT_STEP or more (commit, figure, before -> after)."""
    from comparisons.history.gate import threshold_for

    counts = {key: by for key, by in values.items() if is_count(key[0], units)}
    if not counts:
        return []
    recorded = [c for c in order if any(c in by for by in counts.values())]
    pairs = list(itertools.pairwise(recorded))
    same = set(unchanged_neighbours(counts, order, repo, code))
    deviations: list[tuple[float, str]] = []
    false_regressions, changes = [], []
    for (name, combo), by in sorted(counts.items()):
        limit = threshold_for(thresholds, name, params_of(combo))
        label = f"{name}({combo})" if combo else name
        for a, b in pairs:
            if a not in by or b not in by or by[a] <= 0:
                continue
            growth = by[b] / by[a] - 1
            if (a, b) in same:
                deviations.append((abs(growth), label))
                if growth > limit:
                    false_regressions.append(f"{b[:7]} {label} {growth:+.2%}")
            if abs(growth) >= COUNT_STEP:
                changes.append((recorded.index(b), f"{a[:7]}..{b[:7]} {label} {by[a]:.6g} -> {by[b]:.6g} ({growth:+.1%})"))
    lines = [
        f"instruction counts: {len(recorded)} commits, {len(same)} neighbour pairs that changed none of {', '.join(code)}: "
        + (f"largest difference {100 * max(deviations)[0]:.4f} % ({max(deviations)[1]})" if deviations else "none to compare"),
        f"instruction counts over their threshold between unchanged neighbours (false regressions): {len(false_regressions)}",
        *false_regressions,
        f"instruction counts that changed by {COUNT_STEP:.1%} or more between recorded neighbours (from..to):",
        *(line for _, line in sorted(changes)),
    ]
    return lines


def agreement_lines(values: Series, again: Series, units: dict[str, str]) -> list[str]:
    """How far two recordings of the same commits differ, per kind of figure (counts, timings)."""
    differences: dict[str, list[float]] = {}
    for key, by in values.items():
        kind = "instruction counts" if is_count(key[0], units) else "timings" if ".time" in key[0] else ""
        for commit, value in by.items():
            other = again.get(key, {}).get(commit)
            if kind and other is not None and value > 0:
                differences.setdefault(kind, []).append(abs(other / value - 1))
    return [
        f"two recordings of one commit, {kind}: {len(found)} figures, largest difference {100 * max(found):.4f} %, "
        f"median {100 * statistics.median(found):.4f} %"
        for kind, found in sorted(differences.items())
    ]


def spread_of(x: float, y: float) -> float:
    """How far two figures of the same thing differ: the larger over the smaller, less 1 (0.02: 2 %)."""
    return max(x, y) / min(x, y) - 1


def per_benchmark_lines(
    values: Series, again: Series, order: list[str], repo: Path, code: Sequence[str], thresholds: dict[str, float]
) -> list[str]:
    """Each benchmark's own noise beside its threshold: how far two recordings of one commit differ (the largest, over
    the commits recorded twice), and how far recorded neighbours that changed none of the code differ (the median and
    the largest, over those pairs). Only positive figures are compared (a gradient error of 0 has no ratio)."""
    from comparisons.history.gate import threshold_for

    same = unchanged_neighbours(values, order, repo, code)
    lines = []
    for (name, combo), by in sorted(values.items()):
        other = again.get((name, combo), {})
        twice = [spread_of(v, other[c]) for c, v in by.items() if v > 0 and other.get(c, 0) > 0]
        pairs = [spread_of(by[a], by[b]) for a, b in same if by.get(a, 0) > 0 and by.get(b, 0) > 0]
        if not twice and not pairs:
            continue
        params = params_of(combo)
        label = f"{name}({combo})" if combo else name
        recorded_twice = f"largest {100 * max(twice):.3g} % over {len(twice)}" if twice else "none recorded twice"
        neighbours = (
            f"median {100 * statistics.median(pairs):.3g} %, largest {100 * max(pairs):.3g} % over {len(pairs)} pairs"
            if pairs else "no pair"
        )  # fmt: skip
        limit = 100 * threshold_for(thresholds, name, params)
        lines.append(f"  {label}: two recordings {recorded_twice}; unchanged neighbours {neighbours}; limit {limit:.3g} %")
    header = "noise per benchmark (how far two figures differ: the larger over the smaller, less 1; limit: its threshold):"
    return [header, *lines] if lines else []


THRESHOLD_MARGIN = 1.25  # a timing's threshold: the largest growth its noise has shown, a quarter more
THRESHOLD_STEP = 0.25  # ... rounded up to a quarter (1.25: 2.25x)


def is_timing(name: str, units: dict[str, str]) -> bool:
    """A time_ or timeraw_ benchmark, or a track_ figure in seconds (bench_import's CPU time of a fresh import)."""
    return ".time_" in name or ".timeraw_" in name or units.get(name) == "seconds"


def growths(
    values: Series, again: Series, units: dict[str, str], order: list[str], repo: Path, code: Sequence[str]
) -> dict[tuple[str, str], list[float]]:
    """Per timing, every growth its noise has shown: between two recordings of one commit (either way round) and
    between recorded neighbours that changed none of the code (the later over the earlier, less 1: a slowdown is > 0)."""
    same = unchanged_neighbours(values, order, repo, code)
    found: dict[tuple[str, str], list[float]] = {}
    for key, by in values.items():
        if not is_timing(key[0], units):
            continue
        other = again.get(key, {})
        twice = [spread_of(v, other[c]) for c, v in by.items() if v > 0 and other.get(c, 0) > 0]
        pairs = [by[b] / by[a] - 1 for a, b in same if by.get(a, 0) > 0 and by.get(b, 0) > 0]
        if twice or pairs:
            found[key] = twice + pairs
    return found


def params_of(combo: str) -> tuple[str, ...]:
    """asv's parameter values as its entry names quote them, from load()'s "jax,neuron"."""
    return tuple(f"'{p}'" for p in combo.split(",")) if combo else ()


def noise_thresholds(noise: dict[tuple[str, str], list[float]], thresholds: dict[str, float]) -> dict[str, float]:
    """asv.conf.json entries (the escaped entry name, anchored at its end -> threshold) for each timing whose largest growth
    between figures of unchanged code, THRESHOLD_MARGIN more, is beyond the threshold asv.conf.json gives it now."""
    from comparisons.history.gate import entry_name, threshold_for

    entries = {}
    for (name, combo), found in sorted(noise.items()):
        needed = max(found) * THRESHOLD_MARGIN
        if needed > threshold_for(thresholds, name, params_of(combo)):
            # the entry name exactly (a space needs no escape); asv appends "@branch" when it graphs several branches
            regex = re.escape(entry_name(name, params_of(combo))).replace("\\ ", " ") + "(@|$)"
            entries[regex] = math.ceil(needed / THRESHOLD_STEP) * THRESHOLD_STEP
    return entries


def timing_false_regressions(
    values: Series, units: dict[str, str], order: list[str], repo: Path, code: Sequence[str], thresholds: dict[str, float]
) -> list[str]:
    """Each pair of unchanged recorded neighbours where a timing grew beyond its threshold, as the summary lists it."""
    from comparisons.history.gate import threshold_for

    same = unchanged_neighbours(values, order, repo, code)
    found = []
    for (name, combo), by in sorted(values.items()):
        if not is_timing(name, units):
            continue
        limit = threshold_for(thresholds, name, params_of(combo))
        for a, b in same:
            if by.get(a, 0) > 0 and b in by and by[b] / by[a] - 1 > limit:
                found.append(f"{b[:7]} {name}({combo}) {by[b] / by[a] - 1:+.1%} (threshold {limit:.0%})")
    return [f"timings over their threshold between unchanged neighbours (false regressions): {len(found)}", *found]


def unchanged_neighbours(values: Series, order: list[str], repo: Path, code: Sequence[str]) -> list[tuple[str, str]]:
    """Neighbouring recorded commits (in `order`) between which none of `code` changed: what a commit that changes
    nothing looks like."""
    recorded = [c for c in order if any(c in by for by in values.values())]
    return [(a, b) for a, b in itertools.pairwise(recorded) if unchanged(repo, a, b, tuple(code))]


@functools.cache  # each part of the summary asks about the same pairs
def unchanged(repo: Path, a: str, b: str, code: tuple[str, ...]) -> bool:
    return subprocess.run(["git", "-C", str(repo), "diff", "--quiet", a, b, "--", *code]).returncode == 0


def percentile(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))]


def noise_lines(values: Series, spread: Series, order: list[str], repo: Path, code: Sequence[str]) -> list[str]:
    pm = [x for by in spread.values() for x in by.values()]
    lines = [f"asv's ± over {len(pm)} timings: median {100 * statistics.median(pm):.1f} %, 90th percentile "
             f"{100 * percentile(pm, 0.9):.1f} %"] if pm else []  # fmt: skip
    same = unchanged_neighbours(values, order, repo, code)
    ratios = [
        max(by[a], by[b]) / min(by[a], by[b])
        for (name, _), by in values.items()
        if ".time" in name
        for a, b in same
        if a in by and b in by and by[a] > 0 and by[b] > 0
    ]
    if ratios:
        beyond = {f: sum(r > f for r in ratios) for f in (1.5, 2.0)}
        lines.append(
            f"neighbours that changed none of {', '.join(code)}: {len(same)} pairs of commits, {len(ratios)} timings; "
            f"ratio of medians {statistics.median(ratios):.3g} at the median, {percentile(ratios, 0.9):.3g} at the 90th "
            f"percentile; beyond 1.5x: {100 * beyond[1.5] / len(ratios):.0f} %, "
            f"beyond 2x: {100 * beyond[2.0] / len(ratios):.1f} %"
        )
    return lines


def steps(by: dict[str, float], order: list[str], window: int, factor: float) -> list[tuple[str, float, float]]:
    """(commit, median before, median after) where the windows on either side differ by `factor` or more: in each
    run of such places the split with the largest change, placed at the commit where the figures cross over."""
    seq = [(c, by[c]) for c in order if c in by]
    vals = [v for _, v in seq]

    def change(j: int) -> float:
        a, b = statistics.median(vals[j - window : j]), statistics.median(vals[j : j + window])
        return abs(math.log(b / a)) if a > 0 and b > 0 else 0.0

    def crossing(best: int, before: float, after: float) -> int:
        """Where the values cross from one side of the step to the other: the first commit near the split whose
        figure, and the next one's, lie beyond the geometric midpoint of the two medians (the split of largest change
        can sit a commit or two off it where the windows' medians tie)."""
        middle, up = math.sqrt(before * after), after > before
        for j in range(max(1, best - window + 1), min(len(vals), best + window)):
            if all((v > middle) == up for v in vals[j : j + 2]):
                return j
        return best

    found, i = [], window
    while i <= len(vals) - window:
        if change(i) >= math.log(factor):
            best = max(range(i, min(i + window, len(vals) - window + 1)), key=change)
            before, after = statistics.median(vals[best - window : best]), statistics.median(vals[best : best + window])
            found.append((seq[crossing(best, before, after)][0], before, after))
            i = best + window
        else:
            i += 1
    return found


def track_changes(by: dict[str, float], order: list[str]) -> list[tuple[str, float, float]]:
    """(commit, before, after) wherever a track_ figure changed by more than its last bits (1e-9 relative)."""
    seq = [(c, by[c]) for c in order if c in by]
    return [(c1, v0, v1) for (_, v0), (c1, v1) in itertools.pairwise(seq) if abs(v1 - v0) > 1e-9 * max(abs(v0), abs(v1))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m comparisons.history.summary", description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=Path(".asv/results/vm"), help="asv's results folder of one machine")
    parser.add_argument("--repo", type=Path, default=Path("."), help="the git repository (default: here)")
    parser.add_argument("--window", type=int, default=6, help="recorded commits on each side of a step (default: 6)")
    parser.add_argument("--factor", type=float, default=1.4, help="the least change of medians that is a step (default: 1.4)")
    parser.add_argument(
        "--code", nargs="+", default=[
            "micrograd", "backends", "comparisons/judge",  # and where the judge's modules lived before the re-layout
            "comparisons/catalog.py", "comparisons/truth.py", "comparisons/dtypes.py",
        ],
        help="the paths the suites run: neighbours that changed none of them measure the noise",
    )  # fmt: skip
    parser.add_argument("--again", type=Path, help="a second results folder with recordings of the same commits")
    parser.add_argument("--config", type=Path, default=Path("asv.conf.json"), help="for regressions_thresholds")
    parser.add_argument(
        "--thresholds",
        action="store_true",
        help="print only the regressions_thresholds entries (strict JSON) that the timings' own noise calls for",
    )
    args = parser.parse_args(argv)
    if not args.results.is_dir():
        print(f"asv_history: no results folder {args.results}; record some history first (make asv-record)", file=sys.stderr)
        return 2
    order = first_parent_commits(args.repo)
    values, spread = load(args.results)
    again = load(args.again)[0] if args.again is not None else {}
    thresholds: dict[str, float] = {}
    if args.config.is_file():
        from comparisons.history.gate import GateError, asv_config, thresholds_of

        try:
            thresholds = thresholds_of(asv_config(args.config))
        except GateError as exc:
            print(f"asv_history: {exc}", file=sys.stderr)
            return 2
    units = units_of(args.results)
    if args.thresholds:
        print(json.dumps(noise_thresholds(growths(values, again, units, order, args.repo, args.code), thresholds), indent=4))
        return 0
    subjects = dict(line.split(" ", 1) for line in git(args.repo, "log", "--format=%H %s").splitlines())
    recorded = {c for by in values.values() for c in by}
    print(f"{len([c for c in order if c in recorded])} of {len(order)} first-parent commits of main recorded in {args.results}")
    for line in noise_lines(values, spread, order, args.repo, args.code):
        print(line)
    for line in count_lines(values, units, order, args.repo, args.code, thresholds):
        print(line)
    for line in agreement_lines(values, again, units):
        print(line)
    for line in per_benchmark_lines(values, again, order, args.repo, args.code, thresholds):
        print(line)
    for line in timing_false_regressions(values, units, order, args.repo, args.code, thresholds):
        print(line)
    for (name, combo), by in sorted(values.items()):
        if is_count(name, units):
            continue  # count_lines above
        tracked = ".track_" in name and not is_timing(name, units)  # a track_ in seconds is a timing: its steps
        found = track_changes(by, order) if tracked else steps(by, order, args.window, args.factor)
        for commit, before, after in found:
            what = f"{name}({combo})" if combo else name
            print(f"{commit[:7]} {subjects.get(commit, '')[:60]!r}: {what} {before:.3g} -> {after:.3g} (x{after / before:.3g})"
                  if before else f"{commit[:7]}: {what} {before:.3g} -> {after:.3g}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
