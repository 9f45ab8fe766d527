"""One maker at a time for a data set: a lock beside it that the second process waits on.

Two notebooks on a hub calling :func:`mlcourse.load_higgs` on one data folder, or two
``mlcourse data prepare`` at once, would both download, convert or generate the same data
set, and the second rename into place would fail. :func:`making` serialises them: the
first takes ``.<name>.lock`` beside the data set (an advisory ``flock``, with its pid
written in it), the second waits, says once for whom, and then finds the data set made and
reuses it. The operating system releases the lock of a process that dies, however it
dies: a lock is never stale. The lock file is removed by whoever releases it last.

Locks work in local folders (``flock``, also over NFS on Linux); a data set on HDFS or
S3 is made without one, and so is one in a folder this user may not write in (the making
fails there anyway, with a message naming its own file).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["lock_path", "making"]

log = logging.getLogger(__name__)

#: The lock files this process holds: a making inside another of the same target (the
#: Parquet writer inside load_higgs) does not wait for itself.
_held: set[Path] = set()


def lock_path(target: Path) -> Path:
    """The lock file of ``target``: ``.<name>.lock`` in the same folder."""
    return target.parent / f".{target.name}.lock"


def _owner(path: Path) -> str:
    try:
        pid = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return "another process"
    return f"process {pid}" if pid.isdigit() else "another process"


@contextmanager
def making(target: Path, what: str = "it") -> Iterator[None]:
    """Hold the lock of making ``target`` for the block; wait while another process does.

    Parameters
    ----------
    target : pathlib.Path
        The file or folder to be made (its folder must exist).
    what : str
        What is being made, for the one line logged while waiting.
    """
    import fcntl

    path = lock_path(target)
    if path in _held:  # this process holds it already (an outer step of the same making)
        yield
        return
    waited = False
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # a folder we may not write in: the making itself will fail
            log.debug("no lock for %s: %s", target, exc)  # there, naming its own file
            yield
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not waited:
                    log.warning(
                        "waiting for %s, which is making %s (%s)", _owner(path), what, target
                    )
                    waited = True
                fcntl.flock(fd, fcntl.LOCK_EX)
            # the holder before may have removed the file it locked: lock the one there now
            try:
                same = os.fstat(fd).st_ino == path.stat().st_ino
            except FileNotFoundError:
                same = False
            if not same:
                continue
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode("ascii"))
            _held.add(path)
            try:
                yield
            finally:
                _held.discard(path)
                path.unlink(missing_ok=True)  # before the unlock: a waiter then retries
            return
        finally:
            os.close(fd)  # releases the lock
