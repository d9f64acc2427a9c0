"""Allocates 20 GB at import."""

hoard = bytearray(20 * 10**9)

from honest_engine import Value  # noqa: E402,F401
