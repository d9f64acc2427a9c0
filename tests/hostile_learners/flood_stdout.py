"""Prints 300 MB on stdout at import, then grades as honest."""

import sys

chunk = "[" * (1 << 20)
for _ in range(300):
    sys.stdout.write(chunk)
print()

from honest_engine import Value  # noqa: E402,F401
