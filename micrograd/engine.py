"""A scalar-valued autograd engine: `Value` records how it was computed, `backward()` applies the chain rule.

Each op stores its children and the local derivative d(out)/d(child) of each, as plain floats, at forward time
(Value.dot reads its operands' data when backward() runs instead). The backward pass is one loop over a topological
order: no closures, no reference cycles (a graph is freed by reference counting alone), no recursion (any depth),
and time linear in the size of the graph.

Domain policy: IEEE 754, as torch and numpy do, in forward and backward alike; never an exception.
log(0) = -inf, log(-1) = nan, exp(1000) = inf, 0 ** -1 = inf, (-8) ** 0.5 = nan, sigmoid(±1000) = 1 or 0 exactly.
Derivatives follow the same rules (d log(x)/dx at 0 is inf, d x**0.5/dx at 0 is inf, d (-2)**y/dy is nan), and
where x**y is constant in one argument (y == 0, or x == 0 with y >= 0) its derivative there is 0, as in torch.

A Value as a Python object, like torch's 0-d tensors where that makes sense: bool(v) is v.data != 0; float(v) is
v.data; v < w, v <= 2.0 (and > >=) compare data and give a bool. v == w and hash(v) are by identity, as in the
original, so Values work as members of sets and keys of dicts (graph code relies on it); v == 3.0, a number,
raises TypeError (write v.data == 3.0) rather than answer False. numpy defers to Value (__array_ufunc__ = None):
np.float64(2) * v is a Value, an array times a Value is a TypeError, never a silent array of objects.
copy.copy shares the children; copy.deepcopy and pickle copy the whole graph, at any depth, keeping shared nodes shared.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from itertools import filterfalse
from numbers import Real

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing, which would double `import micrograd`'s time
if TYPE_CHECKING:
    from typing import Any

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


def _div(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:  # IEEE 754: x/0 is inf with the sign of x*0's, 0/0 and nan/0 are nan
        return _NAN if a == 0 or a != a else math.copysign(_INF, a) * math.copysign(1.0, b)


def _is_odd(x: float) -> bool:
    return x.is_integer() and int(x) % 2 == 1


def _dpow_dbase(x: float, y: float, out: float) -> float:
    if y == 0:
        return 0.0
    d = y * _pow(x, y - 1)
    if (d == 0 or d - d != 0) and x != 0 and out - out == 0 and out != 0:  # x**(y-1) left the float range, x**y did not
        d = (y * out) / x  # scaled up before the division: 2**-1075 underflows, 1074 * 2**-1074 / 2 does not
    return d


def _dpow_dexponent(x: float, y: float, out: float) -> float:
    return 0.0 if x == 0 and y >= 0 else out * _log(x)


def _as_float(x: object, op: str) -> float:
    if type(x) is float:
        return x
    if isinstance(x, Real):
        return float(x)
    raise TypeError(f"{op}: expected a Value or a real number (int or float), got {type(x).__name__}: {x!r:.60}")


class Value:
    """A scalar, its gradient, and the op and children that produced it."""

    # Up to two children (_a, _b) and d(self)/d(child) for each (_da, _db) sit in slots rather than in tuples:
    # a node is then one object and one float, a sixth of the original's memory. Value.dot, the one op with
    # more children, keeps the tuple of its weights in _a, of its inputs in _da, and its bias in _b.
    __slots__ = ("_a", "_b", "_da", "_db", "_op", "data", "grad")
    data: float
    grad: float
    _op: str
    _a: Value | tuple[Value, ...] | None
    _da: Any  # d(self)/d(_a), a float; for Value.dot, the tuple of its inputs (Values, or numbers)
    _b: Value | None
    _db: float

    def __init__(
        self,
        data: float,
        _op: str = "",
        _a: Value | tuple[Value, ...] | None = None,
        _da: float | tuple[Value | float, ...] = 0.0,
        _b: Value | None = None,
        _db: float = 0.0,
    ):
        self.data = data if type(data) is float else _as_float(data, "Value(data)")
        self.grad = 0.0
        self._op = _op
        self._a = _a
        self._da = _da
        self._b = _b
        self._db = _db

    @property
    def _prev(self) -> tuple[Value, ...]:
        """The Values this one was computed from (the original's name, which its graph-drawing code uses)."""
        a, b = self._a, self._b
        if a is None:
            return ()
        if isinstance(a, tuple):  # Value.dot: the bias, the weights, and the inputs that are Values
            assert b is not None  # a dot node always has its bias
            return (b, *a, *(x for x in self._da if type(x) is Value))
        return (a,) if b is None else (a, b)

    # --- primitives: each computes `out` and its local derivatives ---

    def __add__(self, other: Value | float) -> Value:
        if type(other) is Value:
            return Value(self.data + other.data, "+", self, 1.0, other, 1.0)
        return Value(self.data + _as_float(other, "Value + x"), "+", self, 1.0)

    def __mul__(self, other: Value | float) -> Value:
        if type(other) is Value:
            return Value(self.data * other.data, "*", self, other.data, other, self.data)
        k = _as_float(other, "Value * x")
        return Value(self.data * k, "*", self, k)

    def __pow__(self, other: Value | float) -> Value:
        x = self.data
        if type(other) is Value:
            y = other.data
            out = _pow(x, y)
            return Value(out, "**", self, _dpow_dbase(x, y, out), other, _dpow_dexponent(x, y, out))
        k = _as_float(other, "Value ** x")
        out = _pow(x, k)
        return Value(out, f"**{k:g}", self, _dpow_dbase(x, k, out))

    def __rpow__(self, other: float) -> Value:
        base, y = _as_float(other, "x ** Value"), self.data
        out = _pow(base, y)
        return Value(out, f"{base:g}**", self, _dpow_dexponent(base, y, out))

    def __truediv__(self, other: Value | float) -> Value:
        # d(a/b)/db is -(a/b)/b, not -a * b**-2: b**-2 overflows at b = 1e-300 where the derivative is finite
        if type(other) is Value:
            out = _div(self.data, other.data)
            return Value(out, "/", self, _div(1.0, other.data), other, _div(-out, other.data))
        k = _as_float(other, "Value / x")
        return Value(_div(self.data, k), f"/{k:g}", self, _div(1.0, k))

    def __rtruediv__(self, other: float) -> Value:
        k = _as_float(other, "x / Value")
        out = _div(k, self.data)
        return Value(out, f"{k:g}/", self, _div(-out, self.data))

    def relu(self) -> Value:
        x = self.data
        return Value(x if x > 0 else 0.0, "relu", self, 1.0 if x > 0 else 0.0)

    def tanh(self) -> Value:
        x = self.data
        t = math.tanh(x)
        if -0.5 <= x <= 0.5:  # 1 - t*t is correctly rounded at ±0.5, the exp form below one ulp off
            return Value(t, "tanh", self, 1.0 - t * t)
        e = _exp(-2.0 * abs(x))  # 1 - t*t would cancel: t rounds to within 1 ulp of ±1 from |x| = 19 on
        return Value(t, "tanh", self, 4.0 * e / ((1.0 + e) * (1.0 + e)))

    def exp(self) -> Value:
        e = _exp(self.data)
        return Value(e, "exp", self, e)

    def log(self) -> Value:
        x = self.data
        return Value(_log(x), "log", self, 1.0 / x if x != 0 else math.copysign(_INF, x))

    def sigmoid(self) -> Value:
        x = self.data
        # s = 1/(1 + e) and 1 - s = e/(1 + e) for e = exp(-|x|): both without exp overflowing or 1 - s cancelling
        e = _exp(-abs(x))
        s, rest = 1.0 / (1.0 + e), e / (1.0 + e)
        if x < 0:
            s, rest = rest, s
        return Value(s, "sigmoid", self, s * rest)

    @staticmethod
    def dot(weights: Sequence[Value], inputs: Sequence[Value | float], bias: Value) -> Value:
        """bias + sum(w*x): one node instead of 2n, summed left to right exactly as the unfused ops are.

        Its local derivatives are its operands' data (d/dw is x, d/dx is w), which backward() reads when it runs,
        as the original's closures do, rather than copying them now (that copy was a fifth of a training step):
        change a weight's data after backward(), as an optimizer step does, not between the forward pass and it.
        """
        if len(weights) != len(inputs):
            raise ValueError(f"Value.dot: {len(weights)} weights but {len(inputs)} inputs; they must be equal")
        acc = bias.data
        if inputs and type(inputs[0]) is Value:  # a hidden layer: Values only, or else the except below
            try:
                for w, x in zip(weights, inputs):
                    acc += w.data * x.data  # type: ignore[union-attr]  # a number has no .data: the except
                return Value(acc, "dot", tuple(weights), tuple(inputs), bias, 1.0)
            except (AttributeError, TypeError):
                pass  # a number among the Values: the loop below stops at the Value in front, the mixed branch starts over
        numbers: tuple[float, ...] = tuple(inputs)  # type: ignore[arg-type]  # a first layer: floats, or else the break
        for w, number in zip(weights, numbers):
            if type(number) is not float:
                break
            acc += w.data * number
        else:
            return Value(acc, "dot", tuple(weights), numbers, bias, 1.0)
        if Value in map(type, inputs):  # Values and numbers mixed: each number becomes a constant Value
            values = [x if type(x) is Value else Value(_as_float(x, "Value.dot input")) for x in inputs]
            return Value.dot(weights, values, bias)
        return Value.dot(weights, [_as_float(x, "Value.dot input") for x in inputs], bias)  # ints, numpy floats, ...

    # --- derived ops, composed from the primitives ---

    def __neg__(self) -> Value:
        return self * -1.0

    def __radd__(self, other: float) -> Value:
        return self + _as_float(other, "x + Value")

    def __sub__(self, other: Value | float) -> Value:
        return self + (-other if type(other) is Value else -_as_float(other, "Value - x"))

    def __rsub__(self, other: float) -> Value:
        return (-self) + _as_float(other, "x - Value")

    def __rmul__(self, other: float) -> Value:
        return self * _as_float(other, "x * Value")

    # --- the chain rule ---

    def backward(self) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's grad; set every intermediate node's grad afresh.

        Calling it twice doubles the leaves' gradients (as torch does with retain_graph=True) but not
        the intermediate nodes', whose grad always holds this pass's value.
        """
        topo = _topological_order(self, zero_grads=True)
        self.grad += 1.0
        for node in reversed(topo):
            a, g = node._a, node.grad
            if type(a) is Value:
                a.grad += node._da * g
                if node._b is not None:
                    node._b.grad += node._db * g
            elif type(a) is tuple:  # a Value.dot node: the bias, then each weight and input (the other's data)
                node._b.grad += g  # type: ignore[union-attr]  # a Value.dot node always has its bias
                inputs = node._da
                if inputs and type(inputs[0]) is Value:
                    for w, x in zip(a, inputs):
                        w.grad += x.data * g
                        x.grad += w.data * g
                else:
                    for w, number in zip(a, inputs):
                        w.grad += number * g

    def zero_grad(self) -> None:
        """Set the grad of this node and everything it was computed from to 0."""
        for node in _topological_order(self):
            node.grad = 0.0

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    # --- a Value as a Python object: the rules are in the module docstring ---

    __array_ufunc__ = None  # numpy defers to Value's own (reflected) ops rather than building arrays of objects
    __hash__ = object.__hash__  # by identity, as the original: graph code keeps Values in sets and dicts

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Real):
            raise TypeError(
                f"Value == {type(other).__name__}: Values compare by identity (they are graph nodes, kept in sets and "
                f"dicts); to compare numbers, compare the data: v.data == {other}"
            )
        return self is other

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __lt__(self, other: Value | float) -> bool:
        return self.data < _data(other, "Value < x")

    def __le__(self, other: Value | float) -> bool:
        return self.data <= _data(other, "Value <= x")

    def __gt__(self, other: Value | float) -> bool:
        return self.data > _data(other, "Value > x")

    def __ge__(self, other: Value | float) -> bool:
        return self.data >= _data(other, "Value >= x")

    def __bool__(self) -> bool:
        return self.data != 0

    def __float__(self) -> float:
        return self.data

    def __copy__(self) -> Value:
        """A new node with the same data, grad and children (the graph below it is shared, not copied)."""
        return _rebuild(self.data, self.grad, self._op, self._a, self._da, self._b, self._db)

    def __reduce__(self) -> tuple[Callable[..., Value], tuple[object, ...]]:
        """For pickle and copy.deepcopy, which recurse into each object's parts: a root hands over its whole graph
        first, children before parents, so that every node's children are done when its turn comes (no recursion
        deeper than one node, at any depth), and shared nodes stay shared."""
        fields = (self.data, self.grad, self._op, self._a, self._da, self._b, self._db)
        if self._a is None or _IN_A_GRAPH_BEING_COPIED.pop(id(self), None) is not None:
            return _rebuild, fields
        below = _topological_order(self)[:-1]
        # Each node in `below` is reduced right after this, and takes itself off the list; one that pickle or deepcopy
        # has already done (shared with an earlier object) stays until the next root clears the list.
        _IN_A_GRAPH_BEING_COPIED.clear()
        _IN_A_GRAPH_BEING_COPIED.update((id(node), node) for node in below if node._a is not None)
        return _rebuild_below, (below, *fields)


_IN_A_GRAPH_BEING_COPIED: dict[int, Value] = {}


def _rebuild(
    data: float,
    grad: float,
    _op: str,
    _a: Value | tuple[Value, ...] | None,
    _da: float | tuple[Value | float, ...],
    _b: Value | None,
    _db: float,
) -> Value:
    out = Value(data, _op, _a, _da, _b, _db)
    out.grad = grad
    return out


def _rebuild_below(below: list[Value], *fields: Any) -> Value:
    """The root of a graph whose other nodes (`below`) were rebuilt just before it."""
    return _rebuild(*fields)


def _data(x: Value | float, op: str) -> float:
    return x.data if type(x) is Value else _as_float(x, op)


def _topological_order(root: Value, zero_grads: bool = False) -> list[Value]:
    """Every node reachable from root, children before parents; an explicit stack, so no depth limit.

    A child is pushed only while unvisited, so a weight shared by a hundred neurons is pushed once, not a hundred
    times, and a node whose children are all in order already goes straight into it. The order is the plain
    depth-first one: it fixes the order gradients are summed in, so backward()'s floats. With zero_grads, the grad of
    every node that has children is set to 0 as it goes into the order (backward() needs that, and one pass is cheaper
    than two); the leaves' grads are left alone.
    """
    order: list[Value] = []
    visited: set[Value] = set()
    # the children not yet visited, filtered in C; mypy infers the partial's result as filterfalse[object]
    unvisited: Callable[[Iterable[Value]], Iterator[Value]] = partial(filterfalse, visited.__contains__)  # type: ignore[assignment]
    stack: list[Value | None] = [root]
    while stack:
        node = stack.pop()
        if node is None:  # a marker: all the children of the node below it are in order now
            done: Value = stack.pop()  # type: ignore[assignment]  # below a marker there is always a node
            if zero_grads:
                done.grad = 0.0
            order.append(done)
        elif node not in visited:
            visited.add(node)
            a, b = node._a, node._b
            if a is None:  # a leaf
                order.append(node)
                continue
            # Push the node back, under a marker, and above them its unvisited children (the last pushed is visited
            # first); if there are none, the node goes into the order now, as it would when its marker came off.
            if type(a) is Value:
                if a not in visited:
                    stack += (node, None, a) if b is None or b in visited or b is a else (node, None, a, b)
                    continue
                if b is not None and b not in visited:
                    stack += (node, None, b)
                    continue
            elif type(a) is tuple:  # Value.dot: the bias, the weights, the inputs that are Values
                inputs = node._da
                values = inputs if inputs and type(inputs[0]) is Value else ()
                # issuperset checks a whole tuple at C speed: usually every weight and input is seen already
                if b not in visited or not visited.issuperset(a) or not visited.issuperset(values):
                    stack += (node, None)
                    if b not in visited:
                        stack.append(b)
                    stack += unvisited(a)
                    stack += unvisited(values)
                    continue
            if zero_grads:
                node.grad = 0.0
            order.append(node)
    return order
