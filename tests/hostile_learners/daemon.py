"""Double-forks a setsid() daemon that outlives it (its argv carries a marker naming this folder), waits until the
daemon runs, then grades as honest. The daemon keeps every pipe this process had open."""

import os
import sys
from pathlib import Path

MARKER = f"micrograd-check-daemon:{Path(__file__).resolve().parent}"
started_read, started_write = os.pipe()  # not inherited across exec: its end of file says the daemon has exec'd
middle = os.fork()
if middle == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time\nwhile True: time.sleep(3600)", MARKER])
    os._exit(0)
os.close(started_write)
os.waitpid(middle, 0)
os.read(started_read, 1)
os.close(started_read)

from honest_engine import Value  # noqa: E402,F401
