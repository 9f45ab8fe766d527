"""The driver's JVM as a process: its scratch folder, how it died, and its end.

The classic session's driver runs in a Java process this Python process starts
(:func:`mlcourse.runtime.session.get_spark`). Three things about that process matter to
a student and are not Spark's business:

- **its temporary files.** A local driver writes its blocks, shuffle files and Python
  workers' files into one scratch folder of its own, ``<tmp>/mlcourse-spark-<uid>/<pid>-
  <n>`` (``pid``: the Python process that owns it). Spark removes its folders when it
  stops; a driver killed by ``kill -9`` or the out-of-memory killer cannot. The next
  driver to start removes the folders of owners that are no longer running
  (:func:`clean_stale_scratch`);
- **its death.** :func:`death_of_driver` says, in a sentence, that the JVM has died, its
  pid, the signal or exit status, and the likely cause, instead of Py4J's "Connection
  refused"; :func:`forget_dead_driver` lets the next :func:`get_spark` start a new one;
- **its end with the command.** :func:`end_driver` stops the session and waits for the
  JVM to exit (killing it after a grace period), so that no JVM outlives the command
  that started it, holding its files and a disk that should be unmounted.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from mlcourse.errors import JavaError

__all__ = [
    "clean_stale_scratch",
    "death_of_driver",
    "driver_process",
    "end_driver",
    "forget_dead_driver",
    "require_live_driver",
    "scratch_settings",
]

log = logging.getLogger(__name__)

_scratch_numbers = itertools.count()


def scratch_root() -> Path:
    """The folder that holds every local driver's scratch folder of this user."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"mlcourse-spark-{uid}"


def _owner_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def clean_stale_scratch(root: Path | None = None) -> list[Path]:
    """Remove the scratch folders whose owner process is no longer running.

    A folder is named ``<pid>-<n>`` by the Python process (``pid``) whose driver wrote in
    it; folders of a live owner, and anything else in ``root``, are left alone.

    Returns
    -------
    list of pathlib.Path
        The folders removed.
    """
    root = scratch_root() if root is None else root
    removed: list[Path] = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return removed
    for entry in entries:
        owner = entry.name.split("-", 1)[0]
        if not owner.isdigit() or _owner_alive(int(owner)) or entry.is_symlink():
            continue
        shutil.rmtree(entry, ignore_errors=True)
        if not entry.exists():
            removed.append(entry)
    if removed:
        log.info("removed %d scratch folder(s) of Spark drivers that died", len(removed))
    return removed


def scratch_settings(master: str, settings: dict[str, str]) -> dict[str, str]:
    """The setting that puts a local driver's temporary files in a scratch folder of its own.

    Only for a ``local`` master (on a cluster the executors' folders are the cluster's),
    and only when the profile sets neither ``spark.local.dir`` nor ``java.io.tmpdir``.
    Stale folders of dead drivers are removed first.
    """
    options = settings.get("spark.driver.extraJavaOptions", "")
    own = "spark.local.dir" in settings or "java.io.tmpdir" in options
    if own or not master.startswith("local"):
        return {}
    root = scratch_root()
    clean_stale_scratch(root)
    root.mkdir(mode=0o700, exist_ok=True)
    folder = root / f"{os.getpid()}-{next(_scratch_numbers)}"
    folder.mkdir(mode=0o700, exist_ok=True)
    # java.io.tmpdir is where a local driver puts its blocks, shuffle and Python workers'
    # files when spark.local.dir is not set (which Spark warns about when it is)
    return {"spark.driver.extraJavaOptions": f"{options} -Djava.io.tmpdir={folder}".strip()}


def driver_process() -> subprocess.Popen[bytes] | None:
    """The driver JVM this process started, while pyspark knows it; else None."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    proc = getattr(gateway, "proc", None)
    return proc if isinstance(proc, subprocess.Popen) else None


def _how(returncode: int) -> str:
    if returncode < 0:
        signum = -returncode
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        cause = (
            ": most often the system's out-of-memory killer or a memory limit (dmesg, or the "
            "container's events, say which); give Spark less to hold at once (fewer events, "
            "a smaller spark.driver.memory) or the machine more memory"
            if signum == signal.SIGKILL
            else ""
        )
        return f"was killed by signal {signum} ({name}){cause}"
    return (
        f"exited with status {returncode}: its last lines above say why (java.lang."
        "OutOfMemoryError: give it more spark.driver.memory or fewer events)"
    )


def death_of_driver() -> str | None:
    """A sentence on the driver JVM's death when it has died, else None."""
    proc = driver_process()
    if proc is None or proc.poll() is None:
        return None
    return f"Spark's Java process (pid {proc.pid}) {_how(proc.returncode)}"


def require_live_driver() -> None:
    """Raise a :class:`~mlcourse.errors.JavaError` naming the driver JVM's death, if it
    has died: what a function says before it asks the dead JVM anything (Py4J would say
    "Connection refused"). Free: it asks the process, not the JVM."""
    death = death_of_driver()
    if death is not None:
        raise JavaError(
            f"{death}. Start again from get_spark() (or %spark): it starts a new session, "
            "in which DataFrames of the old one must be made again."
        )


def forget_dead_driver() -> str | None:
    """Let go of a driver JVM that has died, so that the next session starts a new one.

    Returns
    -------
    str or None
        :func:`death_of_driver`'s sentence, or None when the driver lives (nothing done).
    """
    death = death_of_driver()
    if death is None:
        return None
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    context = SparkContext._active_spark_context
    if context is not None:
        context._jsc = None  # nothing left to stop
    SparkContext._active_spark_context = None
    SparkContext._gateway = None
    SparkContext._jvm = None
    SparkSession._instantiatedSession = None
    SparkSession._activeSession = None
    clean_stale_scratch()
    _remove_own_scratch()
    return death


def _remove_own_scratch() -> None:
    """Remove this process's scratch folders: after its driver's death, or its end."""
    for folder in scratch_root().glob(f"{os.getpid()}-*"):
        shutil.rmtree(folder, ignore_errors=True)


def end_driver(stop: Callable[[], object], *, grace: float = 10.0) -> None:
    """Stop the session (``stop``) and wait for the driver JVM this process started to exit.

    After ``grace`` seconds the JVM is killed. A dead driver is only forgotten. The scratch
    folder goes with it: the command that started the JVM ends with nothing left behind.
    """
    proc = driver_process()
    if forget_dead_driver() is None:
        try:
            stop()
        except Exception as exc:  # a JVM that fails to stop is killed below
            log.debug("stopping Spark failed: %s", exc)
    if proc is None:
        return
    if proc.stdin is not None:
        proc.stdin.close()  # Spark's gateway exits when its stdin closes
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    from pyspark import SparkContext

    SparkContext._gateway = None
    SparkContext._jvm = None
    _remove_own_scratch()
