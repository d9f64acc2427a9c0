"""Open the published dashboard in a real browser and check that every graph draws: `python -m
comparisons.history.dashboard --check .asv/html`.

The site is served on 127.0.0.1 (a free port) and opened in Debian's headless Chromium through playwright; every
request for anything outside that server is refused and reported. For each benchmark in the site's index.json: its
graph, opened by its own address as a bookmark would, draws at least one point, and its title ends with the unit and
timer dashboard.py labelled it with; a benchmark with a parameter of two or more values is also drawn against that
parameter (`?x-axis=backend`), where every series must be drawn, each point at a real x: bars for a parameter of
names such as the backend (asv 0.6.6 left that view empty), lines for a numeric one such as a graph's size.
A JavaScript error on any page is a failure too.
"""

from __future__ import annotations

import functools
import http.server
import json
import math
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")  # Debian's, installed by `make setup`; playwright's own browsers are not used
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
LOAD_FAILURE = "Can not determine continental origin of swallow"  # asv's message when its scripts do not load
PAGE_TIMEOUT_MS = 90_000  # per graph; a loaded 2-core machine takes a few seconds

# A graph page has settled once asv has fetched every data file it asked for (all at once, through jQuery, whose
# $.active counts the requests in flight and drops to 0 only after the last one's callback has run) and has either
# drawn the graph with flot (the plot object sits in #main-graph's data) or said why not (#error-message). Waiting on
# that, not on a clock, reads the same graph on an idle machine and on a loaded one.
SETTLED = "() => !!window.$ && $.active === 0 && (!!$('#main-graph').data('plot') || $('#error-message').text() !== '')"
# what the settled page shows: asv's error text, the log-scale button, and each series (bars or lines, its points,
# and the x of each point as flot placed it)
SHOWN = """() => {
    const plot = $('#main-graph').data('plot');
    const series = plot ? plot.getData() : [];
    return {
        error: $('#error-message').text(),
        log: $('#log-scale').hasClass('active'),
        series: series.map(s => ({bars: !!s.bars.show, lines: !!s.lines.show, points: s.data.length,
            x: s.datapoints.points.filter((value, i) => i % s.datapoints.pointsize === 0)})),
    };
}"""
# the front page's grid of benchmarks, once built (and its thumbnails' data fetched)
GRID_SETTLED = "() => !!window.$ && $.active === 0 && $('#summarygrid-display .benchmark-container').length > 0"
GRID = "() => $('#summarygrid-display .benchmark-container').map((i, link) => $(link).attr('href')).get()"


class BrowseError(Exception):
    """The check cannot run: no browser, no playwright, no published site."""


@dataclass
class GraphCheck:
    """What the browser showed for one benchmark."""

    benchmark: str
    title: str = ""  # the name the graph page shows (asv's pretty_name, with dashboard.py's unit)
    points: int = 0
    log_axis: bool = False
    x_axis: str | None = None  # the parameter the bar view was drawn against, if the benchmark has one
    drawn_series: int = 0  # series in that view drawn (as bars or lines) with every point at a finite x
    series_kind: str = ""  # how that view drew them: "bar", "line" (or both)
    problems: list[str] = field(default_factory=list)


@dataclass
class SiteCheck:
    """Every graph's check, and what went wrong outside any one graph."""

    graphs: list[GraphCheck]
    remote_requests: list[str]
    page_errors: list[str]

    @property
    def ok(self) -> bool:
        return not self.remote_requests and not self.page_errors and not any(graph.problems for graph in self.graphs)


@contextmanager
def serve(html_dir: Path) -> Iterator[str]:
    """html_dir served on 127.0.0.1 (any free port) while the block runs; its address."""

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(html_dir)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def bar_parameter(info: dict[str, Any]) -> str | None:
    """The first parameter with two or more values (the one worth a bar chart), or None."""
    for name, values in zip(info.get("param_names") or [], info.get("params") or []):
        if len(values) >= 2:
            return str(name)
    return None


def open_settled(context: Any, address: str, errors: list[str], what: str) -> tuple[dict[str, Any] | None, str]:
    """Open address in a fresh page and read what it shows once settled; (None, why) when it never settles."""
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(f"{what}: {error}"))
    try:
        page.goto(address)
        page.wait_for_function(SETTLED, timeout=PAGE_TIMEOUT_MS)
        shown: dict[str, Any] = page.evaluate(SHOWN)
        if LOAD_FAILURE in page.content():
            return None, "asv says its scripts did not load"
        return shown, ""
    except Exception as exc:  # playwright's TimeoutError and friends: what the page failed to do is the finding
        return None, f"the page never settled: {type(exc).__name__}: {str(exc).splitlines()[0]}"
    finally:
        page.close()


def drawn_at_real_x(series: dict[str, Any]) -> bool:
    """A series flot drew (as bars or lines), every point of it at a finite x."""
    xs = series["x"]
    return (
        bool(series["bars"] or series["lines"]) and bool(xs) and all(isinstance(x, int | float) and math.isfinite(x) for x in xs)
    )


def check_graph(context: Any, site: str, name: str, info: dict[str, Any], page_errors: list[str]) -> GraphCheck:
    """Open one benchmark's graph (and its view against a parameter) by its own address and record what they drew."""
    result = GraphCheck(benchmark=name, title=str(info.get("pretty_name") or ""))
    if not result.title.endswith("]"):
        result.problems.append(f"its title {result.title!r} names no unit (dashboard.py labels each: [unit])")
    shown, why = open_settled(context, f"{site}/index.html#{name}", page_errors, name)
    if shown is None:
        result.problems.append(why)
    else:
        result.points = sum(series["points"] for series in shown["series"])
        result.log_axis = bool(shown["log"])
        if result.points == 0:
            result.problems.append("the graph drew no point" + (f" (asv: {shown['error'].strip()})" if shown["error"] else ""))
    result.x_axis = bar_parameter(info)
    if result.x_axis is None:
        return result
    view = f"x-axis={result.x_axis}"
    shown, why = open_settled(context, f"{site}/index.html#{name}?{view}", page_errors, f"{name}?{view}")
    if shown is None:
        result.problems.append(f"{view}: {why}")
        return result
    real = [series for series in shown["series"] if drawn_at_real_x(series)]
    result.drawn_series = len(real)
    result.series_kind = "/".join(sorted({"bar" if series["bars"] else "line" for series in real}))
    if not shown["series"] or len(real) != len(shown["series"]):
        result.problems.append(f"{view}: {len(real)} of {len(shown['series'])} series drawn with every point at a real x")
    return result


def check_grid(context: Any, site: str, errors: list[str]) -> list[str]:
    """The benchmarks the front page's grid links to ("#bench_x.Suite.name"), as its addresses name them."""
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(f"index.html: {error}"))
    try:
        page.goto(f"{site}/index.html")
        page.wait_for_function(GRID_SETTLED, timeout=PAGE_TIMEOUT_MS)
        return [str(href).lstrip("#") for href in page.evaluate(GRID)]
    except Exception:  # a grid that never appears lists nothing: every benchmark is reported missing from it
        return []
    finally:
        page.close()


def check_site(html_dir: Path, chromium: Path = CHROMIUM) -> SiteCheck:
    """Every benchmark's graph in html_dir (a published, offline-made site), opened in headless Chromium."""
    index_path = html_dir / "index.json"
    if not index_path.is_file():
        raise BrowseError(f"{html_dir} has no index.json: run `asv publish` and `python -m comparisons.history.dashboard` first")
    if not chromium.is_file():
        raise BrowseError(f"no {chromium}: `make setup` installs Debian's chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise BrowseError(f"playwright is not installed ({exc}): `make setup` installs it with the test tools") from exc
    benchmarks: dict[str, Any] = json.loads(index_path.read_text(encoding="utf-8")).get("benchmarks", {})
    remote: list[str] = []
    errors: list[str] = []
    graphs: list[GraphCheck] = []
    with serve(html_dir) as site, sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        try:

            def refuse_remote(route: Any) -> None:
                url: str = route.request.url
                if url.startswith(site):
                    route.continue_()
                else:
                    remote.append(url)
                    route.abort()

            context.route("**/*", refuse_remote)
            grid = check_grid(context, site, errors)
            for name in sorted(benchmarks):
                if isinstance(benchmarks[name], dict):
                    graphs.append(check_graph(context, site, name, benchmarks[name], errors))
                    if name not in grid:
                        graphs[-1].problems.append("the front page's grid does not list it")
        finally:
            context.close()
    return SiteCheck(graphs, sorted(set(remote)), errors)


def report(site: SiteCheck) -> str:
    """One line per graph, then what went wrong; the table people read."""
    lines = []
    for graph in site.graphs:
        kind = graph.series_kind or "drawn"
        view = f"x-axis={graph.x_axis}: {graph.drawn_series} {kind} series" if graph.x_axis else "no parameter view"
        scale = "log" if graph.log_axis else "linear"
        verdict = "ok" if not graph.problems else "FAILED: " + "; ".join(graph.problems)
        lines.append(f"{graph.title or graph.benchmark}: {graph.points} points, {scale} axis, {view}: {verdict}")
    drawn = sum(not graph.problems for graph in site.graphs)
    lines.append(f"{drawn} of {len(site.graphs)} graphs drew")
    remote, errors = site.remote_requests, site.page_errors
    lines.append(f"requests outside the local server: {len(remote)}" + (f" ({', '.join(remote[:5])})" if remote else ""))
    lines.append(f"JavaScript errors: {len(errors)}" + (f" ({'; '.join(errors[:5])})" if errors else ""))
    return "\n".join(lines)
