"""The README's excerpts of command output, from a real run: every block between `<!-- begin: COMMAND -->` and
`<!-- end -->` in README.md becomes `$ COMMAND` and the command's whole stdout (a long one folded in <details>), so
what the README shows is what the command printed, nothing left out. `make readme` runs it (all excerpts, or
`--only TEXT`: those whose command contains TEXT) and copies the charts the README shows from results/;
tests/test_readme_excerpts.py checks each excerpt's shape.

A marker may name a faster variant for the test, `<!-- begin: COMMAND ;; test: FAST COMMAND -->`; `{tmp}` in it
stands for a scratch folder. Commands run in the repository with bash, `python` being this interpreter.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARKER = re.compile(r"<!-- begin: (?P<command>.+?)(?: ;; test: (?P<test>.+?))? -->\n(?P<body>.*?)<!-- end -->", re.S)
FOLD_LINES = 60  # an output longer than this is folded in <details> (still whole)
# The charts the README shows, as the runs above save them: copied into the repository when a run made them anew.
FIGURES = {
    "results/training_loss.png": "comparisons/figures/training_loss.png",
    "results/training_speed.png": "comparisons/figures/training_speed.png",
}


@dataclass(frozen=True)
class Excerpt:
    command: str  # what the README shows, and make readme runs
    test_command: str | None  # a faster variant for the shape test (None: the test runs `command` itself)
    body: str  # what stands between the markers now
    output: str  # the output shown in the body (its code block without the `$ command` line)


def excerpts(text: str) -> list[Excerpt]:
    found = []
    for m in MARKER.finditer(text):
        code = re.search(r"```\n(.*?)```", m["body"], re.S)
        lines = code[1].splitlines() if code else []
        output = "\n".join(lines[1:]) if lines and lines[0] == f"$ {m['command']}" else ""
        found.append(Excerpt(m["command"], m["test"], m["body"], output))
    return found


def run(command: str, scratch: Path | None = None, timeout: float | None = None) -> str:
    """The command's stdout, trailing spaces trimmed; it runs in the repository, `python` being this interpreter. Exit
    status 0 or 1 (a disagreement, a missed target: still what the command prints) is accepted; others raise."""
    if scratch is not None:
        command = command.replace("{tmp}", str(scratch))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("COLUMNS", None)  # the tables take 100 columns when stdout is not a terminal, as here
    proc = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"`{command}` failed (exit {proc.returncode}):\n{proc.stderr.strip()}")
    lines = [line.rstrip() for line in proc.stdout.splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def body(command: str, output: str) -> str:
    """What goes between the markers: `$ command` and the whole output in a code block, folded when long."""
    block = f"```\n$ {command}\n{output}\n```\n"
    lines = output.count("\n") + 1
    if lines <= FOLD_LINES:
        return block
    return f"<details><summary>the whole output of <code>{command}</code> ({lines} lines)</summary>\n\n{block}\n</details>\n"


def rewrite(text: str, outputs: dict[str, str]) -> str:
    """`text` with the excerpt of every command in `outputs` replaced by that output."""

    def replace(m: re.Match[str]) -> str:
        if m["command"] not in outputs:
            return m[0]
        head = m[0][: m.start("body") - m.start()]
        return head + body(m["command"], outputs[m["command"]]) + "<!-- end -->"

    return MARKER.sub(replace, text)


# --- the shape of an output: what the test compares, not the numbers ---

NUMBER = re.compile(r"[-+]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?(?:\s?(?:ns|µs|ms|s)\b)?|\b-?(?:inf|nan)\b", re.I)
RULE = re.compile(r"^\s*[─━┡][─━┡╇┩\s]*$")  # under a header: rich's SIMPLE_HEAD ─── or HEAVY_HEAD ┡━━╇━━┩
BOX_TOP = re.compile(r"^\s*┏")


def masked(line: str) -> str:
    """A line with every number (and its time unit) as #, and runs of spaces as one."""
    return " ".join(NUMBER.sub("#", line).split())


def skeleton(output: str) -> list[str]:
    """Every non-blank line, masked: the titles, headers, row labels and row count of every table."""
    return [masked(line) for line in output.splitlines() if line.strip()]


def tables(output: str) -> list[tuple[str, str]]:
    """(title, column headers) of every table (rich's: a header above a rule), masked, wrapped lines joined."""
    lines = output.splitlines()
    found = []
    for i, line in enumerate(lines):
        if not RULE.match(line) or i == 0 or not lines[i - 1].strip():
            continue
        j = i - 1
        while j >= 0 and lines[j].strip() and not RULE.match(lines[j]) and not BOX_TOP.match(lines[j]):  # the header
            j -= 1
        header = " ".join(masked(x.replace("┃", " ").replace("│", " ")) for x in lines[j + 1 : i])
        while j >= 0 and (not lines[j].strip() or BOX_TOP.match(lines[j])):
            j -= 1
        end = j + 1
        while j >= 0 and lines[j].strip() and not RULE.match(lines[j]):  # the title's paragraph
            j -= 1
        title = " ".join(masked(x) for x in lines[j + 1 : end])
        found.append((title, header))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tools/readme_excerpts.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", metavar="TEXT", help="rerun only the excerpts whose command contains TEXT")
    parser.add_argument("--exact", action="store_true", help="with --only: the excerpt whose command is TEXT itself")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    chosen = [
        e for e in excerpts(text) if args.only is None or (args.only == e.command if args.exact else args.only in e.command)
    ]
    if not chosen:
        parser.error(f"no excerpt's command contains {args.only!r}; the commands: {[e.command for e in excerpts(text)]}")
    outputs = {}
    started = time.time()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for excerpt in chosen:
                print(f"running {excerpt.command} ...", file=sys.stderr, flush=True)
                outputs[excerpt.command] = run(excerpt.command, Path(scratch))
    except KeyboardInterrupt:
        print("interrupted, README.md not changed", file=sys.stderr)
        return 130
    new = rewrite(text, outputs)
    staging = README.with_name(f".{README.name}.partial")
    staging.write_text(new, encoding="utf-8")
    os.replace(staging, README)  # whole or not at all
    print(f"rewrote {len(outputs)} excerpt(s) in {README.name}", file=sys.stderr)
    for made, shown in FIGURES.items():
        if (ROOT / made).exists() and (ROOT / made).stat().st_mtime >= started:
            shutil.copyfile(ROOT / made, ROOT / shown)
            print(f"copied {made} to {shown}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
