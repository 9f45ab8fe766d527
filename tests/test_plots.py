"""Histograms computed in Spark equal numpy's; every plot draws into the Axes it is given."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.image import AxesImage
from matplotlib.patches import StepPatch
from pyspark.ml.classification import GBTClassifier

from mlcourse import DataError
from mlcourse.features import assemble_features
from mlcourse.higgs import FEATURES, HIGH_LEVEL
from mlcourse.metrics import classification_report, roc_curve
from mlcourse.plots import (
    correlation_matrix,
    feature_histograms,
    plot_correlation,
    plot_feature_importance,
    plot_features,
    plot_history,
    plot_roc,
    plot_signal_vs_background,
    robust_ranges,
    signal_background_hist,
)

from .conftest import numpy_hist


@pytest.fixture
def ax():
    fig, axes = plt.subplots()
    yield axes
    plt.close(fig)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def stairs(ax):
    return [p for p in ax.patches if isinstance(p, StepPatch)]


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
    """numpy's rules at the boundaries: left-closed bins, last bin closed, rest dropped."""
    edges = np.linspace(0.1, 0.7, 7)  # steps of 0.1 that are not exact in binary
    values = np.concatenate([edges, edges - 1e-12, edges + 1e-12, [0.0, 0.8, 5.0]])
    labels = np.tile([0.0, 1.0], len(values))[: len(values)]
    rows = [(float(y), float(x)) for y, x in zip(labels, values, strict=True)]
    rows += [(1.0, float("nan")), (0.0, None), (1.0, float("inf")), (0.0, float("-inf"))]
    df = spark.createDataFrame(rows, "label double, x double")
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


def test_signal_vs_background_draws_into_the_given_axes(higgs, ax):
    df, frame = higgs
    before = plt.get_fignums()
    out = plot_signal_vs_background(df, "m_bb", ax=ax, bins=25, range=(0, 3))
    assert out is ax and plt.get_fignums() == before
    patches = stairs(ax)
    assert [p.get_label() for p in patches] == ["signal", "background"]
    sig, bkg = numpy_hist(frame, "m_bb", np.linspace(0, 3, 26))
    np.testing.assert_array_equal(patches[0].get_data().values, sig)
    np.testing.assert_array_equal(patches[1].get_data().values, bkg)
    assert ax.get_xlabel() == "m_bb" and ax.get_ylabel() == "events"
    assert ax.get_legend() is not None


def test_density_and_prediction_outlines(higgs, gbt, ax):
    df, _ = higgs
    _, predictions = gbt
    plot_signal_vs_background(
        df, "m_bb", ax=ax, bins=20, range=(0, 3), density=True, predictions=predictions
    )
    patches = stairs(ax)
    labels = [p.get_label() for p in patches]
    assert labels == ["signal", "background", "predicted signal", "predicted background"]
    for patch in patches:
        values, edges, _ = patch.get_data()
        assert np.sum(values * np.diff(edges)) == pytest.approx(1.0)
    rows = predictions.select("m_bb", "prediction").toPandas()
    x = rows["m_bb"].to_numpy()
    want = np.histogram(x[rows["prediction"] == 1], bins=20, range=(0, 3), density=True)[0]
    np.testing.assert_allclose(patches[2].get_data().values, want)
    assert ax.get_ylabel() == "density"


def test_save_writes_only_when_asked(higgs, ax, tmp_path, monkeypatch):
    df, _ = higgs
    monkeypatch.chdir(tmp_path)
    plot_signal_vs_background(df, "m_bb", ax=ax, range=(0, 3))
    assert list(tmp_path.iterdir()) == []
    plot_signal_vs_background(df, "m_bb", ax=ax, range=(0, 3), save="m_bb.png")
    assert (tmp_path / "m_bb.png").read_bytes()[:4] == b"\x89PNG"


def test_default_axes_is_the_current_one(higgs):
    df, _ = higgs
    fig, current = plt.subplots()
    assert plot_signal_vs_background(df, "m_bb", range=(0, 3)) is current
    plt.close(fig)


def test_feature_grid(higgs):
    df, frame = higgs
    axes = plot_features(df, bins=20)
    assert len(axes) == 28 and len({a.figure for a in axes}) == 1
    assert [a.get_xlabel() for a in axes] == list(FEATURES)
    # every panel shows the same numbers feature_histograms gives
    for name, ax in zip(FEATURES, axes, strict=True):
        values, edges, _ = stairs(ax)[0].get_data()
        np.testing.assert_array_equal(values, numpy_hist(frame, name, edges)[0])
    _, given = plt.subplots(2, 4)
    drawn = plot_features(df, "high", axes=given)
    assert list(drawn) == list(given.ravel()[:7]) and not stairs(given.ravel()[7])
    with pytest.raises(ValueError, match="need 7 Axes"):
        plot_features(df, "high", axes=given.ravel()[:3])


def test_correlation_matrix_equals_numpy(higgs, ax):
    df, frame = higgs
    names, matrix = correlation_matrix(df, "high")
    np.testing.assert_allclose(matrix, np.corrcoef(frame[list(HIGH_LEVEL)].T), atol=1e-9)
    assert names == list(HIGH_LEVEL)
    out = plot_correlation(df, "high", ax=ax)
    assert out is ax
    (image,) = [a for a in ax.get_children() if isinstance(a, AxesImage)]
    np.testing.assert_allclose(image.get_array(), matrix)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(HIGH_LEVEL)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(HIGH_LEVEL)
    assert len(ax.figure.axes) == 2  # the colour bar
    # from an assembled vector column, as the old plotCorrelation did
    vec = assemble_features(df, "high")
    np.testing.assert_allclose(
        correlation_matrix(vec, HIGH_LEVEL, vector_col="features")[1], matrix, atol=1e-12
    )


def test_roc_plot(gbt, ax):
    _, predictions = gbt
    roc = roc_curve(predictions)
    assert plot_roc(roc, ax=ax, label="GBT") is ax
    curve, guess = ax.get_lines()
    np.testing.assert_array_equal(curve.get_xdata(), roc.fpr)
    np.testing.assert_array_equal(curve.get_ydata(), roc.tpr)
    assert curve.get_label() == f"GBT, AUC = {roc.auc:.3f}"
    assert guess.get_label() == "random guess"
    # a second model on the same Axes, straight from predictions or a report
    plot_roc(predictions, ax=ax, label="again")
    plot_roc(classification_report(predictions), ax=ax)
    assert len(ax.get_lines()) == 4  # one random-guess line only


def test_feature_importance(gbt, higgs, ax):
    model, _ = gbt
    plot_feature_importance(model, FEATURES, ax=ax)
    bars = ax.patches
    assert len(bars) == 28
    widths = [b.get_width() for b in bars]
    assert widths == sorted(widths)
    order = np.argsort(model.featureImportances.toArray())
    assert [t.get_text() for t in ax.get_yticklabels()] == [FEATURES[i] for i in order]
    with pytest.raises(ValueError, match="28 feature importances but 7 names"):
        plot_feature_importance(model, HIGH_LEVEL)
    # the length comes from the names, not a fixed 28
    df, _ = higgs
    small = GBTClassifier(maxIter=2, maxDepth=2).fit(assemble_features(df.limit(2000), "high"))
    _, ax7 = plt.subplots()
    plot_feature_importance(small, HIGH_LEVEL, ax=ax7, top=3)
    assert len(ax7.patches) == 3
    with pytest.raises(TypeError, match="featureImportances"):
        plot_feature_importance(object(), HIGH_LEVEL)


def test_history(ax):
    history = {"loss": [0.7, 0.6, 0.55], "val_loss": [0.72, 0.65, 0.6], "accuracy": [0.5, 0.6, 0.7]}
    assert plot_history(history, ax=ax) is ax
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["loss (train)", "loss (validation)", "accuracy (train)"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), history["val_loss"])
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [1, 2, 3])

    class KerasLike:
        pass

    keras = KerasLike()
    keras.history = {"loss": [1.0, 0.5]}
    _, other = plt.subplots()
    plot_history(keras, ax=other)
    assert len(other.get_lines()) == 1
    with pytest.raises(KeyError, match="'acc'"):
        plot_history(history, ax=other, metrics=["acc"])


def test_plots_take_matplotlib_keywords(higgs, ax):
    df, _ = higgs
    plot_signal_vs_background(df, "m_bb", ax=ax, range=(0, 3), alpha=0.2)
    assert all(p.get_alpha() == 0.2 for p in stairs(ax))


def test_engines_agree_with_labels_beyond_zero_and_one(spark):
    """Rows whose label is neither 0 nor 1 (after a cast to int) count for neither class."""
    rows = [(float(y), x / 10) for y in (0, 1, 2, -1) for x in range(30)]
    df = spark.createDataFrame(rows, "label double, x double")
    jvm = feature_histograms(df, ["x"], bins=5, ranges=(0, 3), engine="jvm")["x"]
    arrow = feature_histograms(df, ["x"], bins=5, ranges=(0, 3), engine="arrow")["x"]
    for hist in (jvm, arrow):
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


def spark_jobs(spark, action) -> int:
    """How many Spark jobs ``action()`` starts (counted in a job group of its own)."""
    sc = spark.sparkContext
    group = f"count-{id(action)}"
    sc.setJobGroup(group, "counting the jobs of one call")
    try:
        action()
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
    return len(sc.statusTracker().getJobIdsForGroup(group))


def test_drawing_a_histogram_built_by_hand_starts_no_job(spark, ax):
    from mlcourse.plots import Histogram, draw_histogram

    hist = Histogram(np.array([0.0, 1.0, 2.0]), np.array([3, 5]), np.array([4, 1]))
    assert spark_jobs(spark, lambda: draw_histogram(hist, ax=ax, xlabel="m_bb")) == 0
    drawn = {p.get_label(): p.get_data() for p in stairs(ax)}
    np.testing.assert_array_equal(drawn["signal"].values, [3, 5])
    np.testing.assert_array_equal(drawn["background"].values, [4, 1])
    np.testing.assert_array_equal(drawn["signal"].edges, [0.0, 1.0, 2.0])
    assert ax.get_xlabel() == "m_bb"
