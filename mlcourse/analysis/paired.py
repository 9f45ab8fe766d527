"""Two classifiers compared on the same test events: the paired error of their AUC difference.

:meth:`~mlcourse.analysis.metrics.RocCurve.compare` adds two AUC errors in quadrature, as if the two
models had been scored on independent events. On the same events their AUCs move together
(an event that is hard for one is usually hard for the other), and the error of the
difference is smaller, often several times so. DeLong, DeLong and Clarke-Pearson (Biometrics
44 (1988) 837) give it from each event's *placement*: for a signal event, the fraction of
background events it outscores (ties count half), for a background event, the fraction of
signal events that outscore it. The AUC is the mean placement; the variance of the difference
is

    var(A - B) = [var(V10_A) + var(V10_B) - 2 cov(V10_A, V10_B)] / m
               + [var(V01_A) + var(V01_B) - 2 cov(V01_A, V01_B)] / n

over the m signal and n background events. Here both scores are binned (placements within
one bin count half, as :func:`~mlcourse.analysis.metrics.roc_curve` bins them), so everything comes
from one aggregation: the events counted per (class, bin of A, bin of B), at most one row per
event, never the events themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from mlcourse.higgs import LABEL

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from mlcourse.analysis.metrics import ClassificationReport

__all__ = [
    "AucDifference",
    "paired_auc_difference",
    "paired_auc_difference_arrays",
    "paired_reports_error",
]

#: Score bins per model: placements are exact up to ties within 1/1000 of the score range.
DEFAULT_PAIRED_BINS = 1000


@dataclass(frozen=True)
class AucDifference:
    """A difference of two AUCs with its uncertainty; prints a verdict and how it was had.

    Attributes
    ----------
    difference, error : float
        The difference and its standard deviation: the statistical error of the difference
        and, when ``training_spread`` is given, sqrt(2) x the training spread, in quadrature.
    paired : bool or None
        True: both models were scored on the same test events and the statistical error is
        DeLong's paired one (their correlation included); False: the two errors were added
        in quadrature, as for independent test samples; None: not known.
    training_spread : float
        The standard deviation of one model's AUC over training seeds, included in
        ``error`` for each of the two models (0: none included).
    events : int
        Test events the paired error was computed on (0 when not paired).
    """

    difference: float
    error: float
    paired: bool | None = None
    training_spread: float = 0.0
    events: int = 0

    @property
    def statistical_error(self) -> float:
        """The error from the finite number of test events alone."""
        return math.sqrt(max(self.error**2 - 2 * self.training_spread**2, 0.0))

    @property
    def significance(self) -> float:
        """The difference in standard deviations (NaN without an error)."""
        return self.difference / self.error if self.error > 0 else math.nan

    @property
    def significant(self) -> bool:
        """Whether the difference is at least three standard deviations."""
        return abs(self.significance) >= 3.0

    def with_training_spread(self, spread: float) -> AucDifference:
        """The same difference with a training spread of ``spread`` per model included.

        Parameters
        ----------
        spread : float
            Standard deviation of one model's AUC over training seeds (>= 0).
        """
        spread = float(spread)
        if not spread >= 0:
            raise ValueError(
                f"training_spread {spread}: give the standard deviation of one model's AUC "
                "over training seeds (0 or more)"
            )
        stat = self.statistical_error
        return replace(self, error=math.sqrt(stat**2 + 2 * spread**2), training_spread=spread)

    def __str__(self) -> str:
        verdict = "significant" if self.significant else "not significant (below 3)"
        if self.paired:
            basis = f"paired: both models on the same {self.events:,} test events"
        elif self.paired is False:
            basis = "errors added as for independent test samples"
        else:
            basis = "statistical error"
        if self.training_spread > 0:
            basis += f", with a training spread of {self.training_spread:.4f} per model"
        return (
            f"{self.difference:+.4f} ± {self.error:.4f} "
            f"({abs(self.significance):.1f} standard deviations; {basis}): {verdict}"
        )


def _placements(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per bin: a signal event's placement among the background events and a background
    event's among the signal events, from (2, bins) counts (background row first)."""
    background, signal = counts[0].astype(float), counts[1].astype(float)
    below = np.cumsum(background) - background  # background events in lower bins
    above = signal[::-1].cumsum()[::-1] - signal  # signal events in higher bins
    v10 = (below + 0.5 * background) / background.sum()
    v01 = (above + 0.5 * signal) / signal.sum()
    return v10, v01


def _variance(weights: np.ndarray, x: np.ndarray, total: float) -> float:
    mean = (weights * x).sum() / total
    return float((weights * (x - mean) ** 2).sum() / (total - 1))


def _covariance(joint: np.ndarray, x: np.ndarray, y: np.ndarray, total: float) -> float:
    """Covariance of x (by the first index) and y (by the second) over the events counted
    in ``joint``."""
    dx = x - (joint.sum(axis=1) * x).sum() / total
    dy = y - (joint.sum(axis=0) * y).sum() / total
    return float((dx[:, None] * joint * dy[None, :]).sum() / (total - 1))


def _from_joint(joint: np.ndarray) -> AucDifference:
    """The paired difference from counts of shape (2, bins_a, bins_b): background, signal."""
    m, n = float(joint[1].sum()), float(joint[0].sum())
    if m < 2 or n < 2:
        raise ValueError(
            f"{m:.0f} signal and {n:.0f} background events: both classes need two or more"
        )
    v10_a, v01_a = _placements(joint.sum(axis=2))
    v10_b, v01_b = _placements(joint.sum(axis=1))
    s, b = joint[1].astype(float), joint[0].astype(float)
    auc_a = float((s.sum(axis=1) * v10_a).sum() / m)
    auc_b = float((s.sum(axis=0) * v10_b).sum() / m)
    signal_part = (
        _variance(s.sum(axis=1), v10_a, m)
        + _variance(s.sum(axis=0), v10_b, m)
        - 2 * _covariance(s, v10_a, v10_b, m)
    )
    background_part = (
        _variance(b.sum(axis=1), v01_a, n)
        + _variance(b.sum(axis=0), v01_b, n)
        - 2 * _covariance(b, v01_a, v01_b, n)
    )
    error = math.sqrt(max(signal_part / m + background_part / n, 0))
    return AucDifference(auc_a - auc_b, error, paired=True, events=int(m + n))


def _edges(lo: float, hi: float, bins: int) -> np.ndarray:
    """Equal bins on [0, 1] when every score is in it (a probability), else on the scores'
    range: the same rule for arrays and for Spark."""
    from mlcourse.analysis.aggregate import score_edges

    return score_edges(*((0.0, 1.0) if lo >= 0 and hi <= 1 else (lo, hi)), bins)


def _bin_of(scores: np.ndarray, bins: int) -> np.ndarray:
    edges = _edges(float(scores.min()), float(scores.max()), bins)
    return np.clip(np.searchsorted(edges, scores, "right") - 1, 0, bins - 1)


def paired_auc_difference_arrays(
    y_true: np.ndarray,
    score_a: np.ndarray,
    score_b: np.ndarray,
    *,
    bins: int = DEFAULT_PAIRED_BINS,
    training_spread: float = 0.0,
) -> AucDifference:
    """AUC(a) - AUC(b) of two score arrays on the same events, with DeLong's paired error.

    Parameters
    ----------
    y_true : array of 0/1
        True classes (1 = signal).
    score_a, score_b : arrays
        The two models' signal scores of the same events, in the same order.
    bins : int, default 1000
        Score bins per model ([0, 1] for probabilities, else each score's range).
    training_spread : float, default 0
        Standard deviation of one model's AUC over training seeds, included for each model
        (see :meth:`~mlcourse.analysis.metrics.RocCurve.compare`).

    Returns
    -------
    AucDifference
    """
    y = np.asarray(y_true).astype(int)
    a, b = np.asarray(score_a, dtype=float), np.asarray(score_b, dtype=float)
    if not len(y) == len(a) == len(b):
        raise ValueError("y_true, score_a and score_b must hold the same events")
    joint = np.zeros((2, bins, bins))
    np.add.at(joint, (y, _bin_of(a, bins), _bin_of(b, bins)), 1)
    return _from_joint(joint).with_training_spread(training_spread)


def paired_auc_difference(
    predictions: DataFrame,
    score_a: str,
    score_b: str,
    *,
    label_col: str = LABEL,
    bins: int = DEFAULT_PAIRED_BINS,
    training_spread: float = 0.0,
) -> AucDifference:
    """AUC(a) - AUC(b) of two models scored on the same events, with DeLong's paired error.

    Parameters
    ----------
    predictions : pyspark.sql.DataFrame
        One row per test event with both models' scores, such as
        ``model_b.transform(model_a.transform(test).withColumnRenamed("probability",
        "probability_a").drop("rawPrediction", "prediction"))``.
    score_a, score_b : str
        The two score columns (a probability vector's signal element, or a number).
    label_col : str
        True class (1 = signal).
    bins : int, default 1000
        Score bins per model.
    training_spread : float, default 0
        Standard deviation of one model's AUC over training seeds, included for each model.

    Returns
    -------
    AucDifference
        The difference and its paired error; one aggregation, at most one row per event
        back to the driver.
    """
    from pyspark.sql import functions as F

    from mlcourse.analysis.aggregate import score_range, signal_score
    from mlcourse.analysis.binning import bin_index

    columns = [
        bin_index(
            signal_score(predictions, column),
            _edges(*score_range(predictions, column), bins),
            uniform=True,
        )
        for column in (score_a, score_b)
    ]
    rows = (
        predictions.groupBy(F.col(label_col).cast("int"), columns[0], columns[1]).count().collect()
    )
    joint = np.zeros((2, bins, bins))
    for label, i, j, count in rows:
        if label in (0, 1) and i is not None and j is not None:
            joint[label, i, j] += count
    return _from_joint(joint).with_training_spread(training_spread)


def paired_reports_error(
    a: ClassificationReport, b: ClassificationReport, *, bins: int = DEFAULT_PAIRED_BINS
) -> tuple[float, int] | None:
    """DeLong's paired error of ``a.auc - b.auc`` when both reports counted the same events.

    Each event is recognised by a hash of its label and of the feature columns both
    predictions carry (the raw HIGGS features, which ``transform`` and
    ``score_with_keras`` keep). Identical events score alike and are counted together.

    Parameters
    ----------
    a, b : ClassificationReport
        Reports computed by :func:`~mlcourse.analysis.metrics.classification_report`, which keeps
        their predictions.
    bins : int, default 1000
        Score bins per model.

    Returns
    -------
    (error, events) or None
        None when either report has no predictions, they share no feature column, or the
        events differ (one side holds an event the other does not): then the two AUCs are
        not paired.
    """
    from pyspark.sql import functions as F

    from mlcourse.analysis.aggregate import signal_score
    from mlcourse.analysis.binning import bin_index
    from mlcourse.higgs import FEATURES

    left, right = a.predictions, b.predictions
    if left is None or right is None:
        return None
    keys = [c for c in FEATURES if c in left.columns and c in right.columns]
    if not keys or LABEL not in left.columns or LABEL not in right.columns:
        return None
    edges = _edges(0.0, 1.0, bins)

    def side(df: DataFrame, name: str) -> DataFrame:
        score = bin_index(signal_score(df, "probability"), edges, uniform=True)
        return (
            df.select(
                F.xxhash64(F.col(LABEL).cast("int"), *keys).alias("event"),
                F.col(LABEL).cast("int").alias(f"label_{name}"),
                score.alias(f"bin_{name}"),
            )
            .groupBy("event")
            .agg(
                F.count(F.lit(1)).alias(f"n_{name}"),
                F.min(f"label_{name}").alias(f"label_{name}"),
                F.min(f"bin_{name}").alias(f"bin_{name}"),
            )
        )

    joined = side(left, "a").join(side(right, "b"), "event", "full_outer")
    rows = (
        joined.groupBy("label_a", "label_b", "bin_a", "bin_b")
        .agg(F.sum("n_a").alias("n_a"), F.sum("n_b").alias("n_b"))
        .collect()
    )
    joint = np.zeros((2, bins, bins))
    for label_a, label_b, i, j, n_a, n_b in rows:
        if label_a is None or label_b is None or n_a != n_b or label_a not in (0, 1):
            return None  # an event on one side only: not the same test events
        if i is None or j is None:
            return None
        joint[label_a, i, j] += n_a
    try:
        difference = _from_joint(joint)
    except ValueError:
        return None
    return difference.error, int(joint.sum())
