"""Exported from a notebook: `%matplotlib inline` as nbconvert writes it, and cells that ran at the top level (a
small graph, its backward, prints, a guarded graphviz import) are still there. Bug: relu's backward lets the
gradient through where x < 0 (`> 0` written as `!= 0`)."""

import math
import random

get_ipython().run_line_magic("matplotlib", "inline")  # noqa: F821 (nbconvert's form of %matplotlib inline)

try:
    from graphviz import Digraph  # noqa: F401 (the notebook drew graphs)
except ImportError:
    Digraph = None


class Value:
    def __init__(self, data, _children=(), _op="", label=""):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op
        self.label = label

    def __repr__(self):
        return f"Value(data={self.data})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += 1.0 * out.grad
            other.grad += 1.0 * out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __rmul__(self, other):
        return self * other

    def __radd__(self, other):
        return self + other

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def relu(self):
        out = Value(max(0.0, self.data), (self,), "relu")

        def _backward():
            self.grad += (1.0 if self.data != 0 else 0.0) * out.grad

        out._backward = _backward
        return out

    def backward(self):
        topo, visited = [], set()

        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)

        build_topo(self)
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()


# In [12]:
a = Value(2.0, label="a")
b = Value(-3.0, label="b")
c = a * b + 10
c.label = "c"
c.backward()
print(c, a.grad, b.grad)

# In [13]:
random.seed(1337)
xs = [random.uniform(-1, 1) for _ in range(3)]
print(sum(Value(x) * Value(x) for x in xs))
