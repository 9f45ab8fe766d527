"""Exceptions raised by mlcourse.

Every error says what went wrong, where, and how to fix it, so that a student never
sees a bare Py4J stack trace as the first thing.
"""

from __future__ import annotations

import errno
import os

__all__ = [
    "ConfigError",
    "DataError",
    "DownloadError",
    "JavaError",
    "MlcourseError",
    "SessionConflictError",
    "contract_violation",
    "describe_environment_error",
]

#: How a data check that fails inside a Spark job begins its message (``raise_error``):
#: :func:`contract_violation` finds it in whatever exception the job ends with.
CONTRACT_MARKER = "mlcourse data check:"


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


def contract_violation(exc: BaseException) -> DataError | None:
    """The :class:`DataError` a data check raised inside a Spark job, else None.

    The check's message travels in the job's failure (a captured Spark exception, or a
    Py4J error whose Java trace holds it, on the classic driver or over Spark Connect):
    it runs from :data:`CONTRACT_MARKER` to the end of its line or to Spark's
    ``SQLSTATE`` suffix.

    Examples
    --------
    >>> failure = RuntimeError("[USER_RAISED_EXCEPTION] mlcourse data check: m_bb is NaN. "
    ...                        "SQLSTATE: P0001")
    >>> str(contract_violation(failure))
    'm_bb is NaN.'
    """
    text = str(exc)
    start = text.find(CONTRACT_MARKER)
    if start < 0:
        return None
    line = text[start + len(CONTRACT_MARKER) :].split("\n", 1)[0]
    message = line.split(" SQLSTATE:", 1)[0].strip().rstrip("\"'")
    column = message.split(" ", 1)[0] if message else None
    return DataError(message, column=column)


class DownloadError(MlcourseError, OSError):
    """A download failed for a reason retrying will not fix (404, not gzip, bad checksum)."""


#: What each file-system error means for a student, and what to do about it.
_OS_ERRORS = {
    errno.ENOSPC: "no space left on the disk that holds it: free some space (du -sh * shows "
    "what is big) or choose a destination on another disk",
    errno.EDQUOT: "your disk quota is used up: remove files you no longer need, or ask for more",
    errno.EROFS: "the file system there is read-only: choose a destination in a folder of "
    "your own, such as your home folder",
    errno.EACCES: "you may not read or write there: choose a folder of your own, or change "
    "its permissions (ls -l shows them)",
    errno.EPERM: "the operation is not permitted there: choose a folder of your own",
    errno.ENOTDIR: "a part of that path is a file, not a folder: choose another path, or move "
    "the file away",
    errno.EISDIR: "that is a folder where a file is needed: name a file inside it",
    errno.ELOOP: "too many levels of symbolic links: a link leads back to itself (ls -l shows "
    "where each points); fix or remove it",
    errno.ENOENT: "no such file or folder: check the spelling, or create it first",
    errno.EEXIST: "it exists already: remove it or choose another name",
    errno.ENAMETOOLONG: "the name is too long for the file system: choose a shorter one",
    errno.EMFILE: "too many files are open at once: restart the kernel or the command",
    errno.ENOTEMPTY: "the folder is not empty: empty it or choose another",
    errno.EXDEV: "it cannot be moved across file systems: choose a destination on the same disk",
}


def describe_environment_error(exc: BaseException) -> str:
    """One line for a file-system or encoding error: where, what it means, what to do.

    Parameters
    ----------
    exc : OSError or UnicodeDecodeError
        The error, as raised by Python.

    Returns
    -------
    str
        A sentence naming the path(s) as they can be pasted into a shell.

    Examples
    --------
    >>> import errno
    >>> message = describe_environment_error(OSError(errno.EROFS, "Read-only", "/srv/x.csv"))
    >>> message.split(":")[:2]
    ['/srv/x.csv', ' the file system there is read-only']
    """
    if isinstance(exc, UnicodeDecodeError):
        return (
            f"a file is not UTF-8 text: byte 0x{exc.object[exc.start]:02x} at byte offset "
            f"{exc.start} ({exc.reason}). Save the file as UTF-8 in your editor."
        )
    if not isinstance(exc, OSError):
        return str(exc)
    where = " -> ".join(
        os.fsdecode(name) for name in (exc.filename, exc.filename2) if name is not None
    )
    what = _OS_ERRORS.get(exc.errno or -1) or (exc.strerror or str(exc)).rstrip(".")
    return f"{where}: {what}." if where else f"{what}."
