"""One expression, one training spec, run natively by micrograd, PyTorch, JAX and tinygrad.

`get("jax")` imports the framework only then; `import backends` alone loads none of them.
Every adapter has the same methods (see `backends.base.Backend`): `compile`, `value_and_grad`,
`trainer`, `train`.
"""

from __future__ import annotations

import importlib

from backends.base import Backend, BackendUnavailable, CannotRun, Gradients, Trainer
from backends.expr import Expression, ExpressionError, parse
from backends.training import SpecError, TrainResult, TrainSpec
from micrograd._install import pip_install

# name -> "module:Class"; the reference comes first
_REGISTRY = {
    "micrograd": "backends.micrograd_backend:MicrogradBackend",
    "torch": "backends.torch_backend:TorchBackend",
    "jax": "backends.jax_backend:JaxBackend",
    "tinygrad": "backends.tinygrad_backend:TinygradBackend",
}
REFERENCE = "micrograd"

_instances: dict[str, Backend] = {}


def names() -> list[str]:
    """Every backend this project knows, installed or not, the reference first."""
    return list(_REGISTRY)


def get(name: str) -> Backend:
    """The backend called `name`, created once; BackendUnavailable (with the fix) if it cannot run here."""
    if name not in _REGISTRY:
        raise BackendUnavailable(f"unknown backend {name!r}; expected one of {', '.join(_REGISTRY)}")
    if name not in _instances:
        module_name, class_name = _REGISTRY[name].split(":")
        _instances[name] = getattr(importlib.import_module(module_name), class_name)()
    return _instances[name]


def select(requested: list[str] | None = None) -> tuple[list[str], dict[str, str]]:
    """Of `requested` (default: every backend), the names that can run here, and {name: why not, with the fix}."""
    chosen: list[str] = []
    skipped: dict[str, str] = {}
    for name in names() if requested is None else requested:
        try:
            get(name)
            chosen.append(name)
        except ImportError as exc:  # the adapter module itself is missing or broken: the install is incomplete
            skipped[name] = f"its adapter cannot be imported ({exc}); reinstall with {pip_install()}"
        except BackendUnavailable as exc:
            skipped[name] = str(exc)
    return chosen, skipped


def available() -> dict[str, str | None]:
    """Each backend name -> None if it can run here, else the reason and the fix."""
    _, skipped = select()
    return {name: skipped.get(name) for name in names()}


__all__ = [
    "REFERENCE",
    "Backend",
    "BackendUnavailable",
    "CannotRun",
    "Expression",
    "ExpressionError",
    "Gradients",
    "SpecError",
    "TrainResult",
    "TrainSpec",
    "Trainer",
    "available",
    "get",
    "names",
    "parse",
]
