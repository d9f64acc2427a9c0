"""The reference: micrograd's own `Value` graph and `MLP`, the oracle every other backend is checked against."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from backends.base import Backend, Gradients, Trainer, check_dtype
from backends.expr import Expression
from backends.training import TrainSpec
from micrograd.demo import loss as demo_loss
from micrograd.engine import Value
from micrograd.nn import MLP, SGD

FUNCTIONS = {name: getattr(Value, name) for name in ("relu", "tanh", "exp", "log", "sigmoid")}


class MicrogradBackend(Backend):
    name = "micrograd"

    def compile(self, expr: Expression, dtype: str = "float64") -> Callable[[Mapping[str, float]], Gradients]:
        check_dtype(self.name, dtype, ("float64",))  # Value holds a Python float: float64 by design

        def value_and_grad(inputs: Mapping[str, float]) -> Gradients:
            leaves = {name: Value(inputs[name]) for name in expr.inputs}
            out = expr.evaluate(leaves, FUNCTIONS, Value)  # an operation on constants alone runs on Values too
            out.backward()
            return Gradients(out.data, {name: leaf.grad for name, leaf in leaves.items()})

        return value_and_grad

    def trainer(self, spec: TrainSpec) -> Trainer:
        return MicrogradTrainer(spec)


class MicrogradTrainer(Trainer):
    def __init__(self, spec: TrainSpec):
        super().__init__(spec)
        self.model = MLP.from_weights(spec.weights, activation=spec.activation)
        self.optimizer = SGD(self.model.parameters())

    def _step(self, k: int) -> tuple[float, float]:
        spec = self.spec
        rows = spec.batches[k]
        total, accuracy = demo_loss(self.model, [spec.X[i] for i in rows], [spec.y[i] for i in rows], spec.loss, spec.alpha)
        self.optimizer.zero_grad()
        total.backward()
        self.optimizer.step(spec.learning_rate(k))
        return total.data, accuracy

    def weights(self) -> list[list[list[float]]]:
        return self.model.export_weights()
