"""A correct engine in another style: class gtype, .value and .grade, local derivatives stored at forward time
(no closures), full_backward(), zero_grad(), an iterative topological sort. Beside it, nn.py with tanh layers."""

import math


class gtype:
    def __init__(self, value, parents=(), local=()):
        self.value = value
        self.grade = 0
        self.parents = parents
        self.local = local

    def __add__(self, other):
        if not isinstance(other, gtype):
            return gtype(self.value + other, (self,), (1,))
        return gtype(self.value + other.value, (self, other), (1, 1))

    __radd__ = __add__

    def __mul__(self, other):
        if not isinstance(other, gtype):
            return gtype(self.value * other, (self,), (other,))
        return gtype(self.value * other.value, (self, other), (other.value, self.value))

    __rmul__ = __mul__

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + -other

    def __rsub__(self, other):
        return -self + other

    def __pow__(self, n):
        return gtype(self.value**n, (self,), (n * self.value ** (n - 1),))

    def __truediv__(self, other):
        return self * other**-1

    def __rtruediv__(self, other):
        return self**-1 * other

    def tanh(self):
        t = math.tanh(self.value)
        return gtype(t, (self,), (1 - t**2,))

    def exp(self):
        e = math.exp(self.value)
        return gtype(e, (self,), (e,))

    def relu(self):
        return gtype(self.value if self.value > 0 else 0, (self,), (1 if self.value > 0 else 0,))

    def nodes(self):
        order, seen, stack = [], set(), [self]
        while stack:
            node = stack.pop()
            if node is None:
                order.append(stack.pop())
            elif node not in seen:
                seen.add(node)
                stack += [node, None, *node.parents]
        return order

    def zero_grad(self):
        for node in self.nodes():
            node.grade = 0

    def full_backward(self):
        order = self.nodes()
        for node in order:
            if node.parents:
                node.grade = 0
        self.grade = 1
        for node in reversed(order):
            for parent, d in zip(node.parents, node.local):
                parent.grade += d * node.grade
