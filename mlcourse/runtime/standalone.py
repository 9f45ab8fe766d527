"""A Spark standalone cluster on this machine, started from the installed pyspark alone.

For seeing how work spreads over workers without a real cluster (the course's scaling
exercise, ``benchmarks/scaling.py``) and for testing mlcourse against a real cluster
manager. A master and its workers run as separate JVMs (pyspark's own ``spark-class``),
bound to 127.0.0.1 on free ports, each with its work and log files in ``root``; they are
stopped by their own pids::

    with StandaloneCluster(tmp, workers=2) as cluster:
        subprocess.run([sys.executable, "job.py"], env=cluster.driver_env())
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyspark

__all__ = ["StandaloneCluster", "free_port"]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StandaloneCluster:
    """``Master`` and ``Worker`` JVMs launched with pyspark's own ``spark-class``.

    Parameters
    ----------
    root : pathlib.Path
        Folder for the work directories and logs.
    workers : int
        Number of workers, each offering ``cores`` cores and ``memory`` of memory.
    """

    def __init__(self, root: Path, workers: int = 2, *, cores: int = 1, memory: str = "1g"):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.spark_home = Path(pyspark.__file__).parent
        self.cores, self.memory = cores, memory
        self.port, self.ui_port = free_port(), free_port()
        self.url = f"spark://127.0.0.1:{self.port}"
        self.master: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes] | None] = [None] * workers
        self.env = {
            **os.environ,
            "SPARK_HOME": str(self.spark_home),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_LOCAL_HOSTNAME": "127.0.0.1",
            "PYSPARK_PYTHON": sys.executable,
            "SPARK_NO_DAEMONIZE": "1",
        }

    def driver_env(self) -> dict[str, str]:
        """The environment of a driver process on this machine that should use this cluster.

        The ``standalone`` profile with this master, this Python for the executors' Python
        workers, and loopback addresses.
        """
        return {
            **os.environ,
            "MLCOURSE_PROFILE": "standalone",
            "MLCOURSE_MASTER": self.url,
            "PYSPARK_PYTHON": sys.executable,
            "SPARK_LOCAL_IP": "127.0.0.1",
        }

    def _launch(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        cmd = [str(self.spark_home / "bin" / "spark-class"), *args]
        # The child keeps its own copy of the log's descriptor; ours is closed at once.
        with open(self.root / f"{name}.log", "ab") as log:
            return subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def state(self) -> dict[str, Any]:
        """The master's status page as JSON (workers, applications)."""
        url = f"http://127.0.0.1:{self.ui_port}/json/"
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)

    def alive_workers(self) -> int:
        try:
            return sum(w["state"] == "ALIVE" for w in self.state()["workers"])
        except OSError:
            return 0

    def _wait(self, what: str, ready: Callable[[], bool], timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if self.master is not None and self.master.poll() is not None:
                break
            time.sleep(0.5)
        logs = "\n".join(p.read_text()[-2000:] for p in sorted(self.root.glob("*.log")))
        raise RuntimeError(f"standalone cluster: {what} not ready in {timeout} s\n{logs}")

    def start(self) -> StandaloneCluster:
        """Start the master and every worker; return once all workers have registered."""
        self.master = self._launch(
            "master",
            "org.apache.spark.deploy.master.Master",
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--webui-port", str(self.ui_port),
        )  # fmt: skip
        self._wait("master", lambda: self._reachable())
        for i in range(len(self.workers)):
            self.start_worker(i)
        self._wait("workers", lambda: self.alive_workers() == len(self.workers))
        return self

    def _reachable(self) -> bool:
        try:
            self.state()
            return True
        except OSError:
            return False

    def start_worker(self, i: int, *, wait: bool = False) -> None:
        """(Re)start worker ``i``; with ``wait``, until every worker is registered."""
        work = self.root / f"worker{i}"
        work.mkdir(exist_ok=True)
        self.workers[i] = self._launch(
            f"worker{i}",
            "org.apache.spark.deploy.worker.Worker",
            self.url,
            "--host", "127.0.0.1",
            "--webui-port", str(free_port()),
            "--cores", str(self.cores),
            "--memory", self.memory,
            "--work-dir", str(work),
        )  # fmt: skip
        if wait:
            self._wait("workers", lambda: self.alive_workers() == len(self.workers))

    def kill_worker(self, i: int) -> int:
        """SIGKILL worker ``i`` by its pid (its executors exit when they lose it)."""
        proc = self.workers[i]
        assert proc is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        self.workers[i] = None
        return proc.pid

    def __enter__(self) -> StandaloneCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Terminate the workers (and so their executors), then the master."""
        for proc in [*self.workers, self.master]:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in [*self.workers, self.master]:
            if proc is not None:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
