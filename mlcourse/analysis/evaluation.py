"""A classifier as physicists read it: efficiency and rejection, significance, overtraining.

Computed in Spark with the same binning as :mod:`mlcourse.analysis.metrics` (one grouped count of
the scores per class; only the counts come back), drawn apart by
:func:`~mlcourse.analysis.plots.plot_efficiency`,
:func:`~mlcourse.analysis.plots.plot_significance` and
:func:`~mlcourse.analysis.plots.plot_overtraining`.

* :func:`efficiency_curve`: the ROC curve as a physicist draws it, the signal efficiency
  against the background rejection 1/eps_B on a log axis, where the useful working points
  (a rejection of 10, 100, 1000) are readable.
* :func:`significance_scan`: for an expected number of signal and background events
  (cross-section x luminosity x preselection), the events left above each score cut and
  the expected discovery significance, Asimov's
  Z = sqrt(2 ((s + b) ln(1 + s/b) - s)) (Cowan, Cranmer, Gross and Vitells, Eur. Phys. J.
  C 71, 1554, 2011), with the best cut.
* :func:`overtraining_check`: per class, the score distributions of the training and the
  test events and the Kolmogorov-Smirnov test of their agreement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mlcourse.analysis.aggregate import binned_scores, score_edges, score_range
from mlcourse.analysis.binning import bin_counts
from mlcourse.analysis.features import require_columns
from mlcourse.analysis.metrics import (
    DEFAULT_BINS,
    ClassificationReport,
    RocCurve,
    as_roc_curve,
    labelled_scores,
    roc_from_bins,
    scores_range,
)
from mlcourse.higgs import LABEL

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = [
    "EfficiencyCurve",
    "OvertrainingCheck",
    "SignificanceScan",
    "efficiency_curve",
    "overtraining_check",
    "significance_scan",
]


# --------------------------------------------------------------------------- efficiency


def _binomial_error(eps: np.ndarray | float, events: int) -> np.ndarray:
    """sqrt(eps (1 - eps) / N): the binomial uncertainty of an efficiency from N events."""
    return np.sqrt(np.multiply(eps, 1.0 - np.asarray(eps)) / max(events, 1))


@dataclass(frozen=True)
class EfficiencyCurve:
    """Signal efficiency against background efficiency and rejection, cut by cut.

    Attributes
    ----------
    thresholds : numpy.ndarray
        Score cuts (events scoring at least the cut are selected), from the tightest
        (``inf``, nothing selected) to the loosest (everything).
    signal_efficiency, background_efficiency : numpy.ndarray
        Fractions of the signal and background events selected by each cut (the ROC
        curve's true and false positive rates).
    signal_events, background_events : int
        Test events of each class the efficiencies were counted on.
    """

    thresholds: np.ndarray
    signal_efficiency: np.ndarray
    background_efficiency: np.ndarray
    signal_events: int
    background_events: int

    @property
    def background_rejection(self) -> np.ndarray:
        """1 / background efficiency (``inf`` where no background event is selected)."""
        with np.errstate(divide="ignore"):
            return 1.0 / self.background_efficiency

    @property
    def background_efficiency_error(self) -> np.ndarray:
        """Binomial uncertainty of each background efficiency, sqrt(eps (1 - eps) / N)."""
        return _binomial_error(self.background_efficiency, self.background_events)

    def background_efficiency_interval(self) -> tuple[np.ndarray, np.ndarray]:
        """Wilson's 68 % interval of each background efficiency (low, high).

        Unlike eps +- the binomial error, it stays inside [0, 1] and stays meaningful
        where only a few test background events are left, as at the tightest cuts.
        """
        n = max(self.background_events, 1)
        eps = self.background_efficiency
        centre = (eps + 0.5 / n) / (1.0 + 1.0 / n)
        half = np.sqrt(eps * (1.0 - eps) / n + 0.25 / n**2) / (1.0 + 1.0 / n)
        return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)

    def rejection_at(self, signal_efficiency: float) -> tuple[float, float]:
        """Background rejection, and its uncertainty, at a signal efficiency (working point).

        The background efficiency is interpolated linearly between the two cuts around the
        working point; its binomial error is carried to the rejection (d(1/eps) = d eps /
        eps^2). ``inf`` rejection (and NaN error) when no background event is left there.
        """
        if not 0.0 < signal_efficiency <= 1.0:
            raise ValueError(f"a signal efficiency is in (0, 1], not {signal_efficiency}")
        eps_b = float(
            np.interp(signal_efficiency, self.signal_efficiency, self.background_efficiency)
        )
        if eps_b <= 0.0:
            return math.inf, math.nan
        error = float(_binomial_error(eps_b, self.background_events))
        return 1.0 / eps_b, error / eps_b**2

    def __repr__(self) -> str:
        parts = []
        for working_point in (0.3, 0.5, 0.7):
            rejection, error = self.rejection_at(working_point)
            parts.append(f"{rejection:.1f} ± {error:.1f} at {working_point:.0%}")
        return f"EfficiencyCurve(background rejection {', '.join(parts)} signal efficiency)"


def efficiency_curve(
    predictions: DataFrame | RocCurve | ClassificationReport,
    *,
    label_col: str = LABEL,
    score_col: str = "probability",
    bins: int = DEFAULT_BINS,
) -> EfficiencyCurve:
    """Signal efficiency against background rejection, the physicist's ROC curve.

    Parameters
    ----------
    predictions : pyspark.sql.DataFrame, RocCurve or ClassificationReport
        A classifier's predictions on test events (one Spark aggregation, as
        :func:`~mlcourse.analysis.metrics.roc_curve`), or a curve or report computed already (no
        Spark job).
    label_col, score_col : str
        True class (1 = signal) and score (a probability vector's signal element, or a
        number; higher is more signal-like).
    bins : int, default 10000
        Score cuts.

    Returns
    -------
    EfficiencyCurve
        ``curve.rejection_at(0.5)`` reads a working point; ``plot_efficiency`` draws it.

    Examples
    --------
    A cut on one mass: the nearer m_bb to the signal's peak (0.95 in the file's units),
    the more signal-like.

    >>> import mlcourse
    >>> from pyspark.sql import functions as F
    >>> df = mlcourse.synthesize_higgs(spark, 2_000, seed=1)
    >>> scored = df.withColumn("score", -F.abs(F.col("m_bb") - 0.95))
    >>> curve = efficiency_curve(scored, score_col="score")
    >>> rejection, error = curve.rejection_at(0.5)
    >>> print(f"background rejection {rejection:.1f} ± {error:.1f} at 50% signal efficiency")
    background rejection 3.6 ± 0.2 at 50% signal efficiency
    """
    roc = as_roc_curve(predictions, label_col=label_col, score_col=score_col, bins=bins)
    return EfficiencyCurve(
        thresholds=roc.thresholds,
        signal_efficiency=roc.tpr,
        background_efficiency=roc.fpr,
        signal_events=roc.signal_events,
        background_events=roc.background_events,
    )


# --------------------------------------------------------------------------- significance


def asimov_significance(
    s: np.ndarray | float, b: np.ndarray | float, sigma_b: np.ndarray | float = 0.0
) -> np.ndarray:
    """Expected discovery significance of ``s`` signal over ``b`` background events known to
    within ``sigma_b``.

    With the background known exactly (``sigma_b = 0``), Z = sqrt(2 ((s + b) ln(1 + s/b) -
    s)), the median significance of a counting experiment (the Asimov data set); about
    s / sqrt(b) when s << b. With an uncertainty sigma_b on b (G. Cowan, "Discovery
    sensitivity for a counting experiment with background uncertainty", 2012, from the
    asymptotic formulae of Cowan, Cranmer, Gross and Vitells, EPJC 71 (2011) 1554):

    Z = sqrt(2 [(s + b) ln((s + b)(b + sigma_b^2) / (b^2 + (s + b) sigma_b^2))
                - (b^2 / sigma_b^2) ln(1 + sigma_b^2 s / (b (b + sigma_b^2)))]),

    the same as pyhf's discovery test of a one-bin model whose background has that
    uncertainty (tests/test_evaluation.py compares them). NaN where b <= 0.

    Examples
    --------
    >>> print(f"{float(asimov_significance(10.0, 100.0)):.4f}")  # s/sqrt(b) = 1.0
    0.9840
    >>> print(f"{float(asimov_significance(10.0, 100.0, sigma_b=10.0)):.4f}")  # 10 % on b
    0.6902
    """
    s_arr, b_arr = np.asarray(s, dtype=float), np.asarray(b, dtype=float)
    var = np.asarray(sigma_b, dtype=float) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = 2.0 * ((s_arr + b_arr) * np.log1p(s_arr / b_arr) - s_arr)
        ratio = (s_arr + b_arr) * (b_arr + var) / (b_arr**2 + (s_arr + b_arr) * var)
        uncertain = 2.0 * (
            (s_arr + b_arr) * np.log(ratio)
            - b_arr**2 / var * np.log1p(var * s_arr / (b_arr * (b_arr + var)))
        )
        z2 = np.where(var > 0, uncertain, exact)
        return np.where(b_arr > 0, np.sqrt(np.maximum(z2, 0.0)), np.nan)


@dataclass(frozen=True)
class SignificanceScan:
    """Expected events and significance above each score cut, and the best cut.

    Attributes
    ----------
    thresholds : numpy.ndarray
        Score cuts, tightest first (as :class:`EfficiencyCurve`).
    signal, background : numpy.ndarray
        Expected signal and background events above each cut (the totals given to
        :func:`significance_scan` times the efficiencies measured on the test events).
    significance : numpy.ndarray
        Asimov significance of each cut (NaN where too few test background events are
        left to estimate the background: see ``min_background_events``).
    background_test_events : numpy.ndarray
        Test background events above each cut: the statistics behind ``background``.
    best : int
        Index of the working point: the cut of highest significance on the events it was
        chosen on (``chosen_on``).
    background_uncertainty : numpy.ndarray or float
        The uncertainty sigma_b on ``background`` that the significance assumed at each cut
        (0: the background known exactly).
    chosen_on : str
        ``"test"`` when the best cut was chosen on the test events themselves (the
        significance there is biased upwards: the best of many cuts), ``"validation"`` when
        it was chosen on validation events and the significance is the test events'.
    """

    thresholds: np.ndarray
    signal: np.ndarray
    background: np.ndarray
    significance: np.ndarray
    background_test_events: np.ndarray
    best: int
    background_uncertainty: np.ndarray | float = 0.0
    chosen_on: str = "test"

    @property
    def best_threshold(self) -> float:
        """The score cut of highest significance."""
        return float(self.thresholds[self.best])

    @property
    def best_significance(self) -> float:
        """The highest significance."""
        return float(self.significance[self.best])

    def __str__(self) -> str:
        i = self.best
        sigma = float(np.broadcast_to(self.background_uncertainty, self.background.shape)[i])
        known = "b known exactly" if sigma == 0 else f"sigma_b = {sigma:.1f}"
        where = "" if self.chosen_on == "test" else " (the cut chosen on validation events)"
        return (
            f"best cut{where}: score >= {self.thresholds[i]:.4f} keeps s = "
            f"{self.signal[i]:.1f} signal and b = {self.background[i]:.1f} background events: "
            f"Z = {self.significance[i]:.2f} (Asimov, {known}; b from "
            f"{self.background_test_events[i]:,} test events)"
        )

    def __repr__(self) -> str:
        return f"SignificanceScan({self})"


def significance_scan(
    predictions: DataFrame | RocCurve | ClassificationReport,
    *,
    signal: float,
    background: float,
    background_uncertainty: float = 0.0,
    test_statistics: bool = False,
    validation: DataFrame | RocCurve | ClassificationReport | None = None,
    min_background_events: int = 10,
    label_col: str = LABEL,
    score_col: str = "probability",
    bins: int = DEFAULT_BINS,
) -> SignificanceScan:
    """The discovery significance a score cut buys, cut by cut, and the best cut.

    Parameters
    ----------
    predictions : pyspark.sql.DataFrame, RocCurve or ClassificationReport
        A classifier's predictions on test events, or a curve or report computed already.
    signal, background : float
        Expected numbers of signal and background events before the cut: cross-section x
        integrated luminosity x the efficiency of the selection that made the sample. The
        test events give only the efficiencies; their own class balance does not matter.
    background_uncertainty : float, default 0
        The background's relative systematic uncertainty (0.05 for 5 %), in the
        significance through :func:`asimov_significance`'s ``sigma_b``.
    test_statistics : bool, default False
        Also count the test sample's own statistical error on the background efficiency
        (b / sqrt(test background events above the cut)), added in quadrature.
    validation : pyspark.sql.DataFrame, RocCurve or ClassificationReport, optional
        The same classifier's predictions on validation events: the best cut is chosen
        there, and its significance is the test events' (an unbiased estimate; choosing
        the best of many cuts on the test events overstates it).
    min_background_events : int, default 10
        Cuts leaving fewer test background events than this get no significance: the
        background estimate there is a handful of events, and the scan would pick the
        tightest cut for its fluctuation.
    label_col, score_col : str
        True class (1 = signal) and score.
    bins : int, default 10000
        Score cuts.

    Returns
    -------
    SignificanceScan
        ``print(scan)`` names the best cut; ``plot_significance`` draws the scan.

    Examples
    --------
    50 signal events expected over 1,000 background ones (Z = 1.57 without a cut), cut on
    how near m_bb is to the signal's peak:

    >>> import mlcourse
    >>> from pyspark.sql import functions as F
    >>> df = mlcourse.synthesize_higgs(spark, 2_000, seed=1)
    >>> scored = df.withColumn("score", -F.abs(F.col("m_bb") - 0.95))
    >>> scan = significance_scan(scored, score_col="score", signal=50, background=1000)
    >>> print(scan)  # doctest: +NORMALIZE_WHITESPACE
    best cut: score >= -0.4018 keeps s = 40.2 signal and b = 517.6 background events:
    Z = 1.74 (Asimov, b known exactly; b from 484 test events)
    """
    _check_expected(signal, background, background_uncertainty)
    roc = as_roc_curve(predictions, label_col=label_col, score_col=score_col, bins=bins)
    options = (background_uncertainty, test_statistics, min_background_events)
    s, b, kept, sigma_b, z = _per_cut(roc, signal, background, *options)
    best, chosen_on = int(np.nanargmax(z)), "test"
    if validation is not None:  # the cut of highest Z on the validation events
        other = as_roc_curve(validation, label_col=label_col, score_col=score_col, bins=bins)
        *_, z_other = _per_cut(other, signal, background, *options)
        cut = other.thresholds[int(np.nanargmax(z_other))]
        best, chosen_on = int(np.argmin(np.abs(roc.thresholds - cut))), "validation"
    return SignificanceScan(
        thresholds=roc.thresholds, signal=s, background=b, significance=z,
        background_test_events=kept, best=best, background_uncertainty=sigma_b,
        chosen_on=chosen_on,
    )  # fmt: skip


def _check_expected(signal: float, background: float, background_uncertainty: float) -> None:
    if not (signal > 0 and background > 0):
        raise ValueError(
            f"signal ({signal}) and background ({background}) are expected event counts "
            "before the cut (cross-section x luminosity x efficiency), both above 0"
        )
    if not 0 <= background_uncertainty < 10:
        raise ValueError(
            f"background_uncertainty {background_uncertainty}: give the relative "
            "uncertainty, such as 0.05 for 5 %"
        )


def _per_cut(
    roc: RocCurve,
    signal: float,
    background: float,
    background_uncertainty: float,
    test_statistics: bool,
    min_background_events: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """At each cut of ``roc``: s, b, the test background events kept, sigma_b and Z
    (NaN where fewer than ``min_background_events`` are kept)."""
    s = signal * roc.tpr
    b = background * roc.fpr
    kept = np.rint(roc.fpr * roc.background_events).astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        statistical = np.where(kept > 0, b / np.sqrt(kept), np.inf) if test_statistics else 0.0
    sigma_b = np.hypot(background_uncertainty * b, statistical)
    z = np.where(kept >= max(min_background_events, 1), asimov_significance(s, b, sigma_b), np.nan)
    if np.all(np.isnan(z)):
        raise ValueError(
            f"no cut keeps {min_background_events} test background events "
            f"({roc.background_events} in all): score more background events, or lower "
            "min_background_events"
        )
    return s, b, kept, sigma_b, z


# --------------------------------------------------------------------------- overtraining


def _ks(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and p-value of two binned samples.

    The largest distance of the two cumulative distributions at the bin edges; the
    p-value from the Kolmogorov distribution of ``n m / (n + m)`` events, as
    ``scipy.stats.ks_2samp(..., method="asymp")``.
    """
    from scipy.stats import kstwo

    n, m = float(a.sum()), float(b.sum())
    if not (n and m):
        return math.nan, math.nan
    d = float(np.max(np.abs(np.cumsum(a) / n - np.cumsum(b) / m)))
    return d, float(kstwo.sf(d, round(n * m / (n + m))))


@dataclass(frozen=True)
class OvertrainingCheck:
    """Score distributions of training and test events per class, their KS tests, and the
    AUC on each.

    Attributes
    ----------
    edges : numpy.ndarray
        Score bin edges shared by both samples.
    train, test : numpy.ndarray
        Event counts of shape (2, bins): class (background, signal), score bin.
    ks_statistic, ks_pvalue : numpy.ndarray
        Per class (background, signal): the Kolmogorov-Smirnov distance of the training
        and test distributions and its p-value.
    train_auc, test_auc : RocCurve
        The ROC curves (AUC and DeLong error) of the model on its training and on the test
        events, from the same counts: the training AUC of the final model, not the running
        average that Keras prints while an epoch trains.
    """

    edges: np.ndarray
    train: np.ndarray
    test: np.ndarray
    ks_statistic: np.ndarray
    ks_pvalue: np.ndarray
    train_auc: RocCurve | None = None
    test_auc: RocCurve | None = None

    @property
    def overtrained(self) -> bool:
        """Whether either class's training and test scores differ beyond statistics (a KS
        p-value below 0.01). On many events the KS test sees differences too small to
        matter: read :attr:`auc_gap` for how much."""
        return bool(np.nanmin(self.ks_pvalue) < 0.01)

    @property
    def auc_gap(self) -> float:
        """Training AUC minus test AUC (NaN without both)."""
        if self.train_auc is None or self.test_auc is None:
            return math.nan
        return self.train_auc.auc - self.test_auc.auc

    @property
    def auc_gap_error(self) -> float:
        """The gap's statistical error: the two samples' DeLong errors in quadrature (the
        training and test events are different events)."""
        if self.train_auc is None or self.test_auc is None:
            return math.nan
        return math.hypot(self.train_auc.auc_error, self.test_auc.auc_error)

    def __str__(self) -> str:
        lines = [
            f"{name:<10} KS distance {d:.4f}, p-value {p:.3g} "
            f"({self.train[c].sum():,} training, {self.test[c].sum():,} test events)"
            for c, name, d, p in zip(
                (0, 1), ("background", "signal"), self.ks_statistic, self.ks_pvalue, strict=True
            )
        ]
        if self.overtrained:
            lines.append(
                "KS: the training scores differ from the test scores beyond statistics "
                "(p < 0.01); with many events this test sees differences too small to "
                "matter, so read the AUC gap for how much"
            )
        else:
            lines.append(
                "KS: no significant difference between training and test scores (p >= 0.01); "
                "this does not show they are the same, only that these events cannot tell"
            )
        gap, error = self.auc_gap, self.auc_gap_error
        if not math.isnan(gap):
            assert self.train_auc is not None and self.test_auc is not None
            n = abs(gap) / error if error > 0 else math.nan
            verdict = (
                "differs beyond statistics" if n >= 3 else "no significant difference (below 3)"
            )
            lines.append(
                f"AUC on training events {self.train_auc.auc:.4f} ± "
                f"{self.train_auc.auc_error:.4f}, on test events {self.test_auc.auc:.4f} ± "
                f"{self.test_auc.auc_error:.4f}: gap {gap:+.4f} ± {error:.4f} "
                f"({n:.1f} standard deviations): {verdict}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        d, p = self.ks_statistic, self.ks_pvalue
        return (
            f"OvertrainingCheck(KS background {d[0]:.4f} (p {p[0]:.3g}), "
            f"signal {d[1]:.4f} (p {p[1]:.3g}), AUC gap {self.auc_gap:+.4f} ± "
            f"{self.auc_gap_error:.4f})"
        )


def _side_range(side: DataFrame | tuple[Any, Any], score_col: str) -> tuple[float, float]:
    """The score range of one side, chosen as ``roc_curve_arrays`` and ``roc_curve`` do."""
    if isinstance(side, tuple):
        return scores_range(labelled_scores(*side)[1])
    return score_range(side, score_col)


def overtraining_check(
    train_predictions: DataFrame | tuple[Any, Any],
    test_predictions: DataFrame | tuple[Any, Any],
    *,
    label_col: str = LABEL,
    score_col: str = "probability",
    bins: int = DEFAULT_BINS,
) -> OvertrainingCheck:
    """Do the classifier's scores on its training events look like those on test events?

    A model that has learnt its training events (rather than the physics) scores them
    more confidently: its training signal scores pile up nearer 1 and its training
    background nearer 0 than the test ones. Per class, the two distributions are compared
    by a Kolmogorov-Smirnov test on the binned scores (one Spark aggregation per sample).

    Parameters
    ----------
    train_predictions, test_predictions : pyspark.sql.DataFrame or (labels, scores)
        The model's ``transform`` of its training events and of test events. Either side
        may instead be a pair of arrays, for scores already on the driver (a Keras
        network's ``predict`` of the events it trained on): both sides are binned alike
        (``numpy.histogram``'s rule, as in Spark).
    label_col, score_col : str
        True class (1 = signal) and score, for a DataFrame.
    bins : int, default 10000
        Score bins of the test (fine; ``plot_overtraining`` draws coarser ones).

    Returns
    -------
    OvertrainingCheck
        ``print(check)`` gives each class's KS distance and p-value and a verdict.

    Examples
    --------
    >>> import mlcourse
    >>> from pyspark.sql import functions as F
    >>> df = mlcourse.synthesize_higgs(spark, 4_000, seed=1)
    >>> scored = df.withColumn("score", -F.col("m_wwbb"))
    >>> first, second = mlcourse.train_test_split(scored, test=0.5, seed=3)
    >>> check = overtraining_check(first, second, score_col="score")
    >>> check.overtrained  # a fixed cut learns nothing from either half
    False
    """
    sides = (train_predictions, test_predictions)
    for side, what in zip(sides, ("the training", "the test"), strict=True):
        if not isinstance(side, tuple):
            require_columns(side, [label_col, score_col], f"{what} predictions")
    ranges = [_side_range(side, score_col) for side in sides]
    shared = (min(r[0] for r in ranges), max(r[1] for r in ranges))
    edges = score_edges(*shared, bins)

    def counts(side: DataFrame | tuple[Any, Any]) -> np.ndarray:
        if isinstance(side, tuple):
            labels, scores = labelled_scores(*side)
            return bin_counts(scores, labels, edges)
        by = binned_scores(
            side, label_col=label_col, score_col=score_col, bins=bins, score_range=shared
        )[0]
        return by.sum(axis=1)

    train, test = counts(train_predictions), counts(test_predictions)
    stats = [_ks(train[c], test[c]) for c in (0, 1)]
    return OvertrainingCheck(
        edges=edges,
        train=train,
        test=test,
        ks_statistic=np.array([d for d, _ in stats]),
        ks_pvalue=np.array([p for _, p in stats]),
        train_auc=roc_from_bins(train, edges),
        test_auc=roc_from_bins(test, edges),
    )
