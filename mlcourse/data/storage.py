"""Small helpers over Hadoop's FileSystem API, so local paths and ``hdfs://`` URIs behave alike."""

from __future__ import annotations

import logging
import os
import re
import socket
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union
from urllib.parse import unquote, urlparse

from mlcourse.errors import DataError, JavaError
from mlcourse.runtime.flavour import is_connect, jvm

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:40] or "host"
_LEFTOVER = re.compile(r"(?:tmp|old)-(?P<host>[A-Za-z0-9]+)-(?P<pid>\d+)-[0-9a-f]{8}")


log = logging.getLogger(__name__)


def _alive(pid: int) -> bool:
    """Whether a process of this machine is still running (a zombie, dead but not yet
    reaped by its parent, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's, but it exists
        pass
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):  # no /proc (macOS): trust kill()
        return True


def _stale(suffix: str, age: float, max_age: float) -> bool:
    """Whether a hidden sibling (``suffix``: what follows ``.NAME.mlcourse-``) was left by a
    crashed run: its writer, on this machine, is gone, or it is older than ``max_age``
    seconds."""
    match = _LEFTOVER.fullmatch(suffix)
    gone = match is not None and match["host"] == _HOST and not _alive(int(match["pid"]))
    return gone or age > max_age


#: A URI's start: a scheme, a colon and a slash (``hdfs://``, ``s3a://``, ``file:/``).
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:/")


def is_local(path: str) -> bool:
    """True for plain paths and ``file:`` URIs (a name such as ``run:2.parquet`` is a
    plain path, not a URI of scheme ``run``)."""
    text = str(path)
    return not _URI.match(text) or text.startswith("file:")


def local_path(path: str) -> str:
    """The operating-system path of a local path or ``file:`` URI (``%20`` decoded: a
    path to paste into a shell)."""
    parsed = urlparse(str(path))
    return unquote(parsed.path) if parsed.scheme == "file" else str(path)


def reaches(dest: str, src: str) -> str | None:
    """How the local path ``dest`` leads to the local file or folder ``src``, judged by the
    file system (device and inode, real paths), not by the strings: ``"is"`` (the same
    file or folder, through a symlink or a hard link too), ``"holds"`` (a folder that
    contains it) or None (not local, nothing there yet, or unrelated).
    """
    if not (is_local(dest) and is_local(src)):
        return None
    d, s = local_path(dest), local_path(src)
    try:
        if os.path.samefile(d, s):
            return "is"
    except OSError:  # one of them does not exist: nothing to destroy
        return None
    real_d, real_s = os.path.realpath(d), os.path.realpath(s)
    if os.path.isdir(real_d) and real_s.startswith(real_d.rstrip(os.sep) + os.sep):
        return "holds"
    return None


#: Characters that Hadoop and Spark read as a glob pattern or a URI scheme in a path.
_PATTERN = re.compile(r"[\[\]{}*?:\\]")


def protected_local(path: str) -> str | None:
    """What a local ``path`` is when it must never be replaced or deleted: the current
    folder, a home folder or a root (through links too); None otherwise."""
    here = os.path.realpath(local_path(path))
    if here == os.path.realpath(os.getcwd()):
        return "the current folder"
    if here == os.path.realpath(os.path.expanduser("~")):
        return "your home folder"
    if os.path.dirname(here) in ("/home", "/Users"):
        return "a home folder"
    if os.path.dirname(here) == here:
        return "the root of its file system"
    return None


def check_destination(
    dest: str | os.PathLike[str], inputs: Any = (), *, replaces: bool = True, what: str = ""
) -> None:
    """The one check of where a command may write, made before it writes anything.

    Judged by the file system (device and inode, real paths), not by the strings: a
    destination that is one of ``inputs`` (through a symlink or a hard link too) is refused,
    whatever the flags; with ``replaces`` (the destination itself is replaced or deleted,
    not written into) so are a folder holding one, the current folder, a home folder and a
    root.

    Parameters
    ----------
    dest : path or str
        Where the command writes.
    inputs : iterable of path or str
        What it reads (paths that are not local are compared by the caller).
    replaces : bool, default True
        Whether ``dest`` is replaced as a whole (a converted dataset) rather than written
        into (a folder receiving notebooks or a report).
    what : str, optional
        What the command writes, for the message (``"the student notebooks"``).

    Raises
    ------
    DataError
        Saying what the destination really is (``d2/higgs.csv is the input data/higgs.csv,
        through the symlink d2 -> data``).
    """
    from mlcourse.errors import DataError

    dest = os.fspath(dest)
    writing = f"writing {what} there" if what else "writing there"
    for src in inputs:
        relation = reaches(dest, os.fspath(src))
        if relation == "is" or (relation == "holds" and replaces):
            raise DataError(
                f"the destination {dest} {relation} the input {os.fspath(src)}{through(dest)}: "
                f"{writing} would destroy it, so no flag (not --force) allows it. Choose a "
                "new destination.",
                path=dest,
            )
    if replaces and is_local(dest) and os.path.lexists(local_path(dest)):
        protected = protected_local(dest)
        if protected:
            raise DataError(
                f"{dest} is {protected}{through(dest)}: mlcourse never replaces it. Give "
                "the output a name of its own, e.g. higgs.parquet.",
                path=dest,
            )


def check_dataset_name(dest: str) -> None:
    """Refuse a dataset name that Spark would read as a pattern or a URI (``higgs[1]``,
    ``run:2``, ``*``): written, it could never be read back by that name."""
    from mlcourse.errors import DataError

    name = dest.rstrip("/").rsplit("/", 1)[-1]
    bad = sorted(set(_PATTERN.findall(name)))
    if bad:
        raise DataError(
            f"{dest}: Spark reads {' '.join(bad)} in a name as a pattern or a URI scheme, so "
            "a dataset of that name could not be read back. Use letters, digits, '-', '_' "
            f"and '.', e.g. {re.sub(_PATTERN, '_', name) or 'higgs.parquet'}.",
            path=dest,
        )


def through(dest: str) -> str:
    """The link by which a local ``dest`` leads elsewhere, for a message: ``", through the
    symlink d2 -> /data"``, ``", a hard link of it"``, or ``""``."""
    path = Path(local_path(dest))
    for part in [path, *path.parents]:  # the nearest link: the one the user made
        if part.is_symlink():
            return f", through the symlink {part} -> {os.readlink(part)}"
    try:
        if path.is_file() and path.stat().st_nlink > 1:
            return ", a hard link of it"
    except OSError:
        pass
    return ""


def absolute(path: str) -> str:
    """A relative local path made absolute against Python's working directory; others as given.

    The JVM and Spark's Python workers keep the directory they started in, which is not
    Python's after an ``os.chdir`` (or ``%cd`` in a notebook): a path the user wrote
    relative to where Python is must not resolve somewhere else.
    """
    path = str(path)
    if is_local(path) and not path.startswith("file:") and not os.path.isabs(path):
        return os.path.abspath(path)
    return path


def filesystem(spark: SparkSession, path: str) -> FileSystem:
    """The file system ``path`` lives on: Hadoop's, through the driver's JVM, in classic
    mode; pyarrow's under Spark Connect (the kernel has no JVM)."""
    return ArrowFS(path) if is_connect(spark) else HadoopFS(spark, path)


#: What :func:`filesystem` gives: the same methods over Hadoop or pyarrow.
FileSystem = Union["HadoopFS", "ArrowFS"]


class HadoopFS:
    """A path on whatever file system Spark's Hadoop configuration resolves it to."""

    def __init__(self, spark: SparkSession, path: str) -> None:
        self._jvm = jvm(spark)
        self.jpath = self._jvm.org.apache.hadoop.fs.Path(absolute(path))
        self.fs = self.jpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
        self.jpath = self.fs.makeQualified(self.jpath)

    def sibling(self, kind: str) -> str:
        """A hidden name next to this path (Spark and Hadoop skip names starting with '.'),
        which says who made it: ``.NAME.mlcourse-KIND-HOST-PID-RANDOM``, PID being the
        driver JVM's (what an out-of-memory kill ends)."""
        owner = f"{_HOST}-{self._jvm.java.lang.ProcessHandle.current().pid()}"
        name = f".{self.jpath.getName()}.mlcourse-{kind}-{owner}-{uuid.uuid4().hex[:8]}"
        return str(self._jvm.org.apache.hadoop.fs.Path(self.jpath.getParent(), name))

    def sweep_leftovers(self, *, max_age: float = 24 * 3600.0) -> list[str]:
        """Delete the hidden siblings that crashed runs left beside this path: those whose
        JVM, on this machine, is gone, and any older than ``max_age`` seconds. Returns what
        was deleted."""
        parent = self.jpath.getParent()
        if parent is None or not self.fs.exists(parent):
            return []
        prefix = f".{self.jpath.getName()}.mlcourse-"
        now_ms = time.time() * 1000
        swept = []
        for status in self.fs.listStatus(parent):
            name = str(status.getPath().getName())
            if not name.startswith(prefix):
                continue
            age = (now_ms - status.getModificationTime()) / 1000
            if _stale(name[len(prefix) :], age, max_age):
                self.fs.delete(status.getPath(), True)
                swept.append(str(status.getPath()))
        return swept

    def _p(self, path: str | None) -> Any:
        return self.jpath if path is None else self._jvm.org.apache.hadoop.fs.Path(path)

    def exists(self, path: str | None = None) -> bool:
        return bool(self.fs.exists(self._p(path)))

    def parent_exists(self) -> bool:
        parent = self.jpath.getParent()
        return parent is None or bool(self.fs.exists(parent))

    def is_dir(self, path: str | None = None) -> bool:
        p = self._p(path)
        return bool(self.fs.exists(p)) and bool(self.fs.getFileStatus(p).isDirectory())

    def size(self, path: str | None = None) -> int:
        return int(self.fs.getContentSummary(self._p(path)).getLength())

    def mkdirs(self) -> None:
        """Create this directory and its parents when missing.

        Raises
        ------
        OSError
            When it cannot be created (a read-only place, no permission, a file in the way).
        """
        if self.fs.exists(self.jpath):
            if not self.is_dir():
                raise NotADirectoryError(f"{self.jpath} is a file, not a folder")
            return
        try:
            made = bool(self.fs.mkdirs(self.jpath))
        except Exception as exc:  # Hadoop's own exceptions (AccessControlException, ...)
            raise PermissionError(f"cannot create {self.jpath}: {exc}") from None
        if not made:
            raise PermissionError(f"cannot create {self.jpath} (read-only, or no permission)")

    def delete(self, path: str | None = None) -> None:
        p = self._p(path)
        if self.fs.exists(p):
            self.fs.delete(p, True)

    def list_names(self, path: str | None = None) -> list[str]:
        """Names of the entries of a directory."""
        return [str(st.getPath().getName()) for st in self.fs.listStatus(self._p(path))]

    def write_text(self, path: str, text: str) -> None:
        """Write a small text file (a marker)."""
        stream = self.fs.create(self._p(path), True)
        try:
            stream.write(bytearray(text.encode()))
        finally:
            stream.close()

    def protected_folder(self) -> str | None:
        """What this path is when it must never be replaced: the current folder, a home
        folder or a file system's root; None otherwise."""
        qualified = str(self.jpath).rstrip("/")
        if self.jpath.getParent() is None:
            return "the root of its file system"
        if qualified == str(self.fs.makeQualified(self.fs.getHomeDirectory())).rstrip("/"):
            return "your home folder"
        return protected_local(qualified) if is_local(qualified) else None

    def rename(self, src: str, dst: str) -> None:
        if not self.fs.rename(self._p(src), self._p(dst)):
            raise OSError(f"could not rename {src} to {dst}")

    def __str__(self) -> str:
        return str(self.jpath)


class _ArrowPath:
    """A path of an :class:`ArrowFS`, with the two questions the callers ask of Hadoop's."""

    def __init__(self, prefix: str, path: str) -> None:
        self.prefix, self.path = prefix, path.rstrip("/") or "/"

    # Hadoop's Path method names, so that callers need not tell the two apart
    def getName(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def getParent(self) -> _ArrowPath | None:
        if self.path == "/":
            return None
        return _ArrowPath(self.prefix, self.path.rsplit("/", 1)[0] or "/")

    def __str__(self) -> str:
        return self.prefix + self.path


class ArrowFS:
    """:class:`HadoopFS`'s methods on pyarrow's file systems, for a kernel without a JVM
    (Spark Connect): local paths on this machine's disk, ``s3://``, ``gs://``, ``hdfs://``
    as pyarrow reaches them (``hdfs://`` needs libhdfs, a JVM's library).

    Local paths are this machine's: over a Spark Connect server on another machine they
    name the server's files only where both share the file system (a hub's home folders).
    """

    def __init__(self, path: str) -> None:
        from pyarrow import fs

        text = absolute(str(path))
        if is_local(text):
            self.fs: Any = fs.LocalFileSystem()
            self.jpath = _ArrowPath("file:", os.path.abspath(local_path(text)))
            return
        try:
            self.fs, inner = fs.FileSystem.from_uri(text)
        except Exception as exc:  # pyarrow's own: no libhdfs, unknown scheme, ...
            from mlcourse.errors import ConfigError

            raise ConfigError(
                f"{text}: over Spark Connect mlcourse reaches this file system through "
                f"pyarrow, which cannot open it ({str(exc).splitlines()[0]}). Use a local "
                "folder the server shares, an s3:// or gs:// one, or a classic profile."
            ) from None
        scheme, _, rest = text.partition("://")
        authority = rest.split("/", 1)[0]
        self.jpath = _ArrowPath(f"{scheme}://{authority}", "/" + inner.lstrip("/"))

    def _p(self, path: str | None) -> str:
        """pyarrow's name for ``path`` (this one when None): a local path, or the path
        within the bucket or name node."""
        if path is None:
            return self.jpath.path
        text = str(path)
        if text.startswith(self.jpath.prefix):
            text = text[len(self.jpath.prefix) :]
        return local_path(text) if is_local(text) else text

    def _info(self, path: str | None = None) -> Any:
        return self.fs.get_file_info(self._p(path))

    def sibling(self, kind: str) -> str:
        """As :meth:`HadoopFS.sibling`, PID being this kernel's (it drives the write)."""
        owner = f"{_HOST}-{os.getpid()}"
        name = f".{self.jpath.getName()}.mlcourse-{kind}-{owner}-{uuid.uuid4().hex[:8]}"
        return f"{self.jpath.getParent()}/{name}"

    def sweep_leftovers(self, *, max_age: float = 24 * 3600.0) -> list[str]:
        """As :meth:`HadoopFS.sweep_leftovers`."""
        from pyarrow import fs

        parent = self.jpath.getParent()
        if parent is None or not self.exists(str(parent)):
            return []
        prefix = f".{self.jpath.getName()}.mlcourse-"
        swept = []
        for info in self.fs.get_file_info(fs.FileSelector(parent.path)):
            if not info.base_name.startswith(prefix):
                continue
            age = time.time() - info.mtime.timestamp() if info.mtime is not None else 0.0
            if _stale(info.base_name[len(prefix) :], age, max_age):
                self.delete(f"{parent}/{info.base_name}")
                swept.append(f"{parent}/{info.base_name}")
        return swept

    def exists(self, path: str | None = None) -> bool:
        from pyarrow import fs

        return bool(self._info(path).type != fs.FileType.NotFound)

    def parent_exists(self) -> bool:
        parent = self.jpath.getParent()
        return parent is None or self.exists(str(parent))

    def is_dir(self, path: str | None = None) -> bool:
        from pyarrow import fs

        return bool(self._info(path).type == fs.FileType.Directory)

    def size(self, path: str | None = None) -> int:
        from pyarrow import fs

        if not self.is_dir(path):
            return int(self._info(path).size or 0)
        found = self.fs.get_file_info(fs.FileSelector(self._p(path), recursive=True))
        return sum(int(i.size or 0) for i in found if i.type == fs.FileType.File)

    def mkdirs(self) -> None:
        """As :meth:`HadoopFS.mkdirs`."""
        if self.exists():
            if not self.is_dir():
                raise NotADirectoryError(f"{self.jpath} is a file, not a folder")
            return
        try:
            self.fs.create_dir(self._p(None), recursive=True)
        except OSError as exc:
            raise PermissionError(f"cannot create {self.jpath}: {exc}") from None

    def delete(self, path: str | None = None) -> None:
        if self.is_dir(path):
            self.fs.delete_dir(self._p(path))
        elif self.exists(path):
            self.fs.delete_file(self._p(path))

    def list_names(self, path: str | None = None) -> list[str]:
        from pyarrow import fs

        return [i.base_name for i in self.fs.get_file_info(fs.FileSelector(self._p(path)))]

    def write_text(self, path: str, text: str) -> None:
        with self.fs.open_output_stream(self._p(path)) as out:
            out.write(text.encode())

    def protected_folder(self) -> str | None:
        if self.jpath.getParent() is None:
            return "the root of its file system"
        return protected_local(self.jpath.path) if self.jpath.prefix == "file:" else None

    def rename(self, src: str, dst: str) -> None:
        self.fs.move(self._p(src), self._p(dst))

    def __str__(self) -> str:
        return str(self.jpath)


#: What the JVM says when the place a dataset is written to fails it, and what to do.
_ENVIRONMENT = (
    ("No space left on device", "the disk is full; free some space, or write to another disk"),
    ("Disk quota exceeded", "your disk quota is used up; free some space"),
    ("Permission denied", "no permission to write there; choose a folder of yours"),
    ("Mkdirs failed", "the folder cannot be created there (no permission, or read-only)"),
    ("Read-only file system", "the file system is read-only; choose another folder"),
    ("AccessControlException", "HDFS refuses access; check the path and your HDFS user"),
    ("ParentNotDirectoryException", "a part of the path is a file, not a folder"),
    ("Not a directory", "a part of the path is a file, not a folder"),
    ("UnknownHostException", "the file system's host is unknown; check the URI's host name"),
    ("Connection refused", "the file system's host does not answer; check that it is running"),
    ("ConnectException", "the file system's host does not answer; check that it is running"),
)


def environment_error(dest: str, exc: BaseException, *, reading: bool = False) -> BaseException:
    """A DataError in one line for a write (or with ``reading``, a read) that the machine,
    not the data, failed; the exception unchanged otherwise. The full trace stays in the
    log at debug level."""
    text = str(exc)
    if reading:
        for needle, fix in _ENVIRONMENT:
            if needle in text:
                log.debug("reading %s failed", dest, exc_info=exc)
                return DataError(f"cannot read {dest}: {fix}.", path=dest)
        return exc
    if isinstance(exc, ConnectionError) or type(exc).__name__ == "Py4JNetworkError":
        log.debug("writing %s failed", dest, exc_info=exc)
        return JavaError(
            f"the Spark JVM stopped while writing {dest} (killed: out of memory?). Start a "
            "new session (mlcourse.stop_spark(), then get_spark()); nothing was written, and "
            "the next write there removes what this one left."
        )
    for needle, fix in _ENVIRONMENT:
        if needle in text:
            log.debug("writing %s failed", dest, exc_info=exc)
            return DataError(f"cannot write {dest}: {fix}. Nothing was written.", path=dest)
    return exc
