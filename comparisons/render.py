"""Tables and plots from the runs' plain records: pandas DataFrames, shown as rich tables on the terminal, written
as CSV, JSON or Markdown (tidy records: one row per backend and quantity, that pandas reads back exactly), and PNG
charts in each backend's colour (palette.py). Every file the project writes goes through staged_files, so a run that
is interrupted leaves the previous files whole. The one module that imports pandas, matplotlib and rich.
"""

from __future__ import annotations

import functools
import io
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO, cast

import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from comparisons.judge.agreement import GRAD_ATOL, GRAD_RTOL, quantity_label
from comparisons.judge.catalog import same_number
from comparisons.judge.verdict import ACCURATE_ULPS, CLASSES
from comparisons.palette import backend_color

# The columns each kind of record starts with (any others follow); the files and --format output keep this order.
GRADIENT_COLUMNS = (
    "case",
    "backend",
    "quantity",
    "value",
    "truth",
    "ulps",
    "class",
    "why",
    "rule",
    "condition",
    "noise_ulps",
    "truth_note",
    "error",
    "reference",
    "agrees",
    "abs_err",
    "rel_err",
    "fd",
    "fd_abs_err",
    "fd_rel_err",
)
DIVERGENCE_COLUMNS = (
    "case",
    "backend",
    "quantity",
    "value",
    "documented",
    "as_documented",
    "error",
    "source",
    "inputs",
    "explanation",
)
TRAINING_COLUMNS = ("backend", "step", "quantity", "value", "reference", "abs_err", "rel_err", "ok")
SPEED_COLUMNS = ("case", "backend", "quantity", "value", "warmup", "repeats", "ratio_to_fastest")
BACKEND_COLUMNS = ("backend", "quantity", "value", "detail")

Formatter = Callable[[Any], str | Text]  # a str is shown as it is (never as markup); a Text carries its own style


# --- numbers as text ---


def number(x: Any) -> str:
    """A value or gradient: 12 significant digits, enough to see a difference at the 1e-9 tolerance."""
    return f"{x:.12g}" if isinstance(x, float) else str(x)


def short(x: Any) -> str:
    """A number in few characters: Python's shortest form when it is short (1e-320, -0, 1000), else 6 digits."""
    if not isinstance(x, float):
        return str(x)
    text = repr(x).removesuffix(".0")
    return text if len(text) <= 10 else f"{x:.6g}"


def error(x: Any) -> str:
    """An absolute or relative error: only its size matters. '-' where there is none (a value has no FD)."""
    if not isinstance(x, float) or math.isnan(x):
        return "-"
    return "0" if x == 0 else f"{x:.1e}"


def seconds(x: float) -> str:
    if math.isnan(x):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if x >= scale:
            return f"{x / scale:.3g} {unit}"
    return f"{x / 1e-9:.3g} ns"


def ratio(x: float) -> str:
    return f"×{x:.3g}" if x < 100 else f"×{x:,.0f}"


def yes_no(x: Any) -> Text:
    return Text("yes") if x else Text("NO", style="bold red")


# --- tables from records ---


def frame(records: Sequence[Mapping[str, Any]], columns: Sequence[str] = ()) -> pd.DataFrame:
    """The records as a DataFrame, `columns` first and in that order (one that no record has is filled with nan)."""
    df = pd.DataFrame.from_records(list(records))
    return df.reindex(columns=[*columns, *(c for c in df.columns if c not in columns)])


def agreement_summary(gradients: pd.DataFrame, backend_order: Sequence[str]) -> pd.DataFrame:
    """Per backend: the largest and median distance from the truth in ulps, the count of each class, the cases whose
    numbers are unexplained (or raised without a rule), the rules that explained the known ones; and, as a column
    beside them, the largest error against micrograd (agreement)."""
    rows = []
    for name in backend_order:
        df = gradients[gradients.backend == name]
        failing = df["class"].eq("unexplained") | (df["class"].eq("raised") & df.rule.fillna("").eq(""))
        known = df.rule[df["class"].isin(("known", "raised", "inaccurate_agreeing")) & df.rule.fillna("").ne("")]
        rows.append(
            {
                "backend": name,
                "cases": df.case.nunique(),
                "max_ulps": df.ulps.max(),
                "median_ulps": df.ulps.median(),
                **{c: int(df["class"].eq(c).sum()) for c in CLASSES},
                "unexplained_cases": " ".join(dict.fromkeys(df.case[failing])),
                "known_rules": " ".join(dict.fromkeys(known)),
                "inaccurate_cases": " ".join(dict.fromkeys(df.case[~df["class"].isin(("accurate", "undefined"))])),
                "max_abs_err": df.abs_err.max() if "abs_err" in df else math.nan,
                "max_rel_err": df.rel_err.max() if "rel_err" in df else math.nan,
            }
        )
    return pd.DataFrame(rows)


def training_summary(training: pd.DataFrame, speed: pd.DataFrame, backend_order: Sequence[str]) -> pd.DataFrame:
    """Per backend: final loss and accuracy, the largest deviation from micrograd's losses, and the step timings."""
    rows = []
    for name in backend_order:
        mine = training[training.backend == name].sort_values("step")
        loss, accuracy = mine[mine.quantity == "loss"], mine[mine.quantity == "accuracy"]
        timing = speed[(speed.backend == name) & (speed.quantity == "train step")]
        rows.append(
            {
                "backend": name,
                "steps": len(loss),
                "final_loss": loss.value.iloc[-1],
                "final_accuracy": accuracy.value.iloc[-1],
                "max_abs_dev": loss.abs_err.max(),
                "max_rel_dev": loss.rel_err.max(),
                "step_seconds": timing.value.iloc[0] if len(timing) else math.nan,
                "warmup_seconds": timing.warmup.iloc[0] if len(timing) else math.nan,
                "ok": bool(mine.ok.all()),
            }
        )
    return pd.DataFrame(rows)


def with_ratios(speed: pd.DataFrame) -> pd.DataFrame:
    """ratio_to_fastest: each backend's median time over the fastest backend's, per case and quantity."""
    fastest = speed.groupby(["case", "quantity"], sort=False).value.transform("min")
    return speed.assign(ratio_to_fastest=speed.value / fastest)


def report_tables(
    backend_status: Mapping[str, str | None],
    gradients: Sequence[Mapping[str, Any]],
    divergences: Sequence[Mapping[str, Any]],
    training: Sequence[Mapping[str, Any]],
    speed: Sequence[Mapping[str, Any]],
) -> dict[str, pd.DataFrame]:
    """Every table of the report, by file stem: the tidy records of each run, and the per-backend summaries."""
    names = [name for name, why in backend_status.items() if why is None]
    status = [
        {"backend": name, "quantity": "status", "value": "ok" if why is None else "unavailable", "detail": why or ""}
        for name, why in backend_status.items()
    ]
    tables = {
        "backends": frame(status, BACKEND_COLUMNS),
        "gradients": frame(gradients, GRADIENT_COLUMNS),
        "divergences": frame(divergences, DIVERGENCE_COLUMNS),
        "training": frame(training, TRAINING_COLUMNS),
        "speed": with_ratios(frame(speed, SPEED_COLUMNS)),
    }
    tables["gradients_summary"] = agreement_summary(tables["gradients"], names)
    tables["training_summary"] = training_summary(tables["training"], tables["speed"], names)
    return tables


FLOAT32_STEMS = ("gradients_float32", "gradients_float32_summary", "divergences_float32")  # the report's float32 tables


def float32_tables(
    gradients: Sequence[Mapping[str, Any]], divergences: Sequence[Mapping[str, Any]], names: Sequence[str]
) -> dict[str, pd.DataFrame]:
    """The report's float32 tables (`report --dtype float32`): the catalog's gradients against the truth, their
    summary, and the float32 divergences run live."""
    gradients_df = frame(gradients, GRADIENT_COLUMNS)
    return {
        "gradients_float32": gradients_df,
        "gradients_float32_summary": agreement_summary(gradients_df, names),
        "divergences_float32": frame(divergences, DIVERGENCE_COLUMNS),
    }


def disagreements(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """One line per backend with a number that is unexplained or raised without a rule (in float64 or float32), and
    per backend whose training deviates from micrograd's (a training run has no certified truth: agreement is all
    there is to go on)."""
    lines = []
    for stem, dtype in (("gradients", ""), ("gradients_float32", " (float32)")):
        if stem in tables:
            summary = tables[f"{stem}_summary"]
            lines += [f"{r.backend}{dtype}: {r.unexplained_cases}" for r in summary.itertuples() if r.unexplained_cases]
    lines += [
        f"{r.backend}: training deviates from micrograd's (max rel {r.max_rel_dev:.1e})"
        for r in tables["training_summary"].itertuples()
        if not r.ok
    ]
    return lines


# --- text formats and files ---


def render(df: pd.DataFrame, fmt: str) -> str:
    """Tidy records as CSV (a header row), JSON (a list of objects) or a Markdown table."""
    if fmt == "csv":
        return str(df.to_csv(index=False, na_rep="nan"))
    if fmt == "json":
        return json_records([_absent_as_null(r) for r in df.to_dict(orient="records")])
    if fmt == "markdown":
        return markdown(df)
    raise ValueError(f"render: unknown format {fmt!r}; expected csv, json or markdown")


# Columns where a missing number means "there is none" (no truth where the mathematics is undefined), never a nan that
# something computed: JSON says null there.
ABSENT_AS_NULL = ("truth", "ulps", "condition", "truth_note")


def _absent_as_null(record: dict[str, Any]) -> dict[str, Any]:
    return {k: None if k in ABSENT_AS_NULL and isinstance(v, float) and math.isnan(v) else v for k, v in record.items()}


# Strict JSON (RFC 8259: what JSON.parse, jq and browsers read) has no nan or infinity, and null would lose the
# difference that a divergence is about: they are written as these strings, and read_records turns them back.
NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def json_records(records: Sequence[Mapping[str, Any]]) -> str:
    """A strict JSON list of objects, one per line, that read_records reads back bit for bit (so do json.load and
    pandas.read_json(..., precise_float=True), but for the non-finite numbers): floats as Python's shortest repr,
    nan, inf and -inf as the strings "nan", "inf" and "-inf", a subnormal as its exact decimal expansion (its short
    form, like 1e-320, makes read_json's precise parser fail with 'Range error')."""
    return "[\n" + ",\n".join(json_value(record) for record in records) + "\n]\n"


def json_value(x: Any) -> str:
    """One value as strict JSON text (json_records' rules)."""
    if isinstance(x, Mapping):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {json_value(v)}" for k, v in x.items()) + "}"
    if isinstance(x, list | tuple):
        return "[" + ", ".join(map(json_value, x)) + "]"
    x = strict_json(x)
    if isinstance(x, float) and x != 0 and abs(x) < sys.float_info.min:
        return format(Decimal(x), "e")  # exact: strtod reads it without underflow
    return json.dumps(x, allow_nan=False)


def strict_json(x: Any) -> Any:
    """x with every non-finite float, however deep, as its NON_FINITE string, and numpy scalars as Python's."""
    if isinstance(x, Mapping):
        return {str(k): strict_json(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [strict_json(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, str | bytes):  # a numpy scalar, from a DataFrame
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if math.isnan(x) else "inf" if x > 0 else "-inf"
    return x


def read_records(path: Path | str) -> pd.DataFrame:
    """A JSON list of records that this project wrote, as a DataFrame, bit for bit: as pandas.DataFrame(json.load(f)),
    with "nan", "inf" and "-inf" read as numbers in each column whose other values are all numbers or null (a column
    that holds any other text is text)."""
    records: list[dict[str, Any]] = json.loads(Path(path).read_text(encoding="utf-8"))

    def number_or_null(v: Any) -> bool:
        return v is None or (isinstance(v, str) and v in NON_FINITE) or (isinstance(v, int | float) and not isinstance(v, bool))

    columns = {k for r in records for k in r}
    numeric = {c for c in columns if all(number_or_null(r.get(c)) for r in records)}
    return pd.DataFrame([{k: NON_FINITE[v] if k in numeric and isinstance(v, str) else v for k, v in r.items()} for r in records])


def markdown(df: pd.DataFrame) -> str:
    def cell(x: Any) -> str:  # None (nothing there, as in truth_note) is an empty cell
        text = "" if x is None else repr(x) if isinstance(x, float) else str(x)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(map(cell, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def save_report(tables: Mapping[str, pd.DataFrame], out_dir: Path, training_title: str) -> list[Path]:
    """Every table as `stem`.csv and `stem`.json, and the two charts, in out_dir (all of them or, if interrupted, none).
    A float32 table of an earlier run that this run does not have is removed with the rest, so the folder holds one
    run's files."""
    stale = [f"{stem}.{fmt}" for stem in FLOAT32_STEMS if stem not in tables for fmt in ("csv", "json")]
    with staged_files(out_dir, stale) as staging:
        save_tables(tables, staging)
        plot_losses(tables["training"], staging / "training_loss.png", training_title)
        plot_speed(tables["speed"], staging / "speed.png", list(tables["training_summary"].backend))
        names = [path.name for path in staging.iterdir()]
    order = [f"{stem}.{fmt}" for stem in tables for fmt in ("csv", "json")] + ["training_loss.png", "speed.png"]
    return [out_dir / name for name in sorted(names, key=order.index)]


def save_tables(tables: Mapping[str, pd.DataFrame], folder: Path) -> None:
    """Each table as `stem`.csv and `stem`.json in `folder` (a staging folder from staged_files)."""
    for stem, df in tables.items():
        for fmt in ("csv", "json"):
            (folder / f"{stem}.{fmt}").write_text(render(df, fmt), encoding="utf-8")


@contextmanager
def staged_files(folder: Path, stale: Sequence[str] = ()) -> Iterator[Path]:
    """A fresh temporary folder inside `folder` (created if needed) to write a run's files in. When the block ends
    without an exception, they replace their namesakes in `folder` together, and the files named in `stale` are
    removed, with Ctrl-C held off meanwhile; the temporary folder is removed either way. So an interrupted run leaves
    the previous files whole, and no debris.
    A Ctrl-C that arrives while the files move is raised after they are in place, with a message that says so.
    The staging folder's name holds this process's id (.partial-PID-XXXX): one left by a run that was killed (its
    process is gone) is removed here, by the next run into the folder; a live run's is left alone."""
    with sigint_held():
        folder.mkdir(parents=True, exist_ok=True)
        remove_leftovers(folder)
        staging = Path(tempfile.mkdtemp(prefix=f".partial-{os.getpid()}-", dir=folder))
    try:
        yield staging
    except BaseException:
        with sigint_held():
            shutil.rmtree(staging, ignore_errors=True)
        raise
    with sigint_held(f"interrupted after the files in {folder} were written whole"):
        for path in sorted(staging.iterdir()):
            os.replace(path, folder / path.name)
        for name in stale:
            (folder / name).unlink(missing_ok=True)
        staging.rmdir()


def remove_leftovers(folder: Path) -> None:
    """Remove the staging folders in `folder` whose run is gone (killed before it could clean up)."""
    for path in folder.glob(".partial-*"):
        pid = path.name.split("-")[1]
        if path.is_dir() and not (pid.isdigit() and _alive(int(pid))):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, and belongs to someone else
        return True
    return True


# Ctrl-C, a kill, the terminal closed (cli.INTERRUPTS, all three raised as KeyboardInterrupt) and --timeout's alarm
HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM)


@contextmanager
def sigint_held(message: str = "") -> Iterator[None]:
    """Ctrl-C (SIGINT), SIGTERM, SIGHUP and --timeout's SIGALRM held off for the block. An interrupt that arrives is
    raised as KeyboardInterrupt(message) after it; an alarm goes to its own handler then, unless `message` says the
    files are in place (the run is done: too late to time out)."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set a handler
        yield
        return
    received: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, frame: received.append(signum)) for signum in HELD_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if any(signum != signal.SIGALRM for signum in received):
        raise KeyboardInterrupt(message) if message else KeyboardInterrupt
    alarm = previous[signal.SIGALRM]
    if received and not message and callable(alarm):
        alarm(signal.SIGALRM, None)


# --- the terminal ---


def console(width: int = 100) -> Console:
    """stdout, `width` columns wide when it is not a terminal (a file, a pipe), and then without the spaces rich pads
    each line with; a terminal's own width otherwise."""
    if sys.stdout.isatty():
        return Console(highlight=False, emoji=False)  # `grad:x:` is no emoji
    stream = cast(TextIO, WithoutTrailingSpaces(sys.stdout))  # a TextIOBase: write, flush and isatty are what rich uses
    return Console(file=stream, width=width, highlight=False, emoji=False)


class WithoutTrailingSpaces(io.TextIOBase):
    """A text stream that writes each line to `stream` with its trailing spaces removed (a line is held until its
    newline comes, or a flush)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.pending = ""

    def write(self, text: str) -> int:
        *lines, self.pending = (self.pending + text).split("\n")
        if lines:
            self.stream.write("".join(line.rstrip(" ") + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:  # the line so far, less the spaces at its end: they go out only if more text follows
        text = self.pending.rstrip(" ")
        self.stream.write(text)
        self.pending = self.pending[len(text) :]
        self.stream.flush()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        """The underlying stream's: rich draws its boxes in ASCII where that cannot show them."""
        return str(getattr(self.stream, "encoding", None) or "utf-8")


def rich_table(
    df: pd.DataFrame,
    title: str,
    formats: Mapping[str, tuple[str, Formatter]],
    caption: str = "",
    group: bool = False,
    numbers: Sequence[str] = (),
) -> Table:
    """The columns named in `formats` (in that order), with their headers and formatters; with `group`, a line
    between rows whose first column differs. Numeric columns, and those named in `numbers`, are right-aligned and
    never wrapped."""
    # Text, not str: brackets in a title or caption are text (MLP(2, [16, 16, 1])), not rich markup
    table = Table(
        title=Text(title), caption=Text(caption) if caption else None, box=box.SIMPLE_HEAD, title_justify="left",
        caption_justify="left",
    )  # fmt: skip
    for column, (header, _) in formats.items():
        numeric = column in numbers or (pd.api.types.is_numeric_dtype(df[column]) and not pd.api.types.is_bool_dtype(df[column]))
        table.add_column(header, justify="right" if numeric else "left", overflow="fold", no_wrap=numeric)
    previous = None
    for row in df.to_dict(orient="records"):
        cells = [fmt(row[column]) for column, (_, fmt) in formats.items()]
        first = next(iter(formats))
        if group and previous is not None and row[first] != previous:
            table.add_section()
        previous = row[first]
        table.add_row(*(cell if isinstance(cell, Text) else Text(cell) for cell in cells))
    return table


def print_gradients(out: Console, df: pd.DataFrame, title: str, dtype: str = "float64") -> None:
    """`grad`: every quantity on every backend: the truth, the distance from it, the verdict's class, and agreement
    with micrograd beside it (float64 only)."""
    order = {quantity: i for i, quantity in enumerate(dict.fromkeys(df.quantity))}
    rows = df.sort_values("quantity", key=lambda q: q.map(order), kind="stable").copy()
    rows["truth"] = [truth_text(t, note) for t, note in zip(rows.truth, rows.truth_note)]
    rows["value"] = [v if v == v and v is not None else "raised" for v in rows.value]
    formats: dict[str, tuple[str, Formatter]] = {
        "quantity": ("quantity", str), "backend": ("backend", str), "value": ("value", _value_text),
        "truth": ("truth", str), "ulps": ("ulps", ulps_text), "class": ("class", class_text),
    }  # fmt: skip
    if dtype == "float64":
        formats["agrees"] = ("agrees", yes_no)
    out.print(rich_table(rows, title, formats, caption=tolerance_caption(dtype), group=True, numbers=("truth",)))


def _value_text(v: Any) -> str:
    return v if isinstance(v, str) else repr(v)


CLASS_HEADER = {
    "accurate": "accurate", "inaccurate_agreeing": "agree", "known": "known", "undefined": "undef", "raised": "raised",
    "unexplained": "unexpl",
}  # fmt: skip
CLASS_STYLE = {
    "accurate": "green", "inaccurate_agreeing": "yellow", "known": "cyan", "undefined": "dim", "raised": "magenta",
    "unexplained": "bold red",
}  # fmt: skip


def class_text(c: Any) -> Text:
    """A class as the table shows it: inaccurate_agreeing may break at its underscore, as two words."""
    return Text(str(c).replace("inaccurate_agreeing", "inaccurate agreeing"), style=CLASS_STYLE.get(str(c), ""))


def truth_text(truth: Any, note: Any) -> str:
    if truth is None or truth != truth:
        return "undefined" if isinstance(note, str) and note else "-"
    return repr(float(truth))


def ulps_text(x: Any) -> str:
    if x is None or x != x:
        return "-"
    return "0" if x == 0 else "inf" if x == math.inf else f"{x:.3g}"


def verdict_lines(records: Sequence[Mapping[str, Any]], accurate_ulps: float, dtype: str = "float64") -> list[str]:
    """`grad`'s verdict under its table: why each quantity is undefined; each backend's largest distance from the
    truth; and for every number that is not accurate, its class and why (the rule, the ill-conditioning, the
    cancellation, or the error)."""
    lines = []
    undefined = {r["quantity"]: r["why"] for r in records if r["class"] == "undefined"}
    for q, why in undefined.items():
        lines.append(f"truth of {quantity_label(q)}: {'' if why.startswith('not determined') else 'undefined: '}{why}")
    worst: dict[str, float] = {}
    for r in records:
        if r["ulps"] is not None:
            worst[r["backend"]] = max(worst.get(r["backend"], 0.0), r["ulps"])
    if worst:
        lines.append(
            f"ulps from the truth (accurate: at most {accurate_ulps:g} {dtype} ulps), the largest per backend: "
            + ", ".join(f"{b} {ulps_text(u)}" for b, u in worst.items())
        )
    seen = set()
    for r in records:
        if r["class"] in ("accurate", "undefined", "unexplained") or (r["class"], r["why"]) in seen:
            continue
        seen.add((r["class"], r["why"]))
        alike = [o for o in records if o["quantity"] == r["quantity"] and (o["class"], o["why"]) == (r["class"], r["why"])]
        if r["class"] == "inaccurate_agreeing":
            lines.append(f"{quantity_label(r['quantity'])}: all backends give the same number, far from the truth: {r['why']}")
            continue
        who = ", ".join(o["backend"] for o in alike)
        lines.append(f"{quantity_label(r['quantity'])} {r['class']} ({who}): {r['why']}")
    return lines


def tolerance_caption(dtype: str = "float64") -> str:
    caption = (
        f"truth: the exact value, certified and correctly rounded to {dtype}; ulps: the distance from it in {dtype} "
        f"units in the last place; class: accurate within {ACCURATE_ULPS:g} ulps, else why not (the lines below)"
    )
    if dtype == "float32":
        return caption + "; micrograd computes in float64 only, so it is not in a float32 run"
    return caption + f". agrees: with micrograd, within rel {GRAD_RTOL:g} or abs {GRAD_ATOL:g} (a column, not a verdict)"


def print_training(out: Console, df: pd.DataFrame, summary: pd.DataFrame, title: str) -> None:
    """`train`: the loss of every backend at every step, then the summary."""
    names = list(summary.backend)
    losses = df[df.quantity == "loss"].pivot(index="step", columns="backend", values="value")[names].reset_index()
    formats: dict[str, tuple[str, Formatter]] = {"step": ("step", str)} | {name: (name, number) for name in names}
    out.print(rich_table(losses, "loss per step", formats))
    out.print(training_table(summary, "training", title))


def training_table(summary: pd.DataFrame, title: str, spec_description: str) -> Table:
    formats: dict[str, tuple[str, Formatter]] = {
        "backend": ("backend", str), "final_loss": ("final loss", number), "final_accuracy": ("accuracy", short),
        "max_abs_dev": ("max |Δloss|", error), "max_rel_dev": ("max rel Δ", error),
        "step_seconds": ("per step", seconds), "warmup_seconds": ("warm-up", seconds), "ok": ("agrees", yes_no),
    }  # fmt: skip
    caption = (
        f"{spec_description}. Δ: against micrograd's loss at every step (accuracy too); agrees: within rel {GRAD_RTOL:g} "
        f"or abs {GRAD_ATOL:g}. per step: the median after the warm-up (building the trainer, its jit, the first steps)"
    )
    return rich_table(
        summary, f"{title}: final loss and accuracy, the largest deviation from micrograd's losses", formats, caption
    )


def print_report(out: Console, tables: Mapping[str, pd.DataFrame], heading: str, training_title: str) -> None:
    """The four sections of the report (five tables: speed has its warm-ups apart), the two float32 ones when it has
    them, and a verdict."""
    names = list(tables["training_summary"].backend)
    out.print(heading)
    for r in tables["backends"].itertuples():
        if r.value != "ok":
            out.print(Text(f"skipped {r.backend}: {r.detail}", style="yellow"))

    formats: dict[str, tuple[str, Formatter]] = {
        "backend": ("backend", str), "cases": ("cases", str),
        "max_ulps": ("max ulps", ulps_text),
        **{c: (CLASS_HEADER[c], str) for c in CLASSES},
        "max_rel_err": ("vs micrograd", error),
    }  # fmt: skip
    out.print()
    out.print(
        rich_table(
            tables["gradients_summary"],
            "1. gradients over the catalog: every number's class against the truth (agreement with micrograd beside)",
            formats,
            tolerance_caption(),
        )
    )
    out.print()
    print_divergences(out, tables["divergences"], names)
    out.print()
    out.print(training_table(tables["training_summary"], "3. training", training_title))
    out.print()
    print_speed(out, tables["speed"], tables["training_summary"], names)
    out.print()
    if "gradients_float32" in tables:
        names32 = list(tables["gradients_float32_summary"].backend)
        title = "5. float32 gradients over the catalog: distance from the truth, the reference (micrograd is float64 only)"
        formats32 = {k: v for k, v in formats.items() if k != "max_rel_err"}
        out.print(rich_table(tables["gradients_float32_summary"], title, formats32, tolerance_caption("float32")))
        out.print()
        print_divergences(out, tables["divergences_float32"], names32, "6. known divergences in float32")
        out.print()
    lines = disagreements(tables)
    if lines:
        out.print(Text("unexplained (or a training run that deviates):", style="bold red"))
        for line in lines:
            out.print(Text(f"  {line}"))
    else:
        verdict = "nothing unexplained: every number is accurate, or its inaccuracy is explained (see the classes)"
        out.print(Text(verdict, style="bold green"))


def print_divergences(
    out: Console, divergences: pd.DataFrame, names: Sequence[str], section: str = "2. known divergences"
) -> None:
    """The divergences whose live values differ between backends, each beside its explanation; those where all agree
    (pinned in the catalog to show that they do) are named in one line."""
    if divergences.empty:
        out.print(f"{section}: none in the catalog")
        return
    table = Table(
        title=f"{section}: where frameworks genuinely differ, run live now", title_justify="left",
        caption=f"yellow: differs from {names[0]}'s; (catalog: x): the catalog documents x, not what runs now",
        caption_justify="left", show_lines=True,
    )  # fmt: skip
    for header in ("case", "gives", "why"):
        table.add_column(header, overflow="fold")
    agreeing = []
    for (case, quantity), rows in divergences.groupby(["case", "quantity"], sort=False):
        rows = rows.set_index("backend").reindex(list(names))
        reference = rows.value.iloc[0]
        if all(same_number(v, reference) for v in rows.value) and not rows.error.any() and rows.as_documented.all():
            agreeing.append(f"{case} ({quantity})")
            continue
        gives = Text()
        for name, row in rows.iterrows():
            gives.append(f"\n{name:<10}" if len(gives) else f"{name:<10}")
            differs = bool(row.error) or not same_number(row.value, reference)
            gives.append("error" if row.error else short(row.value), style="yellow" if differs else "")
            if not row.as_documented:
                gives.append(f" (catalog: {short(row.documented)})", style="bold red")
        first = rows.iloc[0]
        table.add_row(Text(f"{case}\n{first.source}\nat {first.inputs}\n{quantity}"), gives, Text(first.explanation))
    out.print(table)
    if agreeing:
        out.print(
            Text(f"and {len(agreeing)} where every backend agrees (pinned in the catalog): {', '.join(agreeing)}", style="dim")
        )


def print_speed(out: Console, speed: pd.DataFrame, training: pd.DataFrame, names: Sequence[str]) -> None:
    """Median time per call, each backend's ratio to the fastest on that row; then the warm-ups, apart."""
    cells = {(r.case, r.backend): f"{seconds(r.value)} {ratio(r.ratio_to_fastest)}" for r in speed.itertuples()}
    expressions = speed[speed.quantity == "fwd+bwd"]
    typical = expressions.groupby("backend").ratio_to_fastest.apply(lambda x: math.exp(x.map(math.log).mean()))
    rows = frame(
        [{"case": case, **{n: cells.get((case, n), "-") for n in names}} for case in dict.fromkeys(expressions.case)]
        + [{"case": "(geometric mean)", **{n: ratio(typical[n]) if n in typical else "-" for n in names}}]
        + [{"case": "training step", **{n: cells.get(("training", n), "-") for n in names}}]
    )
    formats: dict[str, tuple[str, Formatter]] = {"case": ("case", str), **{n: (n, str) for n in names}}
    caption = "×: time over the fastest backend's on that row. Warm-up (compile, jit, first calls) is not included: see below"
    out.print(
        rich_table(rows, "4. speed: median time per forward+backward (per expression) and per training step", formats, caption)
    )

    warmup = expressions.groupby("backend").warmup
    warmups = frame(
        [
            {
                "backend": n,
                "median": warmup.median().get(n, math.nan),
                "total": warmup.sum().get(n, math.nan),
                "training": training.set_index("backend").warmup_seconds.get(n, math.nan),
            }
            for n in names
        ]
    )
    formats = {
        "backend": ("backend", str), "median": ("per expression (median)", seconds),
        "total": ("all expressions", seconds), "training": ("training", seconds),
    }  # fmt: skip
    out.print()
    out.print(rich_table(warmups, "   warm-up: compile or trace, jit, and the first calls", formats))


# --- charts ---

LINE_STYLES = ("-", "--", "-.", ":")


def plot_losses(training: pd.DataFrame, path: Path, title: str) -> Path:
    """Every backend's loss per step on one chart (drawn so that identical curves stay visible), and below it each
    other backend's distance from micrograd's curve on a log scale."""
    from matplotlib.figure import Figure

    floor = 1e-18  # an exact match (0) cannot sit on a log axis; it is drawn here, and the label says so
    fig = Figure(figsize=(8, 6.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    losses = training[training.quantity == "loss"]
    for i, (name, rows) in enumerate(losses.groupby("backend", sort=False)):
        style = {"linestyle": LINE_STYLES[i % len(LINE_STYLES)], "linewidth": 3.0 - 0.6 * i, "color": backend_color(str(name))}
        top.plot(rows.step, rows.value, label=str(name), **style)
        if i > 0:  # the first is micrograd, the reference: its distance from itself is 0
            bottom.plot(rows.step, rows.abs_err.clip(lower=floor), **style)
    top.set(title=title, ylabel="loss")
    top.legend()
    bottom.set(yscale="log", xlabel="step", ylabel=f"|loss - micrograd's|\n(0 drawn at {floor:g})")
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    fig.savefig(path, dpi=100)
    return path


def plot_speed(speed: pd.DataFrame, path: Path, backend_order: Sequence[str]) -> Path:
    """Median time per call and warm-up time, per workload and backend, as grouped horizontal bars (log scale)."""
    from matplotlib.figure import Figure

    workloads = list(dict.fromkeys(speed.case))
    n = max(len(backend_order), 1)
    height = 0.8 / n
    fig = Figure(figsize=(11, 1.5 + 0.07 * len(workloads) * n), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, column, label in zip(
        axes, ("value", "warmup"), ("median time per call (s)", "warm-up: compile, jit, first calls (s)")
    ):
        for i, name in enumerate(backend_order):
            rows = speed[speed.backend == name].set_index("case").reindex(workloads)
            bars = [k + i * height for k in range(len(workloads))]
            ax.barh(bars, rows[column], height=height, label=name, color=backend_color(name))
        ax.set(xscale="log", xlabel=label)
        ax.grid(axis="x", alpha=0.3)
    labels = ["training step" if w == "training" else w for w in workloads]
    axes[0].set_yticks([k + height * (n - 1) / 2 for k in range(len(workloads))], labels)
    axes[0].set_ylim(len(workloads) - height / 2 - 0.1, -height / 2 - 0.1)  # top to bottom in catalog order
    fig.suptitle("forward+backward per expression (catalog order), and one training step")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=n)
    fig.savefig(path, dpi=100)
    return path


def plot_step_times(sweep: pd.DataFrame, path: Path) -> Path:
    """Small multiples, one panel per hidden width: ms per training step against data points, log-log, one line per
    backend (training_speed's sweep: columns backend, width, points, step_ms)."""
    from matplotlib.figure import Figure

    widths = list(dict.fromkeys(sweep.width))
    fig = Figure(figsize=(4.2 * max(1, len(widths)), 3.8), layout="constrained")
    axes = fig.subplots(1, max(1, len(widths)), sharey=True, squeeze=False)[0]
    for ax, width in zip(axes, widths):
        for name, rows in sweep[sweep.width == width].groupby("backend", sort=False):
            rows = rows.sort_values("points")
            ax.plot(rows.points, rows.step_ms, "o-", label=str(name), color=backend_color(str(name)))
        ax.set(xscale="log", yscale="log", title=f"MLP(2, [{width}, {width}, 1])", xlabel="data points (full batch)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("ms per training step (median)")
    if widths:
        axes[0].legend()
    fig.suptitle("one SGD step through each adapter: time against data size")
    fig.savefig(path, dpi=110)
    return path


# --- fuzz and the accuracy atlas ---


def json_text(obj: Any) -> str:
    """One strict JSON document (nan, inf and -inf written as the strings "nan", "inf" and "-inf", as `render` does)."""
    return json.dumps(strict_json(obj), indent=1, allow_nan=False) + "\n"


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def write_atomically(path: Path, write: Callable[[Path], None]) -> Path:
    """`write(temporary path)`, then that file replaces `path` (staged_files): a reader never sees half a file."""
    with staged_files(path.parent) as staging:
        write(staging / path.name)
    return path


def print_fuzz(out: Console, summary: Any, records: Sequence[Any], skipped: Mapping[str, str]) -> None:
    """`fuzz`: the count per class and backend, the rules that explained divergences, and each finding's entry."""
    df = frame([{"backend": r.backend, "cls": r.cls} for r in records])
    classes = list(summary.counts)
    counts = df.groupby(["backend", "cls"]).size().unstack(fill_value=0).reindex(columns=classes, fill_value=0)
    counts = counts.reindex(summary.backends).reset_index()
    formats = {"backend": ("backend", str)} | {c: (c.replace("_", " "), str) for c in classes}
    title = (
        f"fuzz, {summary.dtype}, seed {summary.seed}: {summary.cases} cases ({summary.expressions} expressions), "
        f"{summary.quantities} quantities, {summary.seconds:g} s"
    )
    caption = (
        "accurate: within a few ulps of the exact truth, more where the formula amplifies rounding; inaccurate "
        "agreeing: every backend gives the same inexact number (the formula's fault); known: a rule explains it; "
        "undefined: the truth is undefined or not determined there"
    )
    out.print(rich_table(counts, title, formats, caption))
    if summary.known:
        from comparisons.judge.rules import RULES

        why = {rule.name: rule.explanation for rule in RULES}
        known = frame([{"rule": k, "count": v, "why": why.get(k, "")} for k, v in summary.known.items()])
        out.print(rich_table(known, "known divergences found", {"rule": ("rule", str), "count": ("n", str), "why": ("why", str)}))
    for name, reason in skipped.items():
        out.print(f"skipped {name}: {reason}", style="yellow", markup=False)
    if summary.unexplained == 0:
        out.print(f"nothing unexplained ({summary.dtype})", style="green")
        return
    out.print(f"{summary.unexplained} unexplained quantities; the findings, shrunk, as catalog entries:", style="bold red")
    for f in summary.findings:
        out.print(f"# {f.backend}, {f.dtype}: was {f.original_source!r} at {f.original_inputs}", markup=False)
        out.print(f.entry, markup=False, highlight=False)


def save_fuzz(results: Sequence[tuple[Any, Sequence[Any], Mapping[str, str]]], out_dir: Path) -> list[Path]:
    """Per dtype: fuzz_DTYPE.csv (every record), fuzz_DTYPE.json (the summary) and fuzz_DTYPE_entries.py."""
    paths = []
    for summary, records, _ in results:
        stem = out_dir / f"fuzz_{summary.dtype}"
        csv = render(frame([r.as_dict() for r in records]), "csv")
        entries = "\n".join(f.entry for f in summary.findings) + "\n"
        for path, text in (
            (stem.with_suffix(".csv"), csv),
            (stem.with_suffix(".json"), json_text(summary.as_json())),
            (out_dir / f"{stem.name}_entries.py", entries),
        ):
            paths.append(write_atomically(path, functools.partial(_write_text, text=text)))
    return paths


def print_accuracy(out: Console, df: pd.DataFrame) -> None:
    """`accuracy`: a row per op and quantity, a column per backend and dtype; each cell the largest error in ulps,
    the median in brackets, and the input of the largest below it."""
    df = df.assign(
        column=df.backend + " " + df.dtype,
        cell=[
            f"{ulps_text(m)} ({ulps_text(med)})" + (f"\n{_short_numbers(w)}" if m > 4 else "")
            for m, med, w in zip(df.max_ulps, df.median_ulps, df.worst_input)
        ],
    )
    columns = list(dict.fromkeys(df.column))
    table = df.pivot(index=["op", "quantity"], columns="column", values="cell")[columns].fillna("")
    table = table.reindex(list(dict.fromkeys(zip(df.op, df.quantity)))).reset_index()  # the atlas's op order
    formats = {"op": ("op", str), "quantity": ("", str)} | {c: (c.replace(" ", "\n"), str) for c in columns}
    caption = (
        "largest error (median) in ulps from the exact value correctly rounded to the dtype, and the input of the "
        "largest where it is over 4; micrograd computes in float64 only. All numbers: --format csv"
    )
    out.print(rich_table(table, "accuracy atlas: error from the exact truth, in ulps", formats, caption, group=True))


def _short_numbers(text: str) -> str:
    """`x=18.793935058802067, y=2.5` -> `x=18.79, y=2.5`: the table's cells stay narrow (the CSV has every digit)."""
    import re

    return re.sub(r"-?\d+\.\d+(e[-+]?\d+)?", lambda m: f"{float(m.group()):.4g}", text)


def plot_accuracy(df: pd.DataFrame, path: Path) -> Path:
    """A heatmap: a row per op and quantity, a column per backend and dtype, the colour log10(1 + largest ulps),
    each cell labelled with the largest error in ulps and the median. Written atomically."""
    import numpy as np
    from matplotlib.figure import Figure

    rows = list(dict.fromkeys(zip(df.op, df.quantity)))
    columns = list(dict.fromkeys(zip(df.backend, df.dtype)))
    grid = np.full((len(rows), len(columns)), np.nan)
    median = np.full((len(rows), len(columns)), np.nan)
    for r in df.itertuples(index=False):
        at = rows.index((r.op, r.quantity)), columns.index((r.backend, r.dtype))
        grid[at], median[at] = r.max_ulps, r.median_ulps
    shown = np.log10(1 + np.minimum(grid, 1e17))
    fig = Figure(figsize=(1.5 + 1.1 * len(columns), 1.2 + 0.4 * len(rows)), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(shown, cmap="viridis", aspect="auto", vmin=0, vmax=max(3.0, float(np.nanmax(shown))))
    for i in range(len(rows)):
        for j in range(len(columns)):
            if not np.isnan(grid[i, j]):
                ax.text(j, i, f"{ulps_text(grid[i, j])}\n({ulps_text(median[i, j])})", ha="center", va="center", fontsize=6.5,
                        color="white" if shown[i, j] < 2 else "black")  # fmt: skip
    ax.set_xticks(range(len(columns)), [f"{b}\n{d}" for b, d in columns], fontsize=8)
    ax.set_yticks(range(len(rows)), [f"{op} {q}" for op, q in rows], fontsize=8)
    fig.colorbar(image, ax=ax, label="log10(1 + largest error in ulps)")
    ax.set_title("largest error (median) from the exact truth, in ulps of the dtype", fontsize=10)
    return write_atomically(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
