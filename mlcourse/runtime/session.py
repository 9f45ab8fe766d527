"""One call to a working SparkSession on a laptop, on Binder, on a cluster.

:func:`get_spark` resolves a profile (see :mod:`mlcourse.config`), checks Java before the
JVM starts, wires the sparkmonitor listener when a notebook kernel runs its extension,
and returns the live session on later calls.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from mlcourse.config import (
    SparkProfile,
    local_cores,
    resolve_profile,
)
from mlcourse.errors import ConfigError, JavaError, SessionConflictError
from mlcourse.runtime.driver import forget_dead_driver, scratch_settings
from mlcourse.runtime.flavour import is_connect

# re-exported: mlcourse.runtime.session is where users find them
from mlcourse.runtime.java import (
    JAVA_INSTALL_HELP,
    SUPPORTED_JAVA,
    JavaInfo,
    check_java,
    find_java,
)
from mlcourse.runtime.webui import proxied_ui_settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = [
    "JAVA_INSTALL_HELP",
    "SUPPORTED_JAVA",
    "JavaInfo",
    "check_java",
    "find_java",
    "get_spark",
    "live_session",
    "stop_spark",
]

log = logging.getLogger(__name__)


_lock = threading.RLock()
_session: SparkSession | None = None
_profile: SparkProfile | None = None


def _alive(candidate: Any) -> bool:
    if is_connect(candidate):
        return not getattr(candidate, "is_stopped", False)
    return candidate.sparkContext._jsc is not None


def live_session() -> SparkSession | None:
    """The session this process started (or Spark's active one) while it is alive, else
    None: what ``%spark`` asks before it starts one."""
    from pyspark.sql import SparkSession

    global _session
    death = forget_dead_driver()
    if death is not None:
        log.warning("%s. The next session starts a new one.", death)
        _session = None
    for candidate in (_session, SparkSession.getActiveSession()):
        if candidate is not None and _alive(candidate):
            return candidate
    _session = None
    return None


def _workers_of(spark: SparkSession) -> int | None:
    if is_connect(spark):
        return None  # the server's executors, not this client's to count
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
        live = live_session()
        if live is not None:
            _check_compatible(live, profile, workers, conf)
            return live

        resolved = resolve_profile(profile, workers=workers, app_name=app_name, conf=conf)
        if resolved.remote is None and os.environ.get("SPARK_CONNECT_MODE_ENABLED"):
            raise SessionConflictError(
                "this Python process has joined a Spark Connect server, after which pyspark "
                "runs every DataFrame function over Spark Connect: a classic driver "
                f"(profile {resolved.name!r}) cannot start in it. Restart the kernel for it."
            )
        if resolved.remote is not None:
            spark = _connect_session(resolved)
        else:
            spark = _classic_session(resolved)
        _session, _profile = spark, resolved
        return spark


def _classic_session(resolved: SparkProfile) -> SparkSession:
    """A classic session of ``resolved``: Java and the master checked first, then the
    driver's JVM started with the profile's environment and settings."""
    check_java()
    check_master(resolved.master)
    for name, value in resolved.environment.items():
        os.environ.setdefault(name, value)

    from pyspark.sql import SparkSession

    # On a JupyterHub, Binder or a local Jupyter server with jupyter-server-proxy, the
    # browser reaches the Spark UI through the server: a free port, chosen now.
    settings = resolved.settings
    for key, value in proxied_ui_settings(settings).items():
        settings.setdefault(key, value)
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
    return spark


def _connect_session(profile: SparkProfile) -> SparkSession:
    """A Spark Connect session to ``profile.remote``, checked with one call (the server
    answers, and accepts the token) so that a wrong address or token fails here, in one
    line, rather than at the first query."""
    from pyspark.sql import SparkSession

    from mlcourse.runtime.connect import check_reachable, open_session

    remote = profile.remote or ""
    check_reachable(remote)
    builder = SparkSession.builder.remote(remote)
    for key, value in profile.settings.items():
        builder = builder.config(key, value)
    spark: SparkSession = open_session(builder.getOrCreate, remote)
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
    settings.update(scratch_settings(master, settings))  # the builder below gets them too
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
        live = live_session()
        _session, _profile = None, None
        if live is None:
            return False
        live.stop()
        return True


def active_profile() -> SparkProfile | None:
    """The profile the live session was built from, if :func:`get_spark` built it."""
    return _profile if live_session() is not None else None
