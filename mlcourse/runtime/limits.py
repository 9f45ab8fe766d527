"""A box of CPU and memory limits made of a real cgroup, as Binder or a hub gives a student.

mybinder.org runs each user in a container with a CPU limit of 1 and a hard memory limit
of 2 GB; a JupyterHub's spawner does the same per student. :class:`LimitBox` makes such a
box on this machine, out of the kernel's own control groups (v2 where the machine has the
unified hierarchy with the ``cpu`` and ``memory`` controllers, else v1's ``cpu`` and
``memory`` hierarchies), so that what runs in it meets the limits the real thing sets:
the CFS quota on its CPU time, the OOM killer at its memory limit (swap included), and
the files through which :func:`mlcourse.config.cpu_count` and the JVM find them.

It needs root (or a delegated cgroup folder); :func:`limits_problem` says, in one line,
why a box cannot be made here. The tests (the ``binder`` tier) and
``benchmarks/notebook_budget.py`` run the course's notebooks in one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from pathlib import Path
from types import TracebackType

__all__ = ["LimitBox", "limits_problem"]

_ROOT = Path("/sys/fs/cgroup")


def _version() -> int | None:
    """2 when the unified hierarchy offers cpu and memory, 1 when v1 mounts both, else None."""
    controllers = _ROOT / "cgroup.controllers"
    if controllers.is_file() and {"cpu", "memory"} <= set(controllers.read_text().split()):
        return 2
    if (_ROOT / "cpu" / "cpu.cfs_quota_us").is_file() and (_ROOT / "memory").is_dir():
        return 1
    return None


def limits_problem() -> str | None:
    """Why a :class:`LimitBox` cannot be made here, or None when it can."""
    version = _version()
    if version is None:
        return "no cgroup file system with the cpu and memory controllers is mounted"
    parent = _ROOT if version == 2 else _ROOT / "memory"
    if not os.access(parent, os.W_OK):
        return f"{parent} is not writable: making a cgroup needs root (or a delegated folder)"
    return None


class LimitBox:
    """A cgroup with a CPU quota and a hard memory limit; processes started with
    :meth:`preexec` as their ``preexec_fn`` (and their children) run in it.

    Parameters
    ----------
    name : str
        Part of the cgroup's name (``mlcourse-<name>-<pid>-<random>``).
    cpus : float
        CPU time per wall-clock second (1.0: one CPU, as Binder).
    memory : int
        Hard limit in bytes, page cache and swap included (Binder: 2 GB).

    Examples
    --------
    >>> import subprocess, sys
    >>> with LimitBox("doc", cpus=1, memory=2 * 2**30) as box:  # doctest: +SKIP
    ...     subprocess.run([sys.executable, "-c", "pass"], preexec_fn=box.preexec)
    ...     box.peak_bytes() > 0, box.oom_kills()
    (True, 0)
    """

    def __init__(self, name: str, *, cpus: float, memory: int) -> None:
        problem = limits_problem()
        if problem is not None:
            raise OSError(f"no cgroup box: {problem}")
        self.version = _version()
        self.cpus, self.memory = cpus, memory
        group = f"mlcourse-{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"  # two at once, too
        if self.version == 2:
            self.folders = {"cpu": _ROOT / group, "memory": _ROOT / group}
        else:
            self.folders = {"cpu": _ROOT / "cpu" / group, "memory": _ROOT / "memory" / group}

    def __enter__(self) -> LimitBox:
        period = 100_000
        quota = max(1000, int(self.cpus * period))
        if self.version == 2:
            with contextlib.suppress(OSError):  # on where the root delegates them already
                (_ROOT / "cgroup.subtree_control").write_text("+cpu +memory")
            folder = self.folders["memory"]
            folder.mkdir()
            (folder / "cpu.max").write_text(f"{quota} {period}")
            (folder / "memory.max").write_text(str(self.memory))
            with contextlib.suppress(OSError):  # no swap: the limit is the limit
                (folder / "memory.swap.max").write_text("0")
        else:
            for folder in self.folders.values():
                folder.mkdir()
            cpu, memory = self.folders["cpu"], self.folders["memory"]
            (cpu / "cpu.cfs_period_us").write_text(str(period))
            (cpu / "cpu.cfs_quota_us").write_text(str(quota))
            (memory / "memory.limit_in_bytes").write_text(str(self.memory))
            with contextlib.suppress(OSError):  # swap accounting may be off
                (memory / "memory.memsw.limit_in_bytes").write_text(str(self.memory))
        return self

    def preexec(self) -> None:
        """Move the calling process into the box: ``preexec_fn`` of ``subprocess``."""
        pid = str(os.getpid())
        for folder in dict.fromkeys(self.folders.values()):
            (folder / "cgroup.procs").write_text(pid)

    def pids(self) -> list[int]:
        """The processes in the box now."""
        text = (self.folders["memory"] / "cgroup.procs").read_text()
        return [int(p) for p in text.split()]

    def peak_bytes(self) -> int:
        """The box's peak memory so far, page cache included (v2 without ``memory.peak``:
        its use now)."""
        folder = self.folders["memory"]
        for name in ("memory.peak", "memory.memsw.max_usage_in_bytes", "memory.max_usage_in_bytes"):
            with contextlib.suppress(OSError, ValueError):
                return int((folder / name).read_text())
        return int((folder / "memory.current").read_text())

    def oom_kills(self) -> int:
        """Processes the kernel's OOM killer has killed in the box."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        for line in (self.folders["memory"] / name).read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Kill what is left in the box, then remove it."""
        for _ in range(50):
            left = self.pids()
            if not left:
                break
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
        for folder in dict.fromkeys(self.folders.values()):
            with contextlib.suppress(OSError):
                folder.rmdir()
