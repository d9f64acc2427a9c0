"""Every command's --help prints its description whole (argparse rewraps or cuts nothing a reader needs)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import pytest

from comparisons import __main__ as cli
from comparisons.commands import engine_speed, training_speed
from micrograd import demo


def words(text: str) -> str:
    return " ".join(text.split())


def help_text(main: Callable[[Sequence[str]], object], argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("module", [training_speed, engine_speed], ids=lambda m: m.__name__)
def test_a_speed_script_help_holds_its_whole_docstring(module: object, capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(module.main, ["--help"], capsys)  # type: ignore[attr-defined]
    assert words(module.__doc__ or "") in words(text)  # type: ignore[attr-defined]


def test_the_demo_help_holds_its_first_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    first = (demo.__doc__ or "").split("\n\n")[0]
    assert words(first) in words(help_text(demo.main, ["--help"], capsys))


@pytest.mark.parametrize("argv", [["--help"], ["report", "--help"], ["grad", "--help"], ["train", "--help"]])
def test_the_cli_descriptions_end_in_full_sentences(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(cli.main, argv, capsys)
    description = text.split("\n\n")[1]  # after the usage
    assert re.search(r"[.)]$", description.strip()), f"cut short: {description!r}"
