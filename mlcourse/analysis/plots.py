"""The course's figures, drawn with matplotlib from computed results.

Two kinds of functions, in the style of mplhep (data first, options keyword-only,
``ax=None`` meaning the current Axes, extra keywords passed to matplotlib):

* ``draw_*`` draw results computed already (a :class:`~mlcourse.analysis.aggregate.Histogram`, a
  correlation matrix, ...) and never start a Spark job;
* ``plot_*`` are the notebook conveniences: they compute with :mod:`mlcourse.analysis.aggregate`
  (or :mod:`mlcourse.analysis.metrics`) and draw with a ``draw_*`` function.

Every function returns the Axes it drew on (:func:`plot_features`: an array of them, one
per column). Nothing is shown or written unless asked (``save="figure.png"``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from mlcourse.analysis.aggregate import (
    Bins,
    Histogram,
    Range,
    correlation_matrix,
    count_histograms,
    feature_histograms,
    histogram_edges,
)
from mlcourse.analysis.drawing import (
    BACKGROUND_COLOR,
    PETROFF10,
    SIGNAL_COLOR,
    axes_of,
    finish,
    normalise,
    random_guess,
)
from mlcourse.analysis.evaluation_plots import plot_efficiency, plot_overtraining, plot_significance
from mlcourse.analysis.features import feature_columns, require_columns
from mlcourse.analysis.metrics import ClassificationReport, RocCurve, as_roc_curve
from mlcourse.higgs import LABEL

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from pyspark.sql import DataFrame

__all__ = [
    "BACKGROUND_COLOR",
    "PETROFF10",
    "SIGNAL_COLOR",
    "draw_correlation",
    "draw_histogram",
    "plot_correlation",
    "plot_efficiency",
    "plot_feature_importance",
    "plot_features",
    "plot_history",
    "plot_overtraining",
    "plot_roc",
    "plot_signal_vs_background",
    "plot_significance",
]


def draw_histogram(
    hist: Histogram,
    *,
    ax: Axes | None = None,
    density: bool = False,
    xlabel: str | None = None,
    predicted: Histogram | None = None,
    legend: bool = True,
    **kwargs: Any,
) -> Axes:
    """Draw a computed :class:`Histogram` (filled signal and background, optional outlines
    of the predicted classes) and return the Axes."""
    ax = axes_of(ax)
    style: dict[str, Any] = {"alpha": 0.5, **kwargs}
    edges = hist.edges
    ax.stairs(
        normalise(hist.signal, edges, density),
        edges,
        fill=True,
        color=SIGNAL_COLOR,
        label="signal",
        **style,
    )
    ax.stairs(
        normalise(hist.background, edges, density),
        edges,
        fill=True,
        color=BACKGROUND_COLOR,
        label="background",
        **style,
    )
    if predicted is not None:
        line: dict[str, Any] = {"linestyle": "--", "linewidth": 2}
        ax.stairs(
            normalise(predicted.signal, edges, density),
            edges,
            color=PETROFF10[6],
            label="predicted signal",
            **line,
        )
        ax.stairs(
            normalise(predicted.background, edges, density),
            edges,
            color=PETROFF10[4],
            label="predicted background",
            **line,
        )
    if xlabel:
        ax.set_xlabel(xlabel)
    ax.set_ylabel("density" if density else "events")
    if legend:
        ax.legend()
    return ax


def plot_signal_vs_background(
    df: DataFrame,
    column: str,
    *,
    ax: Axes | None = None,
    bins: Bins = 50,
    range: Range | None = None,
    density: bool = False,
    predictions: DataFrame | None = None,
    label_col: str = LABEL,
    prediction_col: str = "prediction",
    save: str | None = None,
    **kwargs: Any,
) -> Axes:
    """Signal and background distributions of one column, drawn on ``ax``.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        Events with a 0/1 ``label_col``.
    column : str
        The column to histogram.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default the current Axes.
    bins, range
        As in :func:`~mlcourse.analysis.aggregate.signal_background_hist`.
    density : bool, default False
        Normalise each class to unit area (compare shapes).
    predictions : pyspark.sql.DataFrame, optional
        A classifier's output holding ``column`` and ``prediction_col``: its predicted
        signal and background are drawn as dashed outlines (same bins).
    save : str, optional
        Also write the figure to this file.
    **kwargs
        Passed to ``Axes.stairs`` for the two filled histograms.

    Returns
    -------
    matplotlib.axes.Axes
    """
    column = feature_columns(df, [column])[0]  # resolved once, here
    require_columns(df, [column, label_col])
    if predictions is not None:
        require_columns(predictions, [column, prediction_col], "the predictions")
    edges = histogram_edges(df, [column], bins=bins, ranges=range)
    hist = count_histograms(df, edges, label_col=label_col)[column]
    predicted = None
    if predictions is not None:  # the same bins: no second range job
        predicted = count_histograms(predictions, edges, label_col=prediction_col)[column]
    ax = draw_histogram(hist, ax=ax, density=density, xlabel=column, predicted=predicted, **kwargs)
    ax.set_title(f"{column}: signal vs background")
    return finish(ax, save)


def plot_features(
    df: DataFrame,
    columns: str | Sequence[str] | None = None,
    *,
    bins: int = 50,
    ranges: Mapping[str, Range] | None = None,
    density: bool = False,
    ncols: int = 4,
    axes: np.ndarray | None = None,
    label_col: str = LABEL,
    save: str | None = None,
    **kwargs: Any,
) -> np.ndarray:
    """A grid of signal-vs-background histograms, every one from one Spark aggregation.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        Events with a 0/1 ``label_col``.
    columns : {"all", "low", "high"}, str or sequence of str, optional
        Default: every HIGGS feature present in ``df``.
    bins, ranges, label_col
        As in :func:`feature_histograms` (ranges not given are found in one more job).
    density : bool, default False
    ncols : int, default 4
        Panels per row of a new figure.
    axes : array of matplotlib.axes.Axes, optional
        Draw into these (at least one per column) instead of a new figure.
    save : str, optional
        Also write the figure to this file.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
        One Axes per column, in order.
    """
    hists = feature_histograms(df, columns, bins=bins, ranges=ranges, label_col=label_col)
    names = list(hists)
    if axes is None:
        import matplotlib.pyplot as plt

        nrows = max(1, -(-len(names) // ncols))
        _fig, grid = plt.subplots(
            nrows, ncols, figsize=(3.2 * ncols, 2.4 * nrows), squeeze=False, layout="constrained"
        )
        flat = grid.ravel()
        for extra in flat[len(names) :]:
            extra.set_visible(False)
    else:
        flat = np.asarray(axes).ravel()
        if len(flat) < len(names):
            raise ValueError(f"{len(names)} columns need {len(names)} Axes, got {len(flat)}")
    for i, (name, ax) in enumerate(zip(names, flat, strict=False)):
        draw_histogram(hists[name], ax=ax, density=density, xlabel=name, legend=i == 0, **kwargs)
        ax.set_ylabel("")
    used = flat[: len(names)]
    finish(used[0], save)
    return used


def plot_correlation(
    df: DataFrame,
    features: str | Sequence[str] = "all",
    *,
    ax: Axes | None = None,
    method: str = "pearson",
    vector_col: str | None = None,
    annotate: bool = False,
    save: str | None = None,
    **kwargs: Any,
) -> Axes:
    """The correlation matrix of features as a labelled colour map with a colour bar.

    ``df``, ``features``, ``method`` and ``vector_col`` are as in
    :func:`correlation_matrix`; ``annotate`` writes each coefficient in its cell;
    ``**kwargs`` go to ``Axes.imshow``. Returns the Axes.
    """
    names, matrix = correlation_matrix(df, features, method=method, vector_col=vector_col)
    ax = draw_correlation(names, matrix, ax=ax, annotate=annotate, method=method, **kwargs)
    return finish(ax, save)


def draw_correlation(
    names: Sequence[str],
    matrix: np.ndarray,
    *,
    ax: Axes | None = None,
    annotate: bool = False,
    method: str = "pearson",
    **kwargs: Any,
) -> Axes:
    """Draw a computed correlation matrix (:func:`~mlcourse.analysis.aggregate.correlation_matrix`)
    as a labelled colour map with a colour bar; ``**kwargs`` go to ``Axes.imshow``.
    Returns the Axes."""
    matrix = np.asarray(matrix)
    if matrix.shape != (len(names), len(names)):
        raise ValueError(f"a {matrix.shape} matrix for {len(names)} names")
    ax = axes_of(ax)
    style = {"cmap": "RdBu_r", "vmin": -1.0, "vmax": 1.0, **kwargs}
    image = ax.imshow(matrix, **style)
    ticks = np.arange(len(names))
    ax.set_xticks(ticks, labels=list(names), rotation=90)
    ax.set_yticks(ticks, labels=list(names))
    if annotate:
        for (i, j), value in np.ndenumerate(matrix):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize="x-small")
    ax.figure.colorbar(image, ax=ax, label=f"{method} correlation coefficient")
    ax.set_title(f"Correlation matrix ({len(names)} features)")
    return ax


def plot_roc(
    roc: RocCurve | ClassificationReport | DataFrame,
    *,
    ax: Axes | None = None,
    label: str | None = None,
    label_col: str = LABEL,
    score_col: str = "probability",
    save: str | None = None,
    **kwargs: Any,
) -> Axes:
    """Draw a ROC curve with its AUC and the line of a random guess.

    Parameters
    ----------
    roc : RocCurve, ClassificationReport or pyspark.sql.DataFrame
        A computed curve, a report holding one, or predictions (then :func:`roc_curve`
        computes it with ``label_col`` and ``score_col``).
    ax : matplotlib.axes.Axes, optional
    label : str, optional
        Legend text before the AUC (a model's name); call again on the same ``ax`` to
        compare models.
    **kwargs
        Passed to ``Axes.plot``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    roc = as_roc_curve(roc, label_col=label_col, score_col=score_col)
    ax = axes_of(ax)
    text = f"AUC = {roc.auc:.3f} ± {roc.auc_error:.3f}"
    ax.plot(roc.fpr, roc.tpr, label=f"{label}, {text}" if label else text, **kwargs)
    random_guess(ax, np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("false positive rate (background accepted)")
    ax.set_ylabel("true positive rate (signal accepted)")
    ax.set_title("ROC curve")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    return finish(ax, save)


def _importances(model: Any) -> np.ndarray:
    for candidate in [model, *reversed(getattr(model, "stages", []))]:
        if hasattr(candidate, "featureImportances"):
            return np.asarray(candidate.featureImportances.toArray())
        if hasattr(candidate, "get_booster"):
            return _xgboost_importances(candidate.get_booster())
    raise TypeError(
        f"{type(model).__name__} has no featureImportances (nor an xgboost booster): use a "
        "fitted tree model (GBTClassificationModel, RandomForestClassificationModel, an "
        "xgboost model, ...) or a pipeline ending in one."
    )


def _xgboost_importances(booster: Any) -> np.ndarray:
    """Total gain per feature, in the feature vector's order, normalised to sum to 1 (as
    MLlib's). XGBoost names the features of a vector ``f0``, ``f1``, ... and leaves out
    those never used in a split."""
    n = booster.num_features()
    names = booster.feature_names or [f"f{i}" for i in range(n)]
    gain = booster.get_score(importance_type="total_gain")
    values = np.array([gain.get(name, 0.0) for name in names], dtype=float)
    total = values.sum()
    return values / total if total > 0 else values


def plot_feature_importance(
    model: Any,
    feature_names: Sequence[str],
    *,
    ax: Axes | None = None,
    sort: bool = True,
    top: int | None = None,
    save: str | None = None,
    **kwargs: Any,
) -> Axes:
    """Horizontal bars of a tree model's feature importances.

    Parameters
    ----------
    model : fitted tree model or PipelineModel
        Anything with ``featureImportances`` (or a pipeline whose last such stage has it),
        or an xgboost model (``SparkXGBClassifierModel``, ``XGBClassifier``): its total
        gain per feature.
    feature_names : sequence of str
        Names in the order of the feature vector; their number must match the model's.
    sort : bool, default True
        Most important at the top.
    top : int, optional
        Show only the ``top`` most important.
    **kwargs
        Passed to ``Axes.barh``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    values = _importances(model)
    names = list(feature_names)
    if len(values) != len(names):
        raise ValueError(
            f"the model has {len(values)} feature importances but {len(names)} names were "
            "given: pass the names in the order used to assemble the feature vector."
        )
    order = np.argsort(values) if sort else np.arange(len(values))[::-1]
    if top is not None:
        order = order[-top:]
    ax = axes_of(ax)
    ax.barh(np.arange(len(order)), values[order], **kwargs)
    ax.set_yticks(np.arange(len(order)), labels=[names[i] for i in order])
    ax.set_xlabel("importance")
    ax.set_title("Feature importance")
    return finish(ax, save)


def plot_history(
    history: Mapping[str, Sequence[float]] | Any,
    *,
    ax: Axes | None = None,
    metrics: Sequence[str] | None = None,
    save: str | None = None,
    **kwargs: Any,
) -> Axes:
    """Training curves per epoch (loss, accuracy, ...) with their validation curves.

    Parameters
    ----------
    history : dict of str -> sequence of float, or an object with ``.history``
        Such as Keras's ``History``: ``{"loss": [...], "val_loss": [...], ...}``.
    metrics : sequence of str, optional
        Which curves; default every key not starting with ``val_``. ``val_<name>`` is
        drawn dashed in the same colour when present.
    **kwargs
        Passed to ``Axes.plot``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    data = getattr(history, "history", history)
    if not isinstance(data, Mapping) or not data:
        raise TypeError("history must be a non-empty dict of lists (or have a .history dict)")
    names = [k for k in data if not k.startswith("val_")] if metrics is None else list(metrics)
    unknown = [m for m in names if m not in data]
    if unknown:
        raise KeyError(f"no {', '.join(map(repr, unknown))} in history; it has {list(data)}")
    ax = axes_of(ax)
    for name in names:
        epochs = np.arange(1, len(data[name]) + 1)
        (line,) = ax.plot(epochs, data[name], label=f"{name} (train)", **kwargs)
        if f"val_{name}" in data:
            ax.plot(
                np.arange(1, len(data[f"val_{name}"]) + 1),
                data[f"val_{name}"],
                linestyle="--",
                color=line.get_color(),
                label=f"{name} (validation)",
            )
    ax.set_xlabel("epoch")
    ax.set_ylabel(names[0] if len(names) == 1 else "value")
    ax.legend()
    return finish(ax, save)


# --------------------------------------------------------------------------- physicists' view
