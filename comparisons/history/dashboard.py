"""Make asv's published dashboard work offline, and open wide-ranging graphs on a log scale.

asv 0.6.6's index.html loads jquery, flot, bootstrap and friends from CDNs. This step (run after `asv publish` by
`make asv-record`/`make asv-publish`) copies the copies vendored in vendor/asv-www/ into the site and points every
<script>/<link> at them; a CDN address it does not know is an error, never left in place. It also patches asv's
graph page so that a benchmark whose values span at least LOG_SCALE_SPAN (all positive) opens on a log y axis; labels
every benchmark with its unit and timer (asv says "seconds" for wall and CPU time alike, and prints bytes as "157.528k");
and fixes the bar chart of a benchmark drawn against a parameter (`x-axis=backend`), which asv 0.6.6 leaves empty.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

VENDOR_DIR = Path(__file__).resolve().parents[2] / "vendor" / "asv-www"
SITE_VENDOR = "vendor"  # the vendored files' folder inside the published site
LOG_SCALE_SPAN = 100.0  # max/min of a benchmark's values from which its graph opens on a log scale (two decades)
LOG_SCALE_FILE = "log_scale_benchmarks.js"

# the end of each CDN address in asv 0.6.6's index.html -> the vendored file that replaces it
VENDORED = {
    "/jquery-3.3.1.min.js": "jquery-3.3.1/jquery.min.js",
    "/flot/0.8.3/jquery.flot.min.js": "flot-0.8.3/jquery.flot.js",
    "/flot/0.8.3/jquery.flot.time.min.js": "flot-0.8.3/jquery.flot.time.js",
    "/flot/0.8.3/jquery.flot.selection.min.js": "flot-0.8.3/jquery.flot.selection.js",
    "/flot/0.8.3/jquery.flot.categories.min.js": "flot-0.8.3/jquery.flot.categories.js",
    "/flot-orderbars@1.0.0/js/jquery.flot.orderBars.js": "flot-orderbars-1.0.0/jquery.flot.orderBars.js",
    "/stupidtable/1.0.1/stupidtable.min.js": "stupid-table-plugin-1.1.3/stupidtable.min.js",
    "/blueimp-md5/2.19.0/js/md5.min.js": "blueimp-md5-2.19.0/md5.min.js",
    "/bootstrap@3.1.1/dist/js/bootstrap.min.js": "bootstrap-3.1.1/js/bootstrap.min.js",
    "/bootstrap@3.1.1/dist/css/bootstrap.min.css": "bootstrap-3.1.1/css/bootstrap.min.css",
}

# a <script src="http..."...></script> or <link ... href="http..."...>, attributes in any order
REMOTE_TAG = re.compile(
    r"<script\b[^>]*\bsrc=\"(https?://[^\"]+)\"[^>]*>\s*</script>|<link\b[^>]*\bhref=\"(https?://[^\"]+)\"[^>]*>"
)

# graphdisplay.js: the line where the graph page reads the y-axis scale from its address, and what goes before it
GRAPH_PAGE_ANCHOR = "        if (params['y-axis-scale']) {\n"
GRAPH_PAGE_PATCH = """        // micrograd-bench (history/dashboard.py): on first showing a benchmark, its default y scale
        if (benchmark !== window.asv_default_scale_shown) {
            window.asv_default_scale_shown = benchmark;
            if (!params['y-axis-scale']) {
                log_scale = (window.asv_log_scale_benchmarks || []).indexOf(benchmark) !== -1;
                $('#log-scale').toggleClass('active', log_scale);
            }
        }
"""


# flot's orderBars plugin (vendor/asv-www/flot-orderbars-1.0.0) converts a bar's 2-pixel border into x units from
# the span of the first and last x value. On a categories axis (x-axis=backend: "'micrograd'", "'torch'", ...) those
# are strings, the span is NaN, and with two or more series every bar is shifted to NaN: empty axes. Where the span
# is not a number, the axis holds one unit per category, so the span is their count.
ORDER_BARS_FILE = "flot-orderbars-1.0.0/jquery.flot.orderBars.js"
ORDER_BARS_ANCHOR = "            var AxeSize = minMaxValues[1] - minMaxValues[0];\n"
ORDER_BARS_PATCH = """            if (!isFinite(AxeSize)) {  // micrograd-bench (history/dashboard.py): a categories axis
                var categories = {};
                $.each(plot.getData(), function(i, serie) {
                    $.each(serie.data, function(j, point) { categories[point[isHorizontal ? 1 : 0]] = true; });
                });
                AxeSize = Math.max(Object.keys(categories).length, 1);
            }
"""
# asv.js prints bytes with a bare SI prefix ("157.528k") and small counts with no unit at all
BYTES_PATCHES = {
    "        ['k', 'kilobytes', 1000],\n": "        ['kB', 'kilobytes', 1000],\n",
    "        ['M', 'megabytes', 1000000],\n": "        ['MB', 'megabytes', 1000000],\n",
    "        ['G', 'gigabytes', 1000000000],\n": "        ['GB', 'gigabytes', 1000000000],\n",
    "        if (i == 0) {\n            return x + '';\n": "        if (i == 0) {\n            return x + ' B';\n",
}


class DashboardError(Exception):
    """The published site cannot be made offline (an unknown CDN address, an unexpected asv page)."""


def write_atomically(path: Path, text: str) -> None:
    """Write text to a temporary file beside path, then rename it over path."""
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False, encoding="utf-8") as tmp:
        tmp.write(text)
    os.replace(tmp.name, path)


def local_tag(match: re.Match[str]) -> str:
    """The same <script>/<link> pointing at the vendored copy (without integrity/crossorigin, which name the CDN file)."""
    url = match.group(1) or match.group(2)
    vendored = next((path for suffix, path in VENDORED.items() if url.endswith(suffix)), None)
    if vendored is None:
        raise DashboardError(
            f"asv's page loads {url}, which vendor/asv-www/ has no copy of: add it there and to VENDORED in "
            f"comparisons/history/dashboard.py (asv 0.6.6 is the version these copies match)"
        )
    if match.group(1):
        onerror = ' onerror="js_load_failure()"' if "onerror=" in match.group(0) else ""
        return f'<script src="{SITE_VENDOR}/{vendored}"{onerror}></script>'
    return f'<link rel="stylesheet" href="{SITE_VENDOR}/{vendored}">'


def localize_page(html: str) -> str:
    """The page with every remote script and stylesheet replaced by its vendored copy, and the log-scale list loaded."""
    html = REMOTE_TAG.sub(local_tag, html)
    if "graphdisplay.js" in html and LOG_SCALE_FILE not in html:
        html = html.replace("</head>", f'    <script src="{LOG_SCALE_FILE}"></script>\n  </head>', 1)
    return html


def graph_values(graph: object) -> Iterator[float]:
    """The numbers in one of asv's graphs/*.json files: [[revision, value or [values]], ...], nulls left out."""
    if not isinstance(graph, list):
        return
    for point in graph:
        if not isinstance(point, list) or len(point) != 2:
            continue
        values = point[1] if isinstance(point[1], list) else [point[1]]
        yield from (float(value) for value in values if isinstance(value, int | float) and math.isfinite(value))


def log_scale_benchmarks(html_dir: Path) -> list[str]:
    """Benchmarks whose recorded values are all positive and span LOG_SCALE_SPAN or more (max/min)."""
    values: dict[str, list[float]] = {}
    for path in (html_dir / "graphs").rglob("*.json"):
        if "summary" in path.relative_to(html_dir / "graphs").parts:
            continue
        values.setdefault(path.stem, []).extend(graph_values(json.loads(path.read_text())))
    return sorted(
        name for name, numbers in values.items() if numbers and min(numbers) > 0 and max(numbers) / min(numbers) >= LOG_SCALE_SPAN
    )


def copy_vendored(html_dir: Path) -> None:
    """Copy vendor/asv-www/ into the site as vendor/ (built beside it, then swapped in)."""
    target = html_dir / SITE_VENDOR
    staging = Path(tempfile.mkdtemp(dir=html_dir, prefix=f".{SITE_VENDOR}."))
    shutil.copytree(VENDOR_DIR, staging, dirs_exist_ok=True)
    if target.exists():
        old = Path(tempfile.mkdtemp(dir=html_dir, prefix=f".{SITE_VENDOR}.old."))
        os.replace(target, old / SITE_VENDOR)
        os.replace(staging, target)
        shutil.rmtree(old)
    else:
        os.replace(staging, target)


def make_offline(html_dir: Path) -> list[str]:
    """Rewrite the published site in html_dir to load only local files; the benchmarks that open on a log scale."""
    if not (html_dir / "index.html").is_file():
        raise DashboardError(f"{html_dir} has no index.html: run `asv publish` first (make asv-publish)")
    copy_vendored(html_dir)
    for page in sorted(html_dir.glob("*.html")):
        write_atomically(page, localize_page(page.read_text(encoding="utf-8")))
    graph_page = html_dir / "graphdisplay.js"
    script = graph_page.read_text(encoding="utf-8")
    if GRAPH_PAGE_PATCH not in script:
        if script.count(GRAPH_PAGE_ANCHOR) != 1:
            raise DashboardError(
                f"{graph_page} is not asv 0.6.6's: it does not read 'y-axis-scale' where expected, so the log-scale "
                "default cannot be added (see GRAPH_PAGE_ANCHOR in comparisons/history/dashboard.py)"
            )
        write_atomically(graph_page, script.replace(GRAPH_PAGE_ANCHOR, GRAPH_PAGE_PATCH + GRAPH_PAGE_ANCHOR))
    patch_file(html_dir / SITE_VENDOR / ORDER_BARS_FILE, {ORDER_BARS_ANCHOR: ORDER_BARS_ANCHOR + ORDER_BARS_PATCH}, "orderBars")
    patch_file(html_dir / "asv.js", BYTES_PATCHES, "units of bytes")
    label_units(html_dir)
    log_scale = log_scale_benchmarks(html_dir)
    write_atomically(html_dir / LOG_SCALE_FILE, f"window.asv_log_scale_benchmarks = {json.dumps(log_scale, indent=1)};\n")
    return log_scale


def patch_file(path: Path, patches: dict[str, str], what: str) -> None:
    """Replace each anchor (found exactly once) by its replacement; already patched is fine, anything else an error."""
    text = path.read_text(encoding="utf-8")
    for anchor, replacement in patches.items():
        if replacement in text:
            continue  # published and patched before
        if text.count(anchor) != 1:
            raise DashboardError(f"{path} is not the file this step knows ({what}): update comparisons/history/dashboard.py")
        text = text.replace(anchor, replacement)
    write_atomically(path, text)


def timer_label(name: str, info: dict[str, object]) -> str:
    """What a benchmark's figure is: its unit, and for a timing which clock measured it (bench_support.cpu_timed marks
    its classes' asv version "cpu1-": CPU time, one thread per framework; "cpu-": CPU time, before that)."""
    method = name.rsplit(".", 1)[-1]
    unit, version = str(info.get("unit") or ""), str(info.get("version") or "")
    if method.startswith("timeraw_"):
        return "s wall clock, fresh interpreter"
    if method.startswith("time_"):
        if version.startswith("cpu1-"):
            return "s CPU time, one thread"
        return "s CPU time" if version.startswith("cpu-") else "s wall clock"
    if method.startswith("track_") and unit == "seconds":  # bench_import's track_import_cpu, timed inside the process
        return "s CPU time, fresh interpreter"
    if method.startswith(("peakmem_", "mem_")) or unit == "bytes":
        return "bytes"
    if unit.startswith("instructions"):
        return f"{unit}, counted by valgrind"
    return unit or "no unit"


def label_units(html_dir: Path) -> None:
    """Every benchmark's name on the dashboard ends with its unit and timer: "EngineGraph.time_backward [s CPU time,
    one thread]" (asv shows a benchmark's pretty_name in the list, the grid and the graph's title)."""
    index_path = html_dir / "index.json"
    index = json.loads(index_path.read_text(encoding="utf-8"))
    for name, info in index.get("benchmarks", {}).items():
        if not isinstance(info, dict):
            continue
        label = f" [{timer_label(name, info)}]"
        shown = str(info.get("pretty_name") or name.split(".", 1)[-1])
        if not shown.endswith(label):
            info["pretty_name"] = shown + label
    write_atomically(index_path, json.dumps(index))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m comparisons.history.dashboard", description=__doc__.splitlines()[0])
    parser.add_argument("html_dir", type=Path, help="the folder `asv publish` wrote (asv.conf.json's html_dir: .asv/html)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing: open every graph of the published site in headless Chromium and say what it drew "
        "(exit 1 when a graph does not draw, names no unit, fetches anything from elsewhere or raises a JavaScript error)",
    )
    args = parser.parse_args(argv)
    if args.check:
        return check(args.html_dir)
    try:
        log_scale = make_offline(args.html_dir)
    except DashboardError as exc:
        print(f"asv_dashboard: {exc}", file=sys.stderr)
        return 2
    print(f"{args.html_dir}: loads only local files now; {len(log_scale)} benchmark(s) open on a log scale")
    return 0


def check(html_dir: Path) -> int:
    """`--check`: the browser's account of every graph (comparisons/history/browse.py); 0 all drew, 1 not, 2 no check."""
    from comparisons.history import browse

    try:
        site = browse.check_site(html_dir)
    except browse.BrowseError as exc:
        print(f"asv_dashboard: {exc}", file=sys.stderr)
        return 2
    print(browse.report(site))
    return 0 if site.ok else 1


if __name__ == "__main__":
    sys.exit(main())
