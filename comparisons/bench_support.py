"""Not a suite: what the asv suites (comparisons/bench_*.py) share to reach the library through its stable interface.

asv runs today's suites against older commits, so every import of the library happens here, inside a suite's
`setup`, and a missing backend or API becomes NotImplementedError, asv's "skipped", carrying the reason.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from typing import Any

BACKENDS = ["micrograd", "torch", "jax", "tinygrad"]  # the reference first, as backends.names() lists them
TIMEOUT = 60.0  # seconds for one benchmark, its setup included; a suite whose workloads outgrow it must shrink them


def need(module_name: str, *attributes: str) -> Any:
    """The module, or its attributes, or NotImplementedError if this commit does not have them."""
    try:
        module = importlib.import_module(module_name)
        found = [getattr(module, name) for name in attributes]
    except (ImportError, AttributeError) as exc:
        raise NotImplementedError(f"this commit has no {module_name} {' '.join(attributes)}: {exc}") from None
    if not attributes:
        return module
    return found[0] if len(found) == 1 else tuple(found)


def load_backend(name: str) -> Any:
    """backends.get(name), or NotImplementedError saying why that backend cannot run at this commit."""
    backends = need("backends")
    get = need("backends", "get")
    # a backend missing at this commit: an unregistered name, an adapter module not written yet, a framework not installed
    unavailable: tuple[type[Exception], ...] = (ImportError, KeyError, getattr(backends, "BackendUnavailable", ImportError))
    try:
        return get(name)
    except unavailable as exc:
        raise NotImplementedError(f"backend {name!r} is unavailable at this commit: {exc}") from None


def load_case(case_name: str) -> tuple[str, dict[str, float]]:
    """A catalog case's source text and inputs (plain data, so an older commit's parser can read it)."""
    get_case = need("comparisons.catalog", "get_case")
    case = get_case(case_name)
    return case.source, dict(case.inputs)


def compile_source(backend: Any, source: str) -> Callable[[Mapping[str, float]], Any]:
    """backend.compile(parse(source)): a function from input values to Gradients(value, grads)."""
    parse = need("backends", "parse")
    compiled: Callable[[Mapping[str, float]], Any] = backend.compile(parse(source))
    return compiled


def relative_error(got: float, want: float) -> float:
    """|got - want| / |want| (absolute where want is 0), capped at 1.0; a nan or inf on one side only counts as 1.0.

    The cap keeps every tracked number finite (asv's dashboard cannot plot inf) while still showing a total miss.
    """
    if got == want or (math.isnan(got) and math.isnan(want)):
        return 0.0
    error = abs(got - want) / (abs(want) if want != 0 else 1.0)
    return min(error, 1.0) if math.isfinite(error) else 1.0


def max_gradient_error(got: Any, want: Any) -> float:
    """The largest relative_error over the value and every gradient of two Gradients results."""
    errors = [relative_error(got.value, want.value)]
    errors += [relative_error(got.grads[name], want.grads[name]) for name in want.grads]
    return max(errors)


def train_spec(**overrides: Any) -> Any:
    """TrainSpec.demo(**overrides): the classic two-moons run, resized by the overrides."""
    return need("backends", "TrainSpec").demo(**overrides)
