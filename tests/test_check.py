"""`python -m comparisons check` on a corpus of learner engines (tests/engines/, one bug each): every bug is caught
by the probe made for it, with its diagnosis and the line of the op; correct engines in other styles pass; the
original micrograd 0.1.0 passes with its limits as information; an engine that loops at import, hangs in an op or
kills its process is stopped and reported; the pytest plugin turns each probe into a test.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from comparisons.check.grade import Report, check
from comparisons.check.probes import PROBES

ROOT = Path(__file__).resolve().parents[1]
ENGINES = Path(__file__).with_name("engines")
ORIGINAL = ENGINES / "micrograd_0_1_0" / "micrograd" / "engine.py"
RANDOM = 5  # random expressions per check: enough to exercise the path, cheap
SHALLOW = (100, 1_000)  # deep-chain depths where the depth is not what a test is about


@dataclass(frozen=True)
class Bug:
    """An engine in tests/engines with one bug, a probe that must name it, the words its diagnosis must hold, the text
    of the line its `where` must point at (in `file`, the engine's own file unless named), and every probe that fails
    (catalog, random expressions and network aside; None: not listed)."""

    engine: str
    probe: str
    words: str
    line: str
    failing: frozenset[str] | None = None
    file: str = ""


def g(x: float) -> str:
    """A number as the diagnoses print it."""
    return f"{x:.6g}"


T5, T13 = math.tanh(0.5), math.tanh(-1.3)
SIG5 = 1 / (1 + math.exp(-0.5))
ASSIGNED = "`self.grad = ...`); write `self.grad += ...`: "
BUGS = [
    Bug("assign_not_accumulate.py", "x*x", "x*x gave d/dx = 3, half of 2x", "self.grad = other.data * out.grad",
        frozenset({"x*x", "a = x+1; a*a", "diamond", "sum([x, y, x])", "(-x)*x"})),
    Bug("assign_not_accumulate.py", "a = x+1; a*a", "a = x+1 is used twice in a*a but got half its gradient",
        "self.grad = other.data * out.grad"),
    Bug("assign_not_accumulate.py", "(-x)*x", "overwrites x's gradient", "self.grad = other.data * out.grad"),
    Bug("topo_every_visit.py", "diamond", "x got 4, more than 3: a = x+1 is reached through both b and c", "def backward",
        frozenset({"a = x+1; a*a", "diamond"})),
    Bug("topo_every_visit.py", "a = x+1; a*a", "x got 12, more than 2(x+1) = 6", "def backward"),
    Bug("radd_recursion.py", "sum([x, y, x])", "__radd__ never returns", "return other + self",
        frozenset({"sum([x, y, x])", "2-x"})),
    Bug("rmul_as_sub.py", "2*x", "__rmul__ computes other + (-self), that is 2 - x", "def __rmul__", frozenset({"2*x", "1/x"})),
    Bug("rsub_sign.py", "2-x", "__rsub__ computes self - other, that is x - 2", "def __rsub__", frozenset({"2-x"})),
    Bug("rdiv_swapped.py", "1/x", "__rtruediv__ computes self / other, that is x / 1", "def __rtruediv__", frozenset({"1/x"})),
    Bug("numbers_not_wrapped.py", "x+1", "x + 1 failed: numbers are not wrapped", "Value(self.data + other.data",
        frozenset({"x+1", "2*x", "2-x", "1/x", "sum([x, y, x])", "x-y", "(-x)*x"})),
    Bug("closure_on_self.py", "(x+1)**2", "__pow__ stores its backward closure on its input", "def __pow__",
        frozenset({"(x+1)**2", "exp(x) + x**2"})),
    Bug("closure_on_self.py", "exp(x) + x**2", "only one of exp(x) and x**2 sent its gradient to x", "def exp"),
    Bug("pow_derivative.py", "x**3", "came out as n*(x**n - 1)", "def __pow__",
        frozenset({"x**3", "(x+1)**2", "exp(x) + x**2", "1/x"})),
    Bug("pow_exponent_child.py", "x**3",
        "__pow__ stores the exponent other, a number, among the children: `out = Value(self.data**other, (self, other)",
        "out = Value(self.data**other, (self, other)", frozenset({"x**3", "(x+1)**2", "exp(x) + x**2", "1/x"})),
    Bug("sub_fresh_leaf.py", "x-y", "y got no gradient", "def __sub__", frozenset({"x-y"})),
    Bug("root_not_seeded.py", "root grad seeded", "never sets the root's gradient to 1", "def backward"),
    Bug("backward_shadowed.py", "root grad seeded", "ran an instance attribute, not your method", "def backward"),
    Bug("children_renamed.py", "root grad seeded", "backward reads the children as ._prev (line {for child in v._prev:}) "
        "but __init__ stores them as .prev (line {self.prev = set(_children)}): use one name in both places",
        "for child in v._prev:"),
    Bug("eq_without_hash.py", "diamond", "__eq__ without __hash__", "def __eq__"),
    Bug("hash_by_data.py", "diamond", "nodes that hold the same number count as one", "def backward",
        frozenset({"diamond", "sum([x, y, x])", "1/x"})),
    Bug("tanh_square_missing.py", "tanh(x) at 0.5", f"d tanh(x)/dx at x = 0.5 came out as 1 - tanh(x) = {g(1 - T5)}: "
        "the square is missing", "def tanh", frozenset({"tanh(x) at 0.5", "tanh(x) at -1.3", "tanh(x)*x"})),
    Bug("tanh_square_missing.py", "tanh(x) at -1.3", f"d tanh(x)/dx at x = -1.3 came out as 1 - tanh(x) = {g(1 - T13)}",
        "def tanh"),
    Bug("tanh_through_exp.py", "tanh(x) at 400", "overflows above x = 354", "e = math.exp(2 * self.data)",
        frozenset({"tanh(x) at 400"})),
    Bug("node_class.py:Node", "relu(x)*y at -1", "relu(-1) returned -1, a negative x", "def relu",
        frozenset({"relu(x)*y at -1"})),
    Bug("notebook_leftovers.py", "relu(x)*y at -1", "relu passed the gradient through at x = -1 < 0", "def relu",
        frozenset({"relu(x)*y at -1", "2-x"})),
    Bug("relu_drops_upstream.py", "relu(x)*y at 2", "relu's backward drops the gradient arriving from above (d/dx is 1 at "
        "x = 2, should be 3)", "def relu", frozenset({"relu(x)*y at 2", "relu(x)*x"})),
    Bug("tanh_assign.py", "tanh(x)*x", f"tanh(x)*x gave d/dx = {g(0.5 * (1 - T5 * T5))}, without the {g(T5)} that x gets "
        f"from the product: tanh's backward overwrites x's gradient ({ASSIGNED}`self.grad = (1 - t**2) * out.grad` in tanh",
        "self.grad = (1 - t**2) * out.grad", frozenset({"tanh(x)*x"})),
    Bug("exp_assign.py", "exp(x)*x", f"exp(x)*x gave d/dx = {g(0.5 * math.exp(0.5))}, without the {g(math.exp(0.5))}",
        "self.grad = out.data * out.grad", frozenset({"exp(x)*x", "exp(x) + x**2"})),
    Bug("exp_assign.py", "exp(x) + x**2", "or one op's backward sets x's gradient with `self.grad = ...` where `+=` belongs: "
        "`self.grad = out.data * out.grad` in exp", "self.grad = out.data * out.grad"),
    Bug("sigmoid_assign.py", "sigmoid(x)*x", f"sigmoid(x)*x gave d/dx = {g(0.5 * SIG5 * (1 - SIG5))}, without the "
        f"{g(SIG5)}", "self.grad = s * (1 - s) * out.grad", frozenset({"sigmoid(x)*x"})),
    Bug("relu_assign.py", "relu(x)*x", "relu(x)*x gave d/dx = 0.5, without the 0.5", "self.grad = (out.data > 0) * out.grad",
        frozenset({"relu(x)*x"})),
    Bug("log_assign.py", "log(x)*x", f"log(x)*x gave d/dx = 1, without the {g(math.log(0.5))}",
        "self.grad = (1 / self.data) * out.grad", frozenset({"log(x)*x"})),
    Bug("neg_assign.py", "(-x)*x", "(-x)*x gave d/dx = -0.5, without the -0.5 that x gets from the product: __neg__'s "
        "backward overwrites", "self.grad = -out.grad", frozenset({"(-x)*x"})),
    Bug("sigmoid_overflow.py", "sigmoid(x) at -800", "sigmoid(-800) raised OverflowError", "s = 1 / (1 + math.exp(-x))",
        frozenset({"sigmoid(x) at -800"})),
    Bug("exp_clipped.py", "exp(x) at 800", f"exp(800) gave {g(math.exp(700))}, a finite number", "def exp",
        frozenset({"exp(x) at 800"})),
]  # fmt: skip
ASIDE = ("catalog: ", "random", "nn: ")


def expected_words(bug: Bug) -> str:
    """The words with each {line text} replaced by the number of that line in the engine."""
    path = ENGINES / bug.engine.partition(":")[0]
    return re.sub(r"\{([^}]*)\}", lambda m: str(line_of(path, m.group(1))), bug.words)


@cache
def graded(target: str, depths: tuple[int, ...] = SHALLOW) -> Report:
    path, _, class_name = target.partition(":")
    return check(path, class_name, random_count=RANDOM, depths=depths)


def by_probe(report: Report) -> dict[str, dict]:
    return {r["probe"]: r for r in report.records}


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "comparisons", "check", *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout
    )


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.mark.parametrize("bug", BUGS, ids=lambda bug: f"{bug.engine}-{bug.probe}")
def test_each_bug_is_diagnosed_by_its_probe_at_its_line(bug: Bug) -> None:
    path = bug.engine.partition(":")[0]
    report = graded(str(ENGINES / bug.engine))
    record = by_probe(report)[bug.probe]
    assert record["status"] == "fail", record
    assert expected_words(bug) in record["diagnosis"], record
    source = ENGINES / (bug.file or path)
    assert record["where"].endswith(f"{source.name}:{line_of(source, bug.line)}"), record
    if bug.failing is not None:
        failed = {r["probe"] for r in report.records if r["status"] == "fail" and not r["probe"].startswith(ASIDE)}
        assert failed == bug.failing


def test_every_probe_has_an_engine_whose_bug_it_names() -> None:
    """Each probe's diagnosis is asserted on some engine, in words only that probe gives (its x, its op), so two
    probes' diagnoses swapped in probes.py fail a test (the two tanh probes' swapped: both tanh_square_missing rows
    fail; the relu probes': node_class, notebook_leftovers and relu_drops_upstream fail)."""
    covered = {bug.probe for bug in BUGS}
    assert {p.name for p in PROBES} | {"root grad seeded"} <= covered, {p.name for p in PROBES} - covered
    words = [(bug.probe, expected_words(bug)) for bug in BUGS]
    for probe, text in words:  # no other probe's diagnosis is asserted with the same words
        assert all(text != other or probe == name for name, other in words)


def test_all_zero_gradients_point_at_the_root() -> None:
    """With the root never seeded, the other probes do not guess at their own bug: they point at that one."""
    report = graded(str(ENGINES / "root_not_seeded.py"))
    record = by_probe(report)["x-y"]
    assert record["status"] == "fail" and "root grad seeded" in record["diagnosis"]


@pytest.mark.parametrize(
    ("target", "found"),
    [
        ("scalar_closures.py:Scalar", {"class": "Scalar", "data": "val", "grad": "gradient", "children": "_children",
                                       "backward": "backprop"}),
        ("stored_derivatives", {"class": "gtype", "data": "value", "grad": "grade", "backward": "full_backward"}),
    ],
)  # fmt: skip
def test_correct_engines_in_other_styles_pass(target: str, found: dict[str, str]) -> None:
    report = graded(str(ENGINES / target))
    assert not [r for r in report.records if r["status"] == "fail"]
    assert {k: report.discovery[k] for k in found} == found


def test_cli_json_exit_0_and_learner_prints_kept_out(tmp_path: Path) -> None:
    """A correct engine that prints at import: exit 0, and stdout is only the JSON records."""
    path = engine_variant(tmp_path, "chatty.py", "import math\n", "import math\nprint('training...')\n")
    run = cli(f"{path}:Scalar", "--format", "json", "--random", "0")
    assert run.returncode == 0, run.stdout + run.stderr
    records = json.loads(run.stdout)
    assert all(set(r) >= {"probe", "status", "expected", "got", "diagnosis"} for r in records)
    assert {r["status"] for r in records} <= {"pass", "skip", "info"} and "pass" in {r["status"] for r in records}


def test_stored_derivatives_network_is_identified_as_tanh() -> None:
    record = by_probe(graded(str(ENGINES / "stored_derivatives")))["nn: MLP(3, [4, 4, 1])"]
    assert record["status"] == "pass" and "tanh" in record["diagnosis"], record


def test_this_projects_micrograd_passes_everything() -> None:
    report = graded(str(ROOT / "micrograd" / "engine.py") + ":Value", depths=(1_000, 100_000))
    assert {r["status"] for r in report.records} == {"pass", "info"}, [r for r in report.records if r["status"] != "pass"]
    records = by_probe(report)
    assert records["deep chain"]["got"] == "100,000 deep works"
    assert records["backward twice"]["got"] == "12, then 24"
    assert "relu" in records["nn: MLP(3, [4, 4, 1])"]["diagnosis"]


def test_original_micrograd_passes_with_its_limits_as_information() -> None:
    run = cli(f"{ORIGINAL}:Value", "--random", str(RANDOM))
    assert run.returncode == 0, run.stdout + run.stderr
    summary = run.stdout.rstrip().splitlines()[-1]
    assert summary.startswith("40 pass, 0 fail, 25 skip, 2 info") and summary.endswith("nothing wrong found")
    assert f"\n{summary}\n" in (ROOT / "README.md").read_text()  # the README's worked example is this run
    records = by_probe(graded(str(ORIGINAL), depths=(100, 500, 1_000, 5_000)))
    for probe in ("tanh(x) at 0.5", "tanh(x) at 400", "exp(x) + x**2", "zero_grad"):
        assert records[probe]["status"] == "skip"
    assert "no tanh" in records["tanh(x) at 0.5"]["diagnosis"]
    deep, twice = records["deep chain"], records["backward twice"]
    assert deep["status"] == twice["status"] == "info"
    assert deep["got"] == "works to 500; 1,000 fails: RecursionError"
    assert re.fullmatch(r"tests/engines/micrograd_0_1_0/micrograd/engine\.py:\d+ in build_topo", deep["where"])
    assert twice["got"] == "12, then 36" and "kept its gradient" in twice["diagnosis"]
    assert records["catalog: sum_1000"]["status"] == "skip"  # deeper than the original goes: information, not a failure
    assert records["nn: MLP(3, [4, 4, 1])"]["status"] == "pass"


# sha256 of each file, from the RECORD of micrograd-0.1.0-py3-none-any.whl on PyPI
WHEEL_RECORD = {
    "__init__.py": "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU",
    "engine.py": "lfGfo3NEWNho4GfXcPB3MCd2Oi9lSQC_vB34xUE6z4Q",
    "nn.py": "9URTUBq8T9OK5ySos3jWpdI7_dCknHfmGblfhq0WWU0",
}


def test_the_original_is_an_unmodified_copy_of_the_wheel() -> None:
    for name, digest in WHEEL_RECORD.items():
        data = (ORIGINAL.parent / name).read_bytes()
        assert base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode() == digest, name


def test_an_endless_loop_at_import_is_stopped() -> None:
    started = time.monotonic()
    run = cli(str(ENGINES / "import_loop.py"), "--timeout", "2")
    assert time.monotonic() - started < 30
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and "did not finish within 2 s" in run.stderr


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("tests/engines/nothing_here.py", "there is no file tests/engines/nothing_here.py"),
        ("tests/engines/rsub_sign.py:Valeu", "has no class Valeu; did you mean Value?"),
        ("tests/engines", "without an engine.py"),
    ],
)
def test_a_target_that_cannot_be_loaded_is_one_line_and_exit_2(target: str, message: str) -> None:
    run = cli(target)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and message in run.stderr, run.stderr


def test_a_missing_backward_method_names_the_option(tmp_path: Path) -> None:
    run = cli(str(ENGINES / "rsub_sign.py"), "--backward", "backprop")
    assert run.returncode == 2 and "has no backward method (looked for backprop)" in run.stderr


def engine_variant(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = (ENGINES / "scalar_closures.py").read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new))
    return path


def test_a_syntax_error_says_where(tmp_path: Path) -> None:
    path = engine_variant(tmp_path, "broken.py", "    def exp(self):", "    def exp(self)")
    run = cli(f"{path}:Scalar")
    assert run.returncode == 2 and f"broken.py:{line_of(path, 'def exp(self)')}: syntax error" in run.stderr


def test_a_misspelled_op_is_skipped_with_a_hint(tmp_path: Path) -> None:
    path = engine_variant(tmp_path, "misspelled.py", "def __pow__(", "def __power__(")
    report = check(str(path), "Scalar", random_count=0, depths=SHALLOW)
    record = by_probe(report)["x**3"]
    assert record["status"] == "skip" and "there is a __power__: did you mean __pow__?" in record["diagnosis"]


def test_a_missing_reverse_op_fails_only_its_own_probe(tmp_path: Path) -> None:
    path = engine_variant(tmp_path, "no_rmul.py", "    def __rmul__(self, other):\n        return self * other\n", "")
    report = check(str(path), "Scalar", random_count=RANDOM, depths=SHALLOW)
    failed = [r["probe"] for r in report.records if r["status"] == "fail"]
    assert failed == ["2*x"]  # the catalog's 2*x and the random expressions get the 2 wrapped by the checker
    assert "has no __rmul__" in by_probe(report)["2*x"]["diagnosis"]


def test_an_op_that_hangs_or_kills_the_process_fails_only_where_it_is_used(tmp_path: Path) -> None:
    rsub = "    def __rsub__(self, other):\n"
    hangs = engine_variant(tmp_path, "hangs.py", rsub, rsub + "        while True: pass\n")
    records = by_probe(check(str(hangs), "Scalar", job_timeout=1.0, random_count=0, depths=SHALLOW))
    assert records["2-x"]["status"] == "fail" and "did not finish within 1 s" in records["2-x"]["got"]
    assert records["sum([x, y, x])"]["status"] == "pass"  # the next probe runs in a fresh process

    sigmoid = "    def sigmoid(self):\n"
    dies = engine_variant(tmp_path, "dies.py", sigmoid, sigmoid + "        import os; os._exit(7)\n")
    records = by_probe(check(str(dies), "Scalar", random_count=0, depths=SHALLOW))
    assert records["catalog: sigmoid"]["status"] == "fail" and "exited with status 7" in records["catalog: sigmoid"]["got"]
    assert records["catalog: num_mul_x"]["status"] == "pass"


def network_variant(tmp_path: Path, old: str, new: str) -> Path:
    folder = tmp_path / "engine_and_nn"
    shutil.copytree(ENGINES / "stored_derivatives", folder)
    text = (folder / "nn.py").read_text()
    assert old in text
    (folder / "nn.py").write_text(text.replace(old, new))
    return folder


def test_a_misspelled_parameters_skips_the_network_with_a_hint(tmp_path: Path) -> None:
    body = "(self):\n        return [p for layer"
    folder = network_variant(tmp_path, "def parameters" + body, "def paramaters" + body)
    record = by_probe(check(str(folder), random_count=0, depths=SHALLOW))["nn: MLP(3, [4, 4, 1])"]
    assert record["status"] == "skip" and "there is a paramaters: did you mean parameters?" in record["diagnosis"], record


def test_parameters_without_the_biases_fail_the_network(tmp_path: Path) -> None:
    folder = network_variant(tmp_path, "return self.w + [self.b]", "return self.w")
    record = by_probe(check(str(folder), random_count=0, depths=SHALLOW))["nn: MLP(3, [4, 4, 1])"]
    assert record["status"] == "fail" and record["got"] == "32 parameters" and "every weight and bias" in record["diagnosis"]


def test_a_network_built_on_another_engine_is_not_graded_as_this_one(tmp_path: Path) -> None:
    """nn.py importing an installed micrograd instead of the engine beside it would otherwise pass on that engine."""
    folder = network_variant(tmp_path, "from engine import gtype", "from micrograd.engine import Value as gtype")
    record = by_probe(check(str(folder), random_count=0, depths=SHALLOW))["nn: MLP(3, [4, 4, 1])"]
    assert record["status"] == "skip" and "does nn.py import another engine?" in record["diagnosis"], record


# --- the pytest plugin ---


def run_pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest in a fresh folder, with pyproject's pytest11 entry point installed as pip would (a dist-info on the path)."""
    entry_points = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["pytest11"]
    dist_info = tmp_path / "site" / "micrograd_bench_check_test-0.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: micrograd-bench-check-test\nVersion: 0\n")
    lines = "".join(f"{name} = {module}\n" for name, module in entry_points.items())
    (dist_info / "entry_points.txt").write_text(f"[pytest11]\n{lines}")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), str(ROOT)])}
    env.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--micrograd-random", "0", *args],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )  # fmt: skip


def test_pytest_plugin_loads_through_its_pytest11_entry_point(tmp_path: Path) -> None:
    """Installed, the plugin loads unasked; each probe is a test, and a failing one shows its diagnosis."""
    run = run_pytest(tmp_path, "--micrograd-engine", f"{ENGINES / 'rsub_sign.py'}:Value")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "FAILED micrograd-engine/rsub_sign.py::2-x - __rsub__ computes self - other" in run.stdout
    assert "2 failed" in run.stdout and " passed" in run.stdout  # 2-x and the catalog's num_sub_x fail


def test_pytest_plugin_named_with_p_as_well_and_an_engine_that_cannot_load(tmp_path: Path) -> None:
    """`-p comparisons.pytest_plugin` on top of the installed entry point is one plugin, not a registration error."""
    run = run_pytest(tmp_path, "-p", "comparisons.pytest_plugin", "--micrograd-engine", str(ENGINES / "nothing_here.py"))
    assert run.returncode == 4, run.stdout + run.stderr  # pytest's usage error
    assert "--micrograd-engine" in run.stderr and "there is no file" in run.stderr
    assert "already registered" not in run.stdout + run.stderr


# --- first contact: what real learners' files need (issue 20) ---


@pytest.mark.parametrize(
    ("target", "network"),
    [
        ("mlp_in_engine.py", "mlp_in_engine"),  # the MLP in the engine's own file
        ("neural_net_beside", "neural_net"),  # in a module beside the engine that is not called nn.py
        ("mlp_three_args", "nn"),  # MLP(n_in, n_hidden, n_out)
        ("no_init_package/autograd/engine.py", None),  # a folder without __init__.py, relative imports
    ],
)
def test_correct_engines_from_real_layouts_pass(target: str, network: str | None) -> None:
    report = graded(str(ENGINES / target))
    assert not [r for r in report.records if r["status"] == "fail"]
    assert report.discovery["nn"] == network
    if network:
        assert by_probe(report)["nn: MLP(3, [4, 4, 1])"]["status"] == "pass"


def test_an_mlp_built_as_n_in_n_hidden_n_out_is_called_that_way() -> None:
    """MLP(3, [4, 4, 1]) on MLP(n_in, n_hidden, n_out) made an extra layer and a false 'parameters()' failure."""
    record = by_probe(graded(str(ENGINES / "mlp_three_args")))["nn: MLP(3, [4, 4, 1])"]
    assert record["status"] == "pass" and record["diagnosis"].startswith("MLP(3, 4, 1) in "), record
    assert "21 of 21 gradients agree" in record["got"]  # 4*(3+1) + 1*(4+1): one hidden layer of 4


def test_an_mlp_with_another_signature_is_a_skip_that_names_the_two_it_expects(tmp_path: Path) -> None:
    folder = tmp_path / "four_args"
    shutil.copytree(ENGINES / "mlp_three_args", folder)
    nn = folder / "nn.py"
    nn.write_text(
        nn.read_text().replace("def __init__(self, n_in, n_hidden, n_out):", "def __init__(self, n_in, n_hidden, n_out, depth):")
    )
    record = by_probe(check(str(folder), random_count=0, depths=SHALLOW))["nn: MLP(3, [4, 4, 1])"]
    assert record["status"] == "skip", record
    assert "MLP(n_in, n_hidden, n_out, depth): the checker builds an MLP as MLP(nin, nouts)" in record["diagnosis"]


def test_the_nn_option_names_the_file_of_the_mlp() -> None:
    """mlp_three_args/ has its own nn.py (one hidden layer); --nn takes the two-hidden-layer one from elsewhere."""
    report = check(
        str(ENGINES / "mlp_three_args"), random_count=0, depths=SHALLOW, nn=str(ENGINES / "neural_net_beside" / "neural_net.py")
    )
    record = by_probe(report)["nn: MLP(3, [4, 4, 1])"]
    assert record["status"] == "pass" and record["diagnosis"].startswith("MLP(3, [4, 4, 1]) in "), record
    assert "neural_net.py" in record["diagnosis"]


def test_a_layer_passing_a_wrong_keyword_gets_the_real_error_and_its_line() -> None:
    record = by_probe(graded(str(ENGINES / "layer_wrong_keyword")))["nn: MLP(3, [4, 4, 1])"]
    nn = ENGINES / "layer_wrong_keyword" / "nn.py"
    assert record["status"] == "fail"
    assert "raised TypeError: Neuron.__init__() got an unexpected keyword argument 'activation'" in record["diagnosis"]
    assert record["where"].startswith(f"tests/engines/layer_wrong_keyword/nn.py:{line_of(nn, 'Neuron(nin, activation=')} in "), (
        record
    )


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the file parses from Python 3.12 on")
def test_a_file_for_a_newer_python_says_which(tmp_path: Path) -> None:
    engine = ENGINES / "fstring_312.py"
    run = cli(str(engine), "--format", "json")
    assert run.returncode == 2 and run.stderr.count("\n") == 1
    this = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert f"fstring_312.py:{line_of(engine, 'def __repr__') + 1}: needs Python 3.12, this is {this}" in run.stderr
    assert json.loads(run.stdout) == {"error": run.stderr.split(": error: ", 1)[1].rstrip("\n")}  # JSON for exit 2 too


def test_a_backward_method_with_a_longer_name_gets_a_did_you_mean() -> None:
    run = cli(str(ENGINES / "backwardpropagation.py"))
    assert run.returncode == 2
    assert "did you mean backwardpropagation? (--backward backwardpropagation)" in run.stderr, run.stderr
    report = check(str(ENGINES / "backwardpropagation.py"), backward="backwardpropagation", random_count=0, depths=SHALLOW)
    assert not [r for r in report.records if r["status"] == "fail"]


def test_a_dunder_tanh_is_noticed() -> None:
    report = graded(str(ENGINES / "dunder_tanh.py"))
    record = by_probe(report)["tanh(x) at 0.5"]
    assert record["status"] == "skip"
    assert "there is a __tanh__: did you mean tanh? (the checker calls x.tanh())" in record["diagnosis"], record


def test_the_ops_line_lists_a_failing_op_apart() -> None:
    from comparisons.check.output import discovery_lines

    report = graded(str(ENGINES / "radd_recursion.py"))
    ops_line = discovery_lines(report.discovery, report.failing_ops)[1]
    working, _, rest = ops_line.partition("; failing: ")
    assert "n+x" not in working.split(", ") and "n+x" in rest.split("; ")[0].split(", "), ops_line


def test_file_paths_are_not_broken_across_table_lines() -> None:
    """The engine's file is named once above the table; in the table its lines are `line N`, other files `name.py:N`."""
    run = cli(str(ENGINES / "layer_wrong_keyword"), "--random", "0")
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert lines[0].startswith("contained: ")  # the containment line comes first
    lines = lines[1:]
    assert lines[0].startswith("found class Value in tests/engines/layer_wrong_keyword/engine.py:")
    assert [line for line in lines if "engines/" in line] == [lines[0], f"checking {ENGINES / 'layer_wrong_keyword'}"]
    nn = ENGINES / "layer_wrong_keyword" / "nn.py"
    assert re.search(rf"\(nn\.py:{line_of(nn, 'Neuron(nin, activation=')} in", run.stdout), run.stdout


def test_pytest_hints_name_the_plugins_own_options(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, "--micrograd-engine", str(ENGINES / "backwardpropagation.py"))
    assert run.returncode == 4, run.stdout + run.stderr
    assert "(--micrograd-backward backwardpropagation)" in run.stderr and "(--backward " not in run.stderr


# --- installs: a plain `pip install micrograd-bench` runs check ---


def test_check_imports_nothing_beyond_the_base_dependencies(tmp_path: Path) -> None:
    """`python -m comparisons check` with every import outside the standard library, this project and pyproject's
    base `dependencies` refused: it still runs (the table as plain lines, without rich)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    allowed = {re.split(r"[<>=!~ ;\\[]", d, maxsplit=1)[0].lower() for d in project["dependencies"]}
    script = f"""
import sys
ALLOWED = {sorted(allowed | {"micrograd", "backends", "comparisons"})!r}
class Refuse:
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top not in sys.stdlib_module_names and top not in ALLOWED and not top.startswith("_"):
            raise ImportError("refused: " + name)
sys.meta_path.insert(0, Refuse())
from comparisons.__main__ import main
sys.exit(main(["check", {str(ENGINES / "rsub_sign.py")!r}, "--random", "2"]))
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "  fail  2-x: " in run.stdout and "__rsub__ computes self - other" in run.stdout, run.stdout
    assert "mpmath" in allowed


def test_the_plugin_extra_holds_pytest_and_the_readme_names_it() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    check_extra = project["optional-dependencies"]["check"]
    assert any(d.startswith("pytest") for d in check_extra) and not any(d.startswith("pytest") for d in project["dependencies"])
    section = (ROOT / "README.md").read_text().split("## 9. Check your own engine", 1)[1].split("\n## ", 1)[0]
    assert 'pip install "micrograd-bench[check]"' in section


@pytest.fixture(scope="module")
def plain_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a fresh venv holding the wheel and its base dependencies only (copied from this environment's
    installed files, offline), as a plain `pip install micrograd-bench` leaves it."""
    tmp = tmp_path_factory.mktemp("plain")
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "micrograd", "backends", "comparisons"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    build = [*pip, "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", tmp / "dist", source]
    subprocess.run(build, check=True, cwd=tmp, env=env, capture_output=True, timeout=300)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", tmp / "venv"], check=True, timeout=120)
    python = tmp / "venv" / "bin" / "python"
    install = [*pip, "--python", python, "install", "--quiet", "--no-index", "--no-deps", "--find-links", tmp / "dist"]
    subprocess.run([*install, "micrograd-bench"], check=True, cwd=tmp, env=env, capture_output=True, timeout=300)
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], check=True,
                               capture_output=True, text=True).stdout.strip())  # fmt: skip
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        dist = importlib.metadata.distribution(re.split(r"[<>=!~ ;\[]", requirement, maxsplit=1)[0])
        for file in dist.files or ():
            if file.parts[0] == "..":  # scripts in bin/: not needed to import it
                continue
            target = site / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(dist.locate_file(file), target)
    return python


def test_check_runs_after_a_plain_install(plain_install: Path, tmp_path: Path) -> None:
    engine = tmp_path / "engine.py"
    shutil.copy2(ENGINES / "rsub_sign.py", engine)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run(
        [plain_install, "-m", "comparisons", "check", "engine.py", "--random", "2"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    assert "  fail  2-x: " in run.stdout and "__rsub__ computes self - other" in run.stdout, run.stdout
    no_rich = subprocess.run([plain_install, "-c", "import rich"], capture_output=True, text=True, env=env, timeout=60)
    assert no_rich.returncode == 1  # the table came out as plain lines: rich is in the check extra, not installed here


def test_pytest_plugin_takes_the_mlp_file_from_its_own_option(tmp_path: Path) -> None:
    """layer_wrong_keyword's own nn.py fails; --micrograd-nn names a network that works instead."""
    engine = str(ENGINES / "layer_wrong_keyword")
    assert run_pytest(tmp_path, "--micrograd-engine", engine).returncode == 1
    run = run_pytest(
        tmp_path, "--micrograd-engine", engine, "--micrograd-nn", str(ENGINES / "neural_net_beside" / "neural_net.py")
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_network_beside_the_engine_counts_only_when_it_builds_on_it() -> None:
    """tests/engines/ holds mlp_in_engine.py (a class MLP on its own Value) beside tanh_assign.py: not tanh_assign's."""
    assert "class MLP" in (ENGINES / "mlp_in_engine.py").read_text()
    report = graded(str(ENGINES / "tanh_assign.py"))
    assert report.discovery["nn"] is None and by_probe(report)["nn: MLP(3, [4, 4, 1])"]["status"] == "skip"


@pytest.mark.parametrize(("engine", "failing"), [("children_renamed.py", set()), ("pow_exponent_child.py", {"x**n"})])
def test_the_ops_line_blames_ops_only_for_their_own_failures(engine: str, failing: set[str]) -> None:
    """A children attribute renamed in backward fails every probe, but no op; a number among __pow__'s children is pow's."""
    from comparisons.check.output import discovery_lines

    report = graded(str(ENGINES / engine))
    ops_line = discovery_lines(report.discovery, report.failing_ops)[1]
    listed = ops_line.partition("; failing: ")[2].partition("; missing")[0]
    assert set(filter(None, listed.split(", "))) == failing, ops_line
