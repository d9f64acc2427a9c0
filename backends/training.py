"""An MLP training run as plain data: what every backend trains, step for step, from the same numbers.

The spec says everything a backend needs (sizes, activation, initial weights, data, loss, schedule, the
batch of each step), so that two backends given one spec must produce the same losses.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field
from typing import Any

from micrograd.demo import LOSSES, learning_rate, make_moons
from micrograd.nn import MLP

ACTIVATIONS = ("relu", "tanh")  # of the hidden layers; the output layer is linear


class SpecError(ValueError):
    """A TrainSpec that cannot be trained: the message names the field and what would be right."""


@dataclass(frozen=True)
class TrainSpec:
    """Full-batch or minibatch SGD on an MLP.

    loss "svm": mean(relu(1 - y*score)) + alpha * sum(p*p); "mse": mean((score - y)**2) + alpha * sum(p*p).
    The learning rate of step k is lr_start - (lr_start - lr_end) * k / steps (the demo: 1.0 - 0.9*k/100).
    """

    sizes: tuple[int, ...]  # (nin, hidden..., nout)
    weights: list[list[list[float]]]  # weights[layer][neuron] == [w_1, ..., w_nin, bias]
    X: list[list[float]]
    y: list[float]  # labels -1.0 / +1.0
    activation: str = "relu"
    loss: str = "svm"
    alpha: float = 1e-4
    steps: int = 100
    lr_start: float = 1.0
    lr_end: float = 0.1
    batch_size: int | None = None  # None: every step uses all of X, in order
    batch_seed: int = 0
    batches: list[list[int]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._validate()
        object.__setattr__(self, "batches", self._plan_batches())

    def learning_rate(self, k: int) -> float:
        return learning_rate(k, self.steps, self.lr_start, self.lr_end)

    def _plan_batches(self) -> list[list[int]]:
        """The row indices of each step's batch: all rows, or a seeded sample that every backend follows."""
        n = len(self.X)
        if self.batch_size is None or self.batch_size == n:
            return [list(range(n))] * self.steps
        rng = random.Random(self.batch_seed)
        return [sorted(rng.sample(range(n), self.batch_size)) for _ in range(self.steps)]

    def _validate(self) -> None:
        def fail(what: str) -> None:
            raise SpecError(f"TrainSpec: {what}")

        if len(self.sizes) < 2 or any(not isinstance(s, int) or s < 1 for s in self.sizes):
            fail(f"sizes must be (nin, ..., nout) with every size a positive int, got {self.sizes!r}")
        if self.sizes[-1] != 1:
            fail(f"the output layer must have 1 neuron (a score whose sign is the class), got sizes {self.sizes!r}")
        if self.activation not in ACTIVATIONS:
            fail(f"activation {self.activation!r} is not one of {', '.join(ACTIVATIONS)}")
        if self.loss not in LOSSES:
            fail(f"loss {self.loss!r} is not one of {', '.join(LOSSES)}")
        if not isinstance(self.steps, int) or self.steps < 1:
            fail(f"steps must be a positive int, got {self.steps!r}")
        if len(self.weights) != len(self.sizes) - 1:
            fail(f"weights has {len(self.weights)} layers, sizes {self.sizes} needs {len(self.sizes) - 1}")
        for i, rows in enumerate(self.weights):
            nin, nout = self.sizes[i], self.sizes[i + 1]
            if len(rows) != nout or any(len(row) != nin + 1 for row in rows):
                fail(f"weights[{i}] must be {nout} rows of {nin} weights then the bias")
        if not self.X or len(self.X) != len(self.y):
            fail(f"X and y must be non-empty and of equal length, got {len(self.X)} rows and {len(self.y)} labels")
        if any(len(row) != self.sizes[0] for row in self.X):
            fail(f"every row of X must have {self.sizes[0]} features (sizes[0])")
        if any(label not in (-1.0, 1.0) for label in self.y):
            fail("every label in y must be -1.0 or +1.0")
        numbers = [v for rows in self.weights for row in rows for v in row] + [v for row in self.X for v in row]
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in numbers):
            fail("weights and X must hold finite numbers only")
        if self.batch_size is not None and not (isinstance(self.batch_size, int) and 1 <= self.batch_size <= len(self.X)):
            fail(f"batch_size must be None (full batch) or an int from 1 to {len(self.X)}, got {self.batch_size!r}")

    # --- plain data in and out ---

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("batches")
        data["sizes"] = list(self.sizes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainSpec:
        data = dict(data)
        data["sizes"] = tuple(data["sizes"])
        return cls(**data)

    @classmethod
    def demo(
        cls,
        *,
        n_samples: int = 100,
        hidden: tuple[int, ...] = (16, 16),
        activation: str = "relu",
        loss: str = "svm",
        steps: int = 100,
        batch_size: int | None = None,
        seed: int = 1337,
    ) -> TrainSpec:
        """The classic demo's run: two moons (noise 0.1), weights from micrograd's seeded MLP."""
        X, y = make_moons(n_samples, noise=0.1, seed=seed)
        sizes = (2, *hidden, 1)
        weights = MLP(2, list(sizes[1:]), activation=activation, seed=seed).export_weights()
        return cls(
            sizes=sizes,
            weights=weights,
            X=X,
            y=y,
            activation=activation,
            loss=loss,
            steps=steps,
            batch_size=batch_size,
            batch_seed=seed,
        )


@dataclass(frozen=True)
class TrainResult:
    """Loss and accuracy at every step (before that step's update), and the final weights."""

    losses: list[float]
    accuracies: list[float]
    weights: list[list[list[float]]]


def to_matrices(weights: list[list[list[float]]]) -> list[tuple[list[list[float]], list[float]]]:
    """weights[layer][neuron] == [w..., b]  ->  per layer (W, b), W of shape (nout, nin): out = x @ W.T + b."""
    return [([row[:-1] for row in rows], [row[-1] for row in rows]) for rows in weights]


def from_matrices(layers: list[tuple[list[list[float]], list[float]]]) -> list[list[list[float]]]:
    """The inverse of to_matrices: per layer (W, b) -> weights[layer][neuron] == [w..., b], as Python floats."""
    return [[[float(w) for w in row] + [float(bias)] for row, bias in zip(W, b)] for W, b in layers]
