"""Writes a forged reply (a discovery without its keys) on every pipe it can write to, before the real one."""

import os

from _channel import writable_pipes

for fd in writable_pipes():
    os.write(fd, b'{"kind": "ready", "discovery": {}}\n')

from honest_engine import Value  # noqa: E402,F401
