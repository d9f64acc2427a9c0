"""A Node class in a different style (.value, ._parents with local derivatives, backprop() over an explicit stack);
bug: relu returns its input unchanged when it is negative (`max(0, x)` written as `x if x else 0`)."""

import math


class Node:
    def __init__(self, value, parents=()):
        self.value = float(value)
        self.grad = 0.0
        self._parents = tuple(parents)  # (node, local derivative) pairs

    @staticmethod
    def wrap(x):
        return x if isinstance(x, Node) else Node(x)

    def __add__(self, other):
        other = Node.wrap(other)
        return Node(self.value + other.value, [(self, 1.0), (other, 1.0)])

    def __mul__(self, other):
        other = Node.wrap(other)
        return Node(self.value * other.value, [(self, other.value), (other, self.value)])

    def __pow__(self, n):
        return Node(self.value**n, [(self, n * self.value ** (n - 1))])

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-Node.wrap(other))

    def __truediv__(self, other):
        return self * Node.wrap(other) ** -1

    __radd__ = __add__
    __rmul__ = __mul__

    def __rsub__(self, other):
        return Node.wrap(other) - self

    def __rtruediv__(self, other):
        return Node.wrap(other) / self

    def tanh(self):
        t = math.tanh(self.value)
        return Node(t, [(self, 1 - t * t)])

    def exp(self):
        e = math.exp(self.value)
        return Node(e, [(self, e)])

    def relu(self):
        y = self.value if self.value else 0.0
        return Node(y, [(self, 1.0 if self.value > 0 else 0.0)])

    def backprop(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((parent, False) for parent, _ in node._parents)
        self.grad = 1.0
        for node in reversed(order):
            for parent, local in node._parents:
                parent.grad += local * node.grad
