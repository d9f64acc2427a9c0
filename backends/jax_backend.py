"""JAX: expressions and MLP training as pure functions, differentiated by jax.value_and_grad and jax.jit-compiled.

jax is imported when the backend is created (`backends.get("jax")`), which also switches on float64
(jax_enable_x64) and the CPU platform for the whole process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from backends.base import Backend, BackendUnavailable, CannotRun, Gradients, Trainer, check_dtype, function_depth
from backends.expr import Expression
from backends.training import TrainSpec, from_matrices, to_matrices
from micrograd._install import pip_install

# jax runs out of recursion on long chains of functions: a tanh chain 1,500 deep compiles in 9 s, 2,000 deep raises
# RecursionError after 34 s (measured on this project's 2-core machine), so more nested functions than this are skipped
# before trying (a RecursionError on anything else is caught); a sum of 5,000 inputs, 4,999 additions deep, runs
MAX_DEPTH = 1_500


class JaxBackend(Backend):
    name = "jax"

    def __init__(self) -> None:
        try:
            import jax
            import jax.numpy as jnp
        except ImportError:
            raise BackendUnavailable(f"jax is not installed here; fix: {pip_install('jax')}") from None
        jax.config.update("jax_enable_x64", True)
        jax.config.update("jax_platforms", "cpu")  # float64 runs on the CPU, like the other backends here
        self.jax = jax
        # the expression language's functions -> jax's own
        self.functions = {"relu": jax.nn.relu, "tanh": jnp.tanh, "exp": jnp.exp, "log": jnp.log, "sigmoid": jax.nn.sigmoid}

    def compile(self, expr: Expression, dtype: str = "float64") -> Callable[[Mapping[str, float]], Gradients]:
        check_dtype(self.name, dtype)
        if (deep := function_depth(expr)) > MAX_DEPTH:
            raise CannotRun(f"jax runs out of recursion past {MAX_DEPTH:,} nested functions, and this has {deep:,}")
        import numpy as np

        jax, functions = self.jax, self.functions
        # the inputs as numpy scalars of the dtype (the expression's number literals are weakly typed: they follow the
        # inputs); a numpy scalar reaches the jitted function at the cost of a Python float, where jax.numpy.float64(x)
        # first makes a device array: 0.29 ms a call instead of 0.03 (asv's history caught it: 4x on the neuron case)
        native = getattr(np, dtype)

        def constant(c: float) -> Any:  # an operation on constants alone runs on jax arrays of the dtype
            return jax.numpy.asarray(c, dtype=native)

        def f(*xs: Any) -> Any:
            return expr.evaluate(dict(zip(expr.inputs, xs)), functions, constant)

        compiled = jax.jit(jax.value_and_grad(f, argnums=tuple(range(len(expr.inputs)))))

        def value_and_grad(inputs: Mapping[str, float]) -> Gradients:
            try:
                value, grads = compiled(*(native(inputs[name]) for name in expr.inputs))
            except RecursionError:
                raise CannotRun("jax's tracer ran out of recursion depth") from None
            return Gradients(float(value), {name: float(g) for name, g in zip(expr.inputs, grads)})

        return value_and_grad

    def trainer(self, spec: TrainSpec) -> Trainer:
        return JaxTrainer(spec, self.jax)


class JaxTrainer(Trainer):
    """Per layer W (nout x nin) and b in a pytree; each step is one jit-compiled pure function of (params, X, y, lr)."""

    def __init__(self, spec: TrainSpec, jax: Any):
        super().__init__(spec)
        import numpy as np

        def array(data: list[Any]) -> Any:
            return jax.numpy.asarray(data, dtype=jax.numpy.float64)

        self.params = [(array(W), array(b)) for W, b in to_matrices(spec.weights)]
        # numpy for picking a minibatch's rows; the full batch on the device once, so a full-batch step copies no data
        self.X, self.y = np.asarray(spec.X, dtype=np.float64), np.asarray(spec.y, dtype=np.float64)
        self.full_batch = (array(spec.X), array(spec.y))
        self.step_fn = jax.jit(_make_step(jax, spec))
        # compile now, on the shape of a batch, so that no step pays for it; the result is discarded
        X, y = self._batch(0)
        jax.block_until_ready(self.step_fn(self.params, X, y, 0.0))

    def _batch(self, k: int) -> tuple[Any, Any]:
        rows = self.spec.batches[k]
        return self.full_batch if len(rows) == len(self.X) else (self.X[rows], self.y[rows])

    def _step(self, k: int) -> tuple[float, float]:
        spec = self.spec
        X, y = self._batch(k)
        self.params, loss_and_correct = self.step_fn(self.params, X, y, spec.learning_rate(k))
        loss, correct = loss_and_correct.tolist()  # one copy from the device, not one per number
        return loss, int(correct) / len(y)

    def weights(self) -> list[list[list[float]]]:
        return from_matrices([(W.tolist(), b.tolist()) for W, b in self.params])


def _make_step(jax: Any, spec: TrainSpec) -> Callable[..., Any]:
    """The pure SGD step of `spec`: (params, X, y, lr) -> (new params, [loss, number classified right]), before the update."""
    jnp = jax.numpy
    activation = {"relu": jax.nn.relu, "tanh": jnp.tanh}[spec.activation]

    def loss_and_correct(params: list[Any], X: Any, y: Any) -> tuple[Any, Any]:
        h = X
        for i, (W, b) in enumerate(params):
            h = h @ W.T + b
            if i < len(params) - 1:  # the output layer is linear
                h = activation(h)
        scores = h[:, 0]
        data_loss = jnp.mean(jax.nn.relu(1 - y * scores)) if spec.loss == "svm" else jnp.mean((scores - y) ** 2)
        loss = data_loss + spec.alpha * sum(jnp.sum(p * p) for layer in params for p in layer)
        # the count, not jnp.mean: XLA turns a mean into sum * (1/n), one ulp off micrograd's correct / n
        return loss, jnp.sum((y > 0) == (scores > 0))

    def step(params: list[Any], X: Any, y: Any, lr: float) -> tuple[list[Any], Any]:
        (loss, correct), grads = jax.value_and_grad(loss_and_correct, has_aux=True)(params, X, y)
        return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads), jnp.stack([loss, correct.astype(loss.dtype)])

    return step
