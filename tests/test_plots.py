"""Every plot draws into the Axes it is given; drawing computed results starts no Spark job."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.image import AxesImage
from matplotlib.patches import StepPatch
from pyspark.ml.classification import GBTClassifier

from mlcourse.analysis.aggregate import Histogram, correlation_matrix
from mlcourse.analysis.features import assemble_features
from mlcourse.analysis.metrics import classification_report, roc_curve
from mlcourse.analysis.plots import (
    draw_correlation,
    draw_histogram,
    plot_correlation,
    plot_feature_importance,
    plot_features,
    plot_history,
    plot_roc,
    plot_signal_vs_background,
)
from mlcourse.higgs import FEATURES, HIGH_LEVEL

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


def test_correlation_plot_draws_the_matrix(higgs, ax):
    df, _frame = higgs
    _names, matrix = correlation_matrix(df, "high")
    out = plot_correlation(df, "high", ax=ax)
    assert out is ax
    (image,) = [a for a in ax.get_children() if isinstance(a, AxesImage)]
    np.testing.assert_allclose(image.get_array(), matrix)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(HIGH_LEVEL)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(HIGH_LEVEL)
    assert len(ax.figure.axes) == 2  # the colour bar


def test_roc_plot(gbt, ax):
    _, predictions = gbt
    roc = roc_curve(predictions)
    assert plot_roc(roc, ax=ax, label="GBT") is ax
    curve, guess = ax.get_lines()
    np.testing.assert_array_equal(curve.get_xdata(), roc.fpr)
    np.testing.assert_array_equal(curve.get_ydata(), roc.tpr)
    assert curve.get_label() == f"GBT, AUC = {roc.auc:.3f} ± {roc.auc_error:.3f}"
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


_GROUPS = itertools.count()


def spark_jobs(spark, action) -> int:
    """How many Spark jobs ``action()`` starts (counted in a job group of its own)."""
    sc = spark.sparkContext
    group = f"count-{next(_GROUPS)}"  # never reused (an id() can be, once freed)
    sc.setJobGroup(group, "counting the jobs of one call")
    try:
        action()
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
    return len(sc.statusTracker().getJobIdsForGroup(group))


def test_drawing_a_histogram_built_by_hand_starts_no_job(spark, ax):
    hist = Histogram(np.array([0.0, 1.0, 2.0]), np.array([3, 5]), np.array([4, 1]))
    assert spark_jobs(spark, lambda: draw_histogram(hist, ax=ax, xlabel="m_bb")) == 0
    drawn = {p.get_label(): p.get_data() for p in stairs(ax)}
    np.testing.assert_array_equal(drawn["signal"].values, [3, 5])
    np.testing.assert_array_equal(drawn["background"].values, [4, 1])
    np.testing.assert_array_equal(drawn["signal"].edges, [0.0, 1.0, 2.0])
    assert ax.get_xlabel() == "m_bb"


def test_drawing_a_correlation_matrix_starts_no_job(spark, ax):
    matrix = np.array([[1.0, -0.5], [-0.5, 1.0]])
    assert spark_jobs(spark, lambda: draw_correlation(["a", "b"], matrix, ax=ax)) == 0
    (image,) = [a for a in ax.get_children() if isinstance(a, AxesImage)]
    np.testing.assert_array_equal(image.get_array(), matrix)
    with pytest.raises(ValueError, match="for 3 names"):
        draw_correlation(["a", "b", "c"], matrix, ax=ax)


@pytest.fixture
def no_adaptive_execution(spark):
    """Adaptive execution off: one Spark job per action, whatever the plan's shuffles."""
    before = spark.conf.get("spark.sql.adaptive.enabled")
    spark.conf.set("spark.sql.adaptive.enabled", "false")
    yield
    spark.conf.set("spark.sql.adaptive.enabled", before)


def test_signal_vs_background_runs_only_the_jobs_it_needs(
    spark, higgs, gbt, ax, no_adaptive_execution
):
    """One counting job per DataFrame (both cached by their fixtures); the range (a count
    and a quantile job) only when not given; the predicted classes reuse the true classes'
    bins. These are the ``%plotSignalvsBg`` and ``%plotSignalvsBgWithPrediction`` calls."""
    df, _frame = higgs
    _model, predictions = gbt
    df.count(), predictions.count()  # materialise the caches: their first fill is a job too

    def jobs(**kw):
        return spark_jobs(spark, lambda: plot_signal_vs_background(df, "m_bb", ax=ax, **kw))

    assert jobs(range=(0, 3)) == 1
    assert jobs(range=(0, 3), predictions=predictions) == 2
    assert jobs() == 3
    assert jobs(predictions=predictions) == 4


def test_a_histogram_is_plottable_by_the_fields_tools(higgs, ax):
    """One class of a Histogram is a UHI PlottableHistogram: mplhep draws it directly, its
    bars the counts numpy gives; signal and background in the accessible petroff10 red
    and blue."""
    mplhep = pytest.importorskip("mplhep")
    from uhi.typing.plottable import PlottableHistogram

    from mlcourse.analysis.aggregate import signal_background_hist
    from mlcourse.analysis.plots import BACKGROUND_COLOR, PETROFF10, SIGNAL_COLOR

    df, frame = higgs
    hist = signal_background_hist(df, "m_bb", bins=20, range=(0.0, 3.0))
    signal = hist.plottable("signal", label="m_bb")
    assert isinstance(signal, PlottableHistogram)
    assert len(signal.axes[0]) == 20 and signal.axes[0][0] == (0.0, 0.15)
    mplhep.histplot(signal, ax=ax, label="signal")
    drawn = ax.get_children()
    want, _ = numpy_hist(frame, "m_bb", np.linspace(0.0, 3.0, 21))
    steps = [a for a in drawn if isinstance(a, StepPatch)]
    assert steps, "mplhep drew no steps"
    np.testing.assert_array_equal(steps[0].get_data().values, want)
    np.testing.assert_array_equal(signal.variances(), want)
    with pytest.raises(ValueError, match="'signal' or 'background'"):
        hist.plottable("both")
    assert (PETROFF10[2], PETROFF10[0]) == (SIGNAL_COLOR, BACKGROUND_COLOR)
