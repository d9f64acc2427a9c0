"""tinygrad-specific checks: float64 really is used, every leaf gets its gradient, TinyJit's replays see new inputs, the
trainer's warm-up consumes no step, and a missing or broken clang says how to fix it. The agreement with micrograd on the
catalog and on training is tested for every backend in test_gradients.py and test_training.py."""

from __future__ import annotations

import dataclasses
import math
import shutil

import pytest

import backends
from backends import BackendUnavailable, TrainSpec
from tests.conftest import require_backend

RTOL, ATOL = 1e-9, 1e-12


@pytest.fixture
def tinygrad() -> backends.Backend:
    return require_backend("tinygrad")


def close(got: float, want: float, rtol: float = RTOL) -> bool:
    return math.isclose(got, want, rel_tol=rtol, abs_tol=ATOL)


def small_spec(**changes: object) -> TrainSpec:
    return dataclasses.replace(TrainSpec.demo(n_samples=10, hidden=(4,), steps=3), **changes)


def test_float64_end_to_end(tinygrad: backends.Backend) -> None:
    # float32 would be off by about 1e-8 here; float64 rounding by about 1e-16
    got = tinygrad.value_and_grad("tanh(x) + exp(y)", {"x": 0.5, "y": 0.1})
    assert close(got.value, math.tanh(0.5) + math.exp(0.1), rtol=1e-14), f"tinygrad={got.value!r}"
    assert close(got.grads["x"], 1 - math.tanh(0.5) ** 2, rtol=1e-14), f"d/dx: tinygrad={got.grads['x']!r}"
    assert close(got.grads["y"], math.exp(0.1), rtol=1e-14), f"d/dy: tinygrad={got.grads['y']!r}"
    trainer = tinygrad.trainer(small_spec())
    float64 = tinygrad.tinygrad.dtypes.float64
    assert {p.dtype for layer in trainer.params for p in layer} | {trainer.X.dtype, trainer.rates.dtype} == {float64}


def test_every_leaf_gets_its_gradient(tinygrad: backends.Backend, reference: backends.Backend) -> None:
    # y only meets numbers and x only feeds a product: neither may be mistaken for a constant
    source, inputs = "x*y + 3*y + 2**y", {"x": 0.5, "y": -1.25}
    got, want = tinygrad.value_and_grad(source, inputs), reference.value_and_grad(source, inputs)
    for name, w in want.grads.items():
        assert w != 0 and close(got.grads[name], w), f"d/d{name}: tinygrad={got.grads[name]!r} | micrograd={w!r}"
    assert tinygrad.value_and_grad("x", {"x": 3.0}).grads == {"x": 1.0}


def test_jit_replays_see_new_inputs(tinygrad: backends.Backend, reference: backends.Backend) -> None:
    # TinyJit runs the first call as is, captures the second and replays the kernels from the third on
    expr = backends.parse("a = x*y; b = tanh(a) + exp(-y) / 2.0; log(sigmoid(b)) + x ** 0.5 - 1.0 / y")
    compiled, oracle = tinygrad.compile(expr), reference.compile(expr)
    calls = [{"x": 0.7, "y": 1.3}, {"x": 2.5, "y": -0.4}, {"x": 1.1, "y": 0.2}, {"x": 0.3, "y": 4.0}, {"x": 0.7, "y": 1.3}]
    results = []
    for inputs in calls:
        got, want = compiled(inputs), oracle(inputs)
        results.append(got)
        assert close(got.value, want.value), f"at {inputs}: tinygrad={got.value!r} | micrograd={want.value!r}"
        for name, w in want.grads.items():
            assert close(got.grads[name], w), f"at {inputs} d/d{name}: tinygrad={got.grads[name]!r} | micrograd={w!r}"
    assert results[-1] == results[0], "a replay of the first inputs gives other numbers than the first (uncaptured) call"


def test_warm_up_consumes_no_step_and_changes_no_weight(tinygrad: backends.Backend, reference: backends.Backend) -> None:
    spec = small_spec(batch_size=4)  # the batch is gathered on the device by the step index
    trainer = tinygrad.trainer(spec)
    assert trainer.k == 0 and trainer.weights() == spec.weights
    assert trainer.step_fn.captured is not None, "the jitted step is not captured yet: step 1 would pay for it"
    want = reference.trainer(spec)
    for k in range(spec.steps):
        (loss, accuracy), (want_loss, want_accuracy) = trainer.step(), want.step()
        assert close(loss, want_loss) and accuracy == want_accuracy, (
            f"step {k}: tinygrad=({loss!r}, {accuracy!r}) | micrograd=({want_loss!r}, {want_accuracy!r})"
        )


def test_a_single_step_spec(tinygrad: backends.Backend, reference: backends.Backend) -> None:
    # the step index is a Variable from 0 to steps - 1, here from 0 to 0
    spec = small_spec(steps=1)
    got, want = tinygrad.train(spec), reference.train(spec)
    assert close(got.losses[0], want.losses[0]) and got.accuracies == want.accuracies


def test_without_clang_the_error_says_how_to_get_it(tinygrad: backends.Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    from backends.tinygrad_backend import TinygradBackend

    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(BackendUnavailable, match=r"tinygrad's CPU device needs clang: apt-get install clang"):
        TinygradBackend()


def test_a_broken_device_is_unavailable_with_the_reason(tinygrad: backends.Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    from backends.tinygrad_backend import TinygradBackend

    def broken(self: object) -> float:
        raise FileNotFoundError("[Errno 2] No such file or directory: 'clang'")

    monkeypatch.setattr(tinygrad.tinygrad.Tensor, "item", broken)
    with pytest.raises(BackendUnavailable, match=r"does not work here \(FileNotFoundError: .*'clang'\).*clang --version"):
        TinygradBackend()


def test_tanh_near_zero_loses_relative_precision(tinygrad: backends.Backend) -> None:
    # a finding, pinned: tinygrad computes tanh(x) as 2*sigmoid(2x) - 1, which cancels for small |x|; the absolute
    # error stays at float64 rounding, so the agreement tests' abs tolerance (1e-12) still holds there
    x = 1e-8
    got = tinygrad.value_and_grad("tanh(x)", {"x": x}).value
    assert abs(got - math.tanh(x)) < 1e-15
    assert abs(got - math.tanh(x)) / math.tanh(x) > RTOL, f"tanh({x}) is now accurate in tinygrad: {got!r}"
