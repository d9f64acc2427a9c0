"""How a check is shown: what was found on the learner's class, a table of the probes (the catalog folded into
one row unless a case fails), and a one-line summary; or the records as JSON. rich draws the table where it is
installed (the `check` extra); without it the same rows are printed as plain lines.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import TYPE_CHECKING, Any

from comparisons.check.grade import Record, Report

if TYPE_CHECKING:
    from rich.console import Console

STYLES = {"pass": "green", "fail": "bold red", "skip": "yellow", "info": "cyan"}
OP_LABELS = {
    "add": "x+y", "sub": "x-y", "mul": "x*y", "div": "x/y", "pow": "x**n", "neg": "-x", "radd": "n+x", "rsub": "n-x",
    "rmul": "n*x", "rdiv": "n/x", "rpow": "n**x", "pow_value": "x**y",
}  # fmt: skip


def discovery_lines(d: dict[str, Any], failing: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """What was found on the class; an op a probe failed on is listed as failing, never as working."""
    ops = {op: present for op, present in d["ops"].items() if op != "zero_grad"}
    children = f", children .{d['children']}" if d["children"] else ""
    have = [OP_LABELS.get(op, op) for op, present in ops.items() if present and op not in failing]
    broken = [OP_LABELS.get(op, op) for op, present in ops.items() if present and op in failing]
    lacking = [OP_LABELS.get(op, op) for op, present in ops.items() if not present]
    lines = [
        f"found class {d['class']} in {d['file']}: data .{d['data']}, grad .{d['grad']}{children}, "
        f"backward .{d['backward']}(){', zero_grad()' if d['ops'].get('zero_grad') else ''}",
        f"ops: {', '.join(have) or 'none'}"
        + (f"; failing: {', '.join(broken)}" if broken else "")
        + (f"; missing: {', '.join(lacking)}" if lacking else ""),
    ]
    lines += [f"hint: {hint}" for hint in d["hints"].values()]
    if d.get("nn"):
        lines.append(f"network: module {d['nn']}")
    return lines


def short_where(where: str, file: str) -> str:
    """'line 12' for a line of the engine's own file (named once, above the table), else 'name.py:12': short enough
    that a table cell never breaks a path in two."""
    if where.startswith(f"{file}:"):
        return "line " + where[len(file) + 1 :]
    return os.path.basename(where)


PATH_IN_TEXT = re.compile(r"(?:[\w.~-]*/)+([\w.-]+\.py):")


def short_paths(text: str, file: str) -> str:
    """A cell's text with the engine's file:line as 'line N' and any other path as its file's name."""
    return PATH_IN_TEXT.sub(lambda m: m.group(1) + ":", text.replace(f"{file}:", "line "))


def folded(records: list[Record]) -> list[Record]:
    """The probes as they are; catalog cases that pass or are skipped counted in one row; failures kept."""
    catalog = [r for r in records if r["probe"].startswith("catalog: ")]
    shown = [r for r in records if not r["probe"].startswith("catalog: ")]
    if catalog:  # the catalog's row, then its failures, where the catalog ran: before the random expressions
        at = next((i for i, r in enumerate(shown) if r["probe"].startswith("random")), len(shown))
        shown[at:at] = [_catalog_row(catalog), *(c for c in catalog if c["status"] == "fail")]
    return shown


def _catalog_row(catalog: list[Record]) -> Record:
    passed = sum(r["status"] == "pass" for r in catalog)
    failed = sum(r["status"] == "fail" for r in catalog)
    skipped = [r for r in catalog if r["status"] == "skip"]
    lacking: set[str] = set()
    deeper = 0
    for r in skipped:
        if " has no " in r["diagnosis"]:
            lacking.update(r["diagnosis"].split(" has no ", 1)[1].split(" (")[0].split(", "))
        else:
            deeper += 1
    why = [f"they need {', '.join(sorted(lacking))}"] if lacking else []
    why += [f"{deeper} deeper than your engine goes"] if deeper else []
    status = "fail" if failed else "pass" if passed else "skip"
    diagnosis = f"{len(skipped)} skipped: {'; '.join(why)}" if skipped else ""
    got = f"{passed} agree" + (f", {failed} differ (below)" if failed else "")
    return {"probe": f"catalog ({len(catalog)} cases)", "status": status, "expected": "agree with micrograd", "got": got,
            "diagnosis": diagnosis, "where": "", "checks": "this project's named expressions"}  # fmt: skip


def summary(report: Report) -> str:
    c = report.counts()
    verdict = "something is wrong (see the diagnoses)" if report.failed else "nothing wrong found"
    return f"{c['pass']} pass, {c['fail']} fail, {c['skip']} skip, {c['info']} info: {verdict}"


def console() -> Console | None:
    """stdout, 100 columns wide when it is not a terminal (a file, a pipe); None without rich."""
    try:
        from rich.console import Console
    except ImportError:
        return None
    return Console(width=None if sys.stdout.isatty() else 100, highlight=False)


def print_plain(report: Report, target: str) -> None:
    """The report without rich: the discovery, one line per row, the summary."""
    file = report.discovery["file"]
    lines = [*discovery_lines(report.discovery, report.failing_ops), f"checking {target}"]
    for r in folded(report.records):
        where = f" ({short_where(r['where'], file)})" if r["where"] else ""
        lines.append(
            f"  {r['status']:<5} {r['probe']}: {r['got'] or r['expected']}"
            + (f"; {r['diagnosis']}{where}" if r["diagnosis"] else "")
        )
    lines.append(summary(report))
    sys.stdout.write("\n".join(lines) + "\n")


def print_report(out: Console | None, report: Report, target: str) -> None:
    if out is None:
        print_plain(report, target)
        return
    from rich import box
    from rich.table import Table
    from rich.text import Text

    file = report.discovery["file"]
    for line in discovery_lines(report.discovery, report.failing_ops):
        out.print(line, markup=False, soft_wrap=True)
    out.print(f"checking {target}", markup=False, soft_wrap=True)
    table = Table(box=box.SIMPLE_HEAD, expand=True)
    table.add_column("probe", overflow="fold", ratio=3)
    table.add_column("status", no_wrap=True, width=6)
    for header, ratio in (("expected", 4), ("got", 4), ("diagnosis", 6)):
        table.add_column(header, overflow="fold", ratio=ratio)
    for r in folded(report.records):
        if r["diagnosis"]:
            where = f" ({short_where(r['where'], file)})" if r["where"] else ""
            diagnosis = Text(short_paths(r["diagnosis"], file) + where)
        else:  # a pass: what it showed, dimmed
            diagnosis = Text(r["checks"], style="dim")
        status = Text(r["status"], style=STYLES[r["status"]])
        cells = (Text(short_paths(r[key], file)) for key in ("probe", "expected", "got"))
        table.add_row(next(cells), status, *cells, diagnosis)
    out.print(table)
    out.print(summary(report), style="bold red" if report.failed else "green", markup=False)


def render_json(report: Report) -> str:
    return json.dumps(report.records, indent=1, allow_nan=False)  # strict JSON: every field is text + "\n"


def render_json_error(message: str) -> str:
    """What --format json prints when the engine cannot be checked (exit 2): {"error": the one line on stderr}."""
    return json.dumps({"error": message}, allow_nan=False) + "\n"
