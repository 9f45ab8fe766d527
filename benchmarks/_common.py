"""What the benchmark scripts share: the synthetic events they all time, kept as Parquet."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlcourse.data.parquet import write_parquet_atomic
from mlcourse.data.sizes import parse_events, size_name
from mlcourse.data.synthetic import synthesize_higgs


def events_parquet(spark, work: Path, n: int) -> str:
    """``n`` synthetic events (seed 0) as Parquet in ``work``, written on first use."""
    path = work / f"synthetic-{size_name(n)}-seed0.parquet"
    if not path.is_dir():
        write_parquet_atomic(synthesize_higgs(spark, n, seed=0), str(path))
    return str(path)


def parser(description: str, events: str = "1M", help: str = "") -> argparse.ArgumentParser:
    """An argument parser with the shared ``--events`` and ``--workdir`` options."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--events", default=events, help=help or "synthetic events")
    parser.add_argument("--workdir", default=str(Path(__file__).parent / "results"))
    return parser


def events_and_workdir(args: argparse.Namespace) -> tuple[int, Path]:
    """The number of events asked for and the (created) working folder."""
    n = parse_events(args.events)
    if n is None:
        raise SystemExit("--events must be a number of events such as 100k or 1M")
    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    return n, work
