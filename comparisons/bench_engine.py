"""asv suite: micrograd's engine on its own: building a graph of Values, and backpropagating through it.

The graph is a chain over ten shared leaves (each step: a product, a sum and a relu), so it is as deep as it is
large: the 100,000-node case shows that backward() needs no recursion. Only micrograd.engine.Value is used.
"""

from __future__ import annotations

from typing import Any

from comparisons.bench_support import TIMEOUT, need

LEAVES = 10


def build_graph(Value: Any, nodes: int) -> Any:
    """A graph of about `nodes` Values: LEAVES leaves, then steps of y = relu(y * leaf + leaf), 3 nodes a step."""
    leaves = [Value(0.5 + 0.05 * i) for i in range(LEAVES)]
    y = leaves[0]
    for k in range((nodes - LEAVES) // 3):
        y = (y * leaves[k % LEAVES] + leaves[(k + 3) % LEAVES]).relu()
    return y


class EngineGraph:
    """micrograd.engine.Value: graph construction, and backward() through a graph built in setup."""

    params = ([1_000, 100_000],)
    param_names = ("nodes",)
    timeout = TIMEOUT

    def setup(self, nodes: int) -> None:
        self.Value = need("micrograd.engine", "Value")
        self.out = build_graph(self.Value, nodes)

    def time_build(self, nodes: int) -> None:
        float(build_graph(self.Value, nodes).data)

    def time_backward(self, nodes: int) -> None:
        self.out.backward()


class EngineMemory:
    """The memory a graph and its backward pass take (a class of its own: setup builds no graph here)."""

    params = EngineGraph.params
    param_names = EngineGraph.param_names
    timeout = TIMEOUT

    def setup(self, nodes: int) -> None:
        self.Value = need("micrograd.engine", "Value")

    def peakmem_build_and_backward(self, nodes: int) -> None:
        build_graph(self.Value, nodes).backward()
