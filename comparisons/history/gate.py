"""The regression gate (`make asv-check`): HEAD against its parent and against a baseline, per benchmark threshold.

Records HEAD and its parent with asv where their results are missing, then exits 1 (slower) when a benchmark got
worse by more than its own threshold, either against the parent or against the baseline: the median of the last
--baseline recorded commits before HEAD on its first-parent line, so a run of small steps fails once it adds up.
Thresholds are asv.conf.json's `regressions_thresholds` (a regular expression matched, with re.match, against
"name(params)"; the largest matching entry wins, 5 % if none: asv's own rule, so the dashboard and the gate agree).
Compared as ratios: time_/timeraw_/peakmem_/mem_ benchmarks and track_ figures in bytes, instructions or seconds;
any other track_ figure (gradient error, final loss) must not change at all. Exit 2 when a result is missing or
failed on either side of HEAD and its parent (never read as 0), or on bad input.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from comparisons.history import record as history_record

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_THRESHOLD = 0.05  # asv's own default where no regressions_thresholds entry matches
DEFAULT_BASELINE = 10  # recorded commits whose median is the baseline
SCALED_PREFIXES = ("time_", "timeraw_", "peakmem_", "mem_")  # compared as ratios; other track_ figures must not change
SCALED_UNITS = ("bytes", "instructions", "seconds")  # track_ figures compared as ratios too (a unit that starts so)
EXIT_REGRESSION, EXIT_ERROR = 1, 2

Key = tuple[str, tuple[str, ...]]  # benchmark name, its parameter values as asv prints them


class Measured(NamedTuple):
    """One result: asv's value (the median for timings; None: failed, nan: skipped) and its quartiles if it has them."""

    value: float | None
    q25: float | None = None
    q75: float | None = None


class GateError(Exception):
    """The gate cannot judge: no results for a commit, a bad revision, asv failing to run."""


@dataclass(frozen=True)
class Finding:
    """One benchmark (with its parameters) that fails the gate, or cannot be judged."""

    name: str
    params: tuple[str, ...]
    base: float | None
    head: float | None
    why: str

    def line(self) -> str:
        return f"{entry_name(self.name, self.params)}: {self.why}"


def entry_name(name: str, params: tuple[str, ...]) -> str:
    """The benchmark as asv names it in its regression detection: "name(param, ...)"."""
    return f"{name}({', '.join(params)})" if params else name


def format_value(value: float | None) -> str:
    return "no result" if value is None else f"{value:.6g}"


def git(*args: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise GateError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def asv_config(config_path: Path) -> dict[str, object]:
    import asv.util  # asv has no type hints (mypy skips it: pyproject.toml); it is a dev dependency

    loaded: dict[str, object] = asv.util.load_json(str(config_path), js_comments=True)
    return loaded


def number_or_none(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def results_of(results_dir: Path, machine: str, commit: str) -> dict[Key, Measured]:
    """Every benchmark result asv saved for commit on machine."""
    values: dict[Key, Measured] = {}
    for path in sorted((results_dir / machine).glob(f"{commit[:8]}-*.json")):
        saved = json.loads(path.read_text())
        if saved.get("commit_hash") != commit:
            continue
        columns: list[str] = saved["result_columns"]
        for name, row in saved["results"].items():
            result = dict(zip(columns, row))
            params: list[list[str]] = result.get("params") or []
            combos = list(itertools.product(*params)) if params else [()]
            columns_per_combo = {}
            for column in ("result", "stats_q_25", "stats_q_75"):
                found = result.get(column)  # asv 0.6: a list, one value per combination ([value] without params)
                if not isinstance(found, list):
                    found = [found] if not params else [None] * len(combos)
                columns_per_combo[column] = found if len(found) == len(combos) else [None] * len(combos)
            for index, combo in enumerate(combos):
                values[(name, tuple(combo))] = Measured(
                    *(number_or_none(columns_per_combo[column][index]) for column in ("result", "stats_q_25", "stats_q_75"))
                )
    return values


def units_of(results_dir: Path) -> dict[str, str]:
    path = results_dir / "benchmarks.json"
    if not path.is_file():
        return {}
    described: dict[str, object] = json.loads(path.read_text())
    return {name: str(info.get("unit", "")) for name, info in described.items() if isinstance(info, dict)}


def is_scaled(name: str, unit: str) -> bool:
    """Compared as a ratio (a slowdown or growth), rather than required to stay the same."""
    method = name.rsplit(".", 1)[-1]
    return method.startswith(SCALED_PREFIXES) or (method.startswith("track_") and unit.startswith(SCALED_UNITS))


def thresholds_of(config: dict[str, object]) -> dict[str, float]:
    """asv.conf.json's regressions_thresholds: regular expression -> largest allowed relative growth (0.02: 2 %)."""
    given = config.get("regressions_thresholds") or {}
    if not isinstance(given, dict):
        raise GateError("asv.conf.json: regressions_thresholds must map a regular expression to a number (0.02: 2 %)")
    thresholds = {}
    for regex, value in given.items():
        if not isinstance(value, int | float) or not value > 0:
            raise GateError(f"asv.conf.json: regressions_thresholds[{regex!r}] is {value!r}; a positive number (0.02: 2 %)")
        try:
            re.compile(regex)
        except re.error as exc:
            raise GateError(f"asv.conf.json: regressions_thresholds key {regex!r} is not a regular expression: {exc}") from None
        thresholds[str(regex)] = float(value)
    return thresholds


def threshold_for(thresholds: dict[str, float], name: str, params: tuple[str, ...]) -> float:
    """asv's rule (asv/plugins/regressions.py): the largest threshold whose expression re.match-es the entry name."""
    matching = [value for regex, value in thresholds.items() if re.match(regex, entry_name(name, params))]
    return max(matching) if matching else DEFAULT_THRESHOLD


def describe(value: float | None, unit: str) -> str:
    return format_value(value) + (f" {unit}" if unit and value is not None else "")


def compare(
    base: dict[Key, Measured],
    head: dict[Key, Measured],
    units: dict[str, str],
    thresholds: dict[str, float],
    bench: str | None,
    baseline: dict[Key, float] | None = None,
    names: tuple[str, str] = ("the parent", "the baseline"),
) -> tuple[list[Finding], list[Finding]]:
    """(missing, regressions): benchmarks without a usable result at HEAD or its parent, and those over their
    threshold against the parent or against the baseline (a median per benchmark; absent ones are not judged)."""
    missing: list[Finding] = []
    regressions: list[Finding] = []
    for name, params in sorted(set(base) | set(head)):
        if bench and not re.search(bench, name):
            continue
        before_measured, after_measured = base.get((name, params), Measured(None)), head.get((name, params), Measured(None))
        before, after = before_measured.value, after_measured.value
        if before is None or after is None:
            missing.append(Finding(name, params, before, after, "no result on one side (failed, or not recorded)"))
            continue
        if math.isnan(before) or math.isnan(after):
            if math.isnan(before) != math.isnan(after):
                side = "HEAD" if math.isnan(after) else names[0]
                missing.append(Finding(name, params, before, after, f"skipped at {side} only"))
            continue
        unit = units.get(name, "")
        if not is_scaled(name, unit):
            if after != before:
                why = (
                    f"changed from {before:.17g} to {after:.17g} against {names[0]}; a {unit or 'track_'} figure must not change"
                )
                regressions.append(Finding(name, params, before, after, why))
            continue
        limit = threshold_for(thresholds, name, params)
        # HEAD at its best (lower quartile) against the parent at its worst (upper quartile); medians without quartiles
        head_low = after_measured.q25 if after_measured.q25 is not None else after
        base_high = before_measured.q75 if before_measured.q75 is not None else before
        against = [(names[0], base_high, head_low, before)]
        reference = (baseline or {}).get((name, params))
        if reference is not None and math.isfinite(reference):
            against.append((names[1], reference, after, reference))
        for label, reference_value, head_value, shown in against:
            growth = head_value / reference_value - 1 if reference_value > 0 else math.inf
            if growth > limit:
                why = f"{growth:+.1%} against {label} (threshold {limit:.1%}): {describe(shown, unit)} -> {describe(after, unit)}"
                regressions.append(Finding(name, params, shown, after, why))
    return missing, regressions


def baseline_of(results_dir: Path, machine: str, commits: list[str], size: int) -> tuple[dict[Key, float], dict[Key, list[str]]]:
    """Per benchmark, the median of its results at the first `size` of `commits` (newest first) that have one, and
    those commits: the baseline a run of small steps is measured against."""
    found: dict[Key, list[float]] = {}
    used: dict[Key, list[str]] = {}
    for commit in commits:
        for key, measured in results_of(results_dir, machine, commit).items():
            value = measured.value
            if value is None or math.isnan(value) or len(found.setdefault(key, [])) >= size:
                continue
            found[key].append(value)
            used.setdefault(key, []).append(commit)
    return {key: statistics.median(values) for key, values in found.items() if values}, used


def record(commit: str, config_path: Path, machine: str, bench: str | None, same_python: bool) -> None:
    """Run the suites on commit: installed into asv's environment, or (same_python) imported from an export of it."""
    if same_python:
        try:
            history_record.record(commit, config_path, machine, bench)
        except history_record.RecordError as exc:
            raise GateError(f"{exc}; see its output above") from None
        return
    selection = ["--bench", bench] if bench else []
    run = [sys.executable, "-m", "asv", "run", "--machine", machine, "--skip-existing", "--show-stderr", *selection]
    done = subprocess.run([*run, "--config", str(config_path), f"{commit}^!"], cwd=ROOT)
    if done.returncode != 0:
        raise GateError(f"asv could not record {commit[:8]} (exit {done.returncode}); see its output above")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m comparisons.history.gate", description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD^", help="the parent HEAD is compared against (default HEAD^)")
    parser.add_argument("--head", default="HEAD", help="the commit judged (default HEAD)")
    parser.add_argument(
        "--baseline", type=int, default=DEFAULT_BASELINE, help=f"recorded commits in the baseline (default {DEFAULT_BASELINE})"
    )
    parser.add_argument("--bench", help="only benchmarks whose name matches this regular expression (as asv's --bench)")
    parser.add_argument("--machine", help="asv machine name (default: this host's, from ~/.asv-machine.json)")
    parser.add_argument("--config", type=Path, default=ROOT / "asv.conf.json", help="asv config (default asv.conf.json)")
    parser.add_argument(
        "--python-same",
        action="store_true",
        help="record without asv's environment: this interpreter, each commit imported from a `git archive` of it",
    )
    args = parser.parse_args(argv)
    if args.baseline < 1:
        print(f"gate: --baseline {args.baseline} must be 1 or more (recorded commits in the median)", file=sys.stderr)
        return EXIT_ERROR
    try:
        import asv.machine

        machine = args.machine or asv.machine.Machine.get_unique_machine_name()
        config = asv_config(args.config)
        thresholds = thresholds_of(config)
        results_dir = (args.config.parent / str(config.get("results_dir", "results"))).resolve()
        refs = {"base": args.base, "head": args.head}
        commits = {label: git("rev-parse", "--verify", f"{ref}^{{commit}}") for label, ref in refs.items()}
        values: dict[str, dict[Key, Measured]] = {}
        for label, commit in commits.items():
            values[label] = results_of(results_dir, machine, commit)
            if not values[label] or (args.bench and not any(re.search(args.bench, name) for name, _ in values[label])):
                print(f"gate: recording {commit[:8]} ({label}) on machine {machine}", flush=True)
                record(commit, args.config, machine, args.bench, args.python_same)
                values[label] = results_of(results_dir, machine, commit)
            if not values[label]:
                raise GateError(f"no results for {commit[:8]} on machine {machine!r} in {results_dir}")
        # the baseline: recorded commits before HEAD on its first-parent line (the parent among them), newest first
        ancestors = git("rev-list", "--first-parent", f"--max-count={5 * args.baseline}", f"{commits['head']}^").split()
        baseline, baseline_commits = baseline_of(results_dir, machine, ancestors, args.baseline)
    except GateError as exc:
        print(f"gate: {exc}", file=sys.stderr)
        return EXIT_ERROR
    base_name, head_name = commits["base"][:8], commits["head"][:8]
    used = sorted({commit for found in baseline_commits.values() for commit in found}, key=ancestors.index)
    baseline_name = f"the baseline (median of {len(used)} recorded: {' '.join(commit[:8] for commit in used)})"
    missing, regressions = compare(
        values["base"],
        values["head"],
        units_of(results_dir),
        thresholds,
        args.bench,
        baseline,
        names=(f"the parent {base_name}", baseline_name),
    )
    for finding in missing:
        print(f"MISSING  {finding.line()}")
    for finding in regressions:
        print(f"WORSE    {head_name} {finding.line()}")
    judged = len(set(values["base"]) | set(values["head"]))
    if missing:
        print(
            f"gate: {len(missing)} result(s) missing between {base_name} and {head_name}: cannot judge (exit 2)", file=sys.stderr
        )
        return EXIT_ERROR
    if regressions:
        print(f"gate: {len(regressions)} regression(s) at {head_name} (exit 1)", file=sys.stderr)
        return EXIT_REGRESSION
    print(
        f"gate: {head_name} passes against {base_name} and {baseline_name}: {judged} results, "
        "none over its threshold, no track_ change"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
