"""What the benchmark scripts share: the synthetic events they all time, kept as Parquet."""

from __future__ import annotations

from pathlib import Path

from mlcourse.convert import write_parquet_atomic
from mlcourse.data import size_name
from mlcourse.synthetic import synthesize_higgs


def events_parquet(spark, work: Path, n: int) -> str:
    """``n`` synthetic events (seed 0) as Parquet in ``work``, written on first use."""
    path = work / f"synthetic-{size_name(n)}-seed0.parquet"
    if not path.is_dir():
        write_parquet_atomic(synthesize_higgs(n, seed=0, spark=spark), str(path))
    return str(path)
