"""CSV to Parquet of many events with a small driver: does it complete, and how much memory?

Generates ``--events`` synthetic events inside Spark and writes them as CSV (UCI form, a
folder of part files: 10M events are about 5 GB), then converts that CSV to Parquet with
``mlcourse.csv_to_parquet``, all in a Spark whose driver is limited to ``--driver-memory``.
Reports rows, time, and the driver's peak memory: the JVM heap's peak (in local mode that
JVM also runs the executors' tasks) and the Python process's peak resident size.

    python benchmarks/convert_memory.py [--events 10M] [--driver-memory 1g]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import time
from pathlib import Path

from synthesize import jvm_heap_peak_mb

import mlcourse
from mlcourse.data.sizes import parse_events, size_name
from mlcourse.data.synthetic import synthesize_higgs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="10M")
    parser.add_argument("--driver-memory", default="1g")
    parser.add_argument("--workdir", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    n = parse_events(args.events)
    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    spark = mlcourse.get_spark(
        "local", **{"spark.driver.memory": args.driver_memory, "spark.ui.enabled": "false"}
    )
    print(f"Spark {spark.version}, {spark.sparkContext.master}, driver {args.driver_memory}")

    csv = work / f"higgs-synthetic-{size_name(n)}-csv"
    if not (csv / "_SUCCESS").is_file():
        start = time.perf_counter()
        shutil.rmtree(csv, ignore_errors=True)
        synthesize_higgs(spark, n, seed=0).write.csv(str(csv))
        print(f"generated {n:,} events as CSV in {time.perf_counter() - start:.0f} s")
    size = sum(p.stat().st_size for p in csv.glob("part-*")) / 1e9
    dest = work / f"higgs-synthetic-{size_name(n)}-converted.parquet"
    result = mlcourse.csv_to_parquet(spark, str(csv), str(dest), overwrite=True)
    print(f"converted {result.rows:,} events, {size:.1f} GB of CSV, in {result.seconds:.0f} s")
    assert result.rows == n
    heap = jvm_heap_peak_mb(spark)
    # Pools peak at different times: their sum bounds the true peak from above (-Xmx caps it).
    print(f"JVM heap, sum of its pools' peaks (local mode: driver and tasks): {heap:.0f} MB")
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak Python driver RSS: {peak_rss:.0f} MB")
    shutil.rmtree(dest, ignore_errors=True)


if __name__ == "__main__":
    main()
