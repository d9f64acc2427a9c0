"""The asv suites (comparisons/history/benchmarks/), the offline dashboard and the regression gate.

`asv check` passes; one quick run of every benchmark on the working tree fails none; `asv publish` plus
comparisons.history.dashboard makes a site that a real headless Chromium renders from a local server with no request
leaving 127.0.0.1; and comparisons.history.gate fails on a deliberately slowed commit and passes on an unchanged one.
asv runs with --python=same (this interpreter, no environment to build) from a copy of asv.conf.json whose results,
html and machine file lie in a temporary folder, so nothing is written into the repository or the home folder.
"""

from __future__ import annotations

import ast
import importlib.util
import itertools
import json
import math
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from comparisons.history import browse, dashboard, gate

ROOT = Path(__file__).resolve().parents[1]
SUITES_DIR = ROOT / "comparisons" / "history" / "benchmarks"
MACHINE = "pytest"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BENCHMARK_PREFIXES = ("time_", "timeraw_", "track_", "peakmem_", "mem_")
FRAMEWORKS = ("torch", "jax", "tinygrad")  # the backends that may be missing here (but not in CI)
DELIBERATE_SKIPS = ("TrainingStep.time_step('micrograd', 'wide')",)  # bench_training.py says why
GRAPH_NAME = "bench_expression.ExpressionGradients.time_value_and_grad"


def suites() -> list[str]:
    """Every suite, "module.Class", read from the bench_*.py sources: what the dashboard must list."""
    found = []
    for path in sorted(SUITES_DIR.glob("bench_*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef) and any(
                isinstance(item, ast.FunctionDef) and item.name.startswith(BENCHMARK_PREFIXES) for item in node.body
            ):
                found.append(f"{path.stem}.{node.name}")
    return found


def asv_environment(home: Path) -> dict[str, str]:
    """os.environ with a temporary HOME (asv keeps its machine file in ~/.asv-machine.json), caches and git kept."""
    home.mkdir(exist_ok=True)
    env = dict(os.environ, HOME=str(home))
    real_home = Path.home()
    env.setdefault("XDG_CACHE_HOME", str(real_home / ".cache"))  # tinygrad's kernel cache stays warm
    if (real_home / ".gitconfig").is_file():
        env.setdefault("GIT_CONFIG_GLOBAL", str(real_home / ".gitconfig"))
    return env


def head_commit() -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


class Asv:
    """asv with a temporary config, results, html and machine file; run() returns (exit code, output)."""

    def __init__(self, tmp: Path):
        import asv.util

        config = asv.util.load_json(str(ROOT / "asv.conf.json"), js_comments=True)
        config.update(
            repo=str(ROOT),
            branches=[head_commit()],  # asv publish draws only commits on its branches; HEAD need not be on main
            benchmark_dir=str(SUITES_DIR),
            env_dir=str(tmp / "env"),
            results_dir=str(tmp / "results"),
            html_dir=str(tmp / "html"),
        )
        self.config = tmp / "asv.conf.json"
        self.config.write_text(json.dumps(config, indent=2))
        self.results, self.html = tmp / "results", tmp / "html"
        self.env = asv_environment(tmp / "home")

    def run(self, *args: str, timeout: float = 600) -> tuple[int, str]:
        done = subprocess.run(
            [sys.executable, "-m", "asv", *args, "--config", str(self.config)],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return done.returncode, done.stdout + done.stderr


@pytest.fixture(scope="module")
def asv(tmp_path_factory: pytest.TempPathFactory) -> Asv:
    return Asv(tmp_path_factory.mktemp("asv"))


@pytest.fixture(scope="module")
def quick_run(asv: Asv) -> tuple[int, str]:
    """One `asv run --quick` of every benchmark on the working tree, saved as results for HEAD."""
    head = head_commit()
    code, output = asv.run("machine", "--yes", "--machine", MACHINE)
    assert code == 0, output
    return asv.run("run", "--python=same", "--quick", "--show-stderr", "--set-commit-hash", head, "--machine", MACHINE)


@pytest.fixture(scope="module")
def published(asv: Asv, quick_run: tuple[int, str]) -> Path:
    """The quick run's dashboard, published by asv and made offline by comparisons.history.dashboard."""
    code, output = asv.run("publish", timeout=600)
    assert code == 0, output
    assert dashboard.main([str(asv.html)]) == 0
    return asv.html


def test_suites_are_found() -> None:
    assert {name.split(".")[0] for name in suites()} >= {"bench_expression", "bench_training", "bench_engine", "bench_import"}


def test_benchmark_dir_holds_only_suites() -> None:
    """asv.conf.json's benchmark_dir is comparisons/history/benchmarks, and only its bench_*.py hold what asv takes
    for benchmarks
    (read from the sources: importing the folder would import every framework, see bench_support.py)."""
    import asv.util

    config = asv.util.load_json(str(ROOT / "asv.conf.json"), js_comments=True)
    assert (ROOT / config["benchmark_dir"]).resolve() == SUITES_DIR
    asv_names = re.compile(r"^(time|timeraw|track|peakmem|mem)_|^(Time|Timeraw|Track|PeakMem|Mem)[A-Z_]")
    strays = []
    for path in sorted(SUITES_DIR.glob("*.py")):
        tree = ast.parse(path.read_text())
        names = [node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)]
        if path.stem in ("__init__", "bench_support"):
            strays += [f"{path.name}: {name}" for name in names if asv_names.match(name)]
        else:
            assert path.stem.startswith("bench_"), f"{path.name} is not a suite (bench_*.py); it belongs elsewhere"
    assert not strays, f"asv would take these for benchmarks: {strays}"


def test_project_url_is_not_another_project() -> None:
    import asv.util

    config = asv.util.load_json(str(ROOT / "asv.conf.json"), js_comments=True)
    assert "karpathy" not in config["project_url"]


def torch_build_module() -> types.ModuleType:
    """tools/torch_build.py (a script, not a package): the set-up's choice of torch build and its pip arguments."""
    spec = importlib.util.spec_from_file_location("torch_build", ROOT / "tools" / "torch_build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_plan(venv: Path, *targets: str) -> list[str]:
    """`make -n` of targets, .venv replaced by venv and its set-up taken as done: the command lines make would run."""
    if shutil.which("make") is None:
        pytest.skip("no make")
    command = ["make", "-n", "--no-print-directory", f"VENV={venv}", "-o", f"{venv}/.installed", *targets]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.splitlines()


@pytest.mark.parametrize("index_chosen", [True, False], ids=["cpu-index", "wheel-pip-offers"])
def test_asvs_pip_gets_the_set_ups_torch_build(tmp_path: Path, index_chosen: bool) -> None:
    """asv builds its environment with pip, which inherits make's environment: `make asv-record` and `make asv-check`
    run asv with PIP_CONSTRAINT set to the constraints the set-up installed with (torch===X+cpu, never PyPI's CUDA
    build) and, where tools/torch_build.py chose PyTorch's CPU index, that index as PIP_EXTRA_INDEX_URL."""
    torch_build = torch_build_module()
    version = torch_build.torch_pin((ROOT / "constraints.txt").read_text())
    constraints = tmp_path / "constraints-used.txt"
    args, _, goes_on = torch_build.choose("cpu", version, not index_chosen, None)
    assert goes_on
    (tmp_path / "pip-args-used.txt").write_text(" ".join(["-c", str(constraints), *args]) + "\n")  # as the set-up saves it
    asv_lines = [line for line in make_plan(tmp_path, "asv-record", "asv-check") if " run " in line or "history.gate" in line]
    assert len(asv_lines) == 2, asv_lines  # asv run (asv-record), the gate that records with asv run (asv-check)
    for line in asv_lines:
        assert f"PIP_CONSTRAINT={constraints} " in line, line
        assert (f"PIP_EXTRA_INDEX_URL={torch_build.CPU_INDEX} " in line) == index_chosen, line


FAKE_TOOL = """#!/bin/sh
echo "{name} $*"
exit {status}
"""


@pytest.mark.parametrize("status", [0, 1, 2])
def test_make_asv_check_exits_with_the_gates_status(tmp_path: Path, status: int) -> None:
    """GNU make exits 2 whenever a recipe fails; `make asv-check` still ends with the gate's own 0, 1 or 2 (the
    Makefile runs the gate while it reads itself). Here .venv is a folder whose python is a stand-in gate that prints
    its arguments and exits with `status`, and whose set-up is taken as done."""
    if shutil.which("make") is None:
        pytest.skip("no make")
    (tmp_path / "bin").mkdir()
    for name, code in [("python", status), ("asv", 0)]:
        (tmp_path / "bin" / name).write_text(FAKE_TOOL.format(name=f"stand-in {name}", status=code))
        (tmp_path / "bin" / name).chmod(0o755)
    (tmp_path / ".installed").write_text("cpu\n")  # newer than pyproject.toml and the rest: the set-up is done
    command = ["make", "--no-print-directory", f"VENV={tmp_path}", "ASV_MACHINE=ci", "asv-check"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == status, done.stdout + done.stderr
    # the gate ran once, with the command-line variables passed on to the make that runs it
    assert done.stderr.count("stand-in python -m comparisons.history.gate --baseline 10 --machine ci") == 1, done.stderr
    assert ("Error 2" in done.stderr) == (status == 2), done.stderr  # 1 comes through make's --question: no Error line


def test_localize_page_replaces_every_cdn_address() -> None:
    """asv's own index.html: every remote <script>/<link> becomes a vendored file that exists."""
    import asv

    page = (Path(asv.__file__).parent / "www" / "index.html").read_text()
    assert "https://cdn" in page  # what this step exists for
    local = dashboard.localize_page(page)
    assert not dashboard.REMOTE_TAG.search(local), "a remote script or stylesheet is left"
    for vendored in dashboard.VENDORED.values():
        assert f'"vendor/{vendored}"' in local, f"{vendored} is not loaded"
        assert (dashboard.VENDOR_DIR / vendored).is_file(), f"vendor/asv-www/{vendored} is missing"
    assert dashboard.LOG_SCALE_FILE in local


def test_unknown_cdn_address_is_an_error() -> None:
    with pytest.raises(dashboard.DashboardError, match=re.escape("https://cdn.example/new.js")):
        dashboard.localize_page('<head><script src="https://cdn.example/new.js"></script></head>')


def test_every_vendored_package_has_its_licence() -> None:
    packages = {path.split("/")[0] for path in dashboard.VENDORED.values()}
    for package in packages:
        licences = list((dashboard.VENDOR_DIR / package).glob("LICENSE*"))
        assert licences, f"vendor/asv-www/{package} has no licence file"


def test_log_scale_for_values_spanning_decades(tmp_path: Path) -> None:
    graphs = tmp_path / "graphs" / "machine-x"
    graphs.mkdir(parents=True)
    (graphs / "wide.json").write_text(json.dumps([[1, [1e-6, 1e-3]], [2, [2e-6, None]]]))
    (graphs / "narrow.json").write_text(json.dumps([[1, 1.0], [2, 5.0]]))
    (graphs / "with_zero.json").write_text(json.dumps([[1, [0.0, 1e-16]], [2, [0.0, 1.0]]]))
    assert dashboard.log_scale_benchmarks(tmp_path) == ["wide"]


@pytest.mark.parametrize(
    ("name", "info", "label"),
    [
        ("b.S.time_x", {"unit": "seconds", "version": "cpu1-ab"}, "s CPU time, one thread"),
        ("b.S.time_x", {"unit": "seconds", "version": "cpu-ab"}, "s CPU time"),
        ("b.S.time_x", {"unit": "seconds", "version": "12ab"}, "s wall clock"),
        ("b.S.timeraw_x", {"unit": "seconds"}, "s wall clock, fresh interpreter"),
        ("b.S.track_import_cpu", {"unit": "seconds"}, "s CPU time, fresh interpreter"),
        ("b.S.track_peak_bytes", {"unit": "bytes"}, "bytes"),
        ("b.S.peakmem_x", {"unit": "bytes"}, "bytes"),
        ("b.S.track_build", {"unit": "instructions/node"}, "instructions/node, counted by valgrind"),
        ("b.S.track_loss", {"unit": "loss"}, "loss"),
    ],
)
def test_timer_label(name: str, info: dict[str, object], label: str) -> None:
    assert dashboard.timer_label(name, info) == label


@pytest.mark.parametrize(
    ("argv", "preloaded"), [(["benchmark.py", "discover", "dir", "out"], False), (["benchmark.py", "run_server", "dir"], True)]
)
def test_the_frameworks_are_preloaded_where_benchmarks_run_not_where_asv_discovers_them(argv: list[str], preloaded: bool) -> None:
    """asv lists the suites in a process of its own (`benchmark.py discover`): importing torch, jax and tinygrad there
    cost each recording 2.6 s of CPU for nothing. Where the benchmarks run they are imported once, before the forks."""
    pytest.importorskip("torch")
    code = f"import sys; sys.argv = {argv!r}\nimport comparisons.history.benchmarks.bench_support\nprint('torch' in sys.modules)"
    env = {key: value for key, value in os.environ.items() if key != "MICROGRAD_BENCH_PRELOAD"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(preloaded)


def test_every_suite_class_states_its_units() -> None:
    """Every track_ benchmark of the suites sets its unit (asv's default, "unit", says nothing)."""
    for path in sorted(SUITES_DIR.glob("bench_*.py")):
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("track_"):
                assert f"{node.name}.unit = " in source, f"{path.name}: {node.name} has no unit"


@pytest.mark.slow
def test_asv_check(asv: Asv) -> None:
    code, output = asv.run("check", "--python=same", timeout=600)
    assert code == 0 and "No problems found" in output, output


@pytest.mark.slow
def test_quick_run_fails_no_benchmark(asv: Asv, quick_run: tuple[int, str]) -> None:
    code, output = quick_run
    result_files = [path for path in (asv.results / MACHINE).glob("*.json") if path.name != "machine.json"]
    assert len(result_files) == 1, f"expected one result file, found {result_files}\n\n{output[-20000:]}"
    results = json.loads(result_files[0].read_text())["results"]
    failed, skipped, ran = [], [], []
    for name, (values, params, *_rest) in results.items():
        for combination, value in zip(itertools.product(*params), values):
            label = f"{name}({', '.join(combination)})" if combination else name
            if value is None:
                failed.append(label)
            elif isinstance(value, float) and math.isnan(value):
                skipped.append(label)
            else:
                ran.append(label)
    assert not failed, f"failed: {failed}\n\n{output[-20000:]}"
    assert code == 0, output[-20000:]
    assert {name.rsplit(".", 1)[0] for name in results} == set(suites()), "a suite ran no benchmark"
    skipped = [label for label in skipped if not label.endswith(DELIBERATE_SKIPS)]
    # only a framework that is not installed may skip, and in CI none may (as in conftest.py)
    unexpected = [label for label in skipped if not any(f"'{framework}'" in label for framework in FRAMEWORKS)]
    assert not unexpected, f"skipped: {unexpected}\n\n{output[-20000:]}"
    if IN_CI:
        assert not skipped, f"skipped in CI: {skipped}\n\n{output[-20000:]}"
    assert ran


@pytest.mark.slow
def test_publish_lists_every_suite(published: Path) -> None:
    index = json.loads((published / "index.json").read_text())
    listed = {name.rsplit(".", 1)[0] for name in index["benchmarks"]}
    missing = set(suites()) - listed
    assert not missing, f"the dashboard does not list {sorted(missing)}; it lists {sorted(listed)}"
    page = (published / "index.html").read_text()
    assert not dashboard.REMOTE_TAG.search(page), "the published page still loads a remote script or stylesheet"


def needs_chromium() -> None:
    if not browse.CHROMIUM.is_file():
        pytest.skip(f"no {browse.CHROMIUM}: `make setup` installs Debian's chromium (apt-get install chromium)")


@pytest.mark.slow
def test_dashboard_renders_offline_in_chromium(published: Path) -> None:
    """Every graph draws in a real browser, by its own address as a bookmark would open it, with its unit; each
    benchmark with a parameter draws against it; the grid lists them all; nothing is fetched from elsewhere."""
    needs_chromium()
    site = browse.check_site(published)
    assert site.ok, browse.report(site)
    listed = set(json.loads((published / "index.json").read_text())["benchmarks"])
    assert {graph.benchmark for graph in site.graphs} == listed
    graph = next(graph for graph in site.graphs if graph.benchmark == GRAPH_NAME)
    assert graph.points >= 4, f"the graph has {graph.points} data points; one commit of 4 backends x 2 cases draws 8"
    assert graph.title.endswith("[s CPU time, one thread]"), graph.title  # the dashboard says which clock timed it
    assert (graph.x_axis, graph.series_kind) == ("backend", "bar") and graph.drawn_series >= 2, graph
    assert graph.log_axis, "time_value_and_grad spans decades (micrograd's 10 us to tinygrad's 100 ms) but opened linear"
    assert not site.remote_requests and not site.page_errors


@pytest.mark.slow
def test_dashboard_check_names_what_does_not_draw(published: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`dashboard --check` on a broken copy of the site: one graph's data gone, one name without its unit, a script
    from elsewhere and a script that throws; each is named, the rest drew, and it exits 1."""
    needs_chromium()
    site = tmp_path / "site"
    shutil.copytree(published, site)
    index = json.loads((site / "index.json").read_text())
    unlabelled = "bench_engine.EngineMemory.track_peak_bytes"
    index["benchmarks"][unlabelled]["pretty_name"] = "EngineMemory.track_peak_bytes"
    (site / "index.json").write_text(json.dumps(index))
    emptied = "bench_engine.EngineGraph.time_build"
    removed = list((site / "graphs").rglob(f"{emptied}.json"))
    assert removed
    for path in removed:
        path.unlink()
    page = (site / "index.html").read_text()
    hostile = '<script src="https://cdn.example.org/x.js"></script><script>throw new Error("planted")</script>'
    (site / "index.html").write_text(page.replace("</head>", hostile + "</head>", 1))

    assert dashboard.main(["--check", str(site)]) == 1
    lines = capsys.readouterr().out.splitlines()
    failed = {line.split(" [")[0].split(":")[0]: line for line in lines if "FAILED" in line}
    assert set(failed) == {"EngineGraph.time_build", "EngineMemory.track_peak_bytes"}, lines
    assert "the graph drew no point (asv: No data for this combination of filters.)" in failed["EngineGraph.time_build"]
    assert "names no unit" in failed["EngineMemory.track_peak_bytes"]
    assert f"{len(index['benchmarks']) - 2} of {len(index['benchmarks'])} graphs drew" in lines
    assert "requests outside the local server: 1 (https://cdn.example.org/x.js)" in lines
    errors = next(line for line in lines if line.startswith("JavaScript errors: "))
    assert "planted" in errors and not errors.startswith("JavaScript errors: 0"), errors


def test_dashboard_check_refuses_what_is_not_a_site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert dashboard.main(["--check", str(tmp_path)]) == 2
    message = capsys.readouterr().err
    assert message.count("\n") == 1 and "has no index.json: run `asv publish`" in message, message
    (tmp_path / "index.json").write_text("{}")
    with pytest.raises(browse.BrowseError, match=r"make setup. installs Debian's chromium"):
        browse.check_site(tmp_path, chromium=tmp_path / "no-chromium")


# ------------------------------------------------------------------ the regression gate


TIME, TRACK, BYTES, COUNT = "bench_x.Suite.time_a", "bench_x.Suite.track_err", "bench_x.Suite.track_bytes", "bench_x.C.track_n"
THRESHOLDS = {r"bench_x\.Suite\.time_": 1.0, r"bench_x\.Suite\.track_bytes": 0.1, r"bench_x\.C\.": 0.04}
Given = dict[str, tuple[float | None, ...]]  # benchmark name -> (value, lower quartile, upper quartile)


@pytest.mark.parametrize(
    ("base", "head", "baseline", "missing", "worse"),
    [
        ({TIME: (1.0, 0.9, 1.1)}, {TIME: (1.4, 1.3, 1.5)}, {}, 0, 0),  # within 2x
        ({TIME: (1.0, 0.9, 1.1)}, {TIME: (2.5, 2.4, 2.6)}, {}, 0, 1),  # 2.2x quartile to quartile
        ({TIME: (1.0, 0.5, 1.5)}, {TIME: (2.5, 2.0, 4.0)}, {}, 0, 0),  # 2.5x medians, but the spreads say noise
        ({TIME: (2.0, 1.9, 2.1)}, {TIME: (0.1, 0.1, 0.1)}, {}, 0, 0),  # faster is fine
        ({TRACK: (1e-16, None, None)}, {TRACK: (2e-16, None, None)}, {}, 0, 1),  # any change
        ({TRACK: (0.0, None, None)}, {TRACK: (0.0, None, None)}, {}, 0, 0),
        ({BYTES: (100.0, None, None)}, {BYTES: (109.0, None, None)}, {}, 0, 0),  # bytes: a ratio, 10 % allowed
        ({BYTES: (100.0, None, None)}, {BYTES: (111.0, None, None)}, {}, 0, 1),
        ({COUNT: (100.0, None, None)}, {COUNT: (103.0, None, None)}, {COUNT: 100.0}, 0, 0),  # 3 %: under 4 %
        ({COUNT: (103.0, None, None)}, {COUNT: (106.0, None, None)}, {COUNT: 100.0}, 0, 1),  # 6 % over the baseline
        ({COUNT: (100.0, None, None)}, {COUNT: (105.0, None, None)}, {COUNT: 100.0}, 0, 2),  # over both
        ({COUNT: (100.0, None, None)}, {COUNT: (105.0, None, None)}, {}, 0, 1),  # no baseline recorded: the parent
        ({TIME: (1.0, 0.9, 1.1)}, {}, {}, 1, 0),  # not recorded at HEAD
        ({TIME: (1.0, 0.9, 1.1)}, {TIME: (None, None, None)}, {}, 1, 0),  # failed at HEAD
        ({TIME: (1.0, 0.9, 1.1)}, {TIME: (math.nan, None, None)}, {}, 1, 0),  # skipped at HEAD only
        ({TIME: (math.nan, None, None)}, {TIME: (math.nan, None, None)}, {}, 0, 0),  # skipped on both
    ],
)
def test_gate_compare(base: Given, head: Given, baseline: dict[str, float], missing: int, worse: int) -> None:
    units = {BYTES: "bytes", TRACK: "relative error", COUNT: "instructions/node"}
    base_results = {(name, ()): gate.Measured(*values) for name, values in base.items()}
    head_results = {(name, ()): gate.Measured(*values) for name, values in head.items()}
    baseline_values = {(name, ()): value for name, value in baseline.items()}
    found_missing, found_worse = gate.compare(base_results, head_results, units, THRESHOLDS, None, baseline_values)
    assert (len(found_missing), len(found_worse)) == (missing, worse), (found_missing, found_worse)


def test_thresholds_follow_asvs_rule() -> None:
    """The largest matching threshold wins, matched from the start of "name(params)"; none matching: asv's 5 %."""
    thresholds = {r"bench_a\.": 0.02, r"bench_a\.S\.time_.*'torch'": 0.5, r"S\.": 0.9}
    assert gate.threshold_for(thresholds, "bench_a.S.time_x", ("'torch'", "'neuron'")) == 0.5
    assert gate.threshold_for(thresholds, "bench_a.S.time_x", ("'jax'", "'neuron'")) == 0.02
    assert gate.threshold_for(thresholds, "bench_b.S.time_x", ()) == gate.DEFAULT_THRESHOLD  # re.match: not "S\."


def test_every_benchmark_of_the_suites_has_a_threshold() -> None:
    """asv.conf.json sets a threshold for every suite that is compared as a ratio (none falls back on asv's 5 %)."""
    import asv.util

    thresholds = gate.thresholds_of(asv.util.load_json(str(ROOT / "asv.conf.json"), js_comments=True))
    for suite in suites():
        module, cls = suite.split(".")
        source = (SUITES_DIR / f"{module}.py").read_text()
        tree = next(node for node in ast.parse(source).body if isinstance(node, ast.ClassDef) and node.name == cls)
        for item in tree.body:
            if isinstance(item, ast.FunctionDef) and item.name.startswith(("time_", "timeraw_", "peakmem_")):
                name = f"{suite}.{item.name}"
                assert any(re.match(regex, name) for regex in thresholds), f"{name} has no regressions_threshold"
    assert gate.threshold_for(thresholds, "bench_counts.EngineCounts.track_backward", ()) <= 0.05


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


# The clone's commits change micrograd's own code by a known number of instructions; the figures the counted suites
# record for them are checked against these sizes before the gate's verdict is (so the test cannot pass by accident).
COUNTED = r"bench_counts\.(EngineCounts\.track_backward|TrainingCounts\.track_demo_step)"
BACKWARD = "bench_counts.EngineCounts.track_backward"
DEMO_STEP = "bench_counts.TrainingCounts.track_demo_step"
BACKWARD_LINE = "            a, g = node._a, node.grad\n"  # micrograd/engine.py: Value.backward's loop over the nodes
STEP_LINE = "        spec = self.spec\n"  # backends/micrograd_backend.py: the start of a training step
THREE_PERCENT = "            _ = g * 1.0\n"  # a float product per node: backward about 3.4 % slower
FIVE_PERCENT = "            _ = g * 1.0\n            _ = a\n            _ = g\n"  # about 5.3 % slower
TEN_PERCENT = "        for _ in range(64_000):\n            pass\n"  # a loop in each step: the demo step about 10 % slower


def commit(repo: Path, message: str, path: str = "", find: str = "", add: str = "") -> str:
    """Commit repo after inserting `add` after `find` in path (or appending a comment line where find is empty)."""
    if path:
        target = repo / path
        text = target.read_text()
        if find:
            assert text.count(find) == 1, f"{path} no longer has exactly one {find!r}: update this test"
            text = text.replace(find, find + add)
        else:
            text += add
        target.write_text(text)
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=test", "-c", "user.email=test@localhost", "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def gate_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A copy of the working tree as a fresh repository: on main a base and two comment-only commits; from there,
    branches that slow backward() by 5 %, the demo step by 10 %, and backward by 3 % three times in a row."""
    repo = tmp_path_factory.mktemp("gate") / "repo"
    files = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z").split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    git(repo, "init", "-q", "-b", "main")  # asv.conf.json names the branch main
    engine, step = "micrograd/engine.py", "backends/micrograd_backend.py"
    commits = {"base": commit(repo, "base")}
    commits["comment1"] = commit(repo, "a comment", engine, add="# the same engine\n")
    commits["comment2"] = commit(repo, "another comment", step, add="# the same adapter\n")
    for branch, steps in [
        ("backward5", [FIVE_PERCENT]),
        ("step10", [TEN_PERCENT]),
        ("creep", [THREE_PERCENT] * 3),
    ]:
        git(repo, "switch", "-q", "-c", branch, commits["comment2"])
        for number, addition in enumerate(steps, 1):
            path = step if addition is TEN_PERCENT else engine
            commits[f"{branch}-{number}"] = commit(
                repo, f"{branch} {number}", path, BACKWARD_LINE if path == engine else STEP_LINE, addition
            )
    git(repo, "switch", "-q", "main")
    return repo, commits


def run_gate(repo: Path, base: str, head: str, machine: str = MACHINE) -> tuple[int, str]:
    env = dict(asv_environment(repo.parent / "home"), MICROGRAD_BENCH_PRELOAD="0")  # only counted suites: no framework
    subprocess.run([sys.executable, "-m", "asv", "machine", "--yes", "--machine", machine], cwd=repo, env=env, check=True)
    done = subprocess.run(
        [sys.executable, "-m", "comparisons.history.gate", "--python-same", "--machine", machine, "--bench", COUNTED]
        + ["--base", base, "--head", head],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done.returncode, done.stdout + done.stderr


def growth(repo: Path, name: str, before: str, after: str, machine: str = MACHINE) -> float:
    """The relative growth of a counted figure between two recorded commits, read from asv's results files."""
    results = repo / ".asv" / "results" / machine
    first, second = (gate.results_of(results.parent, machine, commit)[(name, ())].value for commit in (before, after))
    assert first and second, (first, second)
    return second / first - 1


@pytest.mark.slow
@pytest.mark.parametrize("machine", [MACHINE, "pytest-again"])
def test_gate_passes_comment_only_commits(gate_repo: tuple[Path, dict[str, str]], machine: str) -> None:
    """Each comment-only commit passes, checked twice: recorded on two machine names, so each check records anew."""
    repo, commits = gate_repo
    for base, head in [("base", "comment1"), ("comment1", "comment2")]:
        code, output = run_gate(repo, commits[base], commits[head], machine)
        assert code == 0, output[-5000:]
        assert "passes" in output
        for name in (BACKWARD, DEMO_STEP):  # within the 0.5 % (a comment moves no count: exactly 0 here)
            assert abs(growth(repo, name, commits[base], commits[head], machine)) < 0.005, name


@pytest.mark.slow
def test_recordings_of_one_commit_agree(gate_repo: tuple[Path, dict[str, str]]) -> None:
    """The two machines' recordings of the same commits agree to the instruction (the issue asks 0.5 %; the counted
    interpreter allocates the same bytes in every recording: bench_support.fixed_length_path). The test above records them;
    whatever it has not recorded yet (tests run in any order) is recorded here, by the same gate runs."""
    repo, commits = gate_repo
    results = repo / ".asv" / "results"
    for machine in (MACHINE, "pytest-again"):
        for base, head in [("base", "comment1"), ("comment1", "comment2")]:
            if not all(gate.results_of(results, machine, commits[label]) for label in (base, head)):
                code, output = run_gate(repo, commits[base], commits[head], machine)
                assert code == 0, output[-5000:]
    for label in ("base", "comment1", "comment2"):
        first, second = (gate.results_of(results, machine, commits[label]) for machine in (MACHINE, "pytest-again"))
        assert first and second, label
        for key in (k for k in first if k[0] in (BACKWARD, DEMO_STEP)):
            a, b = first[key].value, second[key].value
            assert a and a == b, (label, key, a, b)


@pytest.mark.slow
def test_a_count_does_not_depend_on_where_the_project_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same files reached through a short folder name and a 40-letter one count the same adapter call to the
    instruction (before the counted interpreter reached them through links of one length, with a bytecode cache of
    its own: 109,163 and 109,903 instructions, 0.68 % apart, as asv's checkouts of one commit can be)."""
    from comparisons.history.benchmarks import bench_counts, bench_support

    roots = [tmp_path / "a", tmp_path / ("b" * 40)]
    for root in roots:
        for package in ("micrograd", "backends", "comparisons"):
            shutil.copytree(ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    counts = []
    for root in roots:
        monkeypatch.setattr(bench_support, "project_root", lambda root=root: str(root))
        assert bench_support.count_environment()["PYTHONPATH"].startswith(bench_support.COUNT_LINKS)
        counts.append(bench_counts.AdapterCounts().track_call("micrograd"))
    assert counts[0] == counts[1] and counts[0] > 10_000, counts


@pytest.mark.slow
def test_gate_fails_a_5_percent_slower_backward(gate_repo: tuple[Path, dict[str, str]]) -> None:
    repo, commits = gate_repo
    code, output = run_gate(repo, commits["comment2"], commits["backward5-1"])
    assert 0.045 < growth(repo, BACKWARD, commits["comment2"], commits["backward5-1"]) < 0.065  # the slowdown is 5 %
    assert code == gate.EXIT_REGRESSION, output[-5000:]
    assert re.search(rf"WORSE .*{re.escape(BACKWARD)}: \+[45]\.\d% against the parent", output), output[-5000:]
    assert "threshold 4.0%" in output and DEMO_STEP not in output.split("WORSE", 1)[1]


@pytest.mark.slow
def test_gate_fails_a_10_percent_slower_demo_step(gate_repo: tuple[Path, dict[str, str]]) -> None:
    repo, commits = gate_repo
    code, output = run_gate(repo, commits["comment2"], commits["step10-1"])
    assert 0.08 < growth(repo, DEMO_STEP, commits["comment2"], commits["step10-1"]) < 0.12  # the slowdown is 10 %
    assert code == gate.EXIT_REGRESSION, output[-5000:]
    assert re.search(rf"WORSE .*{re.escape(DEMO_STEP)}: \+\d+\.\d% against the parent", output), output[-5000:]


@pytest.mark.slow
def test_gate_fails_three_3_percent_steps_against_the_baseline(gate_repo: tuple[Path, dict[str, str]]) -> None:
    """Each step alone is under the 4 % threshold against its parent; the second and third fail against the baseline
    (the median of the recorded commits before them), which a parent-only gate would never see."""
    repo, commits = gate_repo
    chain = ["comment2", "creep-1", "creep-2", "creep-3"]
    verdicts = []
    for before, after in itertools.pairwise(chain):
        code, output = run_gate(repo, commits[before], commits[after])
        assert 0.025 < growth(repo, BACKWARD, commits[before], commits[after]) < 0.04  # each step is about 3 %
        assert "against the parent" not in output, output[-5000:]
        verdicts.append((code, "against the baseline" in output))
    assert verdicts == [(0, False), (gate.EXIT_REGRESSION, True), (gate.EXIT_REGRESSION, True)]


@pytest.mark.slow
def test_gate_without_results_is_an_error(gate_repo: tuple[Path, dict[str, str]]) -> None:
    """A commit that cannot be recorded (here: not a commit at all) is exit 2 with one line, not a pass."""
    repo, _ = gate_repo
    code, output = run_gate(repo, "no-such-revision", "HEAD")
    assert code == gate.EXIT_ERROR
    assert "gate: git rev-parse" in output and "Traceback" not in output


def test_results_of_reads_asvs_files(tmp_path: Path) -> None:
    """asv 0.6 stores one value per parameter combination, and [value] for a benchmark without parameters."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    columns = ["result", "params", "version", "stats_q_25", "stats_q_75"]
    rows = {
        "b.S.track_n": [[4200.5], [], "v", None, None],
        "b.S.time_x": [[1.0, None, math.nan], [["'a'", "'b'", "'c'"]], "v", [0.9, None, None], [1.1, None, None]],
    }
    (tmp_path / "m").mkdir()
    saved = {"commit_hash": commit, "result_columns": columns, "results": rows}
    (tmp_path / "m" / f"{commit[:8]}-env.json").write_text(json.dumps(saved))
    found = gate.results_of(tmp_path, "m", commit)
    assert found[("b.S.track_n", ())] == gate.Measured(4200.5, None, None)
    assert found[("b.S.time_x", ("'a'",))] == gate.Measured(1.0, 0.9, 1.1)
    assert found[("b.S.time_x", ("'b'",))].value is None and math.isnan(found[("b.S.time_x", ("'c'",))].value or 0.0)
