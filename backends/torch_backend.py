"""PyTorch: expressions and MLP training run eagerly on float64 (or float32) tensors, differentiated by torch.autograd.

torch is imported when the backend is created (`backends.get("torch")`), not when this module is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from backends.base import Backend, BackendUnavailable, Gradients, Trainer, check_dtype
from backends.expr import Expression
from backends.training import TrainSpec, from_matrices, to_matrices
from micrograd._install import pip_install


class TorchBackend(Backend):
    name = "torch"

    def __init__(self) -> None:
        try:
            import torch
        except ImportError:
            raise BackendUnavailable(f"torch is not installed here; fix: {pip_install('torch')}") from None
        self.torch = torch
        # the expression language's functions -> torch's own
        self.functions = {"relu": torch.relu, "tanh": torch.tanh, "exp": torch.exp, "log": torch.log, "sigmoid": torch.sigmoid}

    def compile(self, expr: Expression, dtype: str = "float64") -> Callable[[Mapping[str, float]], Gradients]:
        check_dtype(self.name, dtype)
        torch, functions = self.torch, self.functions
        native = getattr(torch, dtype)  # the expression's number literals are weakly typed: they follow the leaves

        def constant(c: float) -> Any:  # an operation on constants alone runs on tensors of the dtype, without grad
            return torch.tensor(c, dtype=native)

        def value_and_grad(inputs: Mapping[str, float]) -> Gradients:
            leaves = {name: torch.tensor(inputs[name], dtype=native, requires_grad=True) for name in expr.inputs}
            out = expr.evaluate(leaves, functions, constant)
            out.backward()
            # a leaf the result does not use (an input read only by an unused assignment) has no grad: 0
            grads = {name: 0.0 if leaf.grad is None else leaf.grad.item() for name, leaf in leaves.items()}
            return Gradients(out.item(), grads)

        return value_and_grad

    def trainer(self, spec: TrainSpec) -> Trainer:
        return TorchTrainer(spec, self.torch)


class TorchTrainer(Trainer):
    """Per layer W (nout x nin) and b as leaf tensors; each step runs eagerly: forward, loss, backward, SGD update."""

    def __init__(self, spec: TrainSpec, torch: Any):
        super().__init__(spec)
        self.torch = torch

        def tensor(data: list[Any]) -> Any:
            return torch.tensor(data, dtype=torch.float64)

        self.params = [(tensor(W).requires_grad_(), tensor(b).requires_grad_()) for W, b in to_matrices(spec.weights)]
        self.X, self.y = tensor(spec.X), tensor(spec.y)
        self.activation = {"relu": torch.relu, "tanh": torch.tanh}[spec.activation]

    def _batch(self, k: int) -> tuple[Any, Any]:
        rows = self.spec.batches[k]
        return (self.X, self.y) if len(rows) == len(self.X) else (self.X[rows], self.y[rows])

    def _step(self, k: int) -> tuple[float, float]:
        spec = self.spec
        X, y = self._batch(k)
        loss, correct = self._loss_and_correct(X, y)
        loss.backward()
        lr = spec.learning_rate(k)
        with self.torch.no_grad():
            for layer in self.params:
                for p in layer:
                    p -= lr * p.grad
                    p.grad = None
        return loss.item(), int(correct) / len(y)

    def weights(self) -> list[list[list[float]]]:
        return from_matrices([(W.tolist(), b.tolist()) for W, b in self.params])

    def _loss_and_correct(self, X: Any, y: Any) -> tuple[Any, Any]:
        """The loss on the batch (X, y), and how many rows the scores' signs classify right (a count, so that
        the accuracy is exactly micrograd's correct / n)."""
        torch, spec = self.torch, self.spec
        h = X
        for i, (W, b) in enumerate(self.params):
            h = h @ W.T + b
            if i < len(self.params) - 1:  # the output layer is linear
                h = self.activation(h)
        scores = h[:, 0]
        data_loss = torch.relu(1 - y * scores).mean() if spec.loss == "svm" else ((scores - y) ** 2).mean()
        loss = data_loss + spec.alpha * sum((p * p).sum() for layer in self.params for p in layer)
        return loss, ((y > 0) == (scores > 0)).sum()
