"""The contract every adapter fulfils: evaluate an expression with gradients, and train an MLP from a spec.

Inputs and outputs are plain data (source text or `Expression`, dicts of floats, `TrainSpec`, nested lists),
so tests, the report and the asv suites never touch a framework object. Everything is float64 unless a caller asks
an adapter for float32 (`compile(expr, dtype="float32")`; micrograd computes in float64 only).
"""

from __future__ import annotations

import os
import sys
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from backends.expr import Expression, parse
from backends.training import TrainResult, TrainSpec

DTYPES = ("float64", "float32")


def check_dtype(backend_name: str, dtype: str, supported: tuple[str, ...] = DTYPES) -> None:
    """ValueError (what, and what would be right) unless `backend_name` can compute in `dtype`."""
    if dtype not in supported:
        raise ValueError(f"{backend_name} cannot compute in {dtype!r}; it supports {', '.join(supported)}")


class BackendUnavailable(RuntimeError):
    """A backend cannot run here; the message says how to fix that."""


class CannotRun(RuntimeError):
    """A framework's own limit (a compiler's nesting limit, a recursion limit) stops it from running one expression:
    a skip with the reason, never a verdict on the framework's numbers."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"cannot run this expression here: {reason}")


def function_depth(expr: Expression) -> int:
    """The most functions (relu tanh exp log sigmoid) nested in one another on a path to the result."""
    longest = [0] * len(expr.nodes)
    for i, node in enumerate(expr.nodes):
        inner = max((longest[a] for a in node.args), default=0)
        longest[i] = inner + (node.op in ("relu", "tanh", "exp", "log", "sigmoid"))
    return longest[-1] if longest else 0


@contextmanager
def stderr_captured() -> Iterator[Callable[[], str]]:
    """File descriptor 2 sent to a temporary file for the block (a compiler the framework runs writes there, and its
    lines would land in the terminal); yields a function that reads what was written."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield lambda: (sink.seek(0), sink.read().decode("utf-8", "replace"))[1]
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def depth(expr: Expression) -> int:
    """The longest chain of operations from an input to the result (a 2,000-deep tanh chain: 2,000), in one pass."""
    longest = [0] * len(expr.nodes)
    for i, node in enumerate(expr.nodes):
        if node.args:
            longest[i] = 1 + max(longest[a] for a in node.args)
    return longest[-1] if longest else 0


@dataclass(frozen=True)
class Gradients:
    """An expression's value and its derivative with respect to every input, as Python floats."""

    value: float
    grads: dict[str, float] = field(default_factory=dict)


class Trainer(ABC):
    """One training run in progress: `step()` runs the next SGD step of the spec."""

    def __init__(self, spec: TrainSpec):
        self.spec = spec
        self.k = 0  # the index of the next step

    def step(self) -> tuple[float, float]:
        """Run step k: loss and accuracy on step k's batch *before* the update, then update; k += 1."""
        if self.k >= self.spec.steps:
            raise RuntimeError(
                f"{type(self).__name__}: all {self.spec.steps} steps of the spec are done; make a new trainer to train again"
            )
        loss, accuracy = self._step(self.k)
        self.k += 1
        return loss, accuracy

    @abstractmethod
    def _step(self, k: int) -> tuple[float, float]:
        """The framework's step k of the spec (its batch spec.batches[k], its rate spec.learning_rate(k))."""

    @abstractmethod
    def weights(self) -> list[list[list[float]]]:
        """The current weights, weights[layer][neuron] == [w_1, ..., w_nin, bias], as Python floats."""

    def run(self) -> TrainResult:
        """The remaining steps of the spec."""
        losses, accuracies = [], []
        while self.k < self.spec.steps:
            loss, accuracy = self.step()
            losses.append(loss)
            accuracies.append(accuracy)
        return TrainResult(losses=losses, accuracies=accuracies, weights=self.weights())


class Backend(ABC):
    """One framework. `__init__` imports it, so nothing heavy loads before a backend is asked for."""

    name: str  # the registry name: "micrograd", "torch", "jax", "tinygrad"

    @abstractmethod
    def compile(self, expr: Expression, dtype: str = "float64") -> Callable[[Mapping[str, float]], Gradients]:
        """A function from input values to value and gradients, natively (jit-compiled where the framework can), in
        `dtype` ("float64" or "float32": inputs are rounded to it, results come back as the Python floats it holds).

        The first call may include compilation; later calls with other input values reuse it.
        """

    @abstractmethod
    def trainer(self, spec: TrainSpec) -> Trainer:
        """A trainer that starts from spec.weights; building it includes any jit warm-up it needs."""

    def value_and_grad(self, expr: Expression | str, inputs: Mapping[str, float], dtype: str = "float64") -> Gradients:
        """Parse (if given text), check the inputs, compile and evaluate once."""
        expr = parse(expr) if isinstance(expr, str) else expr
        return self.compile(expr, dtype)(expr.check_inputs(inputs))

    def train(self, spec: TrainSpec) -> TrainResult:
        return self.trainer(spec).run()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
