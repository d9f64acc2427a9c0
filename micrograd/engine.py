"""A scalar-valued autograd engine: `Value` records how it was computed, `backward()` applies the chain rule.

Each primitive op stores its children and its local derivatives (plain floats) at forward time, so the
backward pass is one loop over a topological order with no closures and no reference cycles: the
graph is freed by reference counting alone, and a graph of any depth backpropagates without recursion.

Domain policy: IEEE 754, as torch and numpy do. log(0) is -inf, log(-1) is nan, exp(1000) is inf,
0 ** -1 is inf, (-8) ** 0.5 is nan; forward and backward alike, never an exception.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real

_INF = math.inf
_NAN = math.nan


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return _INF


def _log(x: float) -> float:
    if x > 0:
        return math.log(x)
    return -_INF if x == 0 else _NAN


def _pow(base: float, exponent: float) -> float:
    try:
        return math.pow(base, exponent)
    except OverflowError:  # |result| too large: negative only for a negative base and an odd exponent
        return -_INF if base < 0 and _is_odd(exponent) else _INF
    except ValueError:  # 0 to a negative power (a pole) or a negative base to a fractional power
        if base == 0:
            return math.copysign(_INF, base) if _is_odd(exponent) else _INF
        return _NAN


def _is_odd(x: float) -> bool:
    return x.is_integer() and int(x) % 2 == 1


def _as_float(x: object, what: str) -> float:
    if isinstance(x, Real):
        return float(x)
    raise TypeError(f"{what}: expected a Value or a real number (int or float), got {type(x).__name__}: {x!r}")


class Value:
    """A scalar, its gradient, and the op and children that produced it."""

    __slots__ = ("_local", "_op", "_prev", "data", "grad")

    def __init__(self, data: float, _children: tuple[Value, ...] = (), _op: str = "", _local: tuple[float, ...] = ()):
        self.data = data if type(data) is float else _as_float(data, "Value(data)")
        self.grad = 0.0
        self._prev = _children  # the Values this one was computed from
        self._local = _local  # d(self)/d(child) for each child, in the same order
        self._op = _op

    # --- primitives: each computes `out` and its local derivatives ---

    def __add__(self, other: Value | float) -> Value:
        if type(other) is Value:
            return Value(self.data + other.data, (self, other), "+", (1.0, 1.0))
        return Value(self.data + _as_float(other, "Value + x"), (self,), "+", (1.0,))

    def __mul__(self, other: Value | float) -> Value:
        if type(other) is Value:
            return Value(self.data * other.data, (self, other), "*", (other.data, self.data))
        other = _as_float(other, "Value * x")
        return Value(self.data * other, (self,), "*", (other,))

    def __pow__(self, other: Value | float) -> Value:
        x = self.data
        if type(other) is Value:
            out = _pow(x, other.data)
            return Value(out, (self, other), "**", (other.data * _pow(x, other.data - 1), _log(x) * out))
        k = _as_float(other, "Value ** x")
        return Value(_pow(x, k), (self,), f"**{other:g}", (k * _pow(x, k - 1),))

    def __rpow__(self, other: float) -> Value:
        base = _as_float(other, "x ** Value")
        out = _pow(base, self.data)
        return Value(out, (self,), f"{other:g}**", (_log(base) * out,))

    def relu(self) -> Value:
        x = self.data
        return Value(x if x > 0 else 0.0, (self,), "relu", (1.0 if x > 0 else 0.0,))

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        return Value(t, (self,), "tanh", (1.0 - t * t,))

    def exp(self) -> Value:
        e = _exp(self.data)
        return Value(e, (self,), "exp", (e,))

    def log(self) -> Value:
        x = self.data
        return Value(_log(x), (self,), "log", (1.0 / x if x != 0 else _INF,))

    def sigmoid(self) -> Value:
        x = self.data
        if x >= 0:
            s = 1.0 / (1.0 + _exp(-x))
        else:  # the same function, written so that exp cannot overflow
            e = _exp(x)
            s = e / (1.0 + e)
        return Value(s, (self,), "sigmoid", (s * (1.0 - s),))

    @staticmethod
    def dot(weights: Sequence[Value], inputs: Sequence[Value | float], bias: Value) -> Value:
        """bias + sum(w*x): one node instead of 2n, summed left to right exactly as the unfused ops are."""
        if len(weights) != len(inputs):
            raise ValueError(f"Value.dot: {len(weights)} weights but {len(inputs)} inputs; they must be equal")
        acc = bias.data
        children: list[Value] = [bias]
        local: list[float] = [1.0]
        for w, x in zip(weights, inputs):
            if type(x) is Value:
                acc += w.data * x.data
                children += (w, x)
                local += (x.data, w.data)
            else:
                x = _as_float(x, "Value.dot input")
                acc += w.data * x
                children.append(w)
                local.append(x)
        return Value(acc, tuple(children), "dot", tuple(local))

    # --- derived ops, composed from the primitives ---

    def __neg__(self) -> Value:
        return self * -1.0

    def __radd__(self, other: float) -> Value:
        return self + other

    def __sub__(self, other: Value | float) -> Value:
        return self + (-other)

    def __rsub__(self, other: float) -> Value:
        return (-self) + other

    def __rmul__(self, other: float) -> Value:
        return self * other

    def __truediv__(self, other: Value | float) -> Value:
        if type(other) is not Value:
            other = _as_float(other, "Value / x")
            return self * _pow(other, -1.0)
        return self * other**-1

    def __rtruediv__(self, other: float) -> Value:
        return self**-1 * other

    # --- the chain rule ---

    def backward(self) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's grad; set every intermediate node's grad afresh.

        Calling it twice doubles the leaves' gradients (as torch does with retain_graph=True) but not
        the intermediate nodes', whose grad always holds this pass's value.
        """
        topo = _topological_order(self)
        for node in topo:
            if node._prev:
                node.grad = 0.0
        self.grad += 1.0
        for node in reversed(topo):
            g = node.grad
            for child, local in zip(node._prev, node._local):
                child.grad += local * g

    def zero_grad(self) -> None:
        """Set the grad of this node and everything it was computed from to 0."""
        for node in _topological_order(self):
            node.grad = 0.0

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"


def _topological_order(root: Value) -> list[Value]:
    """Every node reachable from root, children before parents; an explicit stack, so no depth limit."""
    order: list[Value] = []
    visited: set[int] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for child in node._prev:
            if id(child) not in visited:
                stack.append((child, False))
    return order

