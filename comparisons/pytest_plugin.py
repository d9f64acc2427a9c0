"""The pytest plugin: `python -m pytest --micrograd-engine path/to/engine.py:Value` checks a learner's engine, one
test per probe, the diagnosis as the failure message. Registered through the `pytest11` entry point (pyproject.toml);
without the option it adds nothing and imports nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

OPTION = "--micrograd-engine"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("micrograd", "check your own micrograd engine (micrograd-bench)")
    group.addoption(OPTION, metavar="TARGET", help="path/to/engine.py:Value, package.module:Value, or a folder with engine.py")
    group.addoption("--micrograd-backward", default="", metavar="NAME", help="the engine's whole-graph backward method")
    group.addoption("--micrograd-random", type=int, default=40, metavar="N", help="random expressions to compare (40)")
    group.addoption("--micrograd-timeout", type=float, default=30.0, metavar="S", help="seconds the import may take (30)")
    group.addoption("--micrograd-nn", default="", metavar="FILE", help="the file with the MLP (default: found beside the engine)")


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    target = config.getoption(OPTION)
    if not target:
        return
    from comparisons.check.cli import split_target

    path, _ = split_target(target)
    engine = EngineChecks.from_parent(
        session, path=Path(path).resolve(), nodeid=f"micrograd-engine/{Path(path).name}", target=target
    )
    items.extend(engine.collect())


def as_plugin_options(message: str) -> str:
    """The checker's messages name the command's options (--backward NAME); under pytest they are --micrograd-*."""
    for option in ("--backward", "--timeout", "--nn", "--random"):
        message = message.replace(f"{option} ", f"--micrograd-{option[2:]} ").replace(f"{option})", f"--micrograd-{option[2:]})")
    return message


class ProbeFailed(Exception):
    """A probe that failed; its record becomes the failure message."""


class EngineChecks(pytest.File):
    """The learner's engine as a collector: one item per record of `check`."""

    def __init__(self, *, target: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.target = target

    def collect(self) -> Iterator[ProbeItem]:
        from comparisons.check.cli import split_target
        from comparisons.check.grade import check
        from comparisons.check.session import TargetError

        config = self.config
        path, class_name = split_target(self.target)
        try:
            report = check(
                path, class_name, config.getoption("--micrograd-backward"),
                import_timeout=config.getoption("--micrograd-timeout"), random_count=config.getoption("--micrograd-random"),
                nn=config.getoption("--micrograd-nn"),
            )  # fmt: skip
        except TargetError as exc:
            raise pytest.UsageError(f"{OPTION} {self.target}: {as_plugin_options(str(exc))}") from None
        for record in report.records:
            yield ProbeItem.from_parent(self, name=record["probe"], record=record)


class ProbeItem(pytest.Item):
    def __init__(self, *, record: dict[str, Any], **kwargs: Any):
        super().__init__(**kwargs)
        self.record = record

    def runtest(self) -> None:
        status = self.record["status"]
        if status == "skip":
            pytest.skip(self.record["diagnosis"])
        if status == "fail":
            raise ProbeFailed(self.record)
        if status == "info":
            self.add_report_section("call", "info", self.record["got"] + ": " + self.record["diagnosis"])

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if not isinstance(excinfo.value, ProbeFailed):
            return str(super().repr_failure(excinfo))
        r = self.record  # the diagnosis first: pytest's short summary shows the first line
        where = f"\n  where:    {r['where']}" if r["where"] else ""
        return f"{r['diagnosis'] or 'wrong answer'}\n  expected: {r['expected']}\n  got:      {r['got']}{where}"

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"micrograd engine: {self.name}"
