"""Reading a HIGGS CSV file in Spark: one pass with an explicit schema, every row checked.

The file may be the UCI form (no header) or the course's (a header with historical names),
plain or gzip, local or on any Hadoop file system. :func:`read_csv` sniffs what it is,
refuses what it cannot read in one line (an empty file, a ZIP, a truncated gzip), and
returns a DataFrame whose rows fail the job when one is malformed; :func:`translate_error`
turns that failure into a :class:`~mlcourse.errors.DataError` naming file, line and column.
Local files are parsed by pyarrow inside the Spark tasks (about twice as fast), other URIs
by Spark's CSV reader.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import zlib
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from mlcourse.data.storage import (
    environment_error,
    filesystem,
    is_local,
    local_path,
)
from mlcourse.errors import DataError
from mlcourse.higgs import COLUMNS, LABEL, canonical_name
from mlcourse.runtime.flavour import is_connect

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession
    from pyspark.sql.types import StructType

__all__ = ["SPLIT_BYTES", "check_line", "read_csv", "translate_error"]


_CORRUPT = "_mlcourse_corrupt_record"
_BAD_ROW_MARKER = "MLCOURSE_BAD_ROW"


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
        raise translate_error(src, exc) from None
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


def _csv_schema(columns: list[str], *, with_corrupt: bool) -> StructType:
    from pyspark.sql.types import DoubleType, StringType, StructField, StructType

    fields = [StructField(c, DoubleType(), True) for c in columns]
    if with_corrupt:
        fields.append(StructField(_CORRUPT, StringType(), True))
    return StructType(fields)


def read_csv(
    spark: SparkSession, src: str, *, validate: bool, engine: str = "auto"
) -> tuple[DataFrame, list[str] | None]:
    from pyspark.sql import functions as F

    fs = filesystem(spark, src)
    try:
        exists = fs.exists()
    except Exception as exc:  # the file system itself failed: a name node down, ...
        error = environment_error(src, exc, reading=True)
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


def translate_error(
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

    def bad(pair: tuple[str, int]) -> bool:
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
