"""Java detection: a fake `java` on PATH prints the version we want to simulate."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlcourse import JavaError, check_java
from mlcourse.runtime.session import find_java


def fake_java(folder: Path, version_line: str, on_launch: str | None = None) -> Path:
    """A `java` script that prints a version banner like the real one (to stderr).

    With ``on_launch``, only ``-version`` gets the banner; any other call (a JVM launch)
    runs those shell lines and fails.
    """
    bindir = folder / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    java = bindir / "java"
    banner = f"echo '{version_line}' >&2\necho 'Runtime Environment' >&2\n"
    if on_launch is None:
        java.write_text(f"#!/bin/sh\n{banner}")
    else:
        java.write_text(
            f'#!/bin/sh\ncase "$*" in *-version*)\n{banner}exit 0;;\nesac\n{on_launch}exit 1\n'
        )
    java.chmod(0o755)
    return java


@pytest.fixture
def only_path(monkeypatch, tmp_path):
    """PATH holds only a fake-java folder (plus /bin for sh); JAVA_HOME unset."""
    monkeypatch.delenv("JAVA_HOME", raising=False)

    def use(version_line: str | None) -> Path:
        folder = tmp_path / "jdk"
        if version_line is not None:
            fake_java(folder, version_line)
        monkeypatch.setenv("PATH", f"{folder / 'bin'}{os.pathsep}{tmp_path / 'empty'}")
        return folder

    return use


@pytest.mark.parametrize(
    ("banner", "version", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', "17.0.15", 17),
        ('openjdk version "21" 2023-09-19', "21", 21),
        ('openjdk version "11.0.2" 2019-01-15', "11.0.2", 11),
        ('java version "1.8.0_392"', "1.8.0_392", 8),
    ],
)
def test_version_is_read(only_path, banner, version, major):
    only_path(banner)
    info = find_java()
    assert (info.version, info.major, info.origin) == (version, major, "PATH")
    assert info.ok is (major >= 17)


def test_java_11_gives_clear_error(only_path):
    only_path('openjdk version "11.0.2" 2019-01-15')
    with pytest.raises(JavaError) as err:
        check_java()
    message = str(err.value)
    assert "Java 11.0.2" in message and "needs 17 or 21" in message
    for platform_hint in ("apt-get install openjdk-17", "conda install", "brew install"):
        assert platform_hint in message


def test_missing_java_gives_clear_error(only_path):
    only_path(None)
    with pytest.raises(JavaError, match="no Java found"):
        check_java()


def test_java_home_wins_over_path(only_path, monkeypatch, tmp_path):
    only_path('openjdk version "11.0.2"')
    home = tmp_path / "jdk17"
    fake_java(home, 'openjdk version "17.0.9"')
    monkeypatch.setenv("JAVA_HOME", str(home))
    info = check_java()
    assert (info.major, info.origin, info.path) == (17, "JAVA_HOME", str(home / "bin" / "java"))


def test_java_home_without_java(monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(JavaError, match=f"JAVA_HOME is {tmp_path}, which holds no bin/java") as e:
        check_java()
    assert "JAVA_HOME is not set" not in str(e.value)  # it is set, to the wrong place


def test_real_java_is_usable():
    info = check_java()
    assert info.major in (17, 21) or info.major > 21


def test_get_spark_with_java_11_never_reaches_the_jvm(tmp_path):
    """In a fresh interpreter (no JVM yet), Java 11 stops get_spark with our message."""
    folder = tmp_path / "jdk11"
    fake_java(folder, 'openjdk version "11.0.2" 2019-01-15')
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = f"{folder / 'bin'}{os.pathsep}{Path(sys.executable).parent}"
    code = textwrap.dedent(
        """
        import mlcourse
        try:
            mlcourse.get_spark()
        except mlcourse.JavaError as exc:
            print("JavaError:", exc)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert "JavaError: Spark cannot start: found Java 11.0.2" in proc.stdout
    assert "JAVA_GATEWAY_EXITED" not in proc.stdout + proc.stderr
