"""Spark aggregations equal numpy: histograms (both engines), ranges, correlations."""

from __future__ import annotations

import numpy as np
import pytest

from mlcourse import DataError
from mlcourse.analysis.aggregate import (
    correlation_matrix,
    feature_histograms,
    robust_ranges,
    signal_background_hist,
)
from mlcourse.analysis.features import assemble_features
from mlcourse.higgs import FEATURES, HIGH_LEVEL

from .conftest import numpy_hist


@pytest.mark.parametrize(
    ("bins", "rng"),
    [(50, (0.0, 3.0)), (7, (0.31, 1.77)), (1, (0.5, 1.5)), (200, (-1.0, 10.0))],
)
def test_counts_equal_numpy_on_equal_bins(higgs, bins, rng):
    df, frame = higgs
    hist = signal_background_hist(df, "m_bb", bins=bins, range=rng)
    np.testing.assert_array_equal(hist.edges, np.histogram_bin_edges([], bins=bins, range=rng))
    sig, bkg = numpy_hist(frame, "m_bb", hist.edges)
    np.testing.assert_array_equal(hist.signal, sig)
    np.testing.assert_array_equal(hist.background, bkg)
    assert hist.signal.dtype == np.int64


def test_counts_equal_numpy_on_explicit_edges(higgs):
    df, frame = higgs
    edges = [0.0, 0.2, 0.5, 0.55, 1.0, 2.5, 4.0]
    hist = signal_background_hist(df, "m_jjj", bins=edges)
    sig, bkg = numpy_hist(frame, "m_jjj", np.array(edges))
    np.testing.assert_array_equal(hist.signal, sig)
    np.testing.assert_array_equal(hist.background, bkg)


ENGINES = pytest.mark.parametrize("engine", ["jvm", "arrow"])


@ENGINES
def test_values_on_edges_nan_null_and_outside(spark, engine):
    """numpy's rules at the boundaries: left-closed bins, last bin closed, values outside
    (infinities too) dropped; a NaN or null is refused with its count (not dropped without
    a word, as numpy would)."""
    edges = np.linspace(0.1, 0.7, 7)  # steps of 0.1 that are not exact in binary
    values = np.concatenate([edges, edges - 1e-12, edges + 1e-12, [0.0, 0.8, 5.0]])
    labels = np.tile([0.0, 1.0], len(values))[: len(values)]
    rows = [(float(y), float(x)) for y, x in zip(labels, values, strict=True)]
    rows += [(1.0, float("inf")), (0.0, float("-inf"))]
    df = spark.createDataFrame(rows, "label double, x double")
    missing = spark.createDataFrame([*rows, (1.0, float("nan")), (0.0, None)], df.schema)
    with pytest.raises(DataError, match=r"^x is NaN or null in 2 events: drop the events"):
        feature_histograms(missing, ["x"], bins=6, ranges=(0.1, 0.7), engine=engine)
    for bins in (6, list(edges)):
        hist = feature_histograms(df, ["x"], bins=bins, ranges=(0.1, 0.7), engine=engine)["x"]
        np.testing.assert_array_equal(
            hist.signal, np.histogram(values[labels == 1], bins=6, range=(0.1, 0.7))[0]
        )
        np.testing.assert_array_equal(
            hist.background, np.histogram(values[labels == 0], bins=6, range=(0.1, 0.7))[0]
        )


@ENGINES
def test_all_features_from_one_job_equal_numpy(higgs, engine):
    df, frame = higgs
    hists = feature_histograms(df, bins=30, engine=engine)
    assert list(hists) == list(FEATURES)
    for name, hist in hists.items():
        sig, bkg = numpy_hist(frame, name, hist.edges)
        np.testing.assert_array_equal(hist.signal, sig, err_msg=name)
        np.testing.assert_array_equal(hist.background, bkg, err_msg=name)


def test_real_sample_counts_equal_numpy(spark, real_files, tmp_path):
    from mlcourse import csv_to_parquet

    csv_to_parquet(spark, str(real_files.uci), str(tmp_path / "r"))
    df = spark.read.parquet(str(tmp_path / "r"))
    frame = df.toPandas()
    for name, hist in feature_histograms(df, "high", bins=[0.0, 0.5, 0.9, 1.0, 1.7, 3]).items():
        sig, bkg = numpy_hist(frame, name, hist.edges)
        np.testing.assert_array_equal(hist.signal, sig, err_msg=name)
        np.testing.assert_array_equal(hist.background, bkg, err_msg=name)


def test_robust_range_comes_from_quantiles(higgs):
    df, frame = higgs
    lo, hi = robust_ranges(df, ["m_bb"])["m_bb"]
    # approximate quantiles: right to within a few events' rank (accuracy 10,000)
    x = frame["m_bb"].to_numpy()
    assert abs((x < lo).mean() - 0.001) <= 3e-4
    assert abs((x > hi).mean() - 0.001) <= 3e-4
    hist = signal_background_hist(df, "m_bb")
    assert (hist.edges[0], hist.edges[-1]) == (lo, hi)
    # the tails are cut: about 0.2 % of the events fall outside
    assert 0.0 < 1 - (hist.signal.sum() + hist.background.sum()) / len(frame) < 0.01


def test_constant_column_gets_numpys_unit_range(spark):
    df = spark.createDataFrame([(1.0, 2.0), (0.0, 2.0)], "label double, x double")
    hist = signal_background_hist(df, "x", bins=4)
    np.testing.assert_array_equal(hist.edges, np.histogram_bin_edges([2.0], bins=4))
    assert hist.signal.sum() == 1 and hist.background.sum() == 1


def test_bad_arguments(higgs):
    df, _ = higgs
    with pytest.raises(DataError, match="closest: m_bb"):
        signal_background_hist(df, "m_bbb")
    with pytest.raises(DataError, match="'lable'"):
        signal_background_hist(df, "m_bb", label_col="lable")
    with pytest.raises(ValueError, match="positive"):
        signal_background_hist(df, "m_bb", bins=0)
    with pytest.raises(ValueError, match="lo <= hi"):
        signal_background_hist(df, "m_bb", range=(3.0, 1.0))
    with pytest.raises(ValueError, match="increasing"):
        signal_background_hist(df, "m_bb", bins=[0.0, 2.0, 1.0])


def test_correlation_matrix_equals_numpy(higgs):
    df, frame = higgs
    names, matrix = correlation_matrix(df, "high")
    np.testing.assert_allclose(matrix, np.corrcoef(frame[list(HIGH_LEVEL)].T), atol=1e-9)
    assert names == list(HIGH_LEVEL)
    # from an assembled vector column, as the old plotCorrelation did
    vec = assemble_features(df, "high")
    np.testing.assert_allclose(
        correlation_matrix(vec, HIGH_LEVEL, vector_col="features")[1], matrix, atol=1e-12
    )


def test_engines_agree_in_refusing_labels_beyond_zero_and_one(spark):
    """Rows whose label is neither 0 nor 1 are counted, by either engine, and refused:
    before, they counted for neither class without a word (0.5 for class 0)."""
    rows = [(float(y), x / 10) for y in (0, 1, 2, -1, 0.5) for x in range(30)]
    df = spark.createDataFrame(rows, "label double, x double")
    for engine in ("jvm", "arrow"):
        with pytest.raises(DataError) as caught:
            feature_histograms(df, ["x"], bins=5, ranges=(0, 3), engine=engine)
        message = str(caught.value)
        assert message.startswith("label is not 0 or 1 in 90 events (values: "), message
        values = message.split("(values: ")[1].split(")")[0].split(", ")
        assert sorted(values) == ["-1", "0.5", "2"]
    good = df.where("label in (0, 1)")
    for engine in ("jvm", "arrow"):
        hist = feature_histograms(good, ["x"], bins=5, ranges=(0, 3), engine=engine)["x"]
        np.testing.assert_array_equal(hist.signal, np.histogram(np.arange(30) / 10, 5, (0, 3))[0])
        np.testing.assert_array_equal(hist.background, hist.signal)
    with pytest.raises(ValueError, match="engine"):
        feature_histograms(df, ["x"], engine="gpu")


def test_large_data_ranges_come_from_a_bounded_sample(higgs):
    df, frame = higgs
    x = frame["m_bb"].to_numpy()
    lo, hi = robust_ranges(df, ["m_bb"], max_rows=5_000)["m_bb"]
    assert lo == robust_ranges(df, ["m_bb"], max_rows=5_000)["m_bb"][0]  # reproducible
    # from 5,000 sampled events the 0.1 % tails are a few events: the range still frames
    # all but a small fraction of the 20,000, and cuts the extreme tails
    assert 0 < (x < lo).mean() < 0.005 and 0 < (x > hi).mean() < 0.005


def test_jobs_are_described_for_the_spark_ui_and_the_monitor(spark):
    """Each aggregation names its jobs ("mlcourse: histogram of x by label"), which the
    Spark UI and the sparkmonitor panel show instead of a call site; the description is
    read inside the very tasks, then the caller's is back."""
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("double")
    def checked(x):
        from pyspark import TaskContext

        seen = TaskContext.get().getLocalProperty("spark.job.description")
        if seen != "mlcourse: histogram of x by label":
            raise AssertionError(f"job description {seen!r}")
        return x

    df = spark.createDataFrame([(0.0, 0.1), (1.0, 0.7)], "label double, x double")
    sc = spark.sparkContext
    sc.setJobDescription("the caller's own")
    try:
        hist = signal_background_hist(df.withColumn("x", checked("x")), "x", bins=2, range=(0, 1))
        assert sc.getLocalProperty("spark.job.description") == "the caller's own"
    finally:
        sc.setLocalProperty("spark.job.description", None)
    assert hist.signal.tolist() == [0, 1] and hist.background.tolist() == [1, 0]
