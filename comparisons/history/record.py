"""Record commits with asv without asv's environment: this interpreter, each commit's code from a `git archive` of it.

asv's own `asv run COMMIT^!` builds and installs each commit into its environment (torch, jax and tinygrad pinned:
about 1.6 GB to build once). `--python=same` with ASV_PYTHONPATH runs the suites of the working tree against the
commit's code instead, which is what the gate's --python-same and `make asv-history` use. Results go to asv's
results_dir under --machine, as asv's own would.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class RecordError(Exception):
    """A commit that cannot be exported or recorded."""


def export(commit: str, target: Path, repo: Path = ROOT) -> None:
    """The commit's tracked files, written into target (no worktree, nothing added to the repository's metadata)."""
    done = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", commit], capture_output=True)
    if done.returncode != 0:
        raise RecordError(f"git archive {commit} failed: {done.stderr.decode(errors='replace').strip()}")
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(target, filter="data")
    # bytecode now, as pip does on install, so that the suites' own processes do not compile on import (the counted
    # interpreter keeps a cache of its own, compiled before it counts: bench_support.count_environment)
    # (best effort: a file that does not compile is reported by the run that imports it)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(target)], capture_output=True)


def record(commit: str, config: Path, machine: str, bench: str | None, repo: Path = ROOT, quiet: bool = False) -> None:
    """`asv run --python=same` on commit's code, saved as commit's results on machine."""
    with tempfile.TemporaryDirectory(prefix="asv-commit-") as checkout:
        export(commit, Path(checkout), repo)
        env = dict(os.environ, ASV_PYTHONPATH=checkout)  # asv's way to put the commit's code first on the path
        run = [sys.executable, "-m", "asv", "run", "--python=same", "--set-commit-hash", commit, "--machine", machine]
        run += ["--config", str(config), "--show-stderr", *(["--bench", bench] if bench else [])]
        done = subprocess.run(run, cwd=repo, env=env, capture_output=quiet, text=True)
    if done.returncode != 0:
        raise RecordError(f"asv could not record {commit[:8]} (exit {done.returncode})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m comparisons.history.record", description=__doc__.splitlines()[0])
    parser.add_argument("commits", nargs="+", help="commits to record, in this order (a file: one commit a line, @FILE)")
    parser.add_argument("--machine", required=True, help="asv machine name (run `asv machine --yes --machine NAME` once)")
    parser.add_argument("--bench", help="only benchmarks matching this regular expression (asv's --bench)")
    parser.add_argument("--config", type=Path, default=ROOT / "asv.conf.json", help="asv config (default asv.conf.json)")
    args = parser.parse_args(argv)
    commits: list[str] = []
    for item in args.commits:
        if item.startswith("@"):
            path = Path(item[1:])
            if not path.is_file():
                print(f"record: {path} is not a file (expected one commit a line)", file=sys.stderr)
                return 2
            commits += path.read_text().split()
        else:
            commits.append(item)
    failed = []
    for number, commit in enumerate(commits, 1):
        print(f"record: {number}/{len(commits)} {commit[:8]}", flush=True)
        try:
            record(commit, args.config, args.machine, args.bench)
        except RecordError as exc:
            print(f"record: {exc}", file=sys.stderr)
            failed.append(commit[:8])
    if failed:
        print(f"record: {len(failed)} commit(s) not recorded: {' '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
