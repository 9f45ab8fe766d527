"""CSV -> Parquet: mlcourse.csv_to_parquet against the old notebook's way and pyarrow.

Builds a HIGGS-shaped CSV in the UCI form (no header, %.18e values; 1M events is about
500 MB) from the synthetic generator, then times, in one run on this machine:

* old:     spark.read.option("inferschema", "true").csv(...) + write.parquet (two passes)
* mlcourse: csv_to_parquet (explicit schema, validated, atomic), default engine (pyarrow
  inside Spark tasks for a local file) and engine="spark" (Spark's own CSV reader)
* pyarrow: pyarrow.csv.open_csv streaming into a ParquetWriter (single process)

Each is run ``--repeat`` times, interleaved, and the best time is kept (shared machines
are noisy). Prints times and the ratios the data issue asks for.

    python benchmarks/convert.py [--events 1M] [--repeat 2] [--workdir benchmarks/results]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np

import mlcourse
from mlcourse.data.sizes import parse_events
from mlcourse.data.synthetic import synthetic_events
from mlcourse.higgs import COLUMNS


def make_csv(path: Path, events: int) -> None:
    if path.is_file():
        return
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as fh:
        for start in range(0, events, 100_000):
            block = synthetic_events(min(100_000, events - start), seed=start).to_numpy()
            np.savetxt(fh, block, fmt="%.18e", delimiter=",")
    tmp.rename(path)


def old_way(spark, src: str, dest: str) -> None:
    df = spark.read.option("header", "false").option("inferschema", "true").csv(src)
    df.write.mode("overwrite").parquet(dest)


def pyarrow_way(src: str, dest: str) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    reader = pacsv.open_csv(
        src,
        read_options=pacsv.ReadOptions(column_names=list(COLUMNS), block_size=1 << 24),
        convert_options=pacsv.ConvertOptions(column_types={c: pa.float64() for c in COLUMNS}),
    )
    with pq.ParquetWriter(dest, reader.schema, compression="snappy") as writer:
        for batch in reader:
            writer.write_batch(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="1M")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workdir", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    n = parse_events(args.events)
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    src = work / f"higgs-uci-{args.events}.csv"
    t = time.perf_counter()
    make_csv(src, n)
    print(
        f"input: {src} ({src.stat().st_size / 1e6:.0f} MB, {n:,} events; "
        f"built/reused in {time.perf_counter() - t:.0f} s)"
    )

    spark = mlcourse.get_spark(**{"spark.ui.enabled": "false"})
    print(
        f"Spark {spark.version}, master {spark.sparkContext.master}, "
        f"driver memory {spark.conf.get('spark.driver.memory')}"
    )
    warm = work / "warmup.csv"
    warm.write_text("\n".join(src.open().readline().strip() for _ in range(1000)) + "\n")
    mlcourse.csv_to_parquet(spark, str(warm), str(work / "warmup.parquet"), overwrite=True)

    best = {
        "old (inferSchema)": [],
        "mlcourse.csv_to_parquet": [],
        "  engine='spark'": [],
        "pyarrow streaming": [],
    }
    for _ in range(args.repeat):
        for name in best:
            dest = work / f"out-{len(name)}.parquet"
            shutil.rmtree(dest, ignore_errors=True)
            dest.unlink(missing_ok=True)
            t = time.perf_counter()
            if name.startswith("old"):
                old_way(spark, str(src), str(dest))
            elif name.startswith("mlcourse"):
                result = mlcourse.csv_to_parquet(spark, str(src), str(dest))
                assert result.rows == n
            elif "engine" in name:
                result = mlcourse.csv_to_parquet(spark, str(src), str(dest), engine="spark")
                assert result.rows == n
            else:
                pyarrow_way(str(src), str(dest))
            best[name].append(time.perf_counter() - t)
    times = {k: min(v) for k, v in best.items()}
    for name, seconds in times.items():
        print(f"{name:26s} {seconds:6.2f} s   (runs: {', '.join(f'{s:.2f}' for s in best[name])})")
    ours = times["mlcourse.csv_to_parquet"]
    print(f"old / mlcourse     = {times['old (inferSchema)'] / ours:.2f}x  (target >= 2.5x)")
    print(f"mlcourse / pyarrow = {ours / times['pyarrow streaming']:.2f}x  (target <= 1.6x)")


if __name__ == "__main__":
    main()
