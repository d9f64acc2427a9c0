"""The accuracy atlas and the float formats it measures in."""

from __future__ import annotations

import math
import struct

import pytest

import backends
from comparisons.commands import accuracy
from comparisons.judge import dtypes
from comparisons.judge.truth import truth
from tests.conftest import require_backend


def float32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


@pytest.mark.parametrize("x", [0.1, 1 / 3, 1e-40, -2.5e-45, 3.3e38, 1e-30, 16777217.0, -7.0])
def test_round_to_float32_matches_the_hardware(x):
    assert dtypes.round_to(x, "float32") == float32(x)


def test_round_to_float32_overflows_and_underflows():
    assert dtypes.round_to(3.5e38, "float32") == math.inf and dtypes.round_to(-1e39, "float32") == -math.inf
    assert dtypes.round_to(1e-46, "float32") == 0.0
    assert dtypes.round_to(0.71e-45, "float32") == 2.0**-149  # above half the smallest subnormal: up
    assert dtypes.round_to(2.0**-150, "float32") == 0.0  # exactly half: to even, 0


def test_ulps_in_float32_units():
    one = 1.0
    assert dtypes.ulps(one + 2.0**-23, one, "float32") == 1.0
    assert dtypes.ulps(one + 2.0**-52, one, "float64") == 1.0
    assert dtypes.ulps(math.nan, 1.0, "float32") == math.inf and dtypes.ulps(5.0, None) is None
    assert dtypes.ulps(1e300, 0.0) == math.inf


@pytest.fixture(scope="module")
def atlas64():
    chosen = {"micrograd": backends.get("micrograd"), "torch": require_backend("torch")}
    return accuracy.atlas(chosen, "float64")


def cell(rows, op, quantity, backend):
    (row,) = [r for r in rows if r["op"] == op and r["quantity"] == quantity and r["backend"] == backend]
    return row


def test_every_op_has_a_row_per_quantity(atlas64):
    for op in accuracy.OPS:
        for quantity in ("value", "grad"):
            assert cell(atlas64, op.name, quantity, "torch")["points"] >= 8


def test_correctly_rounded_arithmetic_is_exact(atlas64):
    for op in ("add", "mul", "div"):
        assert cell(atlas64, op, "value", "torch")["max_ulps"] == 0
    for op in ("add", "mul"):
        assert cell(atlas64, op, "value", "micrograd")["max_ulps"] == 0
    assert cell(atlas64, "div", "value", "micrograd")["max_ulps"] <= 1  # a * b**-1 where it divides: two roundings


def test_cancellation_shows_in_every_backend(atlas64):
    # exp(x) - 1 near 0: the formula, not the framework, loses the digits
    assert cell(atlas64, "expm1", "value", "micrograd")["max_ulps"] > 1e6
    assert cell(atlas64, "expm1", "value", "torch")["max_ulps"] > 1e6


def test_each_largest_error_names_an_input_that_reproduces_it(atlas64):
    row = cell(atlas64, "tanh", "grad", "torch")
    inputs = dict(part.split("=") for part in row["worst_input"].split(", "))
    point = {k: float(v) for k, v in inputs.items()}
    got = backends.get("torch").value_and_grad("tanh(x)", point).grads["x"]
    exact = truth("tanh(x)", point).grads["x"].value
    assert got == row["got"] and dtypes.ulps(got, exact) == row["max_ulps"]


def test_tinygrad_tanh_near_zero_in_the_atlas():
    tanh = tuple(op for op in accuracy.OPS if op.name == "tanh")
    row = cell(accuracy.atlas({"tinygrad": require_backend("tinygrad")}, "float64", ops=tanh), "tanh", "value", "tinygrad")
    assert row["max_ulps"] > 1e6 and float(row["worst_input"].split("=")[1]) < 1e-2


def test_heatmap_is_written_atomically(atlas64, tmp_path):
    from comparisons import render

    path = render.plot_accuracy(render.frame(atlas64, accuracy.COLUMNS), tmp_path / "atlas.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["atlas.png"]  # no temporary file left behind
