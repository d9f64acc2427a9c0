"""One expression, one training spec, run natively by micrograd, PyTorch, JAX and tinygrad.

`get("jax")` imports the framework only then; `import backends` alone loads none of them.
Every adapter has the same methods (see `backends.base.Backend`): `compile`, `value_and_grad`,
`trainer`, `train`.
"""

from __future__ import annotations

import importlib

from backends.base import Backend, BackendUnavailable, Gradients, Trainer
from backends.expr import Expression, ExpressionError, parse
from backends.training import SpecError, TrainResult, TrainSpec

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


def available() -> dict[str, str | None]:
    """Each backend name -> None if it can run here, else the reason and the fix."""
    status: dict[str, str | None] = {}
    for name in _REGISTRY:
        try:
            get(name)
            status[name] = None
        except BackendUnavailable as exc:
            status[name] = str(exc)
    return status


__all__ = [
    "REFERENCE",
    "Backend",
    "BackendUnavailable",
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
