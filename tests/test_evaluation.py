"""The AUC's uncertainty and the physicists' evaluation, checked against numpy, scipy and hand
computations on the same events."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pyspark.ml.functions import vector_to_array
from pyspark.sql import functions as F
from scipy.stats import ks_2samp
from sklearn.metrics import roc_auc_score

import mlcourse
from mlcourse.analysis.evaluation import (
    asimov_significance,
    efficiency_curve,
    overtraining_check,
    significance_scan,
)
from mlcourse.analysis.features import assemble_features, train_test_split
from mlcourse.analysis.metrics import classification_report, roc_curve, roc_curve_arrays
from mlcourse.analysis.plots import plot_efficiency, plot_overtraining, plot_roc, plot_significance


def _labels_scores(predictions) -> tuple[np.ndarray, np.ndarray]:
    rows = predictions.select("label", vector_to_array("probability")[1].alias("s")).toPandas()
    return rows["label"].to_numpy().astype(int), rows["s"].to_numpy()


@pytest.fixture(scope="module")
def train_predictions(gbt, higgs):
    model, _ = gbt
    train, _ = train_test_split(higgs[0], 0.3, seed=1)  # the fixture's own training events
    return model.transform(assemble_features(train))


@pytest.fixture
def ax():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    yield axes
    plt.close(figure)


# --------------------------------------------------------------------------- AUC uncertainty


def test_auc_error_agrees_with_a_bootstrap_on_the_driver(gbt):
    _, predictions = gbt
    y, s = _labels_scores(predictions)
    rng = np.random.default_rng(0)
    boot = [
        roc_auc_score(y[i], s[i]) for i in (rng.integers(0, len(y), len(y)) for _ in range(300))
    ]
    roc = roc_curve(predictions)
    assert roc.auc_error == pytest.approx(np.std(boot), rel=0.2)
    assert classification_report(predictions).auc_error == roc.auc_error
    assert (roc.signal_events, roc.background_events) == (int(y.sum()), int((1 - y).sum()))


def test_auc_error_shrinks_as_one_over_root_n():
    rng = np.random.default_rng(1)
    errors = []
    for n in (4_000, 16_000):
        y = rng.integers(0, 2, n)
        errors.append(roc_curve_arrays(y, 1 / (1 + np.exp(-(rng.normal(size=n) + y)))).auc_error)
    assert errors[0] / errors[1] == pytest.approx(2.0, rel=0.1)


def test_auc_error_needs_two_events_per_class():
    assert math.isnan(roc_curve_arrays([0, 1], [0.2, 0.7]).auc_error)
    assert math.isnan(roc_curve_arrays([1, 1, 1], [0.2, 0.7, 0.9]).auc_error)


def test_comparing_two_aucs():
    a = roc_curve_arrays([0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.6, 0.5, 0.8, 0.9])
    b = roc_curve_arrays([0, 0, 0, 1, 1, 1], [0.1, 0.7, 0.6, 0.5, 0.8, 0.2])
    diff = a.compare(b)
    assert diff.difference == pytest.approx(a.auc - b.auc)
    assert diff.error == pytest.approx(math.hypot(a.auc_error, b.auc_error))
    assert diff.significance == pytest.approx(diff.difference / diff.error)
    assert diff.significant == (abs(diff.significance) >= 3)
    assert "standard deviations" in str(diff)


def test_reports_and_plots_show_the_error(gbt, ax):
    _, predictions = gbt
    report = classification_report(predictions)
    assert f"{report.auc:.4f} ± {report.auc_error:.4f}" in str(report)
    assert report.to_dict()["auc_error"] == pytest.approx(report.auc_error, abs=1e-6)
    plot_roc(report, ax=ax, label="GBT")
    assert f"± {report.auc_error:.3f}" in ax.get_legend().get_texts()[0].get_text()


# --------------------------------------------------------------------------- efficiency


def test_efficiency_curve_is_the_roc_curve_counted_cut_by_cut(spark):
    labels = np.array([0, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 0])
    scores = np.array([0.05, 0.15, 0.15, 0.35, 0.45, 0.55, 0.75, 0.85, 0.95, 0.95, 0.2, 0.3])
    df = spark.createDataFrame(
        list(zip(labels.tolist(), scores.tolist(), strict=True)), ["label", "score"]
    )
    curve = efficiency_curve(df, score_col="score", bins=10)
    roc = roc_curve(df, score_col="score", bins=10)
    np.testing.assert_array_equal(curve.signal_efficiency, roc.tpr)
    np.testing.assert_array_equal(curve.background_efficiency, roc.fpr)
    for cut, eff_s, eff_b in zip(
        curve.thresholds, curve.signal_efficiency, curve.background_efficiency, strict=True
    ):
        kept = scores >= cut
        assert eff_s == kept[labels == 1].mean() and eff_b == kept[labels == 0].mean()
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(curve.background_rejection, 1 / curve.background_efficiency)
    eps = curve.background_efficiency
    np.testing.assert_allclose(curve.background_efficiency_error, np.sqrt(eps * (1 - eps) / 6))


def test_rejection_at_a_working_point(gbt):
    _, predictions = gbt
    report = classification_report(predictions)
    curve = efficiency_curve(report)  # from the report: no Spark job
    y, s = _labels_scores(predictions)
    rejection, error = curve.rejection_at(0.5)
    cut = np.quantile(s[y == 1], 0.5)  # half the signal above it
    eps_b = (s[y == 0] >= cut).mean()
    assert rejection == pytest.approx(1 / eps_b, rel=0.02)
    n_b = int((y == 0).sum())
    assert error == pytest.approx(math.sqrt(eps_b * (1 - eps_b) / n_b) / eps_b**2, rel=0.05)
    with pytest.raises(ValueError, match=r"in \(0, 1\]"):
        curve.rejection_at(1.5)
    assert "at 50%" in repr(curve)


def test_efficiency_plot_draws_rejection_on_a_log_axis(gbt, ax):
    _, predictions = gbt
    curve = efficiency_curve(predictions)
    plot_efficiency(curve, ax=ax, label="GBT")
    line = ax.get_lines()[0]
    keep = (curve.background_efficiency > 0) & (curve.signal_efficiency > 0)
    np.testing.assert_allclose(line.get_xdata(), curve.signal_efficiency[keep])
    np.testing.assert_allclose(line.get_ydata(), 1 / curve.background_efficiency[keep])
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["GBT", "random guess"]


# --------------------------------------------------------------------------- significance


def test_asimov_formula_by_hand():
    s, b = 5.0, 20.0
    want = math.sqrt(2 * ((s + b) * math.log(1 + s / b) - s))
    assert float(asimov_significance(s, b)) == pytest.approx(want)
    assert float(asimov_significance(1.0, 1e6)) == pytest.approx(1.0 / math.sqrt(1e6), rel=1e-3)
    assert math.isnan(float(asimov_significance(1.0, 0.0)))


@pytest.mark.parametrize(
    ("s", "b", "relative"),
    [(10, 100, 0.0001), (10, 100, 0.05), (10, 100, 0.10), (50, 1000, 0.05), (5, 10, 0.3),
     (100, 10_000, 0.05), (100, 10_000, 0.10), (3, 1, 0.5)],
)  # fmt: skip
def test_significance_with_a_background_uncertainty_is_pyhfs(s, b, relative):
    """Cowan's formula against an independent implementation: pyhf's discovery test (q0,
    asymptotics) of a one-bin model whose background carries that uncertainty, on the
    Asimov data (s + b observed, the auxiliary measurement at its nominal value)."""
    pyhf = pytest.importorskip("pyhf")
    from scipy.stats import norm

    sigma_b = relative * b
    model = pyhf.simplemodels.uncorrelated_background(
        signal=[float(s)], bkg=[float(b)], bkg_uncertainty=[sigma_b]
    )
    p0 = pyhf.infer.hypotest(0.0, [s + b, *model.config.auxdata], model, test_stat="q0")
    want = float(norm.isf(float(p0)))
    assert float(asimov_significance(s, b, sigma_b)) == pytest.approx(want, rel=1e-4)  # fit
    # more uncertainty, less significance; none at all, the exact-background formula
    assert float(asimov_significance(s, b, 2 * sigma_b)) < want
    assert float(asimov_significance(s, b, 0.0)) == pytest.approx(
        math.sqrt(2 * ((s + b) * math.log(1 + s / b) - s))
    )


def test_significance_scan_against_a_hand_computation(spark):
    # 4 signal and 8 background test events scored inside bins of width 0.05; 40 signal
    # and 400 background events expected before any cut
    rows = [(1, 0.92), (1, 0.82), (1, 0.62), (1, 0.22)] + [
        (0, x) for x in (0.87, 0.52, 0.42, 0.32, 0.27, 0.17, 0.12, 0.07)
    ]
    df = spark.createDataFrame(rows, ["label", "probability"]).withColumn(
        "probability", F.col("probability").cast("double")
    )
    scan = significance_scan(df, signal=40, background=400, min_background_events=1, bins=20)
    by_hand = {}
    for cut in scan.thresholds[1:]:  # each bin's lower edge, where events lie above
        assert cut * 20 == pytest.approx(round(cut * 20))
        s = 40 * sum(1 for y, x in rows if y == 1 and x >= cut) / 4
        n_b = sum(1 for y, x in rows if y == 0 and x >= cut)
        if n_b:
            b = 400 * n_b / 8
            by_hand[cut] = math.sqrt(2 * ((s + b) * math.log(1 + s / b) - s))
    assert len(by_hand) == 11  # the cuts below the highest background event
    for cut, z in by_hand.items():
        assert scan.significance[list(scan.thresholds).index(cut)] == pytest.approx(z)
    best = max(by_hand, key=by_hand.__getitem__)
    assert best == pytest.approx(0.6)  # s = 30, b = 50
    assert scan.best_threshold == pytest.approx(best)
    assert scan.best_significance == pytest.approx(by_hand[best])
    assert (scan.signal[scan.best], scan.background[scan.best]) == pytest.approx((30, 50))
    assert scan.background_test_events[scan.best] == 1
    assert f"Z = {by_hand[best]:.2f}" in str(scan)


def test_significance_ignores_cuts_with_too_little_background(spark):
    rows = [(1, 0.95), (1, 0.9), (1, 0.6), (1, 0.2)] + [(0, x / 20) for x in range(16)]
    df = spark.createDataFrame(rows, ["label", "score"])
    loose = significance_scan(df, score_col="score", signal=10, background=100, bins=20)
    assert np.all(np.isnan(loose.significance[loose.background_test_events < 10]))
    assert loose.background_test_events[loose.best] >= 10
    with pytest.raises(ValueError, match="no cut keeps 100 test background events"):
        significance_scan(
            df, score_col="score", signal=10, background=100, min_background_events=100
        )
    with pytest.raises(ValueError, match="expected event counts"):
        significance_scan(df, score_col="score", signal=0, background=100)


def test_a_working_point_chosen_on_validation_events_and_uncertain_backgrounds(gbt):
    """The cut is chosen on validation events and its significance is the test events';
    a background systematic and the test sample's own statistics lower Z, as Cowan's
    formula with sigma_b = b x (relative) (+) b / sqrt(test background events) says."""
    from pyspark.sql import functions as F

    _, predictions = gbt
    half = F.pmod(F.xxhash64(*[F.col(c) for c in ("m_bb", "m_wbb", "lepton_pT")]), F.lit(2))
    validation, test = predictions.where(half == 0), predictions.where(half == 1)
    on_test = significance_scan(test, signal=100, background=10_000)
    chosen = significance_scan(validation, signal=100, background=10_000)
    honest = significance_scan(test, signal=100, background=10_000, validation=validation)
    assert honest.chosen_on == "validation" and on_test.chosen_on == "test"
    assert honest.best_threshold == pytest.approx(chosen.best_threshold)
    assert honest.best_significance == pytest.approx(on_test.significance[honest.best])
    assert honest.best_significance <= on_test.best_significance  # the test's own best
    assert "chosen on validation events" in str(honest)
    uncertain = significance_scan(
        test, signal=100, background=10_000, background_uncertainty=0.1, test_statistics=True
    )
    i = uncertain.best
    b, kept = uncertain.background[i], uncertain.background_test_events[i]
    sigma_b = math.hypot(0.1 * b, b / math.sqrt(kept))
    assert uncertain.background_uncertainty[i] == pytest.approx(sigma_b)
    s = uncertain.signal[i]
    assert uncertain.significance[i] == pytest.approx(float(asimov_significance(s, b, sigma_b)))
    assert uncertain.best_significance < on_test.best_significance
    assert f"sigma_b = {sigma_b:.1f}" in str(uncertain)
    with pytest.raises(ValueError, match="relative uncertainty"):
        significance_scan(test, signal=1, background=1, background_uncertainty=-0.1)


def test_significance_plot_marks_the_best_cut(gbt, ax):
    _, predictions = gbt
    scan = significance_scan(predictions, signal=100, background=10_000)
    plot_significance(scan, ax=ax)
    assert ax.get_lines()[1].get_xdata()[0] == pytest.approx(scan.best_threshold)
    assert f"best Z = {scan.best_significance:.2f}" in ax.get_legend().get_texts()[0].get_text()
    with pytest.raises(TypeError, match="signal= and background="):
        plot_significance(predictions, ax=ax)


# --------------------------------------------------------------------------- overtraining


def test_overtraining_ks_agrees_with_scipy(gbt, train_predictions):
    _, predictions = gbt
    check = overtraining_check(train_predictions, predictions)
    y_train, s_train = _labels_scores(train_predictions)
    y_test, s_test = _labels_scores(predictions)
    for c in (0, 1):
        want = ks_2samp(s_train[y_train == c], s_test[y_test == c], method="asymp")
        assert check.ks_statistic[c] == pytest.approx(want.statistic, abs=2e-3)
        assert check.ks_pvalue[c] == pytest.approx(want.pvalue, rel=0.2, abs=1e-3)
        np.testing.assert_array_equal(
            check.test[c], np.histogram(s_test[y_test == c], check.edges)[0]
        )
    assert check.train.sum() == len(y_train)
    assert check.overtrained == bool(check.ks_pvalue.min() < 0.01)
    assert "p-value" in str(check)
    # the AUC gap from the same counts: the final model's AUC on each sample, as Spark's
    from pyspark.ml.evaluation import BinaryClassificationEvaluator

    evaluator = BinaryClassificationEvaluator(metricName="areaUnderROC")
    assert check.train_auc.auc == pytest.approx(evaluator.evaluate(train_predictions), abs=1e-3)
    assert check.test_auc.auc == pytest.approx(evaluator.evaluate(predictions), abs=1e-3)
    assert check.auc_gap == pytest.approx(check.train_auc.auc - check.test_auc.auc)
    assert check.auc_gap_error == pytest.approx(
        np.hypot(check.train_auc.auc_error, check.test_auc.auc_error)
    )
    assert f"gap {check.auc_gap:+.4f} ± {check.auc_gap_error:.4f}" in str(check)


def test_a_memorising_model_is_caught(spark, higgs):
    df, _ = higgs
    train, test = train_test_split(df.limit(3_000), 0.5, seed=2)
    from pyspark.ml.classification import DecisionTreeClassifier

    deep = DecisionTreeClassifier(maxDepth=14, seed=1).fit(assemble_features(train))
    check = overtraining_check(
        deep.transform(assemble_features(train)), deep.transform(assemble_features(test))
    )
    assert check.overtrained and check.ks_pvalue.max() < 1e-6
    assert "differ from the test scores beyond statistics" in str(check)
    assert check.auc_gap > 3 * check.auc_gap_error  # the memorised events score better
    assert str(check).endswith("differs beyond statistics")


def test_overtraining_plot_draws_both_samples_normalised(gbt, train_predictions, ax):
    _, predictions = gbt
    check = overtraining_check(train_predictions, predictions)
    plot_overtraining(check, ax=ax, bins=50)
    widths = np.diff(check.edges[::200])
    test_bg = check.test[0].reshape(50, -1).sum(axis=1)
    drawn = ax.patches[0].get_data()  # the background test histogram (StepPatch)
    np.testing.assert_allclose(drawn.values, test_bg / (test_bg.sum() * widths))
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(f"KS p = {check.ks_pvalue[1]:.3g}" in t for t in texts)
    with pytest.raises(ValueError, match="must divide"):
        plot_overtraining(check, ax=ax, bins=33)


def test_public_names():
    for name in (
        "efficiency_curve",
        "significance_scan",
        "overtraining_check",
        "plot_efficiency",
        "plot_significance",
        "plot_overtraining",
    ):
        assert name in mlcourse.__all__ and callable(getattr(mlcourse, name))


def test_non_probability_scores_share_their_bins(spark, higgs):
    df, _ = higgs
    scored = df.withColumn("score", -F.abs(F.col("m_bb") - 0.95))
    first, second = scored.randomSplit([0.5, 0.5], seed=3)
    check = overtraining_check(first.where("m_bb > 1"), second, score_col="score")
    low, high = check.edges[0], check.edges[-1]
    bounds = scored.select(F.min("score"), F.max("score")).first()
    assert low <= bounds[0] and high >= second.select(F.max("score")).first()[0]
    assert high <= bounds[1] + 1e-12


def test_wilson_interval_of_the_background_efficiency():
    from mlcourse.analysis.evaluation import EfficiencyCurve

    eps = np.array([0.0, 0.001, 0.5, 1.0])
    curve = EfficiencyCurve(np.zeros(4), np.linspace(0, 1, 4), eps, 10, 1_000)
    low, high = curve.background_efficiency_interval()
    n, k = 1_000, 1  # one background event of 1,000 left: eps +- binomial error reaches 0
    centre = (k / n + 1 / (2 * n)) / (1 + 1 / n)
    half = math.sqrt(k / n * (1 - k / n) / n + 1 / (4 * n**2)) / (1 + 1 / n)
    assert (low[1], high[1]) == pytest.approx((centre - half, centre + half))
    assert low[1] > 0 and np.all((low <= eps) & (eps <= high)) and high.max() <= 1
    assert (low[2], high[2]) == pytest.approx((0.5 - 0.0158, 0.5 + 0.0158), abs=2e-4)


def test_overtraining_check_takes_scores_from_the_driver(gbt, train_predictions):
    """Scores already on the driver (a Keras network's predict) bin as Spark bins them."""
    _, predictions = gbt
    y_train, s_train = _labels_scores(train_predictions)
    in_spark = overtraining_check(train_predictions, predictions)
    mixed = overtraining_check((y_train, s_train[:, None]), predictions)  # (n, 1), as Keras
    np.testing.assert_array_equal(mixed.train, in_spark.train)
    np.testing.assert_array_equal(mixed.test, in_spark.test)
    np.testing.assert_allclose(mixed.ks_pvalue, in_spark.ks_pvalue)
    with pytest.raises(ValueError, match="3 labels but 2 scores"):
        overtraining_check(([0, 1, 1], [0.2, 0.4]), predictions)


def test_benchmark_yields_are_cross_section_times_luminosity_times_efficiency():
    from mlcourse.analysis.yields import LUMINOSITY, benchmark_yields

    yields = mlcourse.benchmark_yields()
    assert LUMINOSITY == 140.0
    ttbar = 832_000 * 140 * (2 * 0.2134 * 0.6741) * 0.01  # fb x fb^-1 x BR x efficiency
    signal = 2_000 * 140 * 0.582 * (2 * 0.2134 * 0.6741) * 0.10
    assert yields.background == pytest.approx(ttbar)
    assert yields.signal == pytest.approx(signal)
    assert benchmark_yields(280).signal == pytest.approx(2 * signal)  # linear in luminosity
    text = str(yields)
    assert f"{signal:,.0f}" in text and f"{ttbar:,.0f}" in text
    assert "hypothetical" in text and "LHC Top WG" in text
    with pytest.raises(ValueError, match="fb"):
        benchmark_yields(0)
