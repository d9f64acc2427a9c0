"""tinygrad: expressions and MLP training on float64 (or float32) tensors, differentiated by Tensor.gradient, run by TinyJit.

tinygrad is imported when the backend is created (`backends.get("tinygrad")`), which also selects its CPU device with
C code compiled by clang (DEV=CPU:CLANG) for the whole process, whatever DEV says. That device needs clang even for its
own worker programs; without clang the backend is unavailable: tinygrad's PYTHON device would work but emulates every
kernel in Python, thousands of times slower than the CPU device (seconds per demo step), so there is no fallback to it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from typing import Any

from backends.base import Backend, BackendUnavailable, CannotRun, Gradients, Trainer, check_dtype, function_depth, stderr_captured
from backends.expr import BINARY, Expression
from backends.training import TrainSpec, from_matrices, to_matrices
from micrograd._install import pip_install

MAX_POWER_TOWER = 8
# clang refuses brackets nested more than 256 deep, and the one kernel of a chain of functions can nest them: a bare
# tanh chain 100 deep compiles (2 s) and 200 deep fails (4 s; 2,000 deep: 70 s), while the catalog's tanh_chain (250
# nested, with additions between) compiles. So clang's refusal is caught (CannotRun) whatever the depth, and past
# this many nested functions, where trying only costs time, the expression is skipped before trying
MAX_FUNCTION_DEPTH = 500
# every input's gradient is a padded view of the one input tensor, and the kernel that sums them grows with the inputs:
# a sum of 500 inputs takes 17 s, 1,000 take 23 s, 5,000 take 90 s and 3.6 GB (mostly clang), so past this many the
# expression is skipped before trying
MAX_INPUTS = 1_000


class TinygradBackend(Backend):
    name = "tinygrad"

    def __init__(self) -> None:
        try:
            import tinygrad
            from tinygrad.helpers import DEV
        except ImportError:
            raise BackendUnavailable(f"tinygrad is not installed here; fix: {pip_install('tinygrad')}") from None
        if shutil.which("clang") is None:
            raise BackendUnavailable("tinygrad's CPU device needs clang: apt-get install clang")
        DEV.value = "CPU:CLANG"
        Tensor, float64 = tinygrad.Tensor, tinygrad.dtypes.float64
        try:  # opens the device and compiles one float64 kernel, so a broken toolchain shows here and not mid-run
            Tensor([0.0], dtype=float64).exp().item()
        except Exception as exc:
            raise BackendUnavailable(
                f"tinygrad's CPU device does not work here ({type(exc).__name__}: {exc}); it compiles with clang: "
                "check that `clang --version` runs"
            ) from exc
        self.tinygrad = tinygrad
        # the expression language's functions -> tinygrad's own
        self.functions = {name: getattr(Tensor, name) for name in ("relu", "tanh", "exp", "log", "sigmoid")}

    def compile(self, expr: Expression, dtype: str = "float64") -> Callable[[Mapping[str, float]], Gradients]:
        check_dtype(self.name, dtype)
        Tensor, native, functions = self.tinygrad.Tensor, getattr(self.tinygrad.dtypes, dtype), self.functions
        # a power whose exponent is computed by another power: tinygrad 0.14's rewriter pushes a cast to int through
        # the exponent's nan branch and raises "cannot convert float NaN to integer"; such an exponent is made
        # contiguous (computed in a kernel of its own), which gives the same numbers and no crash
        own_kernel, tower = _power_towers(expr)
        lifted = expr.lifted_constants
        if tower > MAX_POWER_TOWER:
            raise ValueError(
                f"tinygrad: a tower of {tower} powers with computed exponents (like x**y**z**...) is more than this "
                f"adapter compiles (at most {MAX_POWER_TOWER}: each level is a kernel of its own, seconds apiece)"
            )
        if len(expr.inputs) > MAX_INPUTS:
            raise CannotRun(
                f"tinygrad's gradient kernel grows with the inputs, and {len(expr.inputs):,} are more than {MAX_INPUTS:,}"
            )
        if (nested := function_depth(expr)) > MAX_FUNCTION_DEPTH:
            raise CannotRun(f"clang nests brackets at most 256 deep, and {nested:,} nested functions need more")

        position = {name: k for k, name in enumerate(expr.inputs)}  # a dict: inputs.index() would be quadratic

        def value_and_grads(xs: Any) -> Any:
            # the leaves are views of one input tensor on the device: a Tensor made from a bare Python number
            # would be a constant, which tinygrad never differentiates
            vals: list[Any] = []
            for i, node in enumerate(expr.nodes):
                if node.op == "input":
                    vals.append(xs[position[node.name]])
                elif node.op == "const":  # an operation on constants alone runs on tensors of the dtype
                    vals.append(Tensor(node.value, dtype=native) if i in lifted else node.value)
                elif node.op == "neg":
                    vals.append(-vals[node.args[0]])
                elif node.op in BINARY:
                    a, b = (vals[k] for k in node.args)
                    vals.append(BINARY[node.op](a, b.contiguous() if i in own_kernel else b))
                else:
                    vals.append(functions[node.op](vals[node.args[0]]))
            out = vals[-1]
            (grads,) = out.gradient(xs)
            return out.reshape(1).cat(grads).realize()

        # runs as is on the first call, captures its kernels on the second, replays them from the third on
        compiled = self.tinygrad.TinyJit(value_and_grads)
        calls = [0]

        def value_and_grad(inputs: Mapping[str, float]) -> Gradients:
            xs = Tensor([float(inputs[name]) for name in expr.inputs], dtype=native)
            # the whole expression becomes one kernel; ordering its instructions by their whole subgraphs (tinygrad's
            # default) takes time cubic in the depth: 870 s instead of 12 s for a tanh chain 250 deep
            with self.tinygrad.Context(TUPLE_ORDER=0):
                if calls[0] >= 2:  # replaying compiled kernels: no compiler runs (and timings stay untouched)
                    value, *grads = compiled(xs).tolist()
                else:
                    calls[0] += 1
                    value, *grads = _compiling(lambda: compiled(xs).tolist())
            return Gradients(value, dict(zip(expr.inputs, grads)))

        return value_and_grad

    def trainer(self, spec: TrainSpec) -> Trainer:
        return TinygradTrainer(spec, self.tinygrad)


def _compiling(call: Callable[[], list[float]]) -> list[float]:
    """`call()` with clang's stderr kept out of the terminal; a failure clang explains is CannotRun with its reason."""
    with stderr_captured() as compiler_output:
        try:
            return call()
        except Exception as exc:
            said = [line for line in compiler_output().splitlines() if "error:" in line]
            if not said:
                raise
            raise CannotRun(f"clang: {said[0].split('error:', 1)[1].strip()}") from exc


def _power_towers(expr: Expression) -> tuple[set[int], int]:
    """The pow nodes whose exponent is computed by a pow (with a non-number exponent), and the tallest tower:
    how many such powers are stacked in one another's exponents (x**y**z is 2, x**2 is 0)."""
    height = [0] * len(expr.nodes)  # node i's tallest tower of powers with non-number exponents
    stacked = set()
    for i, node in enumerate(expr.nodes):
        height[i] = max((height[a] for a in node.args), default=0)
        if node.op == "pow" and expr.nodes[node.args[1]].op != "const":
            if height[node.args[1]] > 0:
                stacked.add(i)
            height[i] = max(height[i], height[node.args[1]] + 1)
    return stacked, max(height, default=0)


class TinygradTrainer(Trainer):
    """Per layer W (nout x nin) and b as float64 tensors; each step (forward, loss, gradient, SGD update) is one
    TinyJit-captured run of kernels. The step index k is a symbolic Variable that picks step k's learning rate and batch
    from tensors already on the device, so the captured kernels serve every step and no step builds a tensor."""

    def __init__(self, spec: TrainSpec, tinygrad: Any):
        super().__init__(spec)
        self.tinygrad = tinygrad
        Tensor, dtypes = tinygrad.Tensor, tinygrad.dtypes

        def tensor(data: list[Any], dtype: Any = dtypes.float64) -> Any:
            return Tensor(data, dtype=dtype).realize()

        self.params = [(tensor(W), tensor(b)) for W, b in to_matrices(spec.weights)]
        self.X, self.y = tensor(spec.X), tensor(spec.y)
        full_batch = all(len(rows) == len(spec.X) for rows in spec.batches)
        self.batches = None if full_batch else tensor(spec.batches, dtypes.int32)  # (steps, batch_size) row indices
        self.rates = tensor([spec.learning_rate(k) for k in range(spec.steps)])
        self.activation = {"relu": Tensor.relu, "tanh": Tensor.tanh}[spec.activation]
        self.k_var = tinygrad.Variable("k", 0, spec.steps - 1)
        self.step_fn = tinygrad.TinyJit(self._sgd_step)
        # TinyJit runs its first call as is and captures the kernels of its second: make both now, on step 0's batch,
        # then put the weights back, so that step 0 starts from spec.weights and no step pays for compilation
        start = [p.clone().realize() for p in self._flat_params()]
        for _ in range(2):
            self.step_fn(self.k_var.bind(0))
        for p, p0 in zip(self._flat_params(), start):
            p.assign(p0)
        Tensor.realize(*self._flat_params())

    def _batch(self, k: Any) -> tuple[Any, Any]:
        if self.batches is None:
            return self.X, self.y
        rows = self.batches[k]
        return self.X[rows], self.y[rows]

    def _step(self, k: int) -> tuple[float, float]:
        spec = self.spec
        loss, correct = self.step_fn(self.k_var.bind(k)).tolist()
        return loss, int(correct) / len(spec.batches[k])

    def weights(self) -> list[list[list[float]]]:
        return from_matrices([(W.tolist(), b.tolist()) for W, b in self.params])

    def _sgd_step(self, k: Any) -> Any:
        """Step k (a bound Variable): [loss, number classified right] before the update, and the SGD update in place."""
        X, y = self._batch(k)
        loss, correct = self._loss_and_correct(X, y)
        params = self._flat_params()
        lr = self.rates[k]
        for p, g in zip(params, loss.gradient(*params)):
            p.assign(p - lr * g)
        result = loss.reshape(1).cat(correct.cast(loss.dtype).reshape(1))
        self.tinygrad.Tensor.realize(result, *params)
        return result

    def _loss_and_correct(self, X: Any, y: Any) -> tuple[Any, Any]:
        """The loss on the batch (X, y), and how many of its rows the scores' signs classify right."""
        spec = self.spec
        h = X
        for i, (W, b) in enumerate(self.params):
            h = h @ W.T + b
            if i < len(self.params) - 1:  # the output layer is linear
                h = self.activation(h)
        scores = h[:, 0]
        data_loss = (1 - y * scores).relu().mean() if spec.loss == "svm" else ((scores - y) ** 2).mean()
        loss = data_loss + spec.alpha * sum((p * p).sum() for p in self._flat_params())
        # the count, not a mean: a mean may become sum * (1/n), one ulp off micrograd's correct / n
        return loss, ((y > 0) == (scores > 0)).sum()

    def _flat_params(self) -> list[Any]:
        return [p for layer in self.params for p in layer]
