"""`mlcourse doctor`: a real session and a real job, and the exit status."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mlcourse
from mlcourse.cli import main

from .test_java import fake_java


def test_doctor_report_with_live_session(spark, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    report = mlcourse.doctor()
    assert report.ok, str(report)
    names = [c.name for c in report.checks]
    for expected in (
        "Python",
        "PySpark",
        "Java",
        "sparkmonitor",
        "profile",
        "data directory",
        "machine",
        "Spark job",
    ):
        assert expected in names
    job = next(c for c in report.checks if c.name == "Spark job")
    assert job.status == "ok" and "local[2]" in job.detail
    text = str(report)
    assert "listener_spark4_2.13.jar" in text
    assert text.rstrip().endswith("everything needed is here")


def test_cli_doctor_exit_zero(spark, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert main(["doctor"]) == 0
    assert "Spark job" in capsys.readouterr().out


def test_cli_unknown_profile_is_non_zero(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert main(["doctor", "--profile", "nope", "--no-job"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "Known profiles" in out


def test_cli_doctor_with_java_11_fails_with_fix(tmp_path):
    folder = tmp_path / "jdk11"
    fake_java(folder, 'openjdk version "11.0.2" 2019-01-15')
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = f"{folder / 'bin'}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}/bin"
    proc = subprocess.run(
        [sys.executable, "-m", "mlcourse.cli", "doctor"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "[FAIL] Java" in proc.stdout
    assert "apt-get install openjdk-17-jre-headless" in proc.stdout
    assert "skipped" in proc.stdout
