"""The course's historical helper names, so that an existing notebook runs unchanged but for
its import line::

    from mlcourse.compat import *   # instead of: from custom_functions import *

The star import gives what the old helper file gave: its functions (``plotSignalvsBg``,
``plotSignalvsBgWithPrediction``, ``plotSignalvsBgWithPrediction2``, ``compute_hist``,
``plotCorrelation``, ``prepareData``, ``plotVsEpoch``, ``drawROC``, ``drawROC2``,
``drawFeatures``, ``printMetrics``) and the names it imported, which notebooks used
without importing them again: ``VectorAssembler``, ``np`` (numpy) and ``plt``
(matplotlib.pyplot).

Each is a thin alias of the package's function, in the old argument order, and like the
old helpers the plot helpers draw on a new figure and return nothing (no ``Out[]`` line
under the figure), and ``printMetrics`` prints and returns nothing. Unlike them they
compute in Spark (no ``toPandas()`` of the predictions, no RDD histograms) and write no
PDF into the working directory. The numbers are in the package's own API:
:func:`mlcourse.classification_report`, :func:`mlcourse.signal_background_hist`, ...
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
from pyspark.ml.feature import VectorAssembler

from mlcourse.analysis.aggregate import Histogram, signal_background_hist
from mlcourse.analysis.binning import bin_counts
from mlcourse.analysis.features import to_numpy, train_test_split
from mlcourse.analysis.metrics import classification_report, roc_curve_arrays
from mlcourse.analysis.plots import (
    draw_histogram,
    plot_correlation,
    plot_feature_importance,
    plot_history,
    plot_roc,
    plot_signal_vs_background,
)
from mlcourse.higgs import FEATURES, canonical_name

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: The old helper file's functions, then the names it imported that notebooks used.
__all__ = [  # noqa: RUF022 (grouped, not sorted)
    "compute_hist",
    "drawFeatures",
    "drawROC",
    "drawROC2",
    "plotCorrelation",
    "plotSignalvsBg",
    "plotSignalvsBgWithPrediction",
    "plotSignalvsBgWithPrediction2",
    "plotVsEpoch",
    "prepareData",
    "printMetrics",
    "VectorAssembler",
    "np",
    "plt",
]


def _new_axes(kwargs: dict[str, Any], **figure: Any) -> dict[str, Any]:
    """The keywords with ``ax`` set to a new figure's Axes unless the caller gave one."""
    if kwargs.get("ax") is None:
        import matplotlib.pyplot as plt

        kwargs["ax"] = plt.subplots(**figure)[1]
    return kwargs


def plotSignalvsBg(df: DataFrame, variable: str, **kwargs: Any) -> None:
    """:func:`mlcourse.plot_signal_vs_background` of ``variable`` on a new figure."""
    plot_signal_vs_background(df, variable, **_new_axes(kwargs))


def plotSignalvsBgWithPrediction(
    df: DataFrame, pred_full: DataFrame, variable: str, **kwargs: Any
) -> None:
    """The same with the predicted classes of ``pred_full`` drawn as outlines."""
    plot_signal_vs_background(df, variable, predictions=pred_full, **_new_axes(kwargs))


def compute_hist(
    data: DataFrame,
    feature: str,
    target: str = "label",
    n_bins: int = 100,
    x_lim: Sequence[float] = (0.0, 3.0),
) -> tuple[tuple[list[float], list[int]], tuple[list[float], list[int]]]:
    """Signal and background histograms of ``feature`` as ``((edges, counts), (edges,
    counts))``, the old helper's shape (``rdd.histogram``'s pair per class).

    One Spark aggregation (:func:`mlcourse.signal_background_hist`) instead of two RDD
    passes, and both classes share the ``n_bins`` equal bins of ``x_lim`` (the old helper
    spread each class's bins over that class's own minimum and maximum).
    """
    lo, hi = x_lim
    hist = signal_background_hist(
        data, feature, bins=n_bins, range=(float(lo), float(hi)), label_col=target
    )
    edges = hist.edges.tolist()
    return (edges, hist.signal.tolist()), (edges, hist.background.tolist())


def plotCorrelation(train: DataFrame, feature: Sequence[str], **kwargs: Any) -> None:
    """:func:`mlcourse.plot_correlation`; uses ``train``'s ``features`` vector if any."""
    vector_col = "features" if "features" in train.columns else None
    kwargs = _new_axes(kwargs, figsize=(12, 8))
    plot_correlation(train, list(feature), vector_col=vector_col, **kwargs)


def drawROC(result: DataFrame, **kwargs: Any) -> None:
    """:func:`mlcourse.plot_roc` of a classifier's predictions."""
    plot_roc(result, **_new_axes(kwargs))


def drawFeatures(feature: Sequence[str], model: Any, **kwargs: Any) -> None:
    """:func:`mlcourse.plot_feature_importance` (names first, as before)."""
    plot_feature_importance(model, feature, **_new_axes(kwargs, figsize=(8, 10)))


def plotVsEpoch(history: Any, variable: str, **kwargs: Any) -> None:
    """:func:`mlcourse.plot_history` of one metric and its validation curve."""
    plot_history(history, metrics=[variable], **_new_axes(kwargs))


def printMetrics(evaluator: Any, prediction: DataFrame) -> None:
    """Print :func:`mlcourse.classification_report` (the AUC of the column ``evaluator``
    reads, accuracy, precision, recall, F1, the confusion matrix). Returns nothing, as the
    old helper did: ``mlcourse.classification_report(prediction)`` gives the numbers."""
    report = classification_report(
        prediction, label_col=evaluator.getLabelCol(), score_col=evaluator.getRawPredictionCol()
    )
    print(report)


def prepareData(
    df: DataFrame, split: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split, then ``X, y, X_test, y_test`` of all features as numpy arrays (through Arrow)."""
    train, test = train_test_split(df, split)
    return (*to_numpy(train), *to_numpy(test))  # type: ignore[return-value]


# The Keras notebooks' helpers: numpy arrays on the driver, not DataFrames.


def drawROC2(y_true: np.ndarray, y_pred: np.ndarray, **kwargs: Any) -> None:
    """The ROC curve of a Keras model's scores (``model.predict``), with its AUC.

    The same thresholds as :func:`mlcourse.roc_curve` (see
    :func:`mlcourse.analysis.metrics.roc_curve_arrays`), so both give the same AUC.
    """
    plot_roc(roc_curve_arrays(y_true, y_pred), **_new_axes(kwargs))


def plotSignalvsBgWithPrediction2(
    x_test: np.ndarray,
    y_test: np.ndarray,
    y_pred: np.ndarray,
    variable: str,
    *,
    bins: int = 100,
    range: tuple[float, float] = (0.0, 3.5),
    **kwargs: Any,
) -> None:
    """``variable`` for true signal and background, with the classes a Keras model predicts.

    ``x_test`` holds the 28 features in the column order of :func:`prepareData` (or is the
    one column of ``variable``); ``y_pred`` holds probabilities, signal from 0.5 on, as the
    old helper had it. 100 bins on [0, 3.5] as before.
    """
    x = np.asarray(x_test, dtype=float)
    if x.ndim == 2:
        name = canonical_name(variable)
        if name not in FEATURES or x.shape[1] != len(FEATURES):
            raise ValueError(
                f"x_test has {x.shape[1]} columns: pass the 28 features in prepareData's order "
                f"and a HIGGS feature name (got {variable!r}), or the variable's column alone"
            )
        x = x[:, FEATURES.index(name)]
    truth = np.asarray(y_test, dtype=float).reshape(-1) >= 0.5
    predicted = np.asarray(y_pred, dtype=float).reshape(-1) >= 0.5
    if not len(x) == len(truth) == len(predicted):
        raise ValueError(f"{len(x)} events, {len(truth)} labels, {len(predicted)} predictions")
    edges = np.linspace(*range, bins + 1)

    def hist(signal: np.ndarray) -> Histogram:
        background, signal_counts = bin_counts(x, signal.astype(np.intp), edges)
        return Histogram(edges, signal_counts, background)

    kwargs = _new_axes(kwargs)
    draw_histogram(hist(truth), xlabel=variable, predicted=hist(predicted), **kwargs)
