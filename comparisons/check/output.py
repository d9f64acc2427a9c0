"""How a check is shown: what was found on the learner's class, a table of the probes (the catalog folded into
one row unless a case fails), and a one-line summary; or the records as JSON. rich is imported only here.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from comparisons.check.grade import Record, Report

STYLES = {"pass": "green", "fail": "bold red", "skip": "yellow", "info": "cyan"}
OP_LABELS = {
    "add": "x+y", "sub": "x-y", "mul": "x*y", "div": "x/y", "pow": "x**n", "neg": "-x", "radd": "n+x", "rsub": "n-x",
    "rmul": "n*x", "rdiv": "n/x", "rpow": "n**x", "pow_value": "x**y",
}  # fmt: skip


def discovery_lines(d: dict[str, Any]) -> list[str]:
    ops = d["ops"]
    children = f", children .{d['children']}" if d["children"] else ""
    have = [OP_LABELS.get(op, op) for op, present in ops.items() if present and op != "zero_grad"]
    lacking = [OP_LABELS.get(op, op) for op, present in ops.items() if not present and op != "zero_grad"]
    lines = [
        f"found class {d['class']} in {d['file']}: data .{d['data']}, grad .{d['grad']}{children}, "
        f"backward .{d['backward']}(){', zero_grad()' if ops.get('zero_grad') else ''}",
        f"ops: {', '.join(have)}" + (f"; missing: {', '.join(lacking)}" if lacking else ""),
    ]
    lines += [f"hint: {hint}" for hint in d["hints"].values()]
    if d.get("nn"):
        lines.append(f"network: module {d['nn']} (the nn.py beside the engine)")
    return lines


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


def console() -> Console:
    """stdout, 100 columns wide when it is not a terminal (a file, a pipe)."""
    return Console(width=None if sys.stdout.isatty() else 100, highlight=False)


def print_report(out: Console, report: Report, target: str) -> None:
    for line in discovery_lines(report.discovery):
        out.print(line, markup=False)
    table = Table(title=f"checking {target}", box=box.SIMPLE_HEAD, title_justify="left", expand=True)
    table.add_column("probe", overflow="fold", ratio=3)
    table.add_column("status", no_wrap=True, width=6)
    for header, ratio in (("expected", 4), ("got", 4), ("diagnosis", 6)):
        table.add_column(header, overflow="fold", ratio=ratio)
    for r in folded(report.records):
        if r["diagnosis"]:
            diagnosis = Text(r["diagnosis"] + (f" ({r['where']})" if r["where"] else ""))
        else:  # a pass: what it showed, dimmed
            diagnosis = Text(r["checks"], style="dim")
        status = Text(r["status"], style=STYLES[r["status"]])
        table.add_row(Text(r["probe"]), status, Text(r["expected"]), Text(r["got"]), diagnosis)
    out.print(table)
    out.print(summary(report), style="bold red" if report.failed else "green", markup=False)


def render_json(report: Report) -> str:
    return json.dumps(report.records, indent=1, allow_nan=False) + "\n"  # strict JSON: every field is text
