"""Named data sizes and loading the HIGGS data set (real or synthetic) as a DataFrame."""

from __future__ import annotations

import logging
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ._hadoop import HadoopFS, absolute, is_local, local_path
from .errors import DataError
from .higgs import LABEL

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "SIZES",
    "DataInfo",
    "data_info",
    "higgs_csv",
    "load_higgs",
    "parse_events",
    "source_of",
]

log = logging.getLogger(__name__)

#: The course's named sizes; ``full`` is the whole UCI file.
SIZES: dict[str, int | None] = {"100k": 100_000, "1M": 1_000_000, "10M": 10_000_000, "full": None}

FULL_EVENTS = 11_000_000


def parse_events(events: int | str | None) -> int | None:
    """Turn ``100k``, ``1M``, ``2.5k``, ``full`` or an int into a number of events (None = all).

    Raises
    ------
    ValueError
        For anything else, listing the accepted forms.
    """
    if events is None:
        return None
    if isinstance(events, bool):
        raise ValueError(f"events must be a number or a size like '100k', got {events!r}")
    if isinstance(events, int):
        if events <= 0:
            raise ValueError(f"events must be positive, got {events}")
        return events
    text = str(events).strip()
    if text.lower() == "full":
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kKmM]?)", text.replace("_", ""))
    if not match:
        raise ValueError(
            f"cannot read {events!r} as a number of events: use an integer, a size with k or M "
            f"(e.g. 100k, 1M, 20k) or 'full' (named sizes: {', '.join(SIZES)})."
        )
    scale = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
    value = round(float(match.group(1)) * scale)
    if value <= 0:
        raise ValueError(f"events must be positive, got {events!r}")
    return value


def size_name(events: int | None) -> str:
    """``100000`` -> ``"100k"``, ``None`` -> ``"full"`` (file names of the data directory)."""
    if events is None:
        return "full"
    for unit, scale in (("M", 1_000_000), ("k", 1_000)):
        if events >= scale and events % scale == 0:
            return f"{events // scale}{unit}"
    return str(events)


def resolve_data_dir(data_dir: str | None = None) -> str:
    """``data_dir`` if given, else the live session's profile's, else the active profile's."""
    if data_dir is not None:
        return str(data_dir)
    from .config import resolve_profile
    from .session import active_profile

    profile = active_profile() or resolve_profile()
    return profile.data_dir


def _join(base: str, name: str) -> str:
    return base.rstrip("/") + "/" + name


def synthetic_path(base: str, events: int, seed: int) -> str:
    """Where synthetic events of a size and seed are kept as Parquet in ``base``."""
    return _join(base, f"higgs-synthetic-{size_name(events)}-seed{seed}.parquet")


def source_of(df: DataFrame) -> str:
    """``"real"``, ``"synthetic"`` or ``"unknown"``: what :func:`load_higgs` marked ``df`` as."""
    try:
        metadata = df.schema[LABEL].metadata
    except (KeyError, LookupError):
        return "unknown"
    return str(metadata.get("mlcourse.source", "unknown"))


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
    source : {"auto", "uci", "synthetic"}, default "auto"
        ``uci``: the real events (Parquet in the data directory, else downloaded and
        converted); ``synthetic``: generated (and kept as Parquet for next time);
        ``auto``: real when it can be had, else synthetic with a one-line notice.
    seed : int, default 0
        Seed of synthetic events.
    data_dir : str, optional
        Where Parquet datasets are kept; default the profile's ``data_dir``.
    url : str, optional
        Where to download from (see :func:`mlcourse.fetch_higgs`).

    Returns
    -------
    DataFrame
        Label and 28 features. ``mlcourse.source_of(df)`` (from the label column's
        metadata) says ``"real"`` or ``"synthetic"``, and a log line says it too.
    """
    from .convert import csv_to_parquet, write_parquet_atomic
    from .errors import DownloadError
    from .synthetic import mark_source, synthesize_higgs

    if source not in ("auto", "uci", "synthetic"):
        raise ValueError(f"source must be 'auto', 'uci' or 'synthetic', not {source!r}")
    n = parse_events(events)
    name = size_name(n)
    base = absolute(resolve_data_dir(data_dir))
    real_path = _join(base, f"higgs-{name}.parquet")
    synth_events = FULL_EVENTS if n is None else n
    synth_path = synthetic_path(base, synth_events, seed)
    fs = HadoopFS(spark, base)
    fs.mkdirs()

    def load(path: str, kind: str) -> DataFrame:
        df = mark_source(spark.read.parquet(path), kind)
        level = logging.WARNING if kind == "synthetic" and source == "auto" else logging.INFO
        log.log(level, "HIGGS %s: %s events from %s", name, kind, path)
        return df

    if source in ("auto", "uci"):
        if fs.exists(real_path):
            return load(real_path, "real")
        try:
            csv = _fetch_for(base, n, url=url, quick=source == "auto")
            csv_to_parquet(spark, str(csv), real_path)
            return load(real_path, "real")
        except (DownloadError, OSError) as exc:
            if source == "uci":
                raise
            log.warning("real HIGGS data unavailable (%s): using SYNTHETIC events instead", exc)
    if not fs.exists(synth_path):
        write_parquet_atomic(synthesize_higgs(synth_events, seed=seed, spark=spark), synth_path)
    return load(synth_path, "synthetic")


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
    source : {"auto", "uci", "synthetic"}, default "auto"
        As in :func:`load_higgs`: ``auto`` downloads the real events when it can, else
        writes synthetic ones (with a warning).
    seed : int, default 0
        Seed of synthetic events.
    data_dir : str, optional
        Default the profile's data directory; a scratch folder when that is not local.
    url : str, optional
        Mirror of the UCI file (see :func:`mlcourse.fetch_higgs`).

    Returns
    -------
    (path, source) : (pathlib.Path, str)
        The CSV file and ``"real"`` or ``"synthetic"``.
    """
    from .errors import DownloadError

    if source not in ("auto", "uci", "synthetic"):
        raise ValueError(f"source must be 'auto', 'uci' or 'synthetic', not {source!r}")
    n = parse_events(events)
    if n is None and source != "uci":
        raise ValueError("synthetic events need a number of events, such as '100k' or '1M'")
    base = resolve_data_dir(data_dir)
    if source in ("auto", "uci"):
        try:
            return _fetch_for(base, n, url=url, quick=source == "auto"), "real"
        except (DownloadError, OSError) as exc:
            if source == "uci":
                raise
            log.warning("real HIGGS data unavailable (%s): using SYNTHETIC events instead", exc)
    assert n is not None
    folder = Path(local_path(base) if is_local(base) else tempfile.mkdtemp(prefix="mlcourse-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"higgs-synthetic-{size_name(n)}-seed{seed}.csv"
    if not path.is_file():
        _write_synthetic_csv(path, n, seed)
    return path, "synthetic"


def _write_synthetic_csv(path: Path, events: int, seed: int) -> None:
    """Synthetic events as a UCI-form CSV (no header), written beside and renamed."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from .synthetic import synthesize_higgs

    table = pa.Table.from_pandas(synthesize_higgs(events, seed=seed), preserve_index=False)
    tmp = path.with_name(f".{path.name}.tmp")
    pacsv.write_csv(table, tmp, pacsv.WriteOptions(include_header=False))
    tmp.replace(path)


def _fetch_for(base: str, n: int | None, *, url: str | None, quick: bool) -> Path:
    from .fetch import default_path, fetch_higgs

    if is_local(base):
        dest = default_path(n, local_path(base))
    else:  # e.g. hdfs://: download to local scratch, convert straight into the cluster FS
        dest = default_path(n, tempfile.mkdtemp(prefix="mlcourse-"))
    # In "auto" mode an offline machine should fall back in seconds, not after minutes.
    retries, backoff, timeout = (1, 0.5, 10.0) if quick else (5, 1.0, 30.0)
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

    @property
    def schema_ok(self) -> bool:
        """True when the label and all 28 features are there."""
        return not self.missing

    def __str__(self) -> str:
        schema = (
            "ok (label + 28 features)" if self.schema_ok else f"MISSING {', '.join(self.missing)}"
        )
        lines = [
            f"path             {self.path}",
            f"events           {self.rows:,}",
            f"schema           {schema}",
            f"signal fraction  {self.signal_fraction:.4f}",
            f"source           {self.source}",
        ]
        if self.extra:
            lines.append(f"other columns    {', '.join(self.extra)}")
        return "\n".join(lines)


def data_info(spark: SparkSession, path: str) -> DataInfo:
    """Rows, schema check, signal fraction and real/synthetic marker of a Parquet dataset."""
    from pyspark.sql import functions as F

    from .higgs import COLUMNS, rename_columns

    path = absolute(path)
    if not HadoopFS(spark, path).exists():
        raise DataError(f"{path}: no such dataset.", path=path)
    df = rename_columns(spark.read.parquet(path))
    missing = tuple(c for c in COLUMNS if c not in df.columns)
    extra = tuple(c for c in df.columns if c not in COLUMNS)
    if LABEL in df.columns:
        row = df.agg(F.count(F.lit(1)).alias("n"), F.avg(LABEL).alias("f")).collect()[0]
        rows, fraction = int(row["n"]), float(row["f"] or 0.0)
    else:
        rows, fraction = df.count(), float("nan")
    return DataInfo(path, rows, fraction, source_of(df), missing, extra)
