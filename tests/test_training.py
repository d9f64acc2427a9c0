"""MLP training agrees across backends: every step's loss and accuracy and the final weights match micrograd's.

Each configuration's reference run is computed once (it takes seconds in pure Python). Also here: TrainSpec's
errors, a trainer's end, and a quick check that compile() agrees with micrograd (the full catalog is
tests/test_gradients.py).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable

import pytest

import backends
from backends import SpecError, TrainResult, TrainSpec

RTOL, ATOL = 1e-9, 1e-12

# name -> (the spec, whether its last step must classify every row right; if not, its loss must at least halve)
CONFIGS: dict[str, tuple[Callable[[], TrainSpec], bool]] = {
    "demo": (TrainSpec.demo, True),
    "tanh": (lambda: TrainSpec.demo(activation="tanh"), True),
    # the demo's learning rate (1.0) blows mse up to 1e18 in one step, so a smaller one
    "mse": (lambda: dataclasses.replace(TrainSpec.demo(loss="mse"), lr_start=0.02, lr_end=0.002), False),
    "minibatch": (lambda: TrainSpec.demo(batch_size=10, steps=20), False),
}


@functools.cache
def reference_run(config: str) -> tuple[TrainSpec, TrainResult]:
    spec = CONFIGS[config][0]()
    return spec, backends.get(backends.REFERENCE).train(spec)


def close(got: float, want: float) -> bool:
    return math.isclose(got, want, rel_tol=RTOL, abs_tol=ATOL)


def flat_weights(weights: list[list[list[float]]]) -> dict[str, float]:
    """Every weight and bias by where it sits, e.g. "weights[0][3][2]" (layer 0, neuron 3, its bias if nin is 2)."""
    return {
        f"weights[{i}][{j}][{m}]": v for i, rows in enumerate(weights) for j, row in enumerate(rows) for m, v in enumerate(row)
    }


def assert_learns(config: str, result: TrainResult) -> None:
    if CONFIGS[config][1]:
        assert result.accuracies[-1] == 1.0, f"{config}: the last step's accuracy is {result.accuracies[-1]}, expected 1.0"
    else:
        assert result.losses[-1] < result.losses[0] / 2, f"{config}: the loss went from {result.losses[0]} to {result.losses[-1]}"


@pytest.mark.parametrize("config", CONFIGS)
def test_reference_learns(config: str) -> None:
    assert_learns(config, reference_run(config)[1])


@pytest.mark.parametrize("config", CONFIGS)
def test_training_matches_reference(other_backend: backends.Backend, config: str) -> None:
    spec, want = reference_run(config)
    got = other_backend.train(spec)
    name = other_backend.name
    assert len(got.losses) == len(got.accuracies) == spec.steps
    for k, (g, w) in enumerate(zip(got.losses, want.losses)):
        assert close(g, w), f"{config} loss at step {k}: {name}={g!r} | micrograd={w!r}"
    for k, (g, w) in enumerate(zip(got.accuracies, want.accuracies)):
        assert g == w, f"{config} accuracy at step {k}: {name}={g!r} | micrograd={w!r}"
    got_weights, want_weights = flat_weights(got.weights), flat_weights(want.weights)
    assert got_weights.keys() == want_weights.keys(), f"{config}: {name}'s final weights have another shape than micrograd's"
    for where, w in want_weights.items():
        assert close(got_weights[where], w), f"{config} final {where}: {name}={got_weights[where]!r} | micrograd={w!r}"
    assert_learns(config, got)


def small_spec(**changes: object) -> TrainSpec:
    return dataclasses.replace(TrainSpec.demo(n_samples=10, hidden=(4,), steps=3), **changes)


def test_trainer_continues_where_it_stopped(backend: backends.Backend) -> None:
    spec = small_spec()
    whole = backend.train(spec)
    trainer = backend.trainer(spec)
    first = trainer.step()
    rest = trainer.run()
    assert close(first[0], whole.losses[0]) and first[1] == whole.accuracies[0]
    assert all(map(close, rest.losses, whole.losses[1:])) and rest.accuracies == whole.accuracies[1:]
    assert all(map(close, flat_weights(rest.weights).values(), flat_weights(whole.weights).values()))


def test_step_after_the_last_raises(backend: backends.Backend) -> None:
    trainer = backend.trainer(small_spec())
    weights = trainer.run().weights
    with pytest.raises(RuntimeError, match="all 3 steps of the spec are done"):
        trainer.step()
    assert trainer.k == 3 and trainer.weights() == weights


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sizes": (2,)}, r"sizes must be \(nin, \.\.\., nout\)"),
        ({"sizes": (2, 0, 1)}, r"every size a positive int, got \(2, 0, 1\)"),
        ({"weights": [[[0.5, 0.5]] * 4, [[0.5] * 5]]}, r"weights\[0\] must be 4 rows of 2 weights then the bias"),
        ({"weights": [[[0.5] * 5]]}, r"weights has 1 layers, sizes \(2, 4, 1\) needs 2"),
        ({"batch_size": 11}, r"batch_size must be None \(full batch\) or an int from 1 to 10, got 11"),
    ],
)
def test_bad_spec_says_what_is_wrong(changes: dict, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        small_spec(**changes)


@pytest.mark.parametrize(
    "source",
    [
        "z = 2*x + 2 + x; q = relu(z) + z*x; h = relu(z*z); h + q + q*x",  # micrograd's own test
        "a = x*y; b = tanh(a) + exp(-y) / 2.0; log(sigmoid(b)) + 2.0 ** x + x ** 0.5 - 1.0 / y",
    ],
)
def test_compile_matches_reference(other_backend: backends.Backend, reference: backends.Backend, source: str) -> None:
    expr = backends.parse(source)
    compiled, oracle = other_backend.compile(expr), reference.compile(expr)
    name = other_backend.name
    for values in ([0.7, 1.3], [2.5, -0.4]):  # the second call reuses what the first compiled
        inputs = dict(zip(expr.inputs, values))
        got, want = compiled(inputs), oracle(inputs)
        assert close(got.value, want.value), f"{source} at {inputs}: {name}={got.value!r} | micrograd={want.value!r}"
        assert got.grads.keys() == want.grads.keys()
        for x, w in want.grads.items():
            assert close(got.grads[x], w), f"{source} at {inputs} d/d{x}: {name}={got.grads[x]!r} | micrograd={w!r}"
