"""The small things a newcomer meets in the first hour (issue 22): an option given without its command names the
commands that take it, the demo's options have help and defaults, markdown tables have no `None`, and tables have no
trailing spaces."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from comparisons.__main__ import COMMANDS

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("option", ["--format", "--n"])
def test_an_option_without_its_command_names_the_commands_that_take_it(option: str) -> None:
    """The truth: the commands whose own --help lists the option."""
    taking = [c for c in COMMANDS if re.search(rf"^\s+{option}\b", run("-m", "comparisons", c, "--help").stdout, re.M)]
    assert taking, option
    proc = run("-m", "comparisons", option, "json")
    assert proc.returncode == 2 and proc.stdout == "" and proc.stderr.count("\n") == 1, proc.stderr
    assert f"{option} belongs to the command{'s' if len(taking) > 1 else ''} {', '.join(taking)}" in proc.stderr
    assert f"python -m comparisons {taking[0]} {option} ..." in proc.stderr


def test_an_option_no_command_takes_gets_no_hint() -> None:
    proc = run("-m", "comparisons", "--no-such-option")
    assert proc.returncode == 2 and "belongs to" not in proc.stderr and "--no-such-option" in proc.stderr


def test_the_demo_options_have_help_and_defaults() -> None:
    text = " ".join(run("-m", "micrograd.demo", "--help").stdout.split())
    for option, default in (("--steps", "100"), ("--samples", "100"), ("--seed", "1337")):
        assert re.search(rf"{option} \S+ \w[^()]*\(default: {default}\)", text), (option, text)


def test_markdown_tables_have_empty_cells_not_none() -> None:
    """truth_note is None where there is nothing to note: an empty cell, and every row as many cells as the header."""
    proc = run("-m", "comparisons", "grad", "x*y", "x=1", "y=2", "--backend", "micrograd", "--format", "markdown")
    assert proc.returncode == 0, proc.stderr
    header, _rule, *rows = proc.stdout.splitlines()
    assert rows and "None" not in proc.stdout
    note = header.split(" | ").index("truth_note")
    assert all(row.split(" | ")[note] == "" for row in rows)
    assert all(row.count(" | ") == header.count(" | ") for row in rows)


@pytest.mark.parametrize(
    "args",
    [
        ["grad", "tanh(x*y)", "x=1", "y=2", "--backend", "micrograd"],
        ["train", "--backend", "micrograd", "--steps", "2", "--samples", "10"],
    ],
)
def test_tables_have_no_trailing_spaces(args: list[str]) -> None:
    proc = run("-m", "comparisons", *args)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) > 5 and any("─" in line for line in lines)  # a table was printed
    assert [line for line in lines if line != line.rstrip()] == []


def test_a_flush_mid_line_keeps_the_spaces_that_more_text_follows() -> None:
    """rich flushes after each print; a line split by a flush loses only the spaces at its very end."""
    import io

    from comparisons.render import WithoutTrailingSpaces

    out = io.StringIO()
    stream = WithoutTrailingSpaces(out)
    stream.write("a  b   ")
    stream.flush()
    assert out.getvalue() == "a  b"
    stream.write(" c  \nd  ")
    stream.flush()
    stream.write("\n")
    assert out.getvalue() == "a  b    c\nd\n"
