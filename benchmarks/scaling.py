"""Does the execution time change with the number of workers? The course's exercise, measured.

Starts a Spark standalone cluster on this machine (``mlcourse.runtime.standalone``) with 1, then 2,
... workers of one core each, and runs the same job from a fresh driver on each: convert
``--events`` synthetic events from CSV to Parquet, histogram all 28 features for signal and
background, fit MLlib's GBT, and fit xgboost's ``SparkXGBClassifier`` with one XGBoost
worker per Spark worker (``num_workers`` = workers). Prints the times and the speed-ups
against one worker.

    python benchmarks/scaling.py [--events 1M] [--workers 1 2] [--workdir benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import mlcourse
from mlcourse.runtime.standalone import StandaloneCluster

STEPS = (
    "CSV to Parquet",
    "28-feature histograms",
    "GBT fit (10 trees, depth 5)",
    "xgboost fit (10 trees, depth 5)",
)


def driver(csv: str, dest: str) -> None:
    """One run of the job, timed per step, on the cluster MLCOURSE_MASTER names."""
    from pyspark.ml.classification import GBTClassifier

    spark = mlcourse.get_spark(
        "standalone", **{"spark.ui.enabled": "false", "spark.executor.memory": "2g"}
    )
    times = {}
    start = time.perf_counter()
    mlcourse.csv_to_parquet(spark, csv, dest, overwrite=True)
    times[STEPS[0]] = time.perf_counter() - start
    df = spark.read.parquet(dest).cache()
    df.count()
    start = time.perf_counter()
    mlcourse.feature_histograms(df, "all")
    times[STEPS[1]] = time.perf_counter() - start
    vectors = mlcourse.assemble_features(df).cache()
    vectors.count()
    start = time.perf_counter()
    GBTClassifier(maxIter=10, maxDepth=5, seed=0).fit(vectors)
    times[STEPS[2]] = time.perf_counter() - start
    executors = spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() - 1
    xgb = mlcourse.xgb_classifier(
        spark, num_workers=executors, n_estimators=10, max_depth=5, learning_rate=0.1
    )
    start = time.perf_counter()
    xgb.fit(vectors)
    times[STEPS[3]] = time.perf_counter() - start
    print("RESULT " + json.dumps({"executors": executors, "times": times}), flush=True)
    mlcourse.stop_spark()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="1M")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--workdir", default=str(Path(__file__).parent / "results"))
    parser.add_argument("--driver", nargs=2, metavar=("CSV", "DEST"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.driver:
        driver(*args.driver)
        return

    work = Path(args.workdir).resolve()
    csv, _ = mlcourse.higgs_csv(args.events, source="synthetic", data_dir=str(work))
    print(f"{args.events} synthetic events, {csv.stat().st_size / 1e6:.0f} MB of CSV; "
          f"{os.cpu_count()} cores on this machine")  # fmt: skip
    results = {}
    for n in args.workers:
        with StandaloneCluster(work / f"cluster-{n}", workers=n, cores=1, memory="3g") as cluster:
            run = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--driver",
                    str(csv),
                    str(work / f"scaling-{n}.parquet"),
                ],
                env=cluster.driver_env(),
                capture_output=True,
                text=True,
            )
        if run.returncode:
            raise SystemExit(run.stderr[-4000:])
        line = next(ln for ln in run.stdout.splitlines() if ln.startswith("RESULT "))
        results[n] = json.loads(line.removeprefix("RESULT "))
        print(f"  {n} worker(s): {results[n]['executors']} executor(s) ran the job")

    base = results[args.workers[0]]["times"]
    head = "".join(f"{f'{n} worker(s)':>22}" for n in args.workers)
    print(f"\n{'step':32s}{head}")
    for step in (*STEPS, "total"):
        cells = []
        for n in args.workers:
            times = results[n]["times"]
            t = sum(times.values()) if step == "total" else times[step]
            b = sum(base.values()) if step == "total" else base[step]
            cells.append(f"{t:8.1f} s ({b / t:4.2f}x)")
        print(f"{step:32s}" + "".join(f"{c:>22}" for c in cells))


if __name__ == "__main__":
    main()
