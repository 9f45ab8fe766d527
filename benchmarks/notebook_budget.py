"""Do the notebooks fit in Binder? Peak memory and time of a notebook's Run All.

Each notebook runs as a student's Run All does, in a fresh kernel, on the binder profile
(local[2], a small driver) with 100k synthetic events by default. A thread samples the
memory of every process this script started (the kernel, the Spark JVM and its Python
workers) ten times a second: the sum of their proportional set sizes (PSS: shared pages
counted once, as a container's memory limit counts them). The events are prepared first,
as Day 1 leaves them for the other days, so that the times are those of the notebooks.

The JVM sizes its initial heap from the memory it sees: 1/64 of this host's RAM (378 MB on
a 24 GB machine, a third of it young generation, all of it touched within a minute), but 32
MB inside a 2 GB container, where it reads the cgroup's limit. ``--container-memory`` (2g)
gives the driver ``-XX:MaxRAM`` so that it sizes itself as it would on mybinder.org; the
profile's own options are kept and the maximum heap (``spark.driver.memory``) is unchanged.

    python benchmarks/notebook_budget.py [day3_neural_networks day4_distributed_training]
        [--events 100k] [--profile binder] [--container-memory 2g] [--by-cell] [--box]

``--box`` (root) runs each notebook instead in a real cgroup of mybinder.org's limits, 1 CPU
and a hard 2 GiB (``mlcourse.runtime.limits.LimitBox``), as the tests' binder tier does,
and reports the box's own peak (page cache included), its OOM kills, and the split by
process (PSS) at the sampled peak.

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

from mlcourse.config import resolve_profile
from mlcourse.course.sandbox import process_pss, process_tree

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


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

    def __init__(self, interval: float = 0.1, root: int | None = None) -> None:
        super().__init__(daemon=True)
        self.interval, self.peak, self._stop_event = interval, 0, threading.Event()
        self.root = os.getpid() if root is None else root
        self.parts: dict[str, int] = {}
        self.cell = -1  # the cell executing now, set by the notebook client's hook
        self.by_cell: dict[int, dict[str, int]] = {}  # each cell's largest sample, by kind

    def run(self) -> None:
        while not self._stop_event.is_set():
            parts: dict[str, int] = {}
            for pid in process_tree(self.root)[1:]:  # the root's descendants
                kind = _kind(pid)
                parts[kind] = parts.get(kind, 0) + process_pss(pid)
            total = sum(parts.values())
            if total > sum(self.by_cell.get(self.cell, {}).values()):
                self.by_cell[self.cell] = parts
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
    sampler = PeakMemory()

    def on_cell_execute(cell: object, cell_index: int) -> None:  # noqa: ARG001 (nbclient's hook)
        sampler.cell = cell_index

    client = NotebookClient(
        nb, timeout=1800, kernel_name="python3", on_cell_execute=on_cell_execute
    )
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


def run_in_box(name: str, env: dict[str, str], save: Path | None) -> dict[str, object]:
    """One notebook's Run All in a real cgroup of Binder's limits (1 CPU, 2 GiB, swap
    included), its notebook client in the box in the server's place, started through
    binder/start as the tests' binder tier does: what the box and the sampler measured."""
    import tempfile

    from mlcourse.runtime.limits import LimitBox

    root = Path(__file__).resolve().parents[1]
    folder = save or Path(tempfile.mkdtemp(prefix="notebook-budget-"))
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{name}.ipynb"
    runner = root / "tests" / "binder_run.py"
    command = [
        "bash",
        "binder/start",
        sys.executable,
        str(runner),
        str(NOTEBOOKS / f"{name}.ipynb"),
    ]
    with LimitBox(name, cpus=1.0, memory=2 * 2**30) as box:
        child = subprocess.Popen(
            [*command, str(out)],
            cwd=root,
            env={**os.environ, **env},
            preexec_fn=box.preexec,
            stderr=subprocess.PIPE,
            text=True,
        )
        sampler = PeakMemory(root=child.pid)
        sampler.start()
        _, err = child.communicate()
        sampler.stop()
        measured = {"peak": box.peak_bytes(), "oom_kills": box.oom_kills()}
    nb = nbformat.read(out, as_version=4) if out.is_file() else None
    stderr = sum(
        1
        for c in (nb.cells if nb else [])
        for o in c.get("outputs", [])
        if o.get("name") == "stderr"
    )
    return measured | {
        "status": child.returncode,
        "error": err.strip().splitlines()[-1] if err.strip() else "",
        "seconds": nb.metadata.get("mlcourse_run_all_seconds") if nb else None,
        "parts": sampler.parts,
        "stderr": stderr,
    }


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument(
        "notebooks", nargs="*", default=["day3_neural_networks", "day4_distributed_training"]
    )
    args.add_argument("--events", default="100k")
    args.add_argument("--profile", default="binder")
    args.add_argument("--workdir", default=str(Path(__file__).parent / "results"))
    args.add_argument("--save", help="folder for the executed notebooks")
    args.add_argument(
        "--container-memory", default="2g", help="the memory the JVM sizes itself for"
    )
    args.add_argument(
        "--by-cell", action="store_true", help="also print each code cell's peak, by process"
    )
    args.add_argument(
        "--box",
        action="store_true",
        help="run each notebook in a real cgroup of 1 CPU and 2 GiB (root), as mybinder.org",
    )
    opts = args.parse_args()
    data = Path(opts.workdir).resolve() / "notebook-data"
    data.mkdir(parents=True, exist_ok=True)
    java_options = resolve_profile(opts.profile).conf.get("spark.driver.extraJavaOptions", "")
    config = data.parent / "notebook_budget.toml"
    config.write_text(
        f"[profiles.{opts.profile}]\n"
        f'"spark.driver.extraJavaOptions" = '
        f'"{java_options} -XX:MaxRAM={opts.container_memory}"\n'
    )
    # binder/start's environment, as mybinder.org starts the notebook server with it
    start = Path(__file__).resolve().parents[1] / "binder" / "start"
    started = subprocess.run(["bash", str(start), "env", "-0"], capture_output=True, check=True)
    env = dict(v.split("=", 1) for v in started.stdout.decode().split("\0") if "=" in v)
    env |= {
        "MLCOURSE_CONFIG": str(config),
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
    print(
        f"{opts.events} synthetic events, profile {opts.profile}, driver JVM sized for "
        f"{opts.container_memory}: Run All of each notebook"
    )
    if opts.box:
        box_env = {k: v for k, v in env.items() if k != "MLCOURSE_CONFIG"}  # the real cgroup
        print(f"{'notebook':28s} {'Run All':>8s} {'box peak':>9s}  OOM  status  split at peak")
        for name in opts.notebooks:
            m = run_in_box(name, box_env, Path(opts.save) if opts.save else None)
            parts = ", ".join(f"{k} {v / 2**20:.0f}" for k, v in sorted(m["parts"].items()))
            print(
                f"{name:28s} {m['seconds'] or 0:7.0f}s {m['peak'] / 2**20:7.0f} MiB  "
                f"{m['oom_kills']:3d}  {m['status']:6d}  PSS MiB: {parts}; stderr outputs "
                f"{m['stderr']} {m['error']}",
                flush=True,
            )
        return
    for name in opts.notebooks:
        seconds, memory, stderr = run(name, env, Path(opts.save) if opts.save else None)
        parts = ", ".join(f"{k} {v / 2**30:.2f}" for k, v in sorted(memory.parts.items()))
        print(
            f"{name:28s} {seconds:6.0f} s   peak {memory.peak / 2**30:.2f} GiB PSS ({parts})"
            f"   stderr outputs: {stderr}",
            flush=True,
        )
        if opts.by_cell:
            for index, cell_parts in sorted(memory.by_cell.items()):
                split = ", ".join(f"{k} {v / 2**30:.2f}" for k, v in sorted(cell_parts.items()))
                print(f"    cell {index:3d}: {sum(cell_parts.values()) / 2**30:.2f} GiB ({split})")


if __name__ == "__main__":
    main()
