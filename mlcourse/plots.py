"""Signal-against-background histograms and the course's figures.

Computing is kept apart from drawing. The ``*_hist``/``*_histograms``/``correlation_matrix``
functions are Spark aggregations that return small numpy results (bin counts are exactly
what ``numpy.histogram`` gives on the same values); the ``plot_*`` functions draw them with
matplotlib in the style of mplhep: data first, options keyword-only, ``ax=None`` (the
current Axes then), extra keywords passed to matplotlib, the Axes returned. Nothing is shown
or written unless asked (``save="figure.png"``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .features import assemble_features, feature_columns, missing_column_error
from .higgs import FEATURES, LABEL
from .metrics import ClassificationReport, RocCurve, roc_curve

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from pyspark.sql import Column, DataFrame

__all__ = [
    "Histogram",
    "correlation_matrix",
    "draw_histogram",
    "feature_histograms",
    "plot_correlation",
    "plot_feature_importance",
    "plot_features",
    "plot_history",
    "plot_roc",
    "plot_signal_vs_background",
    "robust_ranges",
    "signal_background_hist",
]

Range = tuple[float, float]
#: A number of equal bins, or the bin edges (as ``numpy.histogram`` takes them).
Bins = int | Sequence[float] | np.ndarray

#: Quantiles that bound a plot's range when none is given (0.1 % cut on each side).
ROBUST_QUANTILES = (0.001, 0.999)

#: Above this many events, robust ranges come from a sample of about this size.
RANGE_SAMPLE_ROWS = 50_000

SIGNAL_COLOR, BACKGROUND_COLOR = "tab:red", "tab:blue"


class Histogram(NamedTuple):
    """Bin edges and per-class counts, as ``numpy.histogram`` would give them."""

    edges: np.ndarray
    signal: np.ndarray
    background: np.ndarray


# --------------------------------------------------------------------------- computing


def robust_ranges(
    df: DataFrame,
    columns: Sequence[str],
    *,
    quantiles: Range = ROBUST_QUANTILES,
    max_rows: int = RANGE_SAMPLE_ROWS,
) -> dict[str, Range]:
    """Plot ranges from approximate quantiles of each column, in one Spark job.

    The 0.1 % and 99.9 % quantiles by default: long tails (the masses) do not squeeze
    the bulk into a few bins. A constant column gets ``value ± 0.5`` (numpy's rule).
    Quantile sketches cost far more per value than binning, so above ``max_rows`` events
    they are taken from a reproducible random sample of about ``max_rows`` events (a range
    only has to frame the plot; the counts are always over every event).
    """
    from pyspark.sql import functions as F

    if not columns:
        return {}
    rows = df.count()
    if rows > max_rows:
        df = df.sample(fraction=max_rows / rows, seed=0)
    probabilities = F.array(*[F.lit(float(q)) for q in quantiles])
    row = df.select(
        *[
            F.percentile_approx(F.col(c), probabilities, 10_000).alias(f"_q{i}")
            for i, c in enumerate(columns)
        ]
    ).collect()[0]
    ranges = {}
    for i, column in enumerate(columns):
        lo, hi = row[f"_q{i}"] or (0.0, 1.0)
        ranges[column] = _valid_range(float(lo), float(hi))
    return ranges


def _valid_range(lo: float, hi: float) -> Range:
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"the histogram range must be finite, got ({lo}, {hi})")
    if lo > hi:
        raise ValueError(f"the histogram range must have lo <= hi, got ({lo}, {hi})")
    return (lo - 0.5, hi + 0.5) if lo == hi else (lo, hi)


def _edges(bins: Bins, rng: Range | None) -> np.ndarray:
    if isinstance(bins, int | np.integer):
        if bins < 1:
            raise ValueError(f"bins must be a positive number, got {bins}")
        assert rng is not None
        return np.linspace(rng[0], rng[1], int(bins) + 1)
    edges = np.asarray(bins, dtype=float)
    if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("bins given as edges must be at least two increasing numbers")
    return edges


def _bin_index(x: Column, edges: np.ndarray, uniform: bool) -> Column:
    """numpy.histogram's bin of ``x`` as an int Column, null outside [first, last] edge.

    Equal bins: numpy's own estimate ``(x - lo) / (hi - lo) * n``, then its one-ULP
    corrections against its ``linspace`` edges, computed as numpy computes them
    (``edge[i] = i * step + lo``). Explicit edges: the number of inner edges <= x
    (``searchsorted(edges, x, "right") - 1``). Written as one expression per column: a
    staged projection makes Spark's generated method too long for the JIT compiler.
    """
    from pyspark.sql import functions as F

    n = len(edges) - 1
    lo, hi = float(edges[0]), float(edges[-1])
    inside = (x >= F.lit(lo)) & (x <= F.lit(hi))  # Spark orders NaN above everything
    if uniform:
        step = (hi - lo) / n

        def edge(i: Column) -> Column:
            return i.cast("double") * F.lit(step) + F.lit(lo)

        guess = F.least(
            ((x - F.lit(lo)) / F.lit(hi - lo) * F.lit(float(n))).cast("int"), F.lit(n - 1)
        )
        below = (x < edge(guess)).cast("int")
        above = ((x >= edge(guess + 1)) & (guess != n - 1)).cast("int")
        index = guess - below + above
    else:
        index = sum((F.when(x >= F.lit(float(v)), 1).otherwise(0) for v in edges[1:-1]), F.lit(0))
    return F.when(inside, index)


def _is_uniform(bins: Bins) -> bool:
    return isinstance(bins, int | np.integer)


def _resolve_column(df: DataFrame, column: str) -> str:
    return feature_columns(df, [column])[0]


def feature_histograms(
    df: DataFrame,
    columns: str | Sequence[str] | None = None,
    *,
    bins: Bins = 50,
    ranges: Mapping[str, Range] | Range | None = None,
    label_col: str = LABEL,
    engine: str = "auto",
) -> dict[str, Histogram]:
    """Signal and background histograms of many columns from ONE Spark job.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        Events with a 0/1 ``label_col``.
    columns : {"all", "low", "high"}, str or sequence of str, optional
        Default: the HIGGS features present in ``df``.
    bins : int or sequence of float, default 50
        Number of equal bins, or the bin edges (then ``ranges`` is not used).
    ranges : dict of column -> (lo, hi), or one (lo, hi) for all, optional
        Missing ranges come from :func:`robust_ranges` (one extra job for all columns).
    label_col : str, default "label"
        Class column: 1 = signal, 0 = background (``"prediction"`` for predicted classes).
    engine : {"auto", "jvm", "arrow"}, default "auto"
        Who counts: ``jvm``, a grouped aggregation of bin keys inside the JVM (fastest for
        one column); ``arrow``, numpy in Spark's Python workers over Arrow batches, one
        array of counts per task (one pass however many columns: about 5x faster than
        ``jvm`` for the 28 features). ``auto`` takes ``jvm`` for one column, else
        ``arrow``. Both give exactly ``numpy.histogram``'s counts.

    Returns
    -------
    dict of str -> Histogram
        Per column: edges, signal counts, background counts (int64). Values outside the
        range, nulls and NaNs are not counted, exactly as in ``numpy.histogram``.

    Examples
    --------
    >>> import mlcourse
    >>> df = mlcourse.synthesize_higgs(2_000, seed=1, spark=spark)
    >>> hists = feature_histograms(df, ["m_bb", "m_wwbb"], bins=3, ranges=(0.0, 3.0))
    >>> list(hists)
    ['m_bb', 'm_wwbb']
    >>> hists["m_wwbb"].signal, hists["m_wwbb"].background
    (array([840, 216,  11]), array([581, 334,  14]))
    """
    if engine not in ("auto", "jvm", "arrow"):
        raise ValueError(f"engine must be 'auto', 'jvm' or 'arrow', not {engine!r}")
    names = _default_columns(df) if columns is None else feature_columns(df, columns)
    if label_col not in df.columns:
        raise missing_column_error([label_col], df.columns, "the DataFrame")
    if engine == "auto":
        engine = "jvm" if len(names) == 1 else "arrow"
    uniform = _is_uniform(bins)
    if uniform:
        if ranges is None:
            ranges = {}
        elif not isinstance(ranges, Mapping):
            lo, hi = ranges
            ranges = dict.fromkeys(names, (float(lo), float(hi)))
        given = {c: _valid_range(*map(float, ranges[c])) for c in names if c in ranges}
        todo = [c for c in names if c not in given]
        given.update(robust_ranges(df, todo))
        edges = {c: _edges(bins, given[c]) for c in names}
    else:
        edges = dict.fromkeys(names, _edges(bins, None))

    if engine == "jvm":
        counts = _counts_jvm(df, names, edges, uniform, label_col)
    else:
        counts = _counts_arrow(df, names, edges, label_col)
    return {c: Histogram(edges[c], counts[i, 1], counts[i, 0]) for i, c in enumerate(names)}


def _counts_jvm(
    df: DataFrame, names: list[str], edges: dict[str, np.ndarray], uniform: bool, label_col: str
) -> np.ndarray:
    """Counts (column, class, bin) from one grouped aggregation of int keys in the JVM."""
    from pyspark.sql import functions as F

    nbins = len(edges[names[0]]) - 1
    y = F.col(label_col).cast("int")
    keys = [
        (F.lit(2 * i) + y) * F.lit(nbins) + _bin_index(F.col(c).cast("double"), edges[c], uniform)
        for i, c in enumerate(names)
    ]
    key = keys[0] if len(keys) == 1 else F.explode(F.array(*keys))
    rows = (
        df.where(y.isin(0, 1))
        .select(key.alias("k"))
        .where(F.col("k").isNotNull())
        .groupBy("k")
        .count()
        .collect()
    )
    counts = np.zeros((len(names), 2, nbins), dtype=np.int64)
    for k, n in rows:
        f, rest = divmod(k, 2 * nbins)
        counts[f][divmod(rest, nbins)] = n
    return counts


def bin_counts(values: np.ndarray, labels: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``numpy.histogram`` of ``values`` per class (0, 1), as a (2, bins) array.

    The same rule as numpy's: bins closed on the left, the last also on the right; values
    outside the edges and NaN are not counted. ``labels`` other than 0 and 1 are skipped.
    """
    nbins = len(edges) - 1
    index = np.searchsorted(edges, values, side="right") - 1
    index[values == edges[-1]] = nbins - 1
    keep = (index >= 0) & (index < nbins) & ((labels == 0) | (labels == 1))
    flat = labels[keep].astype(np.intp) * nbins + index[keep]
    return np.bincount(flat, minlength=2 * nbins).reshape(2, nbins)


def _counts_arrow(
    df: DataFrame, names: list[str], edges: dict[str, np.ndarray], label_col: str
) -> np.ndarray:
    """Counts (column, class, bin) summed from numpy in each task: one Spark job.

    The columns reach Spark's Python workers as Arrow batches; each task returns one small
    array of counts, and the driver adds them up. Many columns cost one pass, where the
    JVM's grouped aggregation pays for every (event, column) pair.
    """
    import pyarrow as pa
    from pyspark.sql import functions as F

    table = np.stack([edges[c] for c in names])
    shape = (len(names), 2, table.shape[1] - 1)

    def count(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        total = np.zeros(shape, dtype=np.int64)
        for batch in batches:
            labels = batch.column(0).to_numpy(zero_copy_only=False)
            for j in range(shape[0]):
                values = batch.column(j + 1).to_numpy(zero_copy_only=False)
                total[j] += bin_counts(values, labels, table[j])
        yield pa.RecordBatch.from_arrays(
            [pa.array([total.ravel()], type=pa.list_(pa.int64()))], ["counts"]
        )

    selected = df.select(
        F.col(label_col).cast("int").alias("y"),
        *[F.col(c).cast("double").alias(f"x{i}") for i, c in enumerate(names)],
    )
    rows = selected.mapInArrow(count, "counts array<bigint>").collect()
    counts = np.zeros(shape, dtype=np.int64)
    for row in rows:
        counts += np.asarray(row["counts"], dtype=np.int64).reshape(shape)
    return counts


def _default_columns(df: DataFrame) -> list[str]:
    present = [c for c in FEATURES if c in df.columns]
    if present:
        return present
    from pyspark.sql.types import NumericType

    skip = {LABEL, "prediction"}
    return [
        f.name
        for f in df.schema.fields
        if isinstance(f.dataType, NumericType) and f.name not in skip
    ]


def signal_background_hist(
    df: DataFrame,
    column: str,
    *,
    bins: Bins = 50,
    range: Range | None = None,
    label_col: str = LABEL,
) -> Histogram:
    """Histogram of one column for signal and background, from one aggregation in the JVM.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        Events with a 0/1 ``label_col``.
    column : str
        The column (HIGGS spellings such as ``je4_eta`` are accepted).
    bins : int or sequence of float, default 50
        Number of equal bins or the edges, as in ``numpy.histogram``.
    range : (float, float), optional
        Histogram range; default the 0.1 %-99.9 % quantiles (one extra job).
    label_col : str, default "label"
        Class column (1 = signal, 0 = background).

    Returns
    -------
    Histogram
        ``edges, signal, background``: the counts equal ``numpy.histogram`` of each class's
        values with the same edges.

    Examples
    --------
    >>> import mlcourse
    >>> df = mlcourse.synthesize_higgs(2_000, seed=1, spark=spark)
    >>> edges, signal, background = signal_background_hist(df, "m_bb", bins=4, range=(0, 2))
    >>> edges
    array([0. , 0.5, 1. , 1.5, 2. ])
    >>> signal, background
    (array([106, 715, 186,  50]), array([135, 394, 222, 119]))
    """
    column = _resolve_column(df, column)
    ranges = None if range is None else {column: range}
    return feature_histograms(df, [column], bins=bins, ranges=ranges, label_col=label_col)[column]


def correlation_matrix(
    df: DataFrame,
    features: str | Sequence[str] = "all",
    *,
    method: str = "pearson",
    vector_col: str | None = None,
) -> tuple[list[str], np.ndarray]:
    """Correlation matrix of features, computed by MLlib in one job.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        The events.
    features : {"all", "low", "high"} or sequence of str, default "all"
        The features, or their names when ``vector_col`` is given.
    method : {"pearson", "spearman"}, default "pearson"
    vector_col : str, optional
        An assembled vector column to use instead of assembling ``features``.

    Returns
    -------
    (names, matrix) : (list of str, numpy.ndarray)
    """
    from pyspark.ml.stat import Correlation

    if vector_col is None:
        names = feature_columns(df, features)
        vector_col = "_correlation_features"
        data = assemble_features(df.select(*names), names, output_col=vector_col)
    else:
        names = list(FEATURES) if features == "all" else list(features)
        data = df
    matrix = Correlation.corr(data.select(vector_col), vector_col, method).collect()[0][0]
    values = matrix.toArray()
    if values.shape[0] != len(names):
        raise ValueError(
            f"{vector_col!r} holds {values.shape[0]} features but {len(names)} names were given"
        )
    return names, values


# --------------------------------------------------------------------------- drawing


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.gca()


def _finish(ax: Axes, save: str | None) -> Axes:
    if save is not None:
        from matplotlib.figure import SubFigure

        figure = ax.figure
        (figure.figure if isinstance(figure, SubFigure) else figure).savefig(
            save, bbox_inches="tight"
        )
    return ax


def _normalise(counts: np.ndarray, edges: np.ndarray, density: bool) -> np.ndarray:
    if not density:
        return counts
    total = counts.sum()
    return counts / (total * np.diff(edges)) if total else counts.astype(float)


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
    ax = _axes(ax)
    style: dict[str, Any] = {"alpha": 0.5, **kwargs}
    edges = hist.edges
    ax.stairs(
        _normalise(hist.signal, edges, density),
        edges,
        fill=True,
        color=SIGNAL_COLOR,
        label="signal",
        **style,
    )
    ax.stairs(
        _normalise(hist.background, edges, density),
        edges,
        fill=True,
        color=BACKGROUND_COLOR,
        label="background",
        **style,
    )
    if predicted is not None:
        line: dict[str, Any] = {"linestyle": "--", "linewidth": 2}
        ax.stairs(
            _normalise(predicted.signal, edges, density),
            edges,
            color="darkred",
            label="predicted signal",
            **line,
        )
        ax.stairs(
            _normalise(predicted.background, edges, density),
            edges,
            color="navy",
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
        As in :func:`signal_background_hist`.
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
    column = _resolve_column(df, column)
    hist = signal_background_hist(df, column, bins=bins, range=range, label_col=label_col)
    predicted = None
    if predictions is not None:
        predicted = signal_background_hist(
            predictions,
            column,
            bins=hist.edges if not _is_uniform(bins) else len(hist.edges) - 1,
            range=(float(hist.edges[0]), float(hist.edges[-1])),
            label_col=prediction_col,
        )
    ax = draw_histogram(hist, ax=ax, density=density, xlabel=column, predicted=predicted, **kwargs)
    ax.set_title(f"{column}: signal vs background")
    return _finish(ax, save)


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
    _finish(used[0], save)
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
    ax = _axes(ax)
    style = {"cmap": "RdBu_r", "vmin": -1.0, "vmax": 1.0, **kwargs}
    image = ax.imshow(matrix, **style)
    ticks = np.arange(len(names))
    ax.set_xticks(ticks, labels=names, rotation=90)
    ax.set_yticks(ticks, labels=names)
    if annotate:
        for (i, j), value in np.ndenumerate(matrix):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize="x-small")
    ax.figure.colorbar(image, ax=ax, label=f"{method} correlation coefficient")
    ax.set_title(f"Correlation matrix ({len(names)} features)")
    return _finish(ax, save)


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
    if isinstance(roc, ClassificationReport):
        if roc.roc is None:
            raise ValueError("this report has no ROC curve (it was made without scores)")
        roc = roc.roc
    elif not isinstance(roc, RocCurve):
        roc = roc_curve(roc, label_col=label_col, score_col=score_col)
    ax = _axes(ax)
    text = f"AUC = {roc.auc:.3f}"
    ax.plot(roc.fpr, roc.tpr, label=f"{label}, {text}" if label else text, **kwargs)
    if not any(line.get_label() == "random guess" for line in ax.get_lines()):
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="random guess")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("false positive rate (background accepted)")
    ax.set_ylabel("true positive rate (signal accepted)")
    ax.set_title("ROC curve")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    return _finish(ax, save)


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
    ax = _axes(ax)
    ax.barh(np.arange(len(order)), values[order], **kwargs)
    ax.set_yticks(np.arange(len(order)), labels=[names[i] for i in order])
    ax.set_xlabel("importance")
    ax.set_title("Feature importance")
    return _finish(ax, save)


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
    ax = _axes(ax)
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
    return _finish(ax, save)
