"""The regression gate (`make asv-check`): record HEAD and its parent with asv where missing, then fail on a change.

Exit 1 when a time_/timeraw_/peakmem_/mem_ benchmark (or a track_ counted in bytes) got slower or bigger by more than
--factor, judged on asv's spread (HEAD's lower quartile over the parent's upper quartile, so one noisy run does not
fail the gate), or any other track_ figure (gradient error, final loss) changed at all: the same code on the same
machine gives the same bits. Exit 2 when a result is missing or failed on either side (never read as 0), or on bad input.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_FACTOR = 2.0  # slower than this is a regression; the README's asv section gives the noise it is set from
SCALED_PREFIXES = ("time_", "timeraw_", "peakmem_", "mem_")  # compared as ratios; other track_ figures must not change
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
    """One benchmark (with its parameters) that fails the gate."""

    name: str
    params: tuple[str, ...]
    base: float | None
    head: float | None
    why: str

    def line(self) -> str:
        label = f"{self.name}({', '.join(self.params)})" if self.params else self.name
        return f"{label}: {self.why} (parent {format_value(self.base)}, HEAD {format_value(self.head)})"


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
                found = result.get(column)
                found = found if params else [found]
                columns_per_combo[column] = found if isinstance(found, list) else [None] * len(combos)
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
    method = name.rsplit(".", 1)[-1]
    return method.startswith(SCALED_PREFIXES) or (method.startswith("track_") and unit == "bytes")


def compare(
    base: dict[Key, Measured], head: dict[Key, Measured], units: dict[str, str], factor: float, bench: str | None
) -> tuple[list[Finding], list[Finding]]:
    """(missing, regressions): benchmarks without a usable result on a side, and those that got worse or changed."""
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
                side = "HEAD" if math.isnan(after) else "the parent"
                missing.append(Finding(name, params, before, after, f"skipped at {side} only"))
            continue
        if is_scaled(name, units.get(name, "")):
            # HEAD at its best (lower quartile) against the parent at its worst (upper quartile); medians if no quartiles
            head_low = after_measured.q25 if after_measured.q25 is not None else after
            base_high = before_measured.q75 if before_measured.q75 is not None else before
            ratio = head_low / base_high if base_high > 0 else math.inf
            if ratio > factor:
                why = f"{after / before:.2f}x worse ({ratio:.2f}x quartile to quartile), over the {factor}x limit"
                regressions.append(Finding(name, params, before, after, why))
        elif after != before:
            regressions.append(Finding(name, params, before, after, "changed; a track_ figure must not change"))
    return missing, regressions


def asv_command(config_path: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "asv", *args, "--config", str(config_path)]


def record(commit: str, config_path: Path, machine: str, bench: str | None, same_python: bool) -> None:
    """Run the suites on commit: installed into asv's environment, or (same_python) imported from a checkout of it."""
    selection = ["--bench", bench] if bench else []
    if not same_python:
        run = asv_command(config_path, "run", "--machine", machine, "--skip-existing", "--show-stderr", *selection)
        done = subprocess.run([*run, f"{commit}^!"], cwd=ROOT)
    else:
        with tempfile.TemporaryDirectory(prefix="asv-gate-") as checkout:
            git("worktree", "add", "--detach", checkout, commit)
            try:
                env = dict(os.environ, ASV_PYTHONPATH=checkout)  # asv's way to put the commit's code first
                run = asv_command(config_path, "run", "--python=same", "--set-commit-hash", commit, "--machine", machine)
                done = subprocess.run([*run, "--show-stderr", *selection], cwd=ROOT, env=env)
            finally:
                git("worktree", "remove", "--force", checkout)
    if done.returncode != 0:
        raise GateError(f"asv could not record {commit[:8]} (exit {done.returncode}); see its output above")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m comparisons.history.gate", description=__doc__.splitlines()[0])
    parser.add_argument("--factor", type=float, default=DEFAULT_FACTOR, help=f"slowdown limit (default {DEFAULT_FACTOR})")
    parser.add_argument("--base", default="HEAD^", help="the commit compared against (default HEAD^)")
    parser.add_argument("--head", default="HEAD", help="the commit judged (default HEAD)")
    parser.add_argument("--bench", help="only benchmarks whose name matches this regular expression (as asv's --bench)")
    parser.add_argument("--machine", help="asv machine name (default: this host's, from ~/.asv-machine.json)")
    parser.add_argument("--config", type=Path, default=ROOT / "asv.conf.json", help="asv config (default asv.conf.json)")
    parser.add_argument(
        "--python-same",
        action="store_true",
        help="record without asv's environment: this interpreter, each commit imported from a git worktree of it",
    )
    args = parser.parse_args(argv)
    if not args.factor > 1:
        print(f"gate: --factor {args.factor} must be above 1 (1.5 = fail on 50% slower)", file=sys.stderr)
        return EXIT_ERROR
    try:
        import asv.machine

        machine = args.machine or asv.machine.Machine.get_unique_machine_name()
        config = asv_config(args.config)
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
    except GateError as exc:
        print(f"gate: {exc}", file=sys.stderr)
        return EXIT_ERROR
    missing, regressions = compare(values["base"], values["head"], units_of(results_dir), args.factor, args.bench)
    base_name, head_name = commits["base"][:8], commits["head"][:8]
    for finding in missing:
        print(f"MISSING  {finding.line()}")
    for finding in regressions:
        print(f"WORSE    {finding.line()}")
    judged = len(set(values["base"]) | set(values["head"]))
    if missing:
        print(f"gate: {len(missing)} result(s) missing between {base_name} and {head_name}: cannot judge", file=sys.stderr)
        return EXIT_ERROR
    if regressions:
        print(f"gate: {len(regressions)} regression(s) from {base_name} to {head_name}", file=sys.stderr)
        return EXIT_REGRESSION
    print(f"gate: {head_name} passes against {base_name}: {judged} results, none over {args.factor}x, no track_ change")
    return 0


if __name__ == "__main__":
    sys.exit(main())
