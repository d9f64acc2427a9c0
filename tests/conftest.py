"""Shared fixtures. A backend that cannot run here is skipped with its reason, except in CI (CI=true),
where every backend must be present and a missing one fails the test instead."""

from __future__ import annotations

import os

import pytest

import backends

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_backend(name: str) -> backends.Backend:
    """The backend `name`; skips (locally) or fails (in CI) with the fix when it cannot run here."""
    try:
        return backends.get(name)
    except backends.BackendUnavailable as exc:
        if IN_CI:
            pytest.fail(f"backend {name} is required in CI but unavailable: {exc}")
        pytest.skip(f"backend {name} unavailable: {exc}")


@pytest.fixture(params=backends.names())
def backend(request: pytest.FixtureRequest) -> backends.Backend:
    """Every backend, the reference included."""
    return require_backend(request.param)


@pytest.fixture(params=[n for n in backends.names() if n != backends.REFERENCE])
def other_backend(request: pytest.FixtureRequest) -> backends.Backend:
    """Every backend but the reference (micrograd)."""
    return require_backend(request.param)


@pytest.fixture
def reference() -> backends.Backend:
    return backends.get(backends.REFERENCE)
