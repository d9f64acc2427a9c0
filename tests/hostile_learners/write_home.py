"""Writes into $HOME, ~, the folder it was started from, /tmp, its own folder and the user's real home (guessed from
where this file lies: the test's home sits beside it), then grades as honest."""

import os
from pathlib import Path

here = Path(__file__).resolve().parent
for folder in (os.environ.get("HOME", ""), os.path.expanduser("~"), os.getcwd(), "/tmp", here, here.parent / "home",
               here.parent / "start"):
    try:
        Path(folder, "written_by_the_engine.txt").write_text("pwned\n")
    except OSError:
        pass

from honest_engine import Value  # noqa: E402,F401
