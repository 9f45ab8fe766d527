"""Data contracts at the API's edges (issue 38, item 1): every function that takes events
refuses a label other than 0 and 1, a NaN or null feature, a non-numeric column, an empty
training set and a missing feature vector with one DataError that names the column, the
value or count, and the fix; each count is numpy's on the same events.
"""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.sql import functions as F

import mlcourse
from mlcourse import DataError
from mlcourse.cli import main
from mlcourse.data.sizes import parquet_name
from mlcourse.higgs import FEATURES

from .sparkjobs import jobs_submitted

#: A cut on m_jj that picks a few percent of the events, the same in Spark and numpy.
CUT = 2.2


@pytest.fixture(scope="module")
def bad(higgs):
    """The events with a label of 2 and a NaN m_bb where m_jj > CUT, a null m_wbb where
    m_jj < 0.4; the numpy counts of each."""
    df, frame = higgs
    high, low = F.col("m_jj") > CUT, F.col("m_jj") < 0.4
    counts = {
        "high": int((frame["m_jj"] > CUT).sum()),
        "low": int((frame["m_jj"] < 0.4).sum()),
    }
    assert 0 < counts["high"] < len(frame) // 10 and 0 < counts["low"] < len(frame) // 10
    frames = {
        "label": df.withColumn("label", F.when(high, F.lit(2.0)).otherwise(F.col("label"))),
        "nan": df.withColumn("m_bb", F.when(high, F.lit(float("nan"))).otherwise(F.col("m_bb"))),
        "null": df.withColumn("m_wbb", F.when(low, F.lit(None)).otherwise(F.col("m_wbb"))),
        "string": df.withColumn("m_bb", F.col("m_bb").cast("string")),
    }
    return frames, counts


@pytest.mark.parametrize("engine", ["jvm", "arrow"])
def test_a_histogram_counts_bad_labels_and_nan_in_its_own_pass(spark, bad, engine):
    frames, counts = bad
    columns = ["m_bb", "m_wbb"]
    with pytest.raises(DataError) as label:
        mlcourse.feature_histograms(frames["label"], columns, ranges=(0, 3), engine=engine)
    assert str(label.value).startswith(
        f"label is not 0 or 1 in {counts['high']:,} events (values: 2): keep the two classes"
    )
    assert label.value.column == "label"
    with jobs_submitted(spark) as jobs, pytest.raises(DataError) as nan:
        mlcourse.feature_histograms(frames["nan"], columns, ranges=(0, 3), engine=engine)
    assert str(nan.value) == (
        f"m_bb is NaN or null in {counts['high']:,} events: drop the events without a value "
        "(df.dropna(subset=['m_bb']))."
    )
    assert len(jobs) == 1  # the count itself: the check rode on it
    with pytest.raises(DataError, match=f"m_wbb is NaN or null in {counts['low']:,} events"):
        mlcourse.feature_histograms(frames["null"], columns, ranges=(0, 3), engine=engine)


def test_signal_background_hist_refuses_a_doubled_label_it_used_to_count_as_nothing(bad):
    frames, _counts = bad
    doubled = frames["label"].withColumn("label", F.col("label") * 2)  # 0, 2 and 4
    with pytest.raises(DataError) as caught:
        mlcourse.signal_background_hist(doubled, "m_bb")
    n = doubled.where("label != 0").count()
    assert str(caught.value).startswith(f"label is not 0 or 1 in {n:,} events (values: ")
    assert {"2", "4"} <= set(str(caught.value).split("(values: ")[1].split(")")[0].split(", "))


def test_a_string_column_is_refused_from_the_schema_before_any_job(spark, bad):
    frames, _ = bad
    with jobs_submitted(spark) as jobs, pytest.raises(DataError) as caught:
        mlcourse.signal_background_hist(frames["string"], "m_bb", range=(0, 3))
    assert jobs == []
    message = str(caught.value)
    assert message.startswith("the DataFrame: m_bb is string, where a number is needed.")
    assert "explicit schema" in message and "df.withColumn('m_bb'" in message


def test_a_headered_csv_read_without_a_schema_is_named(spark, higgs, tmp_path):
    _, frame = higgs
    path = tmp_path / "events.csv"
    frame.head(50).to_csv(path, index=False)
    strings = spark.read.csv(str(path), header=True)  # every column a string
    with pytest.raises(DataError, match="label is string, m_bb is string, where a number"):
        mlcourse.signal_background_hist(strings, "m_bb")


def test_a_good_histogram_is_unchanged_and_takes_one_job(spark, higgs):
    df, frame = higgs
    edges = np.linspace(0, 3, 31)
    with jobs_submitted(spark) as jobs:
        hist = mlcourse.signal_background_hist(df, "m_bb", bins=30, range=(0, 3))
    assert len(jobs) == 1
    for cls, counts in ((1, hist.signal), (0, hist.background)):
        expected, _ = np.histogram(frame.loc[frame["label"] == cls, "m_bb"], edges)
        np.testing.assert_array_equal(counts, expected)


def test_ranges_leave_nan_out_so_the_count_can_name_it(bad):
    frames, counts = bad
    with pytest.raises(DataError, match=f"m_bb is NaN or null in {counts['high']:,} events"):
        mlcourse.signal_background_hist(frames["nan"], "m_bb")  # the range job first


def test_to_arrays_refuses_what_keras_would_train_on_with_a_loss_of_nan(bad, higgs):
    frames, counts = bad
    df, _frame = higgs
    # events=None: every training event comes, so numpy's count is the message's
    with pytest.raises(DataError) as label:
        mlcourse.to_arrays(frames["label"], events=None)
    assert str(label.value).startswith(
        f"label is not 0 or 1 in {counts['high']:,} training events (values: 2)"
    )
    with pytest.raises(DataError, match=f"m_bb is NaN or null in {counts['high']:,} training"):
        mlcourse.to_arrays(frames["nan"], events=None)
    with pytest.raises(DataError, match=f"m_wbb is NaN or null in {counts['low']:,} training"):
        mlcourse.to_arrays(frames["null"], events=None)
    with pytest.raises(DataError, match="m_bb is NaN or null in .* test events"):
        mlcourse.to_arrays(df, events=100, test=frames["nan"])
    with pytest.raises(DataError, match="the training set holds no events: check the filter"):
        mlcourse.to_arrays(df.where("label > 1"))
    with pytest.raises(DataError, match="training set: m_bb is string"):
        mlcourse.to_arrays(frames["string"])


def test_a_fit_on_assembled_features_stops_at_a_bad_value_with_its_name(spark, bad, capfd):
    from pyspark.ml.classification import LogisticRegression

    frames, _ = bad
    capfd.readouterr()
    for kind, expected in (
        ("label", "mlcourse data check: label is 2.0 in an event, but a label is 0"),
        ("nan", "mlcourse data check: m_bb is NaN in an event"),
        ("null", "mlcourse data check: m_wbb is null in an event"),
    ):
        assembled = mlcourse.assemble_features(frames[kind])
        with pytest.raises(Exception, match=expected):  # MLlib's own fit: Spark's error
            LogisticRegression(maxIter=2).fit(assembled)
    # the local executor's page of Java stack is not repeated on stderr
    err = capfd.readouterr().err
    assert "Exception in task" not in err and "\tat org.apache" not in err, err[-2000:]
    with pytest.raises(DataError, match="m_bb is NaN in an event"):  # mlcourse's: a DataError
        mlcourse.correlation_matrix(frames["nan"])
    with pytest.raises(DataError, match="the DataFrame has no 'features' column"):
        mlcourse.correlation_matrix(frames["nan"], vector_col="features")


def test_score_with_keras_names_a_nan_feature_where_spark_named_none(bad):
    frames, _ = bad
    model = mlcourse.build_network(7, units=4, seed=0)
    scored = mlcourse.score_with_keras(model, frames["null"], "high")
    with pytest.raises(DataError, match="m_wbb is null in an event"):
        mlcourse.roc_curve(scored)


def test_xgboost_fit_refuses_bad_events_with_one_line(spark, bad, higgs):
    frames, _ = bad
    df, _ = higgs
    xgb = mlcourse.xgb_classifier(spark, num_workers=1, n_estimators=2)
    with pytest.raises(DataError, match="^label is 2.0 in an event, but a label is 0"):
        xgb.fit(mlcourse.assemble_features(frames["label"], label_col=None))
    with pytest.raises(DataError, match="has no 'features' column.*assemble_features"):
        xgb.fit(df)
    empty = mlcourse.assemble_features(df.where("label > 1"))
    with jobs_submitted(spark) as jobs, pytest.raises(DataError, match="the training set holds"):
        xgb.fit(empty)
    assert len(jobs) == 1  # the look for a first event
    with pytest.raises(DataError, match="label is string"):
        xgb.fit(mlcourse.assemble_features(df).withColumn("label", F.col("label").cast("string")))


def test_data_info_checks_types_and_values_in_its_one_job(spark, bad, tmp_path, capsys):
    frames, counts = bad
    path = tmp_path / "bad.parquet"
    frames["label"].withColumn(
        "m_bb", F.when(F.col("m_jj") < 0.4, F.lit(float("nan"))).otherwise(F.col("m_bb"))
    ).withColumn("m_jjj", F.col("m_jjj").cast("string")).write.parquet(str(path))
    with jobs_submitted(spark) as jobs:
        info = mlcourse.data_info(spark, str(path))
    # Parquet's schema, then one aggregation (two jobs under adaptive execution) named so
    tracker = spark.sparkContext.statusTracker()
    stages = {tracker.getStageInfo(s).name for j in jobs for s in tracker.getJobInfo(j).stageIds}
    assert {name.split("_", 1)[0] for name in stages} == {
        "parquet at NativeMethodAccessorImpl.java:0",
        "mlcourse:checks",
    }
    assert (info.bad_labels, info.empty_values) == (counts["high"], {"m_bb": counts["low"]})
    assert info.not_numeric == ("m_jjj (string)",) and not info.schema_ok
    assert main(["data", "info", str(path)]) == 1
    out = capsys.readouterr().out
    assert "schema           NOT NUMERIC m_jjj (string)" in out
    assert f"values           {counts['high']:,} labels not 0 or 1; m_bb null or NaN in" in out


def test_load_higgs_refuses_a_data_set_without_a_feature(spark, higgs, tmp_path):
    df, _ = higgs
    target = tmp_path / parquet_name(1000, "synthetic", 0)
    df.limit(1000).drop("m_bb").write.parquet(str(target))
    with pytest.raises(DataError) as caught:
        mlcourse.load_higgs(spark, 1000, source="synthetic", data_dir=str(tmp_path))
    assert str(caught.value) == (
        f"{target} is not a HIGGS data set: no column m_bb. Remove it (rm -r, or a new "
        "data_dir=) and call load_higgs again: it is made anew."
    )
    assert all(c in df.columns for c in FEATURES)
