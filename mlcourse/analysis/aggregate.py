"""Spark aggregations that return small numpy results: the numbers behind every figure.

Histograms of one or many columns per class, feature correlations and the binned scores
behind a ROC curve. Every function here runs its Spark jobs and returns arrays; nothing
draws (that is :mod:`mlcourse.analysis.plots`). There is ONE binning rule, ``numpy.histogram``'s:
:func:`bin_index` applies it to a Spark column and :func:`bin_counts` to numpy arrays,
so a histogram, a ROC curve computed in Spark and one computed from numpy scores count
every event in the same bin.

Column names are resolved once, at the public functions (:func:`feature_histograms`,
:func:`signal_background_hist`, :func:`correlation_matrix`); :func:`histogram_edges` and
:func:`count_histograms` take resolved names, for callers that have done it already.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from mlcourse.analysis.binning import bin_index, count_classes
from mlcourse.analysis.features import assemble_features, feature_columns, require_columns
from mlcourse.data.contracts import (
    bad_value_report,
    label_values,
    require_numeric,
    require_vector,
)
from mlcourse.errors import DataError
from mlcourse.higgs import FEATURES, LABEL
from mlcourse.runtime.jobs import columns_text, described

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from mlcourse.analysis.plottable import ClassHistogram

__all__ = [
    "Bins",
    "Histogram",
    "Range",
    "binned_scores",
    "correlation_matrix",
    "count_histograms",
    "feature_histograms",
    "histogram_edges",
    "robust_ranges",
    "score_edges",
    "signal_background_hist",
    "signal_score",
]

Range = tuple[float, float]
#: A number of equal bins, or the bin edges (as ``numpy.histogram`` takes them).
Bins = int | Sequence[float] | np.ndarray

#: Quantiles that bound a plot's range when none is given (0.1 % cut on each side).
ROBUST_QUANTILES = (0.001, 0.999)

#: Above this many events, robust ranges come from a sample of about this size.
RANGE_SAMPLE_ROWS = 50_000


class Histogram(NamedTuple):
    """Bin edges and per-class counts; each count array is what ``numpy.histogram`` gives.

    The order is ``(edges, signal, background)``, not numpy's ``(counts, edges)``: two
    count arrays share one set of edges, and ``edges, signal, background = hist`` reads in
    the order a plot uses them. ``numpy.histogram``'s pair for one class is
    ``(hist.signal, hist.edges)``.
    """

    edges: np.ndarray
    signal: np.ndarray
    background: np.ndarray

    def plottable(self, which: str = "signal", *, label: str = "") -> ClassHistogram:
        """One class (``which``: "signal" or "background") as a UHI
        ``PlottableHistogram`` that ``mplhep.histplot`` takes; ``label`` names the axis."""
        from mlcourse.analysis.plottable import ClassHistogram

        if which not in ("signal", "background"):
            raise ValueError(f"which is 'signal' or 'background', not {which!r}")
        return ClassHistogram(self.edges, getattr(self, which), label, which)


# --------------------------------------------------------------------------- binning


def _valid_range(lo: float, hi: float) -> Range:
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"the histogram range must be finite, got ({lo}, {hi})")
    if lo > hi:
        raise ValueError(f"the histogram range must have lo <= hi, got ({lo}, {hi})")
    return (lo - 0.5, hi + 0.5) if lo == hi else (lo, hi)


def _edges_of(bins: Bins, rng: Range | None) -> np.ndarray:
    if isinstance(bins, int | np.integer):
        if bins < 1:
            raise ValueError(f"bins must be a positive number, got {bins}")
        assert rng is not None
        return np.linspace(rng[0], rng[1], int(bins) + 1)
    edges = np.asarray(bins, dtype=float)
    if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("bins given as edges must be at least two increasing numbers")
    return edges


# --------------------------------------------------------------------------- ranges


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

    if not columns:
        return {}
    with described(df, f"plot ranges of {columns_text(list(columns))}"):
        return _robust_ranges(df, list(columns), quantiles, max_rows)


def _robust_ranges(
    df: DataFrame, columns: list[str], quantiles: Range, max_rows: int
) -> dict[str, Range]:
    from pyspark.sql import functions as F

    rows = df.count()
    if rows > max_rows:
        df = df.sample(fraction=max_rows / rows, seed=0)
    probabilities = F.array(*[F.lit(float(q)) for q in quantiles])
    row = df.select(
        *[
            # NaN (above every number in Spark) would become the upper end: left out here,
            # refused with its count by the histogram's own pass
            F.percentile_approx(F.when(~F.isnan(F.col(c)), F.col(c)), probabilities, 10_000).alias(
                f"_q{i}"
            )
            for i, c in enumerate(columns)
        ]
    ).collect()[0]
    ranges = {}
    for i, column in enumerate(columns):
        lo, hi = row[f"_q{i}"] or (0.0, 1.0)
        ranges[column] = _valid_range(float(lo), float(hi))
    return ranges


# --------------------------------------------------------------------------- histograms


def histogram_edges(
    df: DataFrame,
    names: Sequence[str],
    *,
    bins: Bins = 50,
    ranges: Mapping[str, Range] | Range | None = None,
) -> dict[str, np.ndarray]:
    """Bin edges per column; Spark is asked only for the ranges that are not given.

    ``names`` are column names of ``df`` as they are (not resolved again). Equal bins
    need a range: one given for all columns, one per column, or, for the columns without,
    :func:`robust_ranges` (one job for all of them). Edges given as ``bins`` are used for
    every column and start no job.
    """
    if not _is_uniform(bins):
        return dict.fromkeys(names, _edges_of(bins, None))
    if ranges is None:
        ranges = {}
    elif not isinstance(ranges, Mapping):
        lo, hi = ranges
        ranges = dict.fromkeys(names, (float(lo), float(hi)))
    given = {c: _valid_range(*map(float, ranges[c])) for c in names if c in ranges}
    todo = [c for c in names if c not in given]
    if todo:
        given.update(robust_ranges(df, todo))
    return {c: _edges_of(bins, given[c]) for c in names}


def count_histograms(
    df: DataFrame,
    edges: Mapping[str, np.ndarray],
    *,
    label_col: str = LABEL,
    engine: str = "auto",
) -> dict[str, Histogram]:
    """Per-class counts of each column in ``edges`` (resolved names), in one Spark job.

    The counting step of :func:`feature_histograms`, for callers that already hold the
    edges (the predicted classes drawn over the true ones reuse the true ones' edges).
    ``engine`` is as in :func:`feature_histograms`.
    """
    if engine not in ("auto", "jvm", "arrow"):
        raise ValueError(f"engine must be 'auto', 'jvm' or 'arrow', not {engine!r}")
    names = list(edges)
    require_columns(df, [label_col, *names])
    require_numeric(df, [label_col, *names])
    if engine == "auto":
        engine = "jvm" if len(names) == 1 else "arrow"
    with described(df, f"histogram of {columns_text(names)} by {label_col}"):
        counts, bad_labels, missing = count_classes(df, names, dict(edges), label_col, engine)
        examples = label_values(df, label_col) if bad_labels else ()  # only when refused
    error = bad_value_report(label_col, bad_labels, missing, examples=examples)
    if error is not None:
        raise error
    empty = [c for i, c in enumerate(names) if not counts[i].any()]
    if empty:
        where = ", ".join(f"{c} in [{edges[c][0]:g}, {edges[c][-1]:g}]" for c in empty)
        raise DataError(
            f"nothing to count for {where}: every value is outside the range. Check the "
            "column, e.g. "
            f"df.select({empty[0]!r}).summary().show(), or give another range."
        )
    return {c: Histogram(edges[c], counts[i, 1], counts[i, 0]) for i, c in enumerate(names)}


def _is_uniform(bins: Bins) -> bool:
    return isinstance(bins, int | np.integer)


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
        range are not counted, exactly as in ``numpy.histogram``.

    Raises
    ------
    DataError
        A column or the label is not numeric (no job runs), or, from the counting pass
        itself, a label is not 0 or 1 or a value is NaN or null: the message gives how
        many and how to drop them (a histogram would leave them out without a word).

    Examples
    --------
    >>> import mlcourse
    >>> df = mlcourse.synthesize_higgs(spark, 2_000, seed=1)
    >>> hists = feature_histograms(df, ["m_bb", "m_wwbb"], bins=3, ranges=(0.0, 3.0))
    >>> list(hists)
    ['m_bb', 'm_wwbb']
    >>> hists["m_wwbb"].signal, hists["m_wwbb"].background
    (array([805, 254,   5]), array([621, 311,   1]))
    """
    names = _default_columns(df) if columns is None else feature_columns(df, columns)
    require_columns(df, [label_col])  # before the range job
    edges = histogram_edges(df, names, bins=bins, ranges=ranges)
    return count_histograms(df, edges, label_col=label_col, engine=engine)


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

    Raises
    ------
    DataError
        As :func:`feature_histograms`: a label other than 0 or 1, a NaN or null value, or
        a column that is not numeric, each named with its count and the fix.

    Examples
    --------
    >>> import mlcourse
    >>> df = mlcourse.synthesize_higgs(spark, 2_000, seed=1)
    >>> edges, signal, background = signal_background_hist(df, "m_bb", bins=4, range=(0, 2))
    >>> edges
    array([0. , 0.5, 1. , 1.5, 2. ])
    >>> signal, background
    (array([ 66, 647, 259,  62]), array([197, 344, 219, 114]))
    """
    name = feature_columns(df, [column])[0]
    require_columns(df, [label_col])  # before the range job
    edges = histogram_edges(df, [name], bins=bins, ranges=range)
    return count_histograms(df, edges, label_col=label_col, engine="jvm")[name]


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


# --------------------------------------------------------------------------- scores (ROC)


def signal_score(predictions: DataFrame, score_col: str) -> Column:
    """The signal score as a double: element 1 of a probability/rawPrediction vector."""
    from pyspark.ml.functions import vector_to_array
    from pyspark.ml.linalg import VectorUDT
    from pyspark.sql import functions as F

    if isinstance(predictions.schema[score_col].dataType, VectorUDT):
        return vector_to_array(F.col(score_col))[1]
    return F.col(score_col).cast("double")


def score_edges(lo: float, hi: float, bins: int) -> np.ndarray:
    """Equal score bins on [lo, hi] (``hi`` moved up by 1 when the scores are constant)."""
    return np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)


def score_range(predictions: DataFrame, score_col: str) -> tuple[float, float]:
    """The range :func:`binned_scores` bins ``score_col`` on (see :func:`score_edges`)."""
    return _score_range(predictions, score_col, signal_score(predictions, score_col))


def _score_range(predictions: DataFrame, score_col: str, score: Column) -> tuple[float, float]:
    """[0, 1] for probabilities, else the scores' min and max (one small job)."""
    from pyspark.sql import functions as F

    if "probability" in score_col.lower():
        return 0.0, 1.0
    lo, hi = predictions.select(F.min(score), F.max(score)).collect()[0]
    if lo is None:
        return 0.0, 1.0
    return float(lo), float(hi)


def binned_scores(
    predictions: DataFrame,
    *,
    label_col: str = LABEL,
    score_col: str | None = "probability",
    prediction_col: str | None = None,
    bins: int = 10_000,
    score_range: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Event counts per (true class, predicted class, score bin) from one grouped aggregation.

    The numbers behind a ROC curve and a confusion matrix at once. Scores are binned by
    :func:`bin_index` (``numpy.histogram``'s rule) on :func:`score_edges`: [0, 1] for a
    probability, else the scores' minimum to maximum (one more small job), unless
    ``score_range`` gives them (to bin two sets of predictions alike).

    Returns
    -------
    (counts, edges) : (numpy.ndarray, numpy.ndarray)
        ``counts`` of shape (2, 2, bins): true class, predicted class (all 0 without
        ``prediction_col``), score bin; a single bin over [0, 1] without ``score_col``.
        Events with a null or NaN score are not counted.

    Raises
    ------
    DataError
        When a true or predicted class is neither 0 nor 1 (or null): the numbers would
        silently leave those events out.
    """
    from pyspark.sql import functions as F

    edges = score_edges(0.0, 1.0, 1)
    keys = [F.col(label_col).cast("int").alias("y")]
    if prediction_col is not None:
        keys.append(F.col(prediction_col).cast("int").alias("p"))
    else:
        keys.append(F.lit(0).alias("p"))
    if score_col is not None:
        score = signal_score(predictions, score_col)
    with described(predictions, "ROC curve and classification metrics"):
        if score_col is not None:
            lo, hi = score_range or _score_range(predictions, score_col, score)
            edges = score_edges(lo, hi, bins)
            keys.append(bin_index(score, edges, uniform=True).alias("s"))
        else:
            keys.append(F.lit(0).alias("s"))
        rows = predictions.select(*keys).groupBy("y", "p", "s").count().collect()
    counts = np.zeros((2, 2, len(edges) - 1), dtype=np.int64)
    odd: dict[str, int] = {}
    for y, p, s, n in rows:
        if y not in (0, 1):
            odd[f"{label_col} {y}"] = odd.get(f"{label_col} {y}", 0) + n
        elif p not in (0, 1):
            odd[f"{prediction_col} {p}"] = odd.get(f"{prediction_col} {p}", 0) + n
        elif s is not None:  # a score that is null or NaN has no bin
            counts[y, p, s] = n
    if odd:
        found = ", ".join(f"{n:,} with {what}" for what, n in sorted(odd.items()))
        raise DataError(
            f"classes must be 0 (background) or 1 (signal), but the predictions have events "
            f"{found} (None: a null value). Keep the two classes only, e.g. "
            f"predictions.where({label_col!r} + ' in (0, 1)')."
        )
    return counts, edges


# --------------------------------------------------------------------------- correlation


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
        require_vector(df, vector_col)
        names = list(FEATURES) if features == "all" else list(features)
        data = df
    with described(df, f"{method} correlation of {len(names)} features"):
        matrix = Correlation.corr(data.select(vector_col), vector_col, method).collect()[0][0]
    values = matrix.toArray()
    if values.shape[0] != len(names):
        raise ValueError(
            f"{vector_col!r} holds {values.shape[0]} features but {len(names)} names were given"
        )
    return names, values
