"""Shared fixtures. A backend that cannot run here is skipped with its reason, except in CI (CI=true),
where every backend must be present and a missing one fails the test instead.

Hypothesis runs the same examples on every run: the `ci` profile (loaded by default, so `make test`, CI and a bare
pytest use it) is derandomized, keeps no example database and prints the blob to reproduce a failure. Exploring is
opt-in: HYPOTHESIS_PROFILE=dev draws new examples each run, five times as many; a failure found that way is pinned
with an explicit @example in the test, so that every later run checks it.
"""

from __future__ import annotations

import os
import signal

import pytest
from hypothesis import settings

import backends

# The interrupt tests send SIGINT to the programs they start, as Ctrl-C does. A shell starts a background job (`make
# test &` in a script) with SIGINT ignored, and an ignored signal stays ignored in every child, so those programs would
# never see it. pytest takes SIGINT back here: its children then start with the default, as from a terminal.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

CI_EXAMPLES = 100  # the ci profile's examples per test (a test's own max_examples overrides it)
settings.register_profile("ci", derandomize=True, database=None, max_examples=CI_EXAMPLES, deadline=None, print_blob=True)
settings.register_profile("dev", derandomize=False, max_examples=5 * CI_EXAMPLES, deadline=None, print_blob=True)


def pytest_configure(config: pytest.Config) -> None:
    """Loads the Hypothesis profile HYPOTHESIS_PROFILE names (ci unless set); another name stops the run in one line."""
    profile = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    if profile not in ("ci", "dev"):
        raise pytest.UsageError(f"HYPOTHESIS_PROFILE={profile!r} is not a profile; use ci (the default) or dev")
    settings.load_profile(profile)


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
