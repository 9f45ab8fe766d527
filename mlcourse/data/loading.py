"""Loading the HIGGS data set, real or synthetic, as a DataFrame or a CSV file.

The top of the data layer, which reads one way: :mod:`mlcourse.data.sizes` (sizes, sources,
file names) <- :mod:`mlcourse.data.fetch` (download) and :mod:`mlcourse.data.synthetic` (generate),
which take explicit paths, <- this module, the only one that asks the profile (or the
session's) for the data directory.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from mlcourse.config import cache_dir
from mlcourse.data.contracts import (
    higgs_schema_problems,
    numeric_columns,
    require_higgs_schema,
)
from mlcourse.data.convert import csv_to_parquet
from mlcourse.data.fetch import fetch_higgs
from mlcourse.data.parquet import one_maker, write_parquet_atomic
from mlcourse.data.sizes import (
    FULL_EVENTS,
    check_source,
    csv_name,
    parquet_name,
    parse_events,
    size_name,
)
from mlcourse.data.storage import FileSystem, absolute, filesystem, is_local, local_path
from mlcourse.data.synthetic import mark_source, synthesize_higgs, synthetic_events
from mlcourse.errors import DataError, DownloadError
from mlcourse.higgs import LABEL
from mlcourse.runtime.jobs import described

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "DataInfo",
    "check_room",
    "data_info",
    "higgs_csv",
    "load_higgs",
    "resolve_data_dir",
    "source_of",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The Spark setting in which :func:`mlcourse.get_spark` records its profile's data directory.
DATA_DIR_CONF = "spark.mlcourse.dataDir"


def resolve_data_dir(spark: SparkSession | None = None, data_dir: str | None = None) -> str:
    """The data directory: ``data_dir`` if given, else the one of the profile ``spark`` was
    built from (recorded by :func:`mlcourse.get_spark`), else the active profile's."""
    if data_dir is not None:
        return str(data_dir)
    if spark is not None:
        recorded = spark.conf.get(DATA_DIR_CONF, None)
        if recorded:
            return recorded
    from mlcourse.config import resolve_profile

    return resolve_profile().data_dir


def _join(base: str, name: str) -> str:
    return base.rstrip("/") + "/" + name


def source_of(df: DataFrame) -> str:
    """``"real"``, ``"synthetic"`` or ``"unknown"``: what :func:`load_higgs` marked ``df`` as."""
    try:
        metadata = df.schema[LABEL].metadata
    except (KeyError, LookupError):
        return "unknown"
    return str(metadata.get("mlcourse.source", "unknown"))


def _obtain(
    source: str,
    *,
    have_real: bool,
    have_synthetic: bool,
    real: Callable[[], T],
    synthetic: Callable[[], T],
) -> tuple[T, str]:
    """The one source-resolution step of :func:`load_higgs` and :func:`higgs_csv`.

    ``real``/``synthetic`` give the data set (reusing or making it). ``"auto"`` takes what
    is there already (real first: nothing is downloaded or generated when ``mlcourse data
    prepare`` has run), else tries the real events and falls back to synthetic ones with
    a warning.
    """
    source = check_source(source)
    if source == "auto" and (have_real or have_synthetic):
        source = "real" if have_real else "synthetic"
    if source in ("auto", "real"):
        try:
            return real(), "real"
        except (DownloadError, OSError) as exc:
            if source == "real":
                raise
            log.warning("real HIGGS data unavailable (%s): using SYNTHETIC events instead", exc)
    return synthetic(), "synthetic"


def _dataset_paths(base: str, n: int | None, seed: int) -> tuple[str, str]:
    """Where the real and the synthetic data set of ``n`` events (None: all) live in
    ``base``: the names :func:`load_higgs` reads and writes."""
    synth_events = FULL_EVENTS if n is None else n
    return (
        _join(base, parquet_name(n, "real")),
        _join(base, parquet_name(synth_events, "synthetic", seed)),
    )


def prepared(
    events: int | str = "100k", *, source: str = "auto", seed: int = 0, data_dir: str | None = None
) -> tuple[str, str, int] | None:
    """What :func:`load_higgs` would read without downloading or generating anything, found
    without Spark: ``(path, "real" or "synthetic", rows)`` of a Parquet data set already in
    a local data directory, else None (not there yet, or a remote data directory).

    ``mlcourse data prepare`` answers from it when the data are ready, with no JVM to start.
    """
    source, n = check_source(source), parse_events(events)
    base = absolute(resolve_data_dir(None, data_dir))
    if not is_local(base):
        return None
    real, synthetic = (Path(local_path(path)) for path in _dataset_paths(base, n, seed))
    choices = {"auto": [real, synthetic], "real": [real], "synthetic": [synthetic]}[source]
    for path in choices:
        if path.is_dir():
            import pyarrow.dataset as ds

            rows = ds.dataset(path, format="parquet").count_rows()  # from the footers
            return str(path), "real" if path == real else "synthetic", rows
    return None


def load_higgs(
    spark: SparkSession,
    events: int | str = "100k",
    *,
    source: str = "auto",
    seed: int = 0,
    data_dir: str | None = None,
    url: str | None = None,
) -> DataFrame:
    """The HIGGS data set of a named size as a DataFrame: real if possible, else synthetic.

    Parameters
    ----------
    spark : SparkSession
        The session.
    events : int or str, default "100k"
        ``"100k"``, ``"1M"``, ``"10M"``, ``"full"`` or any number of events.
    source : {"auto", "real", "synthetic"}, default "auto"
        ``real`` (or ``uci``): the real events (Parquet in the data directory, else
        downloaded and converted); ``synthetic``: generated (and kept as Parquet for next
        time); ``auto``: the data set already in the data directory (real first), else
        real when it can be had, else synthetic with a one-line notice.
    seed : int, default 0
        Seed of synthetic events.
    data_dir : str, optional
        Where Parquet datasets are kept; default the data directory of the profile
        ``spark`` was built from.
    url : str, optional
        Where to download from (see :func:`mlcourse.fetch_higgs`).

    Returns
    -------
    DataFrame
        Label and 28 features. ``mlcourse.source_of(df)`` (from the label column's
        metadata) says ``"real"`` or ``"synthetic"``, and a log line says it too. Two
        processes (two notebooks on a hub) asking at once for a data set not yet made:
        the second waits for the first (:mod:`mlcourse.data.locks`) and reads its result.

    Raises
    ------
    DataError
        The data directory cannot be used, or the data set there is not the label and 28
        numeric features (a folder changed by hand): the message says to remove it.
    """
    source, n = check_source(source), parse_events(events)
    base = absolute(resolve_data_dir(spark, data_dir))
    real_path, synth_path = _dataset_paths(base, n, seed)
    synth_events = FULL_EVENTS if n is None else n
    fs = _data_folder(spark, base)

    def made(path: str, make: Callable[[], object]) -> str:
        if not fs.exists(path):
            with one_maker(path, "the events' Parquet"):
                if not fs.exists(path):  # else made by another process meanwhile: reused
                    make()
        return path

    def convert() -> None:
        csv = _fetch_for(base, n, url=url, quick=source == "auto")
        csv_to_parquet(spark, str(csv), real_path)

    def generate() -> None:
        write_parquet_atomic(synthesize_higgs(spark, synth_events, seed=seed), synth_path)

    path, kind = _obtain(
        source,
        have_real=fs.exists(real_path),
        have_synthetic=fs.exists(synth_path),
        real=lambda: made(real_path, convert),
        synthetic=lambda: made(synth_path, generate),
    )
    level = logging.WARNING if kind == "synthetic" and source == "auto" else logging.INFO
    log.log(level, "HIGGS %s: %s events from %s", size_name(n), kind, path)
    df = spark.read.parquet(path)
    require_higgs_schema(
        df,
        path,
        "Remove it (rm -r, or a new data_dir=) and call load_higgs again: it is made anew.",
    )
    return mark_source(df, kind)


def _data_folder(spark: SparkSession, base: str) -> FileSystem:
    """The file system of the data directory ``base``, made if it is not there."""
    fs = filesystem(spark, base)
    try:
        fs.mkdirs()
    except OSError as exc:
        raise DataError(
            f"the data directory {base} cannot be used: {exc}. Choose another one with "
            "data_dir=, MLCOURSE_DATA_DIR or the profile's data_dir.",
            path=base,
        ) from None
    return fs


def higgs_csv(
    events: int | str = "100k",
    *,
    source: str = "auto",
    seed: int = 0,
    data_dir: str | None = None,
    url: str | None = None,
) -> tuple[Path, str]:
    """A HIGGS CSV file in the UCI form (no header), real or synthetic, as a local file.

    For the course's first step, reading CSV and converting it to Parquet. Files are kept
    in the data directory (when it is local) and reused.

    Parameters
    ----------
    events : int or str, default "100k"
        Number of events (``"20k"``, ``"100k"``, ``"1M"``, ...).
    source : {"auto", "real", "synthetic"}, default "auto"
        As in :func:`load_higgs`: ``auto`` takes the CSV already there (real first; a
        synthetic Parquet data set of the same size and seed counts, its events are written
        as CSV), else downloads the real events when it can, else writes synthetic ones
        (with a warning).
    seed : int, default 0
        Seed of synthetic events.
    data_dir : str, optional
        Default the profile's data directory; when that is not local (``hdfs://``), the
        CSV is kept in the user's cache folder (:func:`mlcourse.config.cache_dir`).
    url : str, optional
        Mirror of the UCI file (see :func:`mlcourse.fetch_higgs`).

    Returns
    -------
    (path, source) : (pathlib.Path, str)
        The CSV file and ``"real"`` or ``"synthetic"``.
    """
    source, n = check_source(source), parse_events(events)
    base = resolve_data_dir(None, data_dir)
    # a remote data directory (hdfs://) cannot hold a local file: the user's cache does
    folder = Path(local_path(base)) if is_local(base) else cache_dir()
    real_path = folder / csv_name(n, "real")
    synth_path = folder / csv_name(n or FULL_EVENTS, "synthetic", seed)

    def synthetic() -> Path:
        if n is None:
            raise ValueError("synthetic events need a number of events, such as '100k' or '1M'")
        if not synth_path.is_file():
            check_room(n, folder)
            folder.mkdir(parents=True, exist_ok=True)
            _write_synthetic_csv(synth_path, n, seed)
        return synth_path

    # What `mlcourse data prepare` made counts as there: its synthetic Parquet means the
    # same events (same seed) can be written as CSV here, without the network.
    prepared = folder / parquet_name(n or FULL_EVENTS, "synthetic", seed)
    return _obtain(
        source,
        have_real=real_path.is_file(),
        have_synthetic=n is not None and (synth_path.is_file() or prepared.is_dir()),
        real=lambda: _fetch_for(base, n, url=url, quick=source == "auto"),
        synthetic=synthetic,
    )


#: What one event costs, generous: generating it in memory (29 float64 columns and the
#: generator's temporaries), and keeping it on disk as CSV (about 550 bytes) and Parquet.
_MEMORY_PER_EVENT = 1200
_DISK_PER_EVENT = 900


def check_room(events: int, folder: str | Path, *, generate: bool = True) -> None:
    """Refuse, before any work starts, a number of events this machine cannot hold.

    Parameters
    ----------
    events : int
        Events asked for.
    folder : str or pathlib.Path
        Where their CSV and Parquet files go (the nearest existing folder is measured).
    generate : bool, default True
        Whether they are generated here (synthetic events are made in memory at once).

    Raises
    ------
    DataError
        Naming what the events need, what there is, and a number of events that fits.
    """
    import shutil

    from mlcourse.config import total_memory_bytes

    place = Path(folder).absolute()
    while not place.exists() and place != place.parent:
        place = place.parent
    free = shutil.disk_usage(place).free
    memory = total_memory_bytes() if generate else None
    limits = [(free // 2, "disk", f"{free / 1e9:,.1f} GB free where {folder} is", _DISK_PER_EVENT)]
    if memory:  # generated at once: half the memory, for the rest of the work
        limits.append((memory // 2, "memory", f"{memory / 1e9:,.1f} GB", _MEMORY_PER_EVENT))
    for room, kind, what, per_event in limits:
        if events * per_event > room:
            fits = room // per_event
            fits = max(
                1000, fits // 10 ** max(0, len(str(fits)) - 2) * 10 ** max(0, len(str(fits)) - 2)
            )
            raise DataError(
                f"{events:,} events need about {events * per_event / 1e9:,.0f} GB of {kind} "
                f"and this machine has {what}: nothing was started. Ask for at most about "
                f"{size_name(int(fits))} events (e.g. --events {size_name(int(fits))})"
                + (", or choose a data folder on a larger disk." if kind == "disk" else "."),
                path=str(folder),
            )


def _write_synthetic_csv(path: Path, events: int, seed: int) -> None:
    """Synthetic events as a UCI-form CSV (no header), written beside and renamed."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = pa.Table.from_pandas(synthetic_events(events, seed=seed), preserve_index=False)
    # a name of this process's own: two processes making the same file at once (two
    # notebooks, two demos into one folder) each write theirs and rename it; both succeed
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        pacsv.write_csv(table, tmp, pacsv.WriteOptions(include_header=False))
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _fetch_for(base: str, n: int | None, *, url: str | None, quick: bool) -> Path:
    if is_local(base):
        dest = Path(local_path(base)) / csv_name(n)
    else:  # e.g. hdfs://: download to local scratch, convert straight into the cluster FS
        dest = cache_dir() / csv_name(n)
        dest.parent.mkdir(parents=True, exist_ok=True)
    # In "auto" mode an offline machine should fall back in seconds, not after minutes.
    retries, backoff, timeout = (1, 0.5, 10.0) if quick else (5, 1.0, 10.0)
    return fetch_higgs(n, dest, url=url, retries=retries, backoff=backoff, timeout=timeout)


@dataclass(frozen=True)
class DataInfo:
    """Summary of a HIGGS Parquet dataset (see :func:`data_info`)."""

    path: str
    rows: int
    signal_fraction: float
    source: str
    missing: tuple[str, ...]
    extra: tuple[str, ...]
    #: HIGGS columns that are there but not numeric, with their type: ``"m_bb (string)"``.
    not_numeric: tuple[str, ...] = ()
    #: Events whose label is not 0 or 1 (null included).
    bad_labels: int = 0
    #: Per column, the events where it is null or NaN (only columns that have some).
    empty_values: dict[str, int] = field(default_factory=dict)

    @property
    def schema_ok(self) -> bool:
        """True when the label and all 28 features are there, and numeric."""
        return not self.missing and not self.not_numeric

    @property
    def values_ok(self) -> bool:
        """True when every label is 0 or 1 and no value is null or NaN."""
        return not self.bad_labels and not self.empty_values

    def __str__(self) -> str:
        problems = [f"MISSING {', '.join(self.missing)}"] if self.missing else []
        if self.not_numeric:
            problems.append(f"NOT NUMERIC {', '.join(self.not_numeric)}")
        schema = "; ".join(problems) or "ok (label + 28 numeric features)"
        bad = [f"{self.bad_labels:,} labels not 0 or 1"] if self.bad_labels else []
        bad += [f"{c} null or NaN in {n:,}" for c, n in self.empty_values.items()]
        lines = [
            f"path             {self.path}",
            f"events           {self.rows:,}",
            f"schema           {schema}",
            f"values           {'; '.join(bad) or 'ok (labels 0 or 1, no null or NaN)'}",
            f"signal fraction  {self.signal_fraction:.4f}",
            f"source           {self.source}",
        ]
        if self.extra:
            lines.append(f"other columns    {', '.join(self.extra)}")
        return "\n".join(lines)


def data_info(spark: SparkSession, path: str) -> DataInfo:
    """Rows, schema and value checks, signal fraction and real/synthetic marker of a
    Parquet dataset.

    One Spark job reads every HIGGS column once: it counts the events, the signal, the
    labels other than 0 and 1 and each column's null and NaN values together. The
    signal fraction is over the events labelled 0 or 1.
    """
    from pyspark.sql import functions as F

    from mlcourse.higgs import COLUMNS, rename_columns

    path = absolute(path)
    fs = filesystem(spark, path)
    if not fs.exists():
        raise DataError(f"{path}: no such dataset.", path=path)
    if not fs.is_dir() and not path.endswith(".parquet"):
        raise DataError(
            f"{path} is a file, not a Parquet dataset; for a CSV, convert it first "
            f"(mlcourse data convert {path} DEST.parquet).",
            path=path,
        )
    if fs.is_dir() and not any(n.endswith(".parquet") for n in fs.list_names()):
        raise DataError(
            f"{path} holds no Parquet files: it is not a dataset (or it is empty). "
            "mlcourse data prepare or convert makes one.",
            path=path,
        )
    df = rename_columns(spark.read.parquet(path))
    missing, wrong = higgs_schema_problems(df)
    extra = tuple(c for c in df.columns if c not in COLUMNS)
    numeric = numeric_columns(df, COLUMNS)
    aggregates = [F.count(F.lit(1)).alias("_n")]
    if LABEL in numeric:
        good = F.col(LABEL).isin(0, 1)
        aggregates += [
            F.sum(F.when(good, F.col(LABEL))).alias("_signal"),
            F.count_if(good).alias("_good"),
        ]
    aggregates += [
        F.count_if(F.col(c).isNull() | F.isnan(F.col(c))).alias(f"_e{i}")
        for i, c in enumerate(numeric)
    ]
    with described(spark, f"checks of {path}"):
        row = df.agg(*aggregates).collect()[0]
    rows = int(row["_n"])
    good_labels = int(row["_good"]) if LABEL in numeric else 0
    fraction = float(row["_signal"] or 0.0) / good_labels if good_labels else float("nan")
    empty = {c: int(row[f"_e{i}"]) for i, c in enumerate(numeric) if row[f"_e{i}"]}
    return DataInfo(
        path,
        rows,
        fraction,
        source_of(df),
        tuple(missing),
        extra,
        tuple(wrong),
        rows - good_labels if LABEL in numeric else 0,
        empty,
    )
