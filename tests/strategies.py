"""Hypothesis strategies: random expressions (built with `Expression.build`) with input values at which every op
is inside its domain and away from its kinks and poles, so that every backend and finite differences must agree.

Guards are applied while building, from micrograd's forward values: an argument too close to an edge is
replaced by a safe one (a*a + 0.5). What is left (a value or gradient beyond 1e6, an edge the guard missed)
is rejected with assume(): about one example in seven.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

from hypothesis import assume
from hypothesis import strategies as st

from backends import expr as ex
from backends.expr import Expression, Sym
from comparisons.judge.agreement import node_values
from micrograd.engine import Value

NAMES = ("x", "y", "z")
EDGE = 1e-3  # how far relu args, log args, denominators and pow bases keep from 0
MAX_MAGNITUDE = 1e6  # of every value and gradient, so that nothing overflows and rounding stays small
# Beyond |x| = 6, tanh'(x) = 1 - tanh(x)**2 is a difference of numbers within 2e-5 of each other: the last-bit
# differences between frameworks' tanh grow past 1e-9 relative (the tanh_tail divergence in the catalog).
TAIL = 6.0
UNARY = ("neg", "relu", "tanh", "exp", "log", "sigmoid")
BINARY = ("add", "sub", "mul", "div", "pow_number", "pow_value", "number_pow")
NUMBER_EXPONENTS = (2, 3, -1, -2, 0.5, 1.5, -0.5, 2.5)
NUMBER_BASES = (2.0, 0.5, 3.0, 1.5)
NUMBERS = (2.0, -1.5, 0.5, 3)


@dataclass(frozen=True)
class Example:
    """An expression and the input values to differentiate it at."""

    expression: Expression
    inputs: dict[str, float]

    def __repr__(self) -> str:
        return f"Example({str(self.expression)!r}, {self.inputs!r})"


class _Node:
    """A Sym and its value under micrograd, built together so guards can see the value."""

    __slots__ = ("sym", "value")

    def __init__(self, sym: Sym, value: Value | float):
        self.sym, self.value = sym, value

    @property
    def data(self) -> float:
        return self.value.data if isinstance(self.value, Value) else self.value


def _apply(op: str, *args: _Node | float) -> _Node:
    syms = [a.sym if isinstance(a, _Node) else a for a in args]
    values = [a.value if isinstance(a, _Node) else a for a in args]
    if op == "neg":
        return _Node(-syms[0], -values[0])
    if op in ex.BINARY:
        return _Node(ex.BINARY[op](syms[0], syms[1]), ex.BINARY[op](values[0], values[1]))
    return _Node(getattr(ex, op)(syms[0]), getattr(values[0], op)())


def _data(a: _Node | float) -> float:
    return a.data if isinstance(a, _Node) else a


def _safe(a: _Node) -> _Node:
    """a*a + 0.5: positive, at least 0.5, still a function of a."""
    return _apply("add", _apply("mul", a, a), 0.5)


def _unary(op: str, a: _Node) -> _Node:
    if op == "relu" and abs(a.data) < EDGE:
        a = _apply("add", a, 1.0)
    elif op == "log" and a.data < EDGE:
        a = _safe(a)
    elif op in ("exp", "tanh"):
        while abs(a.data) > TAIL:  # exp (and exp of exp) stays in range; tanh out of its tails (see TAIL)
            a = _apply("mul", a, 0.1)
    return _apply(op, a)


def _pow_number(a: _Node, k: float) -> _Node:
    if (not float(k).is_integer() and a.data < EDGE) or (k < 0 and abs(a.data) < EDGE):
        a = _safe(a)
    return _apply("pow", a, k)


@st.composite
def examples(draw: st.DrawFn, max_depth: int = 6, names: tuple[str, ...] = NAMES) -> Example:
    """A random expression of depth at most `max_depth` over some of `names`, every op possible, shared
    subexpressions included, with input values in [-2, 2] at which it is smooth and finite."""
    values = {name: draw(st.floats(-2.0, 2.0, allow_subnormal=False)) for name in names}
    leaves = {name: _Node(ex.var(name), Value(v)) for name, v in values.items()}
    pool: list[_Node] = []  # built subexpressions that a later leaf may reuse: a shared node

    def build(depth: int, top: bool = False) -> _Node:
        kinds = ("unary", "binary", "binary") if top else ("unary", "binary", "binary", "leaf")
        kind = draw(st.sampled_from(kinds)) if depth > 0 else "leaf"
        if kind == "leaf":
            if pool and draw(st.integers(0, 3)) == 0:
                return draw(st.sampled_from(pool))
            return leaves[draw(st.sampled_from(names))]
        op = draw(st.sampled_from(UNARY if kind == "unary" else BINARY))
        a = build(depth - 1)
        if kind == "unary":
            node = _unary(op, a)
        elif op == "pow_number":
            node = _pow_number(a, draw(st.sampled_from(NUMBER_EXPONENTS)))
        elif op == "number_pow":  # c ** tanh(a): the exponent stays in (-1, 1)
            node = _apply("pow", draw(st.sampled_from(NUMBER_BASES)), _unary("tanh", a))
        elif op == "pow_value":  # a ** tanh(b), a kept positive so that d/db = log(a) * a**b exists
            node = _apply("pow", a if a.data >= EDGE else _safe(a), _unary("tanh", build(depth - 1)))
        else:  # add sub mul div, with a number on either side now and then
            b: _Node | float = build(depth - 1) if draw(st.integers(0, 3)) else draw(st.sampled_from(NUMBERS))
            if draw(st.booleans()):
                a, b = b, a
            if op == "div" and abs(_data(b)) < EDGE:
                b = _safe(b)
            node = _apply(op, a, b)
        pool.append(node)
        return node

    root = build(draw(st.integers(2, max_depth)), top=True)
    expression = Expression.build(root.sym)
    inputs = {name: values[name] for name in expression.inputs}
    _assume_tame(expression, inputs)
    return Example(expression, inputs)


def _assume_tame(expression: Expression, inputs: dict[str, float]) -> None:
    """Every value and every gradient finite and below MAX_MAGNITUDE, none subnormal, every edge at least EDGE away,
    no tanh in its tails."""
    vals = node_values(expression, inputs)
    out = vals[-1]
    out.backward()
    for node, v in zip(expression.nodes, vals):
        data, grad = (v.data, v.grad) if isinstance(v, Value) else (v, 0.0)
        assume(math.isfinite(data) and abs(data) < MAX_MAGNITUDE and math.isfinite(grad) and abs(grad) < MAX_MAGNITUDE)
        assume(data == 0 or abs(data) >= sys.float_info.min)  # jax flushes subnormals to 0 (a catalogued divergence)
        if node.op == "tanh":
            assume(abs(_value_data(vals[node.args[0]])) <= TAIL)
        if node.op in ("relu", "log", "div", "pow"):
            edge = vals[node.args[-1] if node.op == "div" else node.args[0]]
            assume(abs(edge.data if isinstance(edge, Value) else edge) >= EDGE)


def _value_data(v: Value | float) -> float:
    return v.data if isinstance(v, Value) else v
