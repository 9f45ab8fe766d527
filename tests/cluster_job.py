"""A driver program for the cluster tests: ``python -m tests.cluster_job JOB [ARGS]``.

It connects to the cluster that ``MLCOURSE_PROFILE=standalone`` and ``MLCOURSE_MASTER`` name,
runs one job of mlcourse, and prints ``RESULT <json>`` for the test to compare with numpy
and with what the test session computed in local mode. A separate process, as a student's
notebook kernel would be: one Python process holds one SparkContext.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import mlcourse
from mlcourse.higgs import FEATURES
from tests.sparkjobs import jobs_submitted

#: Fixed ranges, so that the cluster's histograms and numpy's share their bins exactly.
RANGES = dict.fromkeys(FEATURES, (-3.0, 5.0))


def analysis(spark, csv: str, out: str, data_dir: str, model_path: str) -> dict[str, Any]:
    """The course's steps on the events of ``csv``: convert, load, generate, plot, classify,
    score with the Keras model in ``model_path`` (into ``data_dir``/scored.parquet), and
    train xgboost across the executors. One driver for all: each costs a JVM start.

    The classifier is the test session's ``gbt`` fixture (same split, same settings), so
    its local results need no second computation.
    """
    from pyspark.ml.classification import GBTClassifier

    converted = mlcourse.csv_to_parquet(spark, csv, out)
    loaded = mlcourse.load_higgs(spark, "5k", source="synthetic", seed=4, data_dir=data_dir)
    synth = mlcourse.synthesize_higgs(spark, 30_000, seed=9)
    df = spark.read.parquet(out)
    hist = mlcourse.signal_background_hist(df, "m_bb", bins=40, range=(0.0, 3.0))
    grid = mlcourse.feature_histograms(df, "all", bins=20, ranges=RANGES)
    train, test = mlcourse.train_test_split(df, 0.3, seed=1)
    model = GBTClassifier(maxIter=5, maxDepth=3, seed=1).fit(mlcourse.assemble_features(train))
    report = mlcourse.classification_report(model.transform(mlcourse.assemble_features(test)))
    return {
        "executors": spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() - 1,
        "convert_rows": converted.rows,
        "converted_sum": df.groupBy().sum().first().asDict(),
        "load_rows": loaded.count(),
        "load_source": mlcourse.source_of(loaded),
        "synth": synth.groupBy().sum().first().asDict(),
        "hist": [hist.signal.tolist(), hist.background.tolist()],
        "grid": {k: [h.signal.tolist(), h.background.tolist()] for k, h in grid.items()},
        "report": report.to_dict(),
        "keras_rows": score_keras(spark, model_path, df, f"{data_dir}/scored.parquet"),
        "xgboost": xgboost(spark, df),
    }


def score_keras(spark, model_path: str, df, out: str) -> int:
    """Score ``df`` with the model in ``model_path``; write the features and ``p``."""
    from pyspark.ml.functions import vector_to_array

    from mlcourse.models.keras_setup import import_keras as _keras

    model = _keras().saving.load_model(model_path)
    scored = mlcourse.score_with_keras(model, df, batch_size=2_000)
    scored = scored.withColumn("p", vector_to_array("probability")[1]).drop("probability")
    scored.write.parquet(out)
    return spark.read.parquet(out).count()


def xgboost(spark, df) -> dict[str, Any]:
    """SparkXGBClassifier with 2 workers on the cluster; then a request for one too many,
    and how many Spark jobs that request started (none: refused before a barrier stage)."""
    from pyspark.ml.evaluation import BinaryClassificationEvaluator

    train, test = xgb_split(df)
    model = mlcourse.xgb_classifier(spark, num_workers=2, **XGB_PARAMS).fit(train)
    predictions = model.transform(test)
    report = mlcourse.classification_report(predictions).to_dict()
    evaluator = BinaryClassificationEvaluator(rawPredictionCol="probability")
    with jobs_submitted(spark) as jobs:
        try:
            mlcourse.xgb_classifier(spark, num_workers=3)
            refused = ""
        except mlcourse.ConfigError as exc:
            refused = str(exc)
    return {
        "report": report,
        "spark_auc": evaluator.evaluate(predictions),
        "refused": refused,
        "refusal_jobs": len(jobs),
    }


#: Day 4's model, the same on the cluster and in the local-mode comparison.
XGB_PARAMS = {"n_estimators": 10, "max_depth": 5, "random_state": 0}


def xgb_split(df):
    """Training and test vectors for Day 4's model, as both the cluster and the test split."""
    train, test = mlcourse.train_test_split(df, 0.3, seed=1)
    return mlcourse.assemble_features(train), mlcourse.assemble_features(test)


def main(argv: list[str]) -> int:
    job, *args = argv
    spark = mlcourse.get_spark(
        **{"spark.ui.enabled": "false", "spark.executor.memory": "768m", "spark.cores.max": "2"}
    )
    if job == "analysis":
        result = analysis(spark, *args)
    elif job == "convert":  # for the fault tests: one conversion after another into each
        # destination, each when the test says "go" on stdin; a result line after each.
        src, *dests = args
        for dest in dests:
            if sys.stdin.readline().strip() != "go":
                break
            print(f"STARTED {dest}", flush=True)
            rows = mlcourse.csv_to_parquet(spark, src, dest, partitions=8).rows
            print("CONVERTED " + json.dumps({"rows": rows}), flush=True)
        result = {}
    else:
        raise SystemExit(f"unknown job {job!r}")
    print("RESULT " + json.dumps(result), flush=True)
    mlcourse.stop_spark()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
