"""ROC curves and classification metrics computed in Spark, checked against Spark and by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from pyspark.ml.evaluation import BinaryClassificationEvaluator
from pyspark.sql import functions as F

from mlcourse import DataError
from mlcourse.analysis.metrics import ClassificationReport, classification_report, roc_curve


def exact_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mann-Whitney: probability that a signal event outscores a background one (ties 1/2)."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return (greater + 0.5 * ties) / (len(pos) * len(neg))


def test_auc_agrees_with_sparks_evaluator(gbt):
    _, predictions = gbt
    roc = roc_curve(predictions)
    spark_auc = BinaryClassificationEvaluator(rawPredictionCol="probability").evaluate(predictions)
    assert abs(roc.auc - spark_auc) < 1e-3
    assert roc.auc > 0.6
    fpr, tpr, auc = roc  # unpacks like the old helper's pair plus the area
    assert auc == roc.auc
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert len(fpr) == len(roc.thresholds) and np.isinf(roc.thresholds[0])


def test_raw_prediction_and_numeric_scores(gbt):
    _, predictions = gbt
    spark_auc = BinaryClassificationEvaluator().evaluate(predictions)  # rawPrediction
    assert abs(roc_curve(predictions, score_col="rawPrediction").auc - spark_auc) < 1e-3
    numeric = predictions.select(
        "label", (F.col("m_bb") * -1).alias("score")
    )  # any numeric column is a score; its range is found by a small job
    rows = numeric.toPandas()
    want = exact_auc(rows["label"].to_numpy(), rows["score"].to_numpy())
    assert abs(roc_curve(numeric, score_col="score").auc - want) < 1e-3


def test_points_match_counts_above_each_threshold(spark):
    labels = np.array([0, 0, 1, 1, 0, 1, 1, 0, 1, 1], dtype=float)
    scores = np.array([0.05, 0.15, 0.15, 0.35, 0.45, 0.55, 0.75, 0.85, 0.95, 0.95])
    rows = list(zip(labels.tolist(), scores.tolist(), strict=True))
    df = spark.createDataFrame(rows, ["label", "score"])
    roc = roc_curve(df, score_col="score", bins=10)
    for fpr, tpr, threshold in zip(roc.fpr, roc.tpr, roc.thresholds, strict=True):
        called = scores >= threshold
        assert tpr == called[labels == 1].mean()
        assert fpr == called[labels == 0].mean()
    assert roc.auc == pytest.approx(exact_auc(labels, scores))


def test_report_equals_hand_computed_confusion(gbt):
    _, predictions = gbt
    rows = predictions.select("label", "prediction").toPandas()
    y, p = rows["label"].to_numpy(), rows["prediction"].to_numpy()
    tp, tn = int(((y == 1) & (p == 1)).sum()), int(((y == 0) & (p == 0)).sum())
    fp, fn = int(((y == 0) & (p == 1)).sum()), int(((y == 1) & (p == 0)).sum())
    report = classification_report(predictions)
    np.testing.assert_array_equal(report.confusion, [[tn, fp], [fn, tp]])
    assert report.accuracy == pytest.approx((tp + tn) / len(y))
    assert report.precision == pytest.approx(tp / (tp + fp))
    assert report.recall == pytest.approx(tp / (tp + fn))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert report.f1 == pytest.approx(2 * precision * recall / (precision + recall))
    assert report.auc == roc_curve(predictions).auc
    assert report.events == len(y)


@pytest.mark.parametrize("constant", [0.0, 1.0])
def test_all_one_class_predicted_does_not_crash(gbt, constant):
    _, predictions = gbt
    degenerate = predictions.withColumn("prediction", F.lit(constant))
    report = classification_report(degenerate)
    n_signal = predictions.where("label = 1").count()
    n = predictions.count()
    if constant == 1.0:
        np.testing.assert_array_equal(report.confusion, [[0, n - n_signal], [0, n_signal]])
        assert report.recall == 1.0
        assert report.precision == pytest.approx(n_signal / n)
    else:
        np.testing.assert_array_equal(report.confusion, [[n - n_signal, 0], [n_signal, 0]])
        assert report.precision == 0.0 and report.recall == 0.0 and report.f1 == 0.0
    assert report.accuracy == pytest.approx(report.confusion.trace() / n)
    assert "precision" in str(report)


def test_one_class_only_gives_nan_auc(gbt):
    _, predictions = gbt
    report = classification_report(predictions.where("label = 1"))
    assert math.isnan(report.auc) and report.confusion[0].sum() == 0
    assert json.loads(report.to_json())["auc"] is None


def test_report_without_probabilities(spark):
    df = spark.createDataFrame([(1.0, 1.0), (0.0, 1.0), (0.0, 0.0)], ["label", "prediction"])
    report = classification_report(df)
    assert math.isnan(report.auc) and report.roc is None
    np.testing.assert_array_equal(report.confusion, [[1, 1], [0, 1]])


def test_report_prints_as_a_table_and_serialises(gbt):
    _, predictions = gbt
    report = classification_report(predictions)
    text = str(report)
    (tn, fp), (fn, tp) = report.confusion.tolist()
    assert f"AUC        {report.auc:.4f}" in text
    assert f"{tn:,}" in text and f"{tp:,}" in text
    assert "predicted signal" in text and "true background" in text
    data = json.loads(report.to_json())
    assert data["confusion"] == {"tn": tn, "fp": fp, "fn": fn, "tp": tp}
    assert data["f1"] == pytest.approx(report.f1, abs=1e-6)
    assert "<table>" in report._repr_html_()
    assert isinstance(report, ClassificationReport)


def test_missing_columns_name_the_closest(gbt):
    _, predictions = gbt
    with pytest.raises(DataError, match="'probabilty'.*closest: probability"):
        roc_curve(predictions, score_col="probabilty")
    with pytest.raises(DataError, match="'labels'"):
        classification_report(predictions, label_col="labels")
