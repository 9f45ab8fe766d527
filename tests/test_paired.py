"""Two models on the same events: the paired (DeLong) error of the AUC difference, against a
paired bootstrap and against the independent-errors sum it replaces; Spark's aggregation
against the same computation on arrays."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import rankdata

import mlcourse
from mlcourse.analysis.metrics import roc_curve_arrays
from mlcourse.analysis.paired import paired_auc_difference, paired_auc_difference_arrays


def exact_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney: the AUC from the ranks of the scores (ties averaged)."""
    ranks = rankdata(score)
    m = y.sum()
    n = len(y) - m
    return float((ranks[y == 1].sum() - m * (m + 1) / 2) / (m * n))


def correlated_scores(events: int = 20_000, seed: int = 3):
    """Two classifiers that share most of what they see of each event."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, events)
    common = rng.normal(size=events) + 1.0 * y
    a = 1 / (1 + np.exp(-(common + 0.4 * rng.normal(size=events))))
    b = 1 / (1 + np.exp(-(common + 0.6 * rng.normal(size=events) + 0.1 * y)))
    return y, a, b


def test_the_paired_error_is_a_paired_bootstraps():
    y, a, b = correlated_scores()
    paired = paired_auc_difference_arrays(y, a, b)
    assert paired.difference == pytest.approx(exact_auc(y, a) - exact_auc(y, b), abs=2e-4)
    rng = np.random.default_rng(11)
    differences = []
    for _ in range(400):  # resample events, both models' scores of each event together
        pick = rng.integers(0, len(y), len(y))
        differences.append(exact_auc(y[pick], a[pick]) - exact_auc(y[pick], b[pick]))
    bootstrap = float(np.std(differences, ddof=1))
    assert paired.error == pytest.approx(bootstrap, rel=0.2)
    independent = roc_curve_arrays(y, a).compare(roc_curve_arrays(y, b))
    assert independent.error > 2 * paired.error  # the quadrature sum overstates it here
    assert abs(paired.significance) > abs(independent.significance)


def test_identical_models_differ_by_nothing_and_checks_of_input():
    y, a, _ = correlated_scores(2_000)
    same = paired_auc_difference_arrays(y, a, a)
    assert same.difference == 0 and same.error == pytest.approx(0, abs=1e-9)
    with pytest.raises(ValueError, match="same events"):
        paired_auc_difference_arrays(y, a, a[:-1])
    with pytest.raises(ValueError, match="both classes"):
        paired_auc_difference_arrays(np.ones(10), a[:10], a[:10])


def test_spark_aggregation_equals_the_arrays(gbt):
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.functions import vector_to_array

    _, predictions = gbt
    both = predictions.withColumnRenamed("probability", "gbt").drop("rawPrediction", "prediction")
    train_like = predictions.select("label", "features")
    logistic = LogisticRegression(maxIter=10).fit(train_like)
    both = logistic.transform(both).withColumnRenamed("probability", "logistic")
    result = paired_auc_difference(both, "gbt", "logistic")
    rows = both.select(
        "label", vector_to_array("gbt")[1].alias("a"), vector_to_array("logistic")[1].alias("b")
    ).collect()
    y = np.array([r["label"] for r in rows])
    a = np.array([r["a"] for r in rows])
    b = np.array([r["b"] for r in rows])
    want = paired_auc_difference_arrays(y, a, b)
    assert result.difference == pytest.approx(want.difference, abs=1e-12)
    assert result.error == pytest.approx(want.error, rel=1e-9)
    assert result.error < mlcourse.roc_curve(predictions).compare(roc_curve_arrays(y, b)).error


def test_reports_of_the_same_events_compare_paired(gbt):
    """report.compare pairs two models scored on the same test events (the error equals
    paired_auc_difference's on the joined scores); on other events it adds the errors in
    quadrature and says so; a training spread enters as sqrt(2) x it."""
    from pyspark.ml.classification import LogisticRegression

    _, predictions = gbt
    logistic = LogisticRegression(maxIter=10).fit(predictions.select("label", "features"))
    scored = logistic.transform(predictions.drop("rawPrediction", "probability", "prediction"))
    gbt_report = mlcourse.classification_report(predictions)
    logistic_report = mlcourse.classification_report(scored)
    paired = gbt_report.compare(logistic_report)
    both = logistic.transform(
        predictions.withColumnRenamed("probability", "gbt").drop("rawPrediction", "prediction")
    )
    want = paired_auc_difference(both, "gbt", "probability")
    assert paired.paired is True and paired.events == gbt_report.events
    assert paired.difference == pytest.approx(gbt_report.auc - logistic_report.auc)
    assert paired.error == pytest.approx(want.error, rel=1e-9)
    assert "same" in str(paired) and f"{gbt_report.events:,}" in str(paired)
    independent = gbt_report.compare(logistic_report.roc)
    assert independent.paired is False and "independent" in str(independent)
    assert paired.error < independent.error

    half = mlcourse.classification_report(scored.sample(fraction=0.5, seed=2))
    other = gbt_report.compare(half)  # not the same events: no pairing
    assert other.paired is False
    assert other.error == pytest.approx(np.hypot(gbt_report.auc_error, half.auc_error))

    spread = gbt_report.compare(logistic_report, training_spread=0.004)
    assert spread.error == pytest.approx(np.sqrt(paired.error**2 + 2 * 0.004**2))
    assert spread.statistical_error == pytest.approx(paired.error)
    assert "training spread" in str(spread)
    with pytest.raises(ValueError, match="standard deviation"):
        gbt_report.compare(logistic_report, training_spread=-1)
