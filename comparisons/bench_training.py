"""asv suites: MLP training on two moons, per backend: one SGD step at two model sizes, and a whole 100-step run.

Each trainer is built in `setup` (that includes any jit warm-up) and, for the step suite, has taken one step
there already (all but micrograd's, which compiles nothing). `track_final_loss` puts the loss each backend
reaches on the dashboard, where a backend that trains differently from the others stands out.
"""

from __future__ import annotations

from typing import Any

from comparisons.bench_support import BACKENDS, TIMEOUT, load_backend, train_spec

# TrainSpec.demo() arguments; steps are plenty, so that no timing loop runs out of scheduled steps
STEP_SIZES: dict[str, dict[str, Any]] = {
    "demo": {"steps": 1_000},  # 100 samples, MLP 2-16-16-1: the classic demo
    "wide": {"hidden": (64, 64), "n_samples": 1000, "steps": 1_000},  # MLP 2-64-64-1 on 1,000 samples
}
RUN_SIZES: dict[str, dict[str, Any]] = {
    "demo": {},  # the classic demo: 100 full-batch steps on 100 samples
    "minibatch": {"n_samples": 1000, "batch_size": 50},  # 100 steps, each on 50 of 1,000 samples
}


def _spec(overrides: dict[str, Any]) -> Any:
    try:
        return train_spec(**overrides)
    except TypeError as exc:  # an older TrainSpec.demo without one of these arguments
        raise NotImplementedError(f"this commit's TrainSpec.demo does not take {sorted(overrides)}: {exc}") from None


class TrainingStep:
    """Trainer.step(): forward, loss, backward and the SGD update on one batch."""

    params = (BACKENDS, list(STEP_SIZES))
    param_names = ("backend", "size")
    timeout = TIMEOUT
    number = 1  # setup runs before every sample, so each timed step has a freshly warmed-up trainer
    warmup_time = 0.0  # the warm-up step is in setup

    def setup(self, backend: str, size: str) -> None:
        self.trainer = load_backend(backend).trainer(_spec(STEP_SIZES[size]))
        if backend != "micrograd":  # micrograd compiles nothing, and its wide step takes seconds
            self.trainer.step()  # the first step may still compile or allocate

    def time_step(self, backend: str, size: str) -> None:
        loss, _ = self.trainer.step()
        float(loss)

    def peakmem_step(self, backend: str, size: str) -> None:
        self.trainer.step()


class TrainingRun:
    """Trainer.run(): all 100 steps of a spec, from the same initial weights in every backend (no time_: that is
    TrainingStep's job, and a whole run in micrograd takes seconds)."""

    params = (BACKENDS, list(RUN_SIZES))
    param_names = ("backend", "size")
    timeout = TIMEOUT

    def setup(self, backend: str, size: str) -> None:
        self.trainer = load_backend(backend).trainer(_spec(RUN_SIZES[size]))
        if not hasattr(self.trainer, "run"):
            raise NotImplementedError(f"this commit's {type(self.trainer).__name__} has no run()")

    def track_final_loss(self, backend: str, size: str) -> float:
        """The loss of the last step (computed before its update), as the spec defines it."""
        return float(self.trainer.run().losses[-1])

    track_final_loss.unit = "loss"  # type: ignore[attr-defined]  # asv reads the unit off the function
