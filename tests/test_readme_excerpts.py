"""The README's excerpts of command output (tools/readme_excerpts.py, `make readme`) are whole and still the shape of
what their commands print now: the same table titles and column headers and, where the test runs the very command the
README shows, the same lines with the numbers masked (so the same rows). Numbers are not compared: they are a run's."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import readme_excerpts as rx

ROOT = Path(__file__).resolve().parents[1]
EXCERPTS = rx.excerpts((ROOT / "README.md").read_text(encoding="utf-8"))


def test_the_readme_marks_its_excerpts_of_command_output() -> None:
    commands = [e.command for e in EXCERPTS]
    for expected in ("python -m micrograd.demo", "grad", "python -m comparisons", "engine_speed", "training_speed"):
        assert any(expected in command for command in commands), f"no excerpt of {expected!r} in {commands}"


@pytest.mark.parametrize("excerpt", EXCERPTS, ids=[e.command[:40] for e in EXCERPTS])
def test_an_excerpt_is_the_whole_output_of_its_command_as_written_by_the_tool(excerpt: rx.Excerpt) -> None:
    """Between its markers stands exactly what make readme writes: `$ command`, the output, nothing cut or added."""
    assert excerpt.output, f"the excerpt of {excerpt.command!r} is empty or lacks its `$ command` line: run make readme"
    assert excerpt.body == rx.body(excerpt.command, excerpt.output)
    assert "..." not in excerpt.output.splitlines(), "an excerpt leaves lines out"


@pytest.mark.slow
@pytest.mark.parametrize("excerpt", EXCERPTS, ids=[e.command[:40] for e in EXCERPTS])
def test_an_excerpt_has_the_shape_of_what_its_command_prints_now(excerpt: rx.Excerpt, tmp_path: Path) -> None:
    output = rx.run(excerpt.test_command or excerpt.command, tmp_path, timeout=600)
    hint = f"the README's output of `{excerpt.command}` is stale: run `make readme`"
    assert rx.tables(excerpt.output) == rx.tables(output), hint
    if excerpt.test_command is None:
        assert rx.skeleton(excerpt.output) == rx.skeleton(output), hint


# --- the shape itself: what it sees and what it ignores ---

OUTPUT = """\
3. training: final loss and accuracy

  backend         final loss   per step   agrees
 ─────────────────────────────────────────────
  micrograd   0.016340121624    16.8 ms   yes
  torch       0.016340121624     347 µs   yes

a caption

2. known
divergences
┏━━━━━━┳━━━━━━━┓
┃ case ┃ gives ┃
┡━━━━━━╇━━━━━━━┩
│ a    │ 1e-320│
├──────┼───────┤
│ b    │ nan   │
└──────┴───────┘
"""


def test_shape_ignores_numbers_and_units_and_spacing() -> None:
    other = OUTPUT.replace("0.016340121624    16.8 ms", "0.5  1.2 s").replace("1e-320", "-0").replace("nan  ", "inf  ")
    assert rx.skeleton(other) == rx.skeleton(OUTPUT)
    assert rx.tables(OUTPUT) == [
        ("# training: final loss and accuracy", "backend final loss per step agrees"),
        ("# known divergences", "case gives"),  # a wrapped title is one title
    ]


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.replace("  torch       0.016340121624     347 µs   yes\n", ""),  # a row fewer
        lambda s: s.replace("micrograd   0.016", "jax         0.016"),  # a row renamed
        lambda s: s.replace("per step", "per call"),  # a header renamed
        lambda s: s.replace("3. training", "3. the training"),  # a title changed
    ],
)
def test_shape_sees_rows_headers_and_titles(change: object) -> None:
    changed = change(OUTPUT)  # type: ignore[operator]
    assert rx.skeleton(changed) != rx.skeleton(OUTPUT)


def test_headers_and_titles_changes_are_seen_by_the_fast_check() -> None:
    for changed in (OUTPUT.replace("per step", "per call"), OUTPUT.replace("known", "unknown")):
        assert rx.tables(changed) != rx.tables(OUTPUT)


def test_rewrite_replaces_only_the_chosen_excerpts() -> None:
    text = "a\n<!-- begin: echo 1 -->\nold\n<!-- end -->\nb\n<!-- begin: echo 2 ;; test: echo 3 -->\n<!-- end -->\n"
    new = rx.rewrite(text, {"echo 2 ;; test: echo 3": "x", "echo 2": "two"})
    assert new == (
        "a\n<!-- begin: echo 1 -->\nold\n<!-- end -->\nb\n<!-- begin: echo 2 ;; test: echo 3 -->\n"
        "```\n$ echo 2\ntwo\n```\n<!-- end -->\n"
    )
    assert [e.output for e in rx.excerpts(new)] == ["", "two"]
    long = rx.body("seq 100", "\n".join(map(str, range(100))))
    assert long.startswith("<details>") and "\n99\n```" in long  # folded, and whole


def test_run_gives_stdout_and_fails_loudly(tmp_path: Path) -> None:
    assert rx.run("python -c 'print(\"  hi  \")'; echo {tmp} >&2", tmp_path) == "  hi"
    with pytest.raises(RuntimeError, match="exit 3"):
        rx.run("exit 3")
