"""Day 3: scoring in Spark against the driver, training time per epoch, network against GBT.

On ``--events`` synthetic HIGGS events (1M by default, kept as Parquet in ``--workdir``):

* **scoring**: ``score_with_keras`` (the model in the executors, then the AUC from one
  aggregation) against the old notebooks' way, ``toPandas()`` of every event, then
  ``model.predict`` and the AUC on the driver. Time ratio, and the Python driver's peak
  resident memory above its level before each contender (sampled every 10 ms);
* **training**: seconds per epoch of the course's network (1 x 100, batch 256) on the
  training sample of each size in ``--sizes``, with early stopping (patience 3, at most
  ``--epochs`` epochs);
* **AUC**: the network against MLlib's ``GBTClassifier(maxIter=20, maxDepth=5)`` trained on
  the same training events and judged on the same test events (split 80/20, seed 42).

Spark runs ``local[*]`` with a 2 GB driver. Absolute times drift on shared machines; compare
the ratios printed in one run.

    python benchmarks/neural.py [--events 1M] [--sizes 100k 1M] [--epochs 20]
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

from _common import events_and_workdir, events_parquet, parser

import mlcourse
from mlcourse.analysis.metrics import roc_curve_arrays
from mlcourse.data.sizes import parse_events


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss(job: Callable[[], Any]) -> tuple[float, float, Any]:
    """(seconds, peak resident MB above the level before, result) of ``job``."""
    base, peak, done = rss_mb(), [0.0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb())
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    try:
        result = job()
    finally:
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
    return seconds, max(peak[0], rss_mb()) - base, result


def train_network(keras, arrays, epochs: int):
    keras.utils.set_random_seed(1)
    model = mlcourse.build_network(28, normalize=arrays.x_train, seed=1)
    stop = keras.callbacks.EarlyStopping(
        monitor="val_auc", mode="max", patience=3, restore_best_weights=True
    )
    start = time.perf_counter()
    history = model.fit(
        arrays.x_train,
        arrays.y_train,
        validation_data=(arrays.x_val, arrays.y_val),
        epochs=epochs,
        batch_size=256,
        callbacks=[stop],
        verbose=0,
    )
    seconds = time.perf_counter() - start
    return model, seconds / len(history.history["loss"]), len(history.history["loss"])


def main() -> None:
    options = parser(__doc__.splitlines()[0], help="events scored (and the largest size)")
    options.add_argument("--sizes", nargs="+", default=["100k", "1M"], help="data set sizes")
    options.add_argument("--epochs", type=int, default=20, help="most epochs per training")
    args = options.parse_args()
    n, work = events_and_workdir(args)

    spark = mlcourse.get_spark(**{"spark.ui.enabled": "false", "spark.driver.memory": "2g"})
    spark.sparkContext.setLogLevel("ERROR")
    import keras
    from pyspark.ml.classification import GBTClassifier

    print(
        f"Spark {spark.version} {spark.sparkContext.master}, Keras {keras.__version__} on "
        f"{keras.backend.backend()} ({', '.join(str(d) for d in _devices())})"
    )
    rows = []
    model = None
    for size in args.sizes:
        m = parse_events(size)
        assert m is not None
        df = spark.read.parquet(events_parquet(spark, work, m)).cache()
        train, test = mlcourse.train_test_split(df, test=0.2, seed=42)
        arrays = mlcourse.to_arrays(train, events=None, validation=0.2, seed=1)
        net, per_epoch, epochs = train_network(keras, arrays, args.epochs)
        nn_auc = mlcourse.roc_curve(mlcourse.score_with_keras(net, test)).auc
        start = time.perf_counter()
        gbt = GBTClassifier(maxIter=20, maxDepth=5, seed=1).fit(mlcourse.assemble_features(train))
        gbt_seconds = time.perf_counter() - start
        gbt_auc = mlcourse.roc_curve(gbt.transform(mlcourse.assemble_features(test))).auc
        rows.append((m, len(arrays.x_train), per_epoch, epochs, nn_auc, gbt_auc, gbt_seconds))
        print(
            f"\n{m:,} events: network {per_epoch:.2f} s/epoch on {len(arrays.x_train):,} "
            f"training events ({epochs} epochs), test AUC {nn_auc:.4f}; "
            f"GBT(20, 5) {gbt_seconds:.0f} s, test AUC {gbt_auc:.4f}"
        )
        df.unpersist()
        if m == n:
            model = net
    if model is None:
        model = net

    print(f"\nScoring all {n:,} events with the trained network, then the AUC:")
    events = spark.read.parquet(events_parquet(spark, work, n))
    # warm up both paths (Python workers import Keras and JAX; XLA compiles)
    mlcourse.roc_curve(mlcourse.score_with_keras(model, events.limit(20_000)))
    model.predict(mlcourse.to_numpy(events.limit(20_000))[0], batch_size=10_000, verbose=0)

    def in_spark() -> float:
        return mlcourse.roc_curve(mlcourse.score_with_keras(model, events)).auc

    def on_driver() -> float:
        frame = events.toPandas()  # the old notebooks' way
        x = frame[list(mlcourse.higgs.FEATURES)].to_numpy()
        scores = model.predict(x, batch_size=10_000, verbose=0)
        return roc_curve_arrays(frame["label"].to_numpy(), scores).auc

    spark_s, spark_mb, spark_auc = peak_rss(in_spark)
    driver_s, driver_mb, driver_auc = peak_rss(on_driver)
    print(f"  score_with_keras + roc_curve    {spark_s:7.1f} s, driver +{spark_mb:7.0f} MB")
    print(f"  toPandas + model.predict + AUC  {driver_s:7.1f} s, driver +{driver_mb:7.0f} MB")
    print(
        f"  driver / Spark: time {driver_s / spark_s:.2f}x; driver memory +{driver_mb:.0f} MB "
        f"against +{spark_mb:.0f} MB; AUC {spark_auc:.5f} and {driver_auc:.5f}"
    )

    print("\nSummary (events, training events, s/epoch, epochs, network AUC, GBT AUC, GBT s):")
    for row in rows:
        print("  " + ", ".join(f"{v:,.4f}" if isinstance(v, float) else f"{v:,}" for v in row))
    mlcourse.stop_spark()


def _devices() -> list[Any]:
    import jax

    return jax.devices()


if __name__ == "__main__":
    main()
