"""asv suites: the project's own Python, counted in CPU instructions by valgrind: figures no load can move.

Each figure is the instructions of one operation (a node built or backpropagated, a training step, a parse, a truth,
an adapter call): a fresh interpreter runs the setup, then the work, and valgrind counts the work alone
(bench_support.work_instructions), divided by the operations. Counted processes run with a fixed hash seed, and
two recordings of one commit give the same figures (the README's performance history gives the measured agreement).
Only code this project wrote is counted: the frameworks' own kernels are for the CPU timers of bench_expression.py and
bench_training.py.
"""

from __future__ import annotations

import inspect

from .bench_engine import LEAVES, build_graph
from .bench_support import CATALOG_MODULES, TIMEOUT, WARMUP_CALLS, load_backend, load_case, need, need_first, work_instructions

# Each suite's setup checks, in asv's process (which imports the commit being measured), that this commit has what the
# counted script needs: asv skips a benchmark whose setup raises NotImplementedError, but fails one whose body does.

ENGINE_NODES = 2_000  # build_graph's size: large enough that per-node work dwarfs the fixed part of a call
GRAPH = inspect.getsource(build_graph)  # the same graph as bench_engine's timers
ENGINE_SETUP = f"from __future__ import annotations\nfrom micrograd.engine import Value\nLEAVES = {LEAVES}\n{GRAPH}\n"
MODULES = repr(CATALOG_MODULES)
# the catalog and the truth, from wherever this commit keeps them (they moved into comparisons/judge/)
FIND = f"""
import importlib
def find(name):
    for package in {MODULES}:
        try:
            return importlib.import_module(package.rsplit(".", 1)[0] + "." + name)
        except ImportError:
            pass
    raise NotImplementedError("no " + name)
"""


def case_setup(case: str) -> str:
    """A script that loads a catalog case's source and inputs (`source`, `inputs`) and the parser (`parse`)."""
    return (
        FIND
        + f"case = find('catalog').get_case({case!r})\nsource, inputs = case.source, dict(case.inputs)\n"
        + ("from backends import parse\n")
    )


class EngineCounts:
    """micrograd.engine.Value: instructions per node to build a graph, and to backpropagate through it."""

    timeout = TIMEOUT

    def setup(self) -> None:
        need("micrograd.engine", "Value")

    def track_build(self) -> float:
        nodes = len(range((ENGINE_NODES - LEAVES) // 3)) * 3
        return work_instructions(ENGINE_SETUP, f"build_graph(Value, {ENGINE_NODES})", nodes)

    track_build.unit = "instructions/node"  # type: ignore[attr-defined]  # asv reads the unit from the method

    def track_backward(self) -> float:
        setup = ENGINE_SETUP + f"out = build_graph(Value, {ENGINE_NODES})\n"
        return work_instructions(setup, "out.backward()", ENGINE_NODES)

    track_backward.unit = "instructions/node"  # type: ignore[attr-defined]


class TrainingCounts:
    """micrograd's demo training step (the 2-16-16-1 MLP on 100 points): forward, loss, backward, SGD update."""

    timeout = TIMEOUT

    def setup(self) -> None:
        load_backend("micrograd")
        need("backends", "TrainSpec")

    def track_demo_step(self) -> float:
        setup = (
            "from backends import TrainSpec, get\n"
            "trainer = get('micrograd').trainer(TrainSpec.demo(steps=10))\n"
            f"for _ in range({WARMUP_CALLS}):\n    trainer.step()\n"
        )
        return work_instructions(setup, "trainer.step()", 1)

    track_demo_step.unit = "instructions/step"  # type: ignore[attr-defined]


class ParserCounts:
    """backends.parse on the catalog's tanh_chain (250 assignments, about 1,000 nodes): instructions per node parsed."""

    timeout = TIMEOUT

    def setup(self) -> None:
        nodes_of("tanh_chain")

    def track_parse(self) -> float:
        return work_instructions(case_setup("tanh_chain"), "parse(source)", nodes_of("tanh_chain"))

    track_parse.unit = "instructions/node"  # type: ignore[attr-defined]


def nodes_of(case: str) -> int:
    """The node count of a catalog case, parsed by the commit being measured."""
    source, _ = load_case(case)
    return len(need("backends", "parse")(source).nodes)


class TruthCounts:
    """The exact value and gradients of a catalog case (comparisons' judge: mpmath, correctly rounded), per call."""

    params = (["mixed", "micrograd_more_ops"],)
    param_names = ("case",)
    timeout = TIMEOUT

    def setup(self, case: str) -> None:
        load_case(case)
        need_first(tuple(module.replace("catalog", "truth") for module in CATALOG_MODULES), "truth")

    def track_truth(self, case: str) -> float:
        setup = case_setup(case) + "truth = find('truth').truth\nexpr = parse(source)\n"
        return work_instructions(setup, "truth(expr, inputs)", 1)

    track_truth.unit = "instructions/call"  # type: ignore[attr-defined]


class AdapterCounts:
    """An adapter's per-call overhead on Karpathy's 10-node neuron: backends.get(name).compile(expr)(inputs), the
    compiled function called once more after warming up. Only micrograd: the frameworks' calls run their own code."""

    params = (["micrograd"],)
    param_names = ("backend",)
    timeout = TIMEOUT

    def setup(self, backend: str) -> None:
        load_backend(backend)
        load_case("neuron")

    def track_call(self, backend: str) -> float:
        setup = (
            case_setup("neuron")
            + f"from backends import get\nvalue_and_grad = get({backend!r}).compile(parse(source))\n"
            + f"for _ in range({WARMUP_CALLS}):\n    value_and_grad(inputs)\n"
        )
        return work_instructions(setup, "value_and_grad(inputs)", 1)

    track_call.unit = "instructions/call"  # type: ignore[attr-defined]
