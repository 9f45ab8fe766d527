"""CSV to Parquet: one pass with an explicit schema, validated, and atomic.

The old Day-1 notebook read the CSV with ``inferSchema`` (two passes over the file) and
wrote Parquet in place. :func:`csv_to_parquet` reads the file once with the HIGGS schema,
checks every row inside the same Spark job, writes beside the destination and renames the
result into place only when it is complete.
"""

from __future__ import annotations

import gzip
import io
import logging
import math
import os
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from mlcourse._version import __version__
from mlcourse.data.storage import (
    FileSystem,
    absolute,
    check_dataset_name,
    check_destination,
    filesystem,
    is_local,
    local_path,
)
from mlcourse.errors import DataError, JavaError
from mlcourse.higgs import COLUMNS, LABEL, canonical_name
from mlcourse.runtime.flavour import is_connect, jvm
from mlcourse.runtime.jobs import described

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

__all__ = ["ConversionResult", "csv_to_parquet", "write_parquet_atomic"]

log = logging.getLogger(__name__)

_CORRUPT = "_mlcourse_corrupt_record"
_BAD_ROW_MARKER = "MLCOURSE_BAD_ROW"


@dataclass(frozen=True)
class ConversionResult:
    """What :func:`csv_to_parquet` did.

    Attributes
    ----------
    src, dest : str
        Input CSV and output Parquet dataset.
    form : {"uci", "course"}
        ``uci``: no header, ``%.18e`` values; ``course``: a header row.
    rows : int
        Events written.
    bytes_in, bytes_out : int
        Sizes of the input file and of the Parquet dataset.
    seconds : float
        Wall-clock time of the conversion.
    """

    src: str
    dest: str
    form: str
    rows: int
    bytes_in: int
    bytes_out: int
    seconds: float

    def __str__(self) -> str:
        ratio = self.bytes_in / self.bytes_out if self.bytes_out else math.nan
        return (
            f"{self.rows:,} events: {self.src} ({self.form} CSV, {self.bytes_in / 1e6:.1f} MB) -> "
            f"{self.dest} (Parquet, {self.bytes_out / 1e6:.1f} MB, {ratio:.1f}x smaller) "
            f"in {self.seconds:.1f} s"
        )


def _is_local_file(spark: SparkSession, src: str) -> bool:
    """True when ``src`` is one file on this machine (Python can open it directly)."""
    return is_local(src) and not filesystem(spark, src).is_dir()


def _open_text(src: str) -> IO[str]:
    """Open a local plain or gzip text file (told apart by its bytes, not its name) for
    reading; a UTF-8 byte-order mark (Excel's "CSV UTF-8") is dropped. A file that is not
    local is opened through pyarrow (a kernel without a JVM: Spark Connect)."""
    if not is_local(src):
        from mlcourse.data.storage import ArrowFS

        where = ArrowFS(src)
        raw: IO[bytes] = where.fs.open_input_file(where._p(None))  # seekable: read once
        gz = _kind(raw.read(8)) == "gzip"
        raw.seek(0)
        if gz:
            raw = gzip.GzipFile(fileobj=raw)  # type: ignore[assignment]
        return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace")
    path = local_path(src)
    opener = gzip.open if _sniff(path) == "gzip" else open
    return opener(path, "rt", encoding="utf-8-sig", errors="replace")


#: The first bytes of the formats a student may hand over instead of a CSV.
_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"PAR1": "parquet",
    b"PK\x03\x04": "zip",
    b"\xfd7zXZ": "xz",
}


#: How to unpack the compressed formats mlcourse does not read.
_UNPACK = {"bzip2": "bunzip2", "zip": "unzip", "xz": "unxz"}


def _sniff(path: str) -> str:
    """What a local file holds, from its first bytes: a key of :data:`_MAGIC`, else text."""
    with open(path, "rb") as fh:
        return _kind(fh.read(8))


def _kind(head: bytes) -> str:
    """What a file holds, from its first bytes: a key of :data:`_MAGIC`, else text."""
    return next((kind for magic, kind in _MAGIC.items() if head.startswith(magic)), "text")


def _check_local_input(src: str) -> bool:
    """Refuse, with what to do instead, a local input that is not a plain or gzip CSV;
    return whether it is gzip."""
    path = local_path(src)
    if os.path.isdir(path):
        names = os.listdir(path)
        if any(n.endswith(".parquet") or n == "_SUCCESS" for n in names):
            raise DataError(
                f"{src} is a Parquet dataset, not a CSV file: it is converted already. Load "
                "it with spark.read.parquet (`mlcourse data info` shows what it holds).",
                path=src,
            )
        return False
    kind = _sniff(path)
    if kind == "parquet":
        raise DataError(
            f"{src} is a Parquet file, not a CSV file: load it with spark.read.parquet.",
            path=src,
        )
    if kind in _UNPACK:
        raise DataError(
            f"{src} is {kind}-compressed; mlcourse reads plain or gzip CSV. Decompress it "
            f"first ({_UNPACK[kind]} {os.path.basename(path)}), or recompress it with gzip.",
            path=src,
        )
    if kind != "gzip" and path.lower().endswith(".gz"):
        if os.path.getsize(path) == 0:
            raise DataError(
                f"{src} is empty (0 bytes): a download or copy that never wrote anything. "
                "Delete it and fetch it again.",
                path=src,
            )
        raise _gzip_error(src, OSError("not in gzip format"))
    return kind == "gzip"


def _first_line(spark: SparkSession, src: str, *, local_file: bool) -> str | None:
    """The first non-empty line of a (possibly gzipped) text file or directory."""
    if local_file:
        try:
            with _open_text(src) as fh:
                for line in fh:
                    if line.strip():
                        return line.rstrip("\r\n")
        except (EOFError, gzip.BadGzipFile, OSError) as exc:
            raise _gzip_error(src, exc) from None
        return None
    try:
        row = spark.read.text(src).where("trim(value) != ''").limit(1).collect()
    except Exception as exc:
        raise _translate(src, exc) from None
    return row[0]["value"].lstrip("\ufeff") if row else None


def _header_columns(src: str, line: str) -> list[str] | None:
    """The header's names (checked to be HIGGS columns), or None when the line holds numbers."""
    fields = [f.strip().strip('"') for f in line.split(",")]
    try:
        float(fields[0])
        return None  # UCI form: the first line is already an event
    except ValueError:
        pass
    if len(fields) == 1:
        separator = next((c for c in ";\t| " if len(line.split(c)) >= 20), None)
        if separator is not None:
            named = {";": "';'", "\t": "tabs", "|": "'|'", " ": "spaces"}[separator]
            raise DataError(
                f"{src}, line 1: the values are separated by {named}, not commas. mlcourse "
                "reads comma-separated HIGGS files: convert the separators first, e.g. "
                f"sed 's/{separator}/,/g' (tr '\\t' ',' for tabs), or export the file "
                "again as CSV.",
                path=src,
                line=1,
            )
    names = [canonical_name(f) for f in fields]
    unknown = [f for f, m in zip(fields, names, strict=True) if m is None]
    mapped = [m for m in names if m is not None]
    if unknown:
        raise DataError(
            f"{src}, line 1: unknown column name(s) {', '.join(map(repr, unknown))}. A HIGGS "
            "header names the label and the 28 features (see mlcourse.higgs.COLUMNS); "
            "remove the header to read the file in the UCI column order.",
            path=src,
            line=1,
            column=unknown[0],
        )
    missing = [c for c in COLUMNS if c not in mapped]
    duplicated = sorted({m for m in mapped if mapped.count(m) > 1})
    if missing or duplicated:
        raise DataError(
            f"{src}, line 1: the header "
            + (f"lacks {', '.join(missing)}" if missing else "")
            + ("; " if missing and duplicated else "")
            + (f"repeats {', '.join(duplicated)}" if duplicated else "")
            + ". It must name the label and each of the 28 features once.",
            path=src,
            line=1,
            column=(missing or duplicated)[0],
        )
    return fields


def _csv_schema(columns: list[str], *, with_corrupt: bool):
    from pyspark.sql.types import DoubleType, StringType, StructField, StructType

    fields = [StructField(c, DoubleType(), True) for c in columns]
    if with_corrupt:
        fields.append(StructField(_CORRUPT, StringType(), True))
    return StructType(fields)


def _read(
    spark: SparkSession, src: str, *, validate: bool, engine: str = "auto"
) -> tuple[DataFrame, list[str] | None]:
    from pyspark.sql import functions as F

    fs = filesystem(spark, src)
    try:
        exists = fs.exists()
    except Exception as exc:  # the file system itself failed: a name node down, ...
        error = _environment_error(src, exc, reading=True)
        if error is exc:
            raise
        raise error from None
    if not exists:
        raise DataError(
            f"{src}: no such file. Check the path, or fetch the data first "
            "(mlcourse.fetch_higgs or `mlcourse data fetch`).",
            path=src,
        )
    gz = _check_local_input(src) if is_local(src) else src.lower().endswith(".gz")
    local_file = _is_local_file(spark, src)
    if gz and not src.lower().endswith(".gz") and not (local_file and engine != "spark"):
        raise DataError(
            f"{src} is gzip-compressed but its name does not end in .gz, which Spark's reader "
            "needs to decompress it: rename it to end in .gz (or use engine='arrow').",
            path=src,
        )
    first = _first_line(spark, src, local_file=local_file)
    if first is None:
        raise DataError(
            f"{src} is empty: it holds no header and no events. Fetch or generate it again.",
            path=src,
        )
    header = _header_columns(src, first)
    columns = header or list(COLUMNS)  # as the file spells them (je4_eta stays je4_eta here)
    label = columns[[canonical_name(c) for c in columns].index(LABEL)]
    if engine not in ("auto", "arrow", "spark"):
        raise ValueError(f"engine must be 'auto', 'arrow' or 'spark', not {engine!r}")
    if engine == "arrow" and not local_file:
        raise DataError(
            f"{src}: engine='arrow' reads local files only; use engine='spark' for "
            "Hadoop URIs and directories.",
            path=src,
        )
    arrow = local_file and engine != "spark"
    if arrow:
        df = _read_local_with_arrow(spark, local_path(src), columns, header is not None, gz=gz)
    else:
        df = spark.read.csv(
            src,
            schema=_csv_schema(columns, with_corrupt=validate),
            header=header is not None,
            enforceSchema=True,
            mode="PERMISSIVE",
            columnNameOfCorruptRecord=_CORRUPT,
        )
    if validate:
        checks = [~F.col(label).isin(0.0, 1.0)]
        if not arrow:  # the Arrow reader fails on malformed rows by itself
            checks.append(F.col(_CORRUPT).isNotNull())
        for c in columns:  # missing, NaN and infinite values: both engines refuse them
            value = F.col(c)
            checks += [value.isNull(), F.isnan(value), value.isin(math.inf, -math.inf)]
        bad = _any(checks)
        detail = F.lit("(empty value)") if arrow else F.coalesce(F.col(_CORRUPT), F.lit("(empty)"))
        message = F.concat(F.lit(f"{_BAD_ROW_MARKER}: "), detail)
        df = df.select(
            *[
                F.when(bad, F.raise_error(message)).otherwise(F.col(c)).alias(c)
                if c == label
                else F.col(c)
                for c in columns
            ]
        )
    by_name = {canonical_name(c): c for c in columns}
    df = df.select(*[F.col(f"`{by_name[c]}`").alias(c) for c in COLUMNS])
    return df, header


def _any(conditions: list[Column]) -> Column:
    """The conditions or'ed as a balanced tree: a chain of 88 ``|`` nests deeper than
    Spark Connect's protobuf decoder allows (100 levels), a tree of them only 7 deep."""
    if len(conditions) == 1:
        return conditions[0]
    half = len(conditions) // 2
    return _any(conditions[:half]) | _any(conditions[half:])


#: Bytes of a local CSV parsed by one Spark task on the Arrow path.
SPLIT_BYTES = 64 << 20


def _read_local_with_arrow(
    spark: SparkSession, path: str, columns: list[str], header: bool, *, gz: bool
) -> DataFrame:
    """Read a local CSV inside Spark tasks with pyarrow's CSV parser.

    Each task parses one byte range of the file (a line belongs to the range its first byte
    is in, as in Hadoop's line reader); a gzip file, which cannot be split, is one task.
    pyarrow parses HIGGS's 29 doubles per row about twice as fast as Spark's CSV reader,
    and the rows still go from the tasks straight to Spark's Parquet writer.
    """
    path = os.path.abspath(path)
    size = os.path.getsize(path)
    split_bytes = SPLIT_BYTES
    splits = 1 if gz else max(1, -(-size // split_bytes))
    names = list(columns)
    schema = _csv_schema(names, with_corrupt=False)

    def parse(batches: Iterator[Any]) -> Iterator[Any]:
        import io

        import pyarrow as pa
        import pyarrow.csv as pacsv

        read = pacsv.ReadOptions(column_names=names, use_threads=False, block_size=1 << 22)
        convert = pacsv.ConvertOptions(
            column_types={c: pa.float64() for c in names}, null_values=[""]
        )
        for batch in batches:
            for split in batch.column(0).to_pylist():
                try:
                    if gz:
                        stream = pa.input_stream(path, compression="gzip")
                        skip = 1 if header else 0
                        reader = pacsv.open_csv(
                            stream,
                            read_options=pacsv.ReadOptions(
                                column_names=names, skip_rows=skip, block_size=1 << 22
                            ),
                            convert_options=convert,
                        )
                        yield from reader
                        continue
                    start, end = split * split_bytes, min(size, (split + 1) * split_bytes)
                    with open(path, "rb") as fh:
                        if start:
                            fh.seek(start - 1)
                            if fh.read(1) != b"\n":
                                fh.readline()  # that line belongs to the previous split
                        begin = fh.tell()
                        if begin >= end:
                            continue
                        data = fh.read(end - begin)
                        if not data.endswith(b"\n"):
                            data += fh.readline()
                    if start == 0 and data.startswith(b"\xef\xbb\xbf"):
                        data = data[3:]  # a UTF-8 byte-order mark (Excel's "CSV UTF-8")
                    if header and start == 0:
                        data = data.split(b"\n", 1)[1] if b"\n" in data else b""
                    if not data.strip():
                        continue
                    table = pacsv.read_csv(
                        io.BytesIO(data), read_options=read, convert_options=convert
                    )
                    yield from table.to_batches(max_chunksize=1 << 16)
                except (pa.ArrowInvalid, OSError, EOFError) as exc:
                    raise ValueError(f"{_BAD_ROW_MARKER}: {exc}") from None

    ids = spark.range(0, splits, numPartitions=splits)
    return ids.mapInArrow(parse, schema)


def csv_to_parquet(
    spark: SparkSession,
    src: str,
    dest: str,
    *,
    overwrite: bool = False,
    force: bool = False,
    compression: str = "snappy",
    partitions: int | None = None,
    engine: str = "auto",
) -> ConversionResult:
    """Convert a HIGGS CSV file to a Parquet dataset, in one validated pass, atomically.

    Parameters
    ----------
    spark : SparkSession
        The session that does the work.
    src : str
        The CSV: UCI form (no header, ``%.18e`` values) or the course form (header row,
        historical names such as ``je4_eta`` accepted), plain or ``.gz``. Local path,
        ``file://`` or any Hadoop URI (``hdfs://...``).
    dest : str
        Parquet dataset (a directory) to create.
    overwrite : bool, default False
        Replace an existing ``dest``, only once the new dataset is complete, and only when
        it is a dataset mlcourse or Spark wrote. ``dest`` is never the input, a folder
        holding it, the current folder, a home folder or a root.
    force : bool, default False
        With ``overwrite``, also replace a folder that is not such a dataset.
    compression : str, default "snappy"
        Parquet codec.
    partitions : int, optional
        Number of output files (default: one per input split).
    engine : {"auto", "arrow", "spark"}, default "auto"
        Who parses the CSV inside the Spark tasks: ``arrow`` (pyarrow, local files only,
        about twice as fast on HIGGS's 29 doubles per row) or ``spark`` (Spark's CSV
        reader, any Hadoop URI). ``auto`` takes ``arrow`` for local files.

    Returns
    -------
    ConversionResult
        Rows written, bytes in and out, seconds.

    Raises
    ------
    DataError
        Missing, empty, header-only, truncated or non-gzip input; a malformed row (the
        message names file, line and column); an existing ``dest`` without ``overwrite``;
        a missing parent directory of ``dest``. Nothing is left at ``dest`` (or beside it)
        after any error, and an existing dataset is untouched.
    """
    start = time.perf_counter()
    for name, value in (("source", src), ("destination", dest)):
        if not str(value).strip():
            raise DataError(
                f"the {name} is empty: name a "
                + (
                    "CSV file, e.g. data/higgs-100k.csv."
                    if name == "source"
                    else "dataset to write, e.g. higgs.parquet."
                )
            )
    src, dest = absolute(src), absolute(dest)
    # before reading anything
    _check_destination(spark, dest, overwrite=overwrite, sources=(src,), force=force)
    df, header = _read(spark, src, validate=True, engine=engine)
    if partitions:
        df = df.repartition(partitions)

    def check(rows: int) -> None:
        if rows == 0:
            what = "a header but no events" if header else "no events"
            raise DataError(f"{src} has {what}. Fetch or generate it again.", path=src)

    def translate(exc: Exception) -> BaseException:
        return _translate(src, exc, spark=spark, header=header)

    rows = write_parquet_atomic(
        df,
        dest,
        overwrite=overwrite,
        force=force,
        sources=(src,),
        compression=compression,
        check=check,
        translate=translate,
    )
    result = ConversionResult(
        src=str(src),
        dest=str(dest),
        form="course" if header else "uci",
        rows=rows,
        bytes_in=filesystem(spark, src).size(),
        bytes_out=filesystem(spark, dest).size(),
        seconds=time.perf_counter() - start,
    )
    log.info("%s", result)
    return result


#: The file mlcourse puts into every dataset it writes: ``overwrite`` replaces only those.
MARKER = "_MLCOURSE"


def _check_destination(
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
        raise _environment_error(dest, exc) from None


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
    spark = df.sparkSession
    out = _check_destination(spark, dest, overwrite=overwrite, sources=sources, force=force)
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
            raise (_environment_error(dest, error) if error is exc else error) from None
        with _quiet_task_errors(spark):  # Spark warns that the hidden temp name is unusual
            rows = spark.read.parquet(tmp).count()  # from the Parquet footers: no data read
        if check is not None:
            check(rows)
        out.write_text(f"{tmp}/{MARKER}", f"written by mlcourse {__version__}: {rows} rows\n")
        _replace(out, tmp, overwrite=overwrite)
    except BaseException:
        out.delete(tmp)
        raise
    return rows


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


def _environment_error(dest: str, exc: BaseException, *, reading: bool = False) -> BaseException:
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


def _gzip_error(src: str, exc: BaseException) -> DataError:
    text = str(exc)
    if isinstance(exc, EOFError) or "end of" in text.lower():
        return DataError(
            f"{src} is a truncated gzip file (it ends in the middle of the stream): the "
            "download was probably cut short. Delete it and fetch it again.",
            path=src,
        )
    if isinstance(exc, zlib.error) or "CRC" in text or "invalid" in text.lower():
        return DataError(
            f"{src} is a corrupt gzip file ({text}): its data do not match their checksum. "
            "Delete it and fetch it again.",
            path=src,
        )
    return DataError(
        f"{src} is not a gzip file although its name ends in .gz ({text}). If it came from "
        "a download, the server probably sent an error page: delete it and fetch again.",
        path=src,
    )


def _translate(
    src: str,
    exc: BaseException,
    *,
    spark: SparkSession | None = None,
    header: list[str] | None = None,
) -> BaseException:
    """Turn a Spark failure into a DataError that names the problem, or return it unchanged."""
    text = str(exc)
    if _BAD_ROW_MARKER in text and spark is not None:
        found = _find_bad_line(spark, src, header)
        if found is not None:
            return found
        detail = text.split(_BAD_ROW_MARKER, 1)[1].split("\n", 1)[0]
        return DataError(f"{src}: malformed row{detail}", path=src)
    if "Unexpected end of input stream" in text or "EOFException" in text:
        return _gzip_error(src, EOFError(text))
    if "Not in GZIP format" in text or "incorrect header check" in text:
        return _gzip_error(src, OSError("not in gzip format"))
    if "PATH_NOT_FOUND" in text or "Path does not exist" in text:
        return DataError(f"{src}: no such file.", path=src)
    return exc


def check_line(fields: list[str], columns: list[str]) -> tuple[str, str] | None:
    """Return ``(column, problem)`` for a malformed row, or None when it is a good event."""
    if len(fields) != len(columns):
        if len(fields) < len(columns):
            column = columns[len(fields)]
            return column, (
                f"{len(fields)} fields where {len(columns)} are expected "
                f"(the label and 28 features): {column} and after are missing"
            )
        return f"field {len(columns) + 1}", (
            f"{len(fields)} fields where {len(columns)} are expected: extra value(s) after "
            f"{columns[-1]}"
        )
    for name, raw in zip(columns, fields, strict=True):
        value = raw.strip()
        if not value:
            return name, "empty value"
        try:
            number = float(value)
        except ValueError:
            return name, f"not a number: {value[:40]!r}"
        if not math.isfinite(number):
            return name, f"not a finite number: {value[:40]!r}"
        if name == LABEL and number not in (0.0, 1.0):
            return name, f"label must be 0 or 1, found {value!r}"
    return None


def _find_bad_line(spark: SparkSession, src: str, header: list[str] | None) -> DataError | None:
    """Second pass, on the error path only: the first malformed line with its number."""
    columns = [canonical_name(c) or c for c in header] if header else list(COLUMNS)
    skip = 1 if header else 0
    if _is_local_file(spark, src) or (is_connect(spark) and not is_local(src)):
        seen_header = 0
        try:
            with _open_text(src) as fh:
                for number, line in enumerate(fh, start=1):
                    text = line.rstrip("\r\n")
                    if not text.strip():
                        continue
                    if seen_header < skip:
                        seen_header += 1
                        continue
                    problem = check_line(text.split(","), columns)
                    if problem:
                        # Corrupt gzip data decompresses to garbage before its checksum
                        # fails: read on to the end first, and blame the file if it does.
                        for _ in fh:
                            pass
                        return _bad_row(src, number, *problem)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            return _gzip_error(src, exc)
        return None

    def bad(pair):
        text, _ = pair
        return bool(text.strip()) and check_line(text.split(","), columns) is not None

    if is_connect(spark):  # a folder of CSV parts, and no RDD API: the row's text alone
        return None
    lines = spark.sparkContext.textFile(src).zipWithIndex()
    if skip:
        lines = lines.filter(lambda pair: pair[1] > 0)
    found = lines.filter(bad).take(1)
    if not found:
        return None
    text, index = found[0]
    problem = check_line(text.split(","), columns)
    assert problem is not None  # the filter kept only lines that fail the check
    return _bad_row(src, index + 1, *problem)


def _bad_row(src: str, line: int, column: str, problem: str) -> DataError:
    return DataError(
        f"{src}, line {line}, column {column}: {problem}. Fix or delete that line, or fetch "
        "the file again; nothing was written.",
        path=src,
        line=line,
        column=column,
    )
