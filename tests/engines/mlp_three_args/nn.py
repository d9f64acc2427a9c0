"""A correct network with one hidden layer, built as MLP(n_in, n_hidden, n_out), not MLP(nin, nouts)."""

import random

from engine import Value


class Neuron:
    def __init__(self, nin, nonlin=True):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0.0)
        self.nonlin = nonlin

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self):
        return self.w + [self.b]


class Layer:
    def __init__(self, nin, nout, **kwargs):
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x):
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]


class MLP:
    def __init__(self, n_in, n_hidden, n_out):
        self.hidden = Layer(n_in, n_hidden, nonlin=True)
        self.output = Layer(n_hidden, n_out, nonlin=False)

    def __call__(self, x):
        return self.output(self.hidden(x))

    def parameters(self):
        return self.hidden.parameters() + self.output.parameters()
