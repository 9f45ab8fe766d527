"""Synthetic generation: 1M events locally (numpy), against the copula it replaced, and N
events distributed with a small driver.

The local run times 1M events of the decay-chain generator and of the Gaussian copula it
replaced (benchmarks/_copula.py, fitted here on the committed real sample) in the same run,
and prints the ratio (issue 22's target: at most 3x).

The distributed run starts its own Spark with ``spark.driver.memory`` = ``--driver-memory``
(1g by default), generates ``--events`` events across partitions, writes them as Parquet, and
reports the driver's peak memory: the JVM heap's peak (in local mode that JVM also runs the
executors) and the Python process's peak resident size.

    python benchmarks/synthesize.py [--events 10M] [--driver-memory 1g]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd
from _copula import Copula

import mlcourse
from mlcourse.data.parquet import write_parquet_atomic
from mlcourse.data.sizes import parse_events
from mlcourse.data.synthetic import synthesize_higgs, synthetic_events
from mlcourse.higgs import canonical_name


def jvm_heap_peak_mb(spark) -> float:
    jvm = spark.sparkContext._jvm
    pools = jvm.java.lang.management.ManagementFactory.getMemoryPoolMXBeans()
    heap = jvm.java.lang.management.MemoryType.HEAP
    return sum(p.getPeakUsage().getUsed() for p in pools if p.getType() == heap) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="10M")
    parser.add_argument("--driver-memory", default="1g")
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()

    real = pd.read_csv(
        Path(__file__).resolve().parents[1] / "data" / "higgs_real_5k.csv.gz",
        float_precision="round_trip",
    )
    real.columns = [canonical_name(c) or c for c in real.columns]
    copula = Copula(real)
    t = time.perf_counter()
    copula.sample(1_000_000, seed=0)
    copula_s = time.perf_counter() - t
    t = time.perf_counter()
    local = synthetic_events(1_000_000, seed=0)
    chains_s = time.perf_counter() - t
    print(
        f"local numpy, 1,000,000 events: decay chains {chains_s:.2f} s, the old copula "
        f"{copula_s:.2f} s: ratio {chains_s / copula_s:.2f}x (target <= 3x); signal fraction "
        f"{local['label'].mean():.4f}"
    )
    del local

    n = parse_events(args.events)
    spark = mlcourse.get_spark(
        **{"spark.driver.memory": args.driver_memory, "spark.ui.enabled": "false"}
    )
    work = Path(args.workdir or tempfile.mkdtemp(prefix="mlcourse-bench-"))
    dest = work / f"synthetic-{args.events}.parquet"
    shutil.rmtree(dest, ignore_errors=True)
    t = time.perf_counter()
    rows = write_parquet_atomic(synthesize_higgs(spark, n, seed=0), str(dest))
    seconds = time.perf_counter() - t
    size = sum(f.stat().st_size for f in dest.rglob("*.parquet")) / 1e9
    print(
        f"distributed: {rows:,} events -> Parquet ({size:.2f} GB) in {seconds:.1f} s on "
        f"{spark.sparkContext.master}, spark.driver.memory={args.driver_memory}"
    )
    print(
        f"peak JVM heap (driver, local mode: also the executors): {jvm_heap_peak_mb(spark):.0f} MB"
    )
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak Python driver RSS: {peak_rss:.0f} MB (events never pass through it)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
