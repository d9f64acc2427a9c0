"""asv suite: one expression's value and gradients (forward + backward), per backend, on catalog cases of growing size.

Compilation and jit warm-up happen in `setup`; the timed call returns Python floats, so its work is done when it
returns. (No peakmem_ here: a scalar graph's memory vanishes beside the framework's own; bench_training has it.)
`track_max_grad_error` puts each backend's disagreement with micrograd on the dashboard beside its speed.
"""

from __future__ import annotations

from comparisons.bench_support import BACKENDS, TIMEOUT, compile_source, load_backend, load_case, max_gradient_error

# catalog names (comparisons/catalog.py is append-only, so these mean the same workload in every commit's results)
# (not tanh_chain: tinygrad took over a minute here to compile its 250-deep chain, past a benchmark's 60 s)
CASES = [
    "neuron",  # Karpathy's lecture neuron: 5 inputs, 10 nodes
    "micrograd_more_ops",  # micrograd's own test_more_ops: 35 nodes, names reused
    "sum_1000",  # 4,000 nodes: 1,000 products over 10 inputs, summed
]


class ExpressionGradients:
    """backends.get(backend).compile(parse(source)) called on the case's inputs."""

    params = (BACKENDS, CASES)
    param_names = ("backend", "case")
    timeout = TIMEOUT

    def setup(self, backend: str, case: str) -> None:
        self.backend = load_backend(backend)
        self.source, self.inputs = load_case(case)
        self.value_and_grad = compile_source(self.backend, self.source)
        self.value_and_grad(self.inputs)  # the first call compiles (jax.jit, tinygrad's kernels)

    def time_value_and_grad(self, backend: str, case: str) -> None:
        float(self.value_and_grad(self.inputs).value)

    def track_max_grad_error(self, backend: str, case: str) -> float:
        reference = compile_source(load_backend("micrograd"), self.source)(self.inputs)
        return max_gradient_error(self.value_and_grad(self.inputs), reference)

    track_max_grad_error.unit = "relative error"  # type: ignore[attr-defined]  # asv reads the unit off the function
