"""What a function that takes events relies on, checked where it is cheapest.

Every public function of mlcourse that takes events checks them before it trusts them: the
label is 0 (background) or 1 (signal), the features it uses are numeric, hold no NaN and
no null, and are there; a training set is not empty; a model reads a ``features`` vector.
A violation is one :class:`~mlcourse.errors.DataError` that names the column, the bad
value or how many, and the fix.

Each check costs as little as it can:

- **the schema** (a column there and numeric, a vector column a vector): from the
  DataFrame's schema, no Spark job;
- **values** (labels, NaN, null): inside the job that runs anyway. :func:`checked_label`
  and :func:`checked_value` are column expressions that stop that job at the first bad
  value with a message starting ``mlcourse data check:``
  (:data:`mlcourse.errors.CONTRACT_MARKER`), which :func:`mlcourse.runtime.jobs.described`
  turns back into the DataError; aggregations count bad values in the same pass instead
  (:func:`bad_value_report`);
- **arrays on the driver** (:func:`check_arrays`): numpy, after the collect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from mlcourse.errors import CONTRACT_MARKER, DataError
from mlcourse.higgs import COLUMNS

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

__all__ = [
    "bad_value_report",
    "check_arrays",
    "checked_label",
    "checked_value",
    "higgs_schema_problems",
    "label_values",
    "numeric_columns",
    "require_higgs_schema",
    "require_numeric",
    "require_rows",
    "require_vector",
]

#: How to get the 28 features as numbers: what a message about a non-numeric column says.
NUMERIC_ADVICE = (
    "Read the events with mlcourse.load_higgs (a CSV of your own: mlcourse.csv_to_parquet "
    "or `mlcourse data convert`), give spark.read.csv an explicit schema (a CSV read with "
    "header=True and no schema makes every column a string), or cast it: "
    "df.withColumn({name!r}, df[{name!r}].cast('double'))"
)


def _is_numeric(data_type: object) -> bool:
    from pyspark.sql.types import NumericType

    return isinstance(data_type, NumericType)


def require_numeric(df: DataFrame, names: Sequence[str], what: str = "the DataFrame") -> None:
    """Refuse, from the schema alone, columns of ``names`` that are not numbers.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        The events; every one of ``names`` is a column of it.
    names : sequence of str
        The features and the label a function reads.
    what : str
        How the message names ``df``.

    Raises
    ------
    DataError
        Naming each non-numeric column, its type, and how to read the events as numbers.
    """
    types = {f.name: f.dataType for f in df.schema.fields}
    wrong = [n for n in names if n in types and not _is_numeric(types[n])]
    if wrong:
        found = ", ".join(f"{n} is {types[n].simpleString()}" for n in wrong)
        raise DataError(
            f"{what}: {found}, where a number is needed. "
            + NUMERIC_ADVICE.format(name=wrong[0])
            + ".",
            column=wrong[0],
        )


def numeric_columns(df: DataFrame, names: Sequence[str]) -> list[str]:
    """The columns of ``names`` that ``df`` has and that are numbers, in that order."""
    types = {f.name: f.dataType for f in df.schema.fields}
    return [n for n in names if n in types and _is_numeric(types[n])]


def higgs_schema_problems(df: DataFrame) -> tuple[list[str], list[str]]:
    """The HIGGS columns (label and 28 features) ``df`` lacks, and those not numeric."""
    types = {f.name: f.dataType for f in df.schema.fields}
    numeric = numeric_columns(df, COLUMNS)
    missing = [c for c in COLUMNS if c not in types]
    wrong = [f"{c} ({types[c].simpleString()})" for c in COLUMNS if c in types and c not in numeric]
    return missing, wrong


def require_higgs_schema(df: DataFrame, path: str, fix: str) -> None:
    """Refuse, from the schema alone, a data set at ``path`` that is not the 29 numeric
    HIGGS columns (a folder changed by hand, or made by something else)."""
    missing, wrong = higgs_schema_problems(df)
    if missing or wrong:
        found = "; ".join(
            part
            for part in (
                f"no column {', '.join(missing)}" if missing else "",
                f"not numeric: {', '.join(wrong)}" if wrong else "",
            )
            if part
        )
        raise DataError(f"{path} is not a HIGGS data set: {found}. {fix}", path=path)


def require_vector(df: DataFrame, column: str, what: str = "the DataFrame") -> None:
    """Refuse, from the schema alone, a missing or non-vector ``column`` (MLlib's input).

    Raises
    ------
    DataError
        With the advice to call :func:`mlcourse.assemble_features`.
    """
    from pyspark.ml.linalg import VectorUDT

    if column not in df.columns:
        raise DataError(
            f"{what} has no {column!r} column, the feature vector a model reads: add it "
            f"with mlcourse.assemble_features(df) (output_col={column!r} names it). Its "
            f"columns are: {', '.join(df.columns)}.",
            column=column,
        )
    data_type = df.schema[column].dataType
    if not isinstance(data_type, VectorUDT):
        raise DataError(
            f"{what}: {column} is {data_type.simpleString()}, not a feature vector: build "
            f"it with mlcourse.assemble_features(df, output_col={column!r}).",
            column=column,
        )


def require_rows(rows: int, what: str, fix: str) -> None:
    """Refuse an empty set of events (``rows`` counted by a job that ran anyway)."""
    if rows <= 0:
        raise DataError(f"{what} holds no events: {fix}.")


def checked_label(name: str) -> Column:
    """The label column, that stops the job reading it at a value other than 0 or 1.

    A null, a NaN, a 2 or a 0.5 is refused: Spark would cast 0.5 to class 0, MLlib would
    train three classes where there are 2, xgboost would fail deep in a worker. The check
    rides on the job that reads the label; it costs one comparison per event.
    """
    from pyspark.sql import functions as F

    label = F.col(name)
    message = F.concat(
        F.lit(f"{CONTRACT_MARKER} {name} is "),
        F.coalesce(label.cast("string"), F.lit("null")),
        F.lit(
            " in an event, but a label is 0 (background) or 1 (signal): keep those events "
            f"(df.where(df[{name!r}].isin(0, 1))) or map your classes to 0 and 1."
        ),
    )
    return F.when(label.isin(0, 1), label).otherwise(F.raise_error(message))


def checked_value(name: str) -> Column:
    """The feature column, that stops the job reading it at a null or a NaN.

    The check rides on the job that reads the column (one test per value).
    """
    from pyspark.sql import functions as F

    value = F.col(name)
    message = F.concat(
        F.lit(f"{CONTRACT_MARKER} {name} is "),
        F.when(value.isNull(), F.lit("null")).otherwise(F.lit("NaN")),
        F.lit(
            " in an event, which a model or a feature vector cannot use: drop such events "
            f"(df.dropna(subset=[{name!r}]) drops nulls and NaN) or fill them "
            "(df.fillna(...))."
        ),
    )
    return F.when(value.isNull() | F.isnan(value), F.raise_error(message)).otherwise(value)


def label_values(df: DataFrame, name: str, limit: int = 5) -> list[object]:
    """Up to ``limit`` distinct values of ``name`` other than 0 and 1 (None for null).

    A job of its own, run only after a check has failed, to name what was found.
    """
    from pyspark.sql import functions as F

    label = F.col(name)
    bad = df.where(~label.isin(0, 1) | label.isNull()).select(label).distinct()
    return [row[0] for row in bad.limit(limit).collect()]


def bad_value_report(
    label: str,
    bad_labels: int,
    missing: Mapping[str, int],
    *,
    examples: Sequence[object] = (),
    events: str = "events",
) -> DataError | None:
    """The DataError for bad values an aggregation counted in its own pass, or None.

    Parameters
    ----------
    label : str
        The label column's name.
    bad_labels : int
        Events whose label is not 0 or 1 (null included).
    missing : mapping of str -> int
        Per feature, the events where it is null or NaN.
    examples : sequence
        Some of the bad labels (:func:`label_values`), to name them.
    events : str
        What the events are, for the message.
    """
    missing = {c: n for c, n in missing.items() if n}
    if not bad_labels and not missing:
        return None
    parts = []
    if bad_labels:
        shown = ", ".join(_shown(v) for v in examples)
        parts.append(
            f"{label} is not 0 or 1 in {bad_labels:,} {events}"
            + (f" (values: {shown})" if shown else "")
        )
    for column, n in missing.items():
        parts.append(f"{column} is NaN or null in {n:,} {events}")
    first = label if bad_labels else next(iter(missing))
    fix = []
    if bad_labels:
        fix.append(f"keep the two classes (df.where(df[{label!r}].isin(0, 1)))")
    if missing:
        fix.append(f"drop the events without a value (df.dropna(subset={list(missing)!r}))")
    return DataError("; ".join(parts) + ": " + " and ".join(fix) + ".", column=first)


def _shown(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return f"{float(value):g}"
    return str(value)


def check_arrays(
    x: np.ndarray, y: np.ndarray | None, names: Sequence[str], label: str, what: str
) -> None:
    """Refuse NaN features and labels other than 0 and 1 in arrays on the driver.

    Free: numpy over arrays already collected (a null arrives as NaN).
    """
    missing = dict(zip(names, np.isnan(x).sum(axis=0).tolist(), strict=True)) if x.size else {}
    bad = ~np.isin(y, (0.0, 1.0)) if y is not None else np.zeros(0, dtype=bool)
    examples = sorted({float(v) for v in y[bad][:1000]}, key=str)[:5] if y is not None else []
    error = bad_value_report(
        label,
        int(bad.sum()),
        missing,
        examples=[None if np.isnan(v) else v for v in examples],
        events=f"{what} events",
    )
    if error is not None:
        raise error
