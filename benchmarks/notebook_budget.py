"""Do the notebooks fit in Binder? Peak memory and time of a notebook's Run All.

Each notebook runs as a student's Run All does, in a fresh kernel, on the binder profile
(local[2], a small driver) with 100k synthetic events by default. A thread samples the
memory of every process this script started (the kernel, the Spark JVM and its Python
workers) ten times a second: the sum of their proportional set sizes (PSS: shared pages
counted once, as a container's memory limit counts them). The events are prepared first,
as Day 1 leaves them for the other days, so that the times are those of the notebooks.

    python benchmarks/notebook_budget.py [day3_neural_networks day4_distributed_training]
        [--events 100k] [--profile binder]

Issue 23's budget on mybinder.org (2 cores, a 2 GB container): under 1.8 GB and 3 minutes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _descendants(pid: int) -> list[int]:
    """``pid``'s children, grandchildren, ... (Linux /proc)."""
    found, queue = [], [pid]
    while queue:
        parent = queue.pop()
        try:
            tasks = Path(f"/proc/{parent}/task").iterdir()
            children = [int(c) for t in tasks for c in (t / "children").read_text().split() if c]
        except OSError:
            continue
        found += children
        queue += children
    return found


def _pss(pid: int) -> int:
    """Proportional set size of one process in bytes (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _kind(pid: int) -> str:
    """kernel, JVM or Python worker, from the process's command line."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "gone"
    if argv and argv[0].endswith(b"java"):
        return "JVM"
    if b"ipykernel_launcher" in b" ".join(argv):
        return "kernel"
    return "Python workers"


class PeakMemory(threading.Thread):
    """Samples the summed PSS of this process's descendants until stopped; keeps the
    split by kind of process at the peak."""

    def __init__(self, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.interval, self.peak, self._stop_event = interval, 0, threading.Event()
        self.parts: dict[str, int] = {}

    def run(self) -> None:
        while not self._stop_event.is_set():
            parts: dict[str, int] = {}
            for pid in _descendants(os.getpid()):
                kind = _kind(pid)
                parts[kind] = parts.get(kind, 0) + _pss(pid)
            total = sum(parts.values())
            if total > self.peak:
                self.peak, self.parts = total, parts
            time.sleep(self.interval)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return self.peak


def run(name: str, env: dict[str, str], save: Path | None) -> tuple[float, PeakMemory, int]:
    """(seconds, the memory sampler, stderr outputs) of one notebook's Run All."""
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    os.environ.update(env)
    client = NotebookClient(nb, timeout=1800, kernel_name="python3")
    sampler = PeakMemory()
    sampler.start()
    start = time.perf_counter()
    try:
        client.execute(cwd=str(NOTEBOOKS))
    finally:
        seconds = time.perf_counter() - start
        sampler.stop()
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, save / f"{name}.ipynb")
    stderr = sum(1 for c in nb.cells for o in c.get("outputs", []) if o.get("name") == "stderr")
    return seconds, sampler, stderr


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument(
        "notebooks", nargs="*", default=["day3_neural_networks", "day4_distributed_training"]
    )
    args.add_argument("--events", default="100k")
    args.add_argument("--profile", default="binder")
    args.add_argument("--workdir", default=str(Path(__file__).parent / "results"))
    args.add_argument("--save", help="folder for the executed notebooks")
    opts = args.parse_args()
    data = Path(opts.workdir).resolve() / "notebook-data"
    data.mkdir(parents=True, exist_ok=True)
    env = {
        "MLCOURSE_PROFILE": opts.profile,
        "MLCOURSE_EVENTS": opts.events,
        "MLCOURSE_SOURCE": "synthetic",
        "MLCOURSE_DATA_DIR": str(data),
    }
    prepare = (
        "import mlcourse, os; spark = mlcourse.get_spark(); "
        "mlcourse.load_higgs(spark, os.environ['MLCOURSE_EVENTS'], source='synthetic').count()"
    )
    subprocess.run([sys.executable, "-c", prepare], env={**os.environ, **env}, check=True)
    print(f"{opts.events} synthetic events, profile {opts.profile}: Run All of each notebook")
    for name in opts.notebooks:
        seconds, memory, stderr = run(name, env, Path(opts.save) if opts.save else None)
        parts = ", ".join(f"{k} {v / 2**30:.2f}" for k, v in sorted(memory.parts.items()))
        print(
            f"{name:28s} {seconds:6.0f} s   peak {memory.peak / 2**30:.2f} GiB PSS ({parts})"
            f"   stderr outputs: {stderr}",
            flush=True,
        )


if __name__ == "__main__":
    main()
