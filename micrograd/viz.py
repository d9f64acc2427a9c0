"""Draw a computation graph with graphviz: a record node (data | grad) per Value, an op node per operation.

Karpathy's trace_graph notebook style. The graphviz Python package (the `viz` extra) is imported only here, when
a graph is drawn; rendering also needs graphviz's `dot` program. Either missing raises GraphvizUnavailable.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from micrograd._install import pip_install
from micrograd.engine import Value, _topological_order

if TYPE_CHECKING:
    import graphviz

DOT_MISSING = (
    "rendering needs graphviz's `dot` program, which is not on PATH; install it with: apt-get install graphviz "
    "(macOS: brew install graphviz); the graph's source text (.source) needs no `dot`"
)


class GraphvizUnavailable(RuntimeError):
    """The graphviz package or its `dot` program is missing; the message says how to install it."""


def draw_dot(root: Value, format: str = "svg", rankdir: str = "LR") -> graphviz.Digraph:
    """The graph that computed `root`, each Value showing its data and grad, as a graphviz.Digraph."""
    if rankdir not in ("LR", "TB"):
        raise ValueError(f"draw_dot: rankdir must be 'LR' (left to right) or 'TB' (top to bottom), got {rankdir!r}")
    if not isinstance(root, Value):
        raise TypeError(f"draw_dot: expected a micrograd Value, got {type(root).__name__}")
    try:
        import graphviz
    except ImportError as exc:
        raise GraphvizUnavailable(f"draw_dot needs the graphviz Python package; install it with: {pip_install('viz')}") from exc
    dot = _digraph_class(graphviz)(format=format, graph_attr={"rankdir": rankdir})
    for node in _topological_order(root):
        name = str(id(node))
        dot.node(name, label=f"{{ data {node.data:.4f} | grad {node.grad:.4f} }}", shape="record")
        if node._op:
            dot.node(name + node._op, label=_op_label(node))
            dot.edge(name + node._op, name)
            for child in node._prev:
                dot.edge(str(id(child)), name + node._op)
    return dot


def _op_label(node: Value) -> str:
    """The op, and for x + c and x * c the number c, which is not a Value and so has no node of its own."""
    a = node._a
    if node._op in ("+", "*") and node._b is None and isinstance(a, Value):
        number = node._da if node._op == "*" else node.data - a.data  # c itself, or c to the shown digits
        return f"{node._op} {number:.4g}"
    return node._op


@functools.cache
def _digraph_class(graphviz: Any) -> type[graphviz.Digraph]:
    """graphviz.Digraph, except that rendering without `dot` raises GraphvizUnavailable with the fix."""

    class Digraph(graphviz.Digraph):  # type: ignore[misc]  # graphviz comes in as Any: it is imported lazily
        def render(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().render(*args, **kwargs)
            except graphviz.ExecutableNotFound as exc:
                raise GraphvizUnavailable(DOT_MISSING) from exc

        def pipe(self, *args: Any, **kwargs: Any) -> Any:  # also what Jupyter calls to show the graph
            try:
                return super().pipe(*args, **kwargs)
            except graphviz.ExecutableNotFound as exc:
                raise GraphvizUnavailable(DOT_MISSING) from exc

    return Digraph
