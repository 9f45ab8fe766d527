"""Writing a Parquet dataset atomically: beside the destination, renamed into place only
when complete, and replacing only a dataset that mlcourse or Spark wrote.

Every dataset mlcourse writes holds a :data:`MARKER` file; ``overwrite`` replaces only
those (or, with ``force``, any folder that is not the input, a folder holding it, the
current folder, a home folder or a root).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from mlcourse._version import __version__
from mlcourse.data.locks import making
from mlcourse.data.storage import (
    FileSystem,
    check_dataset_name,
    check_destination,
    environment_error,
    filesystem,
    is_local,
    local_path,
)
from mlcourse.errors import DataError
from mlcourse.runtime.flavour import is_connect, jvm
from mlcourse.runtime.jobs import described

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["MARKER", "check_parquet_destination", "one_maker", "write_parquet_atomic"]

log = logging.getLogger(__name__)


#: The file mlcourse puts into every dataset it writes: ``overwrite`` replaces only those.
MARKER = "_MLCOURSE"


def check_parquet_destination(
    spark: SparkSession,
    dest: str,
    *,
    overwrite: bool,
    sources: tuple[str, ...] = (),
    force: bool = False,
) -> FileSystem:
    """Refuse a destination whose replacement could lose data, before anything is read.

    Never replaced, whatever the flags: an input (``sources``) or a folder holding one, the
    current folder, a home folder, a file system's root. Replaced with ``overwrite`` only
    when it is a dataset mlcourse wrote (its :data:`MARKER`) or Spark wrote (``_SUCCESS``
    and part files only); anything else also needs ``force``.
    """
    try:
        return _check_destination_on(spark, dest, overwrite, sources, force)
    except DataError:
        raise
    except Exception as exc:  # the file system itself failed (host unreachable, ...)
        raise environment_error(dest, exc) from None


def _check_destination_on(
    spark: SparkSession, dest: str, overwrite: bool, sources: tuple[str, ...], force: bool
) -> FileSystem:
    check_dataset_name(dest)
    # local paths by the file system (symlinks, hard links), in the check every command uses
    check_destination(dest, [src for src in sources if is_local(src)], replaces=overwrite)
    out = filesystem(spark, dest)
    target = str(out.jpath).rstrip("/")
    for src in sources:  # Hadoop file systems by their URIs
        source = str(filesystem(spark, src).jpath).rstrip("/")
        if source == target or source.startswith(target + "/"):
            raise DataError(
                f"the destination {dest} {'is' if source == target else 'holds'} the input "
                f"{src}: writing there would destroy it, so no flag (not --force) allows it. "
                "Choose a new destination, e.g. a .parquet name beside the input.",
                path=dest,
            )
    if out.exists() and not overwrite:
        raise DataError(
            f"{dest} already exists. Pass overwrite=True (CLI: --overwrite) to replace it, "
            "or choose another destination.",
            path=dest,
        )
    if out.exists():
        protected = out.protected_folder()
        if protected:
            raise DataError(
                f"{dest} is {protected}: mlcourse never replaces it. Give the dataset a name "
                "of its own, e.g. higgs.parquet.",
                path=dest,
            )
        if not force and not _replaceable(out):
            raise DataError(
                f"{dest} is not a dataset mlcourse or Spark wrote (no {MARKER} or _SUCCESS "
                "with part files only), so --overwrite leaves it alone. Check the path, or "
                "pass force=True (CLI: --force) to replace it anyway.",
                path=dest,
            )
    if not out.parent_exists():
        raise DataError(
            f"the folder that should hold {dest} does not exist; create it first "
            f"(mkdir -p {out.jpath.getParent()}) or check the path.",
            path=dest,
        )
    return out


def _replaceable(out: FileSystem) -> bool:
    """A dataset mlcourse wrote, or a plain Spark output folder (``_SUCCESS``, part files)."""
    if not out.is_dir():
        return False
    names = out.list_names()
    if MARKER in names:
        return True
    spark_files = all(n.startswith(("part-", "_", ".")) for n in names)
    return "_SUCCESS" in names and spark_files


def write_parquet_atomic(
    df: DataFrame,
    dest: str,
    *,
    overwrite: bool = False,
    force: bool = False,
    sources: tuple[str, ...] = (),
    compression: str = "snappy",
    check: Callable[[int], None] | None = None,
    translate: Callable[[Exception], BaseException] | None = None,
) -> int:
    """Write ``df`` as Parquet beside ``dest``, then rename it into place; return its rows.

    Parameters
    ----------
    df : DataFrame
        What to write.
    dest : str
        Local path or Hadoop URI of the dataset (a directory).
    overwrite : bool, default False
        Replace an existing dataset, only once the new one is complete, and only when
        mlcourse or Spark wrote it (never an input, the current folder, a home folder or
        a root).
    force : bool, default False
        With ``overwrite``, also replace a folder that is not such a dataset.
    sources : tuple of str
        The inputs: ``dest`` may be none of them and hold none of them.
    compression : str, default "snappy"
        Parquet codec.
    check : callable, optional
        Called with the row count before the rename; raising aborts the write.
    translate : callable, optional
        Turns a Spark exception into the error to raise.

    Returns
    -------
    int
        Rows written.
    """
    # one writer at a time: a second one waits, then finds the dataset there
    with one_maker(dest, "a Parquet dataset"):
        return _write(df, dest, overwrite, force, sources, compression, check, translate)


def one_maker(dest: str, what: str) -> AbstractContextManager[None]:
    """:func:`~mlcourse.data.locks.making` for a dataset in a local folder that exists;
    elsewhere (HDFS, S3) nothing: those are written without a lock."""
    if not is_local(dest):
        return nullcontext()
    target = Path(local_path(dest))
    if not target.parent.is_dir():
        return nullcontext()  # the destination check says what is wrong with it
    return making(target, what)


def _write(
    df: DataFrame,
    dest: str,
    overwrite: bool,
    force: bool,
    sources: tuple[str, ...],
    compression: str,
    check: Callable[[int], None] | None,
    translate: Callable[[Exception], BaseException] | None,
) -> int:
    spark = df.sparkSession
    out = check_parquet_destination(spark, dest, overwrite=overwrite, sources=sources, force=force)
    for path in out.sweep_leftovers():
        log.warning("removed %s, left by an earlier run that did not finish", path)
    tmp = out.sibling("tmp")
    try:
        try:
            with (
                _quiet_task_errors(spark),
                described(spark, f"write {dest.rstrip('/').rsplit('/', 1)[-1]}"),
            ):
                df.write.option("compression", compression).parquet(tmp)
        except Exception as exc:
            error = translate(exc) if translate else exc
            raise (environment_error(dest, error) if error is exc else error) from None
        with _quiet_task_errors(spark):  # Spark warns that the hidden temp name is unusual
            rows = spark.read.parquet(tmp).count()  # from the Parquet footers: no data read
        if check is not None:
            check(rows)
        out.write_text(f"{tmp}/{MARKER}", f"written by mlcourse {__version__}: {rows} rows\n")
        _replace(out, tmp, overwrite=overwrite)
    except BaseException:
        _remove(out, tmp)
        raise
    return rows


def _remove(out: FileSystem, tmp: str) -> None:
    """Remove the half-written ``tmp``: through the file system, or, when the driver JVM
    that wrote it has died (its Hadoop file system with it), from Python where it is local."""
    try:
        out.delete(tmp)
    except Exception:
        if not is_local(tmp):
            raise
        shutil.rmtree(local_path(tmp), ignore_errors=True)


@contextmanager
def _quiet_task_errors(spark: SparkSession) -> Iterator[None]:
    """Silence the driver's log while a write runs.

    A bad row is reported as a DataError naming file, line and column, not as pages of
    task stack traces.
    """
    if is_connect(spark):  # the tasks' errors go to the server's log, not this kernel's
        yield
        return
    sc = spark.sparkContext
    root = jvm(spark).org.apache.logging.log4j.LogManager.getRootLogger()
    before = str(root.getLevel().toString())
    sc.setLogLevel("FATAL")
    try:
        yield
    finally:
        sc.setLogLevel(before)


def _replace(out: FileSystem, tmp: str, *, overwrite: bool) -> None:
    """Move ``tmp`` to ``out``; an existing dataset is swapped out only after that works."""
    dest = str(out.jpath)
    if not out.exists():
        out.rename(tmp, dest)
        return
    if not overwrite:  # appeared while we were writing
        raise DataError(f"{dest} appeared while converting; nothing was changed.", path=dest)
    old = out.sibling("old")
    out.rename(dest, old)
    try:
        out.rename(tmp, dest)
    except BaseException:
        out.rename(old, dest)
        raise
    out.delete(old)
