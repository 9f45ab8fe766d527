"""Data-set sizes, where events come from, and the file name of every data set.

The bottom of the data layer: it imports nothing from the package, and ``fetch``,
``synthetic``, ``data``, ``demo`` and the CLI all take their sizes and file names from
here, so a data directory holds the same names whoever wrote it::

    higgs-100k.csv                         real events, UCI form (no header)
    higgs-100k.parquet                     the same, converted
    HIGGS.csv.gz                           the whole UCI file, as downloaded
    higgs-synthetic-100k-seed0.csv         synthetic events of seed 0, UCI form
    higgs-synthetic-100k-seed0.parquet     the same, converted

One vocabulary says where events come from: ``"real"`` (the UCI HIGGS events) or
``"synthetic"`` (:func:`mlcourse.synthesize_higgs`); a request may also say ``"auto"`` (real
when they can be had, else synthetic). ``"uci"`` is accepted for ``"real"``.
"""

from __future__ import annotations

import re

__all__ = [
    "FULL_EVENTS",
    "SIZES",
    "SOURCES",
    "check_source",
    "csv_name",
    "parquet_name",
    "parse_events",
    "size_name",
]

#: The course's named sizes; ``full`` is the whole UCI file.
SIZES: dict[str, int | None] = {"100k": 100_000, "1M": 1_000_000, "10M": 10_000_000, "full": None}

#: Events in the whole UCI file (rounded: what a synthetic "full" set holds).
FULL_EVENTS = 11_000_000

#: What a caller may ask for: real events, synthetic ones, or real when possible.
SOURCES = ("auto", "real", "synthetic")

#: The UCI file as downloaded (the ``full`` size).
FULL_DOWNLOAD = "HIGGS.csv.gz"


def check_source(source: str) -> str:
    """``source`` in the package's vocabulary: ``"auto"``, ``"real"`` or ``"synthetic"``.

    ``"uci"`` (the repository the real events come from) means ``"real"``.

    Raises
    ------
    ValueError
        For anything else, listing the accepted words.
    """
    if source == "uci":
        return "real"
    if source not in SOURCES:
        raise ValueError(
            f"source must be 'auto', 'real' (also 'uci') or 'synthetic', not {source!r}"
        )
    return source


def parse_events(events: int | str | None) -> int | None:
    """Turn ``100k``, ``1M``, ``2.5k``, ``full`` or an int into a number of events (None = all).

    Raises
    ------
    ValueError
        For anything else, listing the accepted forms.

    Examples
    --------
    >>> parse_events("100k"), parse_events("2.5M"), parse_events(20_000), parse_events("full")
    (100000, 2500000, 20000, None)
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
    """``100000`` -> ``"100k"``, ``None`` -> ``"full"`` (the size part of file names)."""
    if events is None:
        return "full"
    for unit, scale in (("M", 1_000_000), ("k", 1_000)):
        if events >= scale and events % scale == 0:
            return f"{events // scale}{unit}"
    return str(events)


def _stem(events: int | None, source: str, seed: int) -> str:
    source = check_source(source)
    if source == "auto":
        raise ValueError("a data set's name needs its source: 'real' or 'synthetic', not 'auto'")
    if source == "real":
        return f"higgs-{size_name(events)}"
    if events is None:
        events = FULL_EVENTS
    return f"higgs-synthetic-{size_name(events)}-seed{seed}"


def csv_name(events: int | None, source: str = "real", seed: int = 0) -> str:
    """File name of a HIGGS CSV: ``higgs-100k.csv``, ``HIGGS.csv.gz`` (the whole real
    file), ``higgs-synthetic-100k-seed0.csv``.

    Examples
    --------
    >>> csv_name(100_000), csv_name(None), csv_name(20_000, "synthetic", seed=3)
    ('higgs-100k.csv', 'HIGGS.csv.gz', 'higgs-synthetic-20k-seed3.csv')
    """
    if events is None and check_source(source) == "real":
        return FULL_DOWNLOAD
    return _stem(events, source, seed) + ".csv"


def parquet_name(events: int | None, source: str = "real", seed: int = 0) -> str:
    """Folder name of a HIGGS Parquet data set: ``higgs-100k.parquet``,
    ``higgs-synthetic-1M-seed0.parquet``.

    Examples
    --------
    >>> parquet_name(1_000_000), parquet_name(None), parquet_name(10**6, "synthetic")
    ('higgs-1M.parquet', 'higgs-full.parquet', 'higgs-synthetic-1M-seed0.parquet')
    """
    return _stem(events, source, seed) + ".parquet"
