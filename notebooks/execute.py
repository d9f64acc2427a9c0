"""Run the notebooks top to bottom in a fresh kernel and save them with their outputs (`make notebooks`).

The kernel is this Python (sys.executable, so the same venv) started in notebooks/ with the repository root first on
PYTHONPATH; outputs are cleared before each run, so nothing stale survives. tests/test_notebooks.py runs the same
`execute` on copies and writes nothing. Usage: python notebooks/execute.py [NOTEBOOK.ipynb ...]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbformat import NotebookNode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NOTEBOOKS = ("1_value_to_graph.ipynb", "2_train_an_mlp.ipynb", "3_four_frameworks.ipynb")
CELL_TIMEOUT_S = 300
DEFAULT_REPR = re.compile(r"<[\w.<>]+ (object )?at 0x[0-9a-f]+>")
MISSING = 'running the notebooks needs nbclient, nbformat and ipykernel; install them with: pip install -e ".[dev]"'


def execute(path: Path, timeout: int = CELL_TIMEOUT_S) -> NotebookNode:
    """The notebook at `path` run top to bottom, as a new nbformat node (the file is not touched).

    Raises nbclient's CellExecutionError, naming the cell and showing its traceback, when a cell fails.
    """
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
    env = {key: value for key, value in os.environ.items() if key != "MPLBACKEND"}  # the kernel draws inline
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    with tempfile.TemporaryDirectory(prefix="notebook-kernel-") as sockets:
        kernel_manager = KernelManager(
            kernel_name="python3",
            # kernel_dirs=[]: no kernel spec installed elsewhere can stand in; the native one runs sys.executable
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[]),
            transport="ipc", ip=os.path.join(sockets, "kernel"),  # local sockets, not TCP ports
        )  # fmt: skip
        client = NotebookClient(
            notebook, km=kernel_manager, timeout=timeout, record_timing=False, coalesce_streams=True,
            shutdown_kernel="immediate", resources={"metadata": {"path": str(path.parent)}},  # the kernel's working directory
        )  # fmt: skip
        client.execute(env=env)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if len(data) > 1 and DEFAULT_REPR.fullmatch(data.get("text/plain", "")):
                del data["text/plain"]  # `<Digraph at 0x7f...>` beside a picture: noise that changes every run
    return notebook


def save(notebook: NotebookNode, path: Path) -> None:
    """Write the notebook atomically: a temporary file beside `path`, then os.replace."""
    import nbformat

    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".ipynb", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            nbformat.write(notebook, f)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python notebooks/execute.py", description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", metavar="NOTEBOOK", help=f"default: all of {', '.join(NOTEBOOKS)}")
    args = parser.parse_args(argv)
    paths = [Path(name) for name in args.notebooks] or [HERE / name for name in NOTEBOOKS]
    for path in paths:
        if path.suffix != ".ipynb" or not path.is_file():
            print(f"{parser.prog}: error: {str(path)!r} is not a notebook file (.ipynb)", file=sys.stderr)
            return 2
    try:
        import nbclient
    except ImportError:
        print(f"{parser.prog}: error: {MISSING}", file=sys.stderr)
        return 2
    for path in paths:
        try:
            notebook = execute(path.resolve())
        except nbclient.exceptions.CellExecutionError as exc:
            print(f"{parser.prog}: {path} failed, not saved:\n{exc}", file=sys.stderr)
            return 1
        save(notebook, path)
        print(f"ran and saved {os.path.relpath(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
