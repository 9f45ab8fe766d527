"""Classification metrics and ROC curves computed inside Spark.

Predictions never come to the driver: scores are binned into at most ``bins`` thresholds
and counted per class (and per predicted class) in one grouped aggregation; only those
counts (at most a few ten thousand numbers, whatever the number of events) are collected.
With the default 10,000 bins the area under the curve agrees with Spark's
``BinaryClassificationEvaluator`` to better than 1e-3.

Every AUC comes with its statistical uncertainty, from the same counts: DeLong's
estimate (DeLong, DeLong and Clarke-Pearson, Biometrics 44, 837, 1988), the spread the
AUC would have over test samples of the same size. Two AUCs differ only where their
difference is several times that.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from mlcourse.analysis.aggregate import binned_scores, score_edges
from mlcourse.analysis.binning import bin_counts
from mlcourse.analysis.features import require_columns
from mlcourse.analysis.paired import AucDifference, paired_reports_error
from mlcourse.higgs import LABEL

if TYPE_CHECKING:
    from collections.abc import Iterator

    from numpy.typing import ArrayLike
    from pyspark.sql import DataFrame

__all__ = [
    "AucDifference",
    "ClassificationReport",
    "RocCurve",
    "classification_report",
    "roc_curve",
    "roc_curve_arrays",
]

DEFAULT_BINS = 10_000


@dataclass(frozen=True)
class RocCurve:
    """A receiver operating characteristic curve; unpacks as ``fpr, tpr, auc``.

    Attributes
    ----------
    fpr, tpr : numpy.ndarray
        False and true positive rates, from (0, 0) to (1, 1).
    thresholds : numpy.ndarray
        Score threshold of each point (events scoring at least it are called signal);
        ``inf`` for the first point.
    auc : float
        Area under the curve (trapezoidal rule); NaN when a class is absent.
    auc_error : float
        Statistical uncertainty (one standard deviation) of ``auc`` from the finite
        number of test events: DeLong's estimate on the binned scores. NaN when a class
        has fewer than two events.
    signal_events, background_events : int
        Events of each class the curve was counted on.
    """

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    auc: float
    auc_error: float = math.nan
    signal_events: int = 0
    background_events: int = 0

    def __iter__(self) -> Iterator[Any]:
        return iter((self.fpr, self.tpr, self.auc))

    def __repr__(self) -> str:
        return f"RocCurve(auc={self.auc:.4f} ± {self.auc_error:.4f}, points={len(self.fpr)})"

    def compare(
        self, other: RocCurve | ClassificationReport, *, training_spread: float = 0.0
    ) -> AucDifference:
        """This AUC minus another's, with the uncertainty of the difference.

        A curve holds only counts, not the events, so the two statistical errors are added
        in quadrature, as for independent test samples (and the result says so). On the
        same test events the two AUCs are positively correlated and the true uncertainty
        is smaller (often several times): :meth:`ClassificationReport.compare` of two
        reports computed from predictions of the same events gives the paired (DeLong)
        error.

        Parameters
        ----------
        other : RocCurve or ClassificationReport
            The AUC subtracted.
        training_spread : float, default 0
            The standard deviation of one model's AUC from the randomness of its training
            (initial weights, batches: measured over seeds). Each of the two models, trained
            once, carries it, so the difference's error gains sqrt(2) times it (pass the
            spread divided by sqrt(k) for means over k seeds).

        Examples
        --------
        >>> a = RocCurve(np.array([0, 1]), np.array([0, 1]), np.array([np.inf, 0]), 0.80, 0.003)
        >>> b = RocCurve(np.array([0, 1]), np.array([0, 1]), np.array([np.inf, 0]), 0.79, 0.004)
        >>> print(a.compare(b))  # doctest: +NORMALIZE_WHITESPACE
        +0.0100 ± 0.0050 (2.0 standard deviations; errors added as for independent test
        samples): not significant (below 3)
        """
        return _difference(self, other).with_training_spread(training_spread)


def _difference(
    a: RocCurve | ClassificationReport, b: RocCurve | ClassificationReport
) -> AucDifference:
    """``a.auc - b.auc``, the errors added in quadrature (see :meth:`RocCurve.compare`)."""
    return AucDifference(a.auc - b.auc, math.hypot(a.auc_error, b.auc_error), paired=False)


@dataclass(frozen=True)
class ClassificationReport:
    """Metrics of a binary classifier; prints as a table, ``to_dict()`` for JSON.

    Attributes
    ----------
    auc : float
        Area under the ROC curve of the scores (NaN without a score column or a class).
    auc_error : float
        Its statistical uncertainty (:attr:`RocCurve.auc_error`).
    accuracy, precision, recall, f1 : float
        Of the predicted classes against the labels; precision is 0 when nothing is
        predicted as signal, recall 0 when there is no signal (as scikit-learn's
        ``zero_division=0``), and F1 0 when both are 0.
    confusion : numpy.ndarray
        2x2 counts, rows = true class (background, signal), columns = predicted class.
    roc : RocCurve or None
        The curve, from the same aggregation.
    predictions : pyspark.sql.DataFrame or None
        The predictions the report was computed from (their ``probability``), kept so that
        :meth:`compare` can pair two models scored on the same events.
    """

    auc: float
    accuracy: float
    precision: float
    recall: float
    f1: float
    confusion: np.ndarray
    roc: RocCurve | None = field(default=None, repr=False)
    auc_error: float = math.nan
    predictions: DataFrame | None = field(default=None, repr=False, compare=False)

    def compare(
        self, other: RocCurve | ClassificationReport, *, training_spread: float = 0.0
    ) -> AucDifference:
        """This AUC minus another's, with the uncertainty of the difference.

        When both reports were computed from predictions of the same test events (each
        event recognised by its label and feature values, every event on both sides), the
        statistical error is DeLong's paired one, which counts the correlation of the two
        AUCs (one Spark aggregation; see :mod:`mlcourse.analysis.paired`). Otherwise the two errors
        are added in quadrature, as for independent test samples. The result says which.

        Parameters
        ----------
        other : RocCurve or ClassificationReport
            The AUC subtracted.
        training_spread : float, default 0
            The standard deviation of one model's AUC over training seeds, included for
            each model (see :meth:`RocCurve.compare`).

        Returns
        -------
        AucDifference
        """
        paired = (
            paired_reports_error(self, other) if isinstance(other, ClassificationReport) else None
        )
        if paired is None:
            return _difference(self, other).with_training_spread(training_spread)
        error, events = paired
        return AucDifference(
            self.auc - other.auc, error, paired=True, events=events
        ).with_training_spread(training_spread)

    @property
    def events(self) -> int:
        """Number of events counted."""
        return int(self.confusion.sum())

    def to_dict(self) -> dict[str, Any]:
        """Plain numbers, ready for ``json.dump`` (NaN becomes None)."""

        def num(x: float) -> float | None:
            return None if math.isnan(x) else round(float(x), 6)

        (tn, fp), (fn, tp) = self.confusion.tolist()
        return {
            "auc": num(self.auc),
            "auc_error": num(self.auc_error),
            "accuracy": num(self.accuracy),
            "precision": num(self.precision),
            "recall": num(self.recall),
            "f1": num(self.f1),
            "events": self.events,
            "confusion": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
        }

    def to_json(self) -> str:
        """The report as JSON text."""
        return json.dumps(self.to_dict(), indent=2)

    def __str__(self) -> str:
        (tn, fp), (fn, tp) = self.confusion.tolist()
        heads = ("predicted background", "predicted signal")
        w0, w1 = (
            max(len(h), len(f"{a:,}"), len(f"{b:,}")) + 2
            for h, a, b in ((heads[0], tn, fn), (heads[1], fp, tp))
        )
        lines = [
            f"AUC        {self.auc:.4f} ± {self.auc_error:.4f}",
            f"accuracy   {self.accuracy:.4f}",
            f"precision  {self.precision:.4f}",
            f"recall     {self.recall:.4f}",
            f"F1         {self.f1:.4f}",
            f"events     {self.events:,}",
            "",
            f"{'':<20}{heads[0]:>{w0}}{heads[1]:>{w1}}",
            f"{'true background':<20}{tn:>{w0},}{fp:>{w1},}",
            f"{'true signal':<20}{fn:>{w0},}{tp:>{w1},}",
        ]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        (tn, fp), (fn, tp) = self.confusion.tolist()
        rows = "".join(
            f"<tr><th>{name}</th><td>{value:.4f}</td></tr>"
            for name, value in (
                ("accuracy", self.accuracy),
                ("precision", self.precision),
                ("recall", self.recall),
                ("F1", self.f1),
            )
        )
        rows = f"<tr><th>AUC</th><td>{self.auc:.4f} ± {self.auc_error:.4f}</td></tr>" + rows
        return (
            f"<table><tbody>{rows}</tbody></table>"
            "<table><thead><tr><th></th><th>predicted background</th>"
            "<th>predicted signal</th></tr></thead><tbody>"
            f"<tr><th>true background</th><td>{tn:,}</td><td>{fp:,}</td></tr>"
            f"<tr><th>true signal</th><td>{fn:,}</td><td>{tp:,}</td></tr></tbody></table>"
        )


def roc_from_bins(by_label: np.ndarray, edges: np.ndarray) -> RocCurve:
    """ROC points from per-class counts in score bins (shape (2, bins)) and their edges."""
    nonempty = by_label.sum(axis=0) > 0
    neg, pos = by_label[0][nonempty][::-1], by_label[1][nonempty][::-1]
    thresholds = np.concatenate([[np.inf], edges[:-1][nonempty][::-1]])
    fp = np.concatenate([[0], np.cumsum(neg)])
    tp = np.concatenate([[0], np.cumsum(pos)])
    n_neg, n_pos = fp[-1], tp[-1]
    fpr = fp / n_neg if n_neg else np.full(fp.shape, np.nan)
    tpr = tp / n_pos if n_pos else np.full(tp.shape, np.nan)
    auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2) if n_neg and n_pos else math.nan
    return RocCurve(
        fpr=fpr,
        tpr=tpr,
        thresholds=thresholds,
        auc=auc,
        auc_error=_delong_error(by_label, auc),
        signal_events=int(n_pos),
        background_events=int(n_neg),
    )


def _delong_error(by_label: np.ndarray, auc: float) -> float:
    """DeLong's standard error of the AUC from per-class counts in ascending score bins.

    Each signal event's placement is the fraction of background events it outscores
    (ties count 1/2), each background event's the fraction of signal events that outscore
    it; the AUC is the mean of either, and its variance the sum of their variances over
    their counts.
    """
    neg, pos = by_label[0].astype(float), by_label[1].astype(float)
    n_neg, n_pos = neg.sum(), pos.sum()
    if n_neg < 2 or n_pos < 2 or math.isnan(auc):
        return math.nan
    below = np.cumsum(neg) - neg  # background events in lower bins
    above = pos.sum() - np.cumsum(pos)  # signal events in higher bins
    v10 = (below + 0.5 * neg) / n_neg  # placement of a signal event in each bin
    v01 = (above + 0.5 * pos) / n_pos  # of a background event
    s10 = float(np.sum(pos * (v10 - auc) ** 2)) / (n_pos - 1)
    s01 = float(np.sum(neg * (v01 - auc) ** 2)) / (n_neg - 1)
    return math.sqrt(s10 / n_pos + s01 / n_neg)


def roc_curve(
    predictions: DataFrame,
    *,
    label_col: str = LABEL,
    score_col: str = "probability",
    bins: int = DEFAULT_BINS,
) -> RocCurve:
    """The ROC curve of a classifier's scores, computed in Spark.

    Parameters
    ----------
    predictions : pyspark.sql.DataFrame
        Output of a fitted classifier's ``transform`` (or any DataFrame with a 0/1 label
        and a score).
    label_col : str, default "label"
        True class, 1 = signal.
    score_col : str, default "probability"
        A probability or rawPrediction vector (its signal element is used) or a numeric
        column; higher means more signal-like.
    bins : int, default 10000
        Number of score thresholds. Probabilities are binned on [0, 1]; other scores
        between their minimum and maximum (found by one extra small job).

    Returns
    -------
    RocCurve
        ``fpr, tpr, auc = roc_curve(predictions)``; also ``.thresholds``.

    Examples
    --------
    How well does one mass alone separate signal from background? (Higher score, more
    signal-like: a low m_wwbb.)

    >>> import mlcourse
    >>> from pyspark.sql import functions as F
    >>> df = mlcourse.synthesize_higgs(spark, 2_000, seed=1)
    >>> roc = roc_curve(df.withColumn("score", -F.col("m_wwbb")), score_col="score")
    >>> round(roc.auc, 3)
    0.553
    >>> roc.fpr[[0, -1]], roc.tpr[[0, -1]]  # from (0, 0) to (1, 1)
    (array([0., 1.]), array([0., 1.]))
    """
    require_columns(predictions, [label_col, score_col], "the predictions")
    counts, edges = binned_scores(predictions, label_col=label_col, score_col=score_col, bins=bins)
    return roc_from_bins(counts.sum(axis=1), edges)


def roc_curve_arrays(
    y_true: ArrayLike, y_score: ArrayLike, *, bins: int = DEFAULT_BINS
) -> RocCurve:
    """:func:`roc_curve` of scores held in numpy arrays (a Keras model's ``predict``).

    The same thresholds as :func:`roc_curve`, so both give the same curve for the same
    scores: ``bins`` equal bins on [0, 1] when every score is a probability, else between
    the scores' minimum and maximum.

    Parameters
    ----------
    y_true : array_like
        True classes, 0 or 1; events with another label are left out.
    y_score : array_like
        Scores, one per event (an ``(n, 1)`` array is flattened); higher is more signal-like.
    bins : int, default 10000
        Number of score thresholds.

    Returns
    -------
    RocCurve

    Examples
    --------
    >>> roc = roc_curve_arrays([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> roc.auc
    0.75
    """
    y, score = labelled_scores(y_true, y_score)
    edges = score_edges(*scores_range(score), bins)
    # the one binning rule of mlcourse.analysis.aggregate: numpy.histogram's, as in roc_curve
    return roc_from_bins(bin_counts(score, y, edges), edges)


def labelled_scores(y_true: ArrayLike, y_score: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Labels (int 0/1) and scores as flat arrays; other labels and NaN scores left out."""
    y = np.asarray(y_true, dtype=float).reshape(-1)
    score = np.asarray(y_score, dtype=float).reshape(-1)
    if y.shape != score.shape:
        raise ValueError(f"{len(y)} labels but {len(score)} scores")
    keep = np.isin(y, (0.0, 1.0)) & ~np.isnan(score)
    return y[keep].astype(int), score[keep]


def scores_range(score: np.ndarray) -> tuple[float, float]:
    """[0, 1] when every score is a probability, else their minimum and maximum."""
    if len(score) and (score.min() < 0.0 or score.max() > 1.0):
        return float(score.min()), float(score.max())
    return 0.0, 1.0


def as_roc_curve(
    source: RocCurve | ClassificationReport | DataFrame,
    *,
    label_col: str = LABEL,
    score_col: str = "probability",
    bins: int = DEFAULT_BINS,
) -> RocCurve:
    """The ROC curve of ``source``: given, held by a report, or computed from predictions
    by :func:`roc_curve` (what plots and :mod:`mlcourse.analysis.evaluation` accept)."""
    if isinstance(source, ClassificationReport):
        if source.roc is None:
            raise ValueError("this report has no ROC curve (it was made without scores)")
        return source.roc
    if isinstance(source, RocCurve):
        return source
    return roc_curve(source, label_col=label_col, score_col=score_col, bins=bins)


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def classification_report(
    predictions: DataFrame,
    *,
    label_col: str = LABEL,
    prediction_col: str = "prediction",
    score_col: str | None = "probability",
    bins: int = DEFAULT_BINS,
) -> ClassificationReport:
    """AUC, accuracy, precision, recall, F1 and the confusion matrix in one aggregation.

    Parameters
    ----------
    predictions : pyspark.sql.DataFrame
        Output of a fitted classifier's ``transform``.
    label_col, prediction_col : str
        True and predicted class columns (0 = background, 1 = signal).
    score_col : str or None, default "probability"
        Score for the AUC and ROC curve (see :func:`roc_curve`); None skips them, and a
        missing ``probability`` column (a model without one) does too.
    bins : int, default 10000
        Score thresholds of the ROC curve.

    Returns
    -------
    ClassificationReport
        ``print(report)`` shows a table; ``report.roc`` is the ROC curve.

    Examples
    --------
    A cut on one mass as the classifier: signal when m_wwbb < 1, scored by -m_wwbb.

    >>> import mlcourse
    >>> from pyspark.sql import functions as F
    >>> df = mlcourse.synthesize_higgs(spark, 2_000, seed=1)
    >>> cut = df.withColumns(
    ...     {"prediction": (F.col("m_wwbb") < 1.0).cast("double"), "score": -F.col("m_wwbb")}
    ... )
    >>> report = classification_report(cut, score_col="score")
    >>> print(report)  # doctest: +NORMALIZE_WHITESPACE
    AUC        0.5528 ± 0.0130
    accuracy   0.5595
    precision  0.5645
    recall     0.7559
    F1         0.6463
    events     2,000
    <BLANKLINE>
                          predicted background  predicted signal
    true background                        314               621
    true signal                            260               805
    """
    if score_col == "probability" and score_col not in predictions.columns:
        score_col = None
    require_columns(predictions, [label_col, prediction_col, score_col], "the predictions")
    counts, edges = binned_scores(
        predictions,
        label_col=label_col,
        score_col=score_col,
        prediction_col=prediction_col,
        bins=bins,
    )
    confusion = counts.sum(axis=2)
    (tn, fp), (fn, tp) = confusion.tolist()
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    roc = roc_from_bins(counts.sum(axis=1), edges) if score_col is not None else None
    return ClassificationReport(
        auc=roc.auc if roc is not None else math.nan,
        auc_error=roc.auc_error if roc is not None else math.nan,
        accuracy=_ratio(tp + tn, tn + fp + fn + tp),
        precision=precision,
        recall=recall,
        f1=_ratio(2 * precision * recall, precision + recall),
        confusion=confusion,
        roc=roc,
        predictions=predictions if score_col == "probability" else None,
    )
