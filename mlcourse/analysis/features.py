"""Feature vectors for MLlib, reproducible splits and Arrow export to numpy.

The HIGGS columns stay named columns in the DataFrame; :func:`assemble_features` adds the
single vector column MLlib estimators read, :func:`train_test_split` splits by a hash of
each row so the split does not depend on partitioning, and :func:`to_numpy` hands
(small) data to single-machine libraries through Arrow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, overload

import numpy as np

from mlcourse.data.contracts import checked_label, checked_value, require_numeric
from mlcourse.errors import DataError
from mlcourse.higgs import FEATURE_GROUPS, LABEL, canonical_name, closest_names
from mlcourse.runtime.driver import require_live_driver
from mlcourse.runtime.jobs import described

if TYPE_CHECKING:
    from typing import Literal

    import pandas as pd
    from pyspark.ml import PipelineModel
    from pyspark.sql import Column, DataFrame

__all__ = ["assemble_features", "feature_columns", "to_numpy", "train_test_split"]


def require_columns(
    df: DataFrame, names: Sequence[str | None], what: str = "the DataFrame"
) -> None:
    """Raise :func:`missing_column_error` for the ``names`` (None skipped) not in ``df``."""
    require_live_driver()  # df.columns asks the driver's JVM
    missing = [n for n in names if n is not None and n not in df.columns]
    if missing:
        raise missing_column_error(missing, df.columns, what)


def missing_column_error(names: Sequence[str], columns: Sequence[str], what: str) -> DataError:
    """A DataError naming each missing column with its closest matches among ``columns``."""
    hints = "; ".join(
        f"{n!r} (closest: {', '.join(closest_names(n, columns)) or 'none'})" for n in names
    )
    return DataError(
        f"{what} has no column {hints}. Its columns are: {', '.join(columns)}. "
        "Check the spelling, or use 'all', 'low' or 'high' for the HIGGS feature groups."
    )


def feature_columns(df: DataFrame, features: str | Sequence[str] = "all") -> list[str]:
    """Resolve a feature selection to columns of ``df``.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        The data.
    features : {"all", "low", "high"} or str or sequence of str
        A HIGGS feature group (28, 21 low-level, 7 high-level features) or column names.
        A name matches a column of ``df`` exactly, else through the HIGGS spellings
        (``je4_eta`` finds ``jet4_eta`` and the other way round, any case).

    Returns
    -------
    list of str
        Column names of ``df``, in the order asked.

    Raises
    ------
    DataError
        For names that match no column, each with its closest matches.
    """
    require_live_driver()  # df.columns asks the driver's JVM
    if isinstance(features, str):
        features = FEATURE_GROUPS.get(features, [features])
    by_canonical = {canonical_name(c): c for c in df.columns if canonical_name(c)}
    resolved, missing = [], []
    for name in features:
        if name in df.columns:
            resolved.append(name)
        elif canonical_name(name) in by_canonical:
            resolved.append(by_canonical[canonical_name(name)])
        else:
            missing.append(name)
    if missing:
        raise missing_column_error(missing, df.columns, "the DataFrame")
    return resolved


@overload
def assemble_features(
    df: DataFrame,
    features: str | Sequence[str] = ...,
    *,
    output_col: str = ...,
    scale: Literal[False] = ...,
    label_col: str | None = ...,
) -> DataFrame: ...


@overload
def assemble_features(
    df: DataFrame,
    features: str | Sequence[str] = ...,
    *,
    output_col: str = ...,
    scale: Literal[True],
    label_col: str | None = ...,
) -> tuple[DataFrame, PipelineModel]: ...


def assemble_features(
    df: DataFrame,
    features: str | Sequence[str] = "all",
    *,
    output_col: str = "features",
    scale: bool = False,
    label_col: str | None = LABEL,
) -> DataFrame | tuple[DataFrame, PipelineModel]:
    """Add the vector column that MLlib estimators read.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        HIGGS events (or any DataFrame with the named numeric columns).
    features : {"all", "low", "high"} or sequence of str, default "all"
        Which columns go into the vector, in this order (see :func:`feature_columns`).
    output_col : str, default "features"
        Name of the vector column; an existing column of that name is replaced.
    scale : bool, default False
        Standardise each feature to mean 0 and standard deviation 1 (needed by the
        multilayer perceptron, not by trees). The scaling is fitted on ``df``: call this on
        the training set and apply the returned model to the test set. The unscaled vector
        is kept as ``<output_col>_raw``.
    label_col : str or None, default "label"
        The label, when ``df`` has it: checked to be 0 or 1 in every job that reads it (a
        classifier fitted on the result); None leaves it unchecked.

    Returns
    -------
    pyspark.sql.DataFrame or (pyspark.sql.DataFrame, PipelineModel)
        ``df`` with ``output_col`` added; with ``scale=True`` also the fitted assembler and
        scaler, whose ``transform`` prepares other data (the test set) the same way.
        The names of the features are kept in the vector column's ML attributes.

    Raises
    ------
    DataError
        A named feature is not a column of ``df`` (the message gives the closest ones) or
        not numeric. A null or NaN feature, or a label other than 0 or 1, stops the job
        that reads the vectors (a fit) with a message naming the column and the value
        (``mlcourse data check: ...``); mlcourse's own functions raise it as a DataError.

    Examples
    --------
    >>> import mlcourse
    >>> df = mlcourse.synthesize_higgs(spark, 2_000, seed=1)
    >>> train, test = train_test_split(df, test=0.25, seed=42)
    >>> assemble_features(train, "high").first()["features"].size  # the 7 masses
    7
    >>> train, scaler = assemble_features(train, scale=True)  # fitted on train only
    >>> test = scaler.transform(test)  # the same scaling for the test set
    >>> test.select("features").first()[0].size
    28
    """
    from pyspark.ml import Pipeline
    from pyspark.ml.feature import StandardScaler, VectorAssembler

    columns = feature_columns(df, features)
    require_numeric(df, [*columns, *([label_col] if label_col in df.columns else [])])
    if output_col in df.columns:
        df = df.drop(output_col)
    df = _checked(df, columns, label_col)
    if not scale:
        return VectorAssembler(
            inputCols=columns, outputCol=output_col, handleInvalid="error"
        ).transform(df)
    raw_col = f"{output_col}_raw"
    pipeline = Pipeline(
        stages=[
            VectorAssembler(inputCols=columns, outputCol=raw_col, handleInvalid="error"),
            StandardScaler(inputCol=raw_col, outputCol=output_col, withMean=True, withStd=True),
        ]
    )
    model = pipeline.fit(df.drop(raw_col) if raw_col in df.columns else df)
    return model.transform(df), model


def _checked(df: DataFrame, columns: list[str], label_col: str | None) -> DataFrame:
    """The same columns, but a null or NaN feature, or a label other than 0 and 1, stops
    the job that reads them with a message naming the column and the value.

    VectorAssembler would fail on a null or NaN with a page of Java stack that names no
    column, and MLlib would train a three-class model on a label 2. The checks run inside
    the jobs that need the vectors (no extra pass over the data).
    """
    checks = {c: checked_value(c) for c in columns}
    if label_col is not None and label_col in df.columns and label_col not in checks:
        checks[label_col] = checked_label(label_col)
    return df.withColumns(checks)


def train_test_split(
    df: DataFrame,
    test: float = 0.2,
    *,
    seed: int = 42,
    columns: Sequence[str] | None = None,
) -> tuple[DataFrame, DataFrame]:
    """Split events into a training and a test set, reproducibly.

    Each row goes to the test set when a hash of its values and ``seed`` falls below
    ``test``: the same data and seed give the same split on a laptop and on a cluster,
    whatever the partitioning (``DataFrame.randomSplit`` depends on it).

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        The events.
    test : float, default 0.2
        Fraction of events for the test set, between 0 and 1 (exclusive).
    seed : int, default 42
        Another seed gives another split.
    columns : sequence of str, optional
        Columns hashed to place each row; default every numeric and string column.
        Identical rows always land on the same side.

    Returns
    -------
    (train, test) : tuple of pyspark.sql.DataFrame

    Examples
    --------
    >>> import mlcourse
    >>> df = mlcourse.synthesize_higgs(spark, 2_000, seed=1)
    >>> train, test = train_test_split(df, test=0.25, seed=42)
    >>> n_test = test.count()
    >>> train.count() + n_test, abs(n_test / 2_000 - 0.25) < 0.03
    (2000, True)
    >>> train_test_split(df.repartition(7), test=0.25, seed=42)[1].count() == n_test
    True
    """
    if not 0.0 < test < 1.0:
        raise ValueError(f"test must be a fraction between 0 and 1, got {test!r}")
    in_test = in_fraction(df, test, seed, columns)
    return df.where(~in_test), df.where(in_test)


#: Range of :func:`row_key`: a row's key is uniform in ``[0, KEY_BUCKETS)``.
KEY_BUCKETS = 1 << 30


def hashable_columns(df: DataFrame) -> list[str]:
    """The numeric and string columns of ``df``: what :func:`row_key` hashes by default,
    and what breaks ties between equal keys in a reproducible order."""
    from pyspark.sql.types import NumericType, StringType

    return [f.name for f in df.schema.fields if isinstance(f.dataType, NumericType | StringType)]


def row_key(df: DataFrame, seed: int, columns: Sequence[str] | None = None) -> Column:
    """A pseudo-random key per row from a hash of its values: the same on any partitioning.

    The basis of :func:`train_test_split` and of reproducible samples.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        The rows.
    seed : int
        Another seed gives other keys.
    columns : sequence of str, optional
        Columns hashed; default every numeric and string column.

    Returns
    -------
    pyspark.sql.Column
        A long in ``[0, KEY_BUCKETS)``.
    """
    from pyspark.sql import functions as F

    if columns is None:
        columns = hashable_columns(df)
    if not columns:
        raise DataError(
            "a reproducible split needs numeric or string columns to hash; pass columns=[...]."
        )
    hashed = F.xxhash64(F.lit(seed), *[F.col(c) for c in columns])
    return F.pmod(hashed, F.lit(KEY_BUCKETS))


def in_fraction(
    df: DataFrame, fraction: float, seed: int, columns: Sequence[str] | None = None
) -> Column:
    """True for a reproducible ``fraction`` of the rows: :func:`row_key` below its share.

    The test side of :func:`train_test_split`, a validation part, a sample: each is the
    same on any cluster and partitioning.
    """
    from pyspark.sql import functions as F

    return row_key(df, seed, columns) < F.lit(round(fraction * KEY_BUCKETS))


def to_numpy(
    df: DataFrame,
    features: str | Sequence[str] = "all",
    label: str | None = LABEL,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Collect features (and the label) to numpy arrays through Arrow.

    For single-machine libraries (scikit-learn, Keras, PyTorch) on data that fits in the
    driver's memory: sample or limit ``df`` first.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        The events.
    features : {"all", "low", "high"}, str or sequence of str, default "all"
        Feature columns (see :func:`feature_columns`), or the name of one vector column
        such as ``"features"``.
    label : str or None, default "label"
        Label column; None for features only.

    Returns
    -------
    (X, y) : (numpy.ndarray, numpy.ndarray or None)
        ``X`` has shape (events, features), float64; ``y`` shape (events,) or None.

    Examples
    --------
    >>> import mlcourse
    >>> df = mlcourse.synthesize_higgs(spark, 2_000, seed=1)
    >>> X, y = to_numpy(df, "high")
    >>> X.shape, y.shape, float(y.mean())
    ((2000, 7), (2000,), 0.5325)
    """
    from pyspark.ml.functions import vector_to_array
    from pyspark.ml.linalg import VectorUDT
    from pyspark.sql import functions as F

    vector_col = (
        features
        if isinstance(features, str)
        and features in df.columns
        and isinstance(df.schema[features].dataType, VectorUDT)
        else None
    )
    if vector_col is not None:
        selected = [vector_to_array(F.col(vector_col)).alias("_x")]
    else:
        selected = [F.col(c).cast("double") for c in feature_columns(df, features)]
    if label is not None:
        if label not in df.columns:
            raise missing_column_error([label], df.columns, "the DataFrame")
        selected.append(F.col(label).cast("double").alias("_y"))
    spark = df.sparkSession
    key = "spark.sql.execution.arrow.pyspark.enabled"
    before = spark.conf.get(key, "false") or "false"
    spark.conf.set(key, "true")
    try:
        with described(df, f"{len(selected)} columns to numpy"):
            frame: pd.DataFrame = df.select(*selected).toPandas()
    finally:
        spark.conf.set(key, before)
    y = frame.pop("_y").to_numpy() if label is not None else None
    if vector_col is not None:
        column = frame["_x"].to_numpy()
        x = np.stack(column) if len(column) else np.empty((0, 0))
    else:
        x = frame.to_numpy(dtype=np.float64)
    return x, y
