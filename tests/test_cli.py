"""The command line as a user runs it (`python -m comparisons` in a subprocess): the report's tables and files,
`grad` and `train`, every exit status, and one line on stderr for every kind of bad input.

One quick report is shared by the module (it takes seconds); the backends it could run (its backends.csv) decide
what the other tests may ask for. Expected numbers come from micrograd run here, never typed in.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import backends
from backends import REFERENCE, TrainSpec, parse
from comparisons import render
from comparisons.judge.catalog import DIVERGENCES, same_number
from micrograd.engine import Value

ROOT = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
STEMS = ("backends", "gradients", "gradients_summary", "divergences", "training", "training_summary", "speed")
EXPRESSION, INPUTS = "tanh(a*b + c)**2", {"a": 2.0, "b": -3.0, "c": 10.0}


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "comparisons", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=timeout, env={**os.environ, **(env or {})},
    )  # fmt: skip


def words(inputs: dict[str, float]) -> list[str]:
    return [f"{name}={value!r}" for name, value in inputs.items()]


def assert_png(path: Path) -> None:
    from matplotlib.image import imread

    assert path.read_bytes()[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    pixels = imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 200 and pixels.shape[1] > 200, f"{path}: {pixels.shape}"
    assert pixels.std() > 0, f"{path} is blank"


def micrograd_value_and_grads(source: str, inputs: dict[str, float]) -> tuple[float, dict[str, float]]:
    """The expression run directly on micrograd Values, not through any adapter or the CLI."""
    expr = parse(source)
    leaves = {name: Value(inputs[name]) for name in expr.inputs}
    out = expr.evaluate(leaves, {f: getattr(Value, f) for f in ("relu", "tanh", "exp", "log", "sigmoid")})
    out.backward()
    return out.data, {name: leaf.grad for name, leaf in leaves.items()}


# --- the report ---


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("results") / "nested" / "out"  # a folder that does not exist yet
    return cli("--quick", "--out", str(out)), out


@pytest.fixture(scope="module")
def ran(report: tuple[subprocess.CompletedProcess[str], Path]) -> list[str]:
    """The backends the report could run here (micrograd first)."""
    _, out = report
    status = pd.read_csv(out / "backends.csv")
    return list(status.backend[status.value == "ok"])


def test_report_prints_the_four_sections_and_agrees(
    report: tuple[subprocess.CompletedProcess[str], Path], ran: list[str]
) -> None:
    result, out = report
    assert result.returncode == 0, result.stdout + result.stderr
    for title in ("1. gradients over the catalog", "2. known divergences", "3. training", "4. speed", "warm-up"):
        assert title in result.stdout
    assert "nothing unexplained" in result.stdout
    assert f"saved 16 files in {out}/" in result.stdout
    assert "Traceback" not in result.stderr
    assert all(len(line) <= 100 for line in result.stdout.splitlines()), "wider than a 100-column terminal"
    # the summary's numbers are the ones in the files
    summary = pd.read_csv(out / "training_summary.csv")
    for name in ran:
        assert name in result.stdout
        final = summary[summary.backend == name].final_loss.iloc[0]
        assert f"{final:.12g}" in result.stdout


def test_report_files_read_back_the_same_from_csv_and_json(report: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, out = report
    for stem in STEMS:
        from_csv = pd.read_csv(out / f"{stem}.csv", keep_default_na=False, na_values=["nan"])
        from_json = pd.DataFrame(json.loads((out / f"{stem}.json").read_text()))
        assert list(from_csv.columns) == list(from_json.columns), stem
        for column in from_csv.columns:
            a, b = from_csv[column], from_json[column]
            if pd.api.types.is_numeric_dtype(a) and not pd.api.types.is_bool_dtype(a):
                assert all(same_number(float(x), math.nan if y is None else float(y)) for x, y in zip(a, b)), f"{stem}.{column}"
            else:
                assert [str(x) for x in a.fillna("")] == [str(y) for y in b.fillna("")], f"{stem}.{column}"


def test_report_gradients_are_tidy_and_summarised(report: tuple[subprocess.CompletedProcess[str], Path], ran: list[str]) -> None:
    _, out = report
    gradients = pd.read_csv(out / "gradients.csv")
    from_json = pd.read_json(out / "gradients.json", precise_float=True)  # pandas' own reader gives the same numbers
    from_json = from_json.replace("", math.nan)  # CSV cannot tell an empty text from a missing one
    assert_frame_equal(gradients, from_json.astype(gradients.dtypes), check_exact=True)
    columns = {"case", "backend", "quantity", "value", "truth", "ulps", "class", "why", "agrees", "abs_err", "rel_err"}
    assert columns <= set(gradients.columns)
    assert set(gradients.backend) == set(ran)
    assert all(q == "value" or q.startswith("grad:") for q in gradients.quantity)
    assert not gradients["class"].eq("unexplained").any() and gradients.agrees.all()
    # micrograd's own rows: its value is the reference, and every gradient agrees with finite differences
    mine = gradients[gradients.backend == REFERENCE]
    assert (mine.value == mine.reference).all()
    grads = mine[mine.quantity != "value"]
    assert (grads.fd_abs_err == (grads.value - grads.fd).abs()).all()

    summary = pd.read_csv(out / "gradients_summary.csv").set_index("backend")
    for name, rows in gradients.groupby("backend"):
        assert summary.loc[name, "cases"] == rows.case.nunique()
        assert summary.loc[name, "max_abs_err"] == rows.abs_err.max()
        assert summary.loc[name, "max_ulps"] == rows.ulps.max()
    # accuracy: every catalog number is within what rounding explains, but for the pinned inaccuracies
    from comparisons.judge.catalog import CATALOG

    inaccurate = {(case.name, b) for case in CATALOG for b in case.inaccurate}
    explained_by_rounding = gradients["class"].isin(["accurate", "inaccurate_agreeing"]) | gradients.rule.eq("ill_conditioned")
    beyond = gradients[~explained_by_rounding]
    assert {(r.case, r.backend) for r in beyond.itertuples()} <= inaccurate


def test_report_runs_the_divergences_live(report: tuple[subprocess.CompletedProcess[str], Path], ran: list[str]) -> None:
    result, out = report
    divergences = render.read_records(out / "divergences.json")  # read_json cannot read subnormals, nor "inf" as a number
    assert len(divergences) == len(DIVERGENCES) * len(ran)
    for d in DIVERGENCES:
        rows = divergences[(divergences.case == d.name) & (divergences.quantity == d.quantity)].set_index("backend")
        for name in ran:
            assert same_number(rows.loc[name, "value"], d.gives[name]), f"{d.name} {d.quantity} {name}: {rows.loc[name, 'value']}"
        live = [rows.loc[name, "value"] for name in ran]
        if not all(same_number(v, live[0]) for v in live):
            assert d.name in result.stdout, f"{d.name}, where {', '.join(ran)} differ, is not shown"


def test_report_training_and_speed(report: tuple[subprocess.CompletedProcess[str], Path], ran: list[str]) -> None:
    _, out = report
    training = pd.read_csv(out / "training.csv")
    reference = training[training.backend == REFERENCE].set_index(["step", "quantity"]).value
    for name, rows in training.groupby("backend"):
        assert len(rows) == 2 * rows.step.nunique()  # loss and accuracy at every step
        assert (rows.set_index(["step", "quantity"]).reference == reference).all(), name
    assert training.ok.all()

    speed = pd.read_csv(out / "speed.csv")
    assert set(speed.backend) == set(ran)
    assert (speed.value > 0).all() and (speed.warmup > 0).all()
    assert set(speed.quantity) == {"fwd+bwd", "train step"}
    fastest = speed.groupby(["case", "quantity"]).ratio_to_fastest.min()
    assert (fastest == 1.0).all()


def test_report_charts_are_pngs(report: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, out = report
    assert_png(out / "training_loss.png")
    assert_png(out / "speed.png")


# --- grad ---


def test_grad_json_is_micrograds_numbers(ran: list[str]) -> None:
    result = cli("grad", EXPRESSION, *words(INPUTS), "--format", "json")
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert isinstance(records, list) and all(isinstance(r, dict) for r in records)
    df = pd.DataFrame(records)
    assert set(df.backend) == set(ran)
    value, grads = micrograd_value_and_grads(EXPRESSION, INPUTS)
    mine = df[df.backend == REFERENCE].set_index("quantity")
    assert mine.loc["value", "value"] == value
    for name, grad in grads.items():
        assert mine.loc[f"grad:{name}", "value"] == grad
        assert math.isclose(mine.loc[f"grad:{name}", "fd"], grad, rel_tol=1e-6)
    for r in records:
        assert r["abs_err"] == abs(r["value"] - r["reference"])


def test_grad_csv_markdown_and_table_show_the_same_records() -> None:
    args = ("grad", EXPRESSION, *words(INPUTS), "--backend", "micrograd")
    csv = cli(*args, "--format", "csv")
    assert csv.returncode == 0, csv.stderr
    df = pd.read_csv(io.StringIO(csv.stdout))
    assert list(df.columns[:3]) == ["backend", "quantity", "value"]
    assert list(df.quantity) == ["value", "grad:a", "grad:b", "grad:c"]
    value, grads = micrograd_value_and_grads(EXPRESSION, INPUTS)
    assert list(df.value) == [value, *grads.values()]

    md = cli(*args, "--format", "markdown").stdout.splitlines()
    assert md[0].startswith("| backend | quantity | value |") and md[1].startswith("|---|")
    assert len(md) == 2 + len(df)

    table = cli(*args)
    assert table.returncode == 0
    for number in [value, *grads.values()]:
        assert repr(number) in table.stdout


def test_grad_backend_option_repeats_or_takes_commas(ran: list[str]) -> None:
    others = [name for name in ran if name != REFERENCE][:2]
    if not others:
        pytest.skip("only micrograd can run here")
    repeated = cli("grad", "x*y", "x=2", "y=3", "--format", "csv", *[a for n in others for a in ("--backend", n)])
    commas = cli("grad", "x*y", "x=2", "y=3", "--format", "csv", "--backend", ",".join(others))
    assert repeated.stdout == commas.stdout
    assert list(dict.fromkeys(pd.read_csv(io.StringIO(commas.stdout)).backend)) == [REFERENCE, *others]


def grad_json(*args: str) -> tuple[int, dict[tuple[str, str], dict]]:
    result = cli("grad", *args, "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, {(r["backend"], r["quantity"]): r for r in json.loads(result.stdout)}


def test_grad_result_is_the_final_bare_name() -> None:
    status, records = grad_json("a = x*2; b = x*3; a", "x=1")
    assert status == 0
    for (_, quantity), r in records.items():
        assert r["value"] == 2.0 and r["truth"] == 2.0 and r["ulps"] == 0, (quantity, r)
    status, records = grad_json("a = x*2; b = y*3; a", "x=1", "y=1")
    assert status == 0 and records[(REFERENCE, "grad:y")]["value"] == 0.0 == records[(REFERENCE, "grad:y")]["truth"]


def test_grad_huge_input_and_a_kink_exit_0() -> None:
    # the finite differences judge nothing: at 1e300 their steps overflow, at a kink they straddle it
    assert grad_json("x", "x=1e300")[0] == 0
    assert grad_json("log(x)", "x=1e-13")[0] == 0
    status, records = grad_json("relu(x)", "x=0")
    assert status == 0 and records[(REFERENCE, "grad:x")]["truth"] is None
    assert "kink" in records[(REFERENCE, "grad:x")]["truth_note"]


def test_grad_tiny_divisor_micrograd_is_right_and_jax_is_a_known_divergence(ran: list[str]) -> None:
    status, records = grad_json("x/y", "x=1e-300", "y=1e-300")
    assert records[(REFERENCE, "grad:y")]["value"] == records[(REFERENCE, "grad:y")]["truth"] == -1 / 1e-300
    assert status == 0
    if "jax" in ran:
        jax = records[("jax", "grad:y")]
        assert jax["agrees"] is False and jax["class"] == "known" and jax["why"] == "tiny_divisor"


def test_grad_zero_over_zero_names_its_catalog_entry() -> None:
    result = cli("grad", "x/x", "x=0")
    assert result.returncode == 0, result.stdout
    if "tinygrad" in result.stdout:
        assert "known divergence zero_over_zero" in result.stdout


def test_grad_all_agree_all_wrong_says_so_and_why() -> None:
    status, records = grad_json("(exp(x) - 1)/x", "x=1e-12")
    assert status == 0
    assert records[(REFERENCE, "value")]["truth"] == 1.0000000000005
    assert records[(REFERENCE, "grad:x")]["truth"] == 0.5000000000003333
    assert all(r["ulps"] > 1e10 for r in records.values())
    table = cli("grad", "(exp(x) - 1)/x", "x=1e-12")
    text = " ".join(table.stdout.split())
    assert "all backends give the same number, far from the truth" in text and "cancellation at exp(x) - 1.0" in text
    value = [r for (_, q), r in records.items() if q == "value"]
    assert all(r["class"] == "inaccurate_agreeing" for r in value)  # the same cancelled number from every backend
    grads = [r for (_, q), r in records.items() if q != "value"]  # jax's differs in its last digits: ill-conditioned
    assert all(r["class"] == "inaccurate_agreeing" or r["rule"] == "ill_conditioned" for r in grads), grads
    assert cli("grad", "(exp(x) - 1)/x", "x=1e-12", "--strict").returncode == 1
    assert cli("grad", "(exp(x) - 1)/x", "x=1e-12", "--strict", "--max-ulps", "1e30").returncode == 0
    assert cli("grad", "x*y", "x=0.1", "y=3", "--strict").returncode == 0


def test_grad_reads_a_file_or_standard_input(tmp_path: Path) -> None:
    source = " + ".join(f"{k % 5 + 1}*x{k % 3}" for k in range(5000))  # beyond Python's own limit of ~3,000 terms
    path = tmp_path / "sum.txt"
    path.write_text(source)
    result = cli("grad", "-f", str(path), "x0=1", "x1=2", "x2=3", "--backend", "micrograd", "--format", "csv")
    assert result.returncode == 0, result.stderr
    df = pd.read_csv(io.StringIO(result.stdout))
    exact = sum((k % 5 + 1) * (k % 3 + 1) for k in range(5000))
    assert df.set_index("quantity").loc["value", "truth"] == exact
    piped = subprocess.run(
        [sys.executable, "-m", "comparisons", "grad", "-", "x=2", "--backend", "micrograd", "--format", "json"],
        input="a = x*x\na + 1\n", capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout)[0]["value"] == 5.0


def test_grad_error_quotes_little_of_a_huge_expression() -> None:
    source = "x + " * 20_000 + "(" + "x + " * 10 + "$"
    result = cli("grad", source, "x=1")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert len(result.stderr) < 400 and "<HERE>" in result.stderr, result.stderr


def test_train_refuses_what_cannot_fit_before_allocating() -> None:
    # past the work budget, which is checked first (test_hostile), the memory check still refuses before allocating
    result = cli("train", "--steps", "1000000000", "--backend", "micrograd", "--max-work", str(10**18), timeout=60)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "GiB" in result.stderr


def test_train_refuses_past_its_work_budget_naming_the_flag() -> None:
    # the demo network 2-16-16-1 has (2+1)*16 + (16+1)*16 + (16+1)*1 = 337 weights; full batch of 100 samples
    result = cli("train", "--steps", "1000000", "--backend", "micrograd", timeout=60)
    work = 337 * 100 * 1_000_000 * 1
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert f"{work:,} weights x samples per step x steps x backends" in result.stderr
    assert f"--max-work {work}" in result.stderr


def test_grad_a_zero_agreement_tolerance_changes_only_the_agrees_column(ran: list[str]) -> None:
    # other frameworks round differently from micrograd in the last bits; a zero tolerance makes that a disagreement
    others = [name for name in ran if name != REFERENCE]
    if not others:
        pytest.skip("only micrograd can run here")
    strict = cli("grad", EXPRESSION, *words(INPUTS), "--rtol", "0", "--atol", "0", "--format", "csv")
    plain = cli("grad", EXPRESSION, *words(INPUTS), "--format", "csv")
    df, before = pd.read_csv(io.StringIO(strict.stdout)), pd.read_csv(io.StringIO(plain.stdout))
    assert (df.agrees == (df.value == df.reference)).all()
    # agreement is a column: a zero tolerance changes it, never a class or the exit status
    assert strict.returncode == plain.returncode == 0 and list(df["class"]) == list(before["class"])
    assert not df.agrees.all(), "every backend matched micrograd to the last bit: this test needs another expression"


# --- train ---


def test_train_all_backends_plot_and_knobs(tmp_path: Path, ran: list[str]) -> None:
    plot = tmp_path / "loss.png"
    knobs = {"--steps": "6", "--hidden": "4,3", "--activation": "tanh", "--loss": "mse", "--samples": "30",
             "--batch-size": "8", "--seed": "3", "--lr": "0.05,0.01"}  # fmt: skip
    result = cli("train", *[w for pair in knobs.items() for w in pair], "--plot", str(plot), "--format", "csv")
    assert result.returncode == 0, result.stderr
    df = pd.read_csv(io.StringIO(result.stdout))
    assert list(dict.fromkeys(df.backend)) == ran
    assert set(df.quantity) == {"loss", "accuracy"} and set(df.step) == set(range(6))
    assert_png(plot)

    spec = TrainSpec.demo(n_samples=30, hidden=(4, 3), activation="tanh", loss="mse", steps=6, batch_size=8, seed=3)
    losses = backends.get(REFERENCE).train(dataclasses.replace(spec, lr_start=0.05, lr_end=0.01)).losses
    mine = df[(df.backend == REFERENCE) & (df.quantity == "loss")].sort_values("step")
    assert list(mine.value) == losses


def test_train_one_backend_table(ran: list[str]) -> None:
    name = "torch" if "torch" in ran else REFERENCE
    result = cli("train", "--backend", name, "--steps", "3", "--samples", "20")
    assert result.returncode == 0, result.stderr
    assert "loss per step" in result.stdout and "agrees" in result.stdout
    assert name in result.stdout


def test_train_exit_1_when_the_tolerance_is_zero(ran: list[str]) -> None:
    if "torch" not in ran:
        pytest.skip("torch cannot run here")
    result = cli("train", "--backend", "torch", "--steps", "5", "--rtol", "0", "--atol", "0", "--format", "json")
    df = pd.DataFrame(json.loads(result.stdout))
    torch = df[df.backend == "torch"]
    assert not (torch.value == torch.reference).all(), "torch matched micrograd to the last bit: pick another spec"
    assert result.returncode == 1


# --- usage ---


def test_help_is_fast_to_import() -> None:
    code = (
        "import sys\nfrom comparisons.__main__ import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pandas', 'matplotlib', 'rich', 'torch', 'jax', 'tinygrad') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert "grad" in result.stdout and "train" in result.stdout
    assert "HEAVY []" in result.stdout


@pytest.mark.skipif(shutil.which("micrograd-bench", path=str(Path(sys.executable).parent)) is None,
                    reason="the console script is not installed in this environment (pip install -e .)")  # fmt: skip
def test_console_script() -> None:
    script = shutil.which("micrograd-bench", path=str(Path(sys.executable).parent))
    result = subprocess.run([script, "grad", "x*y", "x=2", "y=3", "--backend", "micrograd", "--format", "json"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert [r["value"] for r in json.loads(result.stdout)] == [6.0, 3.0, 2.0]


@pytest.fixture(scope="module")
def no_torch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment where `import torch` fails, as if it were not installed."""
    shadow = tmp_path_factory.mktemp("shadow")
    (shadow / "torch").mkdir()
    (shadow / "torch" / "__init__.py").write_text("raise ImportError('torch is hidden by tests/test_cli.py')\n")
    return {"PYTHONPATH": os.pathsep.join([str(shadow), os.environ.get("PYTHONPATH", "")])}


def test_an_unavailable_backend_is_skipped_when_not_asked_for(no_torch: dict[str, str]) -> None:
    result = cli("grad", "x*y", "x=2", "y=3", env=no_torch)
    assert result.returncode == 0, result.stderr
    assert "skipped torch" in result.stdout and 'pip install -e ".[torch]"' in result.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["grad", "a +* b", "a=1", "b=2"], "does not parse"),
        (["grad", "a*b", "a=1"], "no value given for input b"),
        (["grad", "a*b", "a=1", "b"], "is not NAME=VALUE"),
        (["grad", "a*b", "a=1", "b=two"], "'two' is not a number"),
        (["grad", "a*b", "a=1", "=2"], "is not NAME=VALUE"),
        (["grad", "a*b", "a=1", "b=2", "b=3"], "given twice"),
        (["grad", "a*b", "a=1", "b=2", "c=3"], "'c' is not an input"),
        (["grad", "a*b", "a=1", "b=inf"], "not a finite number"),
        (["grad", "-a*b", "a=1", "b=2"], "needs parentheses"),
        (["grad", "a", "a=1", "--backend", "pytorch"], "unknown backend 'pytorch'"),
        (["grad", "a", "a=1", "--format", "xml"], "invalid choice"),
        (["--quick", "--out", "{file}/sub"], "cannot write there"),
        (["--quick", "--out", "{file}"], "cannot write there"),
        (["train", "--hidden", "16,x"], "layer sizes"),
        (["train", "--steps", "0"], "not a positive whole number"),
        (["train", "--samples", "10", "--batch-size", "20"], "batch_size"),
        (["train", "--lr", "-1"], "not a learning rate"),
        (["train", "--plot", "{file}.svg"], "ends in .png"),
        (["train", "--plot", "{tmp}/missing/loss.png"], "there is no folder"),
        (["frobnicate"], "unknown command 'frobnicate'"),
        (["--nonsense"], "unrecognized arguments: --nonsense"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(args: list[str], says: str, tmp_path: Path) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    args = [a.format(file=a_file, tmp=tmp_path) for a in args]
    result = cli(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert says in result.stderr


def test_an_unavailable_backend_asked_for_is_a_usage_error(no_torch: dict[str, str]) -> None:
    result = cli("grad", "x*y", "x=2", "y=3", "--backend", "torch", env=no_torch)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and 'pip install -e ".[torch]"' in result.stderr


# --- bounds: work the frameworks cannot do, finite differences past many inputs (in-process, fast) ---


def run_main(*argv: str) -> tuple[int, str, str]:
    """`python -m comparisons ARGV` in this process: (exit status, stdout, stderr)."""
    from contextlib import redirect_stderr, redirect_stdout

    from comparisons.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(list(argv))
    return status, out.getvalue(), err.getvalue()


def chain(depth: int) -> str:
    return "; ".join(["a0 = tanh(x)", *(f"a{i} = tanh(a{i - 1})" for i in range(1, depth)), f"a{depth - 1}"])


def test_depth_counts_the_longest_chain_of_operations() -> None:
    from backends.base import depth, function_depth

    assert depth(parse(chain(40))) == function_depth(parse(chain(40))) == 40
    assert depth(parse("x")) == function_depth(parse("x*y + 2")) == 0
    assert depth(parse("tanh(x)*y + 2")) == 3 and function_depth(parse("tanh(x)*y + 2")) == 1
    assert depth(parse(" + ".join(f"v{i}" for i in range(30)))) == 29  # (((v0 + v1) + v2) + ...): 29 additions


class CannotRunBackend(backends.Backend):
    """A framework that cannot run any expression (as tinygrad's clang past its bracket nesting)."""

    name = "tinygrad"

    def compile(self, expr: backends.Expression, dtype: str = "float64") -> object:  # type: ignore[override]
        raise backends.CannotRun("clang: bracket nesting level exceeded maximum of 256")

    def trainer(self, spec: TrainSpec) -> backends.Trainer:
        raise NotImplementedError


def test_a_backend_that_cannot_run_the_expression_is_skipped_with_its_reason_not_judged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(backends._instances, "tinygrad", CannotRunBackend())
    status, out, _ = run_main("grad", "x*y", "x=2", "y=3", "--backend", "tinygrad")
    assert status == 0, out  # micrograd ran and is right; tinygrad's limit is no disagreement
    assert "skipped tinygrad: cannot run this expression here: clang: bracket nesting level exceeded" in " ".join(out.split())
    status, out, _ = run_main("grad", "x*y", "x=2", "y=3", "--backend", "tinygrad", "--format", "csv")
    assert status == 0 and "tinygrad" not in out  # no row for a backend that did not run


def test_jax_and_tinygrad_skip_before_trying_past_their_measured_limits() -> None:
    from backends import jax_backend, tinygrad_backend
    from tests.conftest import require_backend

    for name, deep in (("jax", jax_backend.MAX_DEPTH + 1), ("tinygrad", tinygrad_backend.MAX_FUNCTION_DEPTH + 1)):
        backend = require_backend(name)
        with pytest.raises(backends.CannotRun, match=r"^cannot run this expression here: "):
            backend.compile(parse(chain(deep)))  # raised before tracing: no 34 s (jax) or 70 s (tinygrad) wait


@pytest.mark.slow
def test_clangs_refusal_is_a_skip_and_its_lines_stay_out_of_the_terminal(capfd: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import require_backend

    backend = require_backend("tinygrad")
    with pytest.raises(backends.CannotRun, match="clang: bracket nesting level exceeded"):
        backend.compile(parse(chain(200)))({"x": 0.5})  # a bare tanh chain 200 deep: clang refuses the kernel
    assert "bracket" not in capfd.readouterr().err


def test_finite_differences_are_skipped_past_many_inputs_and_grad_says_so() -> None:
    from comparisons.commands.runs import judged
    from comparisons.judge.agreement import FD_MAX_INPUTS

    few, many = FD_MAX_INPUTS, FD_MAX_INPUTS + 1
    for count in (few, many):
        source = " + ".join(f"v{i}*v{i}" for i in range(count))
        inputs = {f"v{i}": 0.5 + i for i in range(count)}
        records = judged(parse(source), inputs, [REFERENCE])
        fd = [r["fd"] for r in records if r["quantity"].startswith("grad:")]
        if count == few:  # d/dv_i of the sum of squares is 2 v_i, which finite differences find
            assert all(math.isclose(r["fd"], 2 * inputs[r["quantity"][5:]], rel_tol=1e-6) for r in records[1:])
        else:
            assert fd == [None] * many
            status, out, _ = run_main("grad", source, *words(inputs), "--backend", REFERENCE)
            assert status == 0 and f"finite differences skipped: {many:,} inputs" in " ".join(out.split())


def test_plot_in_a_folder_that_cannot_be_written_names_plot_not_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").write_text("a file where the results folder would go")  # results/ cannot be made
    status, _, err = run_main("train", "--steps", "2", "--backend", REFERENCE, "--plot", "loss.png")
    assert status == 2 and err.count("\n") == 1, err
    assert "--plot results: cannot write there" in err and "--out" not in err, err


def test_grad_shows_its_progress_on_a_terminal_and_keeps_it_out_of_files() -> None:
    """On a terminal, grad's progress bar (on stderr, gone when done) counts each backend, then the verdict: a
    5,000-input expression takes a minute on jax, and says so while it runs. Into a file or a pipe: no bar at all."""
    import pty

    command = [sys.executable, "-m", "comparisons", "grad", "x*2", "x=1", "--backend", "micrograd"]
    terminal, stderr_end = pty.openpty()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr_end, env={**os.environ, "COLUMNS": "100"})
    os.close(stderr_end)
    shown = b""
    while True:  # until the program closes its end (EOF, or EIO on Linux)
        try:
            chunk = os.read(terminal, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(terminal)
    stdout, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, shown
    bar = shown.decode()
    assert "grad" in bar and "0/2" in bar and "2/2" in bar, bar  # micrograd, then the verdict
    assert "value" in stdout.decode()  # the table itself goes to stdout
    piped = cli("grad", "x*2", "x=1", "--backend", "micrograd")
    assert piped.returncode == 0 and piped.stderr == "", piped.stderr


def test_torch_threads_sets_torchs_intra_op_threads_and_says_so() -> None:
    """--torch-threads N (report, train): torch.set_num_threads(N) where torch runs, and the words that say so; nothing
    where torch does not run. 0 is refused in one line."""
    import argparse

    from comparisons.commands import cli as commands_cli

    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    try:
        assert commands_cli.set_torch_threads(argparse.Namespace(torch_threads=1), ["micrograd", "torch"]) == "torch on 1 thread"
        assert torch.get_num_threads() == 1
        assert commands_cli.set_torch_threads(argparse.Namespace(torch_threads=3), ["micrograd", "torch"]) == "torch on 3 threads"
        assert torch.get_num_threads() == 3
        assert commands_cli.set_torch_threads(argparse.Namespace(torch_threads=2), ["micrograd"]) == ""
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)
    refused = cli("train", "--torch-threads", "0", "--backend", "micrograd")
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "--torch-threads" in refused.stderr
