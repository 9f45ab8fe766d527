"""Histograms and ROC in Spark against the old helper file's way, timed in the same run.

On ``--events`` synthetic HIGGS events (1M by default, kept as Parquet in ``--workdir`` and
cached in Spark so every contender reads the same in-memory data):

* histogram of m_bb, 50 bins on [0, 3]: the old ``compute_hist`` (filter the range, then
  ``rdd.flatMap(...).histogram(50)`` once per class) against
  ``mlcourse.signal_background_hist`` (one aggregation in the JVM);
* the 28-feature grid (``feature_histograms``, robust ranges found from quantiles) against
  one feature, through the same engine and through ``signal_background_hist``; and the
  two engines (JVM aggregation, numpy in the Python workers) on the 28 features;
* ROC: the old ``drawROC``'s ``toPandas()`` of label, prediction and probability (the collect
  alone; it then needed scikit-learn) against ``mlcourse.roc_curve``, on the predictions of a
  small GBT for every event. The Python driver's peak allocation (tracemalloc) and the rows
  that reach it are printed for ``--events`` and a tenth of it: ``roc_curve``'s must not grow.

Each timing is the best of ``--repeat`` interleaved runs (shared machines are noisy).

    python benchmarks/analysis.py [--events 1M] [--repeat 3] [--workdir benchmarks/results]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import events_parquet

import mlcourse
from mlcourse.analysis.aggregate import feature_histograms, robust_ranges, signal_background_hist
from mlcourse.analysis.features import assemble_features
from mlcourse.data.parquet import write_parquet_atomic
from mlcourse.data.sizes import parse_events, size_name
from mlcourse.higgs import FEATURES


def old_compute_hist(df, feature: str, n_bins: int = 50, x_lim=(0.0, 3.0)):
    """What the course's old helper did: two RDD histogram passes through Python workers."""
    from pyspark.sql.functions import col

    data = df.where((col(feature) <= x_lim[1]) & (col(feature) >= x_lim[0]))
    sgn = data.where(col("label") == 1.0)
    bkg = data.where(col("label") == 0.0)
    return (
        sgn.select(feature).rdd.flatMap(lambda x: x).histogram(n_bins),
        bkg.select(feature).rdd.flatMap(lambda x: x).histogram(n_bins),
    )


def old_roc_collect(predictions):
    """The old drawROC's first line: every prediction to the driver as pandas."""
    return predictions.select("label", "prediction", "probability").toPandas()


def best_of(repeat: int, jobs: dict[str, Callable[[], Any]]) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(repeat):
        for name, job in jobs.items():
            start = time.perf_counter()
            job()
            times[name].append(time.perf_counter() - start)
    for name, runs in times.items():
        print(f"  {name:44s} {min(runs):7.2f} s   (runs: {', '.join(f'{t:.2f}' for t in runs)})")
    return {name: min(runs) for name, runs in times.items()}


def peak_python_mb(job: Callable[[], Any]) -> tuple[float, Any]:
    tracemalloc.start()
    try:
        result = job()
        return tracemalloc.get_traced_memory()[1] / 2**20, result
    finally:
        tracemalloc.stop()


def predictions_parquet(spark, work: Path, n: int, events: str) -> str:
    """A small GBT's predictions for every event, written once (label, m_bb, scores)."""
    from pyspark.ml.classification import GBTClassifier

    path = work / f"predictions-{size_name(n)}.parquet"
    if not path.is_dir():
        df = spark.read.parquet(events)
        train = assemble_features(df.limit(50_000))
        model = GBTClassifier(maxIter=10, maxDepth=3, seed=0).fit(train)
        out = model.transform(assemble_features(df)).select(
            "label", "m_bb", "rawPrediction", "probability", "prediction"
        )
        write_parquet_atomic(out, str(path))
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="1M")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    n = parse_events(args.events)
    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)

    spark = mlcourse.get_spark(**{"spark.ui.enabled": "false"})
    print(
        f"Spark {spark.version}, master {spark.sparkContext.master}, driver memory "
        f"{spark.conf.get('spark.driver.memory')}, {n:,} synthetic events"
    )
    df = spark.read.parquet(events_parquet(spark, work, n)).cache()
    assert df.count() == n
    signal_background_hist(df, "m_bb", range=(0, 3))  # warm-up: JIT, Python workers
    old_compute_hist(df, "m_bb")

    print("\nHistogram of m_bb, 50 bins on [0, 3]:")
    t = best_of(
        args.repeat,
        {
            "old: filter + rdd.histogram per class": lambda: old_compute_hist(df, "m_bb"),
            "signal_background_hist, range given": lambda: signal_background_hist(
                df, "m_bb", bins=50, range=(0, 3)
            ),
            "signal_background_hist, robust range": lambda: signal_background_hist(df, "m_bb"),
        },
    )
    old, new = t["old: filter + rdd.histogram per class"], t["signal_background_hist, range given"]
    # the old helper bins each class between its own min and max, so only totals compare
    (_, old_signal), (_, old_background) = old_compute_hist(df, "m_bb")
    hist = signal_background_hist(df, "m_bb", bins=50, range=(0, 3))
    same = (sum(old_signal), sum(old_background)) == (hist.signal.sum(), hist.background.sum())
    print(f"  old / signal_background_hist = {old / new:.1f}x  (target >= 5x)")
    print(f"  same events counted in [0, 3] by both: {same}")

    print("\nFeature grid: robust ranges (one job), then the histograms (one job):")
    t = best_of(
        args.repeat,
        {
            "one feature: signal_background_hist(m_bb)": lambda: signal_background_hist(df, "m_bb"),
            "one feature: feature_histograms([m_bb], arrow)": lambda: feature_histograms(
                df, ["m_bb"], engine="arrow"
            ),
            "28 features: feature_histograms (arrow)": lambda: feature_histograms(df, "all"),
        },
    )
    grid = t["28 features: feature_histograms (arrow)"]
    one_jvm = t["one feature: signal_background_hist(m_bb)"]
    one_arrow = t["one feature: feature_histograms([m_bb], arrow)"]
    print(f"  28 features / one feature, same engine    = {grid / one_arrow:.2f}x  (target <= 2x)")
    print(f"  28 features / signal_background_hist(m_bb) = {grid / one_jvm:.2f}x")
    ranges = robust_ranges(df, list(FEATURES))
    t = best_of(
        1,
        {
            "28 features, ranges given, engine='jvm'": lambda: feature_histograms(
                df, "all", ranges=ranges, engine="jvm"
            ),
            "28 features, ranges given, engine='arrow'": lambda: feature_histograms(
                df, "all", ranges=ranges, engine="arrow"
            ),
        },
    )
    ratio = (
        t["28 features, ranges given, engine='jvm'"]
        / t["28 features, ranges given, engine='arrow'"]
    )
    print(f"  jvm / arrow for 28 features = {ratio:.1f}x")
    df.unpersist()

    print("\nROC curve of a GBT's predictions for every event:")
    path = predictions_parquet(spark, work, n, events_parquet(spark, work, n))
    predictions = spark.read.parquet(path).cache()
    predictions.count()
    t = best_of(
        max(1, args.repeat - 1),
        {
            "old: toPandas() of the predictions": lambda: old_roc_collect(predictions),
            "roc_curve": lambda: mlcourse.roc_curve(predictions),
        },
    )
    ratio = t["old: toPandas() of the predictions"] / t["roc_curve"]
    from pyspark.ml.evaluation import BinaryClassificationEvaluator

    auc = mlcourse.roc_curve(predictions).auc
    spark_auc = BinaryClassificationEvaluator(rawPredictionCol="probability").evaluate(predictions)
    print(f"  toPandas / roc_curve = {ratio:.1f}x  (target >= 10x)")
    print(f"  AUC {auc:.5f}, Spark's evaluator {spark_auc:.5f}, difference {auc - spark_auc:+.1e}")

    print("\nPython driver memory (tracemalloc peak) and points returned:")
    for m in (n // 10, n):
        part = predictions.limit(m) if m < n else predictions
        roc_mb, roc = peak_python_mb(lambda part=part: mlcourse.roc_curve(part))
        old_mb, frame = peak_python_mb(lambda part=part: old_roc_collect(part))
        print(
            f"  {m:>10,} events: roc_curve {roc_mb:7.1f} MB ({len(roc.fpr):,} ROC points);"
            f"  toPandas {old_mb:7.1f} MB ({len(frame):,} rows)"
        )
        del frame
    predictions.unpersist()


if __name__ == "__main__":
    main()
