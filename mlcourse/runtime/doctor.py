"""``mlcourse doctor``: one screen that says what this machine has and whether Spark runs."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlcourse.config import (
    SparkProfile,
    cpu_count,
    listener_jar,
    resolve_profile,
    spark_jars_dir,
    spark_versions,
    total_memory_bytes,
)
from mlcourse.errors import MlcourseError
from mlcourse.runtime.session import JAVA_INSTALL_HELP, find_java, get_spark
from mlcourse.runtime.webui import describe_ui_access, spark_ui_url

__all__ = ["Check", "DoctorReport", "doctor"]

_MARK = {"ok": "ok  ", "warn": "warn", "fail": "FAIL", "info": "    "}


@dataclass
class Check:
    """One line of the doctor's report.

    Attributes
    ----------
    name : str
        What was checked.
    status : {"ok", "warn", "fail", "info"}
        ``fail`` blocks the course from running.
    detail : str
        What was found.
    fix : str
        What to do about a ``warn`` or ``fail``.
    """

    name: str
    status: str
    detail: str
    fix: str = ""


@dataclass
class DoctorReport:
    """All checks; prints as the doctor's screen. ``ok`` is False when any check failed."""

    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing blocks."""
        return all(c.status != "fail" for c in self.checks)

    def add(self, name: str, status: str, detail: str, fix: str = "") -> Check:
        check = Check(name, status, detail, fix)
        self.checks.append(check)
        return check

    def __str__(self) -> str:
        width = max((len(c.name) for c in self.checks), default=0)
        lines = ["mlcourse doctor"]
        for c in self.checks:
            first, *rest = c.detail.splitlines() or [""]
            lines.append(f"[{_MARK[c.status]}] {c.name:<{width}}  {first}")
            lines.extend(f"       {'':<{width}}  {more}" for more in rest)
            if c.fix and c.status in ("warn", "fail"):
                lines.extend(f"       {'':<{width}}  -> {fix}" for fix in c.fix.splitlines())
        verdict = "everything needed is here" if self.ok else "something blocks: see FAIL above"
        lines.append(f"result: {verdict}")
        return "\n".join(lines)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # noqa: ARG002 (IPython's display protocol)
        p.text(str(self))


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def doctor(profile: str | None = None, *, run_job: bool = True) -> DoctorReport:
    """Check Python, PySpark, Java, sparkmonitor, the profile and data directory; run a job.

    Parameters
    ----------
    profile : str, optional
        Profile to check (default: the one :func:`mlcourse.get_spark` would use).
    run_job : bool, default True
        Start (or reuse) a session and run a tiny job to prove Spark works.

    Returns
    -------
    DoctorReport
        Prints as one screen; ``report.ok`` is False when something blocks.
    """
    report = DoctorReport()
    _check_installation(report)
    resolved = _check_profile(report, profile)
    memory, cores = total_memory_bytes(), cpu_count()
    # what this process may use: its cgroup's quota and limit (a Binder or hub container)
    machine = f"{cores} core{'s' if cores != 1 else ''}"
    report.add(
        "machine", "info", f"{machine}, {memory / 2**30:.1f} GiB memory" if memory else machine
    )

    if run_job and report.ok and resolved is not None:
        _check_job(report, profile, resolved)
    elif run_job:
        report.add("Spark job", "info", "skipped: fix the failures above first")
    return report


def _check_installation(report: DoctorReport) -> None:
    """Python, mlcourse, PySpark, Java and sparkmonitor: what is installed."""
    py_ok = sys.version_info >= (3, 10)
    report.add(
        "Python",
        "ok" if py_ok else "fail",
        f"{platform.python_version()} ({sys.executable})",
        "mlcourse needs Python 3.10 or newer.",
    )
    from mlcourse._version import __version__

    report.add("mlcourse", "info", __version__)

    pyspark_version = _version("pyspark")
    if pyspark_version is None:
        report.add("PySpark", "fail", "not installed", "pip install 'pyspark>=4.0,<5'")
    else:
        versions = spark_versions()
        where = f" (jars: {spark_jars_dir()})" if versions else ""
        report.add("PySpark", "ok", f"{pyspark_version}{where}")

    java = find_java()
    report.add(
        "Java",
        "ok" if java.ok else "fail",
        str(java),
        "" if java.ok else (java.problem or "") + "\n" + JAVA_INSTALL_HELP,
    )

    monitor_version = _version("sparkmonitor")
    if monitor_version is None:
        report.add("sparkmonitor", "warn", "not installed", "pip install 'sparkmonitor>=3.3'")
    else:
        versions = spark_versions()
        jar = listener_jar(*versions) if versions else None
        active = "SPARKMONITOR_KERNEL_PORT" in os.environ
        state = "kernel extension active" if active else "off outside a notebook kernel"
        report.add(
            "sparkmonitor",
            "ok" if jar else "warn",
            f"{monitor_version}, jar {jar.name if jar else 'none for this Spark'}; {state}",
            "" if jar else "pip install -U 'sparkmonitor>=3.3'",
        )


def _check_profile(report: DoctorReport, profile: str | None) -> SparkProfile | None:
    """The profile, where it came from, its data directory, and how Spark is reached."""
    resolved = None
    try:
        resolved = resolve_profile(profile)
    except MlcourseError as exc:
        report.add("profile", "fail", str(exc), "fix mlcourse.toml or pick another profile")
    if resolved is not None:
        config = str(resolved.config_file) if resolved.config_file else "none (built-ins only)"
        report.add(
            "profile",
            "ok",
            f"{resolved.name} (from {resolved.sources.get('profile')}), "
            f"master {resolved.master} (from {resolved.sources.get('master')})\n"
            f"config file: {config}",
        )
        report.add("data directory", "info", _describe_data_dir(resolved.data_dir))
        if resolved.remote is not None:
            from mlcourse.runtime.connect import check_reachable

            try:
                check_reachable(resolved.remote, timeout=5.0)
                report.add("Spark Connect", "ok", f"a server answers at {resolved.remote}")
            except MlcourseError as exc:
                report.add("Spark Connect", "fail", str(exc))
        else:
            report.add("Spark UI", "info", describe_ui_access(resolved.conf))
    return resolved


def _check_job(report: DoctorReport, profile: str | None, resolved: SparkProfile) -> None:
    """Start (or reuse) a session and run a tiny job whose answer is known."""
    try:
        start = time.perf_counter()
        spark = get_spark(profile)
        total = spark.range(1_000_000).selectExpr("sum(id) AS s").collect()[0]["s"]
        seconds = time.perf_counter() - start
        expected = 1_000_000 * 999_999 // 2
        if total != expected:
            report.add("Spark job", "fail", f"sum was {total}, expected {expected}")
        else:
            report.add(
                "Spark job",
                "ok",
                f"sum of 0..999999 on {resolved.master}, Spark "
                f"{spark.version}, {seconds:.1f} s (UI: {spark_ui_url(spark)})",
            )
    except Exception as exc:  # the point is to report any failure, whatever it is
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        report.add(
            "Spark job",
            "fail",
            f"{type(exc).__name__}: {message}",
            "read the message above; `mlcourse doctor --no-job` checks without starting Spark",
        )


def _describe_data_dir(path: str) -> str:
    if "://" in path and not path.startswith("file://"):
        return f"{path} (Hadoop file system; checked when Spark starts)"
    local = path.removeprefix("file://")
    absolute = str(Path(local).absolute())
    if Path(local).is_dir():
        state = "exists" + ("" if os.access(local, os.W_OK) else ", NOT writable")
    else:
        state = "will be created on first download"
    return f"{absolute} ({state})"
