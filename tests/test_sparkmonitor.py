"""sparkmonitor wiring: the jar that matches Spark and Scala, only inside a kernel."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mlcourse import resolve_profile
from mlcourse.config import listener_jar, spark_jars_dir, spark_versions, sparkmonitor_conf

SHIPPED = ["listener_spark3_2.12.jar", "listener_spark3_2.13.jar", "listener_spark4_2.13.jar"]


def jars_folder(tmp_path: Path, core_jar: str) -> Path:
    folder = tmp_path / "jars"
    folder.mkdir()
    for other in ("scala-library-2.13.16.jar", core_jar, "spark-sql_2.13-4.0.1.jar"):
        (folder / other).touch()
    return folder


@pytest.fixture
def sparkmonitor_dir(tmp_path) -> Path:
    folder = tmp_path / "sparkmonitor"
    folder.mkdir()
    for jar in SHIPPED:
        (folder / jar).touch()
    return folder


@pytest.mark.parametrize(
    ("core_jar", "versions", "expected"),
    [
        ("spark-core_2.12-3.5.6.jar", ("3.5.6", "2.12"), "listener_spark3_2.12.jar"),
        ("spark-core_2.13-3.5.6.jar", ("3.5.6", "2.13"), "listener_spark3_2.13.jar"),
        ("spark-core_2.13-4.0.1.jar", ("4.0.1", "2.13"), "listener_spark4_2.13.jar"),
        (
            "spark-core_2.13-4.1.0-preview2.jar",
            ("4.1.0-preview2", "2.13"),
            "listener_spark4_2.13.jar",
        ),
        ("spark-core_2.12-2.4.8.jar", ("2.4.8", "2.12"), None),
        ("spark-core_3.0-5.0.0.jar", ("5.0.0", "3.0"), None),
    ],
)
def test_jar_for_each_combination(tmp_path, sparkmonitor_dir, core_jar, versions, expected):
    folder = jars_folder(tmp_path, core_jar)
    assert spark_versions(folder) == versions
    jar = listener_jar(*versions, sparkmonitor_dir=sparkmonitor_dir)
    assert (jar.name if jar else None) == expected


def test_no_spark_core_jar(tmp_path):
    (tmp_path / "jars").mkdir()
    assert spark_versions(tmp_path / "jars") is None
    assert spark_versions(tmp_path / "missing") is None


def test_spark_home_wins(monkeypatch, tmp_path):
    home = tmp_path / "spark"
    (home / "jars").mkdir(parents=True)
    (home / "jars" / "spark-core_2.12-3.5.1.jar").touch()
    monkeypatch.setenv("SPARK_HOME", str(home))
    assert spark_jars_dir() == home / "jars"
    assert spark_versions() == ("3.5.1", "2.12")


def test_installed_pyspark_gets_the_spark4_jar(monkeypatch):
    monkeypatch.delenv("SPARK_HOME", raising=False)
    import pyspark

    spark_version, scala = spark_versions()
    assert spark_version == pyspark.__version__
    jar = listener_jar(spark_version, scala)
    assert jar is not None and jar.name == "listener_spark4_2.13.jar" and jar.is_file()


def test_listener_only_with_kernel_extension(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SPARK_HOME", raising=False)
    profile = resolve_profile("local")
    assert sparkmonitor_conf(profile) == {}  # tests and the CLI: no listener
    monkeypatch.setenv("SPARKMONITOR_KERNEL_PORT", "45678")
    conf = sparkmonitor_conf(profile)
    assert conf["spark.extraListeners"] == "sparkmonitor.listener.JupyterSparkMonitorListener"
    assert conf["spark.driver.extraClassPath"].endswith("listener_spark4_2.13.jar")
    profile.sparkmonitor = False
    assert sparkmonitor_conf(profile) == {}


def test_spark_starting_before_the_notebook_connects_does_not_break_the_monitor(monkeypatch):
    """Run All right after opening a notebook: Spark's listener talks before the notebook
    opened sparkmonitor's channel. Unguarded, the extension's thread dies on the first
    message; guarded, messages wait for nobody and a later channel replaces the guard."""
    from sparkmonitor import kernelextension

    from mlcourse.runtime.session import _guard_sparkmonitor

    monitor = kernelextension.ScalaMonitor(None)
    monkeypatch.setattr(kernelextension, "monitor", monitor, raising=False)
    # the extension defines its logger when a kernel loads it
    monkeypatch.setattr(kernelextension, "logger", logging.getLogger("test"), raising=False)
    with pytest.raises(AttributeError, match="comm"):
        kernelextension.sendToFrontEnd({"msgtype": "fromscala", "msg": "{}"})
    _guard_sparkmonitor()
    kernelextension.sendToFrontEnd({"msgtype": "fromscala", "msg": "{}"})  # no error

    class Channel:  # what the notebook's comm does for the extension: keep what is sent
        def __init__(self):
            self.sent = []

        def on_msg(self, handler):
            return handler

        def send(self, msg):
            self.sent.append(msg)

    channel = Channel()
    monitor.target_func(channel, {})  # the notebook opens the channel
    kernelextension.sendToFrontEnd({"msgtype": "fromscala", "msg": "{}"})
    assert channel.sent == [{"msgtype": "commopen"}, {"msgtype": "fromscala", "msg": "{}"}]
    _guard_sparkmonitor()  # a monitor with a channel keeps it
    assert monitor.comm is channel
