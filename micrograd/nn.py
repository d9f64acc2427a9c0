"""Neurons, layers and MLPs on top of `Value`, with the original micrograd's constructor signatures.

Weights travel as plain nested lists, `weights[layer][neuron] == [w_1, ..., w_nin, bias]`, so that other
frameworks can start from exactly the same numbers. Initialisation draws from the global `random`
module, as the original does, unless a `seed` (or a `random.Random`) is given.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from numbers import Real

from micrograd.engine import Value

ACTIVATIONS = ("relu", "tanh", "linear")
_NAMES = {"relu": "ReLU", "tanh": "Tanh", "linear": "Linear"}  # ReLUNeuron(2), as the original prints it


class Module:
    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0

    def parameters(self) -> list[Value]:
        return []


class Neuron(Module):
    def __init__(self, nin: int, nonlin: bool = True, *, activation: str = "relu", rng: random.Random | None = None):
        if activation not in ACTIVATIONS:
            raise ValueError(f"Neuron: unknown activation {activation!r}; expected one of {', '.join(ACTIVATIONS)}")
        uniform = (rng or random).uniform
        self.w = [Value(uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.activation = activation if nonlin else "linear"

    @property
    def nonlin(self) -> bool:
        return self.activation != "linear"

    def __call__(self, x: Sequence[Value | float]) -> Value:
        act = Value.dot(self.w, x, self.b)
        if self.activation == "relu":
            return act.relu()
        if self.activation == "tanh":
            return act.tanh()
        return act

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"{_NAMES[self.activation]}Neuron({len(self.w)})"


class Layer(Module):
    def __init__(self, nin: int, nout: int, nonlin: bool = True, *, activation: str = "relu", rng: random.Random | None = None):
        self.neurons = [Neuron(nin, nonlin, activation=activation, rng=rng) for _ in range(nout)]

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        """The outputs; a single one as a Value rather than a list of one (as the original does)."""
        out = self.outputs(x)
        return out[0] if len(out) == 1 else out

    def outputs(self, x: Sequence[Value | float]) -> list[Value]:
        """One Value per neuron, always a list."""
        inputs = tuple(x)  # one tuple that every neuron's Value.dot node keeps, rather than a copy each
        # n.__call__(inputs) is n(inputs), but Python calls a plain method directly, and an instance through C
        return [n.__call__(inputs) for n in self.neurons]

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """Hidden layers use `activation` (relu, as in the original, or tanh); the last layer is linear."""

    def __init__(self, nin: int, nouts: Sequence[int], *, activation: str = "relu", seed: int | random.Random | None = None):
        rng = seed if isinstance(seed, random.Random) else (random.Random(seed) if seed is not None else None)
        sz = [nin] + list(nouts)
        self.activation = activation
        self.layers = [
            Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1, activation=activation, rng=rng) for i in range(len(nouts))
        ]

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        """The outputs: a Value when the last layer has one neuron (as in the original), else a list of them.
        Type checkers see that union; score(x) and outputs(x) say which one you get."""
        out = self.outputs(x)
        return out[0] if len(out) == 1 else out

    def score(self, x: Sequence[Value | float]) -> Value:
        """model(x) for a model with one output, typed as the Value it is: `1 + -y * model.score(x)` type-checks."""
        out = self.outputs(x)
        if len(out) != 1:
            raise ValueError(f"MLP.score: this MLP{self.sizes} has {len(out)} outputs; use model.outputs(x) for their list")
        return out[0]

    def outputs(self, x: Sequence[Value | float]) -> list[Value]:
        """The last layer's outputs, always a list (one Value per output neuron)."""
        out = self.layers[0].outputs(x)
        for layer in self.layers[1:]:
            out = layer.outputs(out)
        return out

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    @property
    def sizes(self) -> list[int]:
        return [len(self.layers[0].neurons[0].w)] + [len(layer.neurons) for layer in self.layers]

    def export_weights(self) -> list[list[list[float]]]:
        """weights[layer][neuron] == [w_1, ..., w_nin, bias], as plain floats."""
        return [[[w.data for w in n.w] + [n.b.data] for n in layer.neurons] for layer in self.layers]

    def load_weights(self, weights: Sequence[Sequence[Sequence[float]]]) -> None:
        """Set every weight and bias from nested lists like those export_weights() returns (all or nothing)."""
        if len(weights) != len(self.layers):
            raise ValueError(f"load_weights: got {len(weights)} layers, this MLP{self.sizes} has {len(self.layers)}")
        numbers: list[float] = []
        for i, (layer, rows) in enumerate(zip(self.layers, weights)):
            nin = len(layer.neurons[0].w)
            if len(rows) != len(layer.neurons):
                raise ValueError(f"load_weights: layer {i} has {len(layer.neurons)} neurons, got {len(rows)} rows")
            for j, row in enumerate(rows):
                if len(row) != nin + 1:
                    raise ValueError(
                        f"load_weights: layer {i} neuron {j} needs {nin + 1} numbers ({nin} weights, then the bias), "
                        f"got {len(row)}"
                    )
                for number in row:
                    if not isinstance(number, Real):
                        raise TypeError(
                            f"load_weights: layer {i} neuron {j} holds {number!r:.60} ({type(number).__name__}); "
                            "expected real numbers"
                        )
                    numbers.append(float(number))
        for p, number in zip(self.parameters(), numbers):
            p.data = number
            p.grad = 0.0

    @classmethod
    def from_weights(cls, weights: Sequence[Sequence[Sequence[float]]], *, activation: str = "relu") -> MLP:
        """An MLP whose sizes and values are read off nested lists like those export_weights() returns."""
        if not weights or not all(weights) or not all(rows and rows[0] for rows in weights):
            raise ValueError("MLP.from_weights: expected weights[layer][neuron] == [w_1, ..., w_nin, bias], got an empty list")
        model = cls(len(weights[0][0]) - 1, [len(rows) for rows in weights], activation=activation, seed=0)
        model.load_weights(weights)
        return model

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"


class SGD:
    """Plain stochastic gradient descent: p.data -= lr * p.grad."""

    def __init__(self, params: Sequence[Value], lr: float = 0.01):
        self.params = list(params)
        self.lr = lr

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = 0.0

    def step(self, lr: float | None = None) -> None:
        lr = self.lr if lr is None else lr
        for p in self.params:
            p.data -= lr * p.grad
