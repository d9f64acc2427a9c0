"""A correct engine in another style: class Scalar, .val and .gradient, ._children, backprop(), closures, an
iterative topological sort, tanh, exp, log, sigmoid; no zero_grad and no reflected power."""

import math


class Scalar:
    def __init__(self, val, children=()):
        self.val = float(val)
        self.gradient = 0.0
        self._children = children
        self._grad_fn = None

    @staticmethod
    def lift(x):
        return x if isinstance(x, Scalar) else Scalar(x)

    def _node(self, val, children, local):
        out = Scalar(val, children)

        def grad_fn():
            for child, d in zip(children, local):
                child.gradient += d * out.gradient

        out._grad_fn = grad_fn
        return out

    def __add__(self, other):
        other = Scalar.lift(other)
        return self._node(self.val + other.val, (self, other), (1.0, 1.0))

    def __mul__(self, other):
        other = Scalar.lift(other)
        return self._node(self.val * other.val, (self, other), (other.val, self.val))

    def __pow__(self, k):
        if isinstance(k, Scalar):
            out = self.val**k.val
            return self._node(out, (self, k), (k.val * self.val ** (k.val - 1), out * math.log(self.val)))
        return self._node(self.val**k, (self,), (k * self.val ** (k - 1),))

    def tanh(self):
        t = math.tanh(self.val)
        return self._node(t, (self,), (1 - t * t,))

    def exp(self):
        e = math.exp(self.val)
        return self._node(e, (self,), (e,))

    def log(self):
        return self._node(math.log(self.val), (self,), (1 / self.val,))

    def sigmoid(self):
        s = 1 / (1 + math.exp(-self.val)) if self.val >= 0 else math.exp(self.val) / (1 + math.exp(self.val))
        return self._node(s, (self,), (s * (1 - s),))

    def relu(self):
        return self._node(max(self.val, 0.0), (self,), (float(self.val > 0),))

    def backprop(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((c, False) for c in node._children)
        self.gradient = 1.0
        for node in reversed(order):
            if node._grad_fn:
                node._grad_fn()

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + -Scalar.lift(other)

    def __rsub__(self, other):
        return Scalar.lift(other) - self

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * Scalar.lift(other) ** -1

    def __rtruediv__(self, other):
        return Scalar.lift(other) * self**-1
