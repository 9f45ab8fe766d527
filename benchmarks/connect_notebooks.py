"""The course notebooks, classic driver against Spark Connect, on one machine: Run All times.

Each notebook runs as a student's Run All does, in a fresh kernel, twice: with the ``local``
profile (its own driver JVM, local[2] on 2 cores) and as a client of a Spark Connect server
started here with ``local[2]`` (``SPARK_REMOTE``). The events (synthetic, 100k by default)
are prepared once before either, as Day 1 leaves them for the other days, so that both
runs find them. Printed per notebook: both times and their ratio (issue 26's budget: within
1.5x), the server's start (once per class, not per notebook) apart.

    python benchmarks/connect_notebooks.py [day1_input_data day2_gbt ...] [--events 100k]
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from _common import events_and_workdir, parser
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
DEFAULT = [
    "day1_input_data",
    "day2_gbt",
    "day2_mlp",
    "day3_neural_networks",
    "day4_distributed_training",
    "final_handson",
]
PREPARE = (
    "import sys, mlcourse; spark = mlcourse.get_spark('local', workers=2); "
    "mlcourse.load_higgs(spark, sys.argv[1], source='synthetic').count()"
)


def run_all(name: str, env: dict[str, str], cwd: Path) -> tuple[float, list[str]]:
    """Seconds of a Run All in a fresh kernel started with ``env``; what it wrote on stderr."""
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    client = NotebookClient(
        nb, timeout=3600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    start = time.perf_counter()
    client.execute(env=env)  # the kernel's whole environment (jupyter_client's start_kernel)
    seconds = time.perf_counter() - start
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    return seconds, [o["text"] for o in outputs if o.get("name") == "stderr"]


def main() -> None:
    from mlcourse.runtime import connect

    p = parser(__doc__.splitlines()[0], events="100k")
    p.add_argument("notebooks", nargs="*", default=DEFAULT)
    args = p.parse_args()
    n, work = events_and_workdir(args)
    folder = Path(tempfile.mkdtemp(dir=work, prefix="connect-notebooks-"))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_", "MLCOURSE_"))}
    base.update(
        MLCOURSE_EVENTS=str(n),
        MLCOURSE_SOURCE="synthetic",
        MLCOURSE_DATA_DIR=str(folder / "data"),
        MLCOURSE_SCRATCH=str(folder / "scratch"),
        MLCOURSE_CACHE_DIR=str(folder / "cache"),
        MPLBACKEND="module://matplotlib_inline.backend_inline",
    )
    subprocess.run([sys.executable, "-c", PREPARE, str(n)], env=base, check=True)
    os.environ["MLCOURSE_CACHE_DIR"] = base["MLCOURSE_CACHE_DIR"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    server = connect.start_server(port=port, memory="2g", master="local[2]")
    started = time.perf_counter() - t0
    rows = []
    try:
        for name in args.notebooks:
            classic, err_classic = run_all(name, {**base, "MLCOURSE_PROFILE": "local"}, folder)
            remote, err_remote = run_all(name, {**base, "SPARK_REMOTE": server.address}, folder)
            rows.append((name, classic, remote))
            print(
                f"{name:28s} classic {classic:6.1f} s   Connect {remote:6.1f} s   "
                f"{remote / classic:.2f}x",
                flush=True,
            )
            for mode, err in (("classic", err_classic), ("Connect", err_remote)):
                for text in err:  # a red box in the notebook: say which and what
                    print(f"  stderr ({mode}): {text.strip()[:400]}", flush=True)
    finally:
        connect.stop_server()
    total_classic = sum(r[1] for r in rows)
    total_remote = sum(r[2] for r in rows)
    print(
        f"{'all':28s} classic {total_classic:6.1f} s   Connect {total_remote:6.1f} s   "
        f"{total_remote / total_classic:.2f}x   ({n:,} synthetic events; the server "
        f"started once in {started:.1f} s)"
    )


if __name__ == "__main__":
    main()
