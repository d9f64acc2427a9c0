"""asv suites: MLP training on two moons, per backend: one SGD step at two model sizes, and the loss a short run reaches.

Each step-suite trainer is built and has taken its first step (any jit warm-up) once per process
(bench_support's functools.cache), and then keeps stepping: a step costs the same whatever the weights.
`track_final_loss` puts the loss each backend reaches on the dashboard, where a backend that trains differently
from the others stands out.
"""

from __future__ import annotations

import functools
from typing import Any

from .bench_support import BACKENDS, TIMEOUT, WARMUP_CALLS, cpu_timed, load_backend, train_spec

# TrainSpec.demo() arguments; steps are plenty, so that no timing loop runs out of scheduled steps
STEP_SIZES: dict[str, dict[str, Any]] = {
    "demo": {"steps": 10_000},  # 100 samples, MLP 2-16-16-1: the classic demo
    "wide": {"hidden": (64, 64), "n_samples": 1000, "steps": 10_000},  # MLP 2-64-64-1 on 1,000 samples
}
# 20 steps show a trajectory as well as 100 do (each step's loss feeds the next), at a fifth of micrograd's time
RUN_SIZES: dict[str, dict[str, Any]] = {
    "demo": {"steps": 20},  # the classic demo, full batch on 100 samples
    "minibatch": {"n_samples": 1000, "batch_size": 50, "steps": 20},  # each step on 50 of 1,000 samples
}


def _spec(overrides: dict[str, Any]) -> Any:
    try:
        return train_spec(**overrides)
    except TypeError as exc:  # an older TrainSpec.demo without one of these arguments
        raise NotImplementedError(f"this commit's TrainSpec.demo does not take {sorted(overrides)}: {exc}") from None


@functools.cache
def warm_trainer(backend: str, size: str) -> Any:
    """A trainer for STEP_SIZES[size] that has taken WARMUP_CALLS steps (the first compile or allocate)."""
    trainer = load_backend(backend).trainer(_spec(STEP_SIZES[size]))
    for _ in range(WARMUP_CALLS):
        trainer.step()
    return trainer


@cpu_timed
class TrainingStep:
    """Trainer.step(): forward, loss, backward and the SGD update on one batch."""

    params = (BACKENDS, list(STEP_SIZES))
    param_names = ("backend", "size")
    timeout = TIMEOUT
    rounds = 1  # one process per combination: a second would build and warm up every trainer again
    repeat = (5, 30, 1.0)  # 5 to 30 samples (one step each), sampling stops after 1 s
    warmup_time = 0.0  # the warm-up step is in setup

    def setup(self, backend: str, size: str) -> None:
        if (backend, size) == ("micrograd", "wide"):
            # a scalar engine on 1,000 samples x 4,500 weights: seconds a step, and nothing the demo size does not show
            raise NotImplementedError("micrograd's wide step is not measured: the demo size shows its engine's speed")
        self.trainer = warm_trainer(backend, size)

    def time_step(self, backend: str, size: str) -> None:
        loss, _ = self.trainer.step()
        float(loss)


class TrainingRun:
    """Trainer.run(): every step of a short spec, from the same initial weights in every backend (no time_: that is
    TrainingStep's job)."""

    params = (BACKENDS, list(RUN_SIZES))
    param_names = ("backend", "size")
    timeout = TIMEOUT
    rounds = 1  # the loss is the same in every process

    def setup(self, backend: str, size: str) -> None:
        self.trainer = load_backend(backend).trainer(_spec(RUN_SIZES[size]))
        if not hasattr(self.trainer, "run"):
            raise NotImplementedError(f"this commit's {type(self.trainer).__name__} has no run()")

    def track_final_loss(self, backend: str, size: str) -> float:
        """The loss of the last step (computed before its update), as the spec defines it."""
        return float(self.trainer.run().losses[-1])

    track_final_loss.unit = "loss"  # type: ignore[attr-defined]  # asv reads the unit from the method
