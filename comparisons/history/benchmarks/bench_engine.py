"""asv suite: micrograd's engine on its own: building a graph of Values, backpropagating through it, and its memory.

The graph is a chain over ten shared leaves (each step: a product, a sum and a relu), so it is as deep as it is
large: the 100,000-node case shows that backward() needs no recursion. Only micrograd.engine.Value is used.
"""

from __future__ import annotations

import functools
import tracemalloc
from typing import Any

from .bench_support import TIMEOUT, cpu_timed, need

LEAVES = 10


def build_graph(Value: Any, nodes: int) -> Any:
    """A graph of about `nodes` Values: LEAVES leaves, then steps of y = relu(y * leaf + leaf), 3 nodes a step."""
    leaves = [Value(0.5 + 0.05 * i) for i in range(LEAVES)]
    y = leaves[0]
    for k in range((nodes - LEAVES) // 3):
        y = (y * leaves[k % LEAVES] + leaves[(k + 3) % LEAVES]).relu()
    return y


@functools.cache
def built_graph(nodes: int) -> Any:
    """One graph per process for time_backward (asv re-runs setup before every timed call)."""
    return build_graph(need("micrograd.engine", "Value"), nodes)


@cpu_timed
class EngineGraph:
    """micrograd.engine.Value: graph construction, and backward() through a graph built once per process."""

    params = ([1_000, 100_000],)
    param_names = ("nodes",)
    timeout = TIMEOUT
    rounds = 1
    repeat = (3, 20, 1.0)  # 3 to 20 samples, sampling stops after 1 s (the 100,000-node graph: 0.3-0.5 s a call)
    warmup_time = 0.0

    def setup(self, nodes: int) -> None:
        self.Value = need("micrograd.engine", "Value")
        self.out = built_graph(nodes)

    def time_build(self, nodes: int) -> None:
        float(build_graph(self.Value, nodes).data)

    def time_backward(self, nodes: int) -> None:
        self.out.backward()


class EngineMemory:
    """The memory a graph and its backward pass allocate, counted by tracemalloc (not the process's peak RSS, which
    here holds the frameworks bench_support imports for the other suites)."""

    params = EngineGraph.params
    param_names = EngineGraph.param_names
    timeout = TIMEOUT
    rounds = 1

    def setup(self, nodes: int) -> None:
        self.Value = need("micrograd.engine", "Value")

    def track_peak_bytes(self, nodes: int) -> int:
        tracemalloc.start()
        try:
            build_graph(self.Value, nodes).backward()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    track_peak_bytes.unit = "bytes"  # type: ignore[attr-defined]  # asv reads the unit from the method
