"""Day 4: xgboost.spark on the course's feature vector in local mode (cluster: test_cluster)."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark import SparkConf
from pyspark.ml.evaluation import BinaryClassificationEvaluator

import mlcourse
from mlcourse import ConfigError, with_validation, xgb_classifier
from mlcourse.course.checks import evaluate
from mlcourse.higgs import FEATURES
from mlcourse.models.boosting import barrier_problem, task_slots

from .conftest import best_round
from .sparkjobs import jobs_submitted


@pytest.fixture(scope="module")
def sets(higgs):
    df, _ = higgs
    train, test = mlcourse.train_test_split(df, 0.3, seed=1)
    train = with_validation(mlcourse.assemble_features(train), 0.2).cache()
    test = mlcourse.assemble_features(test).cache()
    yield train, test
    train.unpersist()
    test.unpersist()


@pytest.fixture(scope="module")
def xgb_model(spark, sets):
    train, _ = sets
    return xgb_classifier(spark, num_workers=2, n_estimators=20, max_depth=5).fit(train)


def test_slots_of_the_local_session(spark):
    assert task_slots(spark) == 2  # local[2]


def test_predictions_feed_the_course_metrics(xgb_model, sets):
    _, test = sets
    predictions = xgb_model.transform(test)
    report = mlcourse.classification_report(predictions)
    spark_auc = BinaryClassificationEvaluator(rawPredictionCol="probability").evaluate(predictions)
    assert abs(report.auc - spark_auc) < 1e-3
    assert report.events == test.count()
    assert report.auc > 0.7
    # the classes follow the probabilities, as MLlib's do
    from pyspark.ml.functions import vector_to_array

    rows = predictions.select(vector_to_array("probability")[1], "prediction").collect()
    assert all((p > 0.5) == (prediction == 1.0) for p, prediction in rows)


def test_early_stopping_on_the_validation_part(spark, sets):
    train, test = sets
    xgb = xgb_classifier(
        spark,
        num_workers=2,
        n_estimators=400,
        learning_rate=0.3,
        early_stopping_rounds=5,
        eval_metric="auc",
        validation_indicator_col="validation",
    )
    model = xgb.fit(train)
    booster = model.get_booster()
    assert 0 < booster.best_iteration < 399  # it stopped before the last round
    auc = mlcourse.roc_curve(model.transform(test)).auc
    assert auc > 0.7
    # xgboost's own validation AUCs, one per round grown, and Day 4's rule of early stopping
    history = model.training_summary.validation_objective_history["auc"]
    assert len(history) == booster.num_boosted_rounds()
    assert int(np.argmax(history)) == booster.best_iteration

    result = evaluate("day4.ex2", best_round, model=model)
    assert result.passed and f"best round ({booster.best_iteration})" in result.message
    from mlcourse.course.checking import evaluate_in

    mine = {"best_round": best_round, "stopped": model}  # the student's own name for the model
    assert evaluate_in("day4.ex2", mine).passed


def test_a_model_grown_to_the_end_checks_the_rule_alone(xgb_model):
    def best_round(aucs, patience):
        return int(np.argmax(aucs))  # never stops: the check's sequences tell

    result = evaluate("day4.ex2", best_round, model=xgb_model)
    assert not result.passed and "early stopping would keep round" in result.message


def test_a_misnamed_validation_column_is_refused_not_ignored(spark):
    with pytest.raises(TypeError, match="validation_indicator_col='validation'"):
        xgb_classifier(spark, num_workers=2, validation_col="validation")


def test_validation_part_is_reproducible(sets):
    train, _ = sets
    marked = train.where("validation").count()
    assert 0.17 < marked / train.count() < 0.23
    again = with_validation(train.drop("validation").repartition(3), 0.2)
    assert again.where("validation").count() == marked
    with pytest.raises(ValueError, match="fraction must be between 0 and 1"):
        with_validation(train, 1.5)


def test_feature_importance_names_not_f12(xgb_model):
    import matplotlib.pyplot as plt

    ax = mlcourse.plot_feature_importance(xgb_model, FEATURES, top=5)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 5 and set(labels) <= set(FEATURES)
    gain = xgb_model.get_booster().get_score(importance_type="total_gain")
    total = sum(gain.values())
    best = max(gain, key=gain.get)  # "f25" for the 26th feature of the vector
    assert labels[-1] == FEATURES[int(best.removeprefix("f"))]
    widths = [bar.get_width() for bar in ax.patches]
    assert widths[-1] == pytest.approx(gain[best] / total)
    plt.close(ax.figure)


def test_too_many_workers_is_refused_before_any_job(spark):
    """An error when the estimator is made, not a barrier stage waiting for a free slot."""
    with jobs_submitted(spark) as probe:
        spark.range(10).count()
    assert probe  # the counter sees jobs when there are some
    with (
        jobs_submitted(spark) as jobs,
        pytest.raises(ConfigError, match=r"num_workers=3 but this Spark session can run only 2"),
    ):
        xgb_classifier(spark, num_workers=3)
    assert jobs == []
    with pytest.raises(ConfigError, match="positive whole number"):
        xgb_classifier(spark, num_workers=0)


def test_dynamic_allocation_is_refused():
    conf = SparkConf(loadDefaults=False).set("spark.dynamicAllocation.enabled", "true")
    assert "spark.dynamicAllocation.enabled=false" in barrier_problem(conf, 8, 2)
    assert barrier_problem(SparkConf(loadDefaults=False), 8, 2) is None


def test_default_workers_take_every_slot(spark):
    xgb = xgb_classifier(spark, n_estimators=5)
    assert xgb.getOrDefault("num_workers") == 2
    assert xgb.getOrDefault("featuresCol") == "features"
    assert np.isclose(xgb.getOrDefault("learning_rate") or 0.3, 0.3)


def test_events_reach_every_worker_whatever_the_partitioning(spark, sets):
    from pyspark.sql import functions as F

    train, test = sets
    # two partitions, all events in one: xgboost keeps a partitioning whose count equals
    # num_workers, so without force_repartition its second worker would train on nothing
    skewed = train.repartition(2, F.lit(0))
    sizes = skewed.rdd.glom().map(len).collect()
    assert sorted(sizes) == [0, train.count()]
    xgb = xgb_classifier(spark, num_workers=2, n_estimators=4, max_depth=3)
    assert xgb.getOrDefault("force_repartition") is True
    assert not xgb.copy({xgb.force_repartition: False})._repartition_needed(skewed)
    assert xgb._repartition_needed(skewed)
    model = xgb.fit(skewed)
    assert mlcourse.roc_curve(model.transform(test)).auc > 0.65
    # xgboost's own names pass through untouched, ours are only defaults
    mine = xgb_classifier(spark, num_workers=2, force_repartition=False, verbose=True)
    assert mine.getOrDefault("force_repartition") is False and mine.getOrDefault("verbose")


def test_loggers_are_left_alone(spark):
    import logging

    logger = logging.getLogger("XGBoost-PySpark")
    before = logger.level
    xgb_classifier(spark, num_workers=2)
    assert logger.level == before
