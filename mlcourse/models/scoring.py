"""A trained Keras network scores every event inside Spark's executors.

:func:`score_with_keras` ships the model to the executors once and adds the ``probability``
and ``prediction`` columns an MLlib model adds. A network of Normalization, Dense and
Dropout layers (the course's) travels as its weights and is computed with numpy there
(:func:`dense_plan`), without loading Keras and JAX into every Python worker; any other
Keras model travels whole, in Keras's own format.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mlcourse.analysis.features import feature_columns
from mlcourse.data.contracts import checked_value, require_numeric
from mlcourse.errors import DataError
from mlcourse.models.keras_setup import activation_name, import_keras

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

__all__ = ["Step", "checked_plan", "dense_plan", "plan_fn", "score_with_keras"]


def _model_bytes(model: Any) -> bytes:
    """The model in Keras's own ``.keras`` format, as bytes to ship to the executors."""
    with tempfile.TemporaryDirectory(prefix="mlcourse-model-") as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        return path.read_bytes()


#: Activations the numpy forward pass of :func:`dense_plan` computes.
_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
}

#: One step of a dense network: ("scale", shift, divisor) or ("dense", W, b, activation).
Step = tuple[Any, ...]


def dense_plan(model: Any) -> list[Step] | None:
    """The model as numpy steps, when it is a chain of Normalization, Dense and Dropout
    layers (the course's networks); None for anything else.

    The executors then score with numpy alone: no Keras and no JAX in every Python worker
    (about 400 MB and seconds of import each). The plan is checked against
    ``model.predict`` on the driver before it is used.
    """
    keras = import_keras()
    steps: list[Step] = []
    previous = None
    for layer in model.layers:
        if previous is not None and getattr(layer, "input", None) is not previous.output:
            return None  # not a chain: branches, several inputs
        previous = layer
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.layers.Dropout):
            continue  # no effect when predicting
        if isinstance(layer, keras.layers.Normalization) and not layer.invert:
            mean = np.asarray(layer.mean, dtype=np.float32).reshape(-1)
            std = np.sqrt(np.asarray(layer.variance, dtype=np.float32)).reshape(-1)
            steps.append(("scale", mean, np.maximum(std, np.float32(keras.config.epsilon()))))
            continue
        activation = activation_name(layer)
        if (
            isinstance(layer, keras.layers.Dense)
            and activation in _ACTIVATIONS
            and getattr(layer, "use_bias", True)
        ):
            kernel, bias = (np.asarray(w, dtype=np.float32) for w in layer.get_weights())
            steps.append(("dense", kernel, bias, activation))
            continue
        return None
    return steps


def run_plan(steps: list[Step], x: np.ndarray) -> np.ndarray:
    """The forward pass of a :func:`dense_plan`, in float32 as Keras computes it."""
    x = x.astype(np.float32)
    for step in steps:
        if step[0] == "scale":
            x = (x - step[1]) / step[2]
        else:
            x = _ACTIVATIONS[step[3]](x @ step[1] + step[2])
    return np.asarray(x, dtype=np.float64).reshape(len(x))


def plan_fn(steps: list[Step]) -> Callable[[], Callable[[np.ndarray], np.ndarray]]:
    """What ``predict_batch_udf`` calls once per Python worker for a numpy plan."""

    def make_predict_fn() -> Callable[[np.ndarray], np.ndarray]:
        def predict(x: np.ndarray) -> np.ndarray:
            return run_plan(steps, x)

        return predict

    return make_predict_fn


def checked_plan(model: Any, n: int) -> list[Step] | None:
    """:func:`dense_plan`, used only where it gives ``model.predict``'s scores (1e-6)."""
    steps = dense_plan(model)
    if steps is None:
        return None
    probe = np.random.default_rng(0).normal(size=(256, n)).astype(np.float32)
    if steps and steps[0][0] == "scale":
        probe = probe * steps[0][2] + steps[0][1]  # around the training features
    keras_scores = np.asarray(model.predict(probe, verbose=0), dtype=np.float64).reshape(-1)
    if not np.allclose(run_plan(steps, probe), keras_scores, rtol=0.0, atol=1e-6):
        return None
    return steps


def _make_predict_fn(
    payload: bytes, backend: str
) -> Callable[[], Callable[[np.ndarray], np.ndarray]]:
    """What ``predict_batch_udf`` calls once per Python worker: load the model, return predict."""

    def make_predict_fn() -> Callable[[np.ndarray], np.ndarray]:
        os.environ.setdefault("KERAS_BACKEND", backend)
        import keras

        with tempfile.TemporaryDirectory(prefix="mlcourse-model-") as folder:
            path = Path(folder) / "model.keras"
            path.write_bytes(payload)
            model = keras.saving.load_model(path, compile=False)

        def predict(x: np.ndarray) -> np.ndarray:
            p = model.predict(x.astype(np.float32), batch_size=len(x), verbose=0)
            return np.asarray(p, dtype=np.float64).reshape(len(x))

        return predict

    return make_predict_fn


def _input_column(df: DataFrame, features: str | Sequence[str]) -> tuple[Column, int]:
    """The features as one array column, and their number."""
    from pyspark.ml.functions import vector_to_array
    from pyspark.ml.linalg import VectorUDT
    from pyspark.sql import functions as F

    if (
        isinstance(features, str)
        and features in df.columns
        and isinstance(df.schema[features].dataType, VectorUDT)
    ):
        # VectorAssembler records the size in the column's ML attributes; else look at a row
        size = df.schema[features].metadata.get("ml_attr", {}).get("num_attrs")
        if size is None:
            first = df.select(features).head()
            size = first[0].size if first is not None else 0
        return vector_to_array(F.col(features)), int(size)
    names = feature_columns(df, features)
    require_numeric(df, names, "score_with_keras: the events")
    # a null would reach the model as [NOT_NULL_ASSERT_VIOLATION] naming no column, a NaN
    # as a NaN score: either stops the scoring job with the column named
    return F.array(*[checked_value(c).cast("double") for c in names]), len(names)


def score_with_keras(
    model: Any,
    df: DataFrame,
    features: str | Sequence[str] = "all",
    *,
    batch_size: int = 10_000,
    threshold: float = 0.5,
    probability_col: str = "probability",
    prediction_col: str = "prediction",
) -> DataFrame:
    """Score every event of ``df`` with a trained Keras model, inside the executors.

    Through :func:`pyspark.ml.functions.predict_batch_udf`: the model travels with the
    job once, each Python worker loads it once and predicts on batches of
    ``batch_size`` events. Nothing but the model goes through the driver. A network of
    Normalization, Dense and Dropout layers (the course's) travels as its weights and
    the workers score it with numpy, without importing Keras and JAX (about 400 MB and a
    few seconds each), after a check on the driver that numpy gives ``model.predict``'s
    scores; any other model travels in Keras's format and is loaded with Keras.

    Parameters
    ----------
    model : keras.Model
        A trained binary classifier with one sigmoid output (see :func:`build_network`).
    df : pyspark.sql.DataFrame
        The events.
    features : {"all", "low", "high"}, str or sequence of str, default "all"
        The model's inputs, in the order it was trained on: feature columns, or the name
        of a vector column such as ``"features"``.
    batch_size : int, default 10_000
        Events per call of the model.
    threshold : float, default 0.5
        Probability from which an event is predicted signal.
    probability_col, prediction_col : str
        Names of the added columns.

    Returns
    -------
    pyspark.sql.DataFrame
        ``df`` with ``probability`` (a vector ``[1 - p, p]``, as an MLlib classifier's) and
        ``prediction`` (1.0 when ``p >= threshold``).

    Raises
    ------
    DataError
        The model takes another number of features, or one is not numeric. A null or NaN
        feature stops the job that scores it (:func:`mlcourse.roc_curve`, say) with
        ``mlcourse data check:`` and the column's name.
    """
    from pyspark.ml.functions import array_to_vector, predict_batch_udf
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType

    keras = import_keras()
    column, n = _input_column(df, features)
    expected = model.input_shape[-1]
    if n != expected:
        raise DataError(
            f"score_with_keras: the model takes {expected} features, but the selection "
            f"{features!r} has {n}; pass the features it was trained on, in that order."
        )
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size!r}")
    steps = checked_plan(model, n)  # numpy's plan of a dense network, else Keras itself
    backend = keras.backend.backend()
    make = plan_fn(steps) if steps is not None else _make_predict_fn(_model_bytes(model), backend)
    score = predict_batch_udf(
        make, return_type=DoubleType(), batch_size=batch_size, input_tensor_shapes=[[n]]
    )
    p = F.col("_mlcourse_p")
    return (
        df.withColumn("_mlcourse_p", score(column))
        .withColumns(
            {
                probability_col: array_to_vector(F.array(F.lit(1.0) - p, p)),
                prediction_col: (p >= F.lit(threshold)).cast("double"),
            }
        )
        .drop("_mlcourse_p")
    )
