"""Exceptions raised by mlcourse.

Every error says what went wrong, where, and how to fix it, so that a student never
sees a bare Py4J stack trace as the first thing.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataError",
    "DownloadError",
    "JavaError",
    "MlcourseError",
    "SessionConflictError",
]


class MlcourseError(Exception):
    """Base class of every error raised on purpose by mlcourse."""


class ConfigError(MlcourseError, ValueError):
    """A profile or configuration file is missing, unknown or inconsistent."""


class JavaError(MlcourseError, RuntimeError):
    """Java is missing or its version cannot run Spark 4."""


class SessionConflictError(MlcourseError, RuntimeError):
    """A live Spark session exists and does not match what was asked for."""


class DataError(MlcourseError, ValueError):
    """Input data is malformed: the message names the file, line and column.

    Parameters
    ----------
    message : str
        What is wrong and how to fix it.
    path : str, optional
        The file the problem was found in.
    line : int, optional
        1-based line number in that file.
    column : str, optional
        The column (feature) name.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.column = column


class DownloadError(MlcourseError, OSError):
    """A download failed for a reason retrying will not fix (404, not gzip, bad checksum)."""
