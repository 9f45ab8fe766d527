"""From a resolved profile to what the session builder is given: the ``spark.*`` settings
with the package's log4j configuration and, when a kernel runs its extension, the
sparkmonitor listener; mlcourse's own records; the environment of the driver's JVM.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlcourse.config.profiles import SparkProfile

__all__ = [
    "LOG4J_CONFIG",
    "listener_jar",
    "session_records",
    "spark_environment",
    "spark_jars_dir",
    "spark_settings",
    "spark_versions",
    "sparkmonitor_conf",
]

log = logging.getLogger(__name__)
#: The driver's log4j 2 configuration: warnings and errors, no start-up banner.
LOG4J_CONFIG = Path(__file__).with_name("log4j2.properties")


def spark_settings(profile: SparkProfile) -> dict[str, str]:
    """Everything the session builder is given.

    The profile's ``spark.*`` settings, and where the profile does not set them:

    * the package's log4j configuration (``log4j2.properties`` beside this module) in the
      driver's Java options: warnings and errors, without Spark's start-up banner or the
      native-Hadoop notice;
    * no console progress bar unless stderr is a terminal: in a notebook it is a red box
      (the sparkmonitor panel shows progress there);
    * the sparkmonitor listener when a kernel runs its extension;
    * mlcourse's own records, ``spark.mlcourse.profile`` and ``spark.mlcourse.dataDir``,
      read back by :func:`mlcourse.data.resolve_data_dir` from the session it is passed.
    """
    conf = dict(profile.conf)
    options = conf.get("spark.driver.extraJavaOptions", "")
    if "log4j" not in options:
        option = f"-Dlog4j2.configurationFile={LOG4J_CONFIG.as_uri()}"
        conf["spark.driver.extraJavaOptions"] = f"{options} {option}".strip()
    if "spark.ui.showConsoleProgress" not in conf and not _stderr_is_terminal():
        conf["spark.ui.showConsoleProgress"] = "false"
    return {**conf, **sparkmonitor_conf(profile), **session_records(profile)}


def session_records(profile: SparkProfile) -> dict[str, str]:
    """mlcourse's own records in a session's settings (classic or Spark Connect): the
    profile's name and data directory, read back by :func:`mlcourse.data.resolve_data_dir`."""
    return {"spark.mlcourse.profile": profile.name, "spark.mlcourse.dataDir": profile.data_dir}


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def spark_environment(profile: SparkProfile) -> dict[str, str]:
    """Environment variables to set (unless set already) before the JVM starts."""
    if not profile.is_local:
        return {}
    return {
        # Executors in local mode are Python workers of this very interpreter.
        "PYSPARK_PYTHON": sys.executable,
        # Keep local Spark on loopback (and quiet about the hostname it would resolve).
        "SPARK_LOCAL_IP": "127.0.0.1",
    }


def spark_jars_dir() -> Path | None:
    """The jars folder Spark runs from: ``$SPARK_HOME/jars``, else pyspark's own.

    Returns
    -------
    Path or None
        None when pyspark is not installed and ``SPARK_HOME`` is unset.
    """
    home = os.environ.get("SPARK_HOME")
    if home and (Path(home) / "jars").is_dir():
        return Path(home) / "jars"
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        return None
    jars = Path(next(iter(spec.submodule_search_locations))) / "jars"
    return jars if jars.is_dir() else None


def spark_versions(jars_dir: str | os.PathLike[str] | None = None) -> tuple[str, str] | None:
    """Read the Spark and Scala versions from the ``spark-core_<scala>-<spark>.jar`` name.

    Parameters
    ----------
    jars_dir : path, optional
        Folder to look in; default :func:`spark_jars_dir`.

    Returns
    -------
    (spark_version, scala_version) or None
        E.g. ``("4.0.1", "2.13")``; None when no spark-core jar is there.
    """
    folder = Path(jars_dir) if jars_dir is not None else spark_jars_dir()
    if folder is None or not folder.is_dir():
        return None
    for jar in sorted(folder.glob("spark-core_*.jar")):
        match = re.fullmatch(r"spark-core_(\d+\.\d+)-(\d+[\w.\-]*)\.jar", jar.name)
        if match:
            return match.group(2), match.group(1)
    return None


def listener_jar(
    spark_version: str,
    scala_version: str,
    sparkmonitor_dir: str | os.PathLike[str] | None = None,
) -> Path | None:
    """Pick the sparkmonitor listener jar built for this Spark and Scala.

    Parameters
    ----------
    spark_version : str
        Spark version, e.g. ``"4.0.1"``; only the major version matters.
    scala_version : str
        Scala binary version, ``"2.12"`` or ``"2.13"``.
    sparkmonitor_dir : path, optional
        The sparkmonitor package folder; default the installed one.

    Returns
    -------
    Path or None
        ``listener_spark<major>_<scala>.jar`` when sparkmonitor ships it, else None.
    """
    if sparkmonitor_dir is None:
        spec = importlib.util.find_spec("sparkmonitor")
        if spec is None or not spec.submodule_search_locations:
            return None
        sparkmonitor_dir = next(iter(spec.submodule_search_locations))
    major = spark_version.split(".", 1)[0]
    jar = Path(sparkmonitor_dir) / f"listener_spark{major}_{scala_version}.jar"
    return jar if jar.is_file() else None


def sparkmonitor_conf(profile: SparkProfile) -> dict[str, str]:
    """Listener settings, only when a kernel runs the sparkmonitor extension (or forced)."""
    wanted = profile.sparkmonitor
    if wanted is None:
        # The kernel extension exports the port its socket listens on; without it the
        # listener has nobody to talk to, so tests and the CLI leave it out.
        wanted = "SPARKMONITOR_KERNEL_PORT" in os.environ
    if not wanted:
        return {}
    versions = spark_versions()
    jar = listener_jar(*versions) if versions else None
    if jar is None:
        log.warning(
            "sparkmonitor: no listener jar for Spark/Scala %s; the job panel stays off. "
            "Upgrade with `pip install -U 'sparkmonitor>=3.3'`.",
            versions,
        )
        return {}
    conf = {"spark.extraListeners": "sparkmonitor.listener.JupyterSparkMonitorListener"}
    existing = profile.conf.get("spark.driver.extraClassPath")
    conf["spark.driver.extraClassPath"] = f"{existing}{os.pathsep}{jar}" if existing else str(jar)
    return conf
