"""The one binning rule, ``numpy.histogram``'s, and the two engines that count with it.

:func:`bin_index` applies the rule to a Spark column and :func:`bin_counts` to numpy
arrays, so that a histogram, a ROC curve computed in Spark and one computed from numpy
scores count every event in the same bin. :func:`count_classes` counts events per
(column, class, bin) in one Spark job, in the JVM or in numpy over Arrow batches, and
checks the events in the same pass (:mod:`mlcourse.data.contracts`): labels other than 0
and 1, and NaN or null values, are counted, not silently left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import Column, DataFrame

__all__ = ["ClassCounts", "bin_counts", "bin_index", "count_classes"]


def bin_index(x: Column, edges: np.ndarray, uniform: bool) -> Column:
    """``numpy.histogram``'s bin of ``x`` as an int Column, null outside [first, last] edge.

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


class ClassCounts(NamedTuple):
    """What :func:`count_classes` found in its one pass."""

    #: Events per (column, class, bin), class 0 = background, 1 = signal.
    counts: np.ndarray
    #: Events whose label is not 0 or 1 (null and NaN included): not counted.
    bad_labels: int
    #: Per column, events (with a good label) where it is null or NaN: not counted.
    missing: dict[str, int]


def count_classes(
    df: DataFrame,
    names: list[str],
    edges: dict[str, np.ndarray],
    label_col: str,
    engine: str,
) -> ClassCounts:
    """Counts per (column, class, bin) of ``names``, and the bad values met, in one job.

    ``engine`` is ``"jvm"`` (a grouped aggregation of int keys: fastest for one column)
    or ``"arrow"`` (numpy in Spark's Python workers, one array of counts per task: one
    pass however many columns).
    """
    if engine == "jvm":
        return _count_jvm(df, names, edges, label_col)
    return _count_arrow(df, names, edges, label_col)


def _uniform(edges: np.ndarray) -> bool:
    """True when ``edges`` are exactly ``numpy.linspace``'s for their ends and number."""
    return bool(np.array_equal(edges, np.linspace(edges[0], edges[-1], len(edges))))


#: Keys of the JVM engine below 0: -1, a bad label; -2 - i, column i null or NaN.
_BAD_LABEL = -1


def _count_jvm(
    df: DataFrame, names: list[str], edges: dict[str, np.ndarray], label_col: str
) -> ClassCounts:
    """One grouped aggregation of int keys in the JVM; bad values get keys below 0."""
    from pyspark.sql import functions as F

    nbins = len(edges[names[0]]) - 1
    label = F.col(label_col)
    bad_label = F.coalesce(~label.isin(0, 1), F.lit(True))
    y = label.cast("int")
    keys = []
    for i, c in enumerate(names):
        x = F.col(c).cast("double")
        keys.append(
            F.when(bad_label, F.lit(_BAD_LABEL))
            .when(x.isNull() | F.isnan(x), F.lit(-2 - i))
            .otherwise(
                (F.lit(2 * i) + y) * F.lit(nbins) + bin_index(x, edges[c], _uniform(edges[c]))
            )
        )
    key = keys[0] if len(keys) == 1 else F.explode(F.array(*keys))
    rows = df.select(key.alias("k")).where(F.col("k").isNotNull()).groupBy("k").count().collect()
    counts = np.zeros((len(names), 2, nbins), dtype=np.int64)
    bad_labels, missing = 0, dict.fromkeys(names, 0)
    for k, n in rows:
        if k == _BAD_LABEL:
            bad_labels = n // len(names)  # one key per column and event
        elif k < 0:
            missing[names[-2 - k]] = n
        else:
            f, rest = divmod(k, 2 * nbins)
            counts[f][divmod(rest, nbins)] = n
    return ClassCounts(counts, bad_labels, missing)


def _count_arrow(
    df: DataFrame, names: list[str], edges: dict[str, np.ndarray], label_col: str
) -> ClassCounts:
    """Counts summed from numpy in each task: one Spark job.

    The columns reach Spark's Python workers as Arrow batches; each task returns one small
    array (the counts, then the bad labels and each column's NaN and nulls), and the driver
    adds them up. Many columns cost one pass, where the JVM's grouped aggregation pays for
    every (event, column) pair.
    """
    import pyarrow as pa
    from pyspark.sql import functions as F

    table = np.stack([edges[c] for c in names])
    shape = (len(names), 2, table.shape[1] - 1)
    size = int(np.prod(shape))

    def count(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        total = np.zeros(size + 1 + shape[0], dtype=np.int64)
        counts = total[:size].reshape(shape)
        for batch in batches:
            labels = batch.column(0).to_numpy(zero_copy_only=False)  # a null is NaN
            good = (labels == 0) | (labels == 1)
            total[size] += len(labels) - int(good.sum())
            for j in range(shape[0]):
                values = batch.column(j + 1).to_numpy(zero_copy_only=False)
                counts[j] += bin_counts(values, labels, table[j])
                total[size + 1 + j] += int((np.isnan(values) & good).sum())
        yield pa.RecordBatch.from_arrays([pa.array([total], type=pa.list_(pa.int64()))], ["counts"])

    selected = df.select(
        F.col(label_col).cast("double").alias("y"),
        *[F.col(c).cast("double").alias(f"x{i}") for i, c in enumerate(names)],
    )
    rows = selected.mapInArrow(count, "counts array<bigint>").collect()
    total = np.zeros(size + 1 + shape[0], dtype=np.int64)
    for row in rows:
        total += np.asarray(row["counts"], dtype=np.int64)
    missing = dict(zip(names, total[size + 1 :].tolist(), strict=True))
    return ClassCounts(total[:size].reshape(shape), int(total[size]), missing)
