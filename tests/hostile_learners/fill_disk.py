"""Writes files of 16 MiB into the folder it was started from and into /tmp until the disk refuses, and fails its
import if either took a whole GiB (the scratch folder and /tmp are capped well below that)."""

import os

chunk = b"\0" * (16 << 20)
for folder in (os.getcwd(), "/tmp"):
    written = 0
    try:
        while written < 1 << 30:
            with open(os.path.join(folder, f"filler-{written}"), "wb") as file:
                file.write(chunk)
            written += len(chunk)
    except OSError:
        pass
    if written >= 1 << 30:
        raise RuntimeError(f"wrote 1 GiB into {folder}")

from honest_engine import Value  # noqa: E402,F401
