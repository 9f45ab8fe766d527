"""Run one notebook end to end with nbclient, as Binder's notebook server would, and write
the executed copy: ``python tests/binder_run.py SRC OUT [--cwd DIR] [--allow-errors]``.

The binder tier (tests/test_binder_box.py) starts it inside a cgroup box through
``binder/start``, so that this process (in the notebook server's place) and the kernel it
starts share the box's CPU and memory, as on mybinder.org.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main(src: str, out: str, allow_errors: bool, cwd: str) -> int:
    nb = nbformat.read(src, as_version=4)
    client = NotebookClient(
        nb,
        timeout=900,
        startup_timeout=120,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": cwd}},
    )
    start = time.perf_counter()
    status = 0
    try:
        client.execute()
    except CellExecutionError as exc:
        print(str(exc).splitlines()[-1] if str(exc) else "a cell failed", file=sys.stderr)
        status = 1
    nb.metadata["mlcourse_run_all_seconds"] = round(time.perf_counter() - start, 1)
    nbformat.write(nb, out)
    return status


if __name__ == "__main__":
    options = sys.argv[3:]
    folder = (
        options[options.index("--cwd") + 1] if "--cwd" in options else str(Path(sys.argv[1]).parent)
    )
    sys.exit(main(sys.argv[1], sys.argv[2], "--allow-errors" in options, folder))
